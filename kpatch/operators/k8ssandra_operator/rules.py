"""k8ssandra-operator: the images a K8ssandraCluster, a Reaper or a Stargate pulls.

Resolution follows the operator's own functions, one Python function per Go
function (each docstring names it, ``file:line@tag``), looked up for the release
in use (releases.py). Where the CR writes an image, the written reference is
marked with who pulls it (``effective_for``) and, when the operator completes a
partial block from elsewhere (the ImageConfig, code defaults), corrected to the
image really pulled; where it writes none, an implicit use is created at the
field relocation writes into.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpatch.implicit import RuleContext
from kpatch.model import ImageUse, NamedEntry, ResourceId, entry_image_tokens, lookup
from kpatch.model import text_or_none as _text
from kpatch.operators.cass_operator import podtemplate
from kpatch.operators.k8ssandra_operator import cass
from kpatch.operators.k8ssandra_operator.releases import Release, release_in_use
from kpatch.reference import parse_reference

if TYPE_CHECKING:
    from kpatch.profile import ImplicitRule
    from kpatch.yamlio import Document

Tokens = tuple[str | int, ...]
Image = dict[str, str]

# Slices goalesce merges by identity (pkg/goalesce/utils.go:30-38@v1.32.5), by the
# YAML key holding them; every other list is atomic (the datacenter's wins).
_MERGE_BY_NAME = frozenset({"containers", "initContainers", "volumes", "env", "racks",
                            "additionalVolumes", "pvcs"})
_IMAGE_PARTS = ("registry", "repository", "name", "tag")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- pkg/images (k8ssandra-operator's own image blocks) ---------------------------


def image_string(image: Image) -> str:
    """Image.String (pkg/images/images.go:57@v1.32.5): ``registry/repository/name:tag``,
    without the registry when it is empty."""
    path = "/".join(image[p] for p in ("registry", "repository", "name") if image.get(p))
    return f"{path}:{image.get('tag', '')}"


def apply_defaults(image: dict[str, Any] | None, defaults: Image, default_registry: str) -> Image:
    """Image.ApplyDefaults (pkg/images/images.go:74@v1.32.5): the block's non-empty
    parts over the defaults; registry "" -> images.DefaultRegistry, tag "" -> latest."""
    merged = dict(defaults)
    for part in _IMAGE_PARTS:
        value = _map(image).get(part)
        if isinstance(value, (str, int, float)) and str(value):
            merged[part] = str(value)
    merged.setdefault("registry", "")
    if not merged["registry"]:
        merged["registry"] = default_registry
    if not merged.get("tag"):
        merged["tag"] = "latest"
    return merged


def crd_image_block(block: Any, release: Release) -> dict[str, Any] | None:
    """What the API server stores for an image block: a present block without a
    tag gets ``tag: latest`` (``+kubebuilder:default="latest"``,
    pkg/images/images.go:39@v1.32.5)."""
    if not isinstance(block, dict):
        return None
    out = dict(block)
    if release.row["crdDefaults"].get("imageTag") and not _text(out.get("tag")):
        out["tag"] = "latest"
    return out


# --- pkg/goalesce, pkg/cassandra ------------------------------------------------


def merge_crs(cluster: Any, dc: Any, key: str | None = None) -> Any:
    """goalesceutils.MergeCRs (pkg/goalesce/utils.go:14@v1.32.5): deep merge, the
    datacenter's non-empty values win; containers, volumes, racks... merge by name;
    other lists are replaced whole. Inputs are never modified (results share their
    unchanged parts)."""
    if dc is None or dc == "":
        return cluster
    if cluster is None or cluster == "":
        return dc
    if isinstance(cluster, dict) and isinstance(dc, dict):
        out = dict(cluster)
        for k, v in dc.items():
            out[k] = merge_crs(cluster.get(k), v, k)
        return out
    if isinstance(cluster, list) and isinstance(dc, list):
        if key in _MERGE_BY_NAME:
            return _merge_by_name(cluster, dc, key)
        return dc if dc else cluster
    return dc


def _merge_by_name(cluster: list[Any], dc: list[Any], key: str | None) -> list[Any]:
    out = list(cluster)
    index = {_map(item).get("name"): i for i, item in enumerate(out)}
    for item in dc:
        name = _map(item).get("name")
        if name is None or name not in index:
            out.append(item)
            continue
        if key == "volumes" and len(_map(item)) > 1:
            out[index[name]] = item  # VolumeSource merges atomically
        else:
            out[index[name]] = merge_crs(out[index[name]], item)
    return out


_CLUSTER_ONLY = frozenset({"datacenters", "serverType", "superuserSecretRef",
                           "serverEncryptionStores", "clientEncryptionStores", "additionalSeeds"})


def coalesce(cluster_template: dict[str, Any], dc_template: dict[str, Any],
             release: Release) -> dict[str, Any]:
    """Coalesce (pkg/cassandra/datacenter.go:342@v1.32.5): the datacenter's options
    merged over the cluster's (field by field up to v1.4.1, MergeCRs from v1.5.0).
    Returns the image-relevant part of the DatacenterConfig."""
    cluster = {k: v for k, v in cluster_template.items() if k not in _CLUSTER_ONLY}
    dc = {k: v for k, v in dc_template.items() if k not in ("metadata", "stargate")}
    if release.at_least("v1.5.0"):
        merged = merge_crs(cluster, dc)
    else:
        merged = {**cluster, **{k: v for k, v in dc.items() if v not in (None, "", [], {})}}
    merged["telemetry"] = merge_telemetry(_map(dc_template.get("telemetry")) or None,
                                          _map(cluster_template.get("telemetry")) or None)
    return _map(merged)


def merge_telemetry(dc: dict[str, Any] | None, cluster: dict[str, Any] | None) -> dict[str, Any]:
    """CassandraDatacenterTemplate.MergeTelemetry / TelemetrySpec.MergeWith
    (apis/k8ssandra/v1alpha1/k8ssandracluster_types.go:327@v1.32.5)."""
    return _map(merge_crs(cluster, dc))


def is_vector_enabled(telemetry: Any) -> bool:
    """TelemetrySpec.IsVectorEnabled (apis/telemetry/v1alpha1/telemetry_methods.go:43@v1.32.5)."""
    return lookup(telemetry, ("vector", "enabled")) is True


def add_num_tokens(cassandra_yaml: dict[str, Any], server_type: str, version: str) -> Any:
    """AddNumTokens (pkg/cassandra/config.go:52@v1.32.5): 256 for Cassandra 3.x, else 16."""
    if "num_tokens" in cassandra_yaml:
        return cassandra_yaml["num_tokens"]
    return 256 if server_type == "cassandra" and version.startswith("3.") else 16


def compute_initial_tokens(dc_configs: list[dict[str, Any]], server_type: str) -> bool:
    """ComputeInitialTokens / collectTokenAllocationInfos (pkg/cassandra/tokens.go:21,54
    @v1.32.5): initial tokens (so a per-node ConfigMap and its init container) only
    when no DC has a user per-node config, every DC has num_tokens < 16 and the
    partitioner is Murmur3 or Random."""
    if not dc_configs:
        return False
    for config in dc_configs:
        if _text(lookup(config, ("perNodeConfigMapRef", "name"))):
            return False
        cassandra_yaml = _map(lookup(config, ("config", "cassandraYaml")))
        version = str(config.get("serverVersion") or "")
        num_tokens = add_num_tokens(cassandra_yaml, server_type, version)
        try:
            if int(str(num_tokens)) >= 16:
                return False
        except ValueError:
            return False
        partitioner = cassandra_yaml.get("partitioner")
        if partitioner is not None and not (isinstance(partitioner, str) and (
                "Murmur3Partitioner" in partitioner or "RandomPartitioner" in partitioner)):
            return False
    return True


# --- pkg/stargate --------------------------------------------------------------------


def stargate_crd_defaults(template: Any, release: Release) -> dict[str, Any] | None:
    """A present Stargate template as the API server stores it: no containerImage ->
    the CRD default (apis/stargate/v1alpha1/stargate_types.go:48@v1.32.5); a block
    without tag -> tag latest."""
    if not isinstance(template, dict):
        return None
    out = dict(template)
    block = crd_image_block(out.get("containerImage"), release)
    if block is None:
        default = release.row["crdDefaults"].get("stargateContainerImage")
        block = dict(default["value"]) if default else None
    if block is not None:
        out["containerImage"] = block
    if "racks" in out:
        out["racks"] = [stargate_crd_defaults(r, release) or r for r in _list(out["racks"])]
    return out


def stargate_dc_merge_with(dc: dict[str, Any] | None,
                           cluster: dict[str, Any] | None) -> dict[str, Any] | None:
    """StargateDatacenterTemplate.MergeWith (apis/stargate/v1alpha1/stargate_types.go:162
    @v1.32.5): dc over cluster, deep merge; neither = no Stargate."""
    if dc is None and cluster is None:
        return None
    return _map(merge_crs(cluster, dc))


def stargate_rack_merge_with(rack: dict[str, Any] | None,
                             dc: dict[str, Any]) -> dict[str, Any]:
    """StargateRackTemplate.MergeWith (apis/stargate/v1alpha1/stargate_types.go:191@v1.32.5)."""
    if rack is None:
        return dc
    return _map(merge_crs({k: v for k, v in dc.items() if k != "racks"}, rack))


def compute_cluster_version(server_type: str, server_version: str, release: Release) -> str:
    """computeClusterVersion (pkg/stargate/deployments.go:230@v1.32.5): DSE -> 6.8
    (from v1.11.0), a version starting with "3" -> 3.11, anything else -> 4.0."""
    if server_type == "dse" and "dse68" in release.row["stargate"]["names"]:
        return "dse68"
    return "3" if server_version.startswith("3") else "4"


def stargate_compute_image(block: dict[str, Any] | None, cluster_version: str,
                           release: Release) -> Image:
    """computeImage (pkg/stargate/deployments.go:242@v1.32.5): the merged block over
    stargateio/<name for the cluster version>:<DefaultVersion>."""
    row = release.row["stargate"]
    defaults: Image = {**row["image"], "name": row["names"][cluster_version]}
    return apply_defaults(block, defaults, release.default_registry)


def split_racks(size: int, racks: int) -> list[int]:
    """cassdcapi.SplitRacks (cass-operator): replicas spread over racks, the first
    racks taking the remainder."""
    if racks <= 0:
        return []
    return [size // racks + (1 if i < size % racks else 0) for i in range(racks)]


def new_stargate_deployments(template: dict[str, Any], racks: list[str]
                             ) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """NewDeployments (pkg/stargate/deployments.go:72-90@v1.32.5): one Deployment per
    DC rack while replicas last, each from its rack template merged over the DC
    template. Returns (rack, merged template, rack template)."""
    size = template.get("size")
    replicas = split_racks(size if isinstance(size, int) else 1, len(racks))
    out = []
    for rack, count in zip(racks, replicas, strict=True):
        if count == 0:
            break
        rack_template = next((r for r in _list(template.get("racks"))
                              if _map(r).get("name") == rack), None)
        out.append((rack, stargate_rack_merge_with(rack_template, template), rack_template))
    return out


# --- the resolver ----------------------------------------------------------------------


class _Resolver:
    """Resolves one resource; records uses through the RuleContext."""

    def __init__(self, ctx: RuleContext, rule: ImplicitRule, doc: Document,
                 rid: ResourceId) -> None:
        self.ctx, self.rule, self.doc, self.rid = ctx, rule, doc, rid
        self.release = release_in_use(ctx)
        self.about = f"k8ssandra-operator {self.release.version} ({self.release.source})"

    # -- recording --------------------------------------------------------------

    def pulled(self, image: str | None, tokens: Tokens, component: str, reason: str,
               level: str, **scope: Any) -> None:
        """The image pulled through ``tokens``: the written reference there (corrected
        to what the operator really pulls), else an implicit use."""
        self.pulled_at(image, tokens, component, reason, level, None, scope)

    def pulled_at(self, image: str | None, tokens: Tokens, component: str, reason: str,
                  level: str, entry: NamedEntry | None, scope: dict[str, Any]) -> None:
        """``pulled``, where no field holds the image: ``entry`` is the list entry
        relocation writes it into."""
        effective = {**scope, "component": component, "level": level}
        written = self.ctx.written(self.rid, tokens)
        if written is not None and image is not None:
            self._correct(written, image, reason)
            self.ctx.mark_effective(written, **effective)
            return
        self.ctx.implicit(image=image, resource=self.rid, tokens=tokens, doc=self.doc,
                          profile=self.rule.profile, component=component,
                          reason=f"{reason}; {self.about}", effective=effective, entry=entry)

    def mark(self, tokens: Tokens, **effective: Any) -> bool:
        written = self.ctx.written(self.rid, tokens)
        if written is None:
            return False
        self.ctx.mark_effective(written, **effective)
        return True

    def not_pulled(self, tokens: Tokens, note: str) -> None:
        written = self.ctx.written(self.rid, tokens)
        if written is not None and not written.effective_for:
            written.pulled = False
            written.note = note

    def _correct(self, use: ImageUse, image: str, reason: str) -> None:
        if use.image == image:
            return
        use.image = image
        use.reference = parse_reference(image)
        use.reason = f"{reason} (the operator completes the block)"

    # -- components ---------------------------------------------------------------

    def vector_default(self, component: str) -> tuple[str | None, str, str]:
        """configureVector (pkg/reaper/vector.go:57, pkg/stargate/vector.go:56@v1.32.5):
        the ImageConfig's system-logger from v1.30.0, vector.DefaultVectorImage before."""
        source = _map(self.release.row["vector"].get(component))
        if source.get("from") == "code":
            image = self.release.row["vector"]["image"]
            return (str(image["image"]), f"default Vector image ({image['file']}:"
                    f"{image['line']}@{self.release.version})", "default")
        return cass.system_logger_image(self.ctx, self.release)

    def reaper(self, spec: dict[str, Any], base: Tokens, **scope: Any) -> None:
        """computePodSpec / computeInitContainers / configureVector
        (pkg/reaper/deployment.go:355-372,579-608, pkg/reaper/vector.go:53@v1.32.5)."""
        release = self.release
        block = crd_image_block(spec.get("containerImage"), release)
        main: str | None
        if release.row["reaper"]["from"] == "code":
            crd = release.row["crdDefaults"].get("reaperContainerImage")
            if block is None and crd:
                block = dict(crd["value"])
            main = image_string(apply_defaults(block, release.row["reaper"]["image"],
                                               release.default_registry))
            reason, level = f"Reaper default ({release.cite('reaper')})", "default"
        else:
            base_image, description, level = cass.named_image(self.ctx, release, "reaper")
            image = cass.apply_overrides(base_image or {}, block)
            main = cass.image_string(image)
            reason = (f"images.reaper of {description} with the CR's non-empty parts "
                      f"(ApplyOverrides, {release.cite('reaper')})")
            if main is None:
                reason = f"Reaper image unknown: {description} has no images.reaper"
                level = "unknown"
        if block is not None and spec.get("containerImage") is not None:
            level = "cluster" if self.rid.kind == "K8ssandraCluster" else "resource"
        self.pulled(main, (*base, "containerImage"), "reaper", reason, level, **scope)
        init = (*base, "initContainerImage")
        if release.row["reaperInit"]["from"] == "initContainerImage":
            init_block = crd_image_block(spec.get("initContainerImage"), release)
            crd = release.row["crdDefaults"].get("reaperContainerImage")
            if init_block is None and crd:
                init_block = dict(crd["value"])
            init_image = image_string(apply_defaults(
                init_block, release.row["reaper"]["image"], release.default_registry))
            self.pulled(init_image, init, "reaper-init", f"Reaper init default "
                        f"({release.cite('reaperInit')})", "default", **scope)
        else:
            self.not_pulled(init, f"not read by {self.about}: the init container runs the "
                            f"main image ({release.cite('reaperInit')})")
        telemetry = spec.get("telemetry")
        if is_vector_enabled(telemetry):
            self.vector(telemetry, (*base, "telemetry"), "reaper-vector", "reaper", **scope)

    def vector(self, telemetry: Any, base: Tokens, component: str, source: str,
               **scope: Any) -> None:
        tokens = (*base, "vector", "image")
        if not self.release.row["vector"].get(source):
            self.not_pulled(tokens, f"no Vector sidecar in {self.about} (from v1.5.0)")
            return
        if _text(lookup(telemetry, ("vector", "image"))):
            self.mark(tokens, **scope, component=component, level="written")
            return
        image, reason, level = self.vector_default(source)
        self.pulled(image, tokens, component, reason, level, **scope)

    def medusa(self, spec: dict[str, Any], dc_names: list[str]) -> None:
        """setImage (pkg/medusa/reconcile.go:325@v1.32.5): containers medusa and
        medusa-restore and the standalone Medusa Deployment; PurgeCronJob
        (pkg/medusa/reconcile.go:612@v1.26.0) from v1.12.0 to v1.26.0."""
        release = self.release
        block = crd_image_block(spec.get("containerImage"), release)
        image: str | None
        if release.row["medusa"]["from"] == "code":
            image = image_string(apply_defaults(block, release.row["medusa"]["image"],
                                                release.default_registry))
            reason, level = f"Medusa default ({release.cite('medusa')})", "default"
        else:
            base_image, description, level = cass.named_image(self.ctx, release, "medusa")
            image = cass.image_string(cass.apply_overrides(base_image or {}, block))
            reason = (f"images.medusa of {description} with the CR's non-empty parts "
                      f"(ApplyOverrides, {release.cite('medusa')})")
            if image is None:
                reason, level = f"Medusa image unknown: {description} has no images.medusa", \
                    "unknown"
        if block is not None:
            level = "cluster"
        for dc in dc_names:
            self.pulled(image, ("spec", "medusa", "containerImage"), "medusa", reason, level,
                        datacenter=dc)
        purge = release.row.get("purgeCronJob")
        if purge and spec.get("purgeBackups") is not False:
            for dc in dc_names:
                self.ctx.implicit(
                    image=str(purge["image"]), resource=self.rid, tokens=("spec", "medusa"),
                    doc=self.doc, profile=self.rule.profile, component="medusa-purge",
                    reason=f"Medusa purge CronJob image, fixed in the operator's code "
                           f"({release.cite('purgeCronJob')}); {self.about}",
                    effective={"datacenter": dc, "component": "medusa-purge",
                               "level": "default"})

    def stargate_images(self, template: dict[str, Any], racks: list[str], server_type: str,
                        server_version: str | None
                        ) -> list[tuple[str, str | None, str, dict[str, Any] | None]]:
        """(rack, image, reason, rack template) per Stargate Deployment."""
        out: list[tuple[str, str | None, str, dict[str, Any] | None]] = []
        for rack, merged, rack_template in new_stargate_deployments(template, racks):
            block = _map(merged.get("containerImage")) or None
            if server_version is None and not _text(_map(block).get("name")):
                out.append((rack, None, "Stargate image unknown: the datacenter's "
                            "serverVersion is not known", rack_template))
                continue
            version = compute_cluster_version(server_type, server_version or "", self.release)
            image = image_string(stargate_compute_image(block, version, self.release))
            out.append((rack, image, f"Stargate for {server_type} {server_version} "
                        f"(computeImage, {self.release.cite('stargate')})", rack_template))
        return out


