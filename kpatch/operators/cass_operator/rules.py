"""cass-operator: every image a CassandraDatacenter's pods pull, as the operator decides.

The resolution follows k8ssandra/cass-operator's own code, one Python function
per Go function (each docstring names it, file@tag):

- discovery.py: which ImageConfig the operator reads (cmd/main.go, images_v1beta2.go)
- images_v1beta1.py / images_v1beta2.py: how an ImageConfig makes an image
- podtemplate.py: which containers the pod gets (construct_podtemplatespec.go)
- releases.yaml: what differs between releases (regenerate.py writes it)

Public functions other operators call (k8ssandra-operator derives its
datacenters' server images through them):

- ``server_image(config, server_type, server_version, release)``
- ``named_image(config, image_type, release)``
- ``operator_image_config(ctx)`` / ``release_in_use(ctx)``
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpatch.errors import KpatchError
from kpatch.implicit import RuleContext
from kpatch.model import ResourceId
from kpatch.operators.cass_operator import images_v1beta1, images_v1beta2
from kpatch.operators.cass_operator.discovery import (
    V1BETA1,
    V1BETA2,
    ImageConfigChoice,
    release_in_use,
    setup_image_registry,
)
from kpatch.operators.cass_operator.podtemplate import PodImage, pod_images
from kpatch.operators.cass_operator.releases import (
    PROFILE,
    CassOperatorError,
    ReleaseInUse,
    newest,
    release_for,
)
from kpatch.reference import ImageReference, parse_reference

if TYPE_CHECKING:
    from kpatch.profile import ImplicitRule
    from kpatch.yamlio import Document

__all__ = [
    "PROFILE",
    "CassOperatorError",
    "ImageConfigChoice",
    "ReleaseInUse",
    "datacenter_images_rule",
    "named_image",
    "operator_image_config",
    "release_in_use",
    "server_image",
]


def _release(release: ReleaseInUse | str | None) -> ReleaseInUse:
    if release is None:
        return newest()
    if isinstance(release, str):
        return release_for(release)
    return release


def _shipped_or(config: Mapping[str, Any] | None, release: ReleaseInUse) -> Mapping[str, Any]:
    if config:
        return config
    shipped = release.row["shippedImageConfig"]
    found = shipped.get("v1beta2") or shipped.get("v1beta1")
    if not release.shipped_known or found is None:
        raise CassOperatorError(f"the ImageConfig cass-operator {release.version} ships is not "
                                "known to kpatch")
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ImageRegistry:
    """NewImageRegistry / NewImageRegistryV2 (pkg/images/interface.go@v1.27.0): the
    ImageConfig in use and the release's rules for reading it."""

    config: Mapping[str, Any]
    release: ReleaseInUse

    def _rules(self, part: str) -> Mapping[str, Any]:
        rules = self.release.row[part]
        if rules is None:
            raise CassOperatorError(
                f"cass-operator {self.release.row['version']} does not read an ImageConfig "
                f"{self.config.get('apiVersion')}")
        return rules  # type: ignore[no-any-return]

    def _version(self) -> str:
        api_version = str(self.config.get("apiVersion", ""))
        if api_version not in (V1BETA1, V1BETA2) or self.config.get("kind") != "ImageConfig":
            raise CassOperatorError(f"the operator cannot decode an ImageConfig with apiVersion "
                                    f"{api_version!r}")
        return api_version

    def get_cassandra_image(self, server_type: str, version: str) -> str:
        """GetCassandraImage (images.go) or buildServerImage + String (images_v1beta2.go)."""
        if self._version() == V1BETA2:
            rules = self._rules("v1beta2")
            built = images_v1beta2.build_server_image(self.config, server_type, version)
            return _valid(images_v1beta2.image_string(built, rules), server_type)
        return _valid(images_v1beta1.get_cassandra_image(
            self.config, self._rules("v1beta1"), server_type, version), server_type)

    def get_named_image(self, image_type: str) -> str:
        """GetSystemLoggerImage / GetConfigBuilderImage / GetClientImage / GetImage."""
        if self._version() == V1BETA2:
            rules = self._rules("v1beta2")
            images = self.config.get("images")
            if not isinstance(images, Mapping) or image_type not in images:
                return ""  # the pod spec gets "registry/:" (no image): reported as such
            built = images_v1beta2.image(self.config, image_type)
            return _valid(images_v1beta2.image_string(built, rules), image_type)
        image = images_v1beta1.get_named_image(self.config, self._rules("v1beta1"), image_type)
        return _valid(image, image_type) if image else ""


