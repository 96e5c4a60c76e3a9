"""Pointing rendered resources back at the files they came from.

When kpatch renders a kustomization itself, each resource it outputs is built
from a document of a resource file, and the transformations copy only what
they change (copy-on-write): untouched mappings and lists are the very objects
read from the file. So a rendered resource can carry its source document's
positions, and a field inside an untouched part gets the line in the source
file. A field whose container a patch or transformer rebuilt has no position:
its use gets no line, and ``rendered_label`` names it as rendered instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from kpatch.yamlio import Document, SourceText


def display_path(file: str) -> str:
    """A source file as the user would name it: relative to the working
    directory when it is below it (the renderer resolves every path)."""
    relative = os.path.relpath(file)
    return file if relative.startswith("..") else relative


def _containers(data: Any) -> list[Any]:
    """The object and its direct children that are mappings or lists."""
    out = [data]
    if isinstance(data, dict):
        out += [v for v in data.values() if isinstance(v, (dict, list))]
    return out


def _identity(data: Any) -> tuple[Any, ...]:
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind = data.get("kind") if isinstance(data, dict) else None
    return (kind, name)


def map_to_sources(resources: Sequence[Any], sources: Sequence[Document]) -> list[Document]:
    """One Document per rendered resource, carrying the positions of the source
    document it was built from (the documents must stay alive: they do, held by
    the returned Documents' shared objects and by ``sources``)."""
    by_object: dict[int, Document] = {}
    by_identity: dict[tuple[Any, ...], Document | None] = {}
    for doc in sources:
        items = [doc.data]
        if isinstance(doc.data, dict) and isinstance(doc.data.get("items"), list) and \
                str(doc.data.get("kind", "")).endswith("List"):
            items += [i for i in doc.data["items"] if isinstance(i, dict)]
        for item in items:
            for container in _containers(item):
                by_object.setdefault(id(container), doc)
            key = _identity(item)
            # Two documents with one identity (namespaces differ): ambiguous.
            by_identity[key] = None if key in by_identity else doc
    texts: dict[int, SourceText] = {}
    out = []
    for index, resource in enumerate(resources):
        origin = next((by_object[id(c)] for c in _containers(resource) if id(c) in by_object),
                      None) or by_identity.get(_identity(resource))
        if origin is None:
            raise LookupError(index)
        text = texts.get(id(origin.source))
        if text is None:
            file = origin.source.file
            text = SourceText(origin.source.text, display_path(file) if file else None)
            texts[id(origin.source)] = text
        out.append(Document(resource, text, origin.index, origin.line,
                            origin.positions, origin.line_offset))
    return out