# --- K8ssandraCluster -------------------------------------------------------------------


def cluster_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId) -> None:
    """K8ssandraCluster reconcile: every datacenter's pods, Stargate, Reaper and Medusa."""
    resolver = _Resolver(ctx, rule, doc, rid)
    release = resolver.release
    spec = _map(doc.data.get("spec"))
    cassandra = _map(spec.get("cassandra"))
    server_type = _text(cassandra.get("serverType")) or "cassandra"
    datacenters = [(i, dc) for i, dc in enumerate(_list(cassandra.get("datacenters")))
                   if isinstance(dc, dict)]
    configs = [coalesce(cassandra, dc, release) for _, dc in datacenters]
    tokens_computed = compute_initial_tokens(configs, server_type)
    dc_names: list[str] = []
    overridden: dict[Tokens, int] = {}
    stargates: list[tuple[Tokens, str, list[tuple[str, str | None, str,
                                                   dict[str, Any] | None]]]] = []
    for (i, dc), config in zip(datacenters, configs, strict=True):
        base: Tokens = ("spec", "cassandra", "datacenters", i)
        name = _text(_map(dc.get("metadata")).get("name")) or f"datacenters[{i}]"
        dc_names.append(name)
        containers = _datacenter_pod(resolver, config, dc, base, name, server_type,
                                     tokens_computed, overridden)
        _datacenter_vector(resolver, config, dc, base, name, containers)
        template = stargate_dc_merge_with(stargate_crd_defaults(dc.get("stargate"), release),
                                          stargate_crd_defaults(spec.get("stargate"), release))
        if template is not None:
            racks = [str(r["name"]) for r in _list(config.get("racks"))
                     if isinstance(r, dict) and r.get("name")] or ["default"]
            version = _text(config.get("serverVersion"))
            stargates.append((base, name, resolver.stargate_images(
                template, racks, server_type, version)))
            telemetry = template.get("telemetry")
            if is_vector_enabled(telemetry):
                where = (*base, "stargate") if isinstance(dc.get("stargate"), dict) \
                    else ("spec", "stargate")
                resolver.vector(telemetry, (*where, "telemetry"), "stargate-vector", "stargate",
                                datacenter=name)
    _record_stargates(resolver, spec, stargates)
    for tokens, count in overridden.items():
        if count == len(datacenters):
            resolver.not_pulled(tokens, "every datacenter replaces this container (merged by "
                                "name, pkg/goalesce/utils.go:30@v1.32.5)")
    medusa = spec.get("medusa")
    if isinstance(medusa, dict):
        resolver.medusa(medusa, dc_names)
    reaper = spec.get("reaper")
    if isinstance(reaper, dict):
        if release.row.get("reaperRef") and _text(lookup(reaper, ("reaperRef", "name"))):
            note = (f"reaperRef is set: no Reaper is deployed "
                    f"(controllers/k8ssandra/reaper.go:101@v1.32.5); {resolver.about}")
            resolver.not_pulled(("spec", "reaper", "containerImage"), note)
            resolver.not_pulled(("spec", "reaper", "initContainerImage"), note)
            resolver.not_pulled(("spec", "reaper", "telemetry", "vector", "image"), note)
        else:
            mode = _text(reaper.get("deploymentMode")) or "PER_DC"
            for scope in (dc_names if mode == "PER_DC" else [None]):
                resolver.reaper(reaper, ("spec", "reaper"), datacenter=scope)


