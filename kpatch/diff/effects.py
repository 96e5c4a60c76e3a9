"""What a diff does to the images a cluster pulls.

An edit of an ImageConfig held in a ConfigMap string (``defaults.registry``,
a repository) reads in the field diff as a few keys; its effect is every image
the operator now pulls from elsewhere, including the server images it derives
from that document and the datacenters' versions. ``image_moves`` inventories
both sides (the same locating and implicit rules as ``kpatch images``) and
lists each image that differs, old -> new.

Only when an embedded document changed, or a resource whose images an
operator derives (the kinds the implicit rules read, e.g. K8ssandraCluster
block parts): those are the changes whose effect the field diff cannot show.
Even then only the resources that matter are inventoried: those kinds, and the
changed resources (an operator Deployment gives the version images are derived
from); when neither side holds a resource of those kinds, only the resources
whose embedded documents changed. Listed are the moves the field diff does not already show as one
old -> new line: blocks, references in embedded documents, derived images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpatch.diff.model import DiffResult, ImageMove
from kpatch.errors import KpatchError

if TYPE_CHECKING:
    from kpatch.model import ImageUse
    from kpatch.yamlio import Document

UseKey = tuple[str, str, str, str, str | None]


@dataclass(frozen=True)
class MoveReport:
    moves: list[ImageMove]
    note: str | None = None  # why moves could not be computed


def _key(use: ImageUse) -> UseKey:
    rid = use.resource
    return (rid.kind, rid.namespace or "", rid.name or "", use.path, use.component)


def _changed(result: DiffResult) -> set[tuple[str, str, str]]:
    out = set()
    for item in result.resources:
        for rid in (item.old, item.new):
            if rid is not None:
                out.add((rid.kind, rid.namespace or "", rid.name or ""))
    return out


def _embedded_changed(result: DiffResult) -> set[tuple[str, str, str]]:
    out = set()
    for item in result.resources:
        if any("#" in change.path for change in item.changes):
            rid = item.resource
            out.add((rid.kind, rid.namespace or "", rid.name or ""))
    return out


def _any_of_kinds(documents: Sequence[Document], kinds: set[str]) -> bool:
    return any(isinstance(d.data, dict) and d.data.get("kind") in kinds for d in documents)


# A plain string or env reference that moves is a field change the diff
# already shows, old -> new; blocks (changed part by part), references inside
# embedded documents and derived images are not.
_SHOWN_BY_THE_FIELD_DIFF = ("string", "env")


def _selected(documents: Sequence[Document], kinds: set[str],
              changed: set[tuple[str, str, str]]) -> list[Document]:
    out = []
    for doc in documents:
        data: Any = doc.data
        if not isinstance(data, dict):
            continue
        kind = data.get("kind")
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        name = (kind, str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        if kind in kinds or name in changed:
            out.append(doc)
    return out


def image_moves(left: Sequence[Document], right: Sequence[Document],
                result: DiffResult) -> MoveReport:
    """Each image that one side pulls and the other pulls from elsewhere."""
    if not result.resources:
        return MoveReport([])
    from kpatch.inventory import build_inventory
    from kpatch.profile import load_profiles

    embedded = any("#" in c.path for r in result.resources for c in r.changes)
    changed = _changed(result)
    try:
        profiles = load_profiles()
        kinds = {m.kind for p in profiles for rule in p.implicit for m in rule.kinds}
        if not embedded and not any(r.resource.kind in kinds for r in result.resources):
            return MoveReport([])
        if not _any_of_kinds(left, kinds) and not _any_of_kinds(right, kinds):
            # Nothing derives images here: the embedded documents say it all.
            changed = _embedded_changed(result)
        before = build_inventory(_selected(left, kinds, changed), profiles, {})
        after = build_inventory(_selected(right, kinds, changed), profiles, {})
    except KpatchError as exc:
        return MoveReport([], f"image moves not computed: {exc}")
    old = {_key(use): use for use in before.uses}
    # An image an operator derives, written out by relocation as a list entry (a
    # container the operator would add itself) is the same pull at the same place,
    # found there as a written container image: matched by place, not component.
    derived_at: dict[UseKey, list[UseKey]] = {}
    for key, derived in old.items():
        if derived.implicit:
            derived_at.setdefault((*key[:4], None), []).append(key)
    moves = []
    seen = set()
    for use in after.uses:
        key = _key(use)
        was = old.get(key)
        if was is None and not use.implicit:
            unmatched = [k for k in derived_at.get((*key[:4], None), []) if k not in seen]
            if unmatched:
                key, was = unmatched[0], old[unmatched[0]]
        seen.add(key)
        if was is not None and was.image == use.image:
            continue
        if use.shape in _SHOWN_BY_THE_FIELD_DIFF and (was is None or was.shape == use.shape):
            continue
        moves.append(ImageMove(use.resource, use.path, was.image if was else None,
                               use.image, use.implicit or (was is not None and was.implicit)))
    for key, was in old.items():
        if key not in seen and was.shape not in _SHOWN_BY_THE_FIELD_DIFF:
            moves.append(ImageMove(was.resource, was.path, was.image, None, was.implicit))
    return MoveReport(moves)
