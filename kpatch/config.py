"""``kpatch.yaml``: the one record of how each overlay of a GitOps repository is made.

Read with ruamel's round-trip loader so that every key keeps its line: a
validation error names the file, the line and the key (``overlays[1].output``).
The structure is checked against the JSON Schema shipped in
``kpatch/schema/kpatch.schema.json`` (also published as docs/kpatch.schema.json),
then what a schema cannot say (a registry that parses, unique overlay names) is
checked here. Pure apart from reading the file and finding it.

Settings at the top level apply to every overlay; an overlay's own setting
replaces the top-level one, except ``params`` (merged, the overlay's win) and
``exceptions`` (both lists apply).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kpatch.errors import KpatchError

CONFIG_NAME = "kpatch.yaml"
SCHEMA_RESOURCE = "schema/kpatch.schema.json"
# Settings an overlay may override; each maps to a `kpatch relocate` option or a policy.
SETTINGS = (
    "registry", "mappings", "flatten", "pullSecrets", "pullPolicy", "serviceAccounts",
    "params", "profiles", "profileFiles", "renderer", "allowedRegistries",
    "requirePullSecrets", "exceptions",
)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("kpatch").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True)
class ImageException:
    image: str  # normalized name prefix, no tag
    reason: str
    allow: frozenset[str]
    line: int | None

    def covers(self, name: str) -> bool:
        """Whether a normalized image name (no tag) falls under this exception."""
        return name == self.image or name.startswith(self.image + "/")


@dataclass(frozen=True)
class OverlayConfig:
    """One overlay with every setting resolved (top level, then its own)."""

    name: str
    base: str  # as written in kpatch.yaml, relative to its folder
    output: str
    root: Path  # the folder holding kpatch.yaml
    config_file: str  # kpatch.yaml as the user names it (for messages)
    line: int | None  # of the overlay's entry
    registry: str
    mappings: tuple[str, ...] = ()
    flatten: bool = False
    pull_secrets: tuple[str, ...] = ()
    pull_policy: str | None = None
    service_accounts: bool = False
    params: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    profile_files: tuple[str, ...] = ()
    renderer: str = "auto"
    allowed_registries: tuple[str, ...] = ()
    require_pull_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exceptions: tuple[ImageException, ...] = ()
    key_lines: dict[str, int] = field(default_factory=dict)  # setting -> line it came from

    # -- paths as the user's shell sees them ----------------------------------------

    def path(self, relative: str) -> str:
        """A path from kpatch.yaml, spelled relative to the working directory when
        it lies below it (messages and git stay short), else absolute."""
        full = os.path.normpath(self.root / relative)
        here = os.getcwd()
        inside = full == here or full.startswith(here.rstrip(os.sep) + os.sep)
        return os.path.relpath(full, here) if inside else full

    @property
    def base_path(self) -> str:
        return self.path(self.base)

    @property
    def output_path(self) -> str:
        return self.path(self.output)

    @property
    def command(self) -> str:
        """What generated files record in their ``# Command:`` header: kpatch.yaml
        holds the options, so the header points at it (and stays cwd-independent)."""
        return f"kpatch sync {self.name} (settings in {CONFIG_NAME})"

    def where(self, setting: str | None = None) -> tuple[str, int | None]:
        """(file, line) of a setting of this overlay, or of its entry."""
        line = self.key_lines.get(setting) if setting else None
        return self.config_file, line or self.line

    # -- the library's option objects ------------------------------------------------

    def relocation_mappings(self) -> tuple[str, ...]:
        """The mappings, plus one identity mapping per registry exception: an image
        under the target of a mapping stays where it is (kpatch.relocation rule 1)."""
        kept = tuple(f"{e.image}={e.image}" for e in self.exceptions if "registry" in e.allow)
        return (*self.mappings, *kept)

    def relocate_options(self) -> Any:
        from kpatch.relocate import RelocateOptions
        from kpatch.relocation import RelocationRules

        file, line = self.where("registry")
        try:
            rules = RelocationRules.parse(self.registry, self.relocation_mappings(),
                                          flatten=self.flatten)
        except KpatchError as exc:
            raise exc.at(file=file, line=line) from None
        return RelocateOptions(rules, pull_secrets=self.pull_secrets,
                               pull_policy=self.pull_policy,
                               service_accounts=self.service_accounts)

    def inventory_options(self) -> Any:
        from kpatch.inventory import InventoryOptions
        from kpatch.yamlio import LoadLimits

        return InventoryOptions(
            profiles=self.profiles,
            profile_files=tuple(self.path(p) for p in self.profile_files),
            params=dict(self.params),
            renderer=self.renderer,
            limits=LoadLimits.from_environment(),
        )

    def allowed(self) -> tuple[str, ...]:
        """Normalized registry prefixes images may come from."""
        from kpatch.relocation import PrefixMapping, normalize_name

        if self.allowed_registries:
            return tuple(normalize_name(r + "/") for r in self.allowed_registries)
        targets = [normalize_name(self.registry.rstrip("/") + "/")]
        targets += [PrefixMapping.parse(m).normalized_target for m in self.mappings]
        return tuple(dict.fromkeys(targets))

    def pull_secret_policy(self) -> dict[str, tuple[str, ...]]:
        """Normalized registry prefix -> the secret names a pod pulling from it needs."""
        from kpatch.relocation import normalize_name

        if self.require_pull_secrets:
            return {normalize_name(k + "/"): v for k, v in self.require_pull_secrets.items()}
        if self.pull_secrets:
            return {normalize_name(self.registry.rstrip("/") + "/"): self.pull_secrets}
        return {}

    def exception_for(self, name: str, what: str) -> ImageException | None:
        return next((e for e in self.exceptions if what in e.allow and e.covers(name)), None)


@dataclass
class Config:
    path: Path
    overlays: list[OverlayConfig]

    def select(self, names: tuple[str, ...] | list[str]) -> list[OverlayConfig]:
        """The overlays named (by name or output path), in kpatch.yaml's order;
        all of them when ``names`` is empty."""
        if not names:
            return list(self.overlays)
        wanted: dict[str, OverlayConfig] = {}
        for name in names:
            found = None
            for overlay in self.overlays:
                spelled = {overlay.name, overlay.output.rstrip("/"),
                           os.path.normpath(overlay.output_path)}
                if name.rstrip("/") in spelled or os.path.normpath(name) in spelled:
                    found = overlay
                    break
            if found is None:
                known = ", ".join(o.name for o in self.overlays)
                raise KpatchError(f"no overlay {name!r} in {CONFIG_NAME}; known: {known}",
                                  file=str(self.path))
            wanted[found.name] = found
        return [o for o in self.overlays if o.name in wanted]


# --- finding the file ---------------------------------------------------------------


def find_config(start: Path | None = None) -> Path:
    """kpatch.yaml in ``start`` or the nearest folder above it, as git finds .git."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise KpatchError(f"no {CONFIG_NAME} in {here} or any folder above it; create one "
                      "with `kpatch init`, or pass --config FILE")


