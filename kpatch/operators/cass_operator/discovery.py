"""Which ImageConfig cass-operator reads, as its main.go decides at each release.

- v1.10.0 .. v1.26.1: the file named by ``imageConfigFile`` in the OperatorConfig
  given with ``--config`` (from v1.24.0 ``/configs/image_config.yaml`` when unset),
  found here by following the operator container's volume mounts to a ConfigMap key.
- v1.27.0 .. v1.28.1: first a ConfigMap labelled ``k8ssandra.io/config: image`` in
  the operator's namespace (key ``image_config.yaml``, v1beta2 only), else the file.
- v1.29.0 ..: only that ConfigMap.

With no ImageConfig the operator would read in the input, kpatch assumes the
one the release ships, and says so in every reason it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from kpatch.errors import KpatchError
from kpatch.implicit import OPERATOR_WORKLOAD_KINDS, RuleContext
from kpatch.model import ResourceId, pointer
from kpatch.operators.cass_operator.releases import (
    OPERATOR_REPOSITORIES,
    PARAM,
    PROFILE,
    CassOperatorError,
    ReleaseInUse,
    describe_gap,
    newest,
    release_for,
)
from kpatch.reference import parse_reference

if TYPE_CHECKING:
    from kpatch.locate import EmbeddedDocument
    from kpatch.yamlio import Document

CONFIG_LABEL = ("k8ssandra.io/config", "image")
CONFIG_KEY = "image_config.yaml"
V1BETA1 = "config.k8ssandra.io/v1beta1"
V1BETA2 = "config.k8ssandra.io/v1beta2"


@dataclass(frozen=True)
class ImageConfigChoice:
    """The ImageConfig cass-operator reads, and how kpatch knows it."""

    data: dict[str, Any]  # the document ({} when kpatch cannot know it)
    description: str  # for reasons: "the ImageConfig (v1beta2) in ConfigMap ns/x"
    level: str  # "imageconfig" (in the input), "default-imageconfig" (shipped), "unknown"
    embedded: EmbeddedDocument | None = None  # where it is in the input
    release: ReleaseInUse | None = None
    error: str | None = None  # the operator fails here, or kpatch cannot know the config
    notes: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))


@dataclass(frozen=True)
class OperatorWorkload:
    doc: Document
    rid: ResourceId
    pod: Mapping[str, Any]
    container: Mapping[str, Any]
    image: str


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pod_specs(data: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    spec = _map(data.get("spec"))
    if kind == "Pod":
        return [spec]
    if kind == "ClusterServiceVersion":  # OLM: spec.install.spec.deployments[].spec
        deployments = _map(_map(spec.get("install")).get("spec")).get("deployments")
        return [_map(_map(_map(_map(d).get("spec")).get("template")).get("spec"))
                for d in _list(deployments)]
    return [_map(_map(spec.get("template")).get("spec"))]


def find_operator(ctx: RuleContext) -> OperatorWorkload | None:
    """The workload running a k8ssandra/cass-operator image (once per install)."""
    key = ("cass-operator", "workload")
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    found: OperatorWorkload | None = None
    for doc, rid in ctx.resources:
        if rid.kind not in OPERATOR_WORKLOAD_KINDS or found is not None:
            continue
        for pod in _pod_specs(doc.data, rid.kind):
            for container in _list(pod.get("containers")):
                image = _map(container).get("image")
                if not isinstance(image, str) or found is not None:
                    continue
                try:
                    repository = parse_reference(image).repository
                except KpatchError:  # a broken reference is reported by the inventory
                    continue
                if any(repository == r or repository.endswith("/" + r)
                       for r in OPERATOR_REPOSITORIES):
                    found = OperatorWorkload(doc, rid, pod, _map(container), image)
    ctx.memo[key] = found
    return found


def release_in_use(ctx: RuleContext,
                   fallback: tuple[str, str] | None = None) -> ReleaseInUse:
    """The release whose rules apply: ``--param cass-operator.operatorVersion``, else
    the tag of the operator image in the input, else ``fallback`` (version, how it
    is known: another operator that installs this release), else the newest known
    (said once). One answer per install: the first caller's fallback wins."""
    key = ("cass-operator", "release")
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    found = ctx.operator_release(PROFILE, OPERATOR_REPOSITORIES, PARAM)
    if found is None and fallback is not None:
        release = release_for(fallback[0], fallback[1])
        gap = describe_gap(release)
        if gap is not None:
            ctx.warn(gap)
    elif found is None:
        release = newest()
        ctx.warn(f"cass-operator release unknown (no {OPERATOR_REPOSITORIES[0]} image in the "
                 f"input): assuming {release.version}, the newest kpatch knows; pass "
                 f"--param {PROFILE}.{PARAM}=vX.Y.Z to name it")
        release = ReleaseInUse(release.version, release.row,
                               "assumed: the newest release kpatch knows", True)
    else:
        release = release_for(found.version, found.source)
        gap = describe_gap(release)
        if gap is not None:
            ctx.warn(gap)
    ctx.memo[key] = release
    # Relocation writes a repository where a v1beta1 ImageConfig leaves a server
    # type to the operator's built-in: the built-ins of this release.
    v1beta1 = release.row.get("v1beta1") or {}
    ctx.hints.setdefault(PROFILE, {})["builtinRepositories"] = dict(
        v1beta1.get("builtinRepositories") or {})
    return release


