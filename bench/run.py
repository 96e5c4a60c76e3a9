"""`make bench`: kpatch's speed as ratios to a reference measured in the same run.

Absolute seconds depend on the machine; a ratio to a bare C-accelerated YAML
parse of the same input (the least any YAML tool must do) does not, much.
Each ratio is the median, over several rounds, of the ratio within a round.
Results go to stdout and to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import NamedTuple

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from kpatch.cli import main as kpatch_main  # noqa: E402
from kpatch.inventory import InventoryOptions  # noqa: E402
from kpatch.overlay import relocate_to_overlay  # noqa: E402
from kpatch.relocate import RelocateOptions  # noqa: E402
from kpatch.relocation import RelocationRules  # noqa: E402


def timed(func: Callable[[], object]) -> float:
    """CPU seconds of this process: both sides of an in-process ratio run here,
    single-threaded, and CPU time does not count the time a busy machine (other
    jobs on its two cores) kept this process waiting, which wall time does."""
    gc.collect()
    started = time.process_time()
    func()
    return time.process_time() - started


class Timing(NamedTuple):
    reference: float  # best of the rounds, CPU seconds
    measured: float
    ratio: float  # median over the rounds of measured / reference in the same round
    rounds: tuple[float, ...]  # each round's measured / reference


def interleaved(repeats: int, reference: Callable[[], object],
                measured: Callable[[], object]) -> Timing:
    """``repeats`` rounds of the reference then the measured call. The ratio is
    the median of each round's own ratio: the two calls of a round run within
    seconds of each other, so a neighbour that slows the machine for a while
    slows both, whereas the best of each side can come from different rounds
    (seen here: one lucky reference run alone moved a min-over-min ratio from
    1.36 to 1.76, while the median of the rounds stayed put)."""
    ref_times, times = [], []
    for _ in range(repeats):
        ref_times.append(timed(reference))
        times.append(timed(measured))
    rounds = tuple(m / r for r, m in zip(ref_times, times, strict=True))
    return Timing(min(ref_times), min(times), statistics.median(rounds), rounds)


def bare_parse(text: str) -> None:
    list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def kpatch_images_json(path: Path) -> None:
    with gc_restored():
        _kpatch_images_json(path)


@contextlib.contextmanager
def gc_restored() -> Iterator[None]:
    """The CLI turns the cyclic GC off for its short life; in this long-lived
    process the references (bare parses) must run with the default GC."""
    try:
        yield
    finally:
        gc.enable()


class _Discarded(io.TextIOBase):
    """A standard output that keeps only how the output starts: a real run writes
    to a pipe or a file, so the measurement should not pay for io.StringIO
    buffering megabytes and copying them out again. The bytes a command writes
    to ``buffer`` (as kpatch does for JSON) are counted the same way."""

    def __init__(self) -> None:
        super().__init__()
        self.head = ""
        self.buffer = _DiscardedBytes(self)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.head:
            self.head = text[:1]
        return len(text)


class _DiscardedBytes(io.RawIOBase):
    def __init__(self, text: _Discarded) -> None:
        super().__init__()
        self.text = text

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if not self.text.head:
            self.text.head = bytes(data[:1]).decode("ascii", "replace")
        return len(data)


def _kpatch_images_json(path: Path) -> None:
    out = _Discarded()
    with redirect_stdout(out):
        try:
            kpatch_main(["images", str(path), "--format", "json"], standalone_mode=False)
        except SystemExit as done:
            if done.code:
                raise RuntimeError(f"kpatch images exited {done.code}") from None
    if out.head != "[":
        raise RuntimeError("kpatch images printed no JSON")


def ratio_result(benchmark: str, reference_name: str, reference: float, measured: float,
                 target: str, digits: int = 2, ratio: float | None = None) -> dict[str, object]:
    """One figure; ``ratio`` (a Timing's median of rounds) when given, else
    measured / reference."""
    return {
        "benchmark": benchmark,
        "reference": reference_name,
        "reference_seconds": round(reference, 3),
        "seconds": round(measured, 3),
        "ratio": round(measured / reference if ratio is None else ratio, digits),
        "target": target,
    }


def timing_result(benchmark: str, reference_name: str, timing: Timing, target: str,
                  digits: int = 2) -> dict[str, object]:
    """``ratio`` is the median of the rounds' ratios, listed in ``rounds``; the
    seconds are each side's best, which may come from different rounds."""
    result = ratio_result(benchmark, reference_name, timing.reference, timing.measured, target,
                          digits, timing.ratio)
    result["rounds"] = [round(r, digits) for r in timing.rounds]
    return result


def describe(result: dict[str, object]) -> str:
    """One line of a result for the terminal."""
    line = (f"{result['benchmark']}: ratio {result['ratio']} (target {result['target']})")
    if "rounds" in result:
        line += (f"; median of the rounds {result['rounds']}; best {result['seconds']}s, "
                 f"reference best {result['reference_seconds']}s ({result['reference']})")
    elif "seconds" in result:
        line += (f"; {result['seconds']}s, reference {result['reference_seconds']}s "
                 f"({result['reference']})")
    return line


def bench_images(workdir: Path, count: int, repeats: int) -> dict[str, object]:
    stream = workdir / f"stream-{count}.yaml"
    text = generate(count)
    stream.write_text(text, encoding="utf-8")
    timing = interleaved(
        repeats, lambda: bare_parse(text), lambda: kpatch_images_json(stream))
    return timing_result(f"kpatch images --format json, {count} resources",
                         "yaml.load_all(CSafeLoader) of the same stream", timing, "<= 1.5")


def relocate_plan(base: Path, output: Path) -> None:
    # The command runs with the cyclic GC off (kpatch.cli.main turns it off for
    # every command); the library call is measured the same way.
    gc.disable()
    with gc_restored():
        _relocate_plan(base, output)


def _relocate_plan(base: Path, output: Path) -> None:
    options = RelocateOptions(RelocationRules.parse("registry.corp:5000"),
                              pull_secrets=("regcred",), pull_policy="IfNotPresent")
    result = relocate_to_overlay(str(base), str(output), options, InventoryOptions(),
                                 "bench", dry_run=True)
    if not result.plan.patches or result.plan.unrelocated:
        raise RuntimeError("relocation benchmark planned nothing, or missed images")


def bench_relocate(workdir: Path, count: int, repeats: int) -> dict[str, object]:
    # A folder of plain manifests: the overlay is planned and rendered in full,
    # without an external renderer in the measurement (a dry run skips only the
    # final file writes).
    base = workdir / f"relocate-base-{count}"
    base.mkdir(exist_ok=True)
    text = generate(count)
    (base / "resources.yaml").write_text(text, encoding="utf-8")
    timing = interleaved(
        repeats, lambda: bare_parse(text), lambda: relocate_plan(base, workdir / "overlay"))
    return timing_result(f"kpatch relocate (plan and overlay files), {count} resources",
                         "yaml.load_all(CSafeLoader) of the same base", timing, "reported")


def child_run(command: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process, measured by
    bench/peak_rss.py (see there why not from this process)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / "peak_rss.py"), *command],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command} exited {done.returncode}")
    return elapsed, int(done.stdout.strip())