def _valid(image: str, what: str) -> str:
    try:
        parse_reference(image)
    except KpatchError:
        raise CassOperatorError(f"the operator makes {image!r} for {what}, which is not an "
                                "image reference: the pod cannot start") from None
    return image


# -- public API ----------------------------------------------------------------


def server_image(config: Mapping[str, Any] | None, server_type: str, server_version: str,
                 release: ReleaseInUse | str | None = None) -> str:
    """The server image cass-operator ``release`` derives for a datacenter without
    serverImage (GetCassandraImage / buildServerImage). ``config`` None or empty:
    the ImageConfig the release ships. Raises CassOperatorError where the operator
    fails (e.g. a v1beta2 config without the type in ``types``)."""
    in_use = _release(release)
    return ImageRegistry(_shipped_or(config, in_use), in_use).get_cassandra_image(
        server_type, server_version)


def named_image(config: Mapping[str, Any] | None, image_type: str,
                release: ReleaseInUse | str | None = None) -> str:
    """The image ``images.<image_type>`` gives (system-logger, config-builder,
    k8ssandra-client, or any other key), with the release's overrides; "" when the
    ImageConfig names none."""
    in_use = _release(release)
    return ImageRegistry(_shipped_or(config, in_use), in_use).get_named_image(image_type)


def operator_image_config(ctx: RuleContext,
                          fallback: tuple[str, str] | None = None) -> ImageConfigChoice:
    """The ImageConfig this install's cass-operator reads (setupImageRegistry):
    from the input when it is there where the release looks, else the one the
    release ships (level "default-imageconfig"), else ``error`` says why not.

    ``fallback``: (release, how it is known) when the input has neither the
    cass-operator image nor the parameter, e.g. ("v1.30.2", "installed by
    k8ssandra-operator v1.32.5"); without it kpatch assumes the newest release
    and warns once."""
    return setup_image_registry(ctx, fallback)


# -- the rule ------------------------------------------------------------------


def datacenter_images_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document,
                           rid: ResourceId) -> None:
    """Every image the pods of this CassandraDatacenter pull (buildPodTemplateSpec)."""
    spec = doc.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    metadata = doc.data.get("metadata")
    annotations = (metadata or {}).get("annotations") if isinstance(metadata, dict) else None
    release = release_in_use(ctx)
    choice = setup_image_registry(ctx)
    problem = _spec_problem(spec, release)
    registry = _FailingRegistry(problem or choice.error or "") \
        if problem or choice.error else ImageRegistry(choice.data, release)
    images = pod_images(spec, annotations if isinstance(annotations, dict) else {},
                        release.row["pod"], registry)
    if not release.row["pod"]["imageVolumes"]:
        _image_volumes_pruned(ctx, rid, spec, release)
    seen: set[tuple[str, tuple[str | int, ...]]] = set()
    for pod_image in images:
        key = (pod_image.image or "", pod_image.tokens)
        if key in seen:
            continue  # the base-config init container pulls the server image again
        seen.add(key)
        _record(ctx, rule, doc, rid, pod_image, choice, release)


