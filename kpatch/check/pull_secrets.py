"""Rule ``pull-secrets``: wherever an image comes from a registry that policy says
needs pull secrets, the pod (or the operator resource that makes the pods) names them.

Policy: ``requirePullSecrets`` of kpatch.yaml (registry -> names); by default the
target registry needs ``pullSecrets`` when any are set. Where a profile says the
secrets of a use live: the pod spec's ``imagePullSecrets`` (or its
ServiceAccount's), an image block's own pull secret, or a kind's resource-wide
pull settings (a RedisEnterpriseCluster's ``spec.pullSecrets``, an ImageConfig's
defaults). Uses with no known place are not judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpatch.check import Finding, OverlayContext
from kpatch.check.registries import under

if TYPE_CHECKING:
    from kpatch.model import ImageUse

RULE = "pull-secrets"


def _names(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(value["name"])} if value.get("name") else set()
    if isinstance(value, list):
        out = set()
        for item in value:
            if isinstance(item, str):
                out.add(item)
            elif isinstance(item, dict) and item.get("name"):
                out.add(str(item["name"]))
        return out
    return set()


def _resource_wide(ctx: OverlayContext, data: Any, api_version: str, kind: str) -> set[str] | None:
    from kpatch.model import lookup

    found: set[str] | None = None
    for profile in ctx.profiles:
        for settings in profile.pull_settings:
            if settings.secrets_path and any(m.matches(api_version, kind)
                                             for m in settings.kinds):
                found = (found or set()) | _names(lookup(data, settings.secrets_path))
    return found


def _service_account(ctx: OverlayContext, namespace: str | None, name: str) -> set[str]:
    doc = ctx.named("ServiceAccount", namespace, name)
    return _names(doc.data.get("imagePullSecrets")) if doc is not None else set()


def secrets_for(ctx: OverlayContext, use: ImageUse) -> set[str] | None:
    """The pull secret names in force for ``use``, or None where unknown."""
    from kpatch.model import lookup

    doc = ctx.document_of(use.resource)
    if doc is None or ctx.rendered is None:
        return None
    if use.shape == "embedded":
        outer = use.tokens[: use.tokens.index("#")]
        for embedded in ctx.rendered.embedded:
            if embedded.resource == use.resource and embedded.tokens == outer:
                inner = embedded.document.data
                names = _resource_wide(ctx, inner, embedded.api_version, embedded.kind)
                block = _block_secret(use)
                return None if names is None and block is None else \
                    (names or set()) | (block or set())
        return None
    spec = use.spec
    if spec is not None and spec.pod_spec_depth is not None:
        pod = lookup(doc.data, use.tokens[: spec.pod_spec_depth])
        if isinstance(pod, dict):
            names = _names(pod.get("imagePullSecrets"))
            account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
            return names | _service_account(ctx, use.resource.namespace, str(account))
    block = _block_secret(use)
    wide = _resource_wide(ctx, doc.data, use.resource.api_version, use.resource.kind)
    if block is None and wide is None:
        return None
    return (block or set()) | (wide or set())


def _block_secret(use: ImageUse) -> set[str] | None:
    from kpatch.model import lookup

    spec = use.spec
    if spec is None or spec.block is None or spec.block.pull_secret is None:
        return None
    if use.block is None:
        return set()
    value = lookup(use.block, spec.block.pull_secret)
    return {str(value)} if isinstance(value, str) and value else set()


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None:
        return []
    policy = ctx.overlay.pull_secret_policy()
    if not policy:
        return []
    findings = []
    for use in ctx.rendered.uses:
        ref = use.reference
        if ref is None or not use.pulled:
            continue
        needed: set[str] = set()
        for prefix, names in policy.items():
            if under(ref.name, (prefix,)):
                needed |= set(names)
        if not needed:
            continue
        have = secrets_for(ctx, use)
        if have is None:
            continue
        missing = sorted(needed - have)
        if missing:
            findings.append(ctx.finding(
                RULE, f"{use.image} comes from a registry that needs pull secret(s) "
                f"{', '.join(missing)}, and none is set where this image is pulled", use=use))
    return findings
