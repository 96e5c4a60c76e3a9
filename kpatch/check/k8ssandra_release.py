"""Rule ``k8ssandra-release``: images k8ssandra-operator falls back to must be
those of the release in use.

When a K8ssandraCluster names no Reaper or Medusa image and no ImageConfig does,
kpatch uses the defaults of one k8ssandra-operator release (profile data
``defaultImages``, of release ``defaultsRelease``). Installed with an operator of
another minor release, those images do not belong to it: pin the images of your
release in the ImageConfig or the cluster.
"""

from __future__ import annotations

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import minor, operator_uses

RULE = "k8ssandra-release"
PROFILE = "k8ssandra-operator"
OPERATOR_REPOSITORIES = ["k8ssandra/k8ssandra-operator"]


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.base is None:
        return []
    data = ctx.profile_data(PROFILE)
    defaults = data.get("defaultImages") or {}
    defaults_release = data.get("defaultsRelease")
    if not defaults or not isinstance(defaults_release, str):
        return []
    running = operator_uses(ctx, OPERATOR_REPOSITORIES)
    versions = {u.reference.tag for u in running if u.reference is not None and u.reference.tag}
    findings = []
    for version in sorted(versions):
        if minor(version) == minor(defaults_release):
            continue
        for use in ctx.base.uses:
            if use.implicit and use.component in defaults and any(
                    e.get("level") == "default" for e in use.effective_for):
                findings.append(ctx.finding(
                    RULE, f"{use.image} is the {use.component} default of k8ssandra-operator "
                    f"{defaults_release}, not of {version} which runs here; set the image of "
                    f"your release (ImageConfig images.{use.component}, or the cluster)",
                    use=use))
    return findings
