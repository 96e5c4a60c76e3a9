"""kustomize's field-spec transformers (namespace, labels, annotations, images)
and its output order, as data plus one small walker.

The tables are kustomize v5.5's (api/konfig/builtinpluginconsts,
kyaml/openapi, api/resid/gvk.go), each checked against kubectl kustomize.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from kpatch.errors import KpatchError
from kpatch.model import lookup

Resource = dict[str, Any]


@dataclass(frozen=True)
class FieldSpec:
    path: str
    kind: str | None = None
    group: str | None = None
    version: str | None = None
    create: bool = True

    def applies(self, resource: Resource) -> bool:
        group, _, version = str(resource.get("apiVersion", "")).rpartition("/")
        return ((self.kind is None or self.kind == resource.get("kind"))
                and (self.group is None or self.group == group)
                and (self.version is None or self.version == version))


def _specs(rows: list[tuple[Any, ...]]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(*row) for row in rows)


METADATA_LABELS = _specs([
    ("metadata/labels",),
    ("spec/template/metadata/labels", "ReplicationController", None, "v1"),
    ("spec/template/metadata/labels", "Deployment"),
    ("spec/template/metadata/labels", "ReplicaSet"),
    ("spec/template/metadata/labels", "DaemonSet"),
    ("spec/template/metadata/labels", "StatefulSet", "apps"),
    ("spec/volumeClaimTemplates/metadata/labels", "StatefulSet", "apps"),
    ("spec/template/metadata/labels", "Job", "batch"),
    ("spec/jobTemplate/metadata/labels", "CronJob", "batch"),
    ("spec/jobTemplate/spec/template/metadata/labels", "CronJob", "batch"),
])
_AFFINITY = [
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
]
SELECTOR_LABELS = _specs([
    ("spec/selector", "Service", None, "v1"),
    ("spec/selector", "ReplicationController", None, "v1"),
    ("spec/selector/matchLabels", "Deployment"),
    *[(p, "Deployment", "apps", None, False) for p in _AFFINITY],
    ("spec/selector/matchLabels", "ReplicaSet"),
    ("spec/selector/matchLabels", "DaemonSet"),
    ("spec/selector/matchLabels", "StatefulSet", "apps"),
    *[(p, "StatefulSet", "apps", None, False) for p in _AFFINITY],
    ("spec/selector/matchLabels", "Job", "batch", None, False),
    ("spec/jobTemplate/spec/selector/matchLabels", "CronJob", "batch", None, False),
    ("spec/selector/matchLabels", "PodDisruptionBudget", "policy", None, False),
    ("spec/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io", None, False),
    ("spec/ingress/from/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io", None,
     False),
    ("spec/egress/to/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io", None, False),
])
ANNOTATIONS = _specs([
    ("metadata/annotations",),
    ("spec/template/metadata/annotations", "ReplicationController", None, "v1"),
    ("spec/template/metadata/annotations", "Deployment"),
    ("spec/template/metadata/annotations", "ReplicaSet"),
    ("spec/template/metadata/annotations", "DaemonSet"),
    ("spec/template/metadata/annotations", "StatefulSet"),
    ("spec/template/metadata/annotations", "Job", "batch"),
    ("spec/jobTemplate/metadata/annotations", "CronJob", "batch"),
    ("spec/jobTemplate/spec/template/metadata/annotations", "CronJob", "batch"),
])

# (apiVersion, kind) that kustomize knows to be cluster-scoped; every other kind,
# custom kinds included, gets the namespace.
_CLUSTER_SCOPED_ROWS = {
    "admissionregistration.k8s.io": (("v1", "v1beta1"), (
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")),
    "apiextensions.k8s.io": (("v1", "v1beta1"), ("CustomResourceDefinition",)),
    "apiregistration.k8s.io": (("v1", "v1beta1"), ("APIService",)),
    "certificates.k8s.io": (("v1", "v1beta1"), ("CertificateSigningRequest",)),
    "flowcontrol.apiserver.k8s.io": (("v1beta1",), ("FlowSchema", "PriorityLevelConfiguration")),
    "networking.k8s.io": (("v1", "v1beta1"), ("IngressClass",)),
    "node.k8s.io": (("v1", "v1beta1"), ("RuntimeClass",)),
    "policy": (("v1beta1",), ("PodSecurityPolicy",)),
    "rbac.authorization.k8s.io": (("v1", "v1beta1"), ("ClusterRole", "ClusterRoleBinding")),
    "scheduling.k8s.io": (("v1", "v1beta1"), ("PriorityClass",)),
    "storage.k8s.io": (("v1", "v1beta1"), ("CSIDriver", "CSINode", "StorageClass",
                                           "VolumeAttachment")),
    "": (("v1",), ("ComponentStatus", "Namespace", "Node", "NodeProxyOptions",
                   "PersistentVolume")),
}
CLUSTER_SCOPED = frozenset(
    (f"{group}/{version}" if group else version, kind)
    for group, (versions, kinds) in _CLUSTER_SCOPED_ROWS.items()
    for version in versions for kind in kinds
)

ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
    "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass",
    "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob",
    "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_RANK = {kind: i - len(ORDER_FIRST) for i, kind in enumerate(ORDER_FIRST)}
_RANK.update({kind: 1 + i for i, kind in enumerate(ORDER_LAST)})


def legacy_order_key(resource: Resource) -> tuple[int, str, str]:
    """kustomize's legacy order: kind rank, then ``group_version_kind``, then
    ``gvk|namespace|name`` (``~G``, ``~V``, ``~X``, ``~N`` for empty parts)."""
    group, _, version = str(resource.get("apiVersion", "")).rpartition("/")
    kind = str(resource.get("kind", ""))
    gvk = f"{group or '~G'}_{version or '~V'}_{kind or '~K'}"
    metadata = resource.get("metadata") or {}
    identity = f"{gvk}|{metadata.get('namespace') or '~X'}|{metadata.get('name') or '~N'}"
    return _RANK.get(kind, 0), gvk, identity


# --- the walker ----------------------------------------------------------------------------


def _merge_at(node: Any, steps: list[str], values: dict[str, str], create: bool) -> None:
    """Merge ``values`` into the map at ``steps``; lists on the way are walked
    item by item; missing maps are created only when ``create``."""
    if isinstance(node, list):
        for item in node:
            _merge_at(item, steps, values, create)
        return
    if not isinstance(node, dict):
        return
    step, rest = steps[0], steps[1:]
    if step not in node or node[step] is None:
        if not create:
            return
        node[step] = {}
    if rest:
        _merge_at(node[step], rest, values, create)
    elif isinstance(node[step], dict):
        node[step].update(values)


def _apply_specs(resources: list[Resource], specs: tuple[FieldSpec, ...],
                 values: dict[str, str]) -> list[Resource]:
    out = []
    for resource in resources:
        resource = copy.deepcopy(resource)
        for spec in specs:
            if spec.applies(resource):
                _merge_at(resource, spec.path.split("/"), values, spec.create)
        out.append(resource)
    return out


def add_labels(resources: list[Resource], labels: dict[str, str], include_selectors: bool,
               include_templates: bool) -> list[Resource]:
    if include_selectors:
        specs = METADATA_LABELS + SELECTOR_LABELS
    elif include_templates:
        specs = METADATA_LABELS
    else:
        specs = METADATA_LABELS[:1]
    return _apply_specs(resources, specs, labels)


def add_annotations(resources: list[Resource], annotations: dict[str, str]) -> list[Resource]:
    return _apply_specs(resources, ANNOTATIONS, annotations)


# --- namespace -------------------------------------------------------------------------------


def set_namespace(resources: list[Resource], namespace: str) -> list[Resource]:
    """metadata.namespace on every namespaced resource (overwriting), a v1
    Namespace renamed, and the references kustomize keeps pointing at moved
    ServiceAccounts and Services."""
    before = [(str(r.get("kind")), (r.get("metadata") or {}).get("name"),
               (r.get("metadata") or {}).get("namespace")) for r in resources]
    moved_accounts = {(name, ns) for kind, name, ns in before if kind == "ServiceAccount"}
    moved_services = {(name, ns) for kind, name, ns in before if kind == "Service"}
    out: list[Resource] = []
    namespaces = 0
    for resource in resources:
        resource = copy.deepcopy(resource)
        api_version, kind = str(resource.get("apiVersion", "")), str(resource.get("kind", ""))
        metadata = resource.setdefault("metadata", {})
        if (api_version, kind) not in CLUSTER_SCOPED:
            metadata["namespace"] = namespace
        if api_version == "v1" and kind == "Namespace":
            namespaces += 1
            metadata["name"] = namespace
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in resource.get("subjects") or []:
                if not isinstance(subject, dict):
                    continue
                if subject.get("name") == "default" or (
                        subject.get("kind") == "ServiceAccount"
                        and _moved(moved_accounts, subject.get("name"), subject.get("namespace"))):
                    subject["namespace"] = namespace
        if kind == "APIService" and api_version.startswith("apiregistration.k8s.io/"):
            resource.setdefault("spec", {}).setdefault("service", {})["namespace"] = namespace
        if kind == "CustomResourceDefinition":
            service = lookup(resource, ("spec", "conversion", "webhook", "clientConfig", "service"))
            if isinstance(service, dict) and "namespace" in service:
                service["namespace"] = namespace
        if kind in ORDER_LAST:
            for webhook in resource.get("webhooks") or []:
                service = lookup(webhook, ("clientConfig", "service"))
                if isinstance(service, dict) and _moved(
                        moved_services, service.get("name"), service.get("namespace")):
                    service["namespace"] = namespace
        out.append(resource)
    if namespaces > 1:
        raise KpatchError("namespace transformation produces ID conflict: two Namespace objects")
    return out


def _moved(moved: set[tuple[Any, Any]], name: Any, namespace: Any) -> bool:
    """A reference follows a resource in the build when it names it with no
    namespace or with the resource's original namespace."""
    return any(name == n and (not namespace or namespace == ns) for n, ns in moved)


