"""Reading YAML streams fast, with line numbers, inside documented limits.

Rendered streams run to thousands of resources, so reading uses PyYAML's
libyaml-backed ``CSafeLoader`` (measured in bench/: ruamel.yaml, pure Python
here, is about 10x slower). Line numbers come for free: the loader keeps the
node of every mapping and sequence it builds, keyed by the id of the built
object, and a line is looked up only for the few places that are reported.

Limits (see docs/limits.md) keep hostile input from exhausting the machine:
input size, documents per stream, and the expanded size of documents that use
aliases (the "billion laughs" bomb builds a few hundred nodes that expand to
billions once walked).
"""

from __future__ import annotations

import functools
import gc
import operator
import os
import re
from collections.abc import Iterator
from itertools import accumulate, islice
from typing import Any, ClassVar

import yaml

from kpatch.errors import KpatchError
from kpatch.records import FrozenRecord, Record

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# An anchor is "&" followed by a name, at a node's start. Only documents that
# could hold aliases pay for the expansion check; a false positive costs time,
# never correctness.
_ANCHOR_RE = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]")


# The largest value each limit may be raised to. Past these, kpatch would no longer
# fail cleanly: libyaml's composer recurses in C and crashes the process near
# 30,000 levels, and Python walks documents recursively (the CLI allows 10,000
# frames, a few per level); a string of 4 GiB does not fit a 24 GiB machine
# once parsed.
_LIMIT_CEILINGS = {
    "max_input_bytes": 4 * 1024 ** 3,
    "max_documents": 10_000_000,
    "max_expanded_nodes": 100_000_000,
    "max_embedded_bytes": 256 * 1024 ** 2,
    "max_depth": 1000,
}
_LIMIT_OPTIONS = {"max_input_bytes": "--max-input-bytes / KPATCH_MAX_INPUT_BYTES",
                  "max_depth": "KPATCH_MAX_DEPTH"}


class LoadLimits(FrozenRecord):
    """Bounds on what kpatch reads; each can be raised by option or environment.
    (A record, not a dataclass: kpatch.records.)"""

    __slots__ = (
        "max_depth",
        "max_documents",
        "max_embedded_bytes",
        "max_expanded_nodes",
        "max_input_bytes",
    )
    max_input_bytes: int
    max_documents: int
    max_expanded_nodes: int
    max_embedded_bytes: int
    max_depth: int

    def __init__(self, max_input_bytes: int = 64 * 1024 * 1024, max_documents: int = 100_000,
                 max_expanded_nodes: int = 1_000_000, max_embedded_bytes: int = 1024 * 1024,
                 # libyaml's composer recurses in C: tens of thousands of levels crash
                 # the process (seen: segfault at 30,000). Manifests nest a few dozen
                 # deep. The depth check runs before the composer, whatever the
                 # input's size.
                 max_depth: int = 500) -> None:
        for name, value in (("max_input_bytes", max_input_bytes),
                            ("max_documents", max_documents),
                            ("max_expanded_nodes", max_expanded_nodes),
                            ("max_embedded_bytes", max_embedded_bytes),
                            ("max_depth", max_depth)):
            object.__setattr__(self, name, value)
        for name, ceiling in _LIMIT_CEILINGS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
                option = _LIMIT_OPTIONS.get(name, f"KPATCH_{name.upper()}")
                raise KpatchError(f"{option} must be a whole number from 1 to {ceiling}, "
                                  f"not {value!r}")

    @classmethod
    def from_environment(cls, **overrides: int | None) -> LoadLimits:
        values: dict[str, int] = {}
        for name in cls.field_names():
            env = os.environ.get(f"KPATCH_{name.upper()}")
            if env:
                try:
                    values[name] = int(env)
                except ValueError:
                    raise KpatchError(
                        f"KPATCH_{name.upper()} must be a whole number, not {env!r}"
                    ) from None
            override = overrides.get(name)
            if override is not None:
                values[name] = override
        return cls(**values)


