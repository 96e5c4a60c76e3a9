"""Reading a chart's values and working out every image it pulls.

``load_chart`` takes the chart's ``values.yaml`` and its subcharts' values
files, checks them against the chart profile (a layout the profile does not
describe is an error, never a guess), and ``chart_images`` builds each image
string the way the chart's templates do, from the chart defaults merged with a
user's values.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap

from kpatch.errors import KpatchError
from kpatch.helm.profile import (
    BUILT_IN,
    ChartProfile,
    ImageBlock,
    Path_,
    built_in_profiles,
    dotted,
    profile_for_chart,
)
from kpatch.reference import ImageReference, parse_reference
from kpatch.yamledit import load_round_trip

CHART_FILE = "Chart.yaml"
_MISSING = object()


@dataclass
class ValuesFile:
    """One values file as read: plain data, and the round-trip tree for line numbers."""

    path: str
    data: dict[str, Any]
    tree: Any  # ruamel CommentedMap (line numbers), or None for an empty file
    subchart: str | None = None  # the parent's key it nests under; None for the parent

    def line_of(self, path: Path_) -> int | None:
        """1-based line of the key at ``path`` (relative to this file), when known."""
        node, line = self.tree, None
        for key in path:
            if not isinstance(node, CommentedMap) or key not in node:
                return line
            position = node.lc.key(key)
            line = position[0] + 1 if position else line
            node = node[key]
        return line


@dataclass
class Chart:
    profile: ChartProfile
    parent: ValuesFile
    subcharts: dict[str, ValuesFile] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # parent + subcharts, merged

    def origin(self, path: Path_, user: ValuesFile | None = None) -> tuple[str, int | None]:
        """(file, line) of the value at ``path``: the user's values when they set it,
        else the parent's values when it sets the key, else the subchart's values."""
        if user is not None and lookup(user.data, path) is not _MISSING:
            return user.path, user.line_of(path)
        line = self.parent.line_of(path)
        if lookup(self.parent.data, path) is not _MISSING:
            return self.parent.path, line
        sub = self.subcharts.get(path[0])
        if sub is not None:
            return sub.path, sub.line_of(path[1:])
        return self.parent.path, line


def lookup(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def merge_values(base: Any, override: Any) -> Any:
    """Helm's coalescing: mappings merge key by key, anything else replaces, and a
    null in the override deletes the key."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool | int | float) or node is None:
        return node
    return str(node)


def read_values(path: str, subchart: str | None = None) -> ValuesFile:
    """A values file, or a KpatchError naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KpatchError("not UTF-8 text", file=path) from None
    except OSError as exc:
        raise KpatchError(f"cannot read: {exc.strerror}", file=path) from None
    return parse_values(text, path, subchart)


def parse_values(text: str, path: str, subchart: str | None = None) -> ValuesFile:
    tree = load_round_trip(text, path, "malformed values")
    if tree is None:
        return ValuesFile(path, {}, None, subchart)
    if not isinstance(tree, dict):
        raise KpatchError("malformed values: the top level must be a mapping, not "
                          f"{type(tree).__name__}", file=path, line=1)
    return ValuesFile(path, _plain(tree), tree, subchart)


def _chart_name(values_path: Path) -> tuple[str | None, dict[str, Any]]:
    """The chart a values file belongs to, from the Chart.yaml beside it."""
    chart_file = values_path.parent / CHART_FILE
    if not chart_file.is_file():
        return None, {}
    try:
        meta = yaml.safe_load(chart_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KpatchError(f"cannot read chart metadata: {exc}", file=str(chart_file)) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise KpatchError("Chart.yaml has no name", file=str(chart_file))
    return meta["name"], meta


def is_chart_values(path: str) -> bool:
    """True for a values file with a Chart.yaml beside it naming a chart kpatch knows."""
    values = Path(path)
    if not values.is_file() or values.suffix not in (".yaml", ".yml"):
        return False
    try:
        name, _ = _chart_name(values)
    except KpatchError:
        return False
    return name is not None and name in {p.chart for p in built_in_profiles()}


def _subchart_files(chart_dir: Path, meta: dict[str, Any], profile: ChartProfile,
                    given: set[str]) -> dict[str, str]:
    """Values files of local subcharts the parent's Chart.yaml depends on."""
    found: dict[str, str] = {}
    for dep in meta.get("dependencies") or []:
        if not isinstance(dep, dict):
            continue
        name = dep.get("name")
        sub = profile.subcharts.get(str(name))
        if sub is None or sub.remote or name in given:
            continue
        repository = str(dep.get("repository") or "")
        candidates = [chart_dir / "charts" / str(name) / "values.yaml"]
        if repository.startswith("file://"):
            candidates.insert(0, chart_dir / repository[len("file://"):] / "values.yaml")
        for candidate in candidates:
            if candidate.is_file():
                found[str(name)] = os.path.normpath(candidate)
                break
        else:
            archives = sorted((chart_dir / "charts").glob(f"{name}-*.tgz"))
            hint = f" (found {archives[0]}: unpack it with tar -xzf)" if archives else ""
            raise KpatchError(f"Chart.yaml depends on {name}, but its values.yaml is not at "
                              f"{candidates[0]}{hint}", file=str(chart_dir / CHART_FILE))
    return found


