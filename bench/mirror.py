"""`make bench`: kpatch mirror --execute --jobs 8 against a loop of single
skopeo copies, for 50 small images, between two real registries on loopback.

Both sides copy the same 50 images from the same source registry into fresh
repositories of the same destination registry (a new prefix per run, so
nothing is skipped), alternately, best of --repeats. The ratio is kpatch's
time over the loop's. A third figure is the re-run of a finished mirror
(every image already there: checked, not copied). Results go to stdout and
bench/out/mirror.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.registries import Registry, build_layout, push_layout  # noqa: E402


def manifests(source: str, count: int) -> str:
    """One Deployment per image, each a different repository of the source."""
    docs = []
    for index in range(count):
        docs.append(
            "apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata: {{name: app-{index}}}\n"
            "spec:\n  template:\n    spec:\n      containers:\n"
            f"        - {{name: app, image: '{source}/bench/app-{index}:1.0'}}\n")
    return "---\n".join(docs)


def loop_of_copies(source: str, target: str, count: int) -> None:
    for index in range(count):
        subprocess.run(["skopeo", "copy", "--all", "--preserve-digests", "--quiet",
                        "--src-tls-verify=false", "--dest-tls-verify=false",
                        f"docker://{source}/bench/app-{index}:1.0",
                        f"docker://{target}/bench/app-{index}:1.0"], check=True)


def kpatch_mirror(install: Path, target: str, jobs: int, expect: str) -> None:
    done = subprocess.run([sys.executable, "-m", "kpatch", "mirror", str(install),
                           "--registry", target, "--execute", "--jobs", str(jobs),
                           "--no-src-tls-verify", "--no-dest-tls-verify"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or expect not in done.stdout:
        raise RuntimeError(f"kpatch mirror failed: {done.stderr[-2000:]}")


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    count = args.images
    with tempfile.TemporaryDirectory(prefix="kpatch-bench-mirror-") as scratch:
        work = Path(scratch)
        source = Registry(work / "source").start()
        destination = Registry(work / "destination").start()
        try:
            def prepare(index: int) -> None:
                layout = work / "layouts" / f"app-{index}"
                build_layout(layout, f"bench/app-{index}", ("amd64", "arm64"))
                push_layout(layout, f"{source.address}/bench/app-{index}:1.0")

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(prepare, range(count)))
            install = work / "install.yaml"
            install.write_text(manifests(source.address, count), encoding="utf-8")
            loops, mirrors = [], []
            for run in range(args.repeats):
                loops.append(timed(lambda run=run: loop_of_copies(
                    source.address, f"{destination.address}/loop{run}", count)))
                mirrors.append(timed(lambda run=run: kpatch_mirror(
                    install, f"{destination.address}/kpatch{run}", args.jobs,
                    f"{count} copied")))
            rerun = min(timed(lambda: kpatch_mirror(
                install, f"{destination.address}/kpatch0", args.jobs,
                f"{count} already there")) for _ in range(args.repeats))
        finally:
            source.stop()
            destination.stop()
    loop, mirror = min(loops), min(mirrors)
    results = [
        {"benchmark": f"kpatch mirror --execute --jobs {args.jobs}, {count} images "
                      "(2 architectures each)",
         "reference": "a shell-style loop of single skopeo copy --all --preserve-digests",
         "reference_seconds": round(loop, 3), "seconds": round(mirror, 3),
         "ratio": round(mirror / loop, 3), "target": "< 1 (faster than the loop)"},
        {"benchmark": f"kpatch mirror --execute re-run, {count} images already mirrored",
         "reference": "the same loop of skopeo copies",
         "reference_seconds": round(loop, 3), "seconds": round(rerun, 3),
         "ratio": round(rerun / loop, 3), "target": "reported"},
    ]
    for result in results:
        print(f"{result['benchmark']}: {result['seconds']}s, reference "
              f"{result['reference_seconds']}s ({result['reference']}) -> ratio "
              f"{result['ratio']} (target {result['target']})")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "mirror.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
