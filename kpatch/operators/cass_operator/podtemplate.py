"""The images of a CassandraDatacenter's pods, as cass-operator's
pkg/reconciliation/construct_podtemplatespec.go builds them at each release.

Pure functions of the datacenter's spec, the release's ``pod`` rules
(releases.yaml) and an image registry (the ImageConfig in use).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kpatch.model import NamedEntry, entry_image_tokens
from kpatch.operators.cass_operator.releases import CassOperatorError

CASSANDRA = "cassandra"  # CassandraContainerName
SYSTEM_LOGGER = "server-system-logger"  # SystemLoggerContainerName
SERVER_CONFIG_INIT = "server-config-init"  # ServerConfigContainerName
SERVER_BASE_CONFIG_INIT = "server-config-init-base"  # ServerBaseConfigContainerName
USE_CLIENT_BUILDER_ANNOTATION = "cassandra.datastax.com/use-new-config-builder"

Tokens = tuple[str | int, ...]


class ImageRegistry(Protocol):
    """pkg/images/interface.go@v1.27.0 (package functions before): what the pod needs."""

    def get_cassandra_image(self, server_type: str, version: str) -> str: ...
    def get_named_image(self, image_type: str) -> str: ...


@dataclass(frozen=True)
class PodImage:
    """One image a pod of the datacenter pulls."""

    component: str  # server | system-logger | config-builder | k8ssandra-client
    container: str  # the container (or init container) that pulls it
    image: str | None  # None: kpatch cannot know it (reason says why)
    origin: str  # "template" (podTemplateSpec), "spec" (a CR field), "imageconfig",
    # or "ignored" (written in the CR, but the operator does not use it)
    tokens: Tokens  # where it is written, or the CR field that would override it
    reason: str
    # No CR field overrides it: the podTemplateSpec entry that would (relocation adds it).
    entry: NamedEntry | None = None


_SEMVER = re.compile(
    r"^v(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$")


@functools.lru_cache(maxsize=1024)
def _semver_parts(version: str) -> tuple[tuple[int, int, int], tuple[str, ...] | None] | None:
    # Cached: every datacenter of an install compares the same few versions.
    match = _SEMVER.match(version)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    numbers = (int(major), int(minor or 0), int(patch or 0))
    return numbers, (tuple(pre.split(".")) if pre else None)


def semver_compare(a: str, b: str) -> int:
    """golang.org/x/mod/semver.Compare: an invalid version is less than any valid one."""
    pa, pb = _semver_parts(a), _semver_parts(b)
    if pa is None or pb is None:
        return 0 if pa is None and pb is None else (-1 if pa is None else 1)
    if pa[0] != pb[0]:
        return -1 if pa[0] < pb[0] else 1
    pre_a, pre_b = pa[1], pb[1]
    if pre_a is None or pre_b is None:
        return 0 if pre_a == pre_b else (1 if pre_a is None else -1)
    for x, y in zip(pre_a, pre_b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() or y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return 0 if len(pre_a) == len(pre_b) else (-1 if len(pre_a) < len(pre_b) else 1)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def use_client_image(spec: Mapping[str, Any], annotations: Mapping[str, Any],
                     rules: Mapping[str, Any]) -> bool:
    """(*CassandraDatacenter).UseClientImage, apis/cassandra/v1beta1/
    cassandradatacenter_types.go@v1.17.0 (+hcd v1.21.0, +annotation v1.22.3)."""
    mode = str(rules["clientImage"])
    if mode == "none":
        return False
    if "+annotation" in mode and annotations.get(USE_CLIENT_BUILDER_ANNOTATION) == "true":
        return True
    server_type = _text(spec.get("serverType"))
    if "+hcd" in mode and server_type == "hcd":
        return True
    version = _text(spec.get("serverVersion"))
    return server_type == "cassandra" and semver_compare(f"v{version}", "v4.1.0") >= 0


def read_only_fs(spec: Mapping[str, Any], rules: Mapping[str, Any]) -> bool:
    """(*CassandraDatacenter).ReadOnlyFs, cassandradatacenter_types.go@v1.22.3 (explicit
    only), @v1.24.0 (defaults by server type and version)."""
    mode = str(rules["readOnlyFs"])
    explicit = spec.get("readOnlyRootFilesystem")
    if mode == "none":
        return False
    if isinstance(explicit, bool):
        return explicit
    if mode == "explicit" or _text(spec.get("serverImage")):
        return False
    server_type, version = _text(spec.get("serverType")), _text(spec.get("serverVersion"))
    if server_type == "cassandra" and semver_compare(f"v{version}", "v4.1.0") >= 0:
        return True
    if server_type == "hcd":
        return True
    return server_type == "dse" and version.startswith(("6.8", "6.9"))


def template_container(spec: Mapping[str, Any], list_key: str,
                       name: str) -> tuple[int, str] | None:
    """(index, image) of the podTemplateSpec container ``name`` ("" when it sets no image)."""
    containers = _map(_map(spec.get("podTemplateSpec")).get("spec")).get(list_key)
    for index, container in enumerate(containers if isinstance(containers, list) else []):
        if _map(container).get("name") == name:
            return index, _text(_map(container).get("image"))
    return None


def _template_tokens(list_key: str, index: int) -> Tokens:
    return ("spec", "podTemplateSpec", "spec", list_key, index, "image")


def make_image(spec: Mapping[str, Any], registry: ImageRegistry) -> tuple[str, str]:
    """makeImage, construct_podtemplatespec.go:378@v1.10.0 (653@v1.32.0):
    (image, origin): ``spec.serverImage``, else GetCassandraImage(type, version)."""
    server_image = _text(spec.get("serverImage"))
    if server_image:
        return server_image, "spec"
    return registry.get_cassandra_image(_text(spec.get("serverType")),
                                        _text(spec.get("serverVersion"))), "imageconfig"


def _derived(component: str, container: str, tokens: Tokens, why: str,
             compute: Callable[[], tuple[str, str]],
             entry: NamedEntry | None = None) -> PodImage:
    try:
        image, origin = compute()
    except CassOperatorError as exc:
        return PodImage(component, container, None, "imageconfig", tokens,
                        f"{why}, but {exc.message}")
    if image == "":
        return PodImage(component, container, None, "imageconfig", tokens,
                        f"{why}, but the ImageConfig names no {component} image: the pod "
                        "spec is rejected (a container needs an image)")
    return PodImage(component, container, image, origin, tokens, why, entry)


# What buildInitContainers sets on server-config-init only when it picks the
# k8ssandra-client image itself (construct_podtemplatespec.go:398-401@v1.17.0,
# 450-453@v1.32.0): a template entry that sets the image must carry them too.
CLIENT_ARGS = ("config", "build")


def client_entry(spec: Mapping[str, Any]) -> tuple[NamedEntry, Tokens]:
    """The podTemplateSpec init container through which the k8ssandra-client image
    can be set (no CR field holds it), and where its image is or would be."""
    entry = NamedEntry(("spec", "podTemplateSpec", "spec", "initContainers"),
                       SERVER_CONFIG_INIT, fields=(("args", list(CLIENT_ARGS)),))
    return entry, entry_image_tokens({"spec": spec}, entry)


def _set_in_template(component: str, container: str, list_key: str,
                     found: tuple[int, str] | None, what: str) -> PodImage | None:
    """The image the podTemplateSpec entry ``container`` sets (it wins over the
    one cass-operator would pick), or None when the template sets none."""
    if found is None or not found[1]:
        return None
    return PodImage(component, container, found[1], "template",
                    _template_tokens(list_key, found[0]),
                    f"the podTemplateSpec's {what} sets its image")


def build_containers(spec: Mapping[str, Any], registry: ImageRegistry) -> list[PodImage]:
    """buildContainers, construct_podtemplatespec.go:387@v1.10.0 (673@v1.32.0): the
    ``cassandra`` container and the ``server-system-logger`` sidecar."""
    out: list[PodImage] = []
    cassandra = _set_in_template("server", CASSANDRA, "containers",
                                 template_container(spec, "containers", CASSANDRA),
                                 "cassandra container")
    if cassandra is not None:
        out.append(cassandra)
    else:
        out.append(_derived("server", CASSANDRA, ("spec", "serverImage"),
                            "container cassandra runs the server image",
                            lambda: make_image(spec, registry)))
    logger = template_container(spec, "containers", SYSTEM_LOGGER)
    logger_set = _set_in_template("system-logger", SYSTEM_LOGGER, "containers", logger,
                                  "server-system-logger container")
    if logger_set is not None:
        out.append(logger_set)
    elif logger is not None or not spec.get("disableSystemLoggerSidecar"):
        written = _text(spec.get("systemLoggerImage"))
        out.append(_derived(
            "system-logger", SYSTEM_LOGGER, ("spec", "systemLoggerImage"),
            "sidecar server-system-logger",
            lambda: (written, "spec") if written else
            (registry.get_named_image("system-logger"), "imageconfig")))
    return out


def build_init_containers(spec: Mapping[str, Any], annotations: Mapping[str, Any],
                          rules: Mapping[str, Any], registry: ImageRegistry) -> list[PodImage]:
    """buildInitContainers, construct_podtemplatespec.go:260@v1.10.0, 377@v1.17.0,
    425@v1.32.0: ``server-config-init`` (config-builder, or k8ssandra-client when
    UseClientImage) and ``server-config-init-base`` (the server image)."""
    out: list[PodImage] = []
    client = use_client_image(spec, annotations, rules)
    config_init = template_container(spec, "initContainers", SERVER_CONFIG_INIT)
    config_init_set = _set_in_template("k8ssandra-client" if client else "config-builder",
                                       SERVER_CONFIG_INIT, "initContainers", config_init,
                                       "server-config-init")
    if config_init_set is not None:
        out.append(config_init_set)
    elif client:
        ignored = _text(spec.get("configBuilderImage"))
        if ignored:
            out.append(PodImage("config-builder", SERVER_CONFIG_INIT, ignored, "ignored",
                                ("spec", "configBuilderImage"),
                                "spec.configBuilderImage is not read when the configuration "
                                "is built with k8ssandra-client (UseClientImage)"))
        entry, tokens = client_entry(spec)
        out.append(_derived(
            "k8ssandra-client", SERVER_CONFIG_INIT, tokens,
            "init container server-config-init builds the configuration with "
            "k8ssandra-client (UseClientImage)",
            lambda: (registry.get_named_image("k8ssandra-client"), "imageconfig"), entry))
    else:
        written = _text(spec.get("configBuilderImage"))
        out.append(_derived(
            "config-builder", SERVER_CONFIG_INIT, ("spec", "configBuilderImage"),
            "init container server-config-init runs the config builder",
            lambda: (written, "spec") if written else
            (registry.get_named_image("config-builder"), "imageconfig")))
    base_mode = str(rules["baseConfigInit"])
    if base_mode == "none":
        return out
    base = template_container(spec, "initContainers", SERVER_BASE_CONFIG_INIT)
    dse_read_only = (bool(rules["dseReadOnlyBaseConfigInit"]) and not client
                     and read_only_fs(spec, rules) and _text(spec.get("serverType")) == "dse")
    wanted = client or dse_read_only
    if base_mode == "when-no-server-config-init":
        # v1.17.0-v1.17.1: a new base container, added only with a new server-config-init.
        wanted = client and config_init is None
        base = None
    if not wanted:
        return out
    base_set = _set_in_template("server", SERVER_BASE_CONFIG_INIT, "initContainers", base,
                                "server-config-init-base")
    if base_set is not None:
        out.append(base_set)
    else:
        out.append(_derived("server", SERVER_BASE_CONFIG_INIT, ("spec", "serverImage"),
                            "init container server-config-init-base copies the server's "
                            "default configuration out of the server image",
                            lambda: make_image(spec, registry)))
    return out


def pod_images(spec: Mapping[str, Any], annotations: Mapping[str, Any],
               rules: Mapping[str, Any], registry: ImageRegistry) -> list[PodImage]:
    """buildPodTemplateSpec, construct_podtemplatespec.go@v1.10.0..v1.32.0: every image
    the operator sets in the pods it builds (the template's other containers and
    volumes are pulled as written and found by the profile's fields)."""
    return build_containers(spec, registry) + build_init_containers(
        spec, annotations, rules, registry)
