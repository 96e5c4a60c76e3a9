"""Operator profiles: where each operator keeps image references, as data.

A profile is one YAML file (format in docs/profiles.md). It names resource
kinds and, for each, the field paths that hold images and the *shape* of the
value there:

- ``string``: one reference in a string (a container ``image``);
- ``block``: a mapping whose keys hold the parts of a reference, in one of the
  block layouts the profile declares (``registry/repository/name/tag``...);
- ``embedded``: a string holding a whole YAML document (an ImageConfig in a
  ConfigMap key) that is located again with the same machinery;
- ``env``: env var items whose name matches a pattern and whose value is a
  reference.

Profiles may also switch on implicit-image rules (code in kpatch/operators/,
parameterised by the profile's ``data``) and declare ``params`` users set with
``--param PROFILE.NAME=VALUE``. Nothing in kpatch tests ``kind == ...``: the
knowledge is here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from kpatch.errors import KpatchError
from kpatch.yamlio import load_stream

SHAPES = ("string", "block", "embedded", "env")
BLOCK_PARTS = ("registry", "repository", "name", "tag", "digest")
BLOCK_SETTINGS = ("pullPolicy", "pullSecret")
PROFILE_FORMAT = "kpatch.dev/v1"
# Package data, installed as plain files (importlib.resources would cost a
# sixth of a one-file `kpatch images` in imports alone).
PACKAGE = Path(__file__).resolve().parent
# The value types below are NamedTuples: immutable like the frozen dataclasses
# they were, and about a sixth of their cost to define (7 classes defined on
# every run were a sixth of a one-file `kpatch images`; bench/startup.py).
NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})


class Segment(NamedTuple):
    """One step of a field path: a key, then optionally every item of a list."""

    key: str  # "*" = every key of a mapping
    each: bool = False

    def __str__(self) -> str:
        return self.key + ("[]" if self.each else "")


def parse_path(text: str) -> tuple[Segment, ...]:
    """``spec/template/spec/containers[]/image`` -> segments."""
    if not text or text.startswith("/") or text.endswith("/"):
        raise KpatchError(f"bad field path {text!r}: write it like spec/containers[]/image")
    segments = []
    for part in text.split("/"):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        if not key:
            raise KpatchError(f"bad field path {text!r}: empty step")
        segments.append(Segment(key.replace("~1", "/").replace("~0", "~"), each))
    return tuple(segments)


class KindMatch(NamedTuple):
    kind: str
    group: str | None = None  # None: any group; "" is the core group
    version: str | None = None  # None: any version

    def matches(self, api_version: str, kind: str) -> bool:
        if kind != self.kind:
            return False
        group, _, version = api_version.rpartition("/")
        if self.group is not None and group != self.group:
            return False
        return self.version is None or version == self.version


class BlockLayout(NamedTuple):
    """How a structured image block splits a reference into keys."""

    name: str
    parts: Mapping[str, str]  # part ("registry", "tag"...) -> key in the block
    pull_policy: str | None = None
    pull_secret: tuple[str, ...] | None = None  # key path to the secret name
    # Defaults the API server fills in when the block is present (CRD defaults).
    defaults: Mapping[str, str] = NO_ENTRIES


class FieldSpec(NamedTuple):
    profile: str
    kinds: tuple[KindMatch, ...]
    path: tuple[Segment, ...]
    shape: str
    block: BlockLayout | None = None
    env_name: re.Pattern[str] | None = None
    embedded_kinds: tuple[str, ...] = ()
    pull_policy_key: str | None = None  # sibling key of a string reference
    component: str | None = None
    # The operator's own default image for a partial block (filled in last).
    defaults: Mapping[str, str] = NO_ENTRIES
    # Defaults taken from elsewhere in the same document: part -> pointers, first wins.
    inherit: Mapping[str, tuple[tuple[str, ...], ...]] = NO_ENTRIES
    overrides: Mapping[str, tuple[str, ...]] = NO_ENTRIES
    note: str | None = None
    pulled: bool = True
    # For fields inside a pod spec: how many path tokens lead to the pod spec, and
    # the key of its pull-secret list (``imagePullSecrets``).
    pod_spec_depth: int | None = None
    pull_secrets_key: str | None = None

    @property
    def path_text(self) -> str:
        return "/".join(str(s) for s in self.path)


class PullSettings(NamedTuple):
    """Where a kind keeps resource-wide pull secrets and pull policy.

    ``secrets_style``: ``objects`` ([{name: x}]), ``object`` ({name: x}, one
    secret only) or ``names`` ([x]).
    """

    profile: str
    kinds: tuple[KindMatch, ...]
    secrets_path: tuple[str, ...] | None = None
    secrets_style: str = "objects"
    policy_path: tuple[str, ...] | None = None


class ImplicitRule(NamedTuple):
    rule: str
    profile: str
    kinds: tuple[KindMatch, ...]
    options: Mapping[str, Any]


class Profile(NamedTuple):
    name: str
    description: str
    source: str
    fields: tuple[FieldSpec, ...]
    implicit: tuple[ImplicitRule, ...]
    pull_settings: tuple[PullSettings, ...]
    params: Mapping[str, str]
    data: Mapping[str, Any]
    templates: Mapping[str, tuple[Mapping[str, Any], ...]]


# --- loading and validation -------------------------------------------------


class _Checker:
    """Validation helpers that name the profile file and the offending entry."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> KpatchError:
        return KpatchError(f"invalid profile: {where}: {message}", file=self.source)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "expected a non-empty string")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, "expected a string or a list of strings")
        return tuple(value)

    def known_keys(self, value: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(
                where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )


def _kinds(check: _Checker, value: Any, where: str) -> tuple[KindMatch, ...]:
    if value is None:
        raise check.fail(where, "required: the kinds ({kind, group, version}) it applies to")
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        entry = check.mapping(item, f"{where}[{i}]")
        check.known_keys(entry, ("kind", "group", "version"), f"{where}[{i}]")
        group, version = entry.get("group"), entry.get("version")
        for key, value in (("group", group), ("version", version)):
            if value is not None and not isinstance(value, str):
                raise check.fail(f"{where}[{i}].{key}", "expected a string")
        out.append(KindMatch(kind=check.string(entry.get("kind"), f"{where}[{i}].kind"),
                             group=group, version=version))
    if not out:
        raise check.fail(where, "names no kind")
    return tuple(out)


_FIELD_KEYS = (
    "match", "path", "shape", "block", "envName", "embeddedKinds", "pullPolicy",
    "component", "defaults", "inherit", "overrides", "note", "pulled", "template", "at",
)


def _parse_block(check: _Checker, name: str, raw: Any) -> BlockLayout:
    where = f"blocks.{name}"
    entry = check.mapping(raw, where)
    check.known_keys(entry, (*BLOCK_PARTS, *BLOCK_SETTINGS, "defaults"), where)
    parts = {p: check.string(entry[p], f"{where}.{p}") for p in BLOCK_PARTS if p in entry}
    if "repository" not in parts and "name" not in parts:
        raise check.fail(where, "a block needs a repository or a name key")
    defaults = check.mapping(entry.get("defaults", {}), f"{where}.defaults")
    for key, value in defaults.items():
        if key not in BLOCK_PARTS:
            raise check.fail(f"{where}.defaults.{key}", f"not a part ({', '.join(BLOCK_PARTS)})")
        check.string(value, f"{where}.defaults.{key}")
    secret = entry.get("pullSecret")
    return BlockLayout(
        name=name,
        parts=parts,
        pull_policy=entry.get("pullPolicy"),
        pull_secret=tuple(check.string(secret, f"{where}.pullSecret").split("/"))
        if secret else None,
        defaults=dict(defaults),
    )


def _parse_field(
    check: _Checker,
    profile: str,
    raw: Any,
    where: str,
    blocks: Mapping[str, BlockLayout],
    kinds: tuple[KindMatch, ...] | None = None,
    prefix: str = "",
    pull_secrets_key: str | None = None,
) -> FieldSpec:
    entry = check.mapping(raw, where)
    check.known_keys(entry, _FIELD_KEYS, where)
    if kinds is None:
        kinds = _kinds(check, entry.get("match"), f"{where}.match")
    path_text = check.string(entry.get("path"), f"{where}.path")
    try:
        path = parse_path(f"{prefix}/{path_text}" if prefix else path_text)
    except KpatchError as exc:
        raise check.fail(f"{where}.path", exc.message) from None
    shape = entry.get("shape", "string")
    if shape not in SHAPES:
        raise check.fail(f"{where}.shape", f"{shape!r} is not one of {', '.join(SHAPES)}")
    block = None
    if shape == "block":
        block_name = check.string(entry.get("block"), f"{where}.block")
        if block_name not in blocks:
            raise check.fail(f"{where}.block", f"no block layout named {block_name!r}")
        block = blocks[block_name]
    env_name = None
    if shape == "env":
        pattern = check.string(entry.get("envName"), f"{where}.envName")
        try:
            env_name = re.compile(pattern)
        except re.error as exc:
            raise check.fail(f"{where}.envName", f"bad regular expression: {exc}") from None
    embedded = check.strings(entry.get("embeddedKinds", []), f"{where}.embeddedKinds")
    if shape == "embedded" and not embedded:
        raise check.fail(f"{where}.embeddedKinds", "an embedded field must name the kinds inside")
    defaults = check.mapping(entry.get("defaults", {}), f"{where}.defaults")
    inherit_raw = check.mapping(entry.get("inherit", {}), f"{where}.inherit")
    inherit = {
        part: tuple(_pointer(check, p, f"{where}.inherit.{part}")
                    for p in check.strings(v, f"{where}.inherit.{part}"))
        for part, v in inherit_raw.items()
    }
    overrides_raw = check.mapping(entry.get("overrides", {}), f"{where}.overrides")
    overrides = {
        part: _pointer(check, check.string(v, f"{where}.overrides.{part}"),
                       f"{where}.overrides.{part}")
        for part, v in overrides_raw.items()
    }
    for part in (*defaults, *inherit, *overrides):
        if part not in BLOCK_PARTS:
            raise check.fail(where, f"{part!r} is not a reference part ({', '.join(BLOCK_PARTS)})")
    pulled = entry.get("pulled", True)
    if not isinstance(pulled, bool):
        raise check.fail(f"{where}.pulled", "expected true or false")
    return FieldSpec(
        profile=profile,
        kinds=kinds,
        path=path,
        shape=shape,
        block=block,
        env_name=env_name,
        embedded_kinds=embedded,
        pull_policy_key=entry.get("pullPolicy"),
        component=entry.get("component"),
        defaults={k: str(v) for k, v in defaults.items()},
        inherit=inherit,
        overrides=overrides,
        note=entry.get("note"),
        pulled=pulled,
        pod_spec_depth=_token_count(prefix) if pull_secrets_key else None,
        pull_secrets_key=pull_secrets_key,
    )


def _token_count(path: str) -> int:
    """How many JSON pointer tokens a field path stands for (``a[]/b`` -> 3)."""
    return sum(2 if segment.each else 1 for segment in parse_path(path))


def _pointer(check: _Checker, text: str, where: str) -> tuple[str, ...]:
    if not text.startswith("/"):
        raise check.fail(where, f"{text!r} must be a JSON pointer starting with /")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/"))


_TOP_KEYS = ("format", "profile", "description", "blocks", "templates", "fields",
             "implicit", "pullSettings", "params", "data")
SECRET_STYLES = ("objects", "object", "names")


def _parse_pull_settings(check: _Checker, profile: str, raw: Any) -> tuple[PullSettings, ...]:
    if not isinstance(raw, list):
        raise check.fail("pullSettings", "expected a list")
    out = []
    for i, item in enumerate(raw):
        where = f"pullSettings[{i}]"
        entry = check.mapping(item, where)
        check.known_keys(entry, ("match", "pullSecrets", "pullPolicy"), where)
        secrets_path, style, policy_path = None, "objects", None
        if "pullSecrets" in entry:
            secrets = check.mapping(entry["pullSecrets"], f"{where}.pullSecrets")
            check.known_keys(secrets, ("path", "style"), f"{where}.pullSecrets")
            secrets_path = tuple(check.string(secrets.get("path"), f"{where}.pullSecrets.path")
                                 .split("/"))
            style = secrets.get("style", "objects")
            if style not in SECRET_STYLES:
                raise check.fail(f"{where}.pullSecrets.style",
                                 f"{style!r} is not one of {', '.join(SECRET_STYLES)}")
        if "pullPolicy" in entry:
            policy = check.mapping(entry["pullPolicy"], f"{where}.pullPolicy")
            check.known_keys(policy, ("path",), f"{where}.pullPolicy")
            policy_path = tuple(check.string(policy.get("path"), f"{where}.pullPolicy.path")
                                .split("/"))
        out.append(PullSettings(profile, _kinds(check, entry.get("match"), f"{where}.match"),
                                secrets_path, style, policy_path))
    return tuple(out)


def parse_profile(raw: Any, source: str, shared_templates: Mapping[str, Any] | None = None,
                  shared_blocks: Mapping[str, BlockLayout] | None = None,
                  known_rules: Collection[str] | None = None) -> Profile:
    check = _Checker(source)
    top = check.mapping(raw, "top level")
    check.known_keys(top, _TOP_KEYS, "top level")
    if top.get("format") != PROFILE_FORMAT:
        raise check.fail("format", f"expected {PROFILE_FORMAT!r}, got {top.get('format')!r}")
    name = check.string(top.get("profile"), "profile")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise check.fail("profile", f"{name!r}: use lower case letters, digits and dashes")
    blocks = dict(shared_blocks or {})
    for block_name, block_raw in check.mapping(top.get("blocks", {}), "blocks").items():
        blocks[block_name] = _parse_block(check, block_name, block_raw)
    templates: dict[str, Any] = dict(shared_templates or {})
    own_templates = check.mapping(top.get("templates", {}), "templates")
    for template_name, items in own_templates.items():
        if not isinstance(items, list):
            raise check.fail(f"templates.{template_name}", "expected a list of fields")
        templates[template_name] = tuple(items)
    fields: list[FieldSpec] = []
    raw_fields = top.get("fields", [])
    if not isinstance(raw_fields, list):
        raise check.fail("fields", "expected a list")
    for i, raw_field in enumerate(raw_fields):
        where = f"fields[{i}]"
        entry = check.mapping(raw_field, where)
        if "template" in entry:
            # A template (e.g. the pod spec fields) applied under a path prefix.
            check.known_keys(entry, ("match", "template", "at", "pullSecrets"), where)
            template = check.string(entry["template"], f"{where}.template")
            if template not in templates:
                raise check.fail(f"{where}.template", f"no template named {template!r}")
            kinds = _kinds(check, entry.get("match"), f"{where}.match")
            at = check.string(entry.get("at"), f"{where}.at")
            secrets_key = entry.get("pullSecrets")
            if secrets_key is not None:
                check.string(secrets_key, f"{where}.pullSecrets")
            for j, item in enumerate(templates[template]):
                fields.append(_parse_field(check, name, item, f"templates.{template}[{j}]",
                                           blocks, kinds=kinds, prefix=at,
                                           pull_secrets_key=secrets_key))
        else:
            fields.append(_parse_field(check, name, entry, where, blocks))
    implicit: list[ImplicitRule] = []
    raw_implicit = top.get("implicit", [])
    if not isinstance(raw_implicit, list):
        raise check.fail("implicit", "expected a list")
    for i, item in enumerate(raw_implicit):
        where = f"implicit[{i}]"
        entry = check.mapping(item, where)
        rule = check.string(entry.get("rule"), f"{where}.rule")
        if known_rules is not None and rule not in known_rules:
            raise check.fail(f"{where}.rule",
                             f"unknown rule {rule!r}; known: {', '.join(sorted(known_rules))}")
        options = {k: v for k, v in entry.items() if k not in ("rule", "match")}
        implicit.append(ImplicitRule(rule, name, _kinds(check, entry.get("match"),
                                                         f"{where}.match"), options))
    params = check.mapping(top.get("params", {}), "params")
    pull_settings = _parse_pull_settings(check, name, top.get("pullSettings", []))
    return Profile(
        name=name,
        description=str(top.get("description", "")),
        source=source,
        fields=tuple(fields),
        implicit=tuple(implicit),
        pull_settings=pull_settings,
        params={k: str(v) for k, v in params.items()},
        data=check.mapping(top.get("data", {}), "data"),
        templates=templates,
    )


def _read_profile_file(text: str, source: str) -> Any:
    documents = load_stream(text, source)
    if len(documents) != 1:
        raise KpatchError("invalid profile: expected exactly one YAML document", file=source)
    return documents[0].data


# Operator folders holding a profile.yaml (kpatch/operators/<folder>/); kept
# here as names, so that reading profiles never imports the operators' code.
OPERATOR_FOLDERS = ("cass_operator", "k8ssandra_operator", "redis_enterprise")


def _builtin_files() -> list[tuple[str, Path]]:
    """(shown path, resource) of each built-in profile: the generic ones in
    kpatch/profiles/, then one per operator folder."""
    package = PACKAGE
    generic = sorted((p for p in (package / "profiles").iterdir() if p.name.endswith(".yaml")),
                     key=lambda p: p.name)
    out: list[tuple[str, Path]] = [(f"kpatch/profiles/{p.name}", p) for p in generic]
    for folder in OPERATOR_FOLDERS:
        out.append((f"kpatch/operators/{folder}/profile.yaml",
                    package / "operators" / folder / "profile.yaml"))
    return out


def _builtin_raw() -> list[tuple[str, Any]]:
    """Each built-in profile's parsed YAML, from the cache of earlier runs when its
    text is unchanged (kpatch.datacache); validated by the caller every time."""
    from kpatch.datacache import parse_files

    return parse_files(_builtin_files(), _read_profile_file)


def builtin_profile_names() -> list[str]:
    return sorted(str(top.get("profile")) for _, top in _builtin_raw() if isinstance(top, dict))


def _check_profiles(raw: list[tuple[str, Any]],
                    known_rules: Collection[str] | None) -> list[Profile]:
    """Validate parsed profile files and build their Profiles."""
    shared_templates: dict[str, Any] = {}
    shared_blocks: dict[str, BlockLayout] = {}
    for source, top in raw:
        if isinstance(top, dict):
            check = _Checker(source)
            for key, items in (top.get("templates") or {}).items():
                if isinstance(items, list):
                    shared_templates.setdefault(key, tuple(items))
            for key, block in (top.get("blocks") or {}).items():
                shared_blocks.setdefault(key, _parse_block(check, key, block))
    return [parse_profile(top, source, shared_templates, shared_blocks, known_rules)
            for source, top in raw]


# The built-in profiles, once checked, are kept between runs (kpatch.datacache)
# under a key holding everything they are built from: the files' full text, the
# code that parses and checks them (datacache.parser_key: this module's source
# among it) and the known rule names. Checking them took a tenth of what kpatch
# itself spends on a one-file `kpatch images`; tests/test_datacache.py checks that
# kept profiles equal freshly checked ones. A user's --profile-file is read and
# checked on every run.
CHECKED_BUILTINS = "builtin-profiles-checked"


def _checked_builtins(known_rules: Collection[str] | None) -> list[Profile]:
    from kpatch.datacache import load_derived, parser_key, store_derived

    texts = tuple((shown, path.read_text(encoding="utf-8")) for shown, path in _builtin_files())
    code = parser_key()
    key = None if code is None else (
        code, texts, None if known_rules is None else tuple(sorted(known_rules)))
    if key is not None:
        stored = load_derived(CHECKED_BUILTINS, key)
        if stored is not None:
            try:
                return [_thaw_profile(item) for item in stored]
            except (TypeError, ValueError, KeyError, IndexError, re.error):
                pass  # not what this code writes: check the files again
    profiles = _check_profiles(_builtin_raw(), known_rules)
    if key is not None:
        store_derived(CHECKED_BUILTINS, key, [_freeze_profile(p) for p in profiles])
    return profiles


# A Profile as plain data for marshal (which keeps tuples, lists and dicts apart
# but holds no NamedTuple or compiled pattern), and back. Parsed YAML (data,
# params, options, templates) is plain data already.
def _freeze_kinds(kinds: tuple[KindMatch, ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(kind) for kind in kinds)


def _thaw_kinds(kinds: tuple[tuple[Any, ...], ...]) -> tuple[KindMatch, ...]:
    return tuple(KindMatch(*kind) for kind in kinds)


def _freeze_field(spec: FieldSpec) -> tuple[Any, ...]:
    block = spec.block
    return (spec.profile, _freeze_kinds(spec.kinds), tuple(tuple(s) for s in spec.path),
            spec.shape, None if block is None else tuple(block),
            None if spec.env_name is None else (spec.env_name.pattern, spec.env_name.flags),
            *spec[6:])


def _thaw_field(item: tuple[Any, ...]) -> FieldSpec:
    return FieldSpec(item[0], _thaw_kinds(item[1]), tuple(Segment(*s) for s in item[2]),
                     item[3], None if item[4] is None else BlockLayout(*item[4]),
                     None if item[5] is None else re.compile(*item[5]), *item[6:])


def _freeze_profile(profile: Profile) -> tuple[Any, ...]:
    return (profile.name, profile.description, profile.source,
            tuple(_freeze_field(spec) for spec in profile.fields),
            tuple((r.rule, r.profile, _freeze_kinds(r.kinds), r.options)
                  for r in profile.implicit),
            tuple((s.profile, _freeze_kinds(s.kinds), *s[2:]) for s in profile.pull_settings),
            profile.params, profile.data, profile.templates)


def _thaw_profile(item: tuple[Any, ...]) -> Profile:
    return Profile(item[0], item[1], item[2], tuple(_thaw_field(spec) for spec in item[3]),
                   tuple(ImplicitRule(r[0], r[1], _thaw_kinds(r[2]), r[3]) for r in item[4]),
                   tuple(PullSettings(s[0], _thaw_kinds(s[1]), *s[2:]) for s in item[5]),
                   *item[6:])


def load_profiles(
    selected: Iterable[str] = (), extra_files: Iterable[str | Path] = (),
    known_rules: Collection[str] | None = None,
) -> list[Profile]:
    """Built-in profiles plus the user's files; ``selected`` narrows them by name.

    ``known_rules``: the implicit-rule names that exist (kpatch.operators.RULE_NAMES);
    a profile naming another is refused. None skips the check.

    Templates and block layouts declared by any built-in profile (the pod spec
    fields of ``core``) can be used by every profile, even when ``core`` itself is
    not selected.
    """
    extra = list(extra_files)
    if not extra:
        profiles = _checked_builtins(known_rules)
    else:
        raw = _builtin_raw()
        for path in extra:
            path = Path(path)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise KpatchError(f"cannot read profile: {exc.strerror}",
                                  file=str(path)) from None
            raw.append((str(path), _read_profile_file(text, str(path))))
        profiles = _check_profiles(raw, known_rules)
    names = [p.name for p in profiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise KpatchError(f"profile name used twice: {', '.join(duplicates)}")
    wanted = list(selected)
    if wanted:
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise KpatchError(
                f"unknown profile(s) {', '.join(unknown)}; available: {', '.join(names)}"
            )
        profiles = [p for p in profiles if p.name in wanted]
    return profiles
