"""The locator: walk resources along profile field specs and report image uses.

Pure functions over loaded documents: no I/O, no printing. One function per
shape; the field specs (data) say which applies where.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kpatch.errors import KpatchError
from kpatch.model import ImageUse, ResourceId, lookup, pointer
from kpatch.profile import BLOCK_PARTS, FieldSpec, KindMatch, Profile, Segment
from kpatch.records import Record
from kpatch.reference import ImageReference, parse_reference
from kpatch.yamlio import Document, LoadLimits, load_stream

# Kinds never scanned: CRD schemas are full of "image" keys that are not images.
NEVER_SCANNED = frozenset({"CustomResourceDefinition"})

# Kubernetes' own API groups, and their kinds whose schema holds no pod spec:
# the generic pod-spec walk skips these (it would find nothing; this only saves
# the walk). A kind of the same name in another group (Knative's Service) is walked.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "policy",
    "storage.k8s.io", "autoscaling", "coordination.k8s.io", "apiregistration.k8s.io",
    "admissionregistration.k8s.io", "scheduling.k8s.io", "node.k8s.io", "discovery.k8s.io",
    "events.k8s.io",
})
NO_POD_SPEC = frozenset({
    "ConfigMap", "Secret", "Service", "ServiceAccount", "Namespace", "Endpoints",
    "EndpointSlice", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "PersistentVolume", "PersistentVolumeClaim", "StorageClass", "NetworkPolicy", "Ingress",
    "IngressClass", "PodDisruptionBudget", "HorizontalPodAutoscaler", "LimitRange",
    "ResourceQuota", "PriorityClass", "Lease", "APIService", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "CSIDriver", "RuntimeClass",
    "Event", "ControllerRevision",
})

# The image-holding lists of a pod spec, and the component each item is.
POD_SPEC_LISTS = (("containers", "container"), ("initContainers", "init-container"),
                  ("ephemeralContainers", "ephemeral-container"))
GENERIC_PROFILE = "generic"


class EmbeddedDocument(Record):
    """A YAML document found inside a string field (an ImageConfig in a ConfigMap).
    (A record, not a dataclass: kpatch.records.)"""

    document: Document
    outer: Document
    resource: ResourceId
    tokens: tuple[str | int, ...]  # of the string field in the outer resource

    def __init__(self, document: Document, outer: Document, resource: ResourceId,
                 tokens: tuple[str | int, ...]) -> None:
        self.document = document
        self.outer = outer
        self.resource = resource
        self.tokens = tokens

    @property
    def api_version(self) -> str:
        return str(self.document.data.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.document.data.get("kind", ""))


class LocateResult(Record):
    """What locating one resource found: image uses and embedded documents."""

    uses: list[ImageUse]
    embedded: list[EmbeddedDocument]

    def __init__(self, uses: list[ImageUse] | None = None,
                 embedded: list[EmbeddedDocument] | None = None) -> None:
        self.uses = [] if uses is None else uses
        self.embedded = [] if embedded is None else embedded


class FieldIndex:
    """Field specs of the selected profiles, grouped by kind for fast dispatch."""

    def __init__(self, profiles: Sequence[Profile]) -> None:
        self.by_kind: dict[str, list[FieldSpec]] = defaultdict(list)
        self._cache: dict[tuple[str, str], list[FieldSpec]] = {}
        self._tries: dict[tuple[str, str], SpecTrie] = {}
        # Kubernetes' workload kinds whose one pod spec the core profile locates:
        # the generic walk has nothing to add there.
        self.pod_spec_kinds: set[str] = set()
        for profile in profiles:
            for spec in profile.fields:
                for match in spec.kinds:
                    if spec not in self.by_kind[match.kind]:
                        self.by_kind[match.kind].append(spec)
                    if profile.name == "core" and spec.pod_spec_depth is not None:
                        self.pod_spec_kinds.add(match.kind)

    @classmethod
    def for_profiles(cls, profiles: Sequence[Profile]) -> FieldIndex:
        """The index of these profile objects, built once per process: profiles are
        frozen, and kpatch check and sync inventory every overlay (base, the plan's
        check) with the same ones; each kind's trie is then built once too."""
        key = tuple(id(p) for p in profiles)
        known = _INDEXES.get(key)
        if known is None:
            if len(_INDEXES) >= 64:  # a long-lived process loading profiles anew
                _INDEXES.clear()
            # The profiles are held with their index, so their ids stay theirs.
            known = _INDEXES[key] = (tuple(profiles), cls(profiles))
        return known[1]

    def trie_for(self, api_version: str, kind: str) -> SpecTrie:
        """The kind's field specs as one trie of path segments, so that a
        resource is walked once for all of them (K8ssandraCluster has dozens of
        specs sharing ``spec/cassandra/datacenters[]``)."""
        key = (api_version, kind)
        trie = self._tries.get(key)
        if trie is None:
            trie = self._tries[key] = SpecTrie.build(self.specs_for(api_version, kind))
        return trie

    def specs_for(self, api_version: str, kind: str) -> list[FieldSpec]:
        key = (api_version, kind)
        found = self._cache.get(key)
        if found is None:
            found = [
                s for s in self.by_kind.get(kind, ())
                if any(m.matches(api_version, kind) for m in s.kinds)
            ]
            self._cache[key] = found
        return found


