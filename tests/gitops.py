"""A GitOps repository in a temporary folder: bases copied from fixtures/, a
kpatch.yaml, and overlays generated from it (the layout kpatch check guards)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from kpatch.cli import main

from .conftest import FIXTURES

TARGET = "registry.corp:5000"
ALL_BASES = ("cass-operator-v1beta1", "cass-operator-v1beta2", "k8ssandra-cluster", "olm",
             "redis-enterprise", "workloads")
BUSYBOX_EXCEPTION = """\
exceptions:
  - image: registry.corp:5000/library/busybox
    reason: the legacy ReplicaSet is pinned by the vendor; tracked in TICKET-1
    allow: [latest]
"""


def kpatch(*args: str) -> tuple[int, str, str]:
    """Run the CLI in process (the working directory is the caller's)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def config_text(bases: tuple[str, ...], extra: str = "", overlay_extra: str = "") -> str:
    lines = ["version: 1", f"registry: {TARGET}", "pullSecrets: [regcred]",
             "pullPolicy: IfNotPresent"]
    text = "\n".join(lines) + "\n" + extra + "overlays:\n"
    for base in bases:
        text += f"  - name: {base}\n    base: bases/{base}\n    output: overlays/{base}\n"
        text += overlay_extra
    return text


def make_repo(root: Path, bases: tuple[str, ...] = ALL_BASES, extra: str = "",
              sync: bool = True) -> Path:
    """Bases under root/bases, kpatch.yaml, and (``sync``) the overlays."""
    for base in bases:
        shutil.copytree(FIXTURES / base, root / "bases" / base)
    (root / "kpatch.yaml").write_text(config_text(bases, extra), encoding="utf-8")
    if sync:
        code, _, err = kpatch("sync", "--config", str(root / "kpatch.yaml"))
        assert code == 0, err
    return root


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def git_init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.invalid")
    git(root, "config", "user.name", "CI")
    git(root, "config", "commit.gpgsign", "false")
