"""Helpers for checking that an overlay changes only what relocation may change."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from kpatch.inventory import Inventory, build_inventory
from kpatch.profile import load_profiles
from kpatch.yamlio import load_stream

Path_ = tuple[str | int, ...]
PULL_KEYS = frozenset({"imagePullPolicy", "imagePullSecrets", "pullSecrets", "pullPolicy",
                       "imagePullSecret", "pullSecretRef"})
RESTART = ("spec", "template", "metadata", "annotations", "kpatch.dev/image-config-hash")
# ImageConfig settings cass-operator derives images from, which relocation moves.
IMAGECONFIG_SETTINGS = (
    ("imageRegistry",), ("defaults", "registry"), ("overrides", "registry"), ("types",),
)


def kustomize(path: Path) -> str:
    done = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def inventory_of(text: str, name: str, params: dict[str, str] | None = None) -> Inventory:
    return build_inventory(load_stream(text, name), load_profiles(), params or {})


def changed_paths(a: Any, b: Any, prefix: Path_ = ()) -> list[Path_]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[Path_] = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                out.append((*prefix, key))
            else:
                out += changed_paths(a[key], b[key], (*prefix, key))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for index in range(max(len(a), len(b))):
            if index >= len(a) or index >= len(b):
                out.append((*prefix, index))
            else:
                out += changed_paths(a[index], b[index], (*prefix, index))
        return out
    return [] if a == b else [prefix]


def _key(doc: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    meta = doc.get("metadata") or {}
    return doc["apiVersion"], doc["kind"], meta.get("namespace"), meta.get("name")


def assert_only_relocation_changes(base_text: str, overlay_text: str) -> int:
    """Every difference between the two renders is an image reference, a pull
    setting, or the restart annotation; returns how many differences there were."""
    base_docs = {_key(d): d for d in yaml.safe_load_all(base_text) if d}
    overlay_docs = {_key(d): d for d in yaml.safe_load_all(overlay_text) if d}
    assert base_docs.keys() == overlay_docs.keys(), "resources added or removed"
    image_paths: dict[Any, list[Path_]] = {}
    for inventory in (inventory_of(base_text, "base"), inventory_of(overlay_text, "overlay")):
        for use in inventory.uses:
            rid = use.resource
            image_paths.setdefault((rid.api_version, rid.kind, rid.namespace, rid.name),
                                   []).append(use.tokens)
    count = 0
    for key, base in base_docs.items():
        allowed = image_paths.get(key, [])
        for path in changed_paths(base, overlay_docs[key]):
            count += 1
            if _allowed(path, allowed, base, overlay_docs[key]):
                continue
            raise AssertionError(f"{key}: {path} changed, and it is not an image setting")
    return count


def _under(path: Path_, prefixes: list[Path_]) -> bool:
    return any(path[: len(p)] == p for p in prefixes)


def _allowed(path: Path_, image_paths: list[Path_], base: Any, overlay: Any) -> bool:
    outer = [p[: p.index("#")] if "#" in p else p for p in image_paths]
    inner = [p[p.index("#") + 1 :] for p in image_paths if "#" in p]
    if _under(path, [p for p in image_paths if "#" not in p]):
        return True
    if any(isinstance(t, str) and t in PULL_KEYS for t in path):
        return True
    if path == RESTART[: len(path)]:
        return True
    if _holds_only_images(path, image_paths, base, overlay):
        return True
    if _named_entry(path, overlay):
        return True
    if path in outer:
        # A string holding an embedded document: compare inside it.
        old, new = (yaml.safe_load(_at(doc, path)) for doc in (base, overlay))
        for inner_path in changed_paths(old, new):
            ok = (_under(inner_path, inner) or _under(inner_path, list(IMAGECONFIG_SETTINGS))
                  or any(isinstance(t, str) and t in PULL_KEYS for t in inner_path)
                  or (len(inner_path) >= 3 and inner_path[0] == "defaults"
                      and inner_path[2] in ("repository", "imageRegistry")))
            if not ok:
                raise AssertionError(f"{path}#{inner_path} changed inside the embedded document")
        return True
    return False


def _holds_only_images(path: Path_, image_paths: list[Path_], base: Any, overlay: Any) -> bool:
    """A mapping the overlay adds only to hold image settings (a left-out Redis
    ``usageMeter.callHomeClient.imageSpec`` written out): every leaf in it is an
    image setting or a pull setting."""
    try:
        _at(base, path)
        return False  # not added: changed
    except (KeyError, IndexError, TypeError):
        pass
    leaves = _leaves(_at(overlay, path), path)
    return bool(leaves) and all(
        _under(leaf, image_paths) or any(isinstance(t, str) and t in PULL_KEYS for t in leaf)
        for leaf in leaves)


# What a container entry relocation adds for an image an operator derives holds
# (docs/named-entries.md): its name, the image, what the operator sets only when it
# picks the image itself (args), the pull policy; a bare entry keeps the order.
ENTRY_KEYS = {"name", "image", "args", "imagePullPolicy"}


def _named_entry(path: Path_, overlay: Any) -> bool:
    """``path`` is a containers list, an item of one, or the args of one, that holds
    only named entries: nothing else of a user's containers changes."""
    lists = [i for i, t in enumerate(path) if t in ("containers", "initContainers")]
    if not lists:
        return False
    at = lists[-1]
    rest = path[at + 1:]
    value = _at(overlay, path[: at + 1])
    if not isinstance(value, list):
        return False
    if not rest:
        items = value
    elif len(rest) == 1 or (len(rest) == 2 and rest[1] == "args"):
        items = [value[int(rest[0])]]
    else:
        return False
    return all(isinstance(i, dict) and isinstance(i.get("name"), str)
               and set(i) <= ENTRY_KEYS and ("image" in i or set(i) == {"name"})
               for i in items)


def _leaves(value: Any, path: Path_) -> list[Path_]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    return [path]


def _at(doc: Any, path: Path_) -> Any:
    for token in path:
        doc = doc[token]
    return doc
