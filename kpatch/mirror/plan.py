"""The copy plan: which image goes where, deduplicated, in inventory order.

Built from the same inventory (``kpatch.inventory.find_images``) and the same
rules (``kpatch.relocation.RelocationRules``) as ``kpatch relocate``, so what is
mirrored is exactly what the relocated manifests will pull.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kpatch.inventory import Inventory
from kpatch.reference import ImageReference
from kpatch.relocation import RelocationRules


@dataclass(frozen=True)
class CopyItem:
    """One image to copy. ``source`` and ``destination`` carry the same tag and
    digest; ``used_by`` says where the install pulls it (for review)."""

    source: ImageReference
    destination: ImageReference
    used_by: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.source.normalized, self.destination.normalized


@dataclass(frozen=True)
class Unresolved:
    where: str
    reason: str


@dataclass
class MirrorPlan:
    items: list[CopyItem]
    # Images the install pulls that kpatch cannot name (their version is unknown).
    unresolved: list[Unresolved] = field(default_factory=list)
    # Images already under the target (relocated manifests): nothing to copy.
    in_place: list[ImageReference] = field(default_factory=list)


def pinned(ref: ImageReference, digest: str | None) -> ImageReference:
    """``ref`` with ``digest`` added (tag kept: ``name:tag@digest``)."""
    if digest is None or ref.digest is not None:
        return ref
    return ref._replace(digest=digest)


def build_plan(inventory: Inventory, rules: RelocationRules,
               pins: Mapping[str, str] | None = None) -> MirrorPlan:
    """Deduplicated (source, destination) pairs for every image the install pulls.

    ``pins`` maps a source's normalized reference to the digest it resolved to
    (``--pin-digests``): both sides then carry that digest.
    """
    pins = pins or {}
    by_key: dict[tuple[str, str], CopyItem] = {}
    unresolved: list[Unresolved] = []
    in_place: dict[str, ImageReference] = {}
    for use in inventory.uses:
        where = f"{use.resource} {use.path}"
        if use.reference is None:
            unresolved.append(Unresolved(where, use.reason or "the image cannot be known"))
            continue
        if not use.pulled:
            continue  # a field the operator ignores: nothing pulls it
        source = use.reference
        if rules.is_relocated(source):
            in_place.setdefault(source.normalized, source)
            continue
        source = pinned(source, pins.get(source.normalized))
        item = CopyItem(source, rules.relocate(source))
        known = by_key.get(item.key)
        if known is None:
            by_key[item.key] = replace(item, used_by=(where,))
        else:
            by_key[item.key] = replace(known, used_by=(*known.used_by, where))
    return MirrorPlan(list(by_key.values()), unresolved, list(in_place.values()))


def pull_spec(ref: ImageReference) -> str:
    """How to read ``ref`` from a registry: by digest when it has one (registries
    and skopeo take a tag or a digest, not both), else by tag."""
    if ref.digest is not None:
        return f"{ref.name}@{ref.digest}"
    return ref.normalized


def push_spec(ref: ImageReference) -> str:
    """How to write ``ref``: by tag when it has one (the manifest keeps its digest,
    so ``name@digest`` resolves too), else by digest."""
    if ref.tag is not None:
        return f"{ref.name}:{ref.tag}"
    return pull_spec(ref)
