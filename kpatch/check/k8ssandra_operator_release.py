"""Rule ``k8ssandra-operator-release``: what a k8ssandra-operator release fixes
belongs to that release.

The release in use is the tag of the k8ssandra-operator image in the rendered
overlay (the base's operator workload, at the same field after relocation), or
``--param k8ssandra-operator.operatorVersion`` when the overlay has no operator.
Its row of the release table (kpatch/operators/k8ssandra_operator/releases.yaml,
read through kpatch.operators.k8ssandra_operator.releases) says what it fixes:

- the cass-operator release it installs (``cassOperator.ref``: the
  ``config/cass-operator`` base of the release): a cass-operator workload in the
  same overlay running another release is flagged, citing the row's provenance;
- a parameter that names another release than the operator image runs is
  flagged too: kpatch would derive the cluster's images from the wrong release.

Not judged: what a K8ssandraCluster, Reaper or Stargate may set for itself (Reaper,
Medusa, Stargate, Vector, per-node config and JMX init images: the release only
provides defaults), the ImageConfig's images (configuration, and its system
logger is cass-operator's lockstep image, judged by ``cass-operator-release``),
a release the table does not know, a row whose cass-operator reference is not a
release tag (some releases track cass-operator's ``master``), and an overlay
whose k8ssandra-operator workloads run several releases (which one is in use is
then not known).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kpatch.check import Finding, OverlayContext
from kpatch.check.releases import operator_uses, release, rendered_counterpart

if TYPE_CHECKING:
    from kpatch.model import ImageUse

RULE = "k8ssandra-operator-release"
PROFILE = "k8ssandra-operator"
CASS_OPERATOR_PROFILE = "cass-operator"
_RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+$")


def _normalise(version: str) -> str:
    return version if version.startswith("v") else "v" + version


def _running(ctx: OverlayContext, repositories: list[str]) -> list[ImageUse]:
    """Each operator use as the rendered overlay has it (the base's where the
    overlay lost it)."""
    return [rendered_counterpart(ctx, use) or use for use in operator_uses(ctx, repositories)]


def _row(version: str) -> dict[str, Any] | None:
    """The table's row of a release, None for a release it does not know."""
    from kpatch.operators.k8ssandra_operator.releases import row

    try:
        return row(version)
    except KeyError:
        return None


def _cite(version: str, entry: dict[str, Any]) -> str:
    from kpatch.operators.k8ssandra_operator.releases import OPERATOR_REPOSITORIES

    return f"{OPERATOR_REPOSITORIES[0]} {entry.get('file')}:{entry.get('line')}@{version}"


def check(ctx: OverlayContext) -> list[Finding]:
    from kpatch.operators.k8ssandra_operator.releases import OPERATOR_REPOSITORIES, PARAM

    if ctx.rendered is None or ctx.base is None \
            or not any(p.name == PROFILE for p in ctx.profiles):
        return []
    findings: list[Finding] = []
    param = ctx.overlay.params.get(f"{PROFILE}.{PARAM}")
    running = _running(ctx, list(OPERATOR_REPOSITORIES))
    tags = {u.reference.tag: u for u in running if u.reference is not None and u.reference.tag}
    if len(tags) > 1:
        return []  # several releases in one overlay: which one is in use is not known
    if tags:
        tag, operator = next(iter(tags.items()))
        assert tag is not None
        version, source = _normalise(tag), f"the operator image {operator.image}"
        if param is not None and _normalise(param) != version:
            file, line = ctx.overlay.where("params")
            findings.append(ctx.finding(
                RULE, f"k8ssandra-operator image {operator.image} runs {version}, but "
                f"{PROFILE}.{PARAM} is {param} ({file}:{line}): kpatch derives the cluster's "
                f"images from {_normalise(param)}'s defaults; set the parameter to {version} "
                "or remove it", use=operator))
    elif param is not None:
        version, source = _normalise(param), f"--param {PROFILE}.{PARAM}={param}"
    else:
        return findings
    row = _row(version)
    pinned = (row or {}).get("cassOperator")
    if not isinstance(pinned, dict) or not _RELEASE_TAG.match(str(pinned.get("ref") or "")):
        return findings
    wanted = str(pinned["ref"])
    cass_images = [str(i) for i in ctx.profile_data(CASS_OPERATOR_PROFILE).get(
        "operatorImages") or []]
    for use in _running(ctx, cass_images):
        ref = use.reference
        if ref is None or ref.tag is None or release(ref.tag) == release(wanted):
            continue
        findings.append(ctx.finding(
            RULE, f"cass-operator image {use.image} is not the cass-operator release that "
            f"k8ssandra-operator {version} ({source}) installs: that is {wanted} "
            f"({_cite(version, pinned)})", use=use))
    return findings
