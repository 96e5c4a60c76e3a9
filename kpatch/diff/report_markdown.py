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
    # Room kept for the notes that say what was left out.
    budget = limit - 600
    lines = [*head, "| | Resource | Status | Changes |", "|---|---|---|---|"]
    used = sum(len(line) + 1 for line in lines)
    listed = 0
    for item in result.resources:
        row = (f"| {MARKS[item.status]} | {_cell(item.title)} | {item.status} | "
               f"{len(item.changes)} |")
        if used + len(row) + 1 > budget:
            break
        lines.append(row)
        used += len(row) + 1
        listed += 1
    notes: list[str] = []
    if listed < len(result.resources):
        notes.append(f"_{len(result.resources) - listed} more resource(s) not listed to keep "
                     f"this comment under {limit:,} characters; run `kpatch diff` locally to "
                     "see everything._")
    lines.append("")
    if not summary_only:
        omitted = 0
        for item in result.resources[:listed]:
            if not item.changes:
                continue
            section = "\n".join([
                f"<details><summary>{MARKS[item.status]} {item.title} "
                f"({len(item.changes)} change(s))</summary>", "",
                "| Path | Change | Old | New |", "|---|---|---|---|",
                *[_row(c) for c in item.changes], "", "</details>", "",
            ])
            if omitted or used + len(section) + 1 > budget:
                omitted += 1
                continue
            lines.append(section)
            used += len(section) + 1
        if omitted:
            notes.append(f"_Details of {omitted} more resource(s) left out to keep this "
                         f"comment under {limit:,} characters; run `kpatch diff` locally to "
                         "see everything._")
    return "\n".join(lines + notes) + "\n"