def _record_stargates(resolver: _Resolver, spec: dict[str, Any],
                      stargates: list[tuple[Tokens, str, list[tuple[str, str | None, str,
                                                                    dict[str, Any] | None]]]]
                      ) -> None:
    """Each rack's Stargate image, recorded at the most specific template that exists
    in the CR (rack, datacenter, cluster); the cluster level only when every
    datacenter it serves pulls the same image there."""
    cluster_images = {image for base, _, racks in stargates
                      for _, image, _, rack_t in racks if rack_t is None}
    cluster_shared = len(cluster_images) <= 1
    for base, name, racks in stargates:
        dc_stargate = lookup(resolver.doc.data, (*base, "stargate"))
        for rack, image, reason, rack_template in racks:
            scope = {"datacenter": name, "rack": rack}
            if rack_template is not None:
                index = next(j for j, r in enumerate(_list(_map(dc_stargate).get("racks")))
                             if _map(r).get("name") == rack)
                tokens: Tokens = (*base, "stargate", "racks", index, "containerImage")
                level = "rack"
            elif isinstance(dc_stargate, dict) or not cluster_shared:
                tokens, level = (*base, "stargate", "containerImage"), "datacenter"
            else:
                tokens, level = ("spec", "stargate", "containerImage"), "cluster"
            if not any(resolver.ctx.written(resolver.rid, t) is not None for t in (
                    tokens, (*base, "stargate", "containerImage"),
                    ("spec", "stargate", "containerImage"))):
                level = "default"
            resolver.pulled(image, tokens, "stargate", reason, level, **scope)
    # Blocks no Deployment takes as a whole (merged into a lower level, or a rack
    # template naming no rack of the datacenter) are not pulled as written.
    note = ("not pulled as written: merged into the datacenter and rack templates "
            "(StargateDatacenterTemplate/StargateRackTemplate.MergeWith), or a rack the "
            "datacenter does not have")
    resolver.not_pulled(("spec", "stargate", "containerImage"), note)
    for base, _, _ in stargates:
        resolver.not_pulled((*base, "stargate", "containerImage"), note)
        racks = _list(lookup(resolver.doc.data, (*base, "stargate", "racks")))
        for j in range(len(racks)):
            resolver.not_pulled((*base, "stargate", "racks", j, "containerImage"), note)


