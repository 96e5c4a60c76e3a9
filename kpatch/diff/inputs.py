"""What the two sides of a diff are: I/O at the edge of the diff package.

- ``diff OVERLAY``: the overlay's bases are rendered once (by whichever backend
  they need) and the overlay's own transformations are applied to that render
  in process, so the base is never rendered twice.
- ``diff A B``: any two inputs: files, folders of manifests, kustomizations, ``-``.
- ``diff --git REV [PATH]``: PATH as committed at REV against the working tree.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpatch.diff.model import Side
from kpatch.errors import KpatchError
from kpatch.inventory import manifest_files
from kpatch.kustomize.builtin import SUPPORTED_FIELDS, BuiltinRenderer, Unsupported, legacy_sort
from kpatch.render import Rendered, is_kustomization_dir, render_tree
from kpatch.yamlio import Document, LoadLimits, SourceText, load_stream

# Fields an overlay may use for its own transformations to be applied in process.
IN_PROCESS_FIELDS = SUPPORTED_FIELDS - {"components"}


@dataclass
class Loaded:
    documents: list[Document]
    side: Side


def _documents(resources: list[dict[str, Any]], label: str) -> list[Document]:
    source = SourceText("", label)
    return [Document(r, source, i, 0, {}) for i, r in enumerate(resources)]


def _from_rendered(rendered: Rendered, label: str, limits: LoadLimits) -> list[Document]:
    if rendered.resources is not None:
        return _documents(rendered.resources, label)
    return load_stream(rendered.text or "", label, limits)


def load_side(path: str, renderer: str, limits: LoadLimits, stdin: str | None = None) -> Loaded:
    if path == "-":
        text = stdin if stdin is not None else sys.stdin.read()
        return Loaded(load_stream(text, "<stdin>", limits), Side("<stdin>"))
    target = Path(path)
    if not target.exists():
        raise KpatchError("no such file or directory", file=path)
    if is_kustomization_dir(target):
        rendered = render_tree(target, renderer, limits)
        return Loaded(_from_rendered(rendered, path, limits),
                      Side(path, rendered.renderer, rendered.fallback_reason))
    if target.is_dir():
        files = manifest_files(target)
        if not files:
            raise KpatchError("directory holds no .yaml, .yml or .json files", file=path)
        documents = []
        for file in files:
            documents += load_stream(file.read_text(encoding="utf-8"), str(file), limits)
        return Loaded(documents, Side(path))
    return Loaded(load_stream(target.read_text(encoding="utf-8"), path, limits), Side(path))


def load_overlay(path: str, renderer: str, limits: LoadLimits) -> tuple[Loaded, Loaded]:
    """(base, overlay) for ``kpatch diff OVERLAY``."""
    folder = Path(path)
    if not is_kustomization_dir(folder):
        raise KpatchError("kpatch diff with one PATH needs an overlay (a kustomization "
                          "directory); give two paths to compare anything else", file=path)
    builtin = BuiltinRenderer(limits)
    kustomization = builtin._load(folder.resolve(), "Kustomization")
    bases: list[dict[str, Any]] = []
    used: list[str] = []
    reasons: list[str | None] = []
    labels: list[str] = []
    for entry in kustomization.entries("resources"):
        target = builtin._resolve(kustomization, str(entry), allow_dirs=True)
        labels.append(os.path.relpath(target))
        if target.is_dir():
            rendered = render_tree(target, renderer, limits)
            used.append(rendered.renderer)
            reasons.append(rendered.fallback_reason)
            bases += [d.data for d in _from_rendered(rendered, str(target), limits)]
        else:
            bases += builtin._read_resources(target)
    base_side = Side(", ".join(labels), "+".join(sorted(set(used))) or None,
                     ", ".join(sorted({r for r in reasons if r})) or None)
    left = Loaded(_documents(legacy_sort(bases), base_side.source), base_side)
    own = set(kustomization.data) - {"apiVersion", "kind", "metadata", "resources"}
    if renderer in ("auto", "builtin") and own <= IN_PROCESS_FIELDS:
        # The rendered base no longer knows its resources' earlier ids, which
        # kustomize also matches targets against: a target that matches nothing
        # sends the overlay to a full render instead of being skipped.
        builtin.ids_changed = True
        try:
            transformed = legacy_sort(builtin.transform(list(bases), kustomization))
        except Unsupported:
            if renderer == "builtin":
                raise
        else:
            return left, Loaded(_documents(transformed, path),
                                Side(path, "builtin (on the rendered base)"))
    rendered = render_tree(folder, renderer, limits)
    return left, Loaded(_from_rendered(rendered, path, limits),
                        Side(path, rendered.renderer, rendered.fallback_reason))


def _git(args: list[str], cwd: Path, binary: bool = False) -> Any:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False,
                              text=not binary)
    except OSError as exc:
        raise KpatchError(f"cannot run git: {exc.strerror}") from None
    if done.returncode != 0:
        stderr = done.stderr.decode() if binary else done.stderr
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        raise KpatchError(f"git {args[0]} failed: {lines[-1] if lines else done.returncode}")
    return done.stdout


@contextmanager
def checkout(revision: str, path: str) -> Iterator[Path]:
    """PATH as it was at REV, extracted into a temporary folder (with the rest of
    the repository, so relative bases resolve)."""
    here = Path(path).resolve()
    start = here if here.is_dir() else here.parent
    root = Path(_git(["rev-parse", "--show-toplevel"], start).strip())
    relative = here.relative_to(root)
    archive = _git(["archive", "--format=tar", revision], root, binary=True)
    with tempfile.TemporaryDirectory(prefix="kpatch-git-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / relative


def load_git(revision: str, path: str, renderer: str, limits: LoadLimits
             ) -> tuple[Loaded, Loaded]:
    with checkout(revision, path) as old_path:
        if not old_path.exists():
            raise KpatchError(f"{path} does not exist at {revision}")
        left = load_side(str(old_path), renderer, limits)
    left.side = Side(f"{path}@{revision}", left.side.renderer, left.side.fallback_reason)
    for doc in left.documents:
        doc.source.file = f"{path}@{revision}"
    right = load_side(path, renderer, limits)
    return left, right