def kpatch_diff(overlay: Path) -> None:
    with gc_restored():
        _kpatch_diff(overlay)


def _kpatch_diff(overlay: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            kpatch_main(["diff", str(overlay), "--format", "json"], standalone_mode=False)
        except SystemExit as done:
            if done.code not in (0, 1):
                raise RuntimeError(f"kpatch diff exited {done.code}") from None
    if '"changed"' not in out.getvalue():
        raise RuntimeError("kpatch diff reported nothing")


def bench_diff(workdir: Path, count: int, repeats: int) -> list[dict[str, object]]:
    """kpatch diff OVERLAY on a base of COUNT resources and an overlay that
    relocates every image, against kubectl kustomize of the base alone and a
    bare parse of it."""
    from generate import write_base

    base = write_base(workdir / f"diff-base-{count}", count)
    overlay = workdir / f"diff-overlay-{count}"
    # Generated afresh each run, so it always has the current output format.
    options = RelocateOptions(RelocationRules.parse("registry.corp:5000"),
                              pull_secrets=("regcred",))
    relocate_to_overlay(str(base), str(overlay), options, InventoryOptions(), "bench",
                        force=True)
    text = (base / "resources.yaml").read_text(encoding="utf-8")
    parse_timing = interleaved(repeats, lambda: bare_parse(text), lambda: kpatch_diff(overlay))
    diff = parse_timing.measured
    # kubectl takes minutes at 5,000 resources: one run is plenty there.
    kubectl_runs = [child_run(["kubectl", "kustomize", str(base)])
                    for _ in range(repeats if count <= 1000 else 1)]
    kubectl = min(t for t, _ in kubectl_runs)
    kubectl_rss = max(m for _, m in kubectl_runs)
    cli_seconds, kpatch_rss = child_run([sys.executable, "-m", "kpatch", "diff", str(overlay),
                                         "--format", "json"])
    name = f"kpatch diff OVERLAY, {count} resources"
    against_kubectl = ratio_result(name, "kubectl kustomize of the base alone", kubectl, diff,
                                   "< 1" if count <= 500 else "<= 0.05 (20x faster)", 3)
    against_kubectl["peak_rss_mib"] = {"kpatch diff (own process)": round(kpatch_rss / 1024, 1),
                                       "kubectl kustomize": round(kubectl_rss / 1024, 1)}
    against_kubectl["kpatch_diff_process_seconds"] = round(cli_seconds, 3)
    return [against_kubectl,
            timing_result(name, "yaml.load_all(CSafeLoader) of the base", parse_timing, "<= 2")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    workdir = HERE / "out"
    workdir.mkdir(exist_ok=True)
    results = [bench_images(workdir, args.resources, args.repeats),
               bench_relocate(workdir, args.resources, args.repeats)]
    for count in (500, args.resources):
        results += bench_diff(workdir, count, args.repeats)
    for result in results:
        print(describe(result))
        if "peak_rss_mib" in result:
            print(f"    peak memory (MiB): {result['peak_rss_mib']}; kpatch diff as its own "
                  f"process: {result['kpatch_diff_process_seconds']}s")
    (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n",
                                          encoding="utf-8")


if __name__ == "__main__":
    main()
