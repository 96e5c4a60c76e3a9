"""Patch targets: group, version, kind, name and namespace (anchored regular
expressions, as kustomize reads them), label and annotation selectors."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from kpatch.errors import KpatchError

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    # Go's RE2 syntax is close enough to Python's for resource names, which may
    # only hold [a-z0-9.-:]; what fails to compile is a user error either way.
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise KpatchError(f"invalid target pattern {pattern!r}: {exc}") from None


_META = re.compile(r"[.*+?()\[\]{}|^$\\]")


def literal_name(pattern: Any) -> str | None:
    """The one name an anchored target pattern can match, when it is a literal
    (``cass-operator-manager-config``, or with escaped dots: ``a\\.b``); else None."""
    if not isinstance(pattern, str):
        return None
    if _META.search(pattern.replace("\\.", "").replace("\\-", "")):
        return None
    return pattern.replace("\\.", ".").replace("\\-", "-")


def _matches(pattern: str, value: str) -> bool:
    """Anchored regex match, with a plain comparison for literal patterns (the
    common case: one per generated patch, too many to compile each)."""
    literal = literal_name(pattern)
    if literal is not None:
        return literal == value
    return _regex(pattern).fullmatch(value) is not None


def _split_requirements(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def matches_selector(selector: str, labels: dict[str, Any]) -> bool:
    """Kubernetes label-selector syntax: a=b, a!=b, a in (x,y), a notin (x), a, !a."""
    for requirement in _split_requirements(selector):
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise KpatchError(f"invalid selector {selector!r}")
        key, value = match.group("key"), match.group("value")
        present = key in labels
        actual = labels.get(key)
        if match.group("setop"):
            values = {v.strip() for v in match.group("values").split(",") if v.strip()}
            inside = present and str(actual) in values
            if (match.group("setop") == "in") != inside:
                return False
        elif match.group("op") in ("=", "=="):
            if not present or str(actual) != value:
                return False
        elif match.group("op") == "!=":
            if present and str(actual) == value:
                return False
        elif match.group("neg"):
            if present:
                return False
        elif not present:
            return False
    return True


def matches_target(target: dict[str, Any], resource: dict[str, Any]) -> bool:
    api_version = str(resource.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    metadata = resource.get("metadata") or {}
    checks = (
        ("group", group), ("version", version), ("kind", str(resource.get("kind", ""))),
    )
    for key, actual in checks:
        wanted = target.get(key)
        if wanted is not None and wanted != actual:
            return False
    name = target.get("name")
    if name is not None and not _matches(str(name), str(metadata.get("name") or "")):
        return False
    namespace = target.get("namespace")
    # An empty namespace reads as "default" on both sides.
    if namespace and not _matches(str(namespace), str(metadata.get("namespace") or "default")):
        return False
    if target.get("labelSelector") and not matches_selector(
            str(target["labelSelector"]), metadata.get("labels") or {}):
        return False
    return not (target.get("annotationSelector") and not matches_selector(
        str(target["annotationSelector"]), metadata.get("annotations") or {}))
