"""cass-operator: server images derived from serverType + serverVersion.

The derivation follows cass-operator's pkg/images (facts in
../shared/reference/operators.md): ImageConfig v1beta1 uses
``images.<type>[version]`` or ``<defaults.<type>.repository>:<version><suffix>``
then applies ``imageRegistry``/``imageNamespace``; v1beta2 builds
``registry/repository/name:<prefix><version><suffix>`` from ``types``,
``defaults`` and ``overrides``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpatch.errors import KpatchError
from kpatch.implicit import RuleContext
from kpatch.model import ResourceId, lookup
from kpatch.model import text_or_none as _text

if TYPE_CHECKING:
    from kpatch.profile import ImplicitRule
    from kpatch.yamlio import Document

PROFILE = "cass-operator"


@dataclass(frozen=True)
class ImageConfigChoice:
    data: dict[str, Any]
    description: str
    level: str  # "imageconfig" (from the input) or "default-imageconfig"
    embedded: Any = None  # the EmbeddedDocument, when from the input


def choose_image_config(ctx: RuleContext) -> ImageConfigChoice:
    """The ImageConfig the operator would read: v1beta2 (label-discovered) first,
    then v1beta1, else the shipped default from profile data. One answer per install."""
    memo = ctx.memo.get("cass-operator-image-config")
    if memo is None:
        memo = ctx.memo["cass-operator-image-config"] = _choose_image_config(ctx)
    assert isinstance(memo, ImageConfigChoice)
    return memo


def _choose_image_config(ctx: RuleContext) -> ImageConfigChoice:
    configs = [e for e in ctx.embedded if e.kind == "ImageConfig"]
    configs.sort(key=lambda e: 0 if e.api_version.endswith("/v1beta2") else 1)
    if configs:
        chosen = configs[0]
        return ImageConfigChoice(
            chosen.document.data,
            f"the ImageConfig ({chosen.api_version.rpartition('/')[2]}) in "
            f"{chosen.resource}",
            "imageconfig",
            chosen,
        )
    default = ctx.data(PROFILE).get("defaultImageConfig") or {}
    return ImageConfigChoice(
        dict(default),
        "cass-operator's shipped default ImageConfig (no ImageConfig in the input)",
        "default-imageconfig",
    )


def apply_v1beta1_overrides(config: dict[str, Any], server_type: str, image: str) -> str:
    """imageRegistry (per type beats top level) and imageNamespace, as cass-operator does."""
    per_type = lookup(config, ("defaults", server_type)) or {}
    registry = _text(per_type.get("imageRegistry")) or _text(config.get("imageRegistry"))
    namespace = per_type.get("imageNamespace", config.get("imageNamespace"))
    if registry is None and namespace is None:
        return image
    components = image.split("/")
    original_registry = None
    if len(components) > 1 and ("." in components[0] or ":" in components[0]):
        original_registry, components = components[0], components[1:]
    if isinstance(namespace, str) and len(components) >= 2:
        components = components[1:] if namespace == "" else [namespace, *components[1:]]
    path = "/".join(components)
    if registry is not None:
        return f"{registry.rstrip('/')}/{path}"
    return f"{original_registry}/{path}" if original_registry else path


def derive_server_image(
    config: dict[str, Any], server_type: str, version: str, builtin: dict[str, str]
) -> str:
    api_version = str(config.get("apiVersion", ""))
    if api_version.endswith("/v1beta2"):
        return _derive_v1beta2(config, server_type, version, builtin)
    images = config.get("images") if isinstance(config.get("images"), dict) else {}
    assert isinstance(images, dict)
    per_version = images.get(server_type)
    if isinstance(per_version, dict) and _text(per_version.get(version)):
        return apply_v1beta1_overrides(config, server_type, str(per_version[version]))
    defaults = lookup(config, ("defaults", server_type)) or {}
    repository = _text(defaults.get("repository")) if isinstance(defaults, dict) else None
    suffix = ""
    if repository is not None:
        suffix = _text(defaults.get("suffix")) or ""
    else:
        repository = builtin.get(server_type)
        if repository is None:
            raise KpatchError(f"no default repository for server type {server_type!r}")
    return apply_v1beta1_overrides(config, server_type, f"{repository}:{version}{suffix}")


def _derive_v1beta2(
    config: dict[str, Any], server_type: str, version: str, builtin: dict[str, str]
) -> str:
    kind = lookup(config, ("types", server_type)) or {}
    defaults = config.get("defaults") or {}
    overrides = config.get("overrides") or {}
    fallback_repository, _, fallback_name = builtin.get(server_type, "").rpartition("/")
    registry = (_text(overrides.get("registry")) or _text(kind.get("registry"))
                or _text(defaults.get("registry")))
    repository = (_text(overrides.get("repository")) or _text(kind.get("repository"))
                  or _text(defaults.get("repository")) or fallback_repository)
    name = _text(kind.get("name")) or fallback_name
    if not name:
        raise KpatchError(f"ImageConfig names no image for server type {server_type!r}")
    tag = f"{kind.get('prefix') or ''}{version}{kind.get('suffix') or ''}"
    path = "/".join(p.strip("/") for p in (registry, repository, name) if p)
    return f"{path}:{tag}"


def server_image_rule(
    ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId
) -> None:
    spec = doc.data.get("spec") or {}
    if not isinstance(spec, dict) or _text(spec.get("serverImage")):
        return
    server_type = _text(spec.get("serverType")) or "cassandra"
    version = spec.get("serverVersion")
    tokens: tuple[str | int, ...] = ("spec", "serverImage")
    if not isinstance(version, str) or not version:
        ctx.implicit(
            image=None, resource=rid, tokens=tokens, doc=doc, profile=rule.profile,
            component="server",
            reason="server image unknown: the CassandraDatacenter sets neither serverImage "
                   "nor serverVersion",
        )
        return
    choice = choose_image_config(ctx)
    builtin = dict(ctx.data(PROFILE).get("builtinRepositories") or {})
    image = derive_server_image(choice.data, server_type, version, builtin)
    ctx.implicit(
        image=image, resource=rid, tokens=tokens, doc=doc, profile=rule.profile,
        component="server",
        reason=f"derived by cass-operator from serverType {server_type}, serverVersion "
               f"{version} and {choice.description}",
        effective={"datacenter": rid.name, "component": "server", "level": choice.level},
    )
