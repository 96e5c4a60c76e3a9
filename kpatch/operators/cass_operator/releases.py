"""cass-operator's release table (releases.yaml) and the release in use.

The table is data generated from the upstream tags by regenerate.py; this
module only reads it and picks the row that decides an install's images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from kpatch.errors import KpatchError

PROFILE = "cass-operator"
# The operator image's repository; a relocated or flattened copy keeps the
# last part (registry.corp/k8s/cass-operator), so that is matched too.
OPERATOR_REPOSITORIES = ("k8ssandra/cass-operator", "cass-operator")
PARAM = "operatorVersion"

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


class CassOperatorError(KpatchError):
    """cass-operator itself would fail here (or kpatch cannot know what it does).

    Rules turn it into an image kpatch cannot know, with the message as reason;
    code calling the public functions directly may do the same.
    """


def decoded_string(node: Any, key: str, where: str) -> str:
    """A string field of an ImageConfig as the operator's Go decoder reads it:
    absent or null (or no mapping at all) -> ""; not a string -> the operator
    cannot decode its config."""
    value = node.get(key) if isinstance(node, Mapping) else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CassOperatorError(
            f"the operator cannot decode its ImageConfig: {where}{key} is not a string")
    return value


_ROW_START = re.compile(r"^- version: (\S+)$", re.MULTILINE)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def _table() -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """The table's text and, per row, (version, start, end) offsets in it.

    The generated file lists rows at column 0 (``- version: vX``); a run loads
    only the rows it uses (a few of fifty): loading all costs more than
    resolving a thousand datacenters."""
    text = (resources.files("kpatch") / "operators" / "cass_operator" / "releases.yaml") \
        .read_text(encoding="utf-8")
    starts = [(m.group(1), m.start()) for m in _ROW_START.finditer(text)]
    spans = [(version, start, starts[i + 1][1] if i + 1 < len(starts) else len(text))
             for i, (version, start) in enumerate(starts)]
    spans.sort(key=lambda span: version_key(span[0]) or (0, 0, 0))
    return text, tuple(spans)


@lru_cache(maxsize=1)
def release_versions() -> tuple[str, ...]:
    """Every release in the table, oldest first."""
    return tuple(version for version, _, _ in _table()[1])


@cache
def release_row(version: str) -> dict[str, Any]:
    """The table's row for exactly ``version`` (KeyError when there is none)."""
    text, spans = _table()
    for found, start, end in spans:
        if found == version:
            rows = yaml.load(text[start:end], Loader=_LOADER)
            if not isinstance(rows, list) or len(rows) != 1 or rows[0]["version"] != version:
                raise KpatchError(f"releases.yaml: the row of {version} does not read back")
            return rows[0]  # type: ignore[no-any-return]
    raise KeyError(version)


def release_rows() -> tuple[dict[str, Any], ...]:
    """Every row of releases.yaml, oldest first."""
    return tuple(release_row(version) for version in release_versions())


@lru_cache(maxsize=256)
def version_key(version: str) -> tuple[int, int, int] | None:
    match = _VERSION_RE.match(version.strip())
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


@dataclass(frozen=True)
class ReleaseInUse:
    """The row whose rules decide the images, and what kpatch knows of it."""

    version: str  # as found (operator image tag or --param), or the assumed one
    row: dict[str, Any]  # the release table row used
    source: str  # how kpatch knows: "the operator image ... in ...", "--param ...", "assumed"
    exact: bool  # the row is the release itself (not the nearest or newest known one)

    @property
    def shipped_known(self) -> bool:
        """Whether the ImageConfig this release ships is known (the row is the release)."""
        return self.exact

    def rules(self, part: str) -> Any:
        return self.row[part]


@lru_cache(maxsize=64)
def row_for(version: str) -> tuple[dict[str, Any], bool]:
    """(row, exact): the row for ``version``, else the newest row not newer than it
    (exact False), else the oldest. Unparseable versions get the newest row.
    Asked once per datacenter: cached (rows are read, never changed)."""
    versions = release_versions()
    key = version_key(version)
    if key is None:
        return release_row(versions[-1]), False
    best = versions[0]
    for known in versions:
        known_key = version_key(known)
        assert known_key is not None
        if known_key == key:
            return release_row(known), True
        if known_key < key:
            best = known
    return release_row(best), False


def release_for(version: str, source: str = "given") -> ReleaseInUse:
    """The release table's answer for ``version`` (``v1.26.0`` or ``1.26.0``)."""
    row, exact = row_for(version)
    return ReleaseInUse(version, row, source, exact)


def newest() -> ReleaseInUse:
    row = release_row(release_versions()[-1])
    return ReleaseInUse(row["version"], row, "the newest release kpatch knows", True)


def describe_gap(release: ReleaseInUse) -> str | None:
    """Why the row is not the release itself, for a warning; None when it is."""
    if release.exact:
        return None
    newest_known = release_versions()[-1]
    oldest_known = release_versions()[0]
    key = version_key(release.version)
    if key is None:
        return (f"cass-operator release {release.version!r} ({release.source}) is not a "
                f"version kpatch can look up: assuming it decides images as "
                f"{release.row['version']} does, the newest kpatch knows "
                f"(pass --param {PROFILE}.{PARAM}=vX.Y.Z)")
    if key > (version_key(newest_known) or key):
        return (f"cass-operator {release.version} ({release.source}) is newer than kpatch's "
                f"release table (newest {newest_known}): assuming it decides images as "
                f"{newest_known} does; the ImageConfig it ships is not known")
    if key < (version_key(oldest_known) or key):
        return (f"cass-operator {release.version} ({release.source}) is older than kpatch's "
                f"release table (oldest {oldest_known}): assuming it decides images as "
                f"{oldest_known} does; the ImageConfig it ships is not known")
    return (f"cass-operator {release.version} ({release.source}) is not a tagged release: "
            f"assuming it decides images as {release.row['version']} does; the ImageConfig "
            "it ships is not known")
