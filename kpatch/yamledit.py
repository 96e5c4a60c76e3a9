"""Round-trip edits of a YAML document held in a string (an ImageConfig in a
ConfigMap key), keeping comments, key order, quoting and the final newline.

ruamel.yaml does the round trip; kpatch guesses the document's indentation so
that untouched lines stay as they were, and checks the result: the edited text
must parse to exactly the original data with the edits applied. If ruamel ever
changed anything else, that check fails loudly instead of shipping a subtly
different config.
"""

from __future__ import annotations

import copy
import io
import itertools
import re
from collections.abc import Sequence
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import ScalarString

from kpatch.errors import KpatchError

Tokens = tuple[str | int, ...]
Edit = tuple[Tokens, Any]  # set the value at tokens (creating mappings on the way)

_KEY_LINE = re.compile(r"^( *)(?:- )?[^\s#-][^:#]*:\s*(?:#.*)?$")


def detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel.yaml wants them, guessed from the text."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    mapping, sequence, offset = 2, 2, 0
    found_mapping = found_sequence = False
    for current, following in itertools.pairwise(lines):
        match = _KEY_LINE.match(current)
        if not match:
            continue
        column = len(match.group(1)) + (2 if current.lstrip().startswith("- ") else 0)
        child_indent = len(following) - len(following.lstrip(" "))
        if child_indent <= column:
            continue
        if following.lstrip().startswith("- "):
            if not found_sequence:
                offset = child_indent - column
                sequence = offset + 2
                found_sequence = True
        elif not found_mapping:
            mapping = child_indent - column
            found_mapping = True
        if found_mapping and found_sequence:
            break
    return mapping, max(sequence, offset + 2), offset


def _round_trip_yaml(text: str) -> YAML:
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = 4096  # never fold long lines that were not folded
    mapping, sequence, offset = detect_indent(text)
    handler.indent(mapping=mapping, sequence=sequence, offset=offset)
    return handler


def load_round_trip(text: str, file: str, problem_prefix: str = "invalid YAML") -> Any:
    """A user's YAML file as ruamel's round-trip tree (comments and order kept, for
    editing in place); a YAML error becomes one KpatchError naming file and line."""
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise KpatchError(f"{problem_prefix}: {problem}", file=file, line=line) from None
    except RuamelError as exc:
        raise KpatchError(f"{problem_prefix}: {exc}", file=file) from None


def _styled(old: Any, value: Any) -> Any:
    """A replacement string keeps the quoting style of the value it replaces."""
    if isinstance(old, ScalarString) and isinstance(value, str):
        return type(old)(value)
    return value


def _set(root: Any, tokens: Tokens, value: Any, plain: bool) -> None:
    node = root
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if not isinstance(node.get(token), (dict, list)):
                node[token] = {} if plain else CommentedMap()
            node = node[token]
        elif isinstance(node, list) and isinstance(token, int):
            node = node[token]
        else:
            raise KpatchError(f"cannot edit {'/'.join(map(str, tokens))}: not a mapping")
    last = tokens[-1]
    if isinstance(node, dict):
        node[last] = value if plain else _styled(node.get(last), value)
    elif isinstance(node, list) and isinstance(last, int):
        node[last] = value if plain else _styled(node[last], value)
    else:
        raise KpatchError(f"cannot edit {'/'.join(map(str, tokens))}: not a mapping")


def _to_ruamel(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _to_ruamel(item)
        return out
    if isinstance(value, list):
        return CommentedSeq([_to_ruamel(v) for v in value])
    return value


def apply_edits(data: Any, edits: Sequence[Edit]) -> Any:
    """A deep copy of plain ``data`` with the edits applied."""
    result = copy.deepcopy(data)
    for tokens, value in edits:
        _set(result, tokens, copy.deepcopy(value), plain=True)
    return result


def edit_yaml_text(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with every edit applied, everything else kept as written."""
    if not edits:
        return text
    handler = _round_trip_yaml(text)
    try:
        document = handler.load(text)
        expected = yaml.safe_load(text)
    except (RuamelError, yaml.YAMLError) as exc:
        raise KpatchError(f"cannot edit embedded YAML: {exc}") from None
    for tokens, value in edits:
        _set(document, tokens, _to_ruamel(value), plain=False)
    expected = apply_edits(expected, edits)
    buffer = io.StringIO()
    handler.dump(document, buffer)
    result = buffer.getvalue()
    # Keep the original's ending: a block scalar's final newline is data.
    if not text.endswith("\n") and result.endswith("\n"):
        result = result.rstrip("\n")
    elif text.endswith("\n") and not result.endswith("\n"):
        result += "\n"
    if yaml.safe_load(result) != expected:
        raise KpatchError("internal check failed: editing the embedded YAML changed more "
                          "than the intended fields")
    return result