def _config_maps(ctx: RuleContext) -> dict[tuple[str | None, str], tuple[Document, ResourceId]]:
    key = ("cass-operator", "configmaps")
    if key not in ctx.memo:
        index: dict[tuple[str | None, str], tuple[Document, ResourceId]] = {}
        for doc, rid in ctx.resources:
            if rid.kind == "ConfigMap" and rid.api_version == "v1" and rid.name:
                index.setdefault((rid.namespace, rid.name), (doc, rid))
        ctx.memo[key] = index
    return ctx.memo[key]  # type: ignore[no-any-return]


def _embedded_at(ctx: RuleContext, rid: ResourceId, data_key: str) -> EmbeddedDocument | None:
    key = ("cass-operator", "embedded")
    if key not in ctx.memo:
        ctx.memo[key] = {(e.resource, e.tokens): e for e in ctx.embedded}
    found = ctx.memo[key].get((rid, ("data", data_key)))
    return found  # type: ignore[no-any-return]


def _same_namespace(a: str | None, b: str | None) -> bool:
    """Namespaces match; a resource without one takes the namespace it is applied to."""
    return a is None or b is None or a == b


def _config_map(ctx: RuleContext, namespace: str | None,
                name: str) -> tuple[Document, ResourceId] | None:
    index = _config_maps(ctx)
    if (namespace, name) in index:
        return index[(namespace, name)]
    for (ns, cm_name), found in index.items():
        if cm_name == name and _same_namespace(ns, namespace):
            return found
    return None


def _choice(embedded: EmbeddedDocument, release: ReleaseInUse, how: str) -> ImageConfigChoice:
    version = embedded.api_version.rpartition("/")[2]
    return ImageConfigChoice(
        dict(embedded.document.data), f"the ImageConfig ({version}) in {embedded.resource}",
        "imageconfig", embedded, release, notes=(how,))


