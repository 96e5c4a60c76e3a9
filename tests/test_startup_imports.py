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
    "json", "subprocess", "tempfile", "shutil", "hashlib", "pickle", "textwrap",
    "ruamel", "jsonschema", "jsonpatch", "deepdiff",
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
    assert own == ["kpatch", "kpatch.cli", "kpatch.errors"]
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
