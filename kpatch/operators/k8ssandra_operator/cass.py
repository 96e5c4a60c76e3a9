"""What k8ssandra-operator borrows from cass-operator: its ImageConfig.

From v1.27.0 k8ssandra-operator reads the same v1beta2 ImageConfig as
cass-operator (``cassimages.NewImageRegistryFromConfigMap``, main.go:181@v1.32.5)
and takes Reaper, Medusa, the Vector sidecars' system-logger and the per-node
init container's k8ssandra-client from it. The functions below mirror the
cass-operator code k8ssandra-operator calls (pkg/images/images_v1beta2.go and
apis/config/v1beta2/imageconfig_types.go at v1.30.3, the version its go.mod
pins at v1.32.5). The server image itself is cass-operator's business: it is
derived by ``kpatch.operators.cass_operator`` (called here, never re-implemented).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpatch.errors import KpatchError
from kpatch.model import text_or_none as _text
from kpatch.operators.cass_operator import releases as cass_releases
from kpatch.operators.cass_operator import rules as cass_rules

if TYPE_CHECKING:
    from kpatch.implicit import RuleContext
    from kpatch.locate import EmbeddedDocument
    from kpatch.operators.k8ssandra_operator.releases import Release

Image = dict[str, str]


@dataclass(frozen=True)
class ImageConfigInUse:
    """The v1beta2 ImageConfig k8ssandra-operator reads, and where it is."""

    data: dict[str, Any]
    level: str  # "imageconfig": in the input (relocation edits it); "release": shipped
    description: str
    embedded: EmbeddedDocument | None = None


def cass_operator_release(release: Release) -> tuple[str, str]:
    """The cass-operator release this k8ssandra-operator release installs (the ref of
    its config/cass-operator remote base), and how kpatch knows it."""
    ref = str((release.row.get("cassOperator") or {}).get("ref") or "")
    return ref, (f"installed by k8ssandra-operator {release.version} "
                 f"({release.cite('cassOperator')})")


def cass_choice(ctx: RuleContext, release: Release) -> cass_rules.ImageConfigChoice:
    """The ImageConfig cass-operator reads in this install (cass-operator's own
    discovery), with the release k8ssandra-operator installs as the fallback."""
    return cass_rules.operator_image_config(ctx, fallback=cass_operator_release(release))


def image_config_in_use(ctx: RuleContext, release: Release) -> ImageConfigInUse | None:
    """The labelled v1beta2 ImageConfig of the input, else the one the release
    ships (config/cass-operator/imageconfig, v1.27.0 on); None before v1.27.0,
    when k8ssandra-operator reads no ImageConfig."""
    if not release.row.get("imageConfig"):
        return None
    key = ("k8ssandra-operator", "image-config")
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    choice = cass_choice(ctx, release)
    found: ImageConfigInUse
    if choice.level == "imageconfig" and choice.api_version.endswith("/v1beta2"):
        found = ImageConfigInUse(choice.data, "imageconfig", choice.description, choice.embedded)
    else:
        shipped = release.row["imageConfig"]
        found = ImageConfigInUse(
            shipped["document"], "release",
            f"the ImageConfig k8ssandra-operator {release.version} ships "
            f"({shipped['file']}@{release.version})")
    ctx.memo[key] = found
    return found


def merge_global_values(config: dict[str, Any], img: Image) -> Image:
    """imageRegistryV1Beta2.mergeGlobalValues (pkg/images/images_v1beta2.go:71@v1.30.3):
    defaults fill empty registry/repository/pullPolicy, overrides replace them
    (an ``overrides.repository: ""`` drops the repository)."""
    out = dict(img)
    defaults = config.get("defaults") if isinstance(config.get("defaults"), dict) else {}
    overrides = config.get("overrides") if isinstance(config.get("overrides"), dict) else None
    assert isinstance(defaults, dict)
    if not out.get("registry") and isinstance(defaults.get("registry"), str):
        out["registry"] = defaults["registry"]
    if not out.get("repository") and isinstance(defaults.get("repository"), str):
        out["repository"] = defaults["repository"]
    if not out.get("pullPolicy") and _text(defaults.get("pullPolicy")):
        out["pullPolicy"] = defaults["pullPolicy"]
    if overrides is not None:
        if isinstance(overrides.get("repository"), str):
            out["repository"] = overrides["repository"]
        if isinstance(overrides.get("registry"), str):
            out["registry"] = overrides["registry"]
        if _text(overrides.get("pullPolicy")):
            out["pullPolicy"] = overrides["pullPolicy"]
    return out


def registry_image(config: dict[str, Any], name: str) -> Image:
    """imageRegistryV1Beta2.Image (pkg/images/images_v1beta2.go:129@v1.30.3):
    ``images.<name>`` with the global values merged in."""
    images = config.get("images") if isinstance(config.get("images"), dict) else {}
    assert isinstance(images, dict)
    base = images.get(name)
    parts = {k: str(v) for k, v in base.items() if isinstance(v, (str, int, float))} \
        if isinstance(base, dict) else {}
    return merge_global_values(config, parts)


def apply_overrides(image: Image, higher: dict[str, Any] | None) -> Image:
    """Image.ApplyOverrides (apis/config/v1beta2/imageconfig_types.go:65@v1.30.3):
    every non-empty field of the higher-priority image (the CR block) replaces
    its part."""
    out = dict(image)
    for part in ("registry", "repository", "name", "tag", "digest", "pullPolicy"):
        value = (higher or {}).get(part)
        if isinstance(value, (str, int, float)) and str(value):
            out[part] = str(value)
    return out


def image_string(image: Image) -> str | None:
    """Image.String (apis/config/v1beta2/imageconfig_types.go:105@v1.30.3):
    ``[registry/][repository/]name:tag`` (``@digest`` when set). None when the
    name is empty: the operator would write an image the kubelet cannot pull."""
    name = image.get("name")
    if not name:
        return None
    out = "".join(f"{image[p]}/" for p in ("registry", "repository") if image.get(p)) + name
    if image.get("digest"):
        return f"{out}@{image['digest']}"
    tag = image.get("tag") or ""
    delimiter = "@" if ":" in tag and tag.split(":", 1)[0] in ("sha256", "sha512") else ":"
    return f"{out}{delimiter}{tag}" if tag else None


def server_image(ctx: RuleContext, release: Release, server_type: str,
                 version: str) -> tuple[str | None, str, str]:
    """:func:`derive_server_image`, once per install for each release, server type
    and version (an install holds many datacenters of few versions)."""
    return ctx.once(("server_image", release.version, release.default_registry, server_type,
                     version), lambda: derive_server_image(ctx, release, server_type, version))


def derive_server_image(ctx: RuleContext, release: Release, server_type: str,
                        version: str) -> tuple[str | None, str, str]:
    """The server image cass-operator derives for a datacenter k8ssandra-operator
    writes without serverImage: (image or None, reason, level). From v1.27.0 the
    ImageConfig k8ssandra-operator's install ships (or the input's); before, the one
    cass-operator reads (the input's, else the one the installed release ships)."""
    cass_release, _ = cass_operator_release(release)
    config = image_config_in_use(ctx, release)
    data: dict[str, Any] | None
    if config is not None:
        data, description, level = config.data, config.description, config.level
    else:
        choice = cass_choice(ctx, release)
        if choice.level == "imageconfig":
            data, description, level = choice.data, choice.description, "imageconfig"
        else:
            data, level = None, "release"
            description = f"the ImageConfig cass-operator {cass_release} ships"
    try:
        image = cass_rules.server_image(data, server_type, version, cass_release)
    except KpatchError as exc:
        return (None, f"server image unknown: {exc.message} ({description}); set serverImage",
                "unknown")
    return (image, f"derived by cass-operator {cass_release} from serverType {server_type}, "
            f"serverVersion {version} and {description}", level)


def system_logger_image(ctx: RuleContext, release: Release) -> tuple[str | None, str, str]:
    """The ``server-system-logger`` image cass-operator gives Cassandra pods (and,
    from v1.30.0, k8ssandra-operator's Reaper and Stargate Vector sidecars):
    ``GetSystemLoggerImage()`` of the ImageConfig in use."""
    return pod_named_image(ctx, release, "system-logger")


def pod_named_image(ctx: RuleContext, release: Release,
                    name: str) -> tuple[str | None, str, str]:
    """:func:`derive_pod_named_image`, once per install, release and name (every
    datacenter's pods ask)."""
    return ctx.once(("pod_named_image", release.version, release.default_registry, name),
                    lambda: derive_pod_named_image(ctx, release, name))


def derive_pod_named_image(ctx: RuleContext, release: Release,
                           name: str) -> tuple[str | None, str, str]:
    """``images.<name>`` (system-logger, config-builder, k8ssandra-client) as
    cass-operator puts it into the Cassandra pods of this install: (image or None,
    reason, level). From v1.27.0 the v1beta2 ImageConfig k8ssandra-operator's
    install ships (or the input's); before, the one cass-operator reads (the
    input's, else the one the cass-operator release k8ssandra-operator installs
    ships)."""
    config = image_config_in_use(ctx, release)
    if config is not None:
        image = image_string(registry_image(config.data, name))
        if image is None:
            return None, f"{config.description} has no images.{name}", "unknown"
        return image, f"{name} of {config.description}", config.level
    cass_release, _ = cass_operator_release(release)
    choice = cass_choice(ctx, release)
    data = choice.data if choice.level == "imageconfig" else None
    description = choice.description if data is not None else (
        f"the ImageConfig cass-operator {cass_release} ships")
    try:
        named = cass_rules.named_image(data, name, cass_release)
    except KpatchError as exc:
        return None, f"{name} unknown: {exc.message} ({description})", "unknown"
    if not named:
        return None, f"{description} has no images.{name}", "unknown"
    return (named, f"{name} of {description}",
            "imageconfig" if data is not None else "release")


def embedded_image_config(ctx: RuleContext, release: Release) -> EmbeddedDocument | None:
    """The input's ImageConfig document the Cassandra pods' named images come
    from, when they come from the input (relocation then edits it)."""
    def find() -> EmbeddedDocument | None:
        config = image_config_in_use(ctx, release)
        if config is not None:
            return config.embedded if config.level == "imageconfig" else None
        choice = cass_choice(ctx, release)
        return choice.embedded if choice.level == "imageconfig" else None

    # Asked for by every datacenter of an install.
    return ctx.once(("embedded_image_config", release.version, release.default_registry), find)


def cass_pod_rules(release: Release) -> tuple[dict[str, Any], str, bool]:
    """cass-operator's pod rules (releases.yaml ``pod``) for the release this
    k8ssandra-operator release installs: (rules, that release, whether the table
    has that release itself)."""
    ref, _ = cass_operator_release(release)
    found = _cass_release_rows.get(ref)
    if found is None:
        found = _cass_release_rows[ref] = cass_releases.release_for(ref or "unknown")
    return found.row["pod"], ref, found.exact


# cass-operator release rows by the release a k8ssandra-operator release pins:
# asked for every datacenter of an install.
_cass_release_rows: dict[str, cass_releases.ReleaseInUse] = {}


def named_image(ctx: RuleContext, release: Release, name: str) -> tuple[Image | None, str, str]:
    """``registry.Image(name)`` of the ImageConfig in use (v1.27.0 on)."""
    config = image_config_in_use(ctx, release)
    if config is None:
        return None, f"k8ssandra-operator {release.version} reads no ImageConfig", "unknown"
    # Once per install and image name (Reaper and Medusa ask for every cluster);
    # each caller gets its own copy to change.
    image = ctx.once(("named_image", release.version, release.default_registry, name),
                     lambda: registry_image(config.data, name))
    return dict(image), config.description, config.level