_INDEXES: dict[tuple[int, ...], tuple[tuple[Profile, ...], FieldIndex]] = {}


def resource_id(doc: Document) -> ResourceId:
    """Identify a loaded document as a Kubernetes resource, or raise naming it."""
    data = doc.data
    if not isinstance(data, dict):
        raise KpatchError(
            f"document {doc.index + 1} is not a mapping but a {_type_name(data)}; "
            "expected a Kubernetes resource",
            file=doc.file,
            line=doc.line,
        )
    kind, api_version = data.get("kind"), data.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise KpatchError("not a Kubernetes resource: no kind", file=doc.file, line=doc.line)
    if not isinstance(api_version, str) or not api_version:
        raise KpatchError(
            f"not a Kubernetes resource: {kind} has no apiVersion", file=doc.file, line=doc.line
        )
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name, namespace = metadata.get("name"), metadata.get("namespace")
    # Positional: a NamedTuple built from keywords costs several times more,
    # once per document.
    return ResourceId(api_version, kind, namespace if isinstance(namespace, str) else None,
                      name if isinstance(name, str) else None)


def _type_name(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            dict: "mapping"}.get(
        type(value), type(value).__name__
    )


Found = tuple[Any, "str | int", Any, "tuple[str | int, ...]"]


class SpecTrie(Record):
    """Field-spec paths merged on their common prefixes; ``ends`` holds (order,
    spec) of each spec whose path ends at this node."""

    children: dict[Segment, SpecTrie]
    ends: list[tuple[int, FieldSpec]]
    _steps: list[tuple[str, bool, SpecTrie, list[tuple[int, FieldSpec]], bool]] | None
    _NOT_SHOWN = _NOT_COMPARED = frozenset({"_steps"})

    def __init__(self, children: dict[Segment, SpecTrie] | None = None,
                 ends: list[tuple[int, FieldSpec]] | None = None,
                 _steps: list[tuple[str, bool, SpecTrie, list[tuple[int, FieldSpec]], bool]]
                 | None = None) -> None:
        self.children = {} if children is None else children
        self.ends = [] if ends is None else ends
        self._steps = _steps

    @classmethod
    def build(cls, specs: Sequence[FieldSpec]) -> SpecTrie:
        root = cls()
        for order, spec in enumerate(specs):
            node = root
            for segment in spec.path:
                node = node.children.setdefault(segment, cls())
            node.ends.append((order, spec))
        return root

    def steps(self) -> list[tuple[str, bool, SpecTrie, list[tuple[int, FieldSpec]], bool]]:
        """(key, each, child, child's ends, child has children) per child: what
        :meth:`walk` reads at every node it visits, spelled out once per trie."""
        if self._steps is None:
            self._steps = [(segment.key, segment.each, below, below.ends, bool(below.children))
                           for segment, below in self.children.items()]
        return self._steps

    def walk(self, data: Any, misshapen: list[Found] | None = None
             ) -> list[tuple[FieldSpec, Found]]:
        """(spec, (parent, key, value, tokens)) for every value any spec reaches:
        in spec order, then document order, as walking each spec alone would give.
        A ``name[]`` step that finds something other than a list goes to
        ``misshapen`` when given (see :func:`walk`)."""
        found: list[tuple[int, FieldSpec, Found]] = []
        frontier: list[tuple[Any, tuple[str | int, ...], SpecTrie]] = [(data, (), self)]
        while frontier:
            following: list[tuple[Any, tuple[str | int, ...], SpecTrie]] = []
            for current, path, node in frontier:
                if not isinstance(current, dict):
                    continue
                for name, each, below, ends, deeper in node.steps():
                    keys: Sequence[Any]
                    if name == "*":
                        keys = [k for k in current if isinstance(k, str)]
                    elif name in current:
                        keys = (name,)
                    else:
                        continue
                    for key in keys:
                        value = current[key]
                        key_path = (*path, key)
                        if each:
                            if not isinstance(value, list):
                                if value is not None and misshapen is not None:
                                    misshapen.append((current, key, value, key_path))
                                continue
                            for index, item in enumerate(value):
                                item_path = (*key_path, index)
                                for order, spec in ends:
                                    found.append((order, spec, (value, index, item, item_path)))
                                if deeper:
                                    following.append((item, item_path, below))
                        else:
                            for order, spec in ends:
                                found.append((order, spec, (current, key, value, key_path)))
                            if deeper:
                                following.append((value, key_path, below))
            frontier = following
        found.sort(key=lambda item: item[0])  # stable: document order within a spec
        return [(spec, hit) for _, spec, hit in found]