# --- images ---------------------------------------------------------------------------------


def _split_image(value: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest; ':' and '@' are looked for after the first '/'."""
    start = value.find("/")
    start = 0 if start < 0 else start
    digest = None
    at = value.find("@", start)
    if at >= 0:
        value, digest = value[:at], value[at + 1 :]
    colon = value.find(":", start)
    tag = None
    if colon >= 0:
        value, tag = value[:colon], value[colon + 1 :]
    return value, tag, digest


def _new_image(value: str, entry: dict[str, Any]) -> str:
    name, tag, digest = _split_image(value)
    if entry.get("newName"):
        name = str(entry["newName"])
    if entry.get("newTag") is not None and entry.get("digest") is None:
        tag, digest = str(entry["newTag"]), None
    elif entry.get("digest") is not None and entry.get("newTag") is None:
        tag, digest = None, str(entry["digest"])
    elif entry.get("digest") is not None:
        tag, digest = str(entry["newTag"]), str(entry["digest"])
    return name + (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest else "")


def set_images(resources: list[Resource], entry: dict[str, Any]) -> list[Resource]:
    """kustomize's image transformer: every ``image`` of every ``containers`` or
    ``initContainers`` list, at any depth, in every kind but CRDs."""
    name = str(entry["name"])
    try:
        pattern = re.compile(rf"^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$")
    except re.error as exc:
        raise KpatchError(f"invalid images name {name!r}: {exc}") from None
    out = []
    for resource in resources:
        if resource.get("kind") != "CustomResourceDefinition":
            resource = copy.deepcopy(resource)
            _rewrite_images(resource, pattern, entry)
        out.append(resource)
    return out


def _rewrite_images(node: Any, pattern: re.Pattern[str], entry: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for item in value:
                    image = item.get("image") if isinstance(item, dict) else None
                    if isinstance(image, str) and pattern.match(image):
                        item["image"] = _new_image(image, entry)
            _rewrite_images(value, pattern, entry)
    elif isinstance(node, list):
        for item in node:
            _rewrite_images(item, pattern, entry)
