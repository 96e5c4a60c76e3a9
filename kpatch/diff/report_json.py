"""JSON diff report: the documented, stable contract (docs/diff.md)."""

from __future__ import annotations

import json

from kpatch.diff.model import DiffResult


def render_json(result: DiffResult, summary_only: bool = False) -> str:
    data = result.to_json()
    if summary_only:
        for item in data["resources"]:
            item["changes"] = len(item["changes"])
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
