"""What kpatch reports: resources and the image uses found in them."""

from __future__ import annotations

from typing import Any, NamedTuple

from kpatch.profile import FieldSpec
from kpatch.records import Record
from kpatch.reference import ImageReference


def pointer(tokens: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 JSON pointer from path tokens."""
    # Called for every reference found: a plain loop, escaping only when needed.
    parts = []
    for token in tokens:
        text = str(token)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        parts.append(text)
    return "/" + "/".join(parts) if parts else ""


_MISSING = object()


def child(node: Any, token: str | int) -> Any:
    """``node[token]`` for a mapping key or list index, or ``MISSING``."""
    if isinstance(node, dict):
        return node.get(token, _MISSING)
    if isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
        return node[token]
    return _MISSING


MISSING = _MISSING


def text_or_none(value: Any) -> str | None:
    """``value`` if it is a non-empty string (operator settings leave fields empty)."""
    return value if isinstance(value, str) and value else None


def lookup(data: Any, tokens: tuple[str | int, ...] | list[str | int]) -> Any:
    """The value at ``tokens``, or None where the path does not exist."""
    for token in tokens:
        data = child(data, token)
        if data is MISSING:
            return None
    return data


class ResourceId(NamedTuple):
    api_version: str
    kind: str
    namespace: str | None
    name: str | None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    def __str__(self) -> str:
        name = f"{self.namespace}/{self.name}" if self.namespace else str(self.name)
        return f"{self.kind} {name}"


class ImageUse(Record):
    """One place an install pulls an image from: written in a field, or implicit.
    (A record, not a dataclass: kpatch.records.)"""

    image: str | None  # as written, or as derived; None when it cannot be known
    reference: ImageReference | None
    resource: ResourceId
    path: str  # JSON pointer; "outer#inner" inside an embedded document
    file: str | None
    line: int | None
    shape: str  # string | block | env | embedded | implicit
    profile: str
    implicit: bool
    reason: str | None
    component: str | None
    note: str | None
    pulled: bool
    spec: FieldSpec | None
    # For blocks: the mapping as written (relocation edits its parts).
    block: dict[str, Any] | None
    pull_policy: str | None
    embedded_shape: str | None
    # Which datacenter/component pulls it, and which precedence level won.
    effective_for: list[dict[str, Any]]
    # The entries of effective_for as hashable keys: one ImageConfig image can be
    # effective for every datacenter of an install (thousands of entries).
    effective_keys: set[tuple[tuple[str, Any], ...]]
    tokens: tuple[str | int, ...]

    _NOT_SHOWN = _NOT_COMPARED = frozenset({"spec", "block", "effective_keys", "tokens"})

    def __init__(self, image: str | None, reference: ImageReference | None,
                 resource: ResourceId, path: str, file: str | None, line: int | None,
                 shape: str, profile: str, implicit: bool = False, reason: str | None = None,
                 component: str | None = None, note: str | None = None, pulled: bool = True,
                 spec: FieldSpec | None = None, block: dict[str, Any] | None = None,
                 pull_policy: str | None = None, embedded_shape: str | None = None,
                 effective_for: list[dict[str, Any]] | None = None,
                 effective_keys: set[tuple[tuple[str, Any], ...]] | None = None,
                 tokens: tuple[str | int, ...] = ()) -> None:
        self.image = image
        self.reference = reference
        self.resource = resource
        self.path = path
        self.file = file
        self.line = line
        self.shape = shape
        self.profile = profile
        self.implicit = implicit
        self.reason = reason
        self.component = component
        self.note = note
        self.pulled = pulled
        self.spec = spec
        self.block = block
        self.pull_policy = pull_policy
        self.embedded_shape = embedded_shape
        self.effective_for = [] if effective_for is None else effective_for
        self.effective_keys = set() if effective_keys is None else effective_keys
        self.tokens = tokens

    def to_json(self) -> dict[str, Any]:
        ref = self.reference
        out: dict[str, Any] = {
            "image": self.image,
            "normalized": ref.normalized if ref else None,
            "registry": ref.domain if ref else None,
            "repository": ref.repository if ref else None,
            "tag": ref.tag if ref else None,
            "digest": ref.digest if ref else None,
            "resource": self.resource.to_json(),
            "path": self.path,
            "file": self.file,
            "line": self.line,
            "shape": self.shape,
            "profile": self.profile,
            "implicit": self.implicit,
            "reason": self.reason,
            "component": self.component,
            "pulled": self.pulled,
        }
        if self.embedded_shape:
            out["embedded_shape"] = self.embedded_shape
        if self.note:
            out["note"] = self.note
        if self.effective_for:
            out["effective_for"] = self.effective_for
        return out
