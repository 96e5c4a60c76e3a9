"""Chart profiles: what kpatch knows about a Helm chart's image blocks, as data.

A chart profile (``kpatch/helm/*.yaml``) lists, for one chart, every values path
that holds an image block, how the chart's templates turn that block into the
image string a pod pulls, where pull-secret names and ServiceAccount names go,
and which template file each claim comes from (tests check those claims
against the templates' text).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from kpatch.errors import KpatchError

Path_ = tuple[str, ...]

BUILDS = ("flattened", "repository", "version-map", "computed")
PULL_SECRET_FORMS = ("object", "name")
BUILT_IN = ("k8ssandra-1.x.yaml",)


def split_path(text: str) -> Path_:
    """``a.b.c`` -> ("a", "b", "c"). Profile paths never contain dotted keys."""
    parts = tuple(text.split("."))
    if not text or any(not p for p in parts):
        raise KpatchError(f"invalid values path {text!r}")
    return parts


def dotted(path: Path_) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class Choice:
    """A computed image: ``image`` (with ``{version}``) when the selector starts with
    ``prefix`` (no prefix: the fallback)."""

    prefix: str | None
    image: str


@dataclass(frozen=True)
class ImageBlock:
    path: Path_
    component: str
    build: str
    template: str | None = None
    used_in: str | None = None  # the template that uses the string, when not `template`
    remote: str | None = None
    default: str | None = None  # repository a remote chart defaults to
    when: tuple[Path_, ...] = ()
    map: Path_ | None = None  # version-map: the map of version -> image
    version: Path_ | None = None  # version-map / computed: the version value
    select: Path_ | None = None  # computed: the value whose prefix picks a choice
    choices: tuple[Choice, ...] = ()

    @property
    def name(self) -> str:
        return dotted(self.path)


@dataclass(frozen=True)
class PullSecretKey:
    path: Path_
    form: str
    template: str | None = None
    remote: str | None = None


@dataclass(frozen=True)
class ServiceAccountKey:
    component: str
    path: Path_
    template: str | None = None
    remote: str | None = None


@dataclass(frozen=True)
class Subchart:
    key: str
    directory: str | None = None
    remote: str | None = None


@dataclass(frozen=True)
class ChartProfile:
    chart: str
    source: str
    builders: dict[str, dict[str, Any]]
    subcharts: dict[str, Subchart]
    blocks: tuple[ImageBlock, ...]
    pull_secrets: tuple[PullSecretKey, ...]
    service_accounts: dict[str, ServiceAccountKey]

    @property
    def registry_default(self) -> str:
        return str(self.builders["flattened"]["registry_default"])

    @property
    def tag_default(self) -> str:
        return str(self.builders["flattened"]["tag_default"])

    def subchart_of(self, path: Path_) -> Subchart | None:
        return self.subcharts.get(path[0])


def _text(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise KpatchError(f"{where}: {key!r} must be a non-empty string")
    return value


def _path(entry: dict[str, Any], key: str, where: str, required: bool = True) -> Path_ | None:
    text = _text(entry, key, where, required)
    return split_path(text) if text is not None else None


def _block(entry: Any, index: int) -> ImageBlock:
    where = f"blocks[{index}]"
    if not isinstance(entry, dict):
        raise KpatchError(f"{where}: must be a mapping")
    path = _path(entry, "path", where)
    build = _text(entry, "build", where)
    assert path is not None and build is not None
    if build not in BUILDS:
        raise KpatchError(f"{where}: build {build!r} is not one of {', '.join(BUILDS)}")
    remote = _text(entry, "remote", where, required=False)
    template = _text(entry, "template", where, required=False)
    if (remote is None) == (template is None):
        raise KpatchError(f"{where}: give exactly one of 'template' (a file in the chart "
                          "tree) or 'remote' (a chart fetched from a repository)")
    when = entry.get("when", [])
    if not isinstance(when, list):
        raise KpatchError(f"{where}: 'when' must be a list of values paths")
    choices = tuple(
        Choice(prefix=c.get("prefix"), image=str(c["image"])) for c in entry.get("choices", [])
    )
    block = ImageBlock(
        path=path, component=_text(entry, "component", where) or "", build=build,
        template=template, used_in=_text(entry, "used_in", where, False), remote=remote,
        default=_text(entry, "default", where, False),
        when=tuple(split_path(str(w)) for w in when),
        map=_path(entry, "map", where, required=build == "version-map"),
        version=_path(entry, "version", where, required=build in ("version-map", "computed")),
        select=_path(entry, "select", where, required=build == "computed"),
        choices=choices,
    )
    if build == "computed" and (not choices or choices[-1].prefix is not None):
        raise KpatchError(f"{where}: a computed block needs choices ending in a fallback")
    return block


def parse_profile(data: Any, source: str) -> ChartProfile:
    try:
        if not isinstance(data, dict):
            raise KpatchError("a chart profile is a mapping")
        chart = _text(data, "chart", "profile")
        subcharts = {
            key: Subchart(key, (value or {}).get("directory"), (value or {}).get("remote"))
            for key, value in (data.get("subcharts") or {}).items()
        }
        blocks = tuple(_block(e, i) for i, e in enumerate(data.get("blocks") or []))
        secrets = []
        for i, entry in enumerate(data.get("pull_secrets") or []):
            where = f"pull_secrets[{i}]"
            form = _text(entry, "form", where)
            if form not in PULL_SECRET_FORMS:
                raise KpatchError(f"{where}: form must be one of {', '.join(PULL_SECRET_FORMS)}")
            path = _path(entry, "path", where)
            assert path is not None and form is not None
            secrets.append(PullSecretKey(path, form, _text(entry, "template", where, False),
                                         _text(entry, "remote", where, False)))
        accounts = {}
        for component, entry in (data.get("service_accounts") or {}).items():
            where = f"service_accounts.{component}"
            path = _path(entry, "path", where)
            assert path is not None
            accounts[str(component)] = ServiceAccountKey(
                str(component), path, _text(entry, "template", where, False),
                _text(entry, "remote", where, False))
        builders = data.get("builders") or {}
        if "flattened" not in builders:
            raise KpatchError("builders: the 'flattened' builder is required")
    except KpatchError as exc:
        raise exc.at(file=source) from None
    assert chart is not None
    return ChartProfile(chart, source, builders, subcharts, blocks, tuple(secrets), accounts)


@cache
def built_in_profiles() -> tuple[ChartProfile, ...]:
    out = []
    for name in BUILT_IN:
        text = resources.files("kpatch.helm").joinpath(name).read_text(encoding="utf-8")
        out.append(parse_profile(yaml.safe_load(text), f"kpatch/helm/{name}"))
    return tuple(out)


def profile_for_chart(name: str) -> ChartProfile:
    for profile in built_in_profiles():
        if profile.chart == name:
            return profile
    known = ", ".join(p.chart for p in built_in_profiles())
    raise KpatchError(f"unknown chart {name!r}: kpatch has chart profiles for {known}")
