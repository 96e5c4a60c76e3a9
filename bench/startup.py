"""`make bench`: how long kpatch takes to start, as a ratio to `python -c pass`.

kpatch runs as a pre-commit hook, so a one-file `kpatch images` and a
`kpatch --help` must cost little more than starting Python. Each command runs
as its own process with the same interpreter (the project's venv), alternating
with the reference so a noisy neighbour slows both; each figure is the best of
the repeats. Target: within 3x `python -c pass`. Also reported:
`kubectl kustomize` of a one-file base, and the modules each command imports
(`python -X importtime`), so a regression names its cause.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE_FILE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.25}
      - {name: sidecar, image: docker.io/library/busybox:1.36}
"""
TARGET = 3.0


# Bytecode as an installed package has it: `pip install` compiles modules, but
# this environment may set PYTHONDONTWRITEBYTECODE, and then an editable install
# recompiles every kpatch module on every run (half of a one-file `images`).
# The cache goes under bench/out so the source tree stays clean.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(HERE / "out" / "pycache")
# The parsed built-in profiles (kpatch.datacache) as a hook's second and later
# runs have them: the warm-up run fills this cache.
ENV["KPATCH_CACHE_DIR"] = str(HERE / "out" / "cache")
# Modules a one-file run no longer loads, listed when a command imports them.
WATCHED = ("kpatch", "ruamel", "jsonpatch", "deepdiff", "jsonschema", "yaml", "click",
           "dataclasses", "json", "subprocess", "shutil", "tempfile", "textwrap", "pickle")


def run_time(argv: list[str]) -> float:
    """CPU seconds (user + system) the command's process used: on a shared
    machine far steadier than wall time, and for a start-up of a single-threaded
    program the same thing."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode().strip()}")
    return usage.ru_utime + usage.ru_stime


def best_of(repeats: int, commands: dict[str, list[str]]) -> dict[str, float]:
    """Best wall time of each command, the commands taking turns."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():
        run_time(argv)  # warm-up: writes the bytecode cache
    for _ in range(repeats):
        for name, argv in commands.items():
            times[name].append(run_time(argv))
    return {name: min(values) for name, values in times.items()}


def kpatch_modules(argv: list[str]) -> list[str]:
    """kpatch's own modules (and its heavy dependencies) a command imports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "kpatch", *argv],
                          capture_output=True, env=ENV,
                          text=True, check=False)
    names = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        name = line.rsplit("|", 1)[1].strip()
        if name.split(".")[0] in WATCHED:
            names.append(name)
    return sorted(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        (base / "deploy.yaml").write_text(ONE_FILE, encoding="utf-8")
        (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n", encoding="utf-8")
        one = str(base / "deploy.yaml")
        # The installed entry point, as a hook runs it.
        script = Path(sys.executable).parent / "kpatch"
        kpatch = [str(script)] if script.exists() else [sys.executable, "-m", "kpatch"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import click'": [sys.executable, "-c", "import click"],
            # The floor for `images`: the two libraries it cannot do without.
            "python -c 'import click, yaml'": [sys.executable, "-c", "import click, yaml"],
            "kpatch --help": [*kpatch, "--help"],
            "kpatch images one.yaml": [*kpatch, "images", one],
        }
        if shutil.which("kubectl"):
            commands["kubectl kustomize (one-file base)"] = ["kubectl", "kustomize", str(base)]
        best = best_of(args.repeats, commands)
        modules = {name: kpatch_modules(argv[len(kpatch):]) for name, argv in commands.items()
                   if name.startswith("kpatch")}
    reference = best["python -c pass"]
    results = []
    print(f"{'command':<36} {'CPU s':>8} {'x python -c pass':>18}  target")
    for name, seconds in best.items():
        ratio = seconds / reference
        target = f"<= {TARGET:g}" if name.startswith("kpatch") else "reported"
        results.append({"command": name, "seconds": round(seconds, 4),
                        "ratio": round(ratio, 2), "target": target})
        print(f"{name:<36} {seconds:>7.3f}s {ratio:>17.2f}x  {target}")
    for name, names in modules.items():
        own = [n for n in names if n.startswith("kpatch")]
        heavy = sorted({n.split(".")[0] for n in names if not n.startswith("kpatch")})
        print(f"{name}: imports {len(own)} kpatch modules ({', '.join(own)}); "
              f"libraries: {', '.join(heavy) or 'none'}")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps(
        {"results": results, "modules": modules}, indent=2) + "\n", encoding="utf-8")
    over = [r for r in results if r["target"] != "reported" and float(r["ratio"]) > TARGET]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