class Locator:
    def __init__(self, profiles: Sequence[Profile], limits: LoadLimits | None = None) -> None:
        self.index = FieldIndex.for_profiles(profiles)
        self.limits = limits or LoadLimits()

    def locate(self, doc: Document, resource: ResourceId | None = None) -> LocateResult:
        result = LocateResult()
        rid = resource or resource_id(doc)
        if rid.kind in NEVER_SCANNED:
            return result
        self._locate_into(result, doc, rid, doc, prefix=None)
        if not (rid.group in BUILTIN_GROUPS
                and (rid.kind in NO_POD_SPEC or rid.kind in self.index.pod_spec_kinds)):
            self._generic_pod_specs(result, doc, rid)
        return result

    def _generic_pod_specs(self, result: LocateResult, doc: Document, rid: ResourceId) -> None:
        """Every PodSpec-shaped map at any depth (a ``containers`` list of objects
        with ``name``/``image``): a kind no profile names (an Argo Rollout, a
        Knative Service, an operator's own CR) still has its images found and
        relocated. A place a profile already reported is left to the profile."""
        taken = {use.tokens for use in result.uses}
        for pod, pod_tokens in find_pod_specs(doc.data):
            for key, component in POD_SPEC_LISTS:
                items = pod.get(key)
                if not isinstance(items, list):
                    continue
                for index, item in enumerate(items):
                    if not isinstance(item, dict) or "image" not in item:
                        continue
                    tokens = (*pod_tokens, key, index, "image")
                    if tokens not in taken:
                        self._generic_use(result, doc, rid, item, tokens, len(pod_tokens),
                                          component, "imagePullPolicy")
            volumes = pod.get("volumes")
            for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
                image = volume.get("image") if isinstance(volume, dict) else None
                if isinstance(image, dict) and "reference" in image:
                    tokens = (*pod_tokens, "volumes", index, "image", "reference")
                    if tokens not in taken:
                        self._generic_use(result, doc, rid, image, tokens, len(pod_tokens),
                                          "image-volume", "pullPolicy")

    def _generic_use(self, result: LocateResult, doc: Document, rid: ResourceId,
                     parent: dict[str, Any], tokens: tuple[str | int, ...], pod_depth: int,
                     component: str, policy_key: str) -> None:
        spec = FieldSpec(
            profile=GENERIC_PROFILE, kinds=(KindMatch(rid.kind),),
            path=tuple(Segment(str(t)) for t in tokens if isinstance(t, str)),
            shape="string", pull_policy_key=policy_key, component=component,
            note=f"no profile names {rid.kind}: found by kpatch's generic pod-spec walk",
            pod_spec_depth=pod_depth, pull_secrets_key="imagePullSecrets",
        )
        key = str(tokens[-1])  # "image" or "reference"
        if isinstance(parent[key], (dict, list)):
            return  # a heuristic match, not a declared field: another shape lives here
        line = doc.line_of(parent, key)
        use = self._string(spec, rid, doc, parent, parent[key], tokens, line)
        if use is not None:
            result.uses.append(use)

    def _locate_into(
        self,
        result: LocateResult,
        doc: Document,
        rid: ResourceId,
        outer: Document,
        prefix: tuple[str | int, ...] | None,
    ) -> None:
        data = doc.data
        trie = self.index.trie_for(str(data.get("apiVersion", "")), str(data.get("kind")))
        misshapen: list[Found] = []
        reached = trie.walk(data, misshapen)
        for parent, key, value, tokens in misshapen:
            raise self._error(f"{key} must be a list, not {_type_name(value)}",
                              doc, rid, tokens, doc.line_of(parent, key))
        for spec, (parent, key, value, tokens) in reached:
            line = doc.line_of(parent, key)
            if spec.shape == "string":
                use = self._string(spec, rid, doc, parent, value, tokens, line)
            elif spec.shape == "block":
                use = self._block(spec, rid, doc, value, tokens, line)
            elif spec.shape == "env":
                use = self._env(spec, rid, doc, value, tokens)
            else:
                self._embedded(result, spec, rid, doc, value, tokens, line)
                continue
            if use is None:
                continue
            if prefix is not None:
                use.embedded_shape = use.shape
                use.shape = "embedded"
                use.path = f"{pointer(prefix)}#{use.path}"
                use.tokens = (*prefix, "#", *use.tokens)
            result.uses.append(use)

    def _error(self, message: str, doc: Document, rid: ResourceId, tokens: tuple[str | int, ...],
               line: int | None) -> KpatchError:
        return KpatchError(message, file=doc.file, line=line, resource=str(rid),
                           pointer=pointer(tokens))

    def _parse(self, text: str, doc: Document, rid: ResourceId, tokens: tuple[str | int, ...],
               line: int | None) -> ImageReference:
        try:
            return parse_reference(text)
        except KpatchError as exc:
            raise exc.at(
                file=doc.file, line=line, resource=str(rid), pointer=pointer(tokens)
            ) from None

    def _use(self, spec: FieldSpec, rid: ResourceId, doc: Document, text: str,
             ref: ImageReference, tokens: tuple[str | int, ...], line: int | None,
             shape: str) -> ImageUse:
        return ImageUse(
            image=text, reference=ref, resource=rid, path=pointer(tokens), file=doc.file,
            line=line, shape=shape, profile=spec.profile, component=spec.component,
            note=spec.note, pulled=spec.pulled, spec=spec, tokens=tokens,
        )

    def _string(self, spec: FieldSpec, rid: ResourceId, doc: Document, parent: Any, value: Any,
                tokens: tuple[str | int, ...], line: int | None) -> ImageUse | None:
        if value is None:
            return None
        if not isinstance(value, str):
            if isinstance(value, dict) and spec.path[-1].key == "*":
                return None  # another shape lives here (ImageConfig maps of versions)
            raise self._error(f"image must be a string, not {_type_name(value)}",
                              doc, rid, tokens, line)
        ref = self._parse(value, doc, rid, tokens, line)
        use = self._use(spec, rid, doc, value, ref, tokens, line, "string")
        if spec.component is None and isinstance(tokens[-1], str):
            use.component = tokens[-1]
        if spec.pull_policy_key and isinstance(parent, dict):
            policy = parent.get(spec.pull_policy_key)
            use.pull_policy = policy if isinstance(policy, str) else None
        return use

    def _block(self, spec: FieldSpec, rid: ResourceId, doc: Document, value: Any,
               tokens: tuple[str | int, ...], line: int | None) -> ImageUse | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._error(f"image block must be a mapping, not {_type_name(value)}",
                              doc, rid, tokens, line)
        parts, filled = compose_block_parts(spec, value, doc.data)
        text = format_parts(parts)
        if not text:
            raise self._error("image block names no repository or name", doc, rid, tokens, line)
        ref = self._parse(text, doc, rid, tokens, line)
        use = self._use(spec, rid, doc, text, ref, tokens, line, "block")
        use.block = value
        if spec.component is None and isinstance(tokens[-1], str):
            use.component = tokens[-1]
        if filled:
            use.reason = "block completed with defaults: " + ", ".join(
                f"{part} from {source}" for part, source in filled.items()
            )
        if spec.block is not None and spec.block.pull_policy:
            policy = value.get(spec.block.pull_policy)
            use.pull_policy = policy if isinstance(policy, str) else None
        return use

    def _env(self, spec: FieldSpec, rid: ResourceId, doc: Document, item: Any,
             tokens: tuple[str | int, ...]) -> ImageUse | None:
        if not isinstance(item, dict) or spec.env_name is None:
            return None
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not spec.env_name.search(name):
            return None
        if value is not None and not isinstance(value, str):
            raise self._error(f"env var {name} must hold a string, not {_type_name(value)}",
                              doc, rid, (*tokens, "value"), doc.line_of(item, "value"))
        if not value:
            return None  # valueFrom: nothing to relocate here
        value_tokens = (*tokens, "value")
        line = doc.line_of(item, "value")
        ref = self._parse(value, doc, rid, value_tokens, line)
        use = self._use(spec, rid, doc, value, ref, value_tokens, line, "env")
        use.component = name
        return use

    def _embedded(self, result: LocateResult, spec: FieldSpec, rid: ResourceId, doc: Document,
                  value: Any, tokens: tuple[str | int, ...], line: int | None) -> None:
        if not isinstance(value, str) or not _mentions_kind(value, spec.embedded_kinds):
            return
        if len(value) > self.limits.max_embedded_bytes:
            raise self._error(
                f"embedded document is {len(value)} bytes, over the limit of "
                f"{self.limits.max_embedded_bytes} (KPATCH_MAX_EMBEDDED_BYTES)",
                doc, rid, tokens, line)
        try:
            inner_docs = load_stream(value, doc.file, self.limits, line_offset=line or 0)
        except KpatchError as exc:
            raise KpatchError(
                f"embedded {'/'.join(spec.embedded_kinds)} is broken: {exc.message}",
                file=doc.file, line=exc.location.line or line, resource=str(rid),
                pointer=pointer(tokens),
            ) from None
        for inner in inner_docs:
            data = inner.data
            if not isinstance(data, dict) or data.get("kind") not in spec.embedded_kinds:
                continue
            if not isinstance(data.get("apiVersion"), str):
                raise self._error(f"embedded {data.get('kind')} has no apiVersion",
                                  doc, rid, tokens, inner.line)
            result.embedded.append(EmbeddedDocument(inner, doc, rid, tokens))
            self._locate_into(result, inner, rid, doc, prefix=tokens)


