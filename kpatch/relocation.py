"""Relocation rules: where each image moves to in the private registry.

Three rules, applied in this order:

1. An image already in the target registry, or under the target of a mapping,
   stays where it is (so relocating twice changes nothing).
2. Prefix mappings (``FROM=TO``): the longest ``FROM`` that matches the image's
   normalized name on a path-component boundary wins, and is replaced by ``TO``.
3. Otherwise the registry is swapped for the target registry, keeping the
   normalized repository path (``busybox`` -> ``<registry>/library/busybox``)
   under an optional prefix; with ``flatten`` only the last path component is kept;
   with ``keep_host`` the source registry's host comes first
   (``quay.io/acme/tool`` -> ``<registry>/quay.io/acme/tool``).

Tags and digests are never touched. Two different images must never land on one
destination (the second push would overwrite the first in the mirror):
``check_collisions`` refuses such a plan and says how to keep them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kpatch.errors import KpatchError
from kpatch.reference import (
    _PATH_RE,
    _REGISTRY_RE,
    DOCKER_HUB,
    DOCKER_HUB_ALIASES,
    OFFICIAL_NAMESPACE,
    ImageReference,
    split_registry,
)


def normalize_name(name: str) -> str:
    """Fully qualify a repository name or name prefix (no tag): ``k8ssandra/`` ->
    ``docker.io/k8ssandra``; ``busybox`` -> ``docker.io/library/busybox``.

    A trailing slash marks a namespace prefix, which never gets ``library/``.
    """
    is_namespace = name.strip().endswith("/")
    stripped = name.strip().rstrip("/")
    if not stripped:
        raise KpatchError(f"empty image name prefix {name!r}")
    if "/" not in stripped and (
        "." in stripped or ":" in stripped or stripped == "localhost"
        or (is_namespace and stripped.lower() != stripped)
    ):
        # A bare host ("quay.io", "localhost:5000/") names a whole registry.
        return normalize_host(stripped)
    registry, path = split_registry(stripped)
    domain = DOCKER_HUB if registry is None or registry in DOCKER_HUB_ALIASES else registry
    if domain == DOCKER_HUB and path and "/" not in path and not is_namespace:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    return f"{domain}/{path}" if path else domain


def normalize_host(host: str) -> str:
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


@dataclass(frozen=True)
class PrefixMapping:
    source: str  # normalized, no trailing slash
    target: str  # as given, no trailing slash

    @property
    def normalized_target(self) -> str:
        """The target as image names spell it (``index.docker.io/x`` -> ``docker.io/x``)."""
        return normalize_name(self.target + "/")

    @classmethod
    def parse(cls, text: str) -> PrefixMapping:
        source, sep, target = text.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise KpatchError(f"invalid mapping {text!r}: expected FROM=TO")
        target = target.strip().rstrip("/")
        registry, path = split_registry(target)
        if registry is None:
            host_only = "/" not in target and ("." in target or ":" in target)
            if not host_only:
                raise KpatchError(
                    f"invalid mapping {text!r}: TO must start with a registry host"
                )
        elif not _REGISTRY_RE.fullmatch(registry) or (path and not _PATH_RE.fullmatch(path)):
            raise KpatchError(f"invalid mapping {text!r}: bad target {target!r}")
        return cls(source=normalize_name(source), target=target)

    def matches(self, name: str) -> bool:
        return name == self.source or name.startswith(self.source + "/")


@dataclass(frozen=True)
class RelocationRules:
    registry: str
    prefix: str = ""
    mappings: tuple[PrefixMapping, ...] = field(default=())
    flatten: bool = False
    keep_host: bool = False
    # Where each reference goes, worked out once: a relocation asks for the same
    # references many times (planning, the collision check, the self-check).
    _destinations: dict[ImageReference, ImageReference] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False)

    @classmethod
    def parse(
        cls, target: str, mappings: tuple[str, ...] | list[str] = (), flatten: bool = False,
        keep_host: bool = False,
    ) -> RelocationRules:
        """Build rules from ``HOST[:PORT][/PREFIX]`` and ``FROM=TO`` strings."""
        text = target.strip().rstrip("/")
        host, _, prefix = text.partition("/")
        if not host or not _REGISTRY_RE.fullmatch(host) or ("." not in host and ":" not in host
                                                            and host != "localhost"):
            raise KpatchError(
                f"invalid registry {target!r}: expected HOST[:PORT][/PREFIX], "
                "e.g. registry.corp:5000/mirror"
            )
        if prefix and not _PATH_RE.fullmatch(prefix):
            raise KpatchError(f"invalid registry prefix {prefix!r} in {target!r}")
        parsed = tuple(PrefixMapping.parse(m) for m in mappings)
        return cls(registry=host, prefix=prefix, mappings=parsed, flatten=flatten,
                   keep_host=keep_host)

    @property
    def target(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def is_relocated(self, ref: ImageReference) -> bool:
        # Compare normalized spellings: the target may be written as a Docker
        # Hub alias while image names always normalize to docker.io.
        if ref.domain == normalize_host(self.registry):
            return True
        return any(
            ref.name == target or ref.name.startswith(target + "/")
            for target in (m.normalized_target for m in self.mappings)
        )

    def mapping_for(self, name: str) -> PrefixMapping | None:
        """The mapping that applies to a normalized name: the longest FROM."""
        return max((m for m in self.mappings if m.matches(name)),
                   key=lambda m: len(m.source), default=None)

    def relocate(self, ref: ImageReference) -> ImageReference:
        found = self._destinations.get(ref)
        if found is None:
            found = self._destinations[ref] = self._relocate(ref)
        return found

    def _relocate(self, ref: ImageReference) -> ImageReference:
        if self.is_relocated(ref):
            return ref
        name = ref.name
        best = self.mapping_for(name)
        if best is not None:
            new_name = best.target + name[len(best.source) :]
            registry, path = split_registry(new_name)
            return ref.moved(registry, path)
        path = ref.repository.rsplit("/", 1)[-1] if self.flatten else ref.repository
        if self.keep_host:
            path = f"{host_component(ref.domain)}/{path}"
        if self.prefix:
            path = f"{self.prefix}/{path}"
        return ref.moved(self.registry, path)


def host_component(domain: str) -> str:
    """A registry host as one repository path component (``localhost:5000`` ->
    ``localhost-5000``: a colon is not allowed in a path)."""
    return domain.lower().replace(":", "-")


def check_collisions(rules: RelocationRules, references: Iterable[ImageReference]) -> None:
    """Refuse when two different images would land on one destination."""
    sources: dict[str, dict[str, ImageReference]] = {}
    for ref in references:
        if rules.is_relocated(ref):
            continue  # already in the mirror: its origin is unknown, it does not move
        sources.setdefault(rules.relocate(ref).normalized, {})[ref.normalized] = ref
    clashes = [(dest, list(found.values())) for dest, found in sources.items() if len(found) > 1]
    if not clashes:
        return
    described = "; ".join(
        " and ".join(ref.normalized for ref in refs) + f" would both become {dest}"
        for dest, refs in clashes)
    raise KpatchError(
        f"two different images would land on one destination (the second push would "
        f"overwrite the first): {described}; nothing was written. "
        + _way_out(rules, clashes[0][1]))


def _way_out(rules: RelocationRules, refs: list[ImageReference]) -> str:
    second = refs[1]
    mapped = rules.mapping_for(second.name)
    hints = []
    if mapped is None and not rules.keep_host and len({ref.domain for ref in refs}) > 1:
        hint = RelocationRules(rules.registry, rules.prefix, rules.mappings, rules.flatten,
                               keep_host=True).relocate(second)
        hints.append(f"--keep-registry-host (puts the source registry in the path: "
                     f"{second.name} -> {hint.name})")
    if mapped is None and rules.flatten and len({ref.repository for ref in refs}) > 1:
        hints.append("dropping --flatten")
    if mapped is not None:
        last = mapped.source.rsplit("/", 1)[-1]
        hints.append(f"another target for one --map, e.g. --map {mapped.source}="
                     f"{mapped.target}/{host_component(last)}")
    else:
        source = second.name.rsplit("/", 1)[0] if "/" in second.repository else second.name
        tail = source[len(second.domain) + 1:] if source.startswith(second.domain + "/") \
            else source
        target = f"{rules.target}/{host_component(second.domain)}/{tail}"
        hints.append(f"a --map for one of them, e.g. --map {source}={target}")
    return "Keep them apart with " + ", or ".join(hints) + "."
