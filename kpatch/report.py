"""Report writers for the inventory: table, json, yaml, csv. Pure: uses in, text out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import yaml

from kpatch.inventory import Inventory
from kpatch.model import ImageUse
from kpatch.relocate import RelocationPlan

FORMATS = ("table", "json", "yaml", "csv")
CSV_COLUMNS = ("image", "normalized", "registry", "repository", "tag", "digest", "apiVersion",
               "kind", "namespace", "name", "path", "file", "line", "shape", "profile",
               "implicit", "reason")


def _where(use: ImageUse) -> str:
    if use.file and use.line:
        return f"{use.file}:{use.line}"
    return use.file or "-"


def _how(use: ImageUse) -> str:
    shape = f"{use.shape}/{use.embedded_shape}" if use.embedded_shape else use.shape
    if not use.pulled:
        shape += " (not pulled)"
    return shape


def _used_by(use: ImageUse) -> str:
    """``dc1/server (datacenter)``: who pulls it and which precedence level won."""
    if not use.effective_for:
        return "-"
    items = []
    for entry in use.effective_for:
        scope = "/".join(str(entry[k]) for k in ("datacenter", "rack") if entry.get(k))
        who = f"{scope}/{entry['component']}" if scope else str(entry["component"])
        items.append(f"{who} ({entry['level']})")
    return ", ".join(items)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def table(inventory: Inventory, unique: bool = False) -> str:
    if unique:
        groups: list[tuple[str, ...]] = [("IMAGE", "USES", "FIRST USE")]
        for key, uses in inventory.unique():
            groups.append((key if uses[0].reference else "? (unknown)", str(len(uses)),
                           f"{uses[0].resource} {uses[0].path}"))
        return _table(groups)
    used_by = any(use.effective_for for use in inventory.uses)
    rows: list[tuple[str, ...]] = [("IMAGE", "RESOURCE", "PATH", "SOURCE", "SHAPE")]
    if used_by:
        rows[0] += ("USED BY",)
    for use in inventory.uses:
        row: tuple[str, ...] = (use.image or "? (unknown)", str(use.resource), use.path,
                                _where(use), _how(use))
        if used_by:
            row += (_used_by(use),)
        rows.append(row)
    out = _table(rows)
    notes = [u for u in inventory.uses if u.implicit or u.note]
    if notes:
        out += "\n"
        for use in notes:
            out += f"{use.image or '?'}: {use.reason or use.note}\n"
    return out


def as_data(inventory: Inventory, unique: bool = False) -> list[dict[str, object]]:
    if not unique:
        return [use.to_json() for use in inventory.uses]
    out = []
    for _, uses in inventory.unique():
        first = uses[0].to_json()
        first["uses"] = len(uses)
        out.append(first)
    return out


def to_json(inventory: Inventory, unique: bool = False) -> str:
    # One object per line: greppable, diff-friendly, and it keeps json's C
    # encoder (indent= switches to the pure-Python one, 5x slower here).
    items = as_data(inventory, unique)
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"


def to_yaml(inventory: Inventory, unique: bool = False) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(as_data(inventory, unique), Dumper=dumper, sort_keys=False)


def to_csv(inventory: Inventory, unique: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for item in as_data(inventory, unique):
        resource = item.pop("resource")
        assert isinstance(resource, dict)
        writer.writerow({**item, **resource})
    return buffer.getvalue()


def render(inventory: Inventory, fmt: str, unique: bool = False) -> str:
    writers = {"table": table, "json": to_json, "yaml": to_yaml, "csv": to_csv}
    return writers[fmt](inventory, unique)


def plan_table(plan: RelocationPlan) -> str:
    """The dry-run view: each reference, old -> new, and where."""
    rows: list[tuple[str, ...]] = [("RESOURCE", "PATH", "IMAGE", "RELOCATED TO", "HOW")]
    for move in plan.moves:
        rows.append((str(move.resource), move.path, move.old or "?", move.new, move.how))
    for item in plan.unrelocated:
        rows.append((str(item.resource), item.path, item.image or "?", "NOT RELOCATED",
                     item.reason))
    if len(rows) == 1:
        return "nothing to relocate: every image is already under the target\n"
    return _table(rows)
