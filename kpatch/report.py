"""Report writers for the inventory: table, json, yaml, csv. Pure: uses in, text out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpatch.tables import Column, format_table, wrap

if TYPE_CHECKING:
    from kpatch.inventory import Inventory
    from kpatch.model import ImageUse, ResourceId
    from kpatch.relocate import RelocationPlan

FORMATS = ("table", "json", "yaml", "csv")
# Every key of the JSON objects (docs/images-output.md), `resource` flattened;
# lists (effective_for) as compact JSON in one cell.
CSV_COLUMNS = ("image", "normalized", "registry", "repository", "tag", "digest", "apiVersion",
               "kind", "namespace", "name", "path", "file", "line", "shape", "embedded_shape",
               "profile", "implicit", "reason", "component", "pulled", "note", "effective_for",
               "uses")

# At a terminal, what gives way first: long pointers, file paths and resource
# names shorten in the middle; then USED BY, SHAPE and SOURCE move to a detail line.
IMAGE_COLUMNS = (Column("IMAGE", min_width=32, shrink_rank=2),
                 Column("RESOURCE", min_width=20, shrink_rank=1),
                 Column("PATH", min_width=16), Column("SOURCE", min_width=16, detail_order=0),
                 Column("SHAPE", detail_order=1), Column("USED BY", min_width=16, detail_order=2))
UNIQUE_COLUMNS = (Column("IMAGE", min_width=32, shrink_rank=1), Column("USES"),
                  Column("FIRST USE", min_width=20))
PLAN_COLUMNS = (Column("RESOURCE", min_width=18, shrink_rank=1, detail_order=2),
                Column("PATH", min_width=16, detail_order=1),
                Column("IMAGE", min_width=24, shrink_rank=2),
                Column("RELOCATED TO", min_width=24, shrink_rank=2),
                Column("HOW", min_width=8, detail_order=0))


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


def table(inventory: Inventory, unique: bool = False, width: int | None = None) -> str:
    """The table; ``width`` (a terminal's) fits it, None keeps every value whole."""
    if unique:
        groups: list[tuple[str, ...]] = []
        for key, uses in inventory.unique():
            groups.append((key if uses[0].reference else "? (unknown)", str(len(uses)),
                           f"{uses[0].resource} {uses[0].path}"))
        return format_table(UNIQUE_COLUMNS, groups, width)
    used_by = any(use.effective_for for use in inventory.uses)
    columns = IMAGE_COLUMNS if used_by else IMAGE_COLUMNS[:-1]
    rows: list[tuple[str, ...]] = []
    for use in inventory.uses:
        row: tuple[str, ...] = (use.image or "? (unknown)", str(use.resource), use.path,
                                _where(use), _how(use))
        if used_by:
            row += (_used_by(use),)
        rows.append(row)
    out = format_table(columns, rows, width)
    notes = [u for u in inventory.uses if u.implicit or u.note]
    if notes:
        out += "\n"
        for use in notes:
            out += "\n".join(wrap(f"{use.image or '?'}: {use.reason or use.note}", width)) + "\n"
    return out


def as_data(inventory: Inventory, unique: bool = False,
            shared: bool = False) -> list[dict[str, object]]:
    """The items of the JSON, YAML and CSV reports. ``shared``: the uses of one
    resource share its ``resource`` object (for a writer that copies nothing
    back and writes no aliases: JSON)."""
    resources: dict[ResourceId, dict[str, Any]] | None = {} if shared else None
    if not unique:
        return [use.to_json(resources) for use in inventory.uses]
    out = []
    for _, uses in inventory.unique():
        first = uses[0].to_json(resources)
        first["uses"] = len(uses)
        out.append(first)
    return out


def to_json(inventory: Inventory, unique: bool = False) -> str:
    """A JSON list, one object per line: greppable and diff-friendly."""
    items = as_data(inventory, unique, shared=True)
    if not items:
        return "[]\n"
    import orjson  # here: a table (a pre-commit hook's output) needs no JSON encoder

    # orjson encodes the whole list several times faster than json's C encoder
    # (bench/operators.py: json was a tenth of `kpatch images --format json`), and
    # in one call: one orjson call per item costs page faults that undo the gain.
    # Each item starts with "image" (ImageUse.to_json), so the item boundaries are
    # the len(items) - 1 places where `},{"image":` occurs at the top level; a
    # quote inside a string is escaped, so the only other places it could occur
    # are nested objects, and the count rules those out.
    try:
        body = orjson.dumps(items)
    except orjson.JSONEncodeError:
        # A lone surrogate (a JSON input may hold "\ud800"), which orjson refuses
        # and json escapes.
        return _json_lines(items)
    if body.count(_ITEM_BOUNDARY) != len(items) - 1:
        return _json_lines(items)
    lines = body.replace(_ITEM_BOUNDARY, _ITEM_BOUNDARY_ON_NEW_LINE)
    return "".join(("[\n", str(memoryview(lines)[1:-1], "utf-8"), "\n]\n"))


_ITEM_BOUNDARY = b'},{"image":'
_ITEM_BOUNDARY_ON_NEW_LINE = b'},\n{"image":'


def _json_lines(items: list[dict[str, object]]) -> str:
    """``to_json``'s output written item by item with json (slower, never refuses)."""
    import json

    encode = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode
    return "[\n" + ",\n".join(map(encode, items)) + "\n]\n"


def to_yaml(inventory: Inventory, unique: bool = False) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(as_data(inventory, unique), Dumper=dumper, sort_keys=False)


def to_csv(inventory: Inventory, unique: bool = False) -> str:
    import csv
    import io
    import json

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for item in as_data(inventory, unique):
        resource = item.pop("resource")
        assert isinstance(resource, dict)
        if "effective_for" in item:
            item["effective_for"] = json.dumps(item["effective_for"], separators=(",", ":"))
        writer.writerow({**item, **resource})
    return buffer.getvalue()


def render(inventory: Inventory, fmt: str, unique: bool = False,
           width: int | None = None) -> str:
    """``inventory`` in ``fmt``; ``width`` fits a table to a terminal."""
    if fmt == "table":
        return table(inventory, unique, width)
    writers = {"json": to_json, "yaml": to_yaml, "csv": to_csv}
    return writers[fmt](inventory, unique)


def plan_table(plan: RelocationPlan, width: int | None = None) -> str:
    """The dry-run view: each reference, old -> new, and where."""
    rows: list[tuple[str, ...]] = []
    for move in plan.moves:
        rows.append((str(move.resource), move.path, move.old or "?", move.new, move.how))
    for item in plan.unrelocated:
        rows.append((str(item.resource), item.path, item.image or "?", "NOT RELOCATED",
                     item.reason))
    if not rows:
        return "nothing to relocate: every image is already under the target\n"
    return format_table(PLAN_COLUMNS, rows, width)
