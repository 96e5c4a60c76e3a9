"""JSON diff report: the documented, stable contract (docs/diff.md)."""

from __future__ import annotations

import json

from kpatch.diff.model import DiffResult


def render_json(result: DiffResult, summary_only: bool = False) -> str:
    """The report object, one resource per line: greppable, and written by json's C
    encoder (``indent=`` would switch to the pure-Python one)."""
    data = result.to_json()
    resources = data.pop("resources")
    if summary_only:
        for item in resources:
            item["changes"] = len(item["changes"])
    head = json.dumps(data, ensure_ascii=False)[:-1]
    if not resources:
        return head + ', "resources": []}\n'
    lines = ",\n".join(json.dumps(item, ensure_ascii=False) for item in resources)
    return f'{head}, "resources": [\n{lines}\n]}}\n'
