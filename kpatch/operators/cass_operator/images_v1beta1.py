"""ImageConfig v1beta1: one function per function of cass-operator's pkg/images/images.go.

``config`` is the decoded ImageConfig document; ``rules`` is the ``v1beta1``
part of the release's row in releases.yaml (what differs between releases:
the registry key, per-type registries, imageNamespace, built-in repositories,
version checks). Go's zero values are mirrored: an absent string is "".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kpatch.operators.cass_operator.releases import CassOperatorError, decoded_string


def _map(node: Any, key: str) -> Mapping[str, Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def image_registry(config: Mapping[str, Any], rules: Mapping[str, Any]) -> str:
    """The top-level registry override; its key is ``imageRegistryOverride`` at
    v1.10.0 and ``imageRegistry`` after (apis/config/v1beta1/imageconfig_types.go)."""
    return decoded_string(config, str(rules["registryKey"]), "")


def image_namespace(config: Mapping[str, Any], rules: Mapping[str, Any]) -> str | None:
    """Top-level ``imageNamespace`` (a pointer: None when absent or null), v1.23.0+."""
    if not rules["imageNamespace"] or config.get("imageNamespace") is None:
        return None
    return decoded_string(config, "imageNamespace", "")


def strip_registry(image: str, rules: Mapping[str, Any]) -> str:
    """stripRegistry, pkg/images/images.go@v1.10.0 (to v1.22.4).

    At v1.10.0..v1.10.5, v1.11.0 and v1.12.0 the test reads
    ``len>1 && has(".") || has(":")``: a one-part ``name:tag`` is stripped to "".
    """
    comps = image.split("/")
    has_registry = "." in comps[0] or ":" in comps[0]
    if rules["stripRegistryPrecedenceBug"]:
        strip = (len(comps) > 1 and "." in comps[0]) or ":" in comps[0]
    else:
        strip = len(comps) > 1 and has_registry
    return "/".join(comps[1:]) if strip else image


def apply_default_registry_override_v1(config: Mapping[str, Any], rules: Mapping[str, Any],
                                       image: str) -> str:
    """applyDefaultRegistryOverride(image) / ApplyRegistry, pkg/images/images.go@v1.10.0
    (to v1.22.4): the top-level registry replaces the image's registry."""
    custom = image_registry(config, rules).removesuffix("/")
    if custom == "":
        return image
    return f"{custom}/{strip_registry(image, rules)}"


def split_registry(image: str) -> tuple[str, str]:
    """splitRegistry, pkg/images/images.go:81@v1.23.0 (72@v1.32.0)."""
    comps = image.split("/")
    if len(comps) > 1 and ("." in comps[0] or ":" in comps[0]):
        return comps[0], "/".join(comps[1:])
    return "", image


def apply_namespace_override(config: Mapping[str, Any], rules: Mapping[str, Any],
                             image_no_registry: str) -> str:
    """applyNamespaceOverride, pkg/images/images.go:92@v1.23.0: only the top-level
    imageNamespace is read; a one-part path is left alone."""
    namespace = image_namespace(config, rules)
    if namespace is None:
        return image_no_registry
    comps = image_no_registry.split("/")
    if len(comps) > 1:
        no_namespace = "/".join(comps[1:])
        return no_namespace if namespace == "" else f"{namespace}/{no_namespace}"
    return image_no_registry


def apply_default_registry_override(custom_registry: str, image_no_registry: str) -> str:
    """applyDefaultRegistryOverride(customRegistry, image), pkg/images/images.go:112@v1.23.0."""
    if custom_registry == "":
        return image_no_registry
    return f"{custom_registry}/{image_no_registry}"


def get_registry_override(config: Mapping[str, Any], rules: Mapping[str, Any],
                          image_type: str) -> str:
    """getRegistryOverride, pkg/images/images.go:119@v1.23.0: ``defaults.<imageType>.
    imageRegistry`` for ANY image type (system-logger too), else the top-level one."""
    component = _map(_map(config, "defaults"), image_type)
    custom = decoded_string(component, "imageRegistry", f"defaults.{image_type}.")
    return custom or image_registry(config, rules)


