"""Comparing two rendered streams, the way a Kubernetes reviewer reads them.

Resources are matched by group, kind, namespace and name; unmatched pairs of
the same kind whose names differ only by a generator hash suffix are renamed,
not removed and added. Inside a resource, lists of items that all carry a
unique ``name`` are matched by name, and strings that hold YAML or JSON
documents are parsed and compared structurally, the path continuing after
``#``. Secret values are masked unless asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kpatch.diff.model import Change, DiffResult, ResourceDiff, Side
from kpatch.errors import KpatchError
from kpatch.locate import resource_id
from kpatch.model import ResourceId, pointer
from kpatch.yamlio import Document, LoadLimits, load_stream

# kustomize's generator hash suffix: a dash and ten characters of its alphabet.
_HASH_SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")
_SECRET_FIELDS = ("data", "stringData")
_EMBEDDED_MAX = 1024 * 1024


@dataclass(frozen=True)
class DiffOptions:
    show_secrets: bool = False
    ignore: tuple[str, ...] = ()


Key = tuple[str, str, str | None, str | None]


def diff_documents(left: Sequence[Document], right: Sequence[Document], options: DiffOptions,
                   left_side: Side, right_side: Side) -> DiffResult:
    old = _index(left)
    new = _index(right)
    result = DiffResult(left_side, right_side, [])
    used_ignores: set[str] = set()
    removed = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    renames = _renames(removed, added)
    ordered: list[tuple[Key | None, Key | None]] = []
    for key in new:
        if key in old:
            ordered.append((key, key))
        elif key in renames.values():
            source = next(k for k, v in renames.items() if v == key)
            ordered.append((source, key))
        else:
            ordered.append((None, key))
    ordered += [(key, None) for key in old if key not in new and key not in renames]
    for old_key, new_key in ordered:
        old_doc = old[old_key] if old_key else None
        new_doc = new[new_key] if new_key else None
        if old_doc is None:
            assert new_doc is not None
            result.resources.append(ResourceDiff("added", None, new_doc[1].get()))
            continue
        if new_doc is None:
            result.resources.append(ResourceDiff("removed", old_doc[1].get(), None))
            continue
        secret = new_key is not None and new_key[:2] == ("", "Secret")
        if old_doc[0] is new_doc[0]:
            continue  # untouched by the overlay: the very same object
        changes = diff_values(old_doc[0], new_doc[0], (), secret and not options.show_secrets)
        status = "renamed" if old_key != new_key else "changed"
        if status == "renamed":
            changes = [c for c in changes if c.path != "/metadata/name"]  # the title says it
        kept = []
        for change in changes:
            matched = _ignored_by(change.path, options.ignore)
            if matched is None:
                kept.append(change)
            else:
                used_ignores.add(matched)
        result.ignored += len(changes) - len(kept)
        if kept or status == "renamed":
            result.resources.append(ResourceDiff(status, old_doc[1].get(), new_doc[1].get(),
                                                 kept))
    result.unused_ignores = [p for p in options.ignore if p not in used_ignores]
    return result


class _Lazy:
    """A document's ResourceId, built only if the resource is reported: most of
    two renders is unchanged (5,000 ids cost a few percent of a diff)."""

    __slots__ = ("doc", "rid")

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.rid: ResourceId | None = None

    def get(self) -> ResourceId:
        if self.rid is None:
            self.rid = resource_id(self.doc)
        return self.rid


def _index(documents: Iterable[Document]) -> dict[Key, tuple[Any, _Lazy]]:
    out: dict[Key, tuple[Any, _Lazy]] = {}
    for doc in documents:
        data = doc.data
        metadata = data.get("metadata") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not \
                isinstance(data.get("apiVersion"), str):
            resource_id(doc)  # raises the error that names the document
        assert isinstance(data, dict)
        metadata = metadata if isinstance(metadata, dict) else {}
        namespace, name = metadata.get("namespace"), metadata.get("name")
        key = (data["apiVersion"].rpartition("/")[0], data["kind"],
               namespace if isinstance(namespace, str) else None,
               name if isinstance(name, str) else None)
        if key in out:
            raise KpatchError(f"{resource_id(doc)} appears twice", file=doc.file, line=doc.line)
        out[key] = (data, _Lazy(doc))
    return out


def _renames(removed: list[Key], added: list[Key]) -> dict[Key, Key]:
    """Removed -> added pairs that are the same generated resource under a new hash."""
    pairs: dict[Key, Key] = {}
    taken: set[Key] = set()
    for old in removed:
        if old[3] is None or not _HASH_SUFFIX.search(old[3]):
            continue
        stem = _HASH_SUFFIX.sub("", old[3])
        for new in added:
            if new in taken or new[:3] != old[:3] or new[3] is None:
                continue
            if _HASH_SUFFIX.search(new[3]) and _HASH_SUFFIX.sub("", new[3]) == stem:
                pairs[old] = new
                taken.add(new)
                break
    return pairs


def _ignored_by(path: str, ignore: tuple[str, ...]) -> str | None:
    """The ``--ignore`` pointer that drops ``path`` (P drops P and everything below
    it, inside embedded documents too), or None."""
    for prefix in ignore:
        if prefix.endswith(("/", "#")):
            if path.startswith(prefix):
                return prefix
        elif path == prefix or path.startswith((prefix + "/", prefix + "#")):
            return prefix
    return None


def _masked(value: Any) -> str:
    # Not even the length: it says too much about a password.
    return "<hidden>"


def diff_values(old: Any, new: Any, tokens: tuple[str | int, ...], mask: bool,
                inner: str = "") -> list[Change]:
    """Changes between two values; ``inner`` is the path before a ``#``."""
    out: list[Change] = []
    _diff_into(out, old, new, tokens, mask, inner)
    return out


