"""Rule ``redis-release``: a Redis Enterprise cluster runs one release.

The bootstrapper and services rigger images carry the operator's version, and
the Redis Enterprise Software (RS) image is the release paired with it: the
Redis operator's release table (kpatch/operators/redis_enterprise/releases.yaml,
the flavour's column: Docker Hub or OpenShift), or ``--param
redis-enterprise.rsVersion``; for an operator the table does not know, the RS
release must at least share its major.minor.patch. Other combinations are not
supported by the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import operator_uses, release, rendered_counterpart
from kpatch.operators.redis_enterprise.rules import Flavour, release_table

if TYPE_CHECKING:
    from kpatch.model import ImageUse

RULE = "redis-release"
PROFILE = "redis-enterprise"
CARRY_OPERATOR_VERSION = ("bootstrapper", "services-rigger")
RS_COMPONENT = "redis-enterprise"


def _flavour_of(image_repository: str, tag: str, flavours: tuple[Flavour, ...]) -> Flavour | None:
    """The flavour whose operator repository (and tag suffix) the image has."""
    candidates = [f for f in flavours if image_repository == f.operator_path
                  or image_repository.endswith("/" + f.operator_path)]
    candidates.sort(key=lambda f: -len(f.tag_suffix))
    return next((f for f in candidates if tag.endswith(f.tag_suffix)), None)


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None or not any(p.name == PROFILE for p in ctx.profiles):
        return []
    table = release_table()
    findings: list[Finding] = []
    version = ctx.overlay.params.get(f"{PROFILE}.operatorVersion")
    source = f"--param {PROFILE}.operatorVersion"
    flavour = table.flavour(ctx.overlay.params.get(f"{PROFILE}.flavour") or "dockerhub")
    running = operator_uses(ctx, list(dict.fromkeys(f.operator_path for f in table.flavours)))
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
    if tags:
        tag, use = next(iter(tags.items()))
        original = use.reference
        assert original is not None
        # The flavour from the base's operator image (a relocated copy keeps its path).
        base_use = running[0]
        assert base_use.reference is not None
        flavour = _flavour_of(base_use.reference.repository, tag, table.flavours) or flavour
        if version is None:
            version, source = tag, f"the operator image {use.image}"
    if version is None or flavour is None:
        return findings
    operator_tag = version if version.endswith(flavour.tag_suffix) else (
        version + flavour.tag_suffix)
    release_name = version.removesuffix(flavour.tag_suffix) if flavour.tag_suffix else version
    row = table.releases.get(release_name)
    from_table = None
    if row is not None:
        from_table = row.rs_openshift if flavour.rs_tag == "rs_openshift" else row.rs
    paired = ctx.overlay.params.get(f"{PROFILE}.rsVersion") or from_table
    for use in ctx.rendered.uses:
        ref = use.reference
        if ref is None or use.resource.kind != "RedisEnterpriseCluster" or not ref.tag:
            continue
        if use.component in CARRY_OPERATOR_VERSION and ref.tag != operator_tag:
            findings.append(ctx.finding(
                RULE, f"{use.component} image {use.image} does not carry the operator "
                f"version {operator_tag} (from {source}); the operator supports only its own "
                "version here", use=use))
        elif use.component == RS_COMPONENT:
            if paired is not None and ref.tag != paired:
                findings.append(ctx.finding(
                    RULE, f"Redis Enterprise image {use.image} is not the RS release paired "
                    f"with operator {release_name} (that is {paired})", use=use))
            elif paired is None and release(ref.tag) != release(release_name):
                findings.append(ctx.finding(
                    RULE, f"Redis Enterprise image {use.image} is RS {release(ref.tag)}, "
                    f"but operator {release_name} supports only RS {release(release_name)}",
                    use=use))
    return findings
