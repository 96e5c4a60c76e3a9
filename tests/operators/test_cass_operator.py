"""cass-operator: conformance cases (conformance.yaml, one per rule, each citing the
upstream code it follows), the table test over releases, the release table's own
checks, and the real upstream manifests in ../shared/upstream."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpatch.inventory import Inventory, InventoryOptions, find_images
from kpatch.operators.cass_operator import regenerate
from kpatch.operators.cass_operator.podtemplate import semver_compare
from kpatch.operators.cass_operator.releases import release_rows
from kpatch.operators.cass_operator.rules import (
    CassOperatorError,
    named_image,
    server_image,
)

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "kpatch" / "operators" / "cass_operator"
CONFORMANCE = yaml.safe_load((FOLDER / "conformance.yaml").read_text(encoding="utf-8"))
CASES = CONFORMANCE["cases"]
RELEASE_FIXTURES = ROOT / "fixtures" / "cass-operator-releases"


def inventory(tmp_path: Path, text: str, params: dict[str, str] | None = None) -> Inventory:
    source = tmp_path / "input.yaml"
    source.write_text(text, encoding="utf-8")
    options = InventoryOptions(params={f"cass-operator.{k}": v for k, v in (params or {}).items()})
    return find_images([str(source)], options)


def where(use: Any) -> str:
    return f"{use.resource.kind}/{use.resource.name}"


def found_images(result: Inventory) -> list[list[Any]]:
    return sorted(([u.image, where(u), u.path] for u in result.uses),
                  key=lambda row: (row[1], row[2], row[0] or ""))


# -- conformance ----------------------------------------------------------------


def test_every_case_cites_the_upstream_code() -> None:
    names = [case["rule"] for case in CASES]
    assert len(names) == len(set(names)), "one case per rule"
    for case in CASES:
        assert case["cites"], case["rule"]
        for cite in case["cites"]:
            path_line, _, tag = cite.partition("@")
            assert tag.startswith("v1.") and ":" in path_line, cite


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_conformance(case: dict[str, Any], tmp_path: Path) -> None:
    result = inventory(tmp_path, case["input"], case.get("params"))
    expected = sorted(([i, w, p] for i, w, p in case["images"]),
                      key=lambda row: (row[1], row[2], row[0] or ""))
    assert found_images(result) == expected
    by_place = {f"{where(u)} {u.path}": u for u in result.uses}
    for place, text in (case.get("reasons") or {}).items():
        reason = by_place[place].reason or ""
        assert text in reason, (place, reason)
    for place in case.get("notPulled") or []:
        assert by_place[place].pulled is False, place
    for place, entries in (case.get("effective") or {}).items():
        assert by_place[place].effective_for == entries, place
    warnings = case.get("warnings") or []
    for text in warnings:
        assert any(text in w for w in result.warnings), (text, result.warnings)
    if not warnings:
        assert result.warnings == []