def new_image_registry_from_config_map(
    ctx: RuleContext, namespace: str | None, release: ReleaseInUse,
) -> ImageConfigChoice | None:
    """NewImageRegistryFromConfigMap, pkg/images/images_v1beta2.go:24@v1.27.0: ConfigMaps
    labelled k8ssandra.io/config=image in the operator's namespace, in the API's list
    order (by name); the first with a non-empty image_config.yaml, decoded as v1beta2.
    None when there is no such ConfigMap (v1.27-v1.28 then read the file)."""
    labelled = []
    for (ns, name), (doc, rid) in sorted(_config_maps(ctx).items(),
                                         key=lambda item: (item[0][0] or "", item[0][1])):
        labels = _map(_map(doc.data.get("metadata")).get("labels"))
        if labels.get(CONFIG_LABEL[0]) == CONFIG_LABEL[1] and _same_namespace(ns, namespace):
            labelled.append((name, doc, rid))
    if not labelled:
        return None
    for _name, doc, rid in sorted(labelled, key=lambda item: item[0]):
        text = _map(doc.data.get("data")).get(CONFIG_KEY)
        if not isinstance(text, str) or text == "":
            continue
        embedded = _embedded_at(ctx, rid, CONFIG_KEY)
        if embedded is None or embedded.api_version != V1BETA2 or \
                embedded.kind != "ImageConfig":
            raise CassOperatorError(
                f"cass-operator {release.version} cannot parse {rid} key {CONFIG_KEY}: it "
                f"decodes only an ImageConfig {V1BETA2} there (images_v1beta2.go "
                "NewImageRegistryV2)")
        return _choice(embedded, release,
                       f"labelled {CONFIG_LABEL[0]}={CONFIG_LABEL[1]} in the operator's namespace")
    raise CassOperatorError(
        f"cass-operator {release.version} stops: no ConfigMap with label "
        f"{CONFIG_LABEL[0]}={CONFIG_LABEL[1]} and key {CONFIG_KEY} found")


def config_flag(container: Mapping[str, Any]) -> str | None:
    """The value of ``--config`` (Go flag syntax: -config/--config, =VALUE or VALUE)."""
    words = [w for w in _list(container.get("command")) + _list(container.get("args"))
             if isinstance(w, str)]
    for i, word in enumerate(words):
        for prefix in ("--config", "-config"):
            if word.startswith(prefix + "="):
                return word[len(prefix) + 1:]
            if word == prefix and i + 1 < len(words):
                return words[i + 1]
    return None


def mounted_config_map_key(operator: OperatorWorkload, path: str) -> tuple[str, str] | str:
    """(ConfigMap name, key) whose content the operator container sees at ``path``,
    or why it is not a ConfigMap key kpatch can follow."""
    best: tuple[int, Mapping[str, Any], str] | None = None
    for mount in _list(operator.container.get("volumeMounts")):
        mount = _map(mount)
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        sub_path = mount.get("subPath")
        if isinstance(sub_path, str) and sub_path:
            if path == mount_path:
                best = (len(mount_path) + 1, mount, sub_path)
            continue
        if path.startswith(mount_path + "/") and (best is None or len(mount_path) > best[0]):
            best = (len(mount_path), mount, path[len(mount_path) + 1:])
    if best is None:
        return f"no volume of the operator container is mounted at {path}"
    _, mount, relative = best
    volume = next((_map(v) for v in _list(operator.pod.get("volumes"))
                   if _map(v).get("name") == mount.get("name")), None)
    if volume is None:
        return (f"the volume {mount.get('name')!r} mounted at {mount.get('mountPath')} is "
                "not defined")
    config_map = volume.get("configMap")
    if not isinstance(config_map, Mapping) or not isinstance(config_map.get("name"), str):
        return f"{path} is in volume {mount.get('name')!r}, which is not a ConfigMap volume"
    items = config_map.get("items")
    if isinstance(items, list):
        for item in items:
            if _map(item).get("path") == relative and isinstance(_map(item).get("key"), str):
                return str(config_map["name"]), str(_map(item)["key"])
        return f"ConfigMap volume {config_map['name']!r} projects no item at {relative}"
    if "/" in relative:
        return f"{path} is not a key of ConfigMap {config_map['name']!r}"
    return str(config_map["name"]), relative


