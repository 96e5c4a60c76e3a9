"""Writing resources as the YAML stream `kubectl kustomize` prints, byte for byte.

kustomize (v5) turns each resource into JSON and that JSON into YAML with
go-yaml v2 (``sigs.k8s.io/yaml.JSONToYAML``). So its text follows go-yaml v2's
rules, which this module reproduces on top of libyaml's emitter (go-yaml's
emitter is a port of libyaml, so line folding, indentation and the choice
between plain, single-quoted, double-quoted and literal styles already agree):

- map keys in go-yaml's "natural" order: runs of digits compare as numbers
  (``sub0, sub1, sub2, sub10``), letters after other characters;
- a string is written plain unless go-yaml would read it back as something
  else (``"yes"``, ``"1.0"``, ``"2020-01-01"``, ``"1:20"``, ``""``): then
  double-quoted; a string holding a newline is a literal ``|`` block when
  libyaml allows one;
- numbers as JSON leaves them: a float with an integral value is an int
  (``2.0`` -> ``2``), other floats in Go's shortest ``%g`` form (``1e-07``);
- timestamps as the RFC 3339 strings JSON made of them.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import yaml

_STR = "tag:yaml.org,2002:str"
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# go-yaml v2 resolve.go: strings it reads back as another type when plain
# (its map also holds "<<", but "<" gives no hint, so that is never looked up).
_RESOLVED_WORDS = (
    "y Y yes Yes YES on On ON n N no No NO off Off OFF true True TRUE false False FALSE "
    "null Null NULL ~ .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF")
_RESOLVE_MAP = frozenset(_RESOLVED_WORDS.split()) | {""}
_HINTED = frozenset("+-0123456789.yYnNtTfFoO~")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d?)-(\d\d?)"
    r"(?:(?:[Tt]|[ ])(\d\d?):(\d\d?):(\d\d?)(?:\.\d{1,9})?(?:Z|[-+]\d\d?(?::\d\d)?)?)?\Z")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.match(text)
    if match is None:
        return False
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    if match.group(4) is not None:
        hour, minute, second = (int(match.group(i)) for i in (4, 5, 6))
        return hour < 24 and minute < 60 and second < 60
    return True


def _go_int(text: str) -> bool:
    """strconv.ParseInt(text, 0, 64) or ParseUint succeed (range aside)."""
    if not _GO_INT.match(text):
        return False
    digits = text.lstrip("+-")
    if digits.startswith(("0x", "0X", "0o", "0O", "0b", "0B")):
        return len(digits) > 2
    return True


def go_resolves_to_non_string(text: str) -> bool:
    """Whether go-yaml v2 would read ``text`` written plain as anything but a
    string (its resolve() plus the base-60 check of its encoder)."""
    if text in _RESOLVE_MAP:
        return True
    if text[0] not in _HINTED:
        return False
    if text[0] == ".":
        return _YAML_FLOAT.match(text) is not None
    if text[0] in "+-0123456789":
        if _is_timestamp(text):
            return True
        plain = text.replace("_", "")
        if _go_int(plain) or _YAML_FLOAT.match(plain):
            return True
        if plain.startswith(("0b", "-0b")) and re.fullmatch(r"-?0b[01]+", plain):
            return True
    return _BASE60_FLOAT.match(text) is not None


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2 sorter.go keyList.Less for two string keys."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + (ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + (ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _compare_keys(a: str, b: str) -> int:
    if _go_key_less(a, b):
        return -1
    if _go_key_less(b, a):
        return 1
    return 0


go_key_order = functools.cmp_to_key(_compare_keys)


def _go_float(value: float) -> str:
    """A float as JSON then go-yaml v2 print it."""
    if math.isnan(value) or math.isinf(value):
        # JSON has no such numbers: kustomize fails on them. Keep go-yaml's spelling.
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if value.is_integer() and -(2**63) <= value < 2**64:
        return str(int(value))  # JSON wrote it without a point; go-yaml read an int
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    point = len(mantissa) + exponent  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:  # Go's shortest %g switches to an exponent here
        rest = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
        return f"{prefix}{mantissa[0]}{rest}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{mantissa}"
    if point >= len(mantissa):
        return f"{prefix}{mantissa}{'0' * (point - len(mantissa))}"
    return f"{prefix}{mantissa[:point]}.{mantissa[point:]}"


def _timestamp(value: datetime.date) -> str:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    return f"{value.isoformat()}T00:00:00Z"


def scalar_text(value: Any) -> str:
    """A JSON leaf as go-yaml v2 spells it plain (strings: as they are)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, datetime.date):
        return _timestamp(value)
    return str(value)


class _StringResolver(yaml.resolver.BaseResolver):
    """Every scalar is a string to the emitter: the representers pick its style
    themselves, so libyaml never adds a tag."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _STR
        return super().resolve(kind, value, implicit)  # type: ignore[no-any-return,no-untyped-call]


class KustomizeDumper(_BaseDumper, _StringResolver):  # type: ignore[valid-type,misc]
    """go-yaml v2 text for JSON-shaped data."""


def _represent_str(dumper: KustomizeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style: str | None = "|"
    elif go_resolves_to_non_string(value):
        style = '"'
    else:
        style = None
    return yaml.ScalarNode(_STR, value, style=style)


def _represent_leaf(dumper: KustomizeDumper, value: Any) -> yaml.ScalarNode:
    text = scalar_text(value)
    if isinstance(value, datetime.date):
        return yaml.ScalarNode(_STR, text, style='"')
    return yaml.ScalarNode(_STR, text, style=None)


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else scalar_text(key)


def _represent_mapping(dumper: KustomizeDumper, value: Mapping[Any, Any]) -> yaml.MappingNode:
    keyed = sorted(((_key_text(k), v) for k, v in value.items()),
                   key=lambda item: go_key_order(item[0]))
    pairs = [(_represent_str(dumper, k), dumper.represent_data(v)) for k, v in keyed]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=not pairs or None)


def _represent_sequence(dumper: KustomizeDumper, value: Iterable[Any]) -> yaml.SequenceNode:
    items = [dumper.represent_data(v) for v in value]
    return yaml.SequenceNode("tag:yaml.org,2002:seq", items, flow_style=not items or None)


KustomizeDumper.add_representer(str, _represent_str)
for _leaf in (type(None), bool, int, float, datetime.date, datetime.datetime):
    KustomizeDumper.add_representer(_leaf, _represent_leaf)
KustomizeDumper.add_representer(dict, _represent_mapping)
KustomizeDumper.add_representer(list, _represent_sequence)
KustomizeDumper.add_representer(tuple, _represent_sequence)


def dump_document(resource: Any) -> str:
    """One resource as kustomize prints it."""
    return yaml.dump(resource, Dumper=KustomizeDumper, allow_unicode=True,
                     default_flow_style=False, width=80)


def dump_stream(resources: Iterable[Any]) -> str:
    """A multi-document stream exactly as `kubectl kustomize` prints it."""
    return "---\n".join(dump_document(r) for r in resources)
