"""``kind: List`` and the ``*List`` kinds (``kubectl get -o yaml`` output): their
items are resources, and kubectl and kustomize treat them so. Reading them as one
opaque resource would leave every image inside out of the inventory."""

from __future__ import annotations

from collections.abc import Iterable

from kpatch.yamlio import Document


def is_list_kind(data: object) -> bool:
    if not isinstance(data, dict):
        return False
    kind = data.get("kind")
    return (isinstance(kind, str) and kind.endswith("List")
            and isinstance(data.get("items"), list))


def expand_lists(documents: Iterable[Document]) -> list[Document]:
    """Each document, with List documents replaced by their items (recursively, in
    order). An item keeps its own line and its stream's line lookups."""
    out: list[Document] = []
    for doc in documents:
        if not is_list_kind(doc.data):
            out.append(doc)
            continue
        items = doc.data["items"]
        nested = [
            Document(item, doc.source, doc.index, doc.line_of(items, i) or doc.line,
                     doc.positions, doc.line_offset)
            for i, item in enumerate(items)
        ]
        out.extend(expand_lists(nested))
    return out
