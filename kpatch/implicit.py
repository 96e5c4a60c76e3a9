"""Implicit images: what the cluster pulls although no manifest names it.

A rule is a function ``(context, rule, document, resource) -> None`` that lives
with its operator (``kpatch/operators/<operator>/rules.py``) and records the
images it derives through :class:`RuleContext`. This module is the whole
contract between the inventory and the operators: it imports no operator, and
no operator imports the inventory.

Every look-up a rule makes here is indexed, so that a rule costs time in
proportion to the resource it resolves, not to the size of the install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from kpatch.errors import KpatchError
from kpatch.model import ImageUse, NamedEntry, ResourceId, pointer
from kpatch.records import Record
from kpatch.reference import parse_reference

_T = TypeVar("_T")

if TYPE_CHECKING:
    from kpatch.locate import EmbeddedDocument
    from kpatch.profile import ImplicitRule, Profile
    from kpatch.yamlio import Document

# Kinds that run an operator: where its image, and so its release, is read from.
OPERATOR_WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Pod", "ClusterServiceVersion"})


class OperatorRelease(NamedTuple):
    """The release of an operator in use, and how kpatch knows it."""

    version: str
    source: str  # e.g. "the operator image k8ssandra/cass-operator:v1.26.0 in Deployment x"
    image: str | None = None  # the operator image it was read from, when from the input
    flavour: str | None = None  # e.g. which repository the operator image came from


class RuleContext(Record):
    """What implicit-image rules see of the install, and what they add to it.
    (A record, not a dataclass: kpatch.records.)"""

    resources: list[tuple[Document, ResourceId]]
    uses: list[ImageUse]
    embedded: list[EmbeddedDocument]
    profiles: dict[str, Profile]
    params: dict[str, str]  # "profile.name" -> value
    # Implicit uses created so far, by (resource, path, image): rules merge into them.
    created: dict[tuple[ResourceId, str, str | None], ImageUse]
    # Implicit uses in creation order (the inventory takes each rule's new ones).
    created_order: list[ImageUse]
    # Warnings for the user, in order, each once (the CLI prints them to stderr).
    warnings: list[str]
    # Memo for per-install answers (the ImageConfig in use, an operator's release).
    memo: dict[Any, Any]
    # What relocation needs to know of the release a rule resolved with, by
    # profile (e.g. cass-operator's built-in repositories at that release).
    hints: dict[str, dict[str, Any]]
    _by_location: dict[tuple[ResourceId, tuple[str | int, ...]], ImageUse] | None
    _by_resource: dict[ResourceId, list[ImageUse]] | None
    _NOT_SHOWN = frozenset({"_by_location", "_by_resource"})

    def __init__(
        self, resources: list[tuple[Document, ResourceId]], uses: list[ImageUse],
        embedded: list[EmbeddedDocument], profiles: dict[str, Profile],
        params: dict[str, str] | None = None,
        created: dict[tuple[ResourceId, str, str | None], ImageUse] | None = None,
        created_order: list[ImageUse] | None = None, warnings: list[str] | None = None,
        memo: dict[Any, Any] | None = None, hints: dict[str, dict[str, Any]] | None = None,
        _by_location: dict[tuple[ResourceId, tuple[str | int, ...]], ImageUse] | None = None,
        _by_resource: dict[ResourceId, list[ImageUse]] | None = None,
    ) -> None:
        self.resources = resources
        self.uses = uses
        self.embedded = embedded
        self.profiles = profiles
        self.params = {} if params is None else params
        self.created = {} if created is None else created
        self.created_order = [] if created_order is None else created_order
        self.warnings = [] if warnings is None else warnings
        self.memo = {} if memo is None else memo
        self.hints = {} if hints is None else hints
        self._by_location = _by_location
        self._by_resource = _by_resource

    def param(self, profile: str, name: str) -> str | None:
        return self.params.get(f"{profile}.{name}")

    def data(self, profile: str) -> dict[str, Any]:
        found = self.profiles.get(profile)
        return dict(found.data) if found is not None else {}

    def warn(self, message: str) -> None:
        """Tell the user once (a rule runs per resource; the warning is per install)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def _index(self) -> None:
        by_location: dict[tuple[ResourceId, tuple[str | int, ...]], ImageUse] = {}
        by_resource: dict[ResourceId, list[ImageUse]] = {}
        for use in self.uses:
            by_location.setdefault((use.resource, use.tokens), use)
            by_resource.setdefault(use.resource, []).append(use)
        self._by_location, self._by_resource = by_location, by_resource

    def written(self, resource: ResourceId, tokens: tuple[str | int, ...]) -> ImageUse | None:
        """The reference written at ``tokens`` of ``resource``, if any."""
        if self._by_location is None:
            self._index()
        assert self._by_location is not None
        return self._by_location.get((resource, tokens))

    def written_in(self, resource: ResourceId) -> list[ImageUse]:
        """Every reference written in ``resource``, in the order they were found."""
        if self._by_resource is None:
            self._index()
        assert self._by_resource is not None
        return self._by_resource.get(resource, [])

    def once(self, key: Any, compute: Callable[[], _T]) -> _T:
        """``compute()`` the first time ``key`` is asked for in this install, then
        its result: for what every resource of an install derives alike (an
        operator's ImageConfig images, asked for by every datacenter)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return cast(_T, self.memo[key])

    def mark_effective(self, use: ImageUse, **entry: Any) -> None:
        key = frozenset(entry.items())  # the same entry whatever order its keys came in
        if key not in use.effective_keys:
            use.effective_keys.add(key)
            use.effective_for.append(entry)

    def operator_release(
        self, profile: str, repositories: Iterable[str], param: str = "operatorVersion",
    ) -> OperatorRelease | None:
        """The operator's release: ``--param PROFILE.<param>``, else the tag of the
        operator image (one of ``repositories``) in a workload of the input.

        When both are there and disagree, the parameter wins and a warning names
        both, so that a stale parameter never silently hides the input.
        """
        key = ("operator-release", profile, param)
        if key in self.memo:
            return self.memo[key]  # type: ignore[no-any-return]
        found = self._operator_image(tuple(repositories))
        given = self.param(profile, param)
        release: OperatorRelease | None
        if given:
            release = OperatorRelease(given, f"--param {profile}.{param}")
            if found is not None and found.version != given:
                self.warn(f"--param {profile}.{param}={given} contradicts {found.source}; "
                          f"using {given}")
            if found is not None:
                release = OperatorRelease(given, release.source, found.image, found.flavour)
        else:
            release = found
        self.memo[key] = release
        return release

    def _operator_image(self, repositories: tuple[str, ...]) -> OperatorRelease | None:
        for use in self.uses:
            ref = use.reference
            if (ref is None or not ref.tag or use.implicit
                    or use.resource.kind not in OPERATOR_WORKLOAD_KINDS):
                continue
            for repository in repositories:
                if ref.repository == repository or ref.repository.endswith("/" + repository):
                    return OperatorRelease(
                        ref.tag, f"the operator image {use.image} in {use.resource}",
                        use.image, repository)
        return None

    def implicit(
        self,
        *,
        image: str | None,
        resource: ResourceId,
        tokens: tuple[str | int, ...],
        doc: Document,
        profile: str,
        component: str,
        reason: str,
        effective: dict[str, Any] | None = None,
        entry: NamedEntry | None = None,
    ) -> ImageUse:
        """Create (or merge into) the implicit use of ``image`` at ``tokens``.

        ``entry``: no field holds this image; relocation writes it as the named
        entry of a list (``tokens`` is then that entry's image, see
        ``model.entry_image_tokens``)."""
        path = pointer(tokens)
        key = (resource, path, image)
        use = self.created.get(key)
        if use is None:
            ref = None
            if image is not None:
                try:
                    ref = parse_reference(image)
                except KpatchError as exc:
                    raise exc.at(file=doc.file, line=doc.line, resource=str(resource),
                                 pointer=path) from None
            use = ImageUse(
                image=image, reference=ref, resource=resource, path=path, file=doc.file,
                line=_deepest_line(doc, tokens), shape="implicit", profile=profile, implicit=True,
                reason=reason, component=component, tokens=tokens, entry=entry,
            )
            self.created[key] = use
            self.created_order.append(use)
        if effective is not None:
            self.mark_effective(use, **effective)
        return use


def _deepest_line(doc: Document, tokens: tuple[str | int, ...]) -> int | None:
    """Line of the deepest part of ``tokens`` that exists in the document: the
    setting closest to where the implicit image would be written. (One line
    look-up, for the deepest part only: each costs a scan of the source.)"""
    node: Any = doc.data
    parent: Any = None
    last: str | int | None = None
    for token in tokens:  # model.child, inlined: once per implicit image
        if isinstance(node, dict):
            if token not in node:
                break
            value = node[token]
        elif isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
            value = node[token]
        else:
            break
        parent, last, node = node, token, value
    if parent is None:
        return doc.line
    return doc.line_of(parent, last) or doc.line


Rule = Callable[[RuleContext, "ImplicitRule", "Document", ResourceId], None]
