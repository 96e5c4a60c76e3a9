"""Plain scalars that YAML 1.1 and YAML 1.2 read differently.

kpatch reads YAML with PyYAML (YAML 1.1); kustomize with go-yaml v3 (YAML 1.2
for these purposes). Written plain, ``yes``/``no``/``on``/``off`` are booleans
to one and strings to the other, ``1:20`` a base-60 number or a string,
``0o17`` a string or 15, ``1e3`` a string or 1000. The built-in renderer
would print such a value differently from kubectl, so `kpatch build`, whose
output must be kubectl's bytes, leaves a tree that has one to kubectl.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

_BOOL_11 = re.compile(r"(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)\Z")
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_OCTAL_12 = re.compile(r"[-+]?0o[0-7_]+\Z")
_FLOAT_NO_DOT = re.compile(r"[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class AmbiguousScalar:
    line: int
    value: str


def _ambiguous(value: str) -> bool:
    return any(p.match(value) for p in (_BOOL_11, _BASE_60, _OCTAL_12, _FLOAT_NO_DOT))


def ambiguous_scalars(text: str) -> Iterator[AmbiguousScalar]:
    """Plain scalars of ``text`` that the two YAML versions read differently.
    Text that does not parse yields nothing: the renderer reports that itself."""
    try:
        for event in yaml.parse(text, Loader=_Loader):
            # Plain style: None from the Python parser, "" from libyaml's.
            if isinstance(event, yaml.ScalarEvent) and not event.style and \
                    event.implicit[0] and _ambiguous(event.value):
                mark = event.start_mark
                yield AmbiguousScalar(mark.line + 1 if mark else 0, event.value)
    except yaml.YAMLError:
        return