def _datacenter_pod(resolver: _Resolver, config: dict[str, Any], dc: dict[str, Any],
                    base: Tokens, name: str, server_type: str, tokens_computed: bool,
                    overridden: dict[Tokens, int]) -> dict[str, str]:
    """The Cassandra pod images k8ssandra-operator decides for one datacenter;
    returns the pod template's container images by name."""
    release = resolver.release
    scope = {"datacenter": name}
    images: dict[str, str] = {}
    for key in ("containers", "initContainers"):
        dc_names = {_map(c).get("name"): j for j, c in enumerate(_list(dc.get(key)))
                    if _text(_map(c).get("image"))}
        cluster_list = _list(lookup(resolver.doc.data, ("spec", "cassandra", key)))
        for j, container in enumerate(cluster_list):
            cname = _map(container).get("name")
            tokens: Tokens = ("spec", "cassandra", key, j, "image")
            if cname in dc_names:
                overridden[tokens] = overridden.get(tokens, 0) + 1
            else:
                resolver.mark(tokens, **scope, component=f"{key}:{cname}", level="cluster")
        for cname, j in dc_names.items():
            resolver.mark((*base, key, j, "image"), **scope, component=f"{key}:{cname}",
                          level="datacenter")
        for container in _list(config.get(key)):
            cname, image = _map(container).get("name"), _text(_map(container).get("image"))
            if isinstance(cname, str) and image:
                images[cname] = image
    # serverImage: dc over cluster; a template container "cassandra" beats both.
    version = _text(config.get("serverVersion"))
    if "cassandra" not in images:
        if _text(dc.get("serverImage")):
            resolver.mark((*base, "serverImage"), **scope, component="server",
                          level="datacenter")
        elif _text(lookup(resolver.doc.data, ("spec", "cassandra", "serverImage"))):
            resolver.mark(("spec", "cassandra", "serverImage"), **scope, component="server",
                          level="cluster")
        elif version is None:
            resolver.pulled(None, (*base, "serverImage"), "server",
                            "server image unknown: no serverImage and no serverVersion",
                            "unknown", **scope)
        else:
            image, reason, level = cass.server_image(resolver.ctx, release, server_type, version)
            resolver.pulled(image, (*base, "serverImage"), "server", reason, level, **scope)
    _per_node_init(resolver, config, dc, base, scope, tokens_computed)
    _jmx_init(resolver, config, dc, base, scope)
    _cass_operator_containers(resolver, config, dc, base, name, server_type, images)
    return images