def _diff_into(out: list[Change], old: Any, new: Any, tokens: tuple[str | int, ...],
               mask: bool, inner: str) -> None:
    # Appends to one list rather than yielding: a generator per level cost more
    # than the comparisons on a 5,000-resource diff (bench/run.py).
    if old is new or (old == new and type(old) is type(new) and _strictly_equal(old, new)):
        return  # compared in C: most of two renders is equal
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            path = (*tokens, key)
            if key not in new:
                out.append(_change(inner, path, "removed", old[key], None,
                                   _under_mask(mask, path)))
            else:
                _diff_into(out, old[key], new[key], path, mask, inner)
        for key in new:
            if key not in old:
                path = (*tokens, key)
                out.append(_change(inner, path, "added", None, new[key], _under_mask(mask, path)))
        return
    if isinstance(old, list) and isinstance(new, list):
        _diff_lists(out, old, new, tokens, mask, inner)
        return
    hide = _under_mask(mask, tokens)
    if isinstance(old, str) and isinstance(new, str) and not hide:
        old_doc, new_doc = _structured(old), _structured(new)
        if old_doc is not None and new_doc is not None:
            _diff_into(out, old_doc, new_doc, (), False, inner + pointer(tokens) + "#")
            return
    out.append(_change(inner, tokens, "changed", old, new, hide))


def _strictly_equal(old: Any, new: Any) -> bool:
    """``old == new`` says so for ``1`` and ``true`` (and ``1.0``), at any depth
    of two equal containers; their JSON does not. Serialized in C, and only
    for containers that already compare equal. Different key orders only cost
    a walk that then finds nothing."""
    if not isinstance(old, (dict, list)):
        return True  # same type, equal value
    try:
        return json.dumps(old, default=repr) == json.dumps(new, default=repr)
    except (TypeError, ValueError):
        return False  # not JSON-shaped (keys of mixed types): walk it


def _under_mask(mask: bool, tokens: tuple[str | int, ...]) -> bool:
    return mask and len(tokens) >= 2 and tokens[0] in _SECRET_FIELDS


def _change(inner: str, tokens: tuple[str | int, ...], kind: str, old: Any, new: Any,
            hide: bool) -> Change:
    if hide:
        return Change(inner + pointer(tokens), kind,
                      _masked(old) if kind != "added" else None,
                      _masked(new) if kind != "removed" else None, masked=True)
    return Change(inner + pointer(tokens), kind, old, new)


def _names(items: list[Any]) -> list[str] | None:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    if len(names) != len(items) or not all(isinstance(n, str) for n in names):
        return None
    return names if len(set(names)) == len(names) else None  # type: ignore[return-value]


def _diff_lists(out: list[Change], old: list[Any], new: list[Any],
                tokens: tuple[str | int, ...], mask: bool, inner: str) -> None:
    old_names, new_names = _names(old), _names(new)
    if old_names is not None and new_names is not None and (old or new):
        # Named items (containers, env vars, volumes...): match by name, so a
        # reorder or an insertion does not read as every item changing.
        old_at = {name: index for index, name in enumerate(old_names)}
        for index, name in enumerate(new_names):
            if name in old_at:
                _diff_into(out, old[old_at[name]], new[index], (*tokens, index), mask, inner)
            else:
                out.append(_change(inner, (*tokens, index), "added", None, new[index], False))
        new_set = set(new_names)
        for index, name in enumerate(old_names):
            if name not in new_set:
                out.append(_change(inner, (*tokens, index), "removed", old[index], None, False))
        return
    for index in range(max(len(old), len(new))):
        if index >= len(old):
            out.append(_change(inner, (*tokens, index), "added", None, new[index], mask))
        elif index >= len(new):
            out.append(_change(inner, (*tokens, index), "removed", old[index], None, mask))
        else:
            _diff_into(out, old[index], new[index], (*tokens, index), mask, inner)


def _structured(text: str) -> Any:
    """A string's YAML/JSON document, when it holds a mapping or a list; else None."""
    if len(text) > _EMBEDDED_MAX or ("\n" not in text and text[:1] not in "{["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        try:
            docs = load_stream(text, None, LoadLimits(max_input_bytes=_EMBEDDED_MAX))
        except (KpatchError, yaml.YAMLError):
            return None
        if len(docs) != 1:
            return None
        value = docs[0].data
    return value if isinstance(value, (dict, list)) else None
