"""Rule ``redis-release``: a Redis Enterprise cluster runs one release.

The bootstrapper and services rigger images carry the operator's version, and
the Redis Enterprise Software (RS) image is the release paired with it
(``versionPairs`` of the redis-enterprise profile, or ``--param
redis-enterprise.rsVersion``; for an operator the table does not know, the RS
release must at least share its major.minor.patch). Other combinations are not
supported by the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import operator_uses, release, rendered_counterpart

if TYPE_CHECKING:
    from kpatch.model import ImageUse

RULE = "redis-release"
PROFILE = "redis-enterprise"
CARRY_OPERATOR_VERSION = ("bootstrapper", "services-rigger")
RS_COMPONENT = "redis-enterprise"


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None:
        return []
    data = ctx.profile_data(PROFILE)
    if not data:
        return []
    findings: list[Finding] = []
    version = ctx.overlay.params.get(f"{PROFILE}.operatorVersion")
    source = f"--param {PROFILE}.operatorVersion"
    if version is None:
        running = operator_uses(ctx, [str(r) for r in data.get("operatorRepositories") or []])
        tags: dict[str, ImageUse] = {}
        for use in running:
            now = rendered_counterpart(ctx, use) or use
            if now.reference is not None and now.reference.tag:
                tags.setdefault(now.reference.tag, now)
        if len(tags) > 1:
            first = next(iter(tags.values()))
            findings.append(ctx.finding(
                RULE, "the operator's containers run different versions "
                f"({', '.join(sorted(tags))}); they must run one release", use=first))
            return findings
        if not tags:
            return findings
        version, use = next(iter(tags.items()))
        source = f"the operator image {use.image}"
    pairs = {str(k): str(v) for k, v in (data.get("versionPairs") or {}).items()}
    paired = ctx.overlay.params.get(f"{PROFILE}.rsVersion") or pairs.get(version)
    for use in ctx.rendered.uses:
        ref = use.reference
        if ref is None or use.resource.kind != "RedisEnterpriseCluster" or not ref.tag:
            continue
        if use.component in CARRY_OPERATOR_VERSION and ref.tag != version:
            findings.append(ctx.finding(
                RULE, f"{use.component} image {use.image} does not carry the operator "
                f"version {version} (from {source}); the operator supports only its own "
                "version here", use=use))
        elif use.component == RS_COMPONENT:
            if paired is not None and ref.tag != paired:
                findings.append(ctx.finding(
                    RULE, f"Redis Enterprise image {use.image} is not the RS release paired "
                    f"with operator {version} (that is {paired})", use=use))
            elif paired is None and release(ref.tag) != release(version):
                findings.append(ctx.finding(
                    RULE, f"Redis Enterprise image {use.image} is RS {release(ref.tag)}, "
                    f"but operator {version} supports only RS {release(version)}", use=use))
    return findings