def _cass_operator_containers(resolver: _Resolver, config: dict[str, Any], dc: dict[str, Any],
                              base: Tokens, name: str, server_type: str,
                              images: dict[str, str]) -> None:
    """What cass-operator adds to every Cassandra pod of the CassandraDatacenter
    k8ssandra-operator writes (NewDatacenter, pkg/cassandra/datacenter.go:183
    @v1.32.5, passes the merged containers as its podTemplateSpec): the
    ``server-system-logger`` sidecar and the ``server-config-init`` init container
    (buildContainers / buildInitContainers, construct_podtemplatespec.go:673,425
    @v1.32.0 of cass-operator), unless a template container of that name sets the
    image. The K8ssandraCluster has no field for these images but those
    containers, so relocation adds the named entry to the datacenter's list
    (merged by name over the cluster's, pkg/goalesce/utils.go:30@v1.32.5)."""
    release = resolver.release
    rules, cass_release, exact = cass.cass_pod_rules(release)
    installed = f"cass-operator {cass_release or 'unknown'}"
    scope = {"datacenter": name}
    version = _text(config.get("serverVersion")) or ""
    if not version:
        # No serverVersion: k8ssandra-operator writes no CassandraDatacenter
        # (ValidateDatacenterConfig, controllers/k8ssandra/dcconfigs.go:108@v1.32.5),
        # so there are no pods (the server image is reported unknown when not set).
        return
    source = _map(release.row["vector"].get("cassandra"))
    vector_logger = bool(source) and source.get("from") != "code" and is_vector_enabled(
        config.get("telemetry"))
    if "server-system-logger" not in images and not vector_logger:
        names = [_map(c).get("name") for c in _list(config.get("containers"))]
        before = () if "cassandra" in names else ("cassandra",)
        _cass_named(resolver, dc, base, "containers", podtemplate.SYSTEM_LOGGER,
                    "system-logger", f"sidecar server-system-logger, added by {installed}",
                    (), before, scope)
    if "server-config-init" in images:
        return
    spec = {"serverType": server_type, "serverVersion": version}
    annotations = {**_map(lookup(config, ("metadata", "annotations"))),
                   **_map(lookup(dc, ("metadata", "annotations")))}
    if podtemplate.use_client_image(spec, annotations, rules):
        if not exact:
            why = (f"server-config-init: which image {installed} uses is unknown: kpatch's "
                   f"cass-operator table has no release {cass_release!r}")
            _cass_named(resolver, dc, base, "initContainers", podtemplate.SERVER_CONFIG_INIT,
                        None, why, (), (), scope)
            return
        _cass_named(resolver, dc, base, "initContainers", podtemplate.SERVER_CONFIG_INIT,
                    "k8ssandra-client", f"init container server-config-init builds the "
                    f"configuration with k8ssandra-client (UseClientImage of {installed})",
                    (("args", list(podtemplate.CLIENT_ARGS)),), (), scope)
    else:
        _cass_named(resolver, dc, base, "initContainers", podtemplate.SERVER_CONFIG_INIT,
                    "config-builder", f"init container server-config-init runs the config "
                    f"builder, added by {installed}", (), (), scope)


