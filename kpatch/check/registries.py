"""Rule ``registries``: every image the rendered overlay pulls (written, embedded
in ConfigMaps, and implicit) comes from an allowed registry, unless excepted.

Allowed: ``allowedRegistries`` of kpatch.yaml, by default the target registry and
the targets of the mappings. An exception (image prefix, reason) lets an image stay.
"""

from __future__ import annotations

from kpatch.check import Finding, OverlayContext

RULE = "registries"


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + "/") for p in prefixes)


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None:
        return []
    allowed = ctx.overlay.allowed()
    findings = []
    for use in ctx.rendered.uses:
        if not use.pulled:
            continue
        ref = use.reference
        if ref is None:
            findings.append(ctx.finding(
                RULE, f"the image pulled here cannot be known, so its registry cannot be "
                f"checked: {use.reason}", use=use))
            continue
        if under(ref.name, allowed) or ctx.overlay.exception_for(ref.name, "registry"):
            continue
        kind = "implicit image" if use.implicit else "image"
        findings.append(ctx.finding(
            RULE, f"{kind} {use.image} is pulled from {ref.domain}, which is not an allowed "
            f"registry ({', '.join(allowed)}); relocate it with `kpatch sync "
            f"{ctx.overlay.name}` or add an exception with a reason to kpatch.yaml", use=use))
    return findings
