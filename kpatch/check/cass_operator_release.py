"""Rule ``cass-operator-release``: images released together with cass-operator
carry the operator's version.

The system logger (``k8ssandra/system-logger``) is built and tagged with each
cass-operator release: the ImageConfig cass-operator ships at v1.26.0 names
``system-logger:v1.26.0``. A system logger of another release beside the
operator image is flagged. The operator image repositories come from the
cass-operator profile data (``operatorImages``).
"""

from __future__ import annotations

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import operator_uses, repository_matches

RULE = "cass-operator-release"
PROFILE = "cass-operator"
# Repositories cass-operator releases with its own version tag.
RELEASED_WITH_OPERATOR = ["k8ssandra/system-logger"]


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None or ctx.base is None:
        return []
    data = ctx.profile_data(PROFILE)
    running = operator_uses(ctx, [str(i) for i in data.get("operatorImages") or []])
    versions = {u.reference.tag for u in running if u.reference is not None}
    if len(versions) != 1:
        return []
    version = next(iter(versions))
    assert version is not None
    sources = {(u.resource, u.path): u for u in ctx.base.uses}
    findings = []
    for use in ctx.rendered.uses:
        ref = use.reference
        source = sources.get((use.resource, use.path))
        if ref is None or source is None or source.reference is None:
            continue
        if repository_matches(source.reference.repository, RELEASED_WITH_OPERATOR) \
                and ref.tag != version:
            findings.append(ctx.finding(
                RULE, f"{use.image} does not belong to cass-operator {version}, which "
                f"runs here ({running[0].image}): use tag {version}", use=use))
    return findings
