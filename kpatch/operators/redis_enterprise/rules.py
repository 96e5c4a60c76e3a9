"""Redis Enterprise: images the operator pulls for specs a cluster leaves out.

Bootstrapper and services rigger take the operator's version; the Redis
Enterprise Software image takes the RS version paired with it (profile data,
or ``--param redis-enterprise.rsVersion``). Unknown versions are reported as
unknown, never guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpatch.implicit import RuleContext
from kpatch.model import ResourceId

if TYPE_CHECKING:
    from kpatch.profile import ImplicitRule
    from kpatch.yamlio import Document


def operator_version(ctx: RuleContext, profile: str) -> tuple[str | None, str]:
    """The operator version and where it came from."""
    repositories = [str(r) for r in ctx.data(profile).get("operatorRepositories") or []]
    release = ctx.operator_release(profile, repositories)
    if release is None:
        return None, ""
    return release.version, release.source


def defaults_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId) -> None:
    spec = doc.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    data = ctx.data(rule.profile)
    op_version, op_source = operator_version(ctx, rule.profile)
    rs_version = ctx.param(rule.profile, "rsVersion")
    rs_source = f"--param {rule.profile}.rsVersion"
    if not rs_version and op_version:
        rs_version = (data.get("versionPairs") or {}).get(op_version)
        rs_source = f"the RS release paired with operator {op_version} (profile data)"
    for entry in data.get("defaults") or []:
        field = str(entry["field"])
        if spec.get(field) is not None:
            continue  # written: the locator reports it
        component = str(entry["component"])
        repository = str(entry["repository"])
        if entry.get("version") == "operator":
            version, source = op_version, op_source
            missing = (f"operator version unknown: no operator Deployment in the input; pass "
                       f"--param {rule.profile}.operatorVersion=VERSION")
        else:
            version, source = rs_version, rs_source
            missing = (f"RS version unknown for operator {op_version}: pass --param "
                       f"{rule.profile}.rsVersion=VERSION" if op_version else
                       f"RS version unknown: pass --param {rule.profile}.operatorVersion or "
                       f"--param {rule.profile}.rsVersion")
        ctx.implicit(
            image=f"{repository}:{version}" if version else None,
            resource=rid, tokens=("spec", field), doc=doc, profile=rule.profile,
            component=component,
            reason=(f"spec.{field} left out: the operator pulls {repository} with the version "
                    f"from {source}") if version else f"spec.{field} left out; {missing}",
        )