# A position is packed into one int: the character offset of a mapping's or a
# sequence's start in its stream's text (libyaml's Mark.index, counted in
# characters as Python indexes a str), and its 0-based line.
_LINE_BITS = 32
_LINE_MASK = (1 << _LINE_BITS) - 1
# How far past a mapping's start a key's line is searched for (about 10,000
# lines of a manifest): a key asked for but not there must not cost a search
# to the end of a big stream each time.
_SCAN_CHARACTERS = 1_000_000


class SourceText:
    """The text a stream was read from."""

    def __init__(self, text: str, file: str | None) -> None:
        self.text = text
        self.file = file


class Document(Record):
    """One YAML document of a stream, with what is needed to point back into it."""

    data: Any
    source: SourceText
    index: int
    line: int
    # id(mapping or list) -> (offset << 32 | line) of its start; valid while
    # ``data`` is alive. Ints, not yaml nodes: keeping every node alive makes
    # the garbage collector crawl (measured: 4x slower loads).
    positions: dict[int, int]
    line_offset: int
    _NOT_SHOWN = frozenset({"positions"})

    def __init__(self, data: Any, source: SourceText, index: int, line: int,
                 positions: dict[int, int] | None = None, line_offset: int = 0) -> None:
        self.data = data
        self.source = source
        self.index = index
        self.line = line
        self.positions = {} if positions is None else positions
        self.line_offset = line_offset

    @property
    def file(self) -> str | None:
        return self.source.file

    def line_of(self, container: Any, key: str | int | None = None) -> int | None:
        """1-based line of ``container[key]``, or of the container when key is None."""
        packed = self.positions.get(id(container))
        if packed is None:
            return None
        line0 = packed & _LINE_MASK
        if key is None:
            return line0 + 1 + self.line_offset
        if isinstance(container, list) and isinstance(key, int):
            item = container[key] if 0 <= key < len(container) else None
            inner = self.positions.get(id(item)) if item is not None else None
            if inner is not None:
                return (inner & _LINE_MASK) + 1 + self.line_offset
            return self._scan_sequence(line0, packed >> _LINE_BITS, key) + 1 + self.line_offset
        if isinstance(key, str):
            return self._scan_mapping(line0, packed >> _LINE_BITS, key) + 1 + self.line_offset
        return line0 + 1 + self.line_offset

    def _scan_mapping(self, line0: int, offset: int, key: str) -> int:
        """0-based line of ``key`` in the mapping starting at ``offset`` on ``line0``."""
        # Block mappings put every key at the mapping's start column: the key's
        # line is searched in the text after the start line, and taken if no
        # line between is less indented than the mapping (neither blank nor a
        # comment), or a document marker for a document's own mapping: the
        # mapping would have ended there. The key is searched first and the end
        # only up to it, not to the end of the mapping (a whole `spec`). A flow
        # mapping's keys, and a block mapping's first, are on its start line.
        # Searches, not a loop over lines: this runs for most uses reported.
        text = self.source.text
        if text.startswith("{", offset) or _key_here(key).match(text, offset):
            return line0
        below = _below_start(text, offset)
        if below is None:
            return line0
        start, column = below
        found = _key_line(column, key).search(text, start, start + _SCAN_CHARACTERS)
        if found is None:
            return line0
        ended = _mapping_end(column) if column else _DOCUMENT_END
        if ended.search(text, start, found.start()) is not None:
            return line0
        return line0 + 1 + text.count("\n", start + 1, found.start() + 1)

    def _scan_sequence(self, line0: int, offset: int, index: int) -> int:
        """0-based line of item ``index`` of the sequence starting at ``offset``
        on ``line0`` (an item that is not itself a mapping or a list)."""
        text = self.source.text
        if index == 0 or text.startswith("[", offset):
            return line0  # the first item, or a flow sequence: on the start line
        below = _below_start(text, offset)
        if below is None:
            return line0
        start, column = below
        items = _item_line(column).finditer(text, start, start + _SCAN_CHARACTERS)
        found = next(islice(items, index - 1, None), None)
        if found is None:
            return line0
        return line0 + 1 + text.count("\n", start + 1, found.start() + 1)


