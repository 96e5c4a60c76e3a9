"""k8ssandra-operator: the effective image of each component, per datacenter.

Precedence (../shared/reference/operators.md and the seed page): datacenter over
cluster over the cass-operator ImageConfig; Stargate racks over their
datacenter. Written references that win are marked ``effective_for`` with the
level that won; components no level names become implicit uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpatch.implicit import RuleContext
from kpatch.locate import format_parts
from kpatch.model import ResourceId
from kpatch.model import text_or_none as _text
from kpatch.operators.cass_operator.rules import (
    PROFILE as CASS_PROFILE,
)
from kpatch.operators.cass_operator.rules import (
    ImageConfigChoice,
    choose_image_config,
    derive_server_image,
)

if TYPE_CHECKING:
    from kpatch.profile import ImplicitRule
    from kpatch.yamlio import Document

Tokens = tuple[str | int, ...]


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _ClusterResolver:
    def __init__(self, ctx: RuleContext, rule: ImplicitRule, doc: Document,
                 rid: ResourceId) -> None:
        self.ctx, self.rule, self.doc, self.rid = ctx, rule, doc, rid
        self.data = ctx.data(rule.profile)
        self.spec = _map(doc.data.get("spec"))
        self.cassandra = _map(self.spec.get("cassandra"))
        self.server_type = _text(self.cassandra.get("serverType")) or "cassandra"
        self.config: ImageConfigChoice = choose_image_config(ctx)

    # -- helpers -------------------------------------------------------------

    def _written_wins(self, tokens: Tokens, **effective: Any) -> bool:
        use = self.ctx.written(self.rid, tokens)
        if use is None:
            return False
        self.ctx.mark_effective(use, **effective)
        return True

    def _implicit(self, image: str | None, tokens: Tokens, use_component: str, reason: str,
                  **effective: Any) -> None:
        self.ctx.implicit(
            image=image, resource=self.rid, tokens=tokens, doc=self.doc,
            profile=self.rule.profile, component=use_component, reason=reason,
            effective=effective or None,
        )

    def _from_image_config(self, name: str, **effective: Any) -> bool:
        embedded = self.config.embedded
        if embedded is None:
            return False
        use = self.ctx.written(embedded.resource, (*embedded.tokens, "#", "images", name))
        if use is None:
            return False
        self.ctx.mark_effective(use, **effective)
        return True

    # -- components ----------------------------------------------------------

    def server(self, dc: dict[str, Any], base: Tokens, dc_name: str) -> None:
        effective = {"datacenter": dc_name, "component": "server"}
        if self._written_wins((*base, "serverImage"), **effective, level="datacenter"):
            return
        if self._written_wins(("spec", "cassandra", "serverImage"), **effective, level="cluster"):
            return
        version = _text(dc.get("serverVersion")) or _text(self.cassandra.get("serverVersion"))
        if version is None:
            self._implicit(None, (*base, "serverImage"), "server",
                           "server image unknown: no serverImage and no serverVersion",
                           **effective, level="unknown")
            return
        builtin = dict(self.ctx.data(CASS_PROFILE).get("builtinRepositories") or {})
        if not self.config.data:
            self.config = ImageConfigChoice(
                {"apiVersion": "config.k8ssandra.io/v1beta1"}, "cass-operator built-ins",
                "default-imageconfig")
        image = derive_server_image(self.config.data, self.server_type, version, builtin)
        self._implicit(
            image, (*base, "serverImage"), "server",
            f"derived by cass-operator from serverType {self.server_type}, serverVersion "
            f"{version} and {self.config.description}",
            **effective, level=self.config.level,
        )

    def stargate(self, dc: dict[str, Any], base: Tokens, dc_name: str) -> None:
        cluster_stargate = self.spec.get("stargate")
        dc_stargate = dc.get("stargate")
        if not isinstance(cluster_stargate, dict) and not isinstance(dc_stargate, dict):
            return
        racks = _map(dc_stargate).get("racks") or []
        racks_with_image = 0
        for r, rack in enumerate(racks if isinstance(racks, list) else []):
            rack_name = _text(_map(rack).get("name")) or f"racks[{r}]"
            if self._written_wins((*base, "stargate", "racks", r, "containerImage"),
                                  datacenter=dc_name, rack=rack_name, component="stargate",
                                  level="rack"):
                racks_with_image += 1
        if racks and racks_with_image == len(racks):
            return
        effective = {"datacenter": dc_name, "component": "stargate"}
        if self._written_wins((*base, "stargate", "containerImage"), **effective,
                              level="datacenter"):
            return
        if self._written_wins(("spec", "stargate", "containerImage"), **effective,
                              level="cluster"):
            return
        version = _text(dc.get("serverVersion")) or _text(self.cassandra.get("serverVersion"))
        defaults = _map(self.data.get("stargate"))
        key = f"{self.server_type}-{version}"
        name = next(
            (str(n["name"]) for n in defaults.get("names") or []
             if isinstance(n, dict) and key.startswith(str(n.get("prefix")))),
            None,
        )
        tokens = ((*base, "stargate", "containerImage") if isinstance(dc_stargate, dict)
                  else ("spec", "stargate", "containerImage"))
        if version is None or name is None:
            self._implicit(None, tokens, "stargate",
                           f"no default Stargate image for {self.server_type} {version}",
                           **effective, level="unknown")
            return
        image = format_parts({
            "registry": str(defaults.get("registry", "docker.io")),
            "repository": str(defaults.get("repository", "")),
            "name": name,
            "tag": str(defaults.get("tag", "")),
        })
        self._implicit(image, tokens, "stargate",
                       f"k8ssandra-operator default Stargate image for {self.server_type} "
                       f"{version}", **effective, level="default")

    def operator_default(self, component: str, tokens: Tokens, effective: dict[str, Any]
                         ) -> None:
        """Reaper and Medusa: CR block, else ImageConfig images.<component>, else default."""
        if self._written_wins(tokens, **effective, level="cluster"):
            return
        if self._from_image_config(component, **effective, level="imageconfig"):
            return
        parts = _map(_map(self.data.get("defaultImages")).get(component))
        release = self.data.get("defaultsRelease", "this release")
        image = format_parts({k: str(v) for k, v in parts.items()}) or None
        self._implicit(
            image, tokens, component,
            f"k8ssandra-operator {release} default {component} image (no containerImage, "
            "no ImageConfig images." + component + ")" if image else
            f"{component} image unknown: no containerImage and no ImageConfig entry",
            **effective, level="default",
        )

    def vector(self, telemetry_levels: list[tuple[Tokens, dict[str, Any], str]],
               component: str, effective: dict[str, Any]) -> None:
        """telemetry.vector at the given levels, most specific first."""
        enabled = None
        for _, telemetry, _ in telemetry_levels:
            flag = _map(_map(telemetry).get("vector")).get("enabled")
            if isinstance(flag, bool):
                enabled = flag
                break
        if not enabled:
            return
        for tokens, _, level in telemetry_levels:
            if self._written_wins((*tokens, "vector", "image"), **effective, level=level):
                return
        target = (*telemetry_levels[0][0], "vector", "image")
        image = self.ctx.param(self.rule.profile, "vectorImage")
        if image:
            self._implicit(image, target, component,
                           f"default Vector image given by --param {self.rule.profile}"
                           ".vectorImage", **effective, level="param")
        else:
            self._implicit(
                None, target, component,
                "Vector is enabled with no image: the operator's default Vector image is not "
                f"known to kpatch; pass --param {self.rule.profile}.vectorImage=IMAGE",
                **effective, level="unknown")


def cluster_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId) -> None:
    resolver = _ClusterResolver(ctx, rule, doc, rid)
    datacenters = resolver.cassandra.get("datacenters") or []
    if not isinstance(datacenters, list):
        return
    cluster_telemetry = _map(resolver.cassandra.get("telemetry"))
    dc_names = []
    for i, dc in enumerate(datacenters):
        if not isinstance(dc, dict):
            continue
        base: Tokens = ("spec", "cassandra", "datacenters", i)
        dc_name = _text(_map(dc.get("metadata")).get("name")) or f"datacenters[{i}]"
        dc_names.append(dc_name)
        resolver.server(dc, base, dc_name)
        resolver.stargate(dc, base, dc_name)
        if isinstance(resolver.spec.get("medusa"), dict):
            resolver.operator_default(
                "medusa", ("spec", "medusa", "containerImage"),
                {"datacenter": dc_name, "component": "medusa"})
        resolver.vector(
            [((*base, "telemetry"), _map(dc.get("telemetry")), "datacenter"),
             (("spec", "cassandra", "telemetry"), cluster_telemetry, "cluster")],
            "vector", {"datacenter": dc_name, "component": "vector"})
    reaper = resolver.spec.get("reaper")
    if isinstance(reaper, dict):
        mode = _text(reaper.get("deploymentMode")) or "PER_DC"
        scopes = dc_names if mode == "PER_DC" else [None]
        for scope in scopes:
            effective = {"datacenter": scope, "component": "reaper"}
            resolver.operator_default("reaper", ("spec", "reaper", "containerImage"), effective)
            resolver.vector(
                [(("spec", "reaper", "telemetry"), _map(reaper.get("telemetry")), "cluster")],
                "reaper-vector", {"datacenter": scope, "component": "reaper-vector"})
