"""Strategic merge patches, as kustomize applies them.

Maps merge key by key (a null deletes). Lists of built-in kinds that
Kubernetes declares with a merge key (containers by name, volumeMounts by
mountPath...) merge item by item: the patch's items come first, in patch
order, then the original items the patch did not name (checked against
kubectl kustomize v5.5). Every other list, and every list in a custom
resource (no schema), is replaced whole. ``$patch: delete`` removes a map or
a list item; ``$patch: replace`` replaces instead of merging.
"""

from __future__ import annotations

import copy
from typing import Any

from kpatch.errors import KpatchError

# Field name -> merge key, for built-in kinds (from the Kubernetes OpenAPI
# patchMergeKey of the fields kpatch users meet in pod specs and services).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "ownerReferences": "uid",
}
# "ports" means container ports in a pod spec, service ports in a Service.
CONTAINER_PORT_KEY = "containerPort"
SERVICE_PORT_KEY = "port"

# API groups whose kinds Kubernetes itself defines (and so has merge keys for).
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
    "discovery.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "certificates.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
})
_DELETE = object()


def strategic_merge(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """``original`` with ``patch`` merged in; None when the patch deletes it."""
    group = str(original.get("apiVersion", "")).rpartition("/")[0]
    schema = group in BUILTIN_GROUPS
    kind = str(original.get("kind", ""))
    merged = _merge_map(copy.deepcopy(original), patch, schema, kind, ())
    return None if merged is _DELETE else merged


def _directive(value: dict[str, Any]) -> str | None:
    directive = value.get("$patch")
    if directive is None:
        return None
    if directive not in ("delete", "replace", "merge"):
        raise KpatchError(f"unsupported $patch directive {directive!r} in a patch")
    return str(directive)


def _clean(value: Any) -> Any:
    """A patch value added as is: without directives or null members."""
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and key.startswith("$") and key != "$patch":
                raise KpatchError(f"unsupported patch directive {key!r}")
        return {k: _clean(v) for k, v in value.items() if k != "$patch" and v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value
                if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value


def _merge_map(original: Any, patch: dict[str, Any], schema: bool, kind: str,
               path: tuple[str, ...]) -> Any:
    directive = _directive(patch)
    if directive == "delete":
        return _DELETE
    if directive == "replace" or not isinstance(original, dict):
        return _clean(patch)
    for key, value in patch.items():
        if key == "$patch":
            continue
        if isinstance(key, str) and key.startswith("$"):
            raise KpatchError(f"unsupported patch directive {key!r}")
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if isinstance(value, dict) and _directive(value) == "delete":
                continue
            original[key] = _clean(value)
            continue
        merged = _merge_value(original[key], value, schema, kind, (*path, str(key)))
        if merged is _DELETE:
            del original[key]
        else:
            original[key] = merged
    return original


def _merge_value(original: Any, patch: Any, schema: bool, kind: str,
                 path: tuple[str, ...]) -> Any:
    if isinstance(patch, dict):
        return _merge_map(original, patch, schema, kind, path)
    if isinstance(patch, list) and isinstance(original, list) and schema:
        key = _merge_key(kind, path)
        if key is not None:
            return _merge_list(original, patch, key, schema, kind, path)
    return _clean(patch)


def _merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    field = path[-1]
    if field == "ports":
        return SERVICE_PORT_KEY if kind == "Service" and path == ("spec", "ports") \
            else CONTAINER_PORT_KEY
    return MERGE_KEYS.get(field)


def _merge_list(original: list[Any], patch: list[Any], key: str, schema: bool, kind: str,
                path: tuple[str, ...]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        # {$patch: replace} as an item: the list becomes the patch's other items.
        return [_clean(i) for i in patch
                if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if not all(isinstance(i, dict) for i in original + patch):
        return _clean(patch)  # type: ignore[no-any-return]
    by_key = {item.get(key): index for index, item in enumerate(original)}
    used: set[int] = set()
    result: list[Any] = []
    for item in patch:
        index = by_key.get(item.get(key))
        if index is None:
            if _directive(item) != "delete":
                result.append(_clean(item))
            continue
        used.add(index)
        merged = _merge_map(original[index], item, schema, kind, path)
        if merged is not _DELETE:
            result.append(merged)
    result += [item for index, item in enumerate(original) if index not in used]
    return result
