"""The relocation planner: from an inventory to JSON6902 operations per resource.

Pure: documents and an inventory in, a ``RelocationPlan`` out. Nothing here
reads or writes files (kpatch/overlay.py does). The plan is checked before it
is returned: its operations are applied in process and the result inventoried
again; any image that did not land under the target is listed as unrelocated,
so a miss is never silent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpatch.editors.imageconfig import imageconfig_edits
from kpatch.errors import KpatchError
from kpatch.inventory import Inventory, build_inventory
from kpatch.kustomize.json6902 import PatchError, apply_operations
from kpatch.locate import FieldIndex, compose_block_parts
from kpatch.model import MISSING, ImageUse, NamedEntry, ResourceId, child, lookup, pointer
from kpatch.profile import BlockLayout, FieldSpec, PullSettings
from kpatch.reference import ImageReference
from kpatch.relocation import RelocationRules, check_collisions
from kpatch.yamledit import Edit, apply_edits, edit_yaml_text
from kpatch.yamlio import Document, SourceText

Tokens = tuple[str | int, ...]
Op = dict[str, Any]
RESTART_ANNOTATION = "kpatch.dev/image-config-hash"
PULL_POLICIES = ("IfNotPresent", "Always", "Never")


@dataclass(frozen=True)
class RelocateOptions:
    rules: RelocationRules
    pull_secrets: tuple[str, ...] = ()
    pull_policy: str | None = None
    service_accounts: bool = False
    # --pin-digests: normalized source reference -> digest resolved at the source.
    pins: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Move:
    resource: ResourceId
    path: str
    old: str | None
    new: str
    how: str  # "replace", "block", "explicit", "imageconfig", "entry"


@dataclass
class Unrelocated:
    resource: ResourceId
    path: str
    image: str | None
    reason: str


@dataclass
class ResourcePatch:
    resource: ResourceId
    ops: list[Op]


@dataclass
class RelocationPlan:
    patches: list[ResourcePatch]
    moves: list[Move]
    unrelocated: list[Unrelocated]
    warnings: list[str] = field(default_factory=list)
    # The inventory of the base with the plan applied, from the plan's own check
    # (kpatch check reuses it when the overlay on disk renders to the same documents).
    verified: Inventory | None = field(default=None, repr=False, compare=False)


# --- JSON6902 operation builders -------------------------------------------------


def op_test(tokens: Tokens, value: Any) -> Op:
    return {"op": "test", "path": pointer(tokens), "value": value}


def op_replace(tokens: Tokens, value: Any) -> Op:
    return {"op": "replace", "path": pointer(tokens), "value": value}


def op_add_path(data: Any, tokens: Tokens, value: Any) -> Op:
    """``add`` that creates missing parents: the op lands at the first missing step."""
    node = data
    for depth, token in enumerate(tokens[:-1]):
        nested = child(node, token)
        if nested is MISSING or not isinstance(nested, (dict, list)):
            built: Any = value
            for inner in reversed(tokens[depth + 1 :]):
                built = {inner: built}
            return {"op": "add", "path": pointer(tokens[: depth + 1]), "value": built}
        node = nested
    return {"op": "add", "path": pointer(tokens), "value": value}


def _guard_name(data: Any, tokens: Tokens) -> list[Op]:
    """A ``test`` of the name of the nearest list item holding ``tokens`` (the
    container, the env var), so a drifted base fails instead of being patched."""
    for depth in range(len(tokens) - 1, -1, -1):
        if isinstance(tokens[depth], int):
            item = lookup(data, tokens[: depth + 1])
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                return [op_test((*tokens[: depth + 1], "name"), item["name"])]
            return []
    return []


def location_parts(layout: BlockLayout, ref: ImageReference) -> dict[str, str]:
    """The parts (registry, repository, name) that spell ``ref``'s location in this
    layout: a layout without a registry key keeps the registry in the repository."""
    keys = layout.parts
    path_dir, _, last = ref.path.rpartition("/")
    parts: dict[str, str] = {}
    if "name" in keys:
        repository = path_dir
        parts["name"] = last
    else:
        repository = ref.path
    if "registry" in keys:
        if ref.registry:
            parts["registry"] = ref.registry
    elif ref.registry:
        repository = f"{ref.registry}/{repository}" if repository else ref.registry
    if "repository" in keys and repository:
        parts["repository"] = repository
    return parts


def block_parts(layout: BlockLayout, ref: ImageReference) -> dict[str, str]:
    """The block keys (not parts) that spell ``ref``'s location."""
    return {layout.parts[part]: value for part, value in location_parts(layout, ref).items()}