def _cass_named(resolver: _Resolver, dc: dict[str, Any], base: Tokens, key: str,
                container: str, component: str | None, why: str,
                fields: tuple[tuple[str, Any], ...], before: tuple[str, ...],
                scope: dict[str, Any]) -> None:
    """Report the image ``images.<component>`` that cass-operator gives the
    container ``container`` (None: unknown, ``why`` says so), at the datacenter's
    ``key`` list entry relocation would add."""
    release = resolver.release
    list_tokens = _entry_list(resolver, dc, base, key)
    entry = NamedEntry(list_tokens, container, fields, before) if list_tokens else None
    tokens = entry_image_tokens(resolver.doc.data, entry) if entry else (*base, key)
    label = component or "server-config-init"
    if component is None:
        resolver.pulled(None, tokens, label, why, "unknown", **scope)
        return
    image, reason, level = cass.pod_named_image(resolver.ctx, release, component)
    embedded = cass.embedded_image_config(resolver.ctx, release)
    if image is not None and embedded is not None:
        written = resolver.ctx.written(embedded.resource,
                                       (*embedded.tokens, "#", "images", component))
        if written is not None and written.image == image:
            resolver.ctx.mark_effective(written, **scope, component=component,
                                        level="imageconfig")
            return
    if entry is None and image is not None:
        reason += (f"; k8ssandra-operator {release.version} has no {key} field to set it "
                   "in (from v1.2.0): relocate it through cass-operator's ImageConfig")
    resolver.pulled_at(image, tokens, component, f"{why}: {reason}", level, entry, scope)