def apply_overrides(config: Mapping[str, Any], rules: Mapping[str, Any], image_type: str,
                    image: str) -> str:
    """applyOverrides, pkg/images/images.go:137@v1.23.0 (128@v1.32.0); before v1.23.0
    the releases call ApplyRegistry (apply_default_registry_override_v1)."""
    if not rules["perTypeRegistry"]:
        return apply_default_registry_override_v1(config, rules, image)
    override = get_registry_override(config, rules, image_type).removesuffix("/")
    registry, image_no_registry = split_registry(image)
    namespace = image_namespace(config, rules)
    if override == "" and namespace is None:
        return image
    if namespace is not None:
        image_no_registry = apply_namespace_override(config, rules, image_no_registry)
    if override != "":
        return apply_default_registry_override(override, image_no_registry)
    return apply_default_registry_override(registry, image_no_registry)


def get_cassandra_container_image_override(config: Mapping[str, Any], rules: Mapping[str, Any],
                                           server_type: str, version: str) -> str | None:
    """getCassandraContainerImageOverride, pkg/images/images.go:98@v1.10.0: the
    ``images.<type>`` version map (hcd read from v1.23.0)."""
    images = config.get("images")
    if not isinstance(images, Mapping) or server_type not in rules["versionMaps"]:
        return None
    versions = _map(images, server_type)
    if version in versions:
        return decoded_string(versions, version, f"images.{server_type}.")
    return None


def get_image_components(config: Mapping[str, Any], rules: Mapping[str, Any],
                         server_type: str) -> tuple[str, str]:
    """getImageComponents, pkg/images/images.go:116@v1.10.0 (176@v1.32.0):
    ``defaults.<type>.repository`` with its suffix, else the built-in repository
    and no suffix. hcd has no built-in (DefaultHCDRepository is never used)."""
    default_prefix = str(rules["builtinRepositories"].get(server_type, ""))
    defaults = config.get("defaults")
    if isinstance(defaults, Mapping) and server_type in ("cassandra", "dse", "hcd"):
        component = _map(defaults, server_type)
        repository = decoded_string(component, "repository", f"defaults.{server_type}.")
        if repository != "":
            return repository, decoded_string(component, "suffix", f"defaults.{server_type}.")
    return default_prefix, ""


def is_version_supported(rules: Mapping[str, Any], server_type: str, version: str) -> bool:
    """IsDseVersionSupported / IsOssVersionSupported / IsHCDVersionSupported,
    pkg/images/images.go@v1.10.0..v1.29.1: an unanchored match, as Go's MatchString."""
    patterns = rules["versionPatterns"]
    if not patterns:
        return True
    pattern = patterns.get(server_type)
    return pattern is None or re.search(pattern, version) is not None


def get_cassandra_image(config: Mapping[str, Any], rules: Mapping[str, Any], server_type: str,
                        version: str) -> str:
    """GetCassandraImage, pkg/images/images.go:144@v1.10.0, 162@v1.21.0, 207@v1.32.0."""
    override = get_cassandra_container_image_override(config, rules, server_type, version)
    if override is not None:
        return apply_overrides(config, rules, server_type, override)
    checked = server_type
    if server_type not in ("cassandra", "dse", "hcd"):
        if rules["unknownServerTypeError"]:
            raise CassOperatorError(f"server type '{server_type}' is not supported")
        checked = "cassandra"  # before v1.21.0 every non-dse type is checked as cassandra
    elif server_type == "hcd" and not rules["unknownServerTypeError"]:
        checked = "cassandra"
    if not is_version_supported(rules, checked, version):
        raise CassOperatorError(
            f"server '{checked}' and version '{version}' do not work together")
    prefix, suffix = get_image_components(config, rules, server_type)
    image = apply_overrides(config, rules, server_type, f"{prefix}:{version}{suffix}")
    if prefix == "":
        raise CassOperatorError(
            f"the operator derives {image!r}, which is no image: its ImageConfig has no "
            f"defaults.{server_type}.repository and the operator no built-in one")
    return image


def get_named_image(config: Mapping[str, Any], rules: Mapping[str, Any], image_type: str) -> str:
    """GetSystemLoggerImage / GetConfigBuilderImage / GetClientImage / GetImage,
    pkg/images/images.go:164-170@v1.10.0, 175@v1.17.0, 247@v1.23.0: the named
    image with the same registry (and namespace) overrides as server images."""
    images = _map(config, "images")
    return apply_overrides(config, rules, image_type, decoded_string(images, image_type, "images."))
