from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
UPSTREAM = ROOT.parent / "shared" / "upstream"


@pytest.fixture
def upstream() -> Path:
    """../shared/upstream: skipped in a user's clone without it, required in CI."""
    if not UPSTREAM.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{UPSTREAM} is missing, and CI=true requires it")
        pytest.skip(f"{UPSTREAM} not present (real upstream manifests live beside the repo)")
    return UPSTREAM


@pytest.fixture(autouse=True)
def _run_from_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fixture paths in expectations and golden files are relative to the repo root.
    monkeypatch.chdir(ROOT)
