"""The inventory: every image an install will pull, written or implicit.

``find_images`` is the library entry point behind ``kpatch images``: it reads
inputs (files, directories, ``-``, kustomizations through a renderer), locates
written references with the selected profiles, runs their implicit-image rules
and returns the uses in input order. It never prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kpatch.errors import KpatchError
from kpatch.implicit import Rule, RuleContext
from kpatch.listkinds import expand_lists
from kpatch.locate import NEVER_SCANNED, EmbeddedDocument, Locator, resource_id
from kpatch.model import ImageUse, ResourceId
from kpatch.operators import RULE_NAMES, rule_function
from kpatch.profile import ImplicitRule, Profile, load_profiles
from kpatch.records import Record
from kpatch.yamlio import Document, LoadLimits, load_stream, read_stdin_text

if TYPE_CHECKING:
    from kpatch.render import Rendered

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class InventoryOptions(Record):
    """What to inventory with: profiles, profile files, --param values, renderer, limits.
    (A record, not a dataclass: kpatch.records.)"""

    profiles: Sequence[str]
    profile_files: Sequence[str]
    params: dict[str, str]
    renderer: str
    limits: LoadLimits

    def __init__(self, profiles: Sequence[str] = (), profile_files: Sequence[str] = (),
                 params: dict[str, str] | None = None, renderer: str = "auto",
                 limits: LoadLimits | None = None) -> None:
        self.profiles = profiles
        self.profile_files = profile_files
        self.params = {} if params is None else params
        self.renderer = renderer
        self.limits = LoadLimits() if limits is None else limits


class Inventory(Record):
    """Every image an install pulls, with the resources and profiles it was found with.
    (A record, not a dataclass: kpatch.records.)"""

    uses: list[ImageUse]
    resources: list[tuple[Document, ResourceId]]
    embedded: list[EmbeddedDocument]
    profiles: list[Profile]
    renderer: str | None
    renderer_note: str | None  # "rendered PATH with ...", one line per tree
    # The --param values the implicit rules ran with (a re-inventory needs them).
    params: dict[str, str]
    # Per profile, what the rules learned of the release in use that relocation
    # needs (RuleContext.hints).
    hints: dict[str, dict[str, object]]
    # What the user should know (an assumed release, a parameter that contradicts
    # the input), in order, each once.
    warnings: list[str]

    def __init__(self, uses: list[ImageUse], resources: list[tuple[Document, ResourceId]],
                 embedded: list[EmbeddedDocument], profiles: list[Profile],
                 renderer: str | None = None, renderer_note: str | None = None,
                 params: dict[str, str] | None = None,
                 hints: dict[str, dict[str, object]] | None = None,
                 warnings: list[str] | None = None) -> None:
        self.uses = uses
        self.resources = resources
        self.embedded = embedded
        self.profiles = profiles
        self.renderer = renderer
        self.renderer_note = renderer_note
        self.params = {} if params is None else params
        self.hints = {} if hints is None else hints
        self.warnings = [] if warnings is None else warnings

    def unique(self) -> list[tuple[str, list[ImageUse]]]:
        """Uses grouped by normalized image, in order of first appearance."""
        groups: dict[str, list[ImageUse]] = {}
        for use in self.uses:
            key = use.reference.normalized if use.reference else f"? {use.reason}"
            groups.setdefault(key, []).append(use)
        return list(groups.items())

    @property
    def unresolved(self) -> list[ImageUse]:
        return [u for u in self.uses if u.reference is None]


def _read_text(path: Path, limits: LoadLimits) -> str:
    try:
        size = path.stat().st_size
        if size > limits.max_input_bytes:
            raise KpatchError(
                f"file is {size} bytes, over the limit of {limits.max_input_bytes} "
                "(raise it with --max-input-bytes or KPATCH_MAX_INPUT_BYTES)", file=str(path))
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KpatchError("not UTF-8 text", file=str(path)) from None
    except OSError as exc:
        raise KpatchError(f"cannot read: {exc.strerror}", file=str(path)) from None


def manifest_files(folder: Path) -> list[Path]:
    """YAML/JSON files below a plain directory, sorted, hidden entries skipped."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix in MANIFEST_SUFFIXES:
            found.append(path)
    return found


class LoadedInputs(Record):
    """The documents of every input, and the renderer that produced them (if any)."""

    documents: list[Document]
    renderer: str | None
    renderer_note: str | None
    # Source file of a rendered resource -> "DIR (rendered)": what a use is
    # attributed to when a transformation rebuilt its field (no line to give).
    rendered_files: dict[str, str]

    def __init__(self, documents: list[Document], renderer: str | None = None,
                 renderer_note: str | None = None,
                 rendered_files: dict[str, str] | None = None) -> None:
        self.documents = documents
        self.renderer = renderer
        self.renderer_note = renderer_note
        self.rendered_files = {} if rendered_files is None else rendered_files


