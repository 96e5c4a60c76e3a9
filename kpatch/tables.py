"""Plain-text tables that fit a terminal.

``format_table`` lays out rows in aligned columns. Given a width (the
terminal's: the CLI passes None when output is piped, and then every value is
printed whole), it shortens the middle of the widest shrinkable cells
(``fixtures/.../bundle.yaml:27`` keeps its head, its file name and line) as
long as each keeps two thirds of its width; when that is not enough, it moves
columns out of the row, one at a time, into an indented detail line under it
(the way ``kubectl get`` and ``docker ps`` trade columns for width), and as a
last resort shortens columns down to their minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

ELLIPSIS = "..."
GAP = "  "


class Column(NamedTuple):
    title: str
    min_width: int | None = None  # None: never shortened
    detail_order: int | None = None  # columns with a number may leave the row, lowest first
    shrink_rank: int = 0  # lower ranks are shortened first


def shorten_middle(text: str, width: int) -> str:
    """``text`` in ``width`` characters, its middle replaced by ``...``."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    keep = width - len(ELLIPSIS)
    head = keep // 2
    tail = keep - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def _natural_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(c.title)] + [len(row[i]) for row in rows])
            for i, c in enumerate(columns)]


COMFORTABLE, MINIMUM, BARE = 0, 1, 2  # how far _shrink may go


def _floor(column: Column, natural: int, level: int) -> int:
    if column.min_width is None:
        return natural
    floor = max(column.min_width, len(column.title))
    if level == COMFORTABLE:
        floor = max(floor, -(-natural * 2 // 3))
    elif level == BARE:
        floor = max(len(column.title), len(ELLIPSIS) + 2)
    return min(floor, natural)


def _shrink(columns: Sequence[Column], widths: list[int], width: int,
            level: int) -> list[int]:
    """Narrow the widest shrinkable columns, one character at a time, to fit."""
    floors = [_floor(c, w, level) for c, w in zip(columns, widths, strict=True)]
    widths = list(widths)
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while excess > 0:
        candidates = [i for i in range(len(columns)) if widths[i] > floors[i]]
        if not candidates:
            break
        if level != BARE:  # at the last resort every column gives way, widest first
            rank = min(columns[i].shrink_rank for i in candidates)
            candidates = [i for i in candidates if columns[i].shrink_rank == rank]
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _fits(widths: Sequence[int], width: int) -> bool:
    return sum(widths) + len(GAP) * (len(widths) - 1) <= width


def format_table(columns: Sequence[Column], rows: Sequence[Sequence[str]],
                 width: int | None = None) -> str:
    """Aligned columns; fitted into ``width`` columns when it is given."""
    kept = list(range(len(columns)))
    detail: list[int] = []
    widths = _natural_widths(columns, rows)
    shown = widths
    if width is not None:
        droppable = sorted((c.detail_order, i) for i, c in enumerate(columns)
                           if c.detail_order is not None)
        while True:
            level = COMFORTABLE if droppable else MINIMUM
            shown = _shrink([columns[i] for i in kept], [widths[i] for i in kept], width,
                            level)
            if _fits(shown, width) or not droppable:
                break
            _, dropped = droppable.pop(0)
            kept.remove(dropped)
            detail.append(dropped)
        if not _fits(shown, width):
            shown = _shrink([columns[i] for i in kept], [widths[i] for i in kept], width, BARE)
    else:
        shown = [widths[i] for i in kept]
    lines: list[str] = []
    header = [columns[i].title for i in kept]
    lines.append(_line(header, shown))
    for row in rows:
        cells = [shorten_middle(row[i], w) for i, w in zip(kept, shown, strict=True)]
        lines.append(_line(cells, shown))
        if detail:
            pairs = "  ".join(row[i] for i in sorted(detail) if row[i] not in ("", "-"))
            if pairs:
                lines.extend(wrap(pairs, width, indent="    "))
    return "\n".join(lines) + "\n"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return GAP.join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


def wrap(text: str, width: int | None, indent: str = "", subsequent: str = "    ") -> list[str]:
    """Prose lines wrapped to ``width`` (whole when width is None)."""
    if width is None:
        return [indent + text]
    import textwrap  # only at a terminal

    # A word longer than a whole line (a file@tag citation) is cut: it could not
    # stay whole without running past the terminal's edge anyway.
    return textwrap.wrap(text, width=max(width, 20), initial_indent=indent,
                         subsequent_indent=subsequent or indent,
                         break_long_words=True, break_on_hyphens=False) or [indent]