def find_pod_specs(root: Any) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
    """(map, tokens) of every PodSpec-shaped map under ``root``, outermost first.

    PodSpec-shaped: its ``containers`` is a non-empty list of objects, each with
    an ``image`` or a ``name`` key, and at least one with an ``image``.
    """
    # Runs on every custom resource: paths are kept as parent links and spelled
    # out only for the maps found, not built for every node walked.
    found: list[tuple[dict[str, Any], int]] = []
    links: list[tuple[int, str | int]] = [(-1, "")]
    stack: list[tuple[Any, int]] = [(root, 0)]
    push, link_to = stack.append, links.append
    while stack:
        node, link = stack.pop()
        if isinstance(node, dict):
            containers = node.get("containers")
            if (containers and isinstance(containers, list)
                    and all(isinstance(c, dict) and ("image" in c or "name" in c)
                            for c in containers)
                    and any("image" in c for c in containers)):
                found.append((node, link))
            items: Any = node.items()
        else:
            items = enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, list)) and value:
                link_to((link, key))
                push((value, len(links) - 1))
    out = []
    for node, link in found:
        tokens: list[str | int] = []
        while link > 0:
            link, key = links[link]
            tokens.append(key)
        out.append((node, tuple(reversed(tokens))))
    out.sort(key=lambda item: [str(t) for t in item[1]])
    return out