# load_inputs results shared while ``shared_inputs`` is active: the overlays
# `kpatch check` checks often share a base. Each entry keeps the stamp of the
# files it was read from (given by the caller), compared again on every use, so a
# base that changed is read anew.
_SHARED: dict[tuple[object, ...], tuple[object, LoadedInputs]] | None = None
_STAMP: Callable[[tuple[str, ...]], object | None] | None = None


@contextmanager
def shared_inputs(stamp: Callable[[tuple[str, ...]], object | None]) -> Iterator[None]:
    """Within the block, loading the same inputs again reuses the documents read
    the first time, as long as ``stamp(paths)`` (the state of every file the
    inputs read) is unchanged; a stamp of None means "do not share". The shared
    documents are read, never written (kpatch's patching is copy-on-write)."""
    global _SHARED, _STAMP
    outer = (_SHARED, _STAMP)
    _SHARED, _STAMP = {}, stamp
    try:
        yield
    finally:
        _SHARED, _STAMP = outer


def load_inputs(
    paths: Iterable[str], limits: LoadLimits, renderer_name: str = "auto",
    stdin_text: str | None = None,
) -> LoadedInputs:
    """Documents of every input, in order, and the renderer used (if any)."""
    paths = tuple(paths)
    if _SHARED is None or _STAMP is None or "-" in paths:
        return _load_inputs(paths, limits, renderer_name, stdin_text)
    key = (paths, limits, renderer_name, os.getcwd())
    stamp = _STAMP(paths)
    if stamp is None:
        return _load_inputs(paths, limits, renderer_name, stdin_text)
    known = _SHARED.get(key)
    if known is None or known[0] != stamp:
        known = _SHARED[key] = (stamp, _load_inputs(paths, limits, renderer_name, stdin_text))
    loaded = known[1]
    # The caller's own lists: it may add to them; the documents are shared.
    return LoadedInputs(list(loaded.documents), loaded.renderer, loaded.renderer_note,
                        dict(loaded.rendered_files))


def _load_inputs(
    paths: Iterable[str], limits: LoadLimits, renderer_name: str = "auto",
    stdin_text: str | None = None,
) -> LoadedInputs:
    documents: list[Document] = []
    used: str | None = None
    notes: list[str] = []
    rendered_files: dict[str, str] = {}
    for raw in paths:
        if raw == "-":
            text = stdin_text if stdin_text is not None else read_stdin_text()
            documents.extend(expand_lists(load_stream(text, "<stdin>", limits)))
            continue
        path = Path(raw)
        if not path.exists():
            raise KpatchError("no such file or directory", file=raw)
        if _is_kustomization_dir(path):
            from kpatch.render import render_tree, rendered_message

            rendered = render_tree(path, renderer_name, limits, track_sources=True)
            used = rendered.renderer
            notes.append(rendered_message(raw, used, rendered.fallback_reason))
            documents.extend(expand_lists(
                _rendered_documents(raw, rendered, limits, rendered_files)))
        elif path.is_dir():
            files = manifest_files(path)
            if not files:
                raise KpatchError("directory holds no .yaml, .yml or .json files", file=raw)
            for file in files:
                documents.extend(expand_lists(
                    load_stream(_read_text(file, limits), str(file), limits)))
        else:
            documents.extend(expand_lists(load_stream(_read_text(path, limits), raw, limits)))
    return LoadedInputs(documents, used, "\n".join(notes) or None, rendered_files)


def _rendered_documents(raw: str, rendered: Rendered, limits: LoadLimits,
                        rendered_files: dict[str, str]) -> list[Document]:
    """A rendered tree's documents: mapped to their source files when kpatch
    rendered it itself, else the rendered stream ("DIR (rendered)", its lines
    those of `kubectl kustomize DIR`)."""
    from kpatch.sourcemap import map_to_sources

    label = f"{raw} (rendered)"
    if rendered.resources is not None and rendered.sources is not None:
        try:
            mapped = map_to_sources(rendered.resources, rendered.sources)
        except LookupError:
            pass
        else:
            for doc in mapped:
                if doc.file:
                    rendered_files[doc.file] = label
            return mapped
    return load_stream(rendered.as_text(), label, limits)


# Profiles parsed in this process, by what they were parsed from (the selection,
# and each user file's path and text: an edited file is parsed again). `kpatch
# check` and `kpatch sync` load the same profiles for every overlay.
_PROFILES_SEEN: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[Profile]] = {}