def _entry_list(resolver: _Resolver, dc: dict[str, Any], base: Tokens,
                key: str) -> Tokens | None:
    """The list a container entry for one datacenter goes into: the datacenter's
    (merged by name over the cluster's from v1.5.0); before v1.5.0 a datacenter
    list replaces the cluster's whole (Coalesce, pkg/cassandra/datacenter.go
    @v1.4.1), so a cluster list the datacenter does not replace takes it. None
    before v1.2.0 (no such field)."""
    release = resolver.release
    if not release.at_least("v1.2.0"):
        return None
    if not release.at_least("v1.5.0") and not _list(dc.get(key)) and _list(
            lookup(resolver.doc.data, ("spec", "cassandra", key))):
        return ("spec", "cassandra", key)
    return (*base, key)


def _per_node_init(resolver: _Resolver, config: dict[str, Any], dc: dict[str, Any],
                   base: Tokens, scope: dict[str, Any], tokens_computed: bool) -> None:
    """MountPerNodeConfig / newPerNodeConfigInitContainer (pkg/nodeconfig/mount.go:19,80
    @v1.32.5), when the datacenter has a per-node ConfigMap (its own, or the
    initial tokens of ComputeInitialTokens)."""
    release = resolver.release
    source = release.row.get("perNodeConfigInit")
    tokens: Tokens = (*base, "perNodeConfigInitContainerImage")
    cluster_tokens: Tokens = ("spec", "cassandra", "perNodeConfigInitContainerImage")
    if not source:
        return
    if not (_text(lookup(config, ("perNodeConfigMapRef", "name"))) or tokens_computed):
        return
    if _text(dc.get("perNodeConfigInitContainerImage")):
        resolver.mark(tokens, **scope, component="per-node-config-init", level="datacenter")
        return
    if resolver.mark(cluster_tokens, **scope, component="per-node-config-init",
                     level="cluster"):
        return
    image: str | None
    if source.get("from") == "code":
        image, reason, level = str(source["image"]), (
            f"per-node config init default ({release.cite('perNodeConfigInit')})"), "default"
    else:
        client, description, level = cass.named_image(resolver.ctx, release, "k8ssandra-client")
        image = cass.image_string(client or {})
        reason = f"k8ssandra-client of {description} ({release.cite('perNodeConfigInit')})"
    resolver.pulled(image, tokens, "per-node-config-init", reason, level, **scope)


