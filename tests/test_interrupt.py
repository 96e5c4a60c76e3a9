"""An interrupted relocate leaves the old overlay or the new one, never a mix.

Real processes: a relocate that rewrites about 3,000 patch files is stopped with
SIGINT, SIGTERM and SIGKILL at random points; after each, the output folder must
be byte for byte the old complete overlay or the new one, with no temporary
files left (SIGKILL's are removed by the next run), and `kubectl kustomize`
must build it into one of the two.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

COUNT = 3000


def write_base(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    pods = [f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{i}\nspec:\n  containers:\n"
            f"    - name: main\n      image: docker.io/acme/app-{i}:1.0\n" for i in range(count)]
    (folder / "resources.yaml").write_text("---\n".join(pods), encoding="utf-8")
    (folder / "kustomization.yaml").write_text("resources:\n  - resources.yaml\n",
                                               encoding="utf-8")
    return folder


def relocate_command(base: Path, output: Path, registry: str) -> list[str]:
    return [sys.executable, "-m", "kpatch", "relocate", str(base), "--registry", registry,
            "--output", str(output)]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir()
                  if p.name.startswith(f".{output.name}."))


def restore(saved: Path, output: Path) -> None:
    shutil.rmtree(output)
    shutil.copytree(saved, output)


def kubectl_images(output: Path) -> set[str]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is required to check that an interrupted overlay builds")
    done = subprocess.run(["kubectl", "kustomize", str(output)], capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    return {c["image"] for doc in yaml.safe_load_all(done.stdout) if doc
            for c in doc["spec"]["containers"]}


def test_interrupted_relocate_leaves_the_old_or_the_new_overlay(tmp_path: Path) -> None:
    base = write_base(tmp_path / "base", COUNT)
    output = tmp_path / "out" / "overlay"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(relocate_command(base, output, "old.example"), check=True, env=env,
                   capture_output=True, timeout=600)
    old = snapshot(output)
    assert len(old) == COUNT + 1
    saved_old = tmp_path / "saved-old"
    shutil.copytree(output, saved_old)
    started = time.perf_counter()
    subprocess.run(relocate_command(base, output, "new.example"), check=True, env=env,
                   capture_output=True, timeout=600)
    duration = time.perf_counter() - started
    new = snapshot(output)
    assert new.keys() == old.keys() and new != old

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    outcomes: list[str] = []
    rounds = [(signum, aim) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
              for aim in ("anywhere", "while writing")]
    for signum, aim in rounds:
        restore(saved_old, output)
        process = subprocess.Popen(relocate_command(base, output, "new.example"), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if aim == "anywhere":
            time.sleep(rng.uniform(0.2, 1.1) * duration)
        else:
            # Wait for the staging folder, then stop it somewhere in the writing.
            deadline = time.monotonic() + 600
            while not leftovers(output) and process.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.002)
            assert process.poll() is None, "the run ended before its writing was seen"
            time.sleep(rng.uniform(0, 0.25) * duration)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=600)
        state = snapshot(output)
        where = (f"seed {seed}, {signal.Signals(signum).name} {aim}: "
                 f"{stderr.decode()[-500:]}")
        assert state in (old, new), f"a mixed overlay after {where}"
        outcomes.append("new" if state == new else "old")
        if signum != signal.SIGKILL:
            assert "Traceback" not in stderr.decode(), where
            assert leftovers(output) == [], where
    # Whatever SIGKILL left beside the overlay, the next run removes it.
    restore(saved_old, output)
    stale = output.parent / f".{output.name}.kpatch-999999999-leftover"
    stale.mkdir()
    (stale / "kustomization.yaml").write_text("half\n", encoding="utf-8")
    subprocess.run(relocate_command(base, output, "new.example"), check=True, env=env,
                   capture_output=True, timeout=600)
    assert snapshot(output) == new
    assert leftovers(output) == []
    # The state the last interruption left builds with kubectl (one run: kustomize
    # takes about a minute on 3,000 patches).
    if outcomes[-1] == "old":
        restore(saved_old, output)
    images = kubectl_images(output)
    registry = "old.example" if outcomes[-1] == "old" else "new.example"
    assert len(images) == COUNT
    assert all(i.startswith(f"{registry}/acme/app-") for i in images), sorted(images)[:3]


def test_sigterm_while_writing_removes_the_temporary_folder(tmp_path: Path) -> None:
    """SIGTERM only once the staging folder exists: the handler must clean it."""
    base = write_base(tmp_path / "base", COUNT)
    output = tmp_path / "overlay"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(relocate_command(base, output, "new.example"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not leftovers(output) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    staged = leftovers(output)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=600)
    assert staged, "the run ended before its staging folder was seen"
    assert process.returncode == 128 + signal.SIGTERM, stderr.decode()
    assert not output.exists()
    assert leftovers(output) == []
    assert "Traceback" not in stderr.decode()
