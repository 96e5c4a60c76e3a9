"""What the release rules share: which operator release an install runs.

The operator's version is the tag of its image in the base (its inventory says
which uses run it: repositories from the operator's profile data), so it is
found whatever registry or mapping the overlay moved the image to. The rules
then look at the same resource and field in the rendered overlay.

Operator knowledge read here, all through ``OverlayContext.profile_data``:
``redis-enterprise``: its release table (kpatch/check/redis_release.py);
``cass-operator``: ``operatorImages``. Re-point these names when that knowledge moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpatch.check import OverlayContext
    from kpatch.model import ImageUse

OPERATOR_KINDS = ("Deployment", "StatefulSet", "ClusterServiceVersion")


def repository_matches(repository: str, wanted: list[str]) -> bool:
    return any(repository == w or repository.endswith("/" + w) for w in wanted)


def operator_uses(ctx: OverlayContext, repositories: list[str]) -> list[ImageUse]:
    """Base uses that run the operator: written, in an operator workload."""
    base = ctx.base
    if base is None:
        return []
    return [u for u in base.uses
            if u.reference is not None and not u.implicit and u.reference.tag
            and u.resource.kind in OPERATOR_KINDS
            and repository_matches(u.reference.repository, repositories)]


def rendered_counterpart(ctx: OverlayContext, use: ImageUse) -> ImageUse | None:
    """The use at the same resource and field in the rendered overlay."""
    if ctx.rendered is None:
        return None
    for candidate in ctx.rendered.uses:
        if candidate.resource == use.resource and candidate.path == use.path:
            return candidate
    return None


def release(version: str) -> str:
    """``7.2.4-7`` -> ``7.2.4``; ``v1.32.5`` -> ``1.32.5``."""
    return version.lstrip("v").split("-", 1)[0]


def minor(version: str) -> str:
    return ".".join(release(version).split(".")[:2])