def _below_start(text: str, offset: int) -> tuple[int, int] | None:
    """(the newline ending the line of ``offset``, the column of ``offset``): where
    the lines below a mapping or sequence starting there are searched from, and
    the column its keys or items stand at. None on the text's last line."""
    start = text.find("\n", offset)
    if start < 0:
        return None
    return start, offset - text.rfind("\n", 0, offset) - 1


# A document marker at the start of a line: a document's own mapping ends there.
_DOCUMENT_END = re.compile(r"\n(?:---|\.\.\.)(?:[ \t\r\n]|$)")


@functools.lru_cache(maxsize=256)
def _item_line(column: int) -> re.Pattern[str]:
    """A block sequence item ("-") at ``column``."""
    return re.compile(rf"\n {{{column}}}-(?=[ \t\r\n]|$)")


@functools.lru_cache(maxsize=256)
def _mapping_end(column: int) -> re.Pattern[str]:
    """A line less indented than ``column`` that is neither blank nor a comment."""
    return re.compile(rf"\n {{0,{column - 1}}}[^ \n#\r]")


@functools.lru_cache(maxsize=1024)
def _key_here(key: str) -> re.Pattern[str]:
    """``key`` (plain or quoted) followed by ":", matched where a line's key starts."""
    name = re.escape(key)
    return re.compile(rf"(?:{name}|\"{name}\"|'{name}') *:")


@functools.lru_cache(maxsize=1024)
def _key_line(column: int, key: str) -> re.Pattern[str]:
    """A line holding ``key`` (plain or quoted) at ``column``, followed by ":"."""
    name = re.escape(key)
    return re.compile(rf"\n {{{column}}}(?:{name}|\"{name}\"|'{name}') *:")


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """``construct_mapping`` that refuses a key given twice, as kubectl and kustomize
    do (PyYAML keeps the last value: an ``image:`` written twice would vanish).

    Fast: a mapping with distinct keys builds a dict as long as its list of
    pairs, so only a shorter dict, or one with merge keys (``<<``, which may
    legitimately override), pays for looking at each key."""
    own = node.value  # flatten_mapping drops merge pairs from this list in place
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    if len(mapping) != len(own) or node.value is not own:
        _refuse_duplicate_keys(loader, own)
    return mapping


def _refuse_duplicate_keys(loader: yaml.SafeLoader,
                           pairs: list[tuple[yaml.Node, yaml.Node]]) -> None:
    first: dict[Any, yaml.Node] = {}
    for key_node, _ in pairs:
        try:
            key = loader.construct_object(key_node)
            earlier = first.setdefault(key, key_node)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if earlier is not key_node:
            raise yaml.constructor.ConstructorError(
                f"first at line {earlier.start_mark.line + 1}", earlier.start_mark,
                f"duplicate key {key!r}", key_node.start_mark)


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
# Scalars whose constructors return the value itself (no generator, no state).
_PLAIN_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in
                               ("null", "bool", "int", "float", "binary", "timestamp", "str",
                                "value"))
# A plain "=" resolves to YAML 1.1's "value" type, which PyYAML's safe loader has
# no constructor for; kubectl and kustomize read it as the string "=".
_VALUE_TAG = "tag:yaml.org,2002:value"