def _mounted_config_map(
    ctx: RuleContext, operator: OperatorWorkload, path: str,
) -> tuple[str, str, tuple[Document, ResourceId]] | str:
    """(ConfigMap name, key, the ConfigMap) mounted at ``path`` in the operator
    container, or why kpatch cannot follow the mount in the input."""
    where = mounted_config_map_key(operator, path)
    if isinstance(where, str):
        return where
    name, key = where
    found = _config_map(ctx, operator.rid.namespace, name)
    if found is None:
        return f"ConfigMap {name!r} (mounted for {path}) is not in the input"
    return name, key, found


def read_oper_config(ctx: RuleContext, operator: OperatorWorkload,
                     path: str) -> Mapping[str, Any] | str:
    """readOperConfig, cmd/main.go:397@v1.27.0 (controller-runtime's ConfigFile before
    v1.24.0): the OperatorConfig document, or why kpatch cannot read it."""
    where = _mounted_config_map(ctx, operator, path)
    if isinstance(where, str):
        return where
    name, key, found = where
    text = _map(found[0].data.get("data")).get(key)
    if not isinstance(text, str):
        return f"ConfigMap {name!r} has no key {key!r} (mounted at {path})"
    try:
        # libyaml's loader: the same YAML 1.1 safe types, without the pure-Python parser.
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        raise CassOperatorError(f"cass-operator cannot decode its --config file {path} "
                                f"(ConfigMap {name!r} key {key!r})") from None
    return _map(document)


def parse_image_config(ctx: RuleContext, operator: OperatorWorkload, path: str,
                       release: ReleaseInUse) -> ImageConfigChoice | str:
    """ParseImageConfig / NewImageRegistry(file), pkg/images/images.go:36@v1.10.0:
    the v1beta1 ImageConfig in the mounted file, or why kpatch cannot follow it."""
    where = _mounted_config_map(ctx, operator, path)
    if isinstance(where, str):
        return where
    name, key, found = where
    embedded = _embedded_at(ctx, found[1], key)
    if embedded is None:
        raise CassOperatorError(f"cass-operator {release.version} stops: {path} (ConfigMap "
                                f"{name!r} key {key!r}) holds no ImageConfig")
    if embedded.api_version != V1BETA1:
        raise CassOperatorError(
            f"cass-operator {release.version} stops: {path} holds an ImageConfig "
            f"{embedded.api_version}, and the file is decoded as {V1BETA1} only")
    return _choice(embedded, release, f"the file {path} named by the operator's --config")


class _CannotFollow(Exception):
    """The input does not hold what the operator would read (it may be applied apart)."""


def _config_file_path(ctx: RuleContext, operator: OperatorWorkload,
                      release: ReleaseInUse) -> str | None:
    """The image config file main.go reads (None: none is read at all)."""
    rules = release.row["imageConfigDiscovery"]["configFile"]
    flag = config_flag(operator.container)
    oper_config: Mapping[str, Any] = {}
    if flag:
        read = read_oper_config(ctx, operator, flag)
        if isinstance(read, str):
            raise _CannotFollow(f"kpatch cannot follow the operator's --config={flag}: {read}")
        oper_config = read
    configured = oper_config.get("imageConfigFile")
    if isinstance(configured, str) and configured:
        return configured
    return rules["default"]  # type: ignore[no-any-return]


def _place(embedded: EmbeddedDocument) -> str:
    return f"{embedded.resource} {pointer(embedded.tokens)}"


def _unread_configs(ctx: RuleContext, chosen: EmbeddedDocument | None) -> list[str]:
    return [_place(e) for e in ctx.embedded if e.kind == "ImageConfig" and e is not chosen]


def _shipped(release: ReleaseInUse, why: str) -> ImageConfigChoice:
    """The ImageConfig the release ships: config/imageconfig (v1.27+), else config/manager."""
    shipped = release.row["shippedImageConfig"]
    version = "v1beta2" if "v1beta2" in shipped else "v1beta1"
    if not release.shipped_known or version not in shipped:
        return ImageConfigChoice(
            {}, "no ImageConfig kpatch can know", "unknown", release=release,
            error=(f"{why}, and the ImageConfig cass-operator {release.version} ships is not "
                   f"in kpatch's release table: put the operator's ImageConfig in the input "
                   f"or pass --param {PROFILE}.{PARAM}=<a release kpatch knows>"))
    return ImageConfigChoice(
        dict(shipped[version]),
        f"the ImageConfig ({version}) cass-operator {release.row['version']} ships "
        f"(assumed: {why})", "default-imageconfig", release=release, notes=(why,))


