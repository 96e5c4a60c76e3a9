"""Implicit images: what the cluster pulls although no manifest names it.

Each rule is a function ``(context, rule, document, resource) -> [ImageUse]``
in a module of its own; the tables it works from (default images, version
pairs) are profile data, passed in through ``context.profile_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpatch.errors import KpatchError
from kpatch.model import MISSING, ImageUse, ResourceId, child, pointer
from kpatch.reference import parse_reference

if TYPE_CHECKING:
    from kpatch.locate import EmbeddedDocument
    from kpatch.profile import ImplicitRule, Profile
    from kpatch.yamlio import Document


@dataclass
class RuleContext:
    resources: list[tuple[Document, ResourceId]]
    uses: list[ImageUse]
    embedded: list[EmbeddedDocument]
    profiles: dict[str, Profile]
    params: dict[str, str] = field(default_factory=dict)  # "profile.name" -> value
    # Implicit uses created so far, by (resource, path, image): rules merge into them.
    created: dict[tuple[ResourceId, str, str | None], ImageUse] = field(default_factory=dict)

    def param(self, profile: str, name: str) -> str | None:
        return self.params.get(f"{profile}.{name}")

    def data(self, profile: str) -> dict[str, Any]:
        found = self.profiles.get(profile)
        return dict(found.data) if found is not None else {}

    def written(self, resource: ResourceId, tokens: tuple[str | int, ...]) -> ImageUse | None:
        for use in self.uses:
            if use.resource == resource and use.tokens == tokens:
                return use
        return None

    def mark_effective(self, use: ImageUse, **entry: Any) -> None:
        if entry not in use.effective_for:
            use.effective_for.append(entry)

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
    ) -> ImageUse:
        """Create (or merge into) the implicit use of ``image`` at ``tokens``."""
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
                reason=reason, component=component, tokens=tokens,
            )
            self.created[key] = use
        if effective is not None:
            self.mark_effective(use, **effective)
        return use


def _deepest_line(doc: Document, tokens: tuple[str | int, ...]) -> int | None:
    """Line of the deepest part of ``tokens`` that exists in the document: the
    setting closest to where the implicit image would be written."""
    node: Any = doc.data
    line = doc.line
    for token in tokens:
        value = child(node, token)
        if value is MISSING:
            break
        line = doc.line_of(node, token) or line
        node = value
    return line


Rule = Callable[[RuleContext, "ImplicitRule", "Document", ResourceId], None]


def _rules() -> dict[str, Rule]:
    from kpatch.implicit import cass_operator, k8ssandra, redis_enterprise

    return {
        "cass-operator-server-image": cass_operator.server_image_rule,
        "k8ssandra-cluster": k8ssandra.cluster_rule,
        "redis-enterprise-defaults": redis_enterprise.defaults_rule,
    }


class _LazyRules(dict[str, Rule]):
    """The rule table, filled on first use (rule modules import the model)."""

    def _fill(self) -> None:
        if not super().__len__():
            self.update(_rules())

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Rule:
        self._fill()
        return super().__getitem__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._fill()
        return super().__iter__()


RULES: dict[str, Rule] = _LazyRules()