class _FastResolver(_Loader):  # type: ignore[valid-type,misc]
    """The loader's tag resolution, answered without the generic loop for the
    scalars that can only be strings (quoted, or starting with a character no
    implicit resolver claims): most of a manifest. The C parser calls these
    for every node. Equivalent to PyYAML's only while no wildcard or path
    resolvers are registered, which ``_fast_resolution_applies`` checks."""

    _claimed_first_characters = frozenset(
        key for key in _Loader.yaml_implicit_resolvers if key)

    # Plain scalars repeat (keys above all): their tags, remembered.
    _plain_tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and (value == "" or value[0] in self._claimed_first_characters):
                tag = self._plain_tags.get(value)
                if tag is None:
                    tag = str(super().resolve(kind, value, implicit))
                    if len(value) <= 64 and len(self._plain_tags) < 50_000:
                        self._plain_tags[value] = tag
                return tag
            return _STR_TAG
        return _MAP_TAG if kind is yaml.MappingNode else _SEQ_TAG

    # The composer calls these around every node, for path resolvers, which
    # this loader does not have (see _fast_resolution_applies). Built-ins that
    # take the same arguments and whose results are dropped, not Python
    # functions: a Python call per node and per hook was a tenth of a load
    # (callgrind: 20M of 423M instructions for a 1,000-document stream).
    descend_resolver = staticmethod(operator.is_)  # (parent, index) -> ignored bool
    ascend_resolver = staticmethod(tuple)  # () -> the empty tuple, ignored


def _fast_resolution_applies() -> bool:
    return (None not in _Loader.yaml_implicit_resolvers
            and not getattr(_Loader, "yaml_path_resolvers", None))


_ResolvingLoader: type[yaml.SafeLoader] = (
    _FastResolver if _fast_resolution_applies() else _Loader)