def setup_image_registry(ctx: RuleContext,
                         fallback: tuple[str, str] | None = None) -> ImageConfigChoice:
    """setupImageRegistry, cmd/main.go:366@v1.27.0 (the image config part of main()
    before): the ImageConfig this install's operator reads. Once per install."""
    key = ("cass-operator", "image-config")
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    release = release_in_use(ctx, fallback)
    try:
        choice = _setup_image_registry(ctx, release)
    except CassOperatorError as exc:
        choice = ImageConfigChoice({}, "no ImageConfig", "unknown", release=release,
                                   error=exc.message)
    unread = _unread_configs(ctx, choice.embedded)
    if unread and choice.embedded is not None:
        ctx.warn(f"cass-operator {release.version} reads the ImageConfig in "
                 f"{_place(choice.embedded)} ({'; '.join(choice.notes)}); it does not read "
                 f"the ImageConfig in {', '.join(unread)}")
    elif unread:
        ctx.warn(f"cass-operator {release.version} does not read the ImageConfig in "
                 f"{', '.join(unread)}: {_where_read(release)}"
                 + "".join(f"; {note}" for note in choice.notes))
    ctx.memo[key] = choice
    return choice


def _where_read(release: ReleaseInUse) -> str:
    discovery = release.row["imageConfigDiscovery"]
    places = []
    if discovery["labelledConfigMap"] != "none":
        places.append(f"a ConfigMap labelled {CONFIG_LABEL[0]}={CONFIG_LABEL[1]} in its own "
                      f"namespace, key {CONFIG_KEY} ({V1BETA2})")
    if discovery["configFile"] is not None:
        places.append(f"the file named by imageConfigFile in its --config file ({V1BETA1})")
    return "it reads " + " or else ".join(places)


def _setup_image_registry(ctx: RuleContext, release: ReleaseInUse) -> ImageConfigChoice:
    discovery = release.row["imageConfigDiscovery"]
    operator = find_operator(ctx)
    namespace = operator.rid.namespace if operator is not None else None
    if discovery["labelledConfigMap"] != "none":
        found = new_image_registry_from_config_map(ctx, namespace, release)
        if found is not None:
            return found
        if discovery["configFile"] is None:
            where = (f"namespace {namespace}" if namespace else "the input")
            return _shipped(release, f"no ConfigMap labelled {CONFIG_LABEL[0]}="
                                     f"{CONFIG_LABEL[1]} in {where}")
    if operator is None:
        # The operator is not in the input: an ImageConfig v1beta1 held in a
        # ConfigMap is the file it is given (assumed mounted), first by name.
        candidates = sorted(
            (e for e in ctx.embedded if e.kind == "ImageConfig" and e.api_version == V1BETA1),
            key=lambda e: (e.resource.namespace or "", e.resource.name or "", e.tokens))
        if candidates:
            return _choice(candidates[0], release,
                           "assumed mounted into the operator, which is not in the input")
        return _shipped(release, "no ImageConfig in the input")
    try:
        path = _config_file_path(ctx, operator, release)
    except _CannotFollow as exc:
        return _shipped(release, str(exc))
    if path is None:
        raise CassOperatorError(
            f"cass-operator {release.version} in {operator.rid} reads no ImageConfig (no "
            "--config flag, or no imageConfigFile in it): it cannot build pods")
    parsed = parse_image_config(ctx, operator, path, release)
    if isinstance(parsed, str):
        return _shipped(release, f"{parsed}")
    return parsed
