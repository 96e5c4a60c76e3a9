"""Markdown diff report for a pull-request comment.

A summary table of changed resources, then each resource's changes in a
collapsed ``<details>`` block. GitHub refuses comments over 65,536 characters,
so details that do not fit are summarised, and the report says so.
"""

from __future__ import annotations

from kpatch.diff.model import Change, DiffResult
from kpatch.diff.report_text import MARKS, render_value

LIMIT = 65_536
_CELL_MAX = 300


def _cell(value: str) -> str:
    text = value if len(value) <= _CELL_MAX else value[: _CELL_MAX - 1] + "…"
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")
    return f"`{text}`" if "`" not in text else text.replace("`", "'")


def _row(change: Change) -> str:
    old = "" if change.kind == "added" else _cell(render_value(change.old))
    new = "" if change.kind == "removed" else _cell(render_value(change.new))
    return f"| {_cell(change.path)} | {change.kind} | {old} | {new} |"


def render_markdown(result: DiffResult, summary_only: bool = False,
                    limit: int = LIMIT) -> str:
    head = [f"### kpatch diff: {result.summary()}", ""]
    if result.ignored:
        head += [f"{result.ignored} change(s) ignored by `--ignore`.", ""]
    if not result.resources:
        return "\n".join(head)
    head += ["| | Resource | Status | Changes |", "|---|---|---|---|"]
    for item in result.resources:
        head.append(f"| {MARKS[item.status]} | {_cell(item.title)} | {item.status} | "
                    f"{len(item.changes)} |")
    head.append("")
    text = "\n".join(head)
    if summary_only:
        return text
    omitted = 0
    sections: list[str] = []
    # Leave room for the note that says what was left out.
    budget = limit - len(text) - 400
    for item in result.resources:
        if not item.changes:
            continue
        section = "\n".join([
            f"<details><summary>{MARKS[item.status]} {item.title} "
            f"({len(item.changes)} change(s))</summary>", "",
            "| Path | Change | Old | New |", "|---|---|---|---|",
            *[_row(c) for c in item.changes], "", "</details>", "",
        ])
        if omitted or len(section) + 1 > budget:
            omitted += 1
            continue
        sections.append(section)
        budget -= len(section) + 1
    text += "\n" + "\n".join(sections)
    if omitted:
        text += (f"\n_Details of {omitted} more resource(s) left out to keep this comment under "
                 f"{limit:,} characters; run `kpatch diff` locally to see everything._\n")
    return text
