"""Rule ``cass-operator-release``: images released together with cass-operator
carry the operator's version.

Which images those are comes from the release table
(kpatch.operators.cass_operator.releases.release_row): the images of the
ImageConfig the release in use ships whose tag is the operator's own version
(the system logger: ``system-logger:v1.26.0`` beside cass-operator v1.26.0).
Images the release ships with their own versions (config builder, client) are
not judged. For a release the table does not know, the system logger is assumed.
The operator image repositories come from the cass-operator profile data
(``operatorImages``).
"""

from __future__ import annotations

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import operator_uses, repository_matches
from kpatch.errors import KpatchError

RULE = "cass-operator-release"
PROFILE = "cass-operator"
# For a release the table does not know: what cass-operator releases in lockstep.
RELEASED_WITH_OPERATOR = ["k8ssandra/system-logger"]


def released_with(version: str) -> list[str]:
    """Repositories of the images the release ships tagged with its own version."""
    from kpatch.operators.cass_operator.releases import release_row
    from kpatch.reference import parse_reference

    try:
        row = release_row(version)
    except (KeyError, KpatchError):
        return RELEASED_WITH_OPERATOR
    found: list[str] = []
    for config in (row.get("shippedImageConfig") or {}).values():
        images = (config or {}).get("images") if isinstance(config, dict) else None
        for image in (images or {}).values():
            if isinstance(image, str):
                try:
                    ref = parse_reference(image)
                except KpatchError:
                    continue
                if ref.tag == version:
                    found.append(ref.repository)
            elif isinstance(image, dict) and image.get("tag") == version and image.get("name"):
                parts = [str(image[k]) for k in ("repository", "name") if image.get(k)]
                found.append("/".join(parts))
    return found or RELEASED_WITH_OPERATOR


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
    lockstep = released_with(version)
    sources = {(u.resource, u.path): u for u in ctx.base.uses}
    findings = []
    for use in ctx.rendered.uses:
        ref = use.reference
        source = sources.get((use.resource, use.path))
        if ref is None or source is None or source.reference is None:
            continue
        if repository_matches(source.reference.repository, lockstep) \
                and ref.tag != version:
            findings.append(ctx.finding(
                RULE, f"{use.image} does not belong to cass-operator {version}, which "
                f"runs here ({running[0].image}): use tag {version}", use=use))
    return findings