def load_chart(inputs: Sequence[str]) -> Chart:
    """The chart from CHART_VALUES arguments: ``FILE`` or ``SUBCHART=FILE``."""
    parent_path: str | None = None
    parent_meta: dict[str, Any] = {}
    chart_name: str | None = None
    sub_paths: dict[str, str] = {}
    known_subcharts = {k for p in built_in_profiles() for k in p.subcharts}
    for item in inputs:
        key, sep, rest = item.partition("=")
        if sep and key in known_subcharts:
            sub_paths[key] = rest
            continue
        path = Path(item)
        if not path.is_file():
            raise KpatchError("no such file", file=item)
        name, meta = _chart_name(path)
        stem = path.name.removesuffix(".yaml").removesuffix(".yml").removesuffix("-values")
        if name in known_subcharts:
            sub_paths[str(name)] = item
        elif name is None and stem in known_subcharts:
            sub_paths[stem] = item
        elif parent_path is None:
            parent_path, parent_meta, chart_name = item, meta, name
        else:
            raise KpatchError(f"two parent charts' values: {parent_path} and {item} (give "
                              "subchart values as SUBCHART=FILE)", file=item)
    if parent_path is None:
        raise KpatchError("no chart values given: pass the chart's values.yaml")
    profile = _profile_for(parent_path, chart_name)
    unknown = set(sub_paths) - set(profile.subcharts)
    if unknown:
        raise KpatchError(f"{', '.join(sorted(unknown))} is not a subchart of {profile.chart}")
    if parent_meta:
        sub_paths.update(_subchart_files(Path(parent_path).parent, parent_meta, profile,
                                         set(sub_paths)))
    parent = read_values(parent_path)
    chart = Chart(profile, parent)
    defaults: dict[str, Any] = {}
    for key in profile.subcharts:
        if key in sub_paths:
            sub = read_values(sub_paths[key], key)
            chart.subcharts[key] = sub
            defaults[key] = sub.data
    chart.defaults = merge_values(defaults, parent.data)
    check_layout(chart)
    return chart


def _profile_for(values_path: str, chart_name: str | None) -> ChartProfile:
    if chart_name is not None:
        try:
            return profile_for_chart(chart_name)
        except KpatchError as exc:
            raise exc.at(file=str(Path(values_path).parent / CHART_FILE)) from None
    # No Chart.yaml beside it: the layout check decides whether the profile fits.
    if len(BUILT_IN) != 1:  # pragma: no cover - one built-in chart profile today
        raise KpatchError("no Chart.yaml beside the values: cannot tell which chart",
                          file=values_path)
    return built_in_profiles()[0]


def looks_like_image_block(key: str, value: Any) -> bool:
    """A mapping the chart would read as image coordinates."""
    if not isinstance(value, dict):
        return False
    return key == "image" or key.endswith("Image") or "repository" in value


