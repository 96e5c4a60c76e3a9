"""The adversarial corpus: every case of fixtures/bad/cases.yaml in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import FIXTURES, ROOT

CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "bad" / "cases.yaml").read_text(encoding="utf-8"))


def test_every_bad_fixture_has_a_case() -> None:
    named = {part for case in CASES for arg in case["args"] + [case.get("stdin", "")]
             for part in Path(str(arg)).parts[2:3] if str(arg).startswith("fixtures/bad/")}
    present = {p.name for p in (FIXTURES / "bad").iterdir() if p.name != "cases.yaml"}
    assert present - named == set()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in case["args"]]
    stdin = (ROOT / case["stdin"]).read_bytes() if "stdin" in case else b""
    env = {**os.environ, **case.get("env", {})}
    done = subprocess.run([sys.executable, "-m", "kpatch", *args], input=stdin,
                          capture_output=True, timeout=120, check=False, cwd=ROOT, env=env)
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == case["exit"], stderr
    assert done.stdout == b""
    assert "Traceback" not in stderr
    first, *rest = stderr.rstrip("\n").split("\n")
    assert first.startswith("kpatch: error: "), stderr
    assert case["message"] in first, stderr
    if "detail" in case:
        assert any(case["detail"] in line for line in rest), stderr
    else:
        assert rest == [], stderr
    assert list(tmp_path.iterdir()) == [], "a failed run wrote files"
