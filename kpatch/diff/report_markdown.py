"""Markdown diff report for a pull-request comment.

A summary table of changed resources, then each resource's changes in a
collapsed ``<details>`` block. GitHub refuses comments over 65,536 characters,
so details that do not fit are summarised, and the report says so.
"""

from __future__ import annotations

import re

from kpatch.diff.model import Change, DiffResult, ImageMove, count
from kpatch.diff.report_text import MARKS, moves_heading, render_value

LIMIT = 65_536
_CELL_MAX = 300
_MOVES_MAX = 100  # rows of the image-moves table: a few pages, well under LIMIT


def code_span(text: str) -> str:
    """``text`` as a CommonMark code span, backticks in it kept: the fence is one
    backtick longer than the longest run inside, padded when the text starts or
    ends with one. Backslashes are literal in a code span."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(value: str) -> str:
    """A table cell: a code span on one line. A pipe is escaped even inside a
    code span (GitHub splits cells first); a newline cannot be written there, so
    it shows as ``⏎``."""
    text = value if len(value) <= _CELL_MAX else value[: _CELL_MAX - 1] + "…"
    return code_span(text.replace("\n", "⏎")).replace("|", "\\|")


def _row(change: Change) -> str:
    old = "" if change.kind == "added" else _cell(render_value(change.old))
    new = "" if change.kind == "removed" else _cell(render_value(change.new))
    return f"| {_cell(change.path)} | {change.kind} | {old} | {new} |"


def _moves(moves: list[ImageMove], summary_only: bool) -> list[str]:
    lines = [f"**{moves_heading(moves)}**", ""]
    if summary_only:
        return lines
    lines += ["| Resource | Path | Old | New |", "|---|---|---|---|"]
    for move in moves[:_MOVES_MAX]:
        derived = " (derived)" if move.implicit else ""
        lines.append(f"| {_cell(str(move.resource))}{derived} | {_cell(move.path)} | "
                     f"{_cell(move.old or '(none)')} | {_cell(move.new or '(none)')} |")
    if len(moves) > _MOVES_MAX:
        lines += ["", f"_{len(moves) - _MOVES_MAX} more not listed; run `kpatch diff` locally "
                  "to see everything._"]
    return [*lines, ""]


def render_markdown(result: DiffResult, summary_only: bool = False,
                    limit: int = LIMIT) -> str:
    head = [f"### kpatch diff: {result.summary()}", ""]
    if result.ignored:
        head += [f"{count(result.ignored, 'change')} ignored by `--ignore`.", ""]
    if not result.resources:
        return "\n".join(head)
    if result.image_moves:
        head += _moves(result.image_moves, summary_only)
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
                f"({count(len(item.changes), 'change')})</summary>", "",
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
