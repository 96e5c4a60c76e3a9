"""What a pre-commit hook's run loads: `kpatch --help` and `kpatch images` on one
plain file, each a real process, its imports read from ``python -X importtime``.

Startup time itself is measured by bench/startup.py (not here: no timed tests);
these tests keep the modules that made it slow from coming back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ONE_FILE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: web, image: nginx:1.25}
"""

# Loaded only by commands, inputs or formats that need them.
NOT_FOR_ONE_FILE = (
    "kpatch.render", "kpatch.sourcemap", "kpatch.kustomize", "kpatch.helm", "kpatch.diff",
    "kpatch.relocate", "kpatch.overlay", "kpatch.check", "kpatch.config", "kpatch.mirror",
    "kpatch.operators.cass_operator.rules", "kpatch.operators.k8ssandra_operator.rules",
    "kpatch.operators.redis_enterprise.rules",
    "json", "subprocess", "tempfile", "shutil", "hashlib", "pickle", "textwrap", "dataclasses",
    "ruamel", "jsonschema", "jsonpatch", "deepdiff", "orjson",
)


def imported(argv: list[str], cache: Path) -> list[str]:
    """Modules the command imported, in order, and check it succeeded."""
    env = {**os.environ, "KPATCH_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "kpatch", *argv],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    assert "kpatch.cli" in names
    return names


def loaded(names: list[str], module: str) -> bool:
    return any(name == module or name.startswith(module + ".") for name in names)


def test_help_loads_no_library_module(tmp_path: Path) -> None:
    names = imported(["--help"], tmp_path / "cache")
    own = sorted(n for n in names if n.startswith("kpatch"))
    assert own == ["kpatch", "kpatch.cli", "kpatch.console", "kpatch.errors"]
    assert not loaded(names, "yaml")


@pytest.fixture(scope="module")
def one_file_run(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("one-file")
    manifest = tmp / "one.yaml"
    manifest.write_text(ONE_FILE, encoding="utf-8")
    names = imported(["images", str(manifest)], tmp / "cache")
    # The checks below can fail: the command did load the inventory.
    assert "kpatch.inventory" in names and "kpatch.locate" in names
    return names


@pytest.mark.parametrize("module", NOT_FOR_ONE_FILE)
def test_images_on_one_file_does_not_load(one_file_run: list[str], module: str) -> None:
    assert not loaded(one_file_run, module), f"{module} imported by `kpatch images one.yaml`"


def test_the_loaders_of_other_inputs_are_still_there(tmp_path: Path) -> None:
    """A kustomization directory and --format json do load what was deferred."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "deploy.yaml").write_text(ONE_FILE, encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n", encoding="utf-8")
    names = imported(["images", "--renderer", "builtin", "--format", "json", str(base)],
                     tmp_path / "cache")
    assert loaded(names, "kpatch.render") and loaded(names, "json")


def test_the_console_script_runs_the_cli_with_gc_off_and_frozen_at_exit(tmp_path: Path) -> None:
    """kpatch.console.run: the collector off before click is imported, and what is
    alive at exit frozen, so that shutdown does not walk it (docs/benchmarks.md)."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "kpatch"]
    assert script.value == "kpatch.console:run"
    probe = (
        "import atexit, gc, sys\n"
        "sys.argv = ['kpatch', '--version']\n"
        "seen = []\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click': seen.append(gc.isenabled())\n"
        "sys.meta_path.insert(0, Watch())\n"
        "atexit.register(lambda: print('at exit', seen, gc.isenabled(),"
        " gc.get_freeze_count() > 1000))\n"
        "from kpatch.console import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["kpatch, version 0.1.0", "at exit [False] False True"]