def config_path(given: str | None) -> Path:
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise KpatchError("no such file", file=given)
        return path
    return find_config()


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path) if not path.is_absolute() or str(path).startswith(
            os.getcwd()) else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)


# --- reading and validating -----------------------------------------------------------


def _line_of(node: Any, key: str | int) -> int | None:
    """1-based line of ``node[key]`` in a ruamel round-trip tree."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        position = lc.key(key) if isinstance(key, str) else lc.item(key)
    except (KeyError, IndexError, TypeError):
        return None
    return int(position[0]) + 1


def _key_name(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _locate(tree: Any, path: list[str | int]) -> int | None:
    """Line of the deepest part of ``path`` found in the tree."""
    node, line = tree, 1
    for part in path:
        found = _line_of(node, part)
        if found is None:
            break
        line = found
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _value_at(data: Any, path: list[str | int]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _schema_errors(data: Any, tree: Any) -> list[tuple[int | None, str, str]]:
    """(line, key, message) for each schema violation, in file order."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    found: list[tuple[int | None, str, str]] = []
    for error in validator.iter_errors(data):
        path = list(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties") or {})
            extra = sorted(str(k) for k in error.instance if k not in allowed)
            if extra:
                path = [*path, extra[0]]
                known = ", ".join(sorted(allowed))
                message = f"unknown key (known keys: {known})"
        elif error.validator == "pattern" and isinstance(error.instance, str) \
                and isinstance(_value_at(data, path), dict) \
                and error.instance in _value_at(data, path):
            # propertyNames: the error is about a key of the mapping at ``path``.
            path = [*path, error.instance]
            message = f"key {error.instance!r} does not match {error.validator_value!r}"
        elif error.validator == "required":
            message = message.replace(" is a required property", " is required")
        elif error.validator == "const" and path == ["version"]:
            message = f"unsupported version {error.instance!r}; this kpatch reads version 1"
        found.append((_locate(tree, path), _key_name(path), message))
    found.sort(key=lambda item: (item[0] or 0, item[1]))
    return found


def parse_config_text(text: str, file: str) -> tuple[Any, Any]:
    """(plain data, round-trip tree) of kpatch.yaml text; YAML errors name the line."""
    from kpatch.yamledit import load_round_trip

    tree = load_round_trip(text, file)
    if tree is None:
        raise KpatchError(f"empty {CONFIG_NAME}: it needs at least `version: 1` and "
                          "`overlays:`", file=file)
    # Plain Python values for the schema validator (ruamel's are subclasses).
    data = json.loads(json.dumps(tree, default=str))
    return data, tree


def load_config(path: Path, text: str | None = None) -> Config:
    shown = _display(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise KpatchError("not UTF-8 text", file=shown) from None
        except OSError as exc:
            raise KpatchError(f"cannot read: {exc.strerror}", file=shown) from None
    data, tree = parse_config_text(text, shown)
    if not isinstance(data, dict):
        raise KpatchError(f"{CONFIG_NAME} must be a mapping of settings", file=shown, line=1)
    errors = _schema_errors(data, tree)
    if errors:
        line, key, message = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise KpatchError(f"{key}: {message}{more}", file=shown, line=line)
    root = path.resolve().parent
    overlays = [_overlay(data, tree, index, root, shown) for index in range(len(data["overlays"]))]
    _check_unique(overlays, shown)
    return Config(path, overlays)


def _exceptions(items: list[dict[str, Any]], node: Any, prefix: str,
                file: str) -> list[ImageException]:
    from kpatch.relocation import normalize_name

    out = []
    for index, item in enumerate(items):
        line = _line_of(node, index)
        image = str(item["image"])
        try:
            name = normalize_name(image)
        except KpatchError as exc:
            raise exc.at(file=file, line=line) from None
        if ":" in name.split("/")[-1] or "@" in name:
            raise KpatchError(f"{prefix}[{index}].image: {image!r}: give an image name or "
                              "prefix without tag or digest", file=file, line=line)
        allow = frozenset(item.get("allow") or ["registry"])
        out.append(ImageException(name, str(item["reason"]), allow, line))
    return out


def _overlay(data: dict[str, Any], tree: Any, index: int, root: Path,
             file: str) -> OverlayConfig:
    entry = data["overlays"][index]
    entry_node = tree["overlays"][index]
    where = f"overlays[{index}]"
    line = _line_of(tree["overlays"], index)
    merged: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    for key in SETTINGS:
        top_line = _line_of(tree, key)
        own_line = _line_of(entry_node, key)
        if key in data:
            merged[key] = data[key]
            if top_line:
                key_lines[key] = top_line
        if key in entry:
            if key == "params":
                merged[key] = {**merged.get(key, {}), **entry[key]}
            elif key == "exceptions":
                merged[key] = [*merged.get(key, []), *entry[key]]
            else:
                merged[key] = entry[key]
            if own_line:
                key_lines[key] = own_line
    if "registry" not in merged:
        raise KpatchError(f"{where}: no registry: set `registry:` at the top level or in "
                          "this overlay", file=file, line=line)
    exceptions: list[ImageException] = []
    if "exceptions" in data:
        exceptions += _exceptions(data["exceptions"], tree["exceptions"], "exceptions", file)
    if "exceptions" in entry:
        exceptions += _exceptions(entry["exceptions"], entry_node["exceptions"],
                                  f"{where}.exceptions", file)
    output = str(entry["output"])
    overlay = OverlayConfig(
        name=str(entry.get("name") or Path(output.rstrip("/")).name),
        base=str(entry["base"]),
        output=output,
        root=root,
        config_file=file,
        line=line,
        registry=str(merged["registry"]),
        mappings=tuple(merged.get("mappings", ())),
        flatten=bool(merged.get("flatten", False)),
        pull_secrets=tuple(merged.get("pullSecrets", ())),
        pull_policy=merged.get("pullPolicy"),
        service_accounts=bool(merged.get("serviceAccounts", False)),
        params={str(k): str(v) for k, v in merged.get("params", {}).items()},
        profiles=tuple(merged.get("profiles", ())),
        profile_files=tuple(merged.get("profileFiles", ())),
        renderer=str(merged.get("renderer", "auto")),
        allowed_registries=tuple(merged.get("allowedRegistries", ())),
        require_pull_secrets={str(k): tuple(v) for k, v in
                              merged.get("requirePullSecrets", {}).items()},
        exceptions=tuple(exceptions),
        key_lines=key_lines,
    )
    # What the schema cannot say: the registry and mappings parse.
    for key in ("mappings", "registry"):
        if key in merged:
            try:
                if key == "registry":
                    overlay.relocate_options()
                else:
                    from kpatch.relocation import PrefixMapping

                    for mapping in overlay.mappings:
                        PrefixMapping.parse(mapping)
            except KpatchError as exc:
                owner = where if key in entry else ""
                label = f"{owner}.{key}" if owner else key
                raise KpatchError(f"{label}: {exc.message}", file=file,
                                  line=key_lines.get(key, line)) from None
    for key in ("allowedRegistries", "requirePullSecrets"):
        if key in merged:
            try:
                overlay.allowed() if key == "allowedRegistries" else overlay.pull_secret_policy()
            except KpatchError as exc:
                raise KpatchError(f"{key}: {exc.message}", file=file,
                                  line=key_lines.get(key, line)) from None
    base = (root / overlay.base).resolve()
    out = (root / overlay.output).resolve()
    if out == base or base in out.parents:
        raise KpatchError(f"{where}.output: must be outside the base (kustomize would read "
                          "the overlay as part of its own base)", file=file,
                          line=_line_of(entry_node, "output") or line)
    return overlay


def _check_unique(overlays: list[OverlayConfig], file: str) -> None:
    names: dict[str, OverlayConfig] = {}
    outputs: dict[Path, OverlayConfig] = {}
    for index, overlay in enumerate(overlays):
        if overlay.name in names:
            raise KpatchError(f"overlays[{index}].name: {overlay.name!r} is used by an "
                              f"earlier overlay (line {names[overlay.name].line}); names must "
                              "be unique", file=file, line=overlay.line)
        names[overlay.name] = overlay
        out = (overlay.root / overlay.output).resolve()
        if out in outputs:
            raise KpatchError(f"overlays[{index}].output: {overlay.output!r} is the output "
                              f"of an earlier overlay (line {outputs[out].line})",
                              file=file, line=overlay.line)
        outputs[out] = overlay
