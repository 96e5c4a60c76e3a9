"""The built-in renderer: kustomize's behaviour for a documented subset of fields.

Supported: ``resources`` (files, directories, nested kustomizations),
``components``, ``patches`` (inline and path; JSON6902 with ``test``; strategic
merge), ``patchesJson6902``, ``patchesStrategicMerge``, ``images``,
``namespace``, ``labels``, ``commonLabels``, ``commonAnnotations``. Every other
field makes the renderer refuse with the field's name (``Unsupported``), so
``--renderer auto`` can hand the tree to kustomize or kubectl instead of
rendering it wrong. The load restriction holds as in kustomize: files only
from inside the kustomization's own folder, symlinks included.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpatch.errors import KpatchError
from kpatch.kustomize import fieldspecs
from kpatch.kustomize.json6902 import PatchError, PatchTestFailed, apply_operations
from kpatch.kustomize.selectors import literal_name, matches_target
from kpatch.kustomize.smp import strategic_merge
from kpatch.render import KUSTOMIZATION_FILES
from kpatch.yamlio import Document, LoadLimits, load_stream

Resource = dict[str, Any]

SUPPORTED_FIELDS = frozenset({
    "apiVersion", "kind", "metadata", "resources", "components", "patches",
    "patchesJson6902", "patchesStrategicMerge", "images", "namespace", "labels",
    "commonLabels", "commonAnnotations",
})
# generatorOptions only shapes generators, which are refused anyway.
IGNORED_FIELDS = frozenset({"generatorOptions"})


class Unsupported(KpatchError):
    """The tree uses something the built-in renderer does not implement."""

    def __init__(self, what: str, file: Path) -> None:
        super().__init__(f"the built-in renderer does not support {what}", file=str(file))
        self.what = what


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@", "gitlab.com/"))


@dataclass
class Kustomization:
    folder: Path
    file: Path
    data: dict[str, Any]
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        # Resolved once: overlays name thousands of patch files in this folder.
        self.root = self.folder.resolve()

    def entries(self, key: str) -> list[Any]:
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise KpatchError(f"{key} must be a list", file=str(self.file))
        return value


@dataclass
class BuiltinRenderer:
    limits: LoadLimits = field(default_factory=LoadLimits)
    name: str = "builtin"
    # Set once a namespace transformer moved a resource: kustomize then also
    # matches patch targets against the earlier id, which this renderer does not
    # track, so a target that matches nothing is refused rather than skipped.
    ids_changed: bool = False
    # For `kpatch images`: read resource files with positions and keep their
    # documents, so that rendered fields can point at the file they came from.
    track_sources: bool = False
    sources: list[Document] = field(default_factory=list)

    # -- the interface shared with external renderers ---------------------------

    def render(self, path: Path) -> str:
        from kpatch.yamlwrite import dump_stream

        return dump_stream(self.build(path))

    def build(self, path: Path) -> list[Resource]:
        return legacy_sort(self._build(path.resolve(), expect="Kustomization"))

    def check(self, path: Path) -> None:
        """Raise Unsupported if any kustomization of the tree uses an unsupported field."""
        self._check(path.resolve(), set())

    # -- reading kustomizations --------------------------------------------------

    def _load(self, folder: Path, expect: str | None) -> Kustomization:
        """The kustomization in ``folder``; ``expect`` its kind (None: either kind)."""
        file = kustomization_file(folder)
        if file is None:
            raise KpatchError("no kustomization.yaml in this folder", file=str(folder))
        docs = load_stream(file.read_text(encoding="utf-8"), str(file), self.limits, track=False)
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            raise KpatchError("a kustomization must be one YAML mapping", file=str(file))
        data = docs[0].data
        kind = data.get("kind", "Kustomization")
        if kind not in ("Kustomization", "Component") or (expect is not None and kind != expect):
            raise KpatchError(f"expected kind {expect or 'Kustomization'}, found {kind}",
                              file=str(file))
        return Kustomization(folder, file, data)

    def _check(self, folder: Path, seen: set[Path]) -> None:
        if folder in seen:
            raise KpatchError("kustomizations include each other in a cycle", file=str(folder))
        seen = seen | {folder}
        kustomization = self._load(folder, None)
        for key in kustomization.data:
            if key not in SUPPORTED_FIELDS and key not in IGNORED_FIELDS:
                raise Unsupported(f"the field {key!r}", kustomization.file)
        for key in ("patches", "patchesJson6902"):
            for entry in kustomization.entries(key):
                if isinstance(entry, dict) and entry.get("options"):
                    raise Unsupported(f"{key} options", kustomization.file)
        for entry in kustomization.entries("resources") + kustomization.entries("components"):
            if not isinstance(entry, str):
                raise KpatchError("resources and components are paths",
                                  file=str(kustomization.file))
            if _is_remote(entry):
                raise Unsupported(f"remote resources ({entry})", kustomization.file)
            target = self._resolve(kustomization, entry, allow_dirs=True)
            if target.is_dir():
                self._check(target.resolve(), seen)

    def _resolve(self, kustomization: Kustomization, entry: str, allow_dirs: bool) -> Path:
        """A path named in a kustomization, under kustomize's load restriction:
        files must be inside the kustomization's folder (symlinks resolved);
        directories, being kustomizations with their own root, may be anywhere."""
        candidate = kustomization.folder / entry
        try:
            is_dir = stat.S_ISDIR(os.stat(candidate).st_mode)
        except OSError:
            raise KpatchError(f"{entry}: no such file or directory",
                              file=str(kustomization.file)) from None
        if is_dir:
            if not allow_dirs:
                raise KpatchError(f"{entry} is a directory", file=str(kustomization.file))
            return candidate
        root = kustomization.root
        resolved = _inside(root, entry) or candidate.resolve()
        if root not in resolved.parents:
            raise KpatchError(
                f"security; file '{resolved}' is not in or below '{root}' (kustomize's load "
                "restriction: a kustomization reads files only from its own folder)",
                file=str(kustomization.file))
        return resolved

    # -- building ---------------------------------------------------------------------

    def _build(self, folder: Path, expect: str, resources: list[Resource] | None = None
               ) -> list[Resource]:
        kustomization = self._load(folder, expect)
        for key in kustomization.data:
            if key not in SUPPORTED_FIELDS and key not in IGNORED_FIELDS:
                raise Unsupported(f"the field {key!r}", kustomization.file)
        accumulated = list(resources or [])
        for entry in kustomization.entries("resources"):
            if _is_remote(str(entry)):
                raise Unsupported(f"remote resources ({entry})", kustomization.file)
            target = self._resolve(kustomization, str(entry), allow_dirs=True)
            if target.is_dir():
                accumulated += self._build(target.resolve(), "Kustomization")
            else:
                accumulated += self._read_resources(target)
        _check_unique(accumulated, kustomization.file)
        for entry in kustomization.entries("components"):
            target = self._resolve(kustomization, str(entry), allow_dirs=True)
            accumulated = self._build(target.resolve(), "Component", accumulated)
        return self.transform(accumulated, kustomization)

    def _read_resources(self, file: Path) -> list[Resource]:
        text = file.read_text(encoding="utf-8")
        out: list[Resource] = []
        # Positions only when asked for (track_sources): a diff never reports them.
        docs = load_stream(text, str(file), self.limits, track=self.track_sources)
        if self.track_sources:
            self.sources.extend(docs)
        for doc in docs:
            data = doc.data
            if not isinstance(data, dict):
                raise KpatchError("a resource must be a mapping", file=str(file), line=doc.line)
            if str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list):
                out += [i for i in data["items"] if isinstance(i, dict)]
            else:
                out.append(data)
        return out

    # -- transformations, in kustomize's order --------------------------------------------

    def transform(self, resources: list[Resource], kustomization: Kustomization
                  ) -> list[Resource]:
        """Apply a kustomization's own transformations to already built resources
        (also used to apply an overlay to a base rendered elsewhere)."""
        data, file = kustomization.data, kustomization.file
        for entry in kustomization.entries("patchesStrategicMerge"):
            for patch in self._patch_bodies(kustomization, entry):
                resources = apply_strategic_merge(resources, patch, None, file)
        patches = kustomization.entries("patches")
        index = ResourceIndex(resources) if len(patches) > 8 else None
        for entry in patches:
            resources = self._apply_patch_entry(resources, kustomization, entry, "patches",
                                                index)
        if data.get("namespace"):
            moved = fieldspecs.set_namespace(resources, str(data["namespace"]))
            self.ids_changed = self.ids_changed or any(
                _identity(a) != _identity(b) for a, b in zip(resources, moved, strict=True))
            resources = moved
        for entry in kustomization.entries("labels"):
            if not isinstance(entry, dict):
                raise KpatchError("labels entries are mappings", file=str(file))
            unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
            if unknown:
                raise Unsupported(f"labels options {sorted(unknown)}", file)
            selectors = bool(entry.get("includeSelectors", False))
            resources = fieldspecs.add_labels(
                resources, _string_map(entry.get("pairs") or {}, file),
                include_selectors=selectors,
                include_templates=bool(entry.get("includeTemplates", False)) or selectors)
        if data.get("commonLabels"):
            resources = fieldspecs.add_labels(resources, _string_map(data["commonLabels"], file),
                                              include_selectors=True, include_templates=True)
        if data.get("commonAnnotations"):
            resources = fieldspecs.add_annotations(
                resources, _string_map(data["commonAnnotations"], file))
        for entry in kustomization.entries("patchesJson6902"):
            resources = self._apply_patch_entry(resources, kustomization, entry,
                                                "patchesJson6902")
        for entry in kustomization.entries("images"):
            if not isinstance(entry, dict) or not entry.get("name"):
                raise KpatchError("images entries need a name", file=str(file))
            resources = fieldspecs.set_images(resources, entry)
        return resources

    def _patch_bodies(self, kustomization: Kustomization, entry: Any) -> list[Any]:
        if isinstance(entry, str) and ("\n" in entry or (":" in entry and not
                                       (kustomization.folder / entry).exists())):
            text, source = entry, str(kustomization.file)
        else:
            file = self._resolve(kustomization, str(entry), allow_dirs=False)
            text, source = file.read_text(encoding="utf-8"), str(file)
        return [d.data for d in load_stream(text, source, self.limits)]

    def _apply_patch_entry(self, resources: list[Resource], kustomization: Kustomization,
                           entry: Any, key: str, index: ResourceIndex | None = None
                           ) -> list[Resource]:
        file = kustomization.file
        if not isinstance(entry, dict):
            raise KpatchError(f"{key} entries are mappings", file=str(file))
        if entry.get("options"):
            raise Unsupported(f"{key} options", file)
        if "patch" in entry:
            text, source = str(entry["patch"]), str(file)
        elif "path" in entry:
            patch_file = self._resolve(kustomization, str(entry["path"]), allow_dirs=False)
            text, source = patch_file.read_text(encoding="utf-8"), str(patch_file)
        else:
            raise KpatchError(f"a {key} entry needs patch or path", file=str(file))
        docs = load_patch_documents(text, source, self.limits)
        target = entry.get("target")
        matched: list[int] | None = None
        if isinstance(target, dict):
            found = index.lookup(target) if index is not None else candidates(resources, target)
            matched = [i for i in found if matches_target(target, resources[i])]
            if self.ids_changed and not matched:
                raise Unsupported("a patch target that matches only an id from before a "
                                  "namespace change (kustomize matches earlier ids too)", file)
        if (len(docs) == 1 and isinstance(docs[0], list)) or key == "patchesJson6902":
            if matched is None or not isinstance(target, dict):
                raise KpatchError("a JSON6902 patch needs a target", file=source)
            operations = docs[0] if docs else []
            return apply_json6902(resources, operations, target, source, index, matched)
        if index is not None:
            # Strategic merge may delete resources: positions would shift.
            index.rebuild(resources)
        for body in docs:
            if not isinstance(body, dict):
                raise KpatchError("a strategic merge patch must be a mapping", file=source)
            resources = apply_strategic_merge(resources, body, target, file)
        if index is not None:
            index.rebuild(resources)
        return resources


def _inside(root: Path, entry: str) -> Path | None:
    """``root/entry`` when it plainly lies inside ``root`` (no "..", no symlink on
    the way): one lstat per component instead of resolving the whole path, which
    dominated reading thousands of patch files. None means "resolve it fully"."""
    parts = Path(entry).parts
    if not parts or Path(entry).is_absolute() or ".." in parts:
        return None
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    return path


def load_patch_documents(text: str, source: str, limits: LoadLimits) -> list[Any]:
    """The documents of a patch body. A body in JSON after its comment lines (as
    kpatch writes JSON6902 patches) goes through the C JSON parser; anything else,
    or JSON that does not parse, is read as YAML."""
    body = text
    while body.startswith("#") or body.startswith("\n"):
        newline = body.find("\n")
        body = "" if newline < 0 else body[newline + 1 :]
    if body[:1] in ("[", "{") and len(text) <= limits.max_input_bytes:
        try:
            return [json.loads(body)]
        except ValueError:
            pass
    return [d.data for d in load_stream(text, source, limits, track=False)]


def _string_map(value: Any, file: Path) -> dict[str, str]:
    if not isinstance(value, dict):
        raise KpatchError("expected a mapping of strings", file=str(file))
    return {str(k): str(v) for k, v in value.items()}


def _identity(resource: Resource) -> tuple[str, str, str, str]:
    metadata = resource.get("metadata") or {}
    return (str(resource.get("apiVersion", "")).rpartition("/")[0], str(resource.get("kind")),
            str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def _check_unique(resources: Iterable[Resource], file: Path) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for resource in resources:
        identity = _identity(resource)
        if identity in seen:
            raise KpatchError(f"may not add resource with an already registered id: "
                              f"{identity[1]} {identity[2]}/{identity[3]}", file=str(file))
        seen.add(identity)


def candidates(resources: list[Resource], target: dict[str, Any]) -> Iterable[int]:
    """Indexes worth checking against ``target``: all of them, narrowed by kind
    and a literal name when the target has them. Overlays hold thousands of
    patches, each naming one resource; checking every resource for every patch
    made kpatch diff quadratic."""
    kind, name = target.get("kind"), literal_name(target.get("name"))
    if kind is None:
        return range(len(resources))
    return [i for i, r in enumerate(resources)
            if r.get("kind") == kind and (name is None
                                          or (r.get("metadata") or {}).get("name") == name)]


def apply_json6902(resources: list[Resource], operations: Any, target: dict[str, Any],
                   source: str, index: ResourceIndex | None = None,
                   matched: list[int] | None = None) -> list[Resource]:
    """Apply the operations to every resource the target selects (``matched``:
    their positions, when the caller has already selected them)."""
    if not isinstance(operations, list):
        raise KpatchError("a JSON6902 patch is a list of operations", file=source)
    out = list(resources)
    if matched is None:
        found = index.lookup(target) if index is not None else candidates(resources, target)
        matched = [i for i in found if matches_target(target, resources[i])]
    for position in matched:
        resource = resources[position]
        try:
            out[position] = apply_operations(resource, operations)
        except PatchTestFailed as exc:
            raise KpatchError(f"{_describe(resource)}: {exc.message} (a test operation in "
                              "the patch failed: the base changed since the patch was "
                              "written)", file=source) from None
        except PatchError as exc:
            raise KpatchError(f"{_describe(resource)}: {exc.message}", file=source) from None
        if index is not None:
            index.changed(position, resource, out[position], operations)
    return out


class ResourceIndex:
    """Positions of resources by (kind, name), kept right while patches apply."""

    def __init__(self, resources: list[Resource]) -> None:
        self.by_kind: dict[Any, list[int]] = {}
        self.by_name: dict[tuple[Any, Any], list[int]] = {}
        self.rebuild(resources)

    def rebuild(self, resources: list[Resource]) -> None:
        """After a strategic merge, which may delete resources and shift positions."""
        self.by_kind, self.by_name = {}, {}
        for position, resource in enumerate(resources):
            self._add(position, resource)

    def _add(self, position: int, resource: Resource) -> None:
        name = (resource.get("metadata") or {}).get("name")
        self.by_kind.setdefault(resource.get("kind"), []).append(position)
        self.by_name.setdefault((resource.get("kind"), name), []).append(position)

    def lookup(self, target: dict[str, Any]) -> list[int]:
        kind, name = target.get("kind"), literal_name(target.get("name"))
        if kind is None:
            return sorted({p for ps in self.by_kind.values() for p in ps})
        if name is None:
            return list(self.by_kind.get(kind, []))
        return list(self.by_name.get((kind, name), []))

    def changed(self, position: int, before: Resource, after: Resource,
                operations: list[Any]) -> None:
        if any(isinstance(op, dict) and str(op.get("path", "")).startswith(
                ("/kind", "/metadata/name", "/metadata")) and
               (before.get("kind"), (before.get("metadata") or {}).get("name"))
               != (after.get("kind"), (after.get("metadata") or {}).get("name"))
               for op in operations):
            for positions in (*self.by_kind.values(), *self.by_name.values()):
                if position in positions:
                    positions.remove(position)
            self._add(position, after)


def apply_strategic_merge(resources: list[Resource], patch: dict[str, Any],
                          target: dict[str, Any] | None, file: Path) -> list[Resource]:
    required = target is None
    if target is None:
        # No target: the one resource with the patch's own id (an empty
        # namespace reads as "default", as in kustomize).
        metadata = patch.get("metadata") or {}
        api_version = str(patch.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        target = {"group": group, "version": version, "kind": patch.get("kind"),
                  "name": _literal(metadata.get("name")),
                  "namespace": _literal(metadata.get("namespace") or "default")}
    out: list[Resource] = []
    matched = False
    for resource in resources:
        if matches_target({k: v for k, v in target.items() if v is not None}, resource):
            matched = True
            body = copy.deepcopy(patch)
            # With a target, the patch's own name/namespace do not narrow it.
            if isinstance(body.get("metadata"), dict):
                body["metadata"].pop("name", None)
                body["metadata"].pop("namespace", None)
            merged = strategic_merge(resource, body)
            if merged is not None:
                out.append(merged)
        else:
            out.append(resource)
    if required and not matched:
        metadata = patch.get("metadata") or {}
        raise KpatchError(f"no resource matches strategic merge patch for {patch.get('kind')} "
                          f"{metadata.get('name')}", file=str(file))
    return out


def _literal(text: Any) -> str | None:
    return None if text is None else re.escape(str(text))


def _describe(resource: Resource) -> str:
    identity = _identity(resource)
    return f"{identity[1]} {identity[2] + '/' if identity[2] else ''}{identity[3]}"


# --- output order ------------------------------------------------------------------------


def legacy_sort(resources: list[Resource]) -> list[Resource]:
    return sorted(resources, key=fieldspecs.legacy_order_key)