def load_install_profiles(selected: Sequence[str] = (),
                          files: Sequence[str] = ()) -> list[Profile]:
    """The profiles of an install: built-ins and the user's files, checked
    against the implicit rules kpatch has."""
    try:
        texts = tuple((str(f), Path(f).read_text(encoding="utf-8")) for f in files)
    except (OSError, UnicodeDecodeError):
        return load_profiles(selected, files, known_rules=RULE_NAMES)  # raises, naming it
    key = (tuple(selected), texts)
    if key not in _PROFILES_SEEN:
        _PROFILES_SEEN[key] = load_profiles(selected, files, known_rules=RULE_NAMES)
    return list(_PROFILES_SEEN[key])


def parse_params(items: Iterable[str], profiles: Sequence[Profile]) -> dict[str, str]:
    """``PROFILE.NAME=VALUE`` strings, checked against what the profiles declare."""
    declared = {f"{p.name}.{name}" for p in profiles for name in p.params}
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise KpatchError(f"invalid --param {item!r}: expected PROFILE.NAME=VALUE")
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise KpatchError(f"unknown --param {key!r}; declared: {known}")
        params[key] = value
    return params


def build_inventory(
    documents: Sequence[Document], profiles: Sequence[Profile], params: dict[str, str],
    limits: LoadLimits | None = None, renderer: str | None = None,
) -> Inventory:
    locator = Locator(profiles, limits)
    uses: list[ImageUse] = []
    embedded: list[EmbeddedDocument] = []
    resources: list[tuple[Document, ResourceId]] = []
    for doc in documents:
        rid = resource_id(doc)
        resources.append((doc, rid))
        if rid.kind in NEVER_SCANNED:
            continue
        found = locator.locate(doc, rid)
        uses.extend(found.uses)
        embedded.extend(found.embedded)
    context = RuleContext(resources, uses, embedded, {p.name: p for p in profiles}, params)
    implicit_by_resource: dict[int, list[ImageUse]] = {}
    rules = [rule for profile in profiles for rule in profile.implicit]
    rules_by_kind: dict[tuple[str, str], list[tuple[ImplicitRule, Rule]]] = {}
    for index, (doc, rid) in enumerate(resources):
        kind = (rid.api_version, rid.kind)
        matching = rules_by_kind.get(kind)
        if matching is None:
            matching = rules_by_kind[kind] = [
                (rule, rule_function(rule.rule)) for rule in rules
                if any(m.matches(rid.api_version, rid.kind) for m in rule.kinds)]
        for rule, function in matching:
            before = len(context.created_order)
            function(context, rule, doc, rid)
            new = context.created_order[before:]
            if new:
                implicit_by_resource.setdefault(index, []).extend(new)
    # Implicit uses follow the written ones of the resource that causes them.
    ordered: list[ImageUse] = []
    by_resource: dict[ResourceId, list[ImageUse]] = {}
    for use in uses:
        by_resource.setdefault(use.resource, []).append(use)
    for group in by_resource.values():
        # Field specs run in profile order; readers want document order.
        group.sort(key=lambda u: u.line or 0)
    emitted: set[ResourceId] = set()
    for index, (_, rid) in enumerate(resources):
        if rid not in emitted:
            ordered.extend(by_resource.get(rid, []))
            emitted.add(rid)
        ordered.extend(implicit_by_resource.get(index, []))
    return Inventory(ordered, resources, embedded, list(profiles), renderer,
                     params=dict(params), hints=context.hints, warnings=context.warnings)


def find_images(paths: Sequence[str], options: InventoryOptions | None = None,
                stdin_text: str | None = None) -> Inventory:
    options = options or InventoryOptions()
    chart_uses: list[ImageUse] = []
    if any(_beside_chart(p) for p in paths):
        # A Helm chart's values.yaml (Chart.yaml beside it): its images come from the
        # chart profile in kpatch.helm, imported only when needed.
        from kpatch.helm.inventory import chart_values_uses

        paths, chart_uses = chart_values_uses(paths)
    profiles = load_install_profiles(options.profiles, options.profile_files)
    params = parse_params([f"{k}={v}" for k, v in options.params.items()], profiles)
    loaded = load_inputs(paths, options.limits, options.renderer, stdin_text)
    inventory = build_inventory(loaded.documents, profiles, params, options.limits,
                                loaded.renderer)
    inventory.renderer_note = loaded.renderer_note
    for use in inventory.uses:
        if use.line is None and use.file in loaded.rendered_files:
            use.file = loaded.rendered_files[use.file]
    inventory.uses[:0] = chart_uses
    return inventory


def _is_kustomization_dir(path: Path) -> bool:
    # The renderer is imported only for a directory: a pre-commit hook's run on
    # plain files never loads it.
    if not path.is_dir():
        return False
    from kpatch.render import is_kustomization_dir

    return is_kustomization_dir(path)


def _beside_chart(path: str) -> bool:
    return path != "-" and (Path(path).parent / "Chart.yaml").is_file() and Path(path).is_file()
