"""Plain-text diff report, coloured on a terminal (NO_COLOR respected by the caller)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from kpatch.diff.model import Change, DiffResult, ImageMove, count

MARKS = {"changed": "~", "added": "+", "removed": "-", "renamed": ">"}
COLORS = {"~": "33", "+": "32", "-": "31", ">": "36", "path": "1"}


def render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=False, ensure_ascii=False)


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{COLORS[code]}m{text}\033[0m" if self.color else text


def _change_lines(change: Change, paint: _Painter) -> list[str]:
    lines = [f"    {paint(change.path, 'path')}"]
    old, new = change.old, change.new
    if (change.kind == "changed" and isinstance(old, str) and isinstance(new, str)
            and ("\n" in old or "\n" in new)):
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1):
            if line.startswith(("---", "+++")):
                continue
            mark = line[:1]
            lines.append("      " + (paint(line, mark) if mark in "+-" else line))
        return lines
    if change.kind != "added":
        lines += ["      " + paint(f"- {ln}", "-") for ln in render_value(old).splitlines() or [""]]
    if change.kind != "removed":
        lines += ["      " + paint(f"+ {ln}", "+") for ln in render_value(new).splitlines() or [""]]
    return lines


def moves_heading(moves: list[ImageMove]) -> str:
    return f"Images that move: {len(moves)} (images operators derive included)"


def move_text(move: ImageMove) -> str:
    return f"{move.old or '(none)'} -> {move.new or '(none)'}"


def render_text(result: DiffResult, color: bool = False, summary_only: bool = False) -> str:
    paint = _Painter(color)
    lines: list[str] = []
    for item in result.resources:
        mark = MARKS[item.status]
        if summary_only:
            lines.append(paint(f"{mark} {item.title}", mark) + f"  ({item.summary})")
            continue
        lines.append(paint(f"{mark} {item.title}", mark))
        for change in item.changes:
            lines += _change_lines(change, paint)
    if result.image_moves and not summary_only:
        lines.append("")
        lines.append(moves_heading(result.image_moves))
        for move in result.image_moves:
            lines.append(f"  {move.title}")
            lines.append(f"      {move_text(move)}")
    if lines and not summary_only:
        lines.append("")
    lines.append(result.summary())
    if result.image_moves and summary_only:
        lines.append(moves_heading(result.image_moves))
    if result.ignored:
        lines.append(f"({count(result.ignored, 'change')} ignored by --ignore)")
    return "\n".join(lines) + "\n"
