"""The k8ssandra-operator release in use, and its row of releases.yaml.

The release is the tag of the operator image (``k8ssandra/k8ssandra-operator``)
in the input, or ``--param k8ssandra-operator.operatorVersion``. Without
either, kpatch assumes the newest release of its table and says so once, naming
the parameter; a release the table does not know is treated the same way.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from kpatch.model import lookup

if TYPE_CHECKING:
    from kpatch.implicit import RuleContext

PROFILE = "k8ssandra-operator"
OPERATOR_REPOSITORIES = ("k8ssandra/k8ssandra-operator",)
PARAM = "operatorVersion"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Release:
    """One row of releases.yaml, and how kpatch came to use it."""

    row: dict[str, Any]
    source: str  # "--param ...", "the operator image ... in Deployment x", "assumed"
    default_registry: str = "docker.io"  # images.DefaultRegistry (DEFAULT_REGISTRY env)

    @property
    def version(self) -> str:
        return str(self.row["release"])

    def at_least(self, version: str) -> bool:
        return version_key(self.version) >= version_key(version)

    def cite(self, key: str) -> str:
        """``file:line@tag`` of a row entry (its provenance)."""
        entry = self.row.get(key)
        if isinstance(entry, dict) and "file" in entry:
            return f"{entry['file']}:{entry.get('line')}@{self.version}"
        return f"releases.yaml {key}@{self.version}"


@functools.lru_cache(maxsize=1024)
def version_key(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(version)
    if match is None:
        return (-1, -1, -1)
    major, minor, patch = (int(g) for g in match.groups())
    return (major, minor, patch)


ROW_START = "- release: "


@functools.lru_cache(maxsize=1)
def _text() -> str:
    return (resources.files("kpatch") / "operators" / "k8ssandra_operator" /
            "releases.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _spans() -> dict[str, tuple[int, int]]:
    """Where each release's row is in releases.yaml (as regenerate.py writes it, one
    ``- release: vX`` line per row), so that an install parses only the row it uses:
    the whole table costs more than a small install."""
    text = _text()
    starts = [m.start() for m in re.finditer(rf"^{re.escape(ROW_START)}", text, re.MULTILINE)]
    spans: dict[str, tuple[int, int]] = {}
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        version = text[start + len(ROW_START): text.index("\n", start)].strip()
        spans[version] = (start, end)
    return spans


@functools.cache
def row(version: str) -> dict[str, Any]:
    """One row of releases.yaml."""
    start, end = _spans()[version]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed = yaml.load(_text()[start:end], Loader=loader)
    return dict(parsed[0])


def table() -> dict[str, dict[str, Any]]:
    """Every row, by release tag, oldest first."""
    return {version: row(version) for version in _spans()}


def newest() -> str:
    return max(_spans(), key=version_key)


def _normalise(version: str) -> str:
    return version if version.startswith("v") else "v" + version


def release_in_use(ctx: RuleContext) -> Release:
    """The release whose defaults apply to this install (one answer per install)."""
    key = ("k8ssandra-operator", "release")
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    found = ctx.operator_release(PROFILE, OPERATOR_REPOSITORIES, PARAM)
    latest = newest()
    option = f"--param {PROFILE}.{PARAM}=VERSION"
    if found is None:
        ctx.warn(f"k8ssandra-operator: no operator Deployment in the input and no {option}: "
                 f"assuming the newest release kpatch knows, {latest}")
        version, source = latest, "assumed: the newest release kpatch knows"
    elif _normalise(found.version) in _spans():
        version, source = _normalise(found.version), found.source
    else:
        ctx.warn(f"k8ssandra-operator: release {found.version} ({found.source}) is not in "
                 f"kpatch's table (v1.0.0..{latest}): assuming {latest}; pass {option} with a "
                 "release kpatch knows to use its defaults")
        version, source = latest, f"assumed: {found.version} is not in the table"
    chosen = row(version)
    release = Release(chosen, source,
                      _default_registry(ctx, found.image if found else None, chosen))
    ctx.memo[key] = release
    return release


def _default_registry(ctx: RuleContext, operator_image: str | None, row: dict[str, Any]) -> str:
    """pkg/config/config.go InitConfig@v1.15.0+: the operator's DEFAULT_REGISTRY env
    var replaces images.DefaultRegistry."""
    if operator_image is None or not row.get("defaultRegistryEnv"):
        return "docker.io"
    for use in ctx.uses:
        if use.image != operator_image or use.implicit:
            continue
        for doc, rid in ctx.resources:
            if rid != use.resource:
                continue
            container = lookup(doc.data, use.tokens[:-1])
            for env in (container or {}).get("env") or []:
                if isinstance(env, dict) and env.get("name") == "DEFAULT_REGISTRY" \
                        and isinstance(env.get("value"), str) and env["value"]:
                    return str(env["value"])
        break
    return "docker.io"
