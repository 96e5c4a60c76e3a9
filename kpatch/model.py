"""What kpatch reports: resources and the image uses found in them."""

from __future__ import annotations

from typing import Any, NamedTuple

from kpatch.profile import FieldSpec
from kpatch.records import Record
from kpatch.reference import ImageReference


def pointer(tokens: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 JSON pointer from path tokens."""
    # Called for every reference found, and the same paths come back in every
    # resource of a kind: remembered by their tokens (a tuple hashes in C).
    if not isinstance(tokens, tuple):
        return _pointer(tokens)
    known = _POINTERS.get(tokens)
    if known is None:
        if len(_POINTERS) >= 50_000:
            _POINTERS.clear()
        known = _POINTERS[tokens] = _pointer(tokens)
    return known


_POINTERS: dict[tuple[str | int, ...], str] = {}


def _pointer(tokens: tuple[str | int, ...] | list[str | int]) -> str:
    # Joined in C, escaped only when a token holds "~" or "/" (the join then
    # has a "~", or more "/" than separators).
    if not tokens:
        return ""
    joined = "/".join(map(str, tokens))
    if "~" not in joined and joined.count("/") == len(tokens) - 1:
        return "/" + joined
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
    # :func:`child` inlined: the rules call this tens of thousands of times.
    for token in tokens:
        if isinstance(data, dict):
            data = data.get(token, _MISSING)
            if data is _MISSING:
                return None
        elif isinstance(data, list) and isinstance(token, int) and 0 <= token < len(data):
            data = data[token]
        else:
            return None
    return data


class NamedEntry(NamedTuple):
    """Where relocation writes an image that no field holds: the entry ``name`` of
    the list at ``list_tokens`` (a containers list an operator merges by name), set
    to the image and added when the list or the entry is absent.

    ``fields``: what the operator sets itself only when it picks the image (e.g.
    cass-operator's k8ssandra-client args), written beside the image so the pod
    stays as the operator would build it. ``before``: entries the operator would
    place ahead of this one, added bare (name only) so the order stays."""

    list_tokens: tuple[str | int, ...]
    name: str
    fields: tuple[tuple[str, Any], ...] = ()
    before: tuple[str, ...] = ()


def entry_image_tokens(data: Any, entry: NamedEntry) -> tuple[str | int, ...]:
    """Where the entry's image is (or will be, once relocation adds it) in ``data``:
    the named item's index, else the end of the list after the ``before`` entries."""
    items = lookup(data, entry.list_tokens)
    items = items if isinstance(items, list) else []
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if entry.name in names:
        return (*entry.list_tokens, names.index(entry.name), "image")
    missing = [name for name in entry.before if name not in names]
    return (*entry.list_tokens, len(items) + len(missing), "image")


class ResourceId(NamedTuple):
    """Which resource: the rules look uses up by it tens of thousands of times in a
    big install, so it is a tuple (hashed in C), not a dataclass."""

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
    effective_keys: set[frozenset[tuple[str, Any]]]
    tokens: tuple[str | int, ...]
    # For implicit images no field holds: the list entry relocation writes (a rule's request).
    entry: NamedEntry | None

    _NOT_SHOWN = _NOT_COMPARED = frozenset({"spec", "block", "effective_keys", "tokens", "entry"})

    def __init__(self, image: str | None, reference: ImageReference | None,
                 resource: ResourceId, path: str, file: str | None, line: int | None,
                 shape: str, profile: str, implicit: bool = False, reason: str | None = None,
                 component: str | None = None, note: str | None = None, pulled: bool = True,
                 spec: FieldSpec | None = None, block: dict[str, Any] | None = None,
                 pull_policy: str | None = None, embedded_shape: str | None = None,
                 effective_for: list[dict[str, Any]] | None = None,
                 effective_keys: set[frozenset[tuple[str, Any]]] | None = None,
                 tokens: tuple[str | int, ...] = (), entry: NamedEntry | None = None) -> None:
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
        self.entry = entry

    def to_json(self, resources: dict[ResourceId, dict[str, Any]] | None = None
                ) -> dict[str, Any]:
        """The documented JSON object (docs/images-output.md). ``resources``: the
        resource objects already made, by resource, to share between the uses
        of one resource where the writer does not mind (JSON; YAML would write
        anchors and aliases)."""
        if resources is None:
            resource = self.resource.to_json()
        elif self.resource in resources:
            resource = resources[self.resource]
        else:
            resource = resources[self.resource] = self.resource.to_json()
        ref = self.reference
        # One look-up of the normal forms per use, not one per property.
        domain, repository, _, normalized = ref.normal_forms() if ref else (None,) * 4
        out: dict[str, Any] = {
            "image": self.image,
            "normalized": normalized,
            "registry": domain,
            "repository": repository,
            "tag": ref.tag if ref else None,
            "digest": ref.digest if ref else None,
            "resource": resource,
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
