"""``kpatch check``: the gate that keeps committed overlays honest.

One module per rule (``kpatch/check/<rule>.py``, each a ``check(context)``
function returning findings), in the style of yamllint's rules. This module
holds what they share: the finding, and the context of one overlay (its
settings from kpatch.yaml, the would-be overlay from the generator, the base's
inventory and the rendered overlay's inventory). ``runner`` runs the rules;
``report`` formats the findings. Nothing here prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpatch.config import OverlayConfig
    from kpatch.inventory import Inventory
    from kpatch.model import ImageUse, ResourceId
    from kpatch.overlay import RelocateResult
    from kpatch.profile import Profile
    from kpatch.yamlio import Document


@dataclass(frozen=True)
class Finding:
    rule: str
    overlay: str
    message: str
    file: str | None = None
    line: int | None = None
    resource: str | None = None
    pointer: str | None = None
    detail: str | None = None  # a unified diff, for the in-sync rule

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "overlay": self.overlay, "message": self.message,
            "file": self.file, "line": self.line, "resource": self.resource,
            "pointer": self.pointer, "detail": self.detail,
        }


@dataclass
class OverlayContext:
    """What the rules of one overlay read. ``generated`` and ``base`` are None when
    the generator failed; ``rendered`` is None when the overlay does not build."""

    overlay: OverlayConfig
    generated: RelocateResult | None
    rendered: Inventory | None
    profiles: list[Profile] = field(default_factory=list)
    _patch_targets: list[tuple[dict[str, Any], str]] | None = field(default=None, repr=False)
    # Rendered documents by resource id (first of each id), built on first use: the
    # rules look documents up once per image use.
    _documents: dict[ResourceId, Document] | None = field(default=None, repr=False)
    _by_name: dict[tuple[str, str | None, str | None], Document] = field(
        default_factory=dict, repr=False)
    _for_rendered: Inventory | None = field(default=None, repr=False)

    @property
    def base(self) -> Inventory | None:
        return self.generated.inventory if self.generated is not None else None

    @property
    def output(self) -> str:
        return self.overlay.output_path

    def profile_data(self, name: str) -> dict[str, Any]:
        """A profile's ``data`` table (operator knowledge), empty when not loaded."""
        for profile in self.profiles:
            if profile.name == name:
                return dict(profile.data)
        return {}

    def document_of(self, resource: ResourceId) -> Document | None:
        if self.rendered is None:
            return None
        self._index()
        assert self._documents is not None
        return self._documents.get(resource)

    def named(self, kind: str, namespace: str | None, name: str | None) -> Document | None:
        """The first rendered document of that kind, namespace and name (any apiVersion)."""
        if self.rendered is None:
            return None
        self._index()
        return self._by_name.get((kind, namespace, name))

    def _index(self) -> None:
        if self._documents is not None and self._for_rendered is self.rendered:
            return
        assert self.rendered is not None
        by_id: dict[ResourceId, Document] = {}
        by_name: dict[tuple[str, str | None, str | None], Document] = {}
        for doc, rid in self.rendered.resources:
            by_id.setdefault(rid, doc)
            by_name.setdefault((rid.kind, rid.namespace, rid.name), doc)
        self._documents, self._by_name, self._for_rendered = by_id, by_name, self.rendered

    def finding(self, rule: str, message: str, *, use: ImageUse | None = None,
                resource: ResourceId | None = None, pointer: str | None = None,
                file: str | None = None, line: int | None = None,
                detail: str | None = None) -> Finding:
        """A finding, placed at the overlay patch file that touches the resource
        (line of the operation on ``pointer``) when there is one, else the overlay's
        kustomization."""
        if use is not None:
            resource, pointer = use.resource, use.path
        if file is None and resource is not None:
            file, line = self.locate(resource, pointer)
        if file is None:
            file = os.path.join(self.output, "kustomization.yaml")
        return Finding(rule, self.overlay.name, message, file, line,
                       str(resource) if resource is not None else None, pointer, detail)

    def locate(self, resource: ResourceId, pointer: str | None) -> tuple[str | None, int | None]:
        outer = (pointer or "").split("#", 1)[0]
        for target, name in self._targets():
            if _target_matches(target, resource):
                path = Path(self.output) / name
                return str(path), _line_mentioning(path, outer)
        return None, None

    def _targets(self) -> list[tuple[dict[str, Any], str]]:
        if self._patch_targets is None:
            import yaml

            found: list[tuple[dict[str, Any], str]] = []
            try:
                text = (Path(self.output) / "kustomization.yaml").read_text(encoding="utf-8")
                data = yaml.safe_load(text)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                data = None
            for entry in (data or {}).get("patches") or [] if isinstance(data, dict) else []:
                if isinstance(entry, dict) and isinstance(entry.get("target"), dict) \
                        and isinstance(entry.get("path"), str):
                    found.append((entry["target"], entry["path"]))
            self._patch_targets = found
        return self._patch_targets


def _target_matches(target: dict[str, Any], resource: ResourceId) -> bool:
    import re

    if target.get("kind") not in (None, resource.kind):
        return False
    for key, value in (("name", resource.name), ("namespace", resource.namespace)):
        wanted = target.get(key)
        if wanted is not None and not re.fullmatch(str(wanted), value or ""):
            return False
    return True


def _line_mentioning(path: Path, pointer: str) -> int | None:
    """Line of the first operation on ``pointer`` (or below it) in a patch file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if pointer:
        for quoted in (f'"path": "{pointer}"', f"path: {pointer}"):
            for number, text in enumerate(lines, 1):
                if quoted in text:
                    return number
        for number, text in enumerate(lines, 1):
            if f'"{pointer}/' in text or f"path: {pointer}/" in text:
                return number
    return next((n for n, t in enumerate(lines, 1) if not t.startswith("#")), None)