def block_changes(spec: FieldSpec, block: dict[str, Any], root: Any,
                  ref: ImageReference) -> dict[str, str]:
    """Keys to set so that the block, with whatever it inherits from ``root``,
    spells ``ref``: parts that already come out right are left alone."""
    assert spec.block is not None
    effective, _ = compose_block_parts(spec, block, root)
    wanted = location_parts(spec.block, ref)
    if ref.digest and "digest" in spec.block.parts:
        wanted["digest"] = ref.digest  # --pin-digests, in a layout that has a digest key
    return {spec.block.parts[part]: value for part, value in wanted.items()
            if effective.get(part) != value}


def full_block(layout: BlockLayout, ref: ImageReference) -> dict[str, str]:
    parts = block_parts(layout, ref)
    if ref.tag and "tag" in layout.parts:
        parts[layout.parts["tag"]] = ref.tag
    if ref.digest and "digest" in layout.parts:
        parts[layout.parts["digest"]] = ref.digest
    return parts


# --- the planner -----------------------------------------------------------------


@dataclass
class _ResourceWork:
    doc: Document
    rid: ResourceId
    ops: list[Op] = field(default_factory=list)
    pod_specs: dict[Tokens, None] = field(default_factory=dict)  # ordered set
    relocated_any: bool = False
    # Named list entries written so far: (list, name) -> the image they hold.
    entries: dict[tuple[Tokens, str], str] = field(default_factory=dict)