def _image_volumes_pruned(ctx: RuleContext, rid: ResourceId, spec: Mapping[str, Any],
                          release: ReleaseInUse) -> None:
    """Before v1.24.0 the CRD's volumeSource has no ``image`` (k8s.io/api < v0.31):
    the API server prunes it, so an image volume there is never pulled."""
    volumes = (spec.get("storageConfig") or {}).get("additionalVolumes") \
        if isinstance(spec.get("storageConfig"), dict) else None
    for index in range(len(volumes) if isinstance(volumes, list) else 0):
        tokens = ("spec", "storageConfig", "additionalVolumes", index, "volumeSource",
                  "image", "reference")
        written = ctx.written(rid, tokens)
        if written is not None:
            written.pulled = False
            written.note = (f"cass-operator {release.version}'s CRD has no image volumes "
                            "(from v1.24.0): the API server drops this field")


def _spec_problem(spec: Mapping[str, Any], release: ReleaseInUse) -> str | None:
    server_type = spec.get("serverType")
    allowed = release.row["pod"]["serverTypes"]
    if not isinstance(server_type, str) or not server_type:
        return "the CassandraDatacenter sets no serverType (required: the API server " \
               "rejects it)"
    if server_type not in allowed:
        return (f"serverType {server_type!r} is not one of {', '.join(allowed)} that "
                f"cass-operator {release.row['version']}'s CRD accepts")
    version = spec.get("serverVersion")
    if version is not None and not isinstance(version, str):
        return (f"serverVersion {version!r} is not a string (quote it): the API server "
                "rejects it")
    if not version:
        return "the CassandraDatacenter sets no serverVersion (required)"
    return None


@dataclass(frozen=True)
class _FailingRegistry:
    """The registry when the operator cannot derive anything (the reason says why)."""

    message: str

    def get_cassandra_image(self, server_type: str, version: str) -> str:
        raise CassOperatorError(self.message)

    def get_named_image(self, image_type: str) -> str:
        raise CassOperatorError(self.message)


def _record(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId,
            pod_image: PodImage, choice: ImageConfigChoice, release: ReleaseInUse) -> None:
    effective: dict[str, Any] = {"datacenter": rid.name, "component": pod_image.component}
    if pod_image.origin == "ignored":
        written = ctx.written(rid, pod_image.tokens)
        if written is not None:
            written.pulled = False
            written.note = f"{pod_image.reason} (cass-operator {release.version})"
        return
    if pod_image.origin in ("template", "spec"):
        written = ctx.written(rid, pod_image.tokens)
        if written is not None:
            level = "podTemplateSpec" if pod_image.origin == "template" else "datacenter"
            ctx.mark_effective(written, **effective, level=level)
            return
    if pod_image.image is not None and choice.embedded is not None and \
            pod_image.component != "server":
        embedded = choice.embedded
        written = ctx.written(embedded.resource,
                              (*embedded.tokens, "#", "images", pod_image.component))
        if written is not None and written.reference is not None and \
                _same_pull(written.reference, parse_reference(pod_image.image)):
            ctx.mark_effective(written, **effective, level="imageconfig")
            return
    if pod_image.image is None:
        reason = (f"{pod_image.component} image unknown: {pod_image.reason} "
                  f"(cass-operator {release.version})")
        level = "unknown"
    else:
        reason = (f"{pod_image.reason}; derived by cass-operator {release.version} from "
                  f"{_inputs(doc, pod_image)} and {choice.description}")
        level = choice.level
    ctx.implicit(image=pod_image.image, resource=rid, tokens=pod_image.tokens, doc=doc,
                 profile=rule.profile, component=pod_image.component, reason=reason,
                 effective={**effective, "level": level}, entry=pod_image.entry)


def _same_pull(a: ImageReference, b: ImageReference) -> bool:
    """The same image is pulled: a digest wins over a tag (the kubelet ignores the tag)."""
    if a.name != b.name:
        return False
    if a.digest or b.digest:
        return a.digest == b.digest
    return a.normalized == b.normalized


def _inputs(doc: Document, pod_image: PodImage) -> str:
    if pod_image.component != "server":
        return f"images.{pod_image.component}"
    spec = doc.data.get("spec") or {}
    return f"serverType {spec.get('serverType')}, serverVersion {spec.get('serverVersion')}"
