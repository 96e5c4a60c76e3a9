"""The directory that carries images across an air gap.

    DIR/kpatch-mirror.json      what is inside: source, destination, digest,
                                size and every blob's digest and size
    DIR/images/<name>/          one OCI layout per image (all architectures)

``--to-dir`` fills it on the connected side; ``--from-dir`` checks every blob
against its digest, and every image against the manifest, before it pushes
anything on the disconnected side.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpatch.errors import KpatchError
from kpatch.mirror.execute import (
    COPIED,
    SKIPPED,
    CopyTask,
    LayoutTarget,
    TaskResult,
    layout_digest,
)
from kpatch.mirror.plan import CopyItem, pull_spec, push_spec
from kpatch.reference import ImageReference, parse_reference
from kpatch.relocation import RelocationRules

MANIFEST_NAME = "kpatch-mirror.json"
IMAGES_DIR = "images"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ArchivedImage:
    source: str  # normalized source reference (with its digest when pinned)
    destination: str
    layout: str  # relative to the directory
    digest: str
    size: int  # bytes of all blobs
    blobs: dict[str, int]  # digest -> size

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination,
                "layout": self.layout, "digest": self.digest, "size": self.size,
                "blobs": self.blobs}


def layout_name(source: ImageReference) -> str:
    """A folder name that is readable, safe on any file system, and unique."""
    readable = re.sub(r"[^a-z0-9._-]+", "-", source.normalized.lower()).strip("-")[:80]
    return f"{readable}-{hashlib.sha256(source.normalized.encode()).hexdigest()[:12]}"


def to_dir_tasks(items: Sequence[CopyItem], directory: Path) -> list[CopyTask]:
    tasks = []
    for item in items:
        relative = f"{IMAGES_DIR}/{layout_name(item.source)}"
        final = directory / relative
        partial = directory / f"{relative}.partial"
        tasks.append(CopyTask(
            label=item.source.normalized, target=relative,
            source=f"docker://{pull_spec(item.source)}", destination=f"oci:{partial}",
            source_digest=item.source.digest, layout=LayoutTarget(final, partial)))
    return tasks


def _blob_sizes(layout: Path) -> dict[str, int]:
    folder = layout / "blobs"
    return {f"{algorithm.name}:{blob.name}": blob.stat().st_size
            for algorithm in sorted(folder.iterdir()) if algorithm.is_dir()
            for blob in sorted(algorithm.iterdir())}


def write_manifest(directory: Path, items: Sequence[CopyItem],
                   results: Sequence[TaskResult]) -> list[ArchivedImage]:
    """Record the images now complete in the directory (atomically)."""
    archived = []
    for item, result in zip(items, results, strict=True):
        if result.status not in (COPIED, SKIPPED) or result.task.layout is None:
            continue
        layout = result.task.layout.final
        blobs = _blob_sizes(layout)
        archived.append(ArchivedImage(
            source=item.source.normalized, destination=str(item.destination),
            layout=result.task.target, digest=result.digest or "",
            size=sum(blobs.values()), blobs=blobs))
    body = json.dumps({"kind": "kpatch-mirror", "version": FORMAT_VERSION,
                       "images": [a.to_json() for a in archived]}, indent=2) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".kpatch-mirror-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(body)
    os.replace(temporary, directory / MANIFEST_NAME)
    return archived


def read_manifest(directory: Path) -> list[ArchivedImage]:
    path = directory / MANIFEST_NAME
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KpatchError(f"no {MANIFEST_NAME}: not a directory written by kpatch mirror "
                          "--to-dir", file=str(directory)) from None
    except (OSError, ValueError) as exc:
        raise KpatchError(f"cannot read: {exc}", file=where) from None
    if not isinstance(data, dict) or data.get("kind") != "kpatch-mirror":
        raise KpatchError("not a kpatch mirror manifest", file=where)
    if data.get("version") != FORMAT_VERSION:
        raise KpatchError(f"unsupported version {data.get('version')!r}", file=where,
                          pointer="/version")
    images = data.get("images")
    if not isinstance(images, list):
        raise KpatchError("expected a list", file=where, pointer="/images")
    archived = []
    for index, entry in enumerate(images):
        pointer = f"/images/{index}"
        try:
            blobs = entry["blobs"]
            image = ArchivedImage(
                source=str(entry["source"]), destination=str(entry["destination"]),
                layout=str(entry["layout"]), digest=str(entry["digest"]),
                size=int(entry["size"]),
                blobs={str(k): int(v) for k, v in blobs.items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KpatchError(f"bad entry ({type(exc).__name__}: {exc})", file=where,
                              pointer=pointer) from None
        layout = Path(image.layout)
        if layout.is_absolute() or ".." in layout.parts:
            raise KpatchError(f"layout {image.layout!r} must stay inside the directory",
                              file=where, pointer=f"{pointer}/layout")
        parse_reference(image.source)
        archived.append(image)
    return archived


def _file_digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def check_archive(directory: Path, images: Sequence[ArchivedImage]) -> None:
    """Every blob hashes to its name and has its recorded size, every recorded
    blob is there, and each layout holds its recorded image: or nothing is pushed."""
    problems: list[str] = []
    for image in images:
        layout = directory / image.layout
        if not layout.is_dir():
            problems.append(f"{image.layout}: missing (for {image.source})")
            continue
        held = layout_digest(layout)
        if held != image.digest:
            problems.append(f"{image.layout}/index.json: names {held}, the manifest "
                            f"records {image.digest} for {image.source}")
        for digest, size in image.blobs.items():
            algorithm, _, hex_part = digest.partition(":")
            blob = layout / "blobs" / algorithm / hex_part
            where = f"{image.layout}/blobs/{algorithm}/{hex_part}"
            if not blob.is_file():
                problems.append(f"{where}: missing")
                continue
            if algorithm not in hashlib.algorithms_available:
                problems.append(f"{where}: unknown digest algorithm {algorithm!r}")
                continue
            if blob.stat().st_size != size:
                problems.append(f"{where}: {blob.stat().st_size} bytes, recorded {size}")
            elif _file_digest(blob, algorithm) != digest:
                problems.append(f"{where}: content does not match its digest")
    if problems:
        raise KpatchError(f"refusing to push, {len(problems)} problem(s): "
                          + "; ".join(problems), file=str(directory / MANIFEST_NAME))


def destination_of(image: ArchivedImage, rules: RelocationRules | None) -> ImageReference:
    """The recorded destination, or with ``rules`` (``--registry`` on the
    disconnected side) the source relocated again."""
    if rules is None:
        return parse_reference(image.destination)
    return rules.relocate(parse_reference(image.source))


def from_dir_tasks(directory: Path, images: Sequence[ArchivedImage],
                   rules: RelocationRules | None) -> list[CopyTask]:
    tasks = []
    for image in images:
        destination = destination_of(image, rules)
        tasks.append(CopyTask(
            label=image.source, target=str(destination),
            source=f"oci:{directory / image.layout}",
            destination=f"docker://{push_spec(destination)}", source_digest=image.digest))
    return tasks