class Planner:
    def __init__(self, inventory: Inventory, options: RelocateOptions) -> None:
        self.inventory = inventory
        self.options = options
        self.rules = options.rules
        self.index = FieldIndex.for_profiles(inventory.profiles)
        self.work: dict[ResourceId, _ResourceWork] = {}
        self._specs_at: dict[tuple[str, str, Tokens], FieldSpec | None] = {}
        for doc, rid in inventory.resources:
            self.work.setdefault(rid, _ResourceWork(doc, rid))
        self.moves: list[Move] = []
        self.unrelocated: list[Unrelocated] = []
        # What the inventory already had to say (an assumed release...) comes first.
        self.warnings: list[str] = list(inventory.warnings)
        self.profiles = {p.name: p for p in inventory.profiles}

    # -- entry ---------------------------------------------------------------

    def plan(self) -> RelocationPlan:
        embedded: dict[tuple[ResourceId, Tokens], list[ImageUse]] = {}
        for use in self.inventory.uses:
            if use.reference is None:
                self.unrelocated.append(Unrelocated(
                    use.resource, use.path, None,
                    use.reason or "the image cannot be known from the input"))
                continue
            if use.shape == "embedded":
                outer = use.tokens[: use.tokens.index("#")]
                embedded.setdefault((use.resource, outer), []).append(use)
                continue
            if use.implicit:
                self._implicit(use)
            elif use.shape == "block":
                self._block(use)
            else:
                self._string(use)
        for embedded_doc in self.inventory.embedded:
            key = (embedded_doc.resource, embedded_doc.tokens)
            self._embedded(embedded_doc, embedded.get(key, []))
        for work in self.work.values():
            if work.relocated_any:
                self._resource_pull_settings(work)
            self._pod_spec_secrets(work)
        if self.options.service_accounts:
            self._service_accounts()
        patches = [ResourcePatch(w.rid, w.ops) for w in self.work.values() if w.ops]
        plan = RelocationPlan(patches, self.moves, self.unrelocated, self.warnings)
        self._verify(plan)
        return plan

    # -- written references --------------------------------------------------

    def _target(self, use: ImageUse) -> ImageReference | None:
        assert use.reference is not None
        new = self._pinned(use, self.rules.relocate(use.reference))
        return None if new == use.reference else new

    def _pinned(self, use: ImageUse, new: ImageReference) -> ImageReference:
        """``new`` as ``tag@digest`` with --pin-digests: in a string, or in a block
        whose layout has a digest key (Redis ``digestHash``). A block without one
        (k8ssandra-operator's), or an ImageConfig block (an operator release may
        ignore its digest), stays pinned by tag, with a warning."""
        assert use.reference is not None
        digest = self.options.pins.get(use.reference.normalized)
        if digest is None or new.digest is not None:
            return new
        spec = use.spec if use.spec is not None else self._spec_at(use.resource, use.tokens)
        block_shaped = use.shape == "block" or use.embedded_shape == "block" or (
            use.implicit and spec is not None and spec.shape == "block")
        if block_shaped and (use.embedded_shape == "block" or spec is None
                             or spec.block is None or "digest" not in spec.block.parts):
            self.warnings.append(f"{use.resource} {use.path}: not pinned to {digest}: the "
                                 "image is spelled across block fields with no digest key")
            return new
        return new._replace(digest=digest)

    def _string(self, use: ImageUse) -> None:
        work = self.work[use.resource]
        new = self._target(use)
        data = work.doc.data
        if new is not None:
            work.ops += _guard_name(data, use.tokens)
            work.ops += [op_test(use.tokens, use.image), op_replace(use.tokens, str(new))]
            work.relocated_any = True
            self.moves.append(Move(use.resource, use.path, use.image, str(new), "replace"))
        spec = use.spec
        if spec is None:
            return
        if new is not None or self.options.pull_policy:
            self._container_settings(work, use, spec)

    def _container_settings(self, work: _ResourceWork, use: ImageUse, spec: FieldSpec) -> None:
        policy = self.options.pull_policy
        if policy and spec.pull_policy_key and use.pull_policy != policy:
            work.ops.append(op_add_path(
                work.doc.data, (*use.tokens[:-1], spec.pull_policy_key), policy))
        if spec.pod_spec_depth is not None and self.options.pull_secrets:
            work.pod_specs[use.tokens[: spec.pod_spec_depth]] = None

    def _block(self, use: ImageUse) -> None:
        work = self.work[use.resource]
        spec, block = use.spec, use.block
        assert spec is not None and spec.block is not None and block is not None
        new = self._target(use)
        changes: dict[str, Any] = {}
        if new is not None:
            changes.update(block_changes(spec, block, work.doc.data, new))
            tag_key = spec.block.parts.get("tag")
            if new.tag and tag_key and not compose_block_parts(spec, block, work.doc.data)[0].get(
                    "tag"):
                # A tag the operator fills in (a Redis spec with a repository and no
                # versionTag): written out, so that the moved image is the one planned
                # whatever release the operator turns out to be.
                changes[tag_key] = new.tag
            self.moves.append(Move(use.resource, use.path, use.image, str(new), "block"))
            work.relocated_any = True
        changes.update(self._block_settings(spec.block, block, relocated=new is not None))
        for key, value in changes.items():
            tokens = (*use.tokens, key)
            if key in block:
                if block[key] == value:
                    continue
                work.ops += [op_test(tokens, block[key]), op_replace(tokens, value)]
            else:
                work.ops.append({"op": "add", "path": pointer(tokens), "value": value})

    def _block_settings(self, layout: BlockLayout, block: dict[str, Any],
                        relocated: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.options.pull_policy and layout.pull_policy:
            out[layout.pull_policy] = self.options.pull_policy
        if relocated and self.options.pull_secrets and layout.pull_secret:
            key, *rest = layout.pull_secret
            if lookup(block, layout.pull_secret) is None:
                value: Any = self.options.pull_secrets[0]
                for inner in reversed(rest):
                    value = {inner: value}
                out[key] = value
        return out

    # -- implicit images -------------------------------------------------------

    def _implicit(self, use: ImageUse) -> None:
        assert use.reference is not None
        if any(e.get("level") == "imageconfig" for e in use.effective_for):
            # Derived from an ImageConfig in the input: the config is edited.
            if use.reference.normalized in self.options.pins:
                self.warnings.append(f"{use.resource} {use.path}: not pinned: the operator "
                                     "derives this image from ImageConfig settings")
            return
        work = self.work[use.resource]
        new = self._pinned(use, self.rules.relocate(use.reference))
        if new == use.reference:
            return
        if use.entry is not None:
            self._named_entry(work, use, use.entry, str(new))
            return
        spec = self._spec_at(use.resource, use.tokens)
        if spec is None:
            self.unrelocated.append(Unrelocated(
                use.resource, use.path, use.image,
                "no profile field to write this implicit image into"))
            return
        if spec.shape == "block" and spec.block is not None:
            value: Any = full_block(spec.block, new)
            value.update(self._block_settings(spec.block, {}, relocated=True))
        else:
            value = str(new)
        work.ops.append(op_add_path(work.doc.data, use.tokens, value))
        work.relocated_any = True
        self.moves.append(Move(use.resource, use.path, use.image, str(new), "explicit"))

    def _named_entry(self, work: _ResourceWork, use: ImageUse, entry: NamedEntry,
                     image: str) -> None:
        """An image no field holds, written as the named entry of a list (a rule's
        request): see ``named_entry_ops``. One entry per list and name: a second
        image for the same entry cannot be expressed."""
        key = (entry.list_tokens, entry.name)
        held = work.entries.get(key)
        if held is not None:
            if held != image:
                self.unrelocated.append(Unrelocated(
                    use.resource, use.path, use.image,
                    f"the entry {entry.name!r} of {pointer(entry.list_tokens)} already gets "
                    f"{held}: one entry cannot hold two images"))
            return
        work.entries[key] = image
        fields = dict(entry.fields)
        if self.options.pull_policy:
            fields["imagePullPolicy"] = self.options.pull_policy
        # Earlier operations on this list or a parent of it (another entry in the
        # same list...) are taken into account: the new ones are guarded against
        # their result. Others cannot change it: the base is read as it is.
        where = pointer(entry.list_tokens)
        touched = any(op["path"] == where or op["path"].startswith(where + "/")
                      or where.startswith(op["path"] + "/") for op in work.ops)
        data = apply_operations(work.doc.data, work.ops) if touched else work.doc.data
        work.ops += named_entry_ops(data, entry, image, fields)
        spec = self._spec_at(use.resource, use.tokens)
        if spec is not None and spec.pod_spec_depth is not None and self.options.pull_secrets:
            pod = use.tokens[: spec.pod_spec_depth]
            if isinstance(lookup(work.doc.data, pod), dict):
                work.pod_specs[pod] = None
            else:  # the entry creates the pod spec: its secrets go in with it
                work.ops += _secret_list_ops(apply_operations(work.doc.data, work.ops),
                                             (*pod, "imagePullSecrets"),
                                             self.options.pull_secrets)
        work.relocated_any = True
        self.moves.append(Move(use.resource, use.path, use.image, image, "entry"))

    def _spec_at(self, rid: ResourceId, tokens: Tokens) -> FieldSpec | None:
        # Remembered by kind and path: every cluster of an install asks for the
        # same few paths, and a kind can have dozens of specs to try.
        key = (rid.api_version, rid.kind, tokens)
        if key not in self._specs_at:
            self._specs_at[key] = next(
                (spec for spec in self.index.specs_for(rid.api_version, rid.kind)
                 if spec.shape in ("string", "block") and _matches(spec, tokens)), None)
        return self._specs_at[key]

    # -- embedded documents ------------------------------------------------------

    def _embedded(self, embedded: Any, uses: list[ImageUse]) -> None:
        work = self.work[embedded.resource]
        inner: Document = embedded.document
        edits: list[Edit] = []
        if embedded.kind == "ImageConfig":
            # The built-in repositories of the cass-operator release in use, as its
            # rules resolved it (none when no datacenter needed them).
            found = self.inventory.hints.get("cass-operator", {}).get("builtinRepositories")
            builtin = ({str(k): str(v) for k, v in found.items()}
                       if isinstance(found, dict) else {})
            edits += imageconfig_edits(inner.data, self.rules, self._server_types(), builtin)
        # Document-level settings (defaults.registry...) move first; blocks then
        # change only the parts that still come out wrong.
        settled = apply_edits(inner.data, edits)
        for use in uses:
            new = self._target(use)
            if new is None:
                continue
            tokens = use.tokens[use.tokens.index("#") + 1 :]
            if use.embedded_shape == "block" and use.spec and use.spec.block:
                block = lookup(settled, tokens)
                for key, value in block_changes(use.spec, block, settled, new).items():
                    edits.append(((*tokens, key), value))
            else:
                edits.append((tokens, str(new)))
            self.moves.append(Move(use.resource, use.path, use.image, str(new), "imageconfig"))
        if not edits:
            return
        edits += self._settings_edits(inner.data, embedded.api_version, embedded.kind)
        original = lookup(embedded.outer.data, embedded.tokens)
        try:
            updated = edit_yaml_text(original, _unique_edits(edits))
        except KpatchError as exc:
            raise exc.at(file=work.doc.file, resource=str(work.rid),
                         pointer=pointer(embedded.tokens)) from None
        if updated == original:
            return
        work.ops += [op_test(embedded.tokens, original), op_replace(embedded.tokens, updated)]
        work.relocated_any = True
        self._restart_operator(work, updated)

    def _server_types(self) -> set[str]:
        types = set()
        for use in self.inventory.uses:
            if use.implicit and use.component == "server" and any(
                    e.get("level") == "imageconfig" for e in use.effective_for):
                data = self.work[use.resource].doc.data
                spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
                server_type = spec.get("serverType") or lookup(spec, ("cassandra", "serverType"))
                types.add(server_type if isinstance(server_type, str) else "cassandra")
        return types

    def _restart_operator(self, work: _ResourceWork, new_config: str) -> None:
        """The operator reads its ImageConfig at start: roll its Deployment."""
        cass = self.profiles.get("cass-operator")
        operator_images = [str(i) for i in (cass.data if cass else {}).get("operatorImages") or []]
        digest = hashlib.sha256(new_config.encode("utf-8")).hexdigest()[:16]
        config = work.rid
        running = {
            u.resource for u in self.inventory.uses
            if u.reference is not None and any(
                u.reference.repository.endswith(image) for image in operator_images)
        }
        for candidate in self.work.values():
            rid = candidate.rid
            if rid.kind != "Deployment" or rid.namespace != config.namespace:
                continue
            pod = lookup(candidate.doc.data, ("spec", "template", "spec")) or {}
            mounts = any(
                isinstance(v, dict) and lookup(v, ("configMap", "name")) == config.name
                for v in pod.get("volumes") or [])
            if not (mounts or rid in running):
                continue
            tokens = ("spec", "template", "metadata", "annotations", RESTART_ANNOTATION)
            if lookup(candidate.doc.data, tokens) == digest:
                continue
            candidate.ops.append(op_add_path(candidate.doc.data, tokens, digest))
            self.warnings.append(
                f"{config} changes: {rid} gets annotation {RESTART_ANNOTATION} so the "
                "operator restarts and reads it; running CassandraDatacenters take the new "
                "images only when they are re-created")

    # -- pull secrets and policy ------------------------------------------------------

    def _settings_for(self, api_version: str, kind: str) -> list[PullSettings]:
        return [s for p in self.inventory.profiles for s in p.pull_settings
                if any(m.matches(api_version, kind) for m in s.kinds)]

    def _settings_edits(self, data: dict[str, Any], api_version: str, kind: str) -> list[Edit]:
        edits: list[Edit] = []
        for settings in self._settings_for(api_version, kind):
            if settings.secrets_path and self.options.pull_secrets:
                current = lookup(data, settings.secrets_path)
                value = _merge_secrets(current, self.options.pull_secrets,
                                       settings.secrets_style)
                if value != current:
                    edits.append((settings.secrets_path, value))
            policy = self.options.pull_policy
            if settings.policy_path and policy and lookup(data, settings.policy_path) != policy:
                edits.append((settings.policy_path, policy))
        return edits

    def _resource_pull_settings(self, work: _ResourceWork) -> None:
        for tokens, value in self._settings_edits(work.doc.data, work.rid.api_version,
                                                  work.rid.kind):
            current = lookup(work.doc.data, tokens)
            if current is None:
                work.ops.append(op_add_path(work.doc.data, tokens, value))
            else:
                work.ops += [op_test(tokens, current), op_replace(tokens, value)]

    def _pod_spec_secrets(self, work: _ResourceWork) -> None:
        for tokens in work.pod_specs:
            pod = lookup(work.doc.data, tokens)
            if not isinstance(pod, dict):
                continue
            work.ops += _secret_list_ops(work.doc.data, (*tokens, "imagePullSecrets"),
                                         self.options.pull_secrets)

    def _service_accounts(self) -> None:
        wanted: dict[tuple[str | None, str], None] = {}
        for work in self.work.values():
            for tokens in work.pod_specs:
                pod = lookup(work.doc.data, tokens) or {}
                name = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
                wanted[(work.rid.namespace, str(name))] = None
        for work in self.work.values():
            if work.rid.kind == "ServiceAccount" and (work.rid.namespace, work.rid.name) in wanted:
                work.ops += _secret_list_ops(work.doc.data, ("imagePullSecrets",),
                                             self.options.pull_secrets)

    # -- the check -----------------------------------------------------------------------

    def _verify(self, plan: RelocationPlan) -> None:
        """Apply the plan in process and inventory the result: every image must be
        exactly where the rules send it (not merely somewhere in the target
        registry), with its tag and digest unchanged."""
        patched = apply_plan(self.inventory, plan)
        after = build_inventory(patched, self.inventory.profiles, self.inventory.params, None)
        plan.verified = after
        before = {(u.resource, u.path): u for u in self.inventory.uses}
        listed = {(u.resource, u.path) for u in plan.unrelocated}
        for use in after.uses:
            if use.reference is None or (use.resource, use.path) in listed:
                continue
            original = before.get((use.resource, use.path))
            if original is not None and original.reference is not None:
                wanted = self.rules.relocate(original.reference)
                if use.reference.name != wanted.name:
                    plan.unrelocated.append(Unrelocated(
                        use.resource, use.path, use.image,
                        f"kpatch could not express this relocation in the resource (planned "
                        f"{wanted}, after patching it reads {use.image})"))
                elif original.reference.tag != use.reference.tag or use.reference.digest not in (
                        original.reference.digest,
                        self.options.pins.get(original.reference.normalized)):
                    # A tag pinned to its digest (--pin-digests) gains exactly that digest.
                    raise KpatchError(
                        f"internal check failed: {use.resource} {use.path} changed tag or "
                        f"digest ({original.image} -> {use.image})")
            elif not self.rules.is_relocated(use.reference):
                plan.unrelocated.append(Unrelocated(
                    use.resource, use.path, use.image,
                    "kpatch could not express this relocation in the resource "
                    f"(after patching it still reads {use.image})"))


def _matches(spec: FieldSpec, tokens: Tokens) -> bool:
    position = 0
    for segment in spec.path:
        if position >= len(tokens):
            return False
        token = tokens[position]
        if not isinstance(token, str) or (segment.key != "*" and token != segment.key):
            return False
        position += 1
        if segment.each:
            if position >= len(tokens) or not isinstance(tokens[position], int):
                return False
            position += 1
    return position == len(tokens)


def named_entry_ops(data: Any, entry: NamedEntry, image: str,
                    fields: Mapping[str, Any]) -> list[Op]:
    """JSON6902 operations that set the image of the entry ``entry.name`` in the list
    at ``entry.list_tokens``, guarded so that kustomize fails rather than clobbers
    what the base holds when it has changed since:

    - list absent: ``test`` null (kustomize passes it for an absent key) where the
      list, or its first missing parent, would go, then ``add`` it with the
      ``before`` entries (bare) and the entry;
    - list present, no entry of that name: ``test`` of the last item's name, then
      ``add`` at the end (``/-``) of each missing ``before`` entry and the entry;
    - entry present without an image: ``test`` of its name and that it has no
      image, then ``add`` of the image; each field is added, or replaced under a
      ``test`` of the value the operator would have overwritten.
    """
    list_tokens = entry.list_tokens
    items = lookup(data, list_tokens)
    item: dict[str, Any] = {"name": entry.name, "image": image, **_json_ready(fields)}
    if not isinstance(items, list):
        create = op_add_path(data, list_tokens, [
            *({"name": name} for name in entry.before), item])
        return [{"op": "test", "path": create["path"], "value": None}, create]
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    if entry.name not in names:
        ops: list[Op] = []
        if items:
            last = (*list_tokens, len(items) - 1)
            ops.append(op_test((*last, "name"), names[-1]) if isinstance(names[-1], str)
                       else op_test(last, items[-1]))
        end = pointer((*list_tokens, "-"))
        ops += [{"op": "add", "path": end, "value": {"name": name}}
                for name in entry.before if name not in names]
        ops.append({"op": "add", "path": end, "value": item})
        return ops
    at = (*list_tokens, names.index(entry.name))
    existing = items[names.index(entry.name)]
    ops = [op_test((*at, "name"), entry.name)]
    if existing.get("image") is None:
        ops += [op_test((*at, "image"), None), {"op": "add", "path": pointer((*at, "image")),
                                                 "value": image}]
    else:  # "" (no image: the operator picks it)
        ops += [op_test((*at, "image"), existing["image"]), op_replace((*at, "image"), image)]
    for key, value in _json_ready(fields).items():
        if key not in existing:
            ops.append({"op": "add", "path": pointer((*at, key)), "value": value})
        elif existing[key] != value:
            ops += [op_test((*at, key), existing[key]), op_replace((*at, key), value)]
    return ops


def _json_ready(value: Any) -> Any:
    """Tuples as lists, for JSON6902 values and for comparison with parsed YAML."""
    if isinstance(value, Mapping):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _merge_secrets(current: Any, names: Sequence[str], style: str) -> Any:
    if style == "object":
        # One secret only (ImageConfig v1beta1): keep one that is set.
        if isinstance(current, dict) and current.get("name"):
            return current
        return {"name": names[0]}
    items = list(current) if isinstance(current, list) else []
    have = {i.get("name") if isinstance(i, dict) else i for i in items}
    for name in names:
        if name not in have:
            items.append({"name": name} if style == "objects" else name)
    return items


def _secret_list_ops(data: Any, tokens: Tokens, names: Sequence[str]) -> list[Op]:
    current = lookup(data, tokens)
    if not isinstance(current, list):
        if not names:
            return []
        return [op_add_path(data, tokens, [{"name": n} for n in names])]
    have = {i.get("name") for i in current if isinstance(i, dict)}
    return [{"op": "add", "path": pointer((*tokens, "-")), "value": {"name": n}}
            for n in names if n not in have]


def _unique_edits(edits: list[Edit]) -> list[Edit]:
    seen: dict[Tokens, Any] = {}
    for tokens, value in edits:
        seen[tokens] = value
    return list(seen.items())


def apply_plan(inventory: Inventory, plan: RelocationPlan) -> list[Document]:
    """The base's documents with the plan's operations applied (JSON6902)."""
    ops_by_resource = {p.resource: p.ops for p in plan.patches}
    out: list[Document] = []
    for doc, rid in inventory.resources:
        data = doc.data
        ops = ops_by_resource.get(rid)
        if ops:
            try:
                # Copy-on-write: the base stays as it was, and what the plan left
                # alone is shared, not copied (the check reads, never writes).
                data = apply_operations(doc.data, ops)
            except PatchError as exc:
                raise KpatchError(f"internal check failed: the plan does not apply: {exc}",
                                  resource=str(rid)) from None
        out.append(Document(data, SourceText("", doc.file), doc.index, doc.line, {}))
    return out


def plan_relocation(inventory: Inventory, options: RelocateOptions) -> RelocationPlan:
    if options.pull_policy is not None and options.pull_policy not in PULL_POLICIES:
        raise KpatchError(f"invalid pull policy {options.pull_policy!r}; "
                          f"choose {', '.join(PULL_POLICIES)}")
    check_collisions(options.rules,
                     (u.reference for u in inventory.uses if u.reference is not None))
    return Planner(inventory, options).plan()