def _mentions_kind(text: str, kinds: Sequence[str]) -> bool:
    return any(
        re.search(rf"^\s*kind:\s*[\"']?{re.escape(kind)}[\"']?\s*$", text, re.MULTILINE)
        for kind in kinds
    )


def compose_block_parts(
    spec: FieldSpec, block: dict[str, Any], root: Any
) -> tuple[dict[str, str], dict[str, str]]:
    """The effective parts of a structured block, and which parts came from where.

    Precedence, highest first: document-level overrides, the block's own
    non-empty values, document-level defaults (``inherit``), the layout's
    defaults (what the API server fills in for a present block), the field's
    default image (what the operator merges in).
    """
    layout = spec.block
    assert layout is not None
    parts: dict[str, str] = {}
    filled: dict[str, str] = {}
    for part in BLOCK_PARTS:
        override = spec.overrides.get(part)
        if override is not None:
            value = lookup(root, override)
            # A present override wins even when empty (cass-operator v1beta2 reads a
            # pointer: `repository: ""` drops the repository).
            if isinstance(value, str):
                if value:
                    parts[part] = value
                filled[part] = "/" + "/".join(override)
                continue
        key = layout.parts.get(part)
        if key is None:
            continue
        own = block.get(key)
        if isinstance(own, str) and own:
            parts[part] = own
            continue
        for source in spec.inherit.get(part, ()):
            value = lookup(root, source)
            if isinstance(value, str) and value:
                parts[part] = value
                filled[part] = "/" + "/".join(source)
                break
        else:
            if part in layout.defaults:
                parts[part] = layout.defaults[part]
                filled[part] = "block default"
            elif part in spec.defaults:
                parts[part] = spec.defaults[part]
                filled[part] = "operator default"
    return parts, filled


def format_parts(parts: dict[str, str]) -> str:
    """registry/repository/name[:tag][@digest] from whichever parts are set."""
    path = "/".join(parts[p].strip("/") for p in ("registry", "repository", "name") if parts.get(p))
    if not path:
        return ""
    if parts.get("tag"):
        path += ":" + parts["tag"]
    if parts.get("digest"):
        path += "@" + parts["digest"]
    return path
