"""JSON6902 (RFC 6902) applied copy-on-write.

jsonpatch deep-copies the whole document and resolves every pointer through
general machinery; on an overlay with thousands of patches that was most of
``kpatch diff``'s time (bench/run.py). Here only the containers on each
operation's path are copied, so the original document is never changed and
untouched subtrees are shared. tests/test_json6902.py checks the result
against jsonpatch, operation by operation, on generated documents.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kpatch.errors import KpatchError


class PatchError(KpatchError):
    pass


class PatchTestFailed(PatchError):
    pass


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1`` (Python says it is)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(v, right[k])
                                                   for k, v in left.items())
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    return bool(left == right)


def parse_pointer(text: Any) -> list[str]:
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise PatchError(f"invalid JSON pointer {text!r}")
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    # Overlays repeat the same few paths for thousands of resources.
    if text == "":
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


def _index(token: str, size: int, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise PatchError(f"array index {index} out of range")
    return index


class _Writer:
    """Copies each container the first time an operation writes through it.

    Resolved parents are cached by path: an overlay's operations come in
    test/test/replace runs on the same container. Any write drops the cached
    paths that run through its parent, since list indexes below may shift.
    """

    def __init__(self, document: Any) -> None:
        self.copied: set[int] = set()
        self.root = self._own(document)
        self.parents: dict[tuple[str, ...], Any] = {}

    def wrote(self, tokens: list[str]) -> None:
        if not tokens:
            self.parents.clear()
            return
        prefix = tuple(tokens[:-1])
        for key in [k for k in self.parents if k[: len(prefix)] == prefix]:
            del self.parents[key]

    def _own(self, node: Any) -> Any:
        if isinstance(node, (dict, list)) and id(node) not in self.copied:
            node = dict(node) if isinstance(node, dict) else list(node)
            self.copied.add(id(node))
        return node

    def parent(self, tokens: list[str], path: str) -> Any:
        """The (copied) container holding the last token of ``tokens``."""
        key = tuple(tokens[:-1])
        cached = self.parents.get(key)
        if cached is not None:
            return cached
        node = self.root
        for token in tokens[:-1]:
            if isinstance(node, dict):
                if token not in node:
                    raise PatchError(f"path {path} does not exist: missing {token!r}")
                child = node[token] = self._own(node[token])
            elif isinstance(node, list):
                position = _index(token, len(node), allow_end=False)
                child = node[position] = self._own(node[position])
            else:
                raise PatchError(f"path {path} does not exist: {token!r} is below a value")
            node = child
        self.parents[key] = node
        return node

    def get(self, tokens: list[str], path: str) -> Any:
        """The value at ``tokens``, through the cache when its parent is known."""
        container = self.parents.get(tuple(tokens[:-1])) if tokens else None
        if container is None:
            return _get(self.root, tokens, path)
        last = tokens[-1]
        if isinstance(container, dict):
            if last not in container:
                raise PatchError(f"path {path} does not exist")
            return container[last]
        if isinstance(container, list):
            return container[_index(last, len(container), allow_end=False)]
        raise PatchError(f"path {path} does not exist")


def _get(document: Any, tokens: list[str], path: str) -> Any:
    node = document
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), allow_end=False)]
        else:
            raise PatchError(f"path {path} does not exist")
    return node


def _add(writer: _Writer, tokens: list[str], value: Any, path: str) -> None:
    if not tokens:
        # A moved value may be a container of the caller's document: owned (copied)
        # before later operations write through the new root.
        writer.root = writer._own(value)
        return
    container, last = writer.parent(tokens, path), tokens[-1]
    if isinstance(container, dict):
        container[last] = value
    elif isinstance(container, list):
        container.insert(_index(last, len(container), allow_end=True), value)
    else:
        raise PatchError(f"cannot add at {path}: the parent is not a container")


def _remove(writer: _Writer, tokens: list[str], path: str) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    container, last = writer.parent(tokens, path), tokens[-1]
    if isinstance(container, dict):
        if last not in container:
            raise PatchError(f"cannot remove {path}: it does not exist")
        return container.pop(last)
    if isinstance(container, list):
        return container.pop(_index(last, len(container), allow_end=False))
    raise PatchError(f"cannot remove {path}: the parent is not a container")


def _absent_member(writer: _Writer, tokens: list[str], path: str) -> bool:
    """The pointer names a key its (existing) mapping does not have. kustomize's
    JSON6902 passes ``test`` with value null there; a missing parent, or a list
    index out of range, is an error as for any other value."""
    if not tokens:
        return False
    parent = _get(writer.root, tokens[:-1], path)
    return isinstance(parent, dict) and tokens[-1] not in parent


def _copied(value: Any) -> Any:
    """A copy of a JSON value that shares nothing mutable with it (what
    copy.deepcopy gives for JSON, without its memo and dispatch per node)."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def apply_operations(document: Any, operations: list[Any]) -> Any:
    """``document`` with the operations applied; ``document`` itself is not changed."""
    writer = _Writer(document)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise PatchError(f"invalid operation {operation!r}")
        kind, raw_path = operation["op"], operation.get("path")
        tokens = parse_pointer(raw_path)  # raises unless a string pointer
        path = str(raw_path)
        if kind in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"{kind} at {path} needs a value")
        if kind == "test":
            if operation["value"] is None and _absent_member(writer, tokens, path):
                continue  # as kustomize (evanphx/json-patch): null tests an absent key
            if not json_equal(writer.get(tokens, path), operation["value"]):
                raise PatchTestFailed(f"testing value {path} failed: test failed")
            continue
        if kind == "add":
            _add(writer, tokens, _copied(operation["value"]), path)
        elif kind == "remove":
            _remove(writer, tokens, path)
        elif kind == "replace":
            writer.get(tokens, path)  # must exist
            if tokens:
                _remove(writer, tokens, path)
            _add(writer, tokens, _copied(operation["value"]), path)
        elif kind in ("move", "copy"):
            source = operation.get("from")
            source_tokens = parse_pointer(source)
            if kind == "move" and tokens == source_tokens:
                _get(writer.root, source_tokens, str(source))  # must exist
                continue  # moving a value onto itself changes nothing
            if kind == "move" and tokens[: len(source_tokens)] == source_tokens \
                    and tokens != source_tokens:
                raise PatchError(f"cannot move {source} into its own child {path}")
            value = (_remove(writer, source_tokens, str(source)) if kind == "move"
                     else _copied(_get(writer.root, source_tokens, str(source))))
            if kind == "move":
                writer.wrote(source_tokens)
            _add(writer, tokens, value, path)
        else:
            raise PatchError(f"unknown operation {kind!r}")
        writer.wrote(tokens)
    return writer.root
