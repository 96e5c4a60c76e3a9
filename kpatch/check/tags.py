"""Rule ``tags``: each relocated image keeps the tag and digest of its source, and
untagged or ``latest`` images are pulled only where an exception allows it.

The source is the same field of the same resource in the base (its inventory,
implicit images included), so a hand edit that swaps a tag is caught.
"""

from __future__ import annotations

from kpatch.check import Finding, OverlayContext

RULE = "tags"


def check(ctx: OverlayContext) -> list[Finding]:
    if ctx.rendered is None:
        return []
    base = ctx.base
    sources = {(u.resource, u.path): u for u in base.uses} if base is not None else {}
    findings = []
    for use in ctx.rendered.uses:
        ref = use.reference
        if ref is None or not use.pulled:
            continue
        source = sources.get((use.resource, use.path))
        if source is not None and source.reference is not None:
            before = (source.reference.tag, source.reference.digest)
            if before != (ref.tag, ref.digest):
                findings.append(ctx.finding(
                    RULE, f"{use.image} does not keep the tag and digest of its source "
                    f"{source.image}: a relocated image must be the same image", use=use))
                continue
        floating = ref.digest is None and (ref.tag is None or ref.tag == "latest")
        if floating and not ctx.overlay.exception_for(ref.name, "latest"):
            how = "has no tag (so :latest)" if ref.tag is None else "is tagged latest"
            findings.append(ctx.finding(
                RULE, f"{use.image} {how}: pin a version, or add an exception with "
                "`allow: [latest]` and a reason to kpatch.yaml", use=use))
    return findings