def _jmx_init(resolver: _Resolver, config: dict[str, Any], dc: dict[str, Any], base: Tokens,
              scope: dict[str, Any]) -> None:
    """ApplyAuth (pkg/cassandra/auth.go:45@v1.4.1): a busybox init container when auth
    is on, up to v1.4.1."""
    release = resolver.release
    tokens: Tokens = (*base, "jmxInitContainerImage")
    cluster_tokens: Tokens = ("spec", "cassandra", "jmxInitContainerImage")
    source = release.row.get("jmxInit")
    if not source:
        note = f"not read by {resolver.about} (only up to v1.4.1, pkg/cassandra/auth.go)"
        resolver.not_pulled(tokens, note)
        resolver.not_pulled(cluster_tokens, note)
        return
    if lookup(resolver.doc.data, ("spec", "auth")) is False:
        return
    block = crd_image_block(config.get("jmxInitContainerImage"), release)
    image = image_string(apply_defaults(block, source["image"], release.default_registry))
    where = tokens if isinstance(dc.get("jmxInitContainerImage"), dict) else (
        cluster_tokens if resolver.ctx.written(resolver.rid, cluster_tokens) else tokens)
    resolver.pulled(image, where, "jmx-init", f"JMX init default ({release.cite('jmxInit')})",
                    "default" if block is None else "written", **scope)


def _datacenter_vector(resolver: _Resolver, config: dict[str, Any], dc: dict[str, Any],
                       base: Tokens, name: str, containers: dict[str, str]) -> None:
    """InjectCassandraVectorAgentConfig (pkg/telemetry/vector.go:55@v1.32.5): with
    Vector on, the server-system-logger runs telemetry.vector.image, else keeps its
    image (cass-operator's system-logger, v1.6.0 on; the default Vector image in
    v1.5.x)."""
    release = resolver.release
    source = _map(release.row["vector"].get("cassandra"))
    telemetry = config.get("telemetry")
    if not source or not is_vector_enabled(telemetry):
        return
    scope = {"datacenter": name}
    tokens: Tokens = (*base, "telemetry", "vector", "image")
    if _text(lookup(dc, ("telemetry", "vector", "image"))):
        resolver.mark(tokens, **scope, component="vector", level="datacenter")
        return
    if resolver.mark(("spec", "cassandra", "telemetry", "vector", "image"), **scope,
                     component="vector", level="cluster"):
        return
    if source.get("from") == "code":
        image = release.row["vector"]["image"]
        resolver.pulled(str(image["image"]), tokens, "vector",
                        f"default Vector image ({image['file']}:{image['line']}"
                        f"@{release.version})", "default", **scope)
        return
    if "server-system-logger" in containers:
        return  # the pod template's own logger container, reported where written
    logger, reason, level = cass.system_logger_image(resolver.ctx, release)
    resolver.pulled(logger, tokens, "vector",
                    f"Vector runs in the server-system-logger container, which keeps its "
                    f"image: {reason}", level, **scope)


# --- standalone Reaper and Stargate -----------------------------------------------------


def reaper_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId) -> None:
    """A standalone Reaper (reaper.k8ssandra.io): MakeDesiredDeploymentType
    (pkg/reaper/deployment.go:696@v1.32.5)."""
    resolver = _Resolver(ctx, rule, doc, rid)
    resolver.reaper(_map(doc.data.get("spec")), ("spec",))


def _cassandra_datacenters(ctx: RuleContext) -> dict[tuple[str | None, str | None],
                                                       dict[str, Any]]:
    """CassandraDatacenter specs of the input by (namespace, name), indexed once per
    install so that each Stargate costs its own size."""
    key = ("k8ssandra-operator", "cassandra-datacenters")
    if key not in ctx.memo:
        ctx.memo[key] = {(rid.namespace, rid.name): _map(doc.data.get("spec"))
                         for doc, rid in ctx.resources if rid.kind == "CassandraDatacenter"}
    return ctx.memo[key]  # type: ignore[no-any-return]


def stargate_rule(ctx: RuleContext, rule: ImplicitRule, doc: Document, rid: ResourceId) -> None:
    """A standalone Stargate (stargate.k8ssandra.io): NewDeployments against the
    CassandraDatacenter it names (pkg/stargate/deployments.go:72@v1.32.5)."""
    resolver = _Resolver(ctx, rule, doc, rid)
    release = resolver.release
    spec = stargate_crd_defaults(_map(doc.data.get("spec")), release) or {}
    dc_name = _text(lookup(spec, ("datacenterRef", "name")))
    dc_spec = _cassandra_datacenters(ctx).get((rid.namespace, dc_name))
    server_type = _text(_map(dc_spec).get("serverType")) or "cassandra"
    version = _text(_map(dc_spec).get("serverVersion"))
    racks = [str(r["name"]) for r in _list(_map(dc_spec).get("racks"))
             if isinstance(r, dict) and r.get("name")] or ["default"]
    for rack, image, reason, rack_template in resolver.stargate_images(
            spec, racks, server_type, version):
        if dc_spec is None and image is None:
            reason = (f"Stargate image unknown: CassandraDatacenter {dc_name} "
                      "(spec.datacenterRef) is not in the input")
        if rack_template is not None:
            index = next(j for j, r in enumerate(_list(spec.get("racks")))
                         if _map(r).get("name") == rack)
            tokens: Tokens = ("spec", "racks", index, "containerImage")
        else:
            tokens = ("spec", "containerImage")
        resolver.pulled(image, tokens, "stargate", reason, "resource", rack=rack)
    if is_vector_enabled(spec.get("telemetry")):
        resolver.vector(spec.get("telemetry"), ("spec", "telemetry"), "stargate-vector",
                        "stargate")