def image_blocks_in(data: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path in ``data`` that holds an image-like mapping, outermost first."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        path = (*prefix, str(key))
        if looks_like_image_block(str(key), value):
            yield path
        else:
            yield from image_blocks_in(value, path)


def check_layout(chart: Chart) -> None:
    """The values must hold every block the profile describes, and no image block
    it does not: kpatch would otherwise relocate a chart it does not understand."""
    profile = chart.profile
    for block in profile.blocks:
        if block.remote:
            continue
        sub = profile.subchart_of(block.path)
        if sub is not None and not sub.remote and sub.key not in chart.subcharts:
            raise KpatchError(
                f"no values for subchart {sub.key}: pass {sub.key}=FILE with its chart's "
                "values.yaml (or the parent's values.yaml with its Chart.yaml and charts/ "
                "beside it)", file=chart.parent.path)
        value = lookup(chart.defaults, block.path)
        if not isinstance(value, dict):
            file, line = chart.origin(block.path[:-1])
            what = "has no" if value is _MISSING else "has a non-mapping"
            raise KpatchError(
                f"unknown chart layout: {what} image block {block.name} (the "
                f"{profile.chart} chart profile expects one there; is this the "
                f"{profile.chart} chart's values.yaml?)", file=file, line=line)
        if block.map is not None and not isinstance(lookup(chart.defaults, block.map), dict):
            file, line = chart.origin(block.map)
            raise KpatchError(f"unknown chart layout: {dotted(block.map)} is not a mapping "
                              "of version to image", file=file, line=line)
    known = {b.path for b in profile.blocks}
    maps = {b.map for b in profile.blocks if b.map}
    for path in image_blocks_in(chart.defaults):
        sub = profile.subchart_of(path)
        if path in known or any(path[: len(m)] == m for m in maps) or (sub and sub.remote):
            continue
        file, line = chart.origin(path)
        raise KpatchError(
            f"unknown chart layout: image block {dotted(path)} is not in the {profile.chart} "
            "chart profile, so kpatch cannot tell how the chart builds its image",
            file=file, line=line)


# --- image strings, built the way the chart builds them -----------------------------


@dataclass
class ChartImage:
    block: ImageBlock
    image: str | None  # None: cannot be known from the inputs (see reason)
    reference: ImageReference | None
    pulled: bool  # the `when` conditions hold
    file: str
    line: int | None
    reason: str | None = None
    source: str = ""  # how the chart got the string (for reports)


def _truthy(value: Any) -> bool:
    """Go template truth: empty and zero values are false."""
    return value is not _MISSING and bool(value)


def flattened_image(block: Any, registry_default: str, tag_default: str,
                    name: str = "the block") -> str:
    """``k8ssandra-common.flattenedImage``: empty block -> ""; registry and tag default."""
    if not block:
        return ""
    repository = block.get("repository")
    if not repository:
        raise KpatchError(f"{name} has no repository (the chart's flattenedImage template "
                          "fails on that)")
    registry = block.get("registry") or registry_default
    tag = block.get("tag") or tag_default
    return f"{registry}/{repository}:{tag}"


def _version_text(values: dict[str, Any], path: Path_, where: tuple[str, int | None]) -> str:
    try:
        return _version_value(values, path)
    except KpatchError as exc:
        raise exc.at(file=where[0], line=where[1]) from None


def _version_value(values: dict[str, Any], path: Path_) -> str:
    value = lookup(values, path)
    if value is _MISSING or value is None or value == "":
        raise KpatchError(f"{dotted(path)} is not set")
    if not isinstance(value, str):
        raise KpatchError(f"{dotted(path)} is {value!r}, not a string: quote it "
                          f"({dotted(path)}: \"{value}\")")
    return value


def build_image(chart: Chart, block: ImageBlock, values: dict[str, Any],
                user: ValuesFile | None = None) -> tuple[str | None, str]:
    """(image string or None, how it was built) for one block under ``values``; errors
    about a version name the file and line that set it."""
    profile = chart.profile
    raw = lookup(values, block.path)
    coordinates = raw if isinstance(raw, dict) else {}
    if raw is not _MISSING and raw is not None and not isinstance(raw, dict):
        raise KpatchError(f"{block.name} must be a mapping of image coordinates, not "
                          f"{type(raw).__name__}")
    if block.build == "flattened":
        return flattened_image(coordinates, profile.registry_default,
                               profile.tag_default, block.name), "flattenedImage"
    if block.build in ("version-map", "computed"):
        written = flattened_image(coordinates, profile.registry_default, profile.tag_default,
                                  block.name)
        if written:
            return written, f"{block.name} (bypasses the version lookup)"
    if block.build == "version-map":
        assert block.map is not None and block.version is not None
        version = _version_text(values, block.version, chart.origin(block.version, user))
        table = lookup(values, block.map)
        if not isinstance(table, dict) or version not in table:
            known = ", ".join(map(str, table)) if isinstance(table, dict) else "none"
            file, line = chart.origin(block.version, user)
            raise KpatchError(f"{dotted(block.version)} {version!r} is not in "
                              f"{dotted(block.map)} (known: {known}); the chart refuses it too",
                              file=file, line=line)
        return str(table[version]), f"{dotted(block.map)}[{version}]"
    if block.build == "computed":
        assert block.version is not None and block.select is not None
        version = _version_text(values, block.version, chart.origin(block.version, user))
        selector = _version_text(values, block.select, chart.origin(block.select, user))
        for choice in block.choices:
            if choice.prefix is None or selector.startswith(choice.prefix):
                return (choice.image.format(version=version),
                        f"{dotted(block.version)} {version}, {dotted(block.select)} {selector}")
        raise AssertionError("profile check guarantees a fallback choice")
    # repository: registry inside `repository`, tag beside it (remote charts).
    repository = coordinates.get("repository") or block.default
    tag = coordinates.get("tag")
    if not repository:
        raise KpatchError(f"{block.name} has no repository")
    if not tag:
        return None, f"{block.remote} default"
    image = f"{repository}:{tag}"
    if coordinates.get("sha"):
        image += f"@sha256:{coordinates['sha']}"
    return image, "repository:tag"


def chart_images(chart: Chart, values: dict[str, Any],
                 user: ValuesFile | None = None) -> list[ChartImage]:
    """Every image block's image under ``values`` (the chart defaults merged with
    ``user``'s values), in profile order."""
    out = []
    for block in chart.profile.blocks:
        file, line = chart.origin(block.path, user)
        try:
            image, source = build_image(chart, block, values, user)
            reference = parse_reference(image) if image else None
        except KpatchError as exc:
            raise exc.at(file=file, line=line) from None
        pulled = all(_truthy(lookup(values, w)) for w in block.when)
        reason = None
        if image is None:
            repository = lookup(values, (*block.path, "repository"))
            if not isinstance(repository, str):
                repository = block.default
            reason = (f"the tag of {repository} is a default of {block.remote}, a remote "
                      f"dependency whose values are not in the input (give them as "
                      f"{block.path[0]}=FILE to kpatch values)")
        out.append(ChartImage(block, image or None, reference, pulled, file, line, reason,
                              source))
    return out
