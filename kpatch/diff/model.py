"""The diff model, apart from how it is reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kpatch.model import ResourceId


def count(n: int, noun: str) -> str:
    """``1 change``, ``3 changes``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class Change:
    """One difference inside a resource. ``path`` is a JSON pointer; inside a
    string that holds YAML or JSON it continues after ``#``."""

    path: str
    kind: str  # "changed" | "added" | "removed"
    old: Any = None
    new: Any = None
    masked: bool = False  # Secret values: ``old``/``new`` are placeholders

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "type": self.kind}
        if self.kind != "added":
            out["old"] = self.old
        if self.kind != "removed":
            out["new"] = self.new
        if self.masked:
            out["masked"] = True
        return out


@dataclass
class ResourceDiff:
    status: str  # "changed" | "added" | "removed" | "renamed"
    old: ResourceId | None
    new: ResourceId | None
    changes: list[Change] = field(default_factory=list)

    @property
    def resource(self) -> ResourceId:
        found = self.new or self.old
        assert found is not None
        return found

    @property
    def title(self) -> str:
        if self.status == "renamed" and self.old and self.new:
            return f"{self.old} -> {self.new.name}"
        return str(self.resource)

    @property
    def summary(self) -> str:
        """``changed, 3 changes`` / ``renamed, no other change`` / ``added``."""
        if self.status in ("added", "removed"):
            return self.status
        if not self.changes:
            return f"{self.status}, no other change"
        return f"{self.status}, {count(len(self.changes), 'change')}"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "old": self.old.to_json() if self.old else None,
            "new": self.new.to_json() if self.new else None,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class Side:
    """What one side of the comparison was, and how it was rendered."""

    source: str
    renderer: str | None = None
    # Why --renderer auto did not render in process (for stderr, not the JSON).
    fallback_reason: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "renderer": self.renderer}


@dataclass(frozen=True)
class ImageMove:
    """An image one side pulls that the other pulls from elsewhere (or not at all)."""

    resource: ResourceId
    path: str
    old: str | None
    new: str | None
    implicit: bool  # derived by an operator, written in no manifest

    @property
    def title(self) -> str:
        derived = " (derived)" if self.implicit else ""
        return f"{self.resource} {self.path}{derived}"

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource.to_json(), "path": self.path, "old": self.old,
                "new": self.new, "implicit": self.implicit}


@dataclass
class DiffResult:
    left: Side
    right: Side
    resources: list[ResourceDiff]
    ignored: int = 0  # changes dropped by --ignore
    # --ignore pointers that matched no change (a typo hides nothing silently).
    unused_ignores: list[str] = field(default_factory=list)
    # Set when an embedded document changed: the images that move because of it.
    image_moves: list[ImageMove] = field(default_factory=list)

    @property
    def has_differences(self) -> bool:
        return bool(self.resources)

    def counts(self) -> dict[str, int]:
        out = {"changed": 0, "added": 0, "removed": 0, "renamed": 0}
        for item in self.resources:
            out[item.status] += 1
        return out

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        if not parts:
            return "no differences"
        noun = "resource" if sum(counts.values()) == 1 else "resources"
        return f"{sum(counts.values())} {noun}: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "left": self.left.to_json(),
            "right": self.right.to_json(),
            "summary": self.counts(),
            "ignored": self.ignored,
            "image_moves": [m.to_json() for m in self.image_moves],
            "resources": [r.to_json() for r in self.resources],
        }
