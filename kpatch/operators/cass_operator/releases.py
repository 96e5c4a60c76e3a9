"""cass-operator's release table (releases.yaml) and the release in use.

The table is data generated from the upstream tags by regenerate.py; this
module only reads it and picks the row that decides an install's images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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


@lru_cache(maxsize=1)
def release_rows() -> tuple[dict[str, Any], ...]:
    """Every row of releases.yaml, oldest first."""
    text = (resources.files("kpatch") / "operators" / "cass_operator" / "releases.yaml") \
        .read_text(encoding="utf-8")
    rows = yaml.safe_load(text)["releases"]
    return tuple(sorted(rows, key=lambda row: version_key(row["version"]) or (0, 0, 0)))


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


def row_for(version: str) -> tuple[dict[str, Any], bool]:
    """(row, exact): the row for ``version``, else the newest row not newer than it
    (exact False), else the oldest. Unparseable versions get the newest row."""
    rows = release_rows()
    key = version_key(version)
    if key is None:
        return rows[-1], False
    best = rows[0]
    for row in rows:
        row_key = version_key(row["version"])
        assert row_key is not None
        if row_key == key:
            return row, True
        if row_key < key:
            best = row
    return best, False


def release_for(version: str, source: str = "given") -> ReleaseInUse:
    """The release table's answer for ``version`` (``v1.26.0`` or ``1.26.0``)."""
    row, exact = row_for(version)
    return ReleaseInUse(version, row, source, exact)


def newest() -> ReleaseInUse:
    row = release_rows()[-1]
    return ReleaseInUse(row["version"], row, "the newest release kpatch knows", True)


def describe_gap(release: ReleaseInUse) -> str | None:
    """Why the row is not the release itself, for a warning; None when it is."""
    if release.exact:
        return None
    newest_known = release_rows()[-1]["version"]
    oldest_known = release_rows()[0]["version"]
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