class _TrackingLoader(_ResolvingLoader):  # type: ignore[valid-type,misc]
    """CSafeLoader that records where every mapping and sequence it builds starts,
    and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.tracked: dict[int, int] = {}

    def construct_tracked_map(self, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        mark = node.start_mark
        self.tracked[id(data)] = (mark.index << _LINE_BITS) | mark.line
        yield data
        data.update(_unique_mapping(self, node))

    def construct_tracked_seq(self, node: yaml.SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        mark = node.start_mark
        self.tracked[id(data)] = (mark.index << _LINE_BITS) | mark.line
        yield data
        data.extend(self.construct_sequence(node))


_TrackingLoader.add_constructor(
    "tag:yaml.org,2002:map", _TrackingLoader.construct_tracked_map
)
_TrackingLoader.add_constructor(_VALUE_TAG, _TrackingLoader.construct_yaml_str)


_TrackingLoader.add_constructor(
    "tag:yaml.org,2002:seq", _TrackingLoader.construct_tracked_seq
)


class _PlainLoader(_ResolvingLoader):  # type: ignore[valid-type,misc]
    """For input whose lines are never reported (patch bodies): no positions,
    duplicate keys refused all the same."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.tracked: dict[int, int] = {}

    def construct_unique_map(self, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        data.update(_unique_mapping(self, node))


_PlainLoader.add_constructor("tag:yaml.org,2002:map", _PlainLoader.construct_unique_map)
_PlainLoader.add_constructor(_VALUE_TAG, _PlainLoader.construct_yaml_str)


def _build_tree(loader: yaml.SafeLoader, node: yaml.Node, tracked: dict[int, int] | None) -> Any:
    """The data of one composed document, the same as ``construct_document``
    would build (duplicate keys refused, positions recorded in ``tracked``),
    in one recursive pass without PyYAML's per-node generators and caches:
    measured at about 0.6x of a bare ``yaml.load_all`` on the operator corpus,
    where the generic constructor costs 1.1x.

    Only for documents without anchors (an alias would be built once per use
    here); anything but plain maps, sequences and core scalars (merge keys,
    explicit tags, complex keys) is handed to the generic constructor."""
    cls = node.__class__
    if cls is yaml.ScalarNode:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag == _INT_TAG:
            value = node.value
            # Plain decimal digits (sizes, ports, replicas) read as int() reads
            # them; signs, "_", 0x/0o/0b, a leading 0 and 1:20 go to PyYAML.
            if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
                return int(value)
        if tag in _PLAIN_SCALAR_TAGS:
            return loader.yaml_constructors[tag](loader, node)
        return _build_generic(loader, node)
    if cls is yaml.MappingNode and node.tag == _MAP_TAG:
        mapping: dict[Any, Any] = {}
        restore = len(tracked) if tracked is not None else 0
        if tracked is not None:
            mark = node.start_mark
            tracked[id(mapping)] = (mark.index << _LINE_BITS) | mark.line
        pairs = node.value
        for key_node, value_node in pairs:
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag not in _PLAIN_SCALAR_TAGS:
                # A merge key or a complex key: forget what was built and
                # let the generic constructor do the whole mapping.
                if tracked is not None:
                    for _ in range(len(tracked) - restore):
                        tracked.popitem()
                return _build_generic(loader, node)
            key = key_node.value if key_node.tag == _STR_TAG else \
                loader.yaml_constructors[key_node.tag](loader, key_node)
            if key in mapping:
                _refuse_duplicate_keys(loader, pairs)
            # A string value (most of them) without a call of its own.
            mapping[key] = value_node.value if value_node.tag == _STR_TAG and \
                value_node.__class__ is yaml.ScalarNode else \
                _build_tree(loader, value_node, tracked)
        return mapping
    if cls is yaml.SequenceNode and node.tag == _SEQ_TAG:
        sequence: list[Any] = []
        if tracked is not None:
            mark = node.start_mark
            tracked[id(sequence)] = (mark.index << _LINE_BITS) | mark.line
        for item in node.value:
            sequence.append(item.value if item.tag == _STR_TAG and
                            item.__class__ is yaml.ScalarNode else
                            _build_tree(loader, item, tracked))
        return sequence
    return _build_generic(loader, node)


def _build_generic(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    # The tracking loader's own constructors record positions in
    # ``loader.tracked``: the dict _build_tree is given when tracking.
    return loader.construct_document(node)


def unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json.loads: a key given twice is an error."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return mapping


def _error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else None


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        return f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return f"invalid YAML: {exc}"


def load_stream(
    text: str,
    file: str | None = None,
    limits: LoadLimits | None = None,
    line_offset: int = 0,
    track: bool = True,
) -> list[Document]:
    """Parse every document of ``text``; empty documents are dropped.

    Raises KpatchError naming ``file`` and the line for any YAML problem, and for
    input that breaks a limit.
    """
    limits = limits or LoadLimits()
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > limits.max_input_bytes \
        else len(text)
    if size > limits.max_input_bytes:
        raise KpatchError(
            f"input is {size} bytes, over the limit of {limits.max_input_bytes} "
            "(raise it with --max-input-bytes or KPATCH_MAX_INPUT_BYTES)",
            file=file,
        )
    _check_depth(text, limits, file, line_offset)
    may_alias = "&" in text and _ANCHOR_RE.search(text) is not None
    source = SourceText(text, file)
    loader = _TrackingLoader(text) if track else _PlainLoader(text)
    documents: list[Document] = []
    # Everything built here stays reachable, so cyclic GC passes during the
    # load only cost time (measured: up to a third of the load on big streams).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        index = 0
        while True:
            if may_alias:
                # Slow path, only for streams with anchors: look at the node
                # graph before building anything from it.
                if not loader.check_node():
                    break
                node = loader.get_node()
                _check_expansion(node, limits, file, line_offset)
                data = loader.construct_document(node)
            else:
                if not loader.check_node():
                    break
                data = _build_tree(loader, loader.get_node(), loader.tracked if track else None)
            positions, loader.tracked = loader.tracked, {}
            if data is not None:
                if len(documents) >= limits.max_documents:
                    raise KpatchError(
                        f"more than {limits.max_documents} documents "
                        "(raise the limit with KPATCH_MAX_DOCUMENTS)",
                        file=file,
                    )
                packed = positions.get(id(data))
                start = (packed & _LINE_MASK) + 1 if packed is not None else 1
                documents.append(
                    Document(data, source, index, start + line_offset, positions, line_offset)
                )
            index += 1
    except yaml.YAMLError as exc:
        line = _error_line(exc)
        raise KpatchError(
            _describe_yaml_error(exc),
            file=file,
            line=line + line_offset if line is not None else None,
        ) from None
    except RecursionError:
        raise KpatchError("YAML nested too deeply", file=file) from None
    finally:
        loader.dispose()
        if gc_was_enabled:
            gc.enable()
    return documents


def _depth_bound(text: str, limit: int) -> int:
    """A cheap upper bound on how deep ``text`` can nest: the longest line prefix
    plus the deepest run of flow brackets (brackets inside strings only make the
    bound larger, which costs the exact check, never correctness)."""
    # Block nesting needs a prefix of indentation and "- " on some line. (A search
    # that starts at a literal newline is several times faster than "^" with
    # re.MULTILINE on big streams; the first line is tested on its own.)
    prefix_run = f"[ \t?:-]{{{limit // 2}}}"
    if re.search("\n" + prefix_run, text) or re.match(prefix_run, text):
        return limit + 1
    prefix = limit // 2
    if text.count("[") + text.count("{") <= limit - prefix:
        return limit
    return prefix + _deepest_bracket_run(text)


# +1 for an opening flow bracket, -1 for a closing one, by byte value.
_BRACKET_STEP = [0] * 256
for _byte, _step in ((b"[", 1), (b"{", 1), (b"]", -1), (b"}", -1)):
    _BRACKET_STEP[_byte[0]] = _step
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _deepest_bracket_run(text: str) -> int:
    """How deep flow brackets nest, a closing bracket at depth 0 ignored: the
    greatest rise of the running sum of +1/-1 steps above its lowest point so
    far. The brackets are picked out of the text's bytes by ``bytes.translate``
    and summed by iterators that loop in C (a Python loop over every bracket of
    a big stream cost 0.03x of a parse)."""
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_A_BRACKET)
    running = list(accumulate(map(_BRACKET_STEP.__getitem__, brackets)))
    floors = accumulate(running, min, initial=0)  # floors[i]: min(0, running[:i])
    return max(max(map(operator.sub, running, floors), default=0), 0)


def _check_depth(text: str, limits: LoadLimits, file: str | None, line_offset: int) -> None:
    if _depth_bound(text, limits.max_depth) <= limits.max_depth:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > limits.max_depth:
                    mark = event.start_mark
                    raise KpatchError(
                        f"YAML nests deeper than {limits.max_depth} levels "
                        "(raise the limit with KPATCH_MAX_DEPTH)",
                        file=file,
                        line=int(mark.line) + 1 + line_offset if mark is not None else None,
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader reports syntax errors with their line


def _check_expansion(
    root: yaml.Node, limits: LoadLimits, file: str | None, line_offset: int
) -> None:
    """Refuse a document whose aliases expand past ``max_expanded_nodes``.

    Sizes are memoized per node, so the check is linear in the number of
    distinct nodes however large the expansion would be.
    """
    sizes: dict[int, int] = {}
    limit = limits.max_expanded_nodes
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = list(node.value)
        if children_done:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > limit:
                raise KpatchError(
                    f"document expands to more than {limit} nodes through YAML aliases "
                    "(an alias bomb?); raise the limit with KPATCH_MAX_EXPANDED_NODES",
                    file=file,
                    line=int(node.start_mark.line) + 1 + line_offset,
                )
            sizes[key] = total
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def read_stdin_text() -> str:
    """Standard input as UTF-8 text, or an error naming it (not a traceback)."""
    import sys

    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise KpatchError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                          f"{exc.start})", file="<stdin>", line=line) from None
