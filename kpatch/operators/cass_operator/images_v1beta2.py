"""ImageConfig v1beta2: one function per function of cass-operator's
pkg/images/images_v1beta2.go and apis/config/v1beta2/imageconfig_types.go (v1.27.0+).

An image is a dict with the Go struct's fields (registry, repository, name,
tag, digest); ``defaults``/``overrides`` hold pointers in Go, so a key present
with "" differs from an absent key: ``overrides.repository: ""`` drops the
repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kpatch.operators.cass_operator.releases import CassOperatorError, decoded_string

IMAGE_FIELDS = ("registry", "repository", "name", "tag", "digest")
_DIGEST_ALGORITHM = re.compile(r"^[a-z0-9]+(?:[._+-][a-z0-9]+)*$")
_DIGEST_ENCODED = re.compile(r"^[a-zA-Z0-9=_-]+$")


def _pointer(node: Any, key: str, where: str) -> str | None:
    """A ``*string`` field: None when absent or null."""
    if not isinstance(node, Mapping) or node.get(key) is None:
        return None
    return decoded_string(node, key, where)


def decode_image(node: Any, where: str) -> dict[str, str]:
    """An Image struct: absent fields are ""."""
    if node is None:
        node = {}
    if not isinstance(node, Mapping):
        raise CassOperatorError(f"the operator cannot decode its ImageConfig: {where} is not "
                                "a mapping")
    return {f: decoded_string(node, f, f"{where}.") for f in IMAGE_FIELDS}


def merge_global_values(config: Mapping[str, Any], image: dict[str, str]) -> dict[str, str]:
    """mergeGlobalValues, pkg/images/images_v1beta2.go:72@v1.27.0 (71@v1.29.0)."""
    img = dict(image)
    defaults = config.get("defaults")
    overrides = config.get("overrides")
    registry = _pointer(defaults, "registry", "defaults.")
    if img["registry"] == "" and registry is not None:
        img["registry"] = registry
    repository = _pointer(defaults, "repository", "defaults.")
    if img["repository"] == "" and repository is not None:
        img["repository"] = repository
    if isinstance(overrides, Mapping):
        override_repository = _pointer(overrides, "repository", "overrides.")
        if override_repository is not None:
            img["repository"] = override_repository
        override_registry = _pointer(overrides, "registry", "overrides.")
        if override_registry is not None:
            img["registry"] = override_registry
    return img


def build_server_image(config: Mapping[str, Any], server_type: str,
                       version: str) -> dict[str, str]:
    """buildServerImage, pkg/images/images_v1beta2.go:109@v1.27.0 (108@v1.32.0):
    the type must be in ``types``; nothing falls back to a built-in image."""
    types = config.get("types")
    if types is None:
        raise CassOperatorError(
            "the operator crashes deriving the server image: its ImageConfig (v1beta2) has "
            "no types (nil dereference in buildServerImage)")
    if not isinstance(types, Mapping):
        raise CassOperatorError("the operator cannot decode its ImageConfig: types is not a "
                                "mapping")
    component = types.get(server_type)
    if component is None:
        raise CassOperatorError(
            f"unknown server type: {server_type} (the ImageConfig's types has no "
            f"{server_type}; cass-operator has no built-in server image in v1beta2)")
    decoded = decode_image(component, f"types.{server_type}")
    prefix = decoded_string(component, "prefix", f"types.{server_type}.")
    suffix = decoded_string(component, "suffix", f"types.{server_type}.")
    img = {"registry": decoded["registry"], "repository": decoded["repository"],
           "name": decoded["name"], "tag": prefix + version + suffix, "digest": ""}
    return merge_global_values(config, img)


def image(config: Mapping[str, Any], image_type: str) -> dict[str, str]:
    """Image(imageType), pkg/images/images_v1beta2.go:130@v1.27.0: ``images.<type>``
    (all fields empty when absent), merged with defaults and overrides."""
    images = config.get("images")
    if images is not None and not isinstance(images, Mapping):
        raise CassOperatorError("the operator cannot decode its ImageConfig: images is not a "
                                "mapping")
    base = (images or {}).get(image_type)
    return merge_global_values(config, decode_image(base, f"images.{image_type}"))


def is_digest(value: str) -> bool:
    """isDigest, apis/config/v1beta2/imageconfig_types.go@v1.28.0."""
    parts = value.split(":", 1)
    if len(parts) != 2:
        return False
    return bool(_DIGEST_ALGORITHM.match(parts[0]) and _DIGEST_ENCODED.match(parts[1]))


def image_string(img: Mapping[str, str], rules: Mapping[str, Any]) -> str:
    """Image.String, apis/config/v1beta2/imageconfig_types.go:77@v1.27.0 (105@v1.28.0,
    which added ``digest`` and ``@`` for a digest-shaped tag)."""
    registry = img["registry"] + "/" if img["registry"] else ""
    repository = img["repository"] + "/" if img["repository"] else ""
    reference, delimiter = img["tag"], ":"
    if rules["digest"]:
        if img["digest"]:
            reference, delimiter = img["digest"], "@"
        elif is_digest(img["tag"]):
            delimiter = "@"
    return registry + repository + img["name"] + delimiter + reference
