"""Overlays already found clean, so that an unchanged overlay is not checked again.

A pre-commit hook or a CI re-run checks the same overlays over and over; most of
them did not change. Only clean results are kept, each under a fingerprint of
everything its check reads: the overlay's resolved settings, every file of its
base and output folders and of whatever their kustomizations name outside them,
its profile files, the kpatch code and data, the Python and renderer in use, and
the working directory (findings name paths relative to it) and the ``KPATCH_*``
environment variables (input limits). Any change to any of
these gives another fingerprint, so a stale entry is never used; an overlay whose
kustomizations name a remote resource is never cached. The record lives in
``$KPATCH_CACHE_DIR`` (default ``$XDG_CACHE_HOME/kpatch``, else ``~/.cache/kpatch``);
``kpatch check --no-cache`` ignores it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpatch.config import OverlayConfig

RECORD = "check-clean"
KEEP = 5000  # fingerprints kept, newest last
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
REMOTE_PREFIXES = ("github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::")


def cache_dir() -> Path:
    given = os.environ.get("KPATCH_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kpatch"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """kpatch's own code and data: a development checkout changes without a new version."""
    import kpatch

    digest = hashlib.sha256(f"{kpatch.__version__} {sys.version}".encode())
    package = Path(kpatch.__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for tool in ("kubectl", "kustomize"):
        found = shutil.which(tool)
        if found:
            stat = os.stat(found)
            digest.update(f"{tool} {found} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


_LOADER: Any = None


def _collect(folder: Path, files: set[Path], folders: set[Path]) -> bool:
    """Every file below ``folder`` and below what its kustomizations name outside
    it (any string in them that is an existing relative path); False when a
    kustomization names a remote resource."""
    import yaml

    global _LOADER
    # libyaml's loader: generated kustomizations list hundreds of patches.
    _LOADER = _LOADER or getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    folder = folder.resolve()
    if any(folder == f or f in folder.parents for f in folders):
        return True
    folders.add(folder)
    if not folder.is_dir():
        return True  # a missing folder: the check reports it; its absence is the input
    found = [p for p in folder.rglob("*") if ".git" not in p.relative_to(folder).parts]
    for path in found:
        if path.is_file():
            files.add(path)
    for path in found:
        if path.name not in KUSTOMIZATIONS or not path.is_file():
            continue
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the check reports it; the bytes are in the fingerprint
        for text in _strings(data):
            if "://" in text or text.startswith(REMOTE_PREFIXES):
                return False
            if "\n" in text or len(text) > 4096:
                continue
            candidate = (path.parent / text)
            try:
                if not candidate.exists():
                    continue
            except OSError:
                continue
            candidate = candidate.resolve()
            if candidate.is_dir():
                if not _collect(candidate, files, folders):
                    return False
            elif candidate.is_file():
                files.add(candidate)
    return True


def _canonical(value: Any) -> Any:
    """JSON for what json.dumps cannot write: sets sorted (their order varies from
    one process to the next), paths and dataclasses spelled out."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(overlay: OverlayConfig, only: tuple[str, ...]) -> str | None:
    """What the check of ``overlay`` reads, as one digest; None when not cacheable."""
    settings = {f.name: getattr(overlay, f.name) for f in fields(overlay)
                if f.name not in ("line", "key_lines", "config_file")}
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(json.dumps(settings, sort_keys=True, default=_canonical).encode())
    digest.update(f"{os.getcwd()}\0{only}".encode())
    # Limits and switches read from the environment (KPATCH_MAX_INPUT_BYTES...).
    digest.update(repr(sorted((k, v) for k, v in os.environ.items()
                              if k.startswith("KPATCH_") and k != "KPATCH_CACHE_DIR")).encode())
    files: set[Path] = set()
    folders: set[Path] = set()
    for folder in (overlay.base_path, overlay.output_path):
        if not _collect(Path(folder), files, folders):
            return None
    files.update(Path(overlay.path(p)).resolve() for p in overlay.profile_files)
    for path in sorted(files):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
        digest.update(b"\0")
    return digest.hexdigest()


def input_stamp(paths: tuple[str, ...]) -> tuple[tuple[str, int, int], ...] | None:
    """The state of every file the inputs ``paths`` read (each file below a folder
    and below what its kustomizations name outside it; a file given itself): path,
    size and modification time. None (not shareable) when a kustomization names a
    remote resource. kpatch.inventory.shared_inputs reuses what it read only while
    this stays the same."""
    files: set[Path] = set()
    folders: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.add(path.resolve())
        elif not _collect(path, files, folders):
            return None
    stamp = []
    for path in sorted(files):
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


def load_clean() -> set[str]:
    try:
        text = (cache_dir() / RECORD).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return set()
    return set(text.split())


def record_clean(keys: list[str]) -> None:
    """Add fingerprints to the record (best effort: a cache never fails a check)."""
    if not keys:
        return
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / RECORD
        try:
            old = path.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            old = []
        kept = list(dict.fromkeys([*old, *keys]))[-KEEP:]
        temporary = path.with_name(f".{RECORD}.{os.getpid()}")
        temporary.write_text("\n".join(kept) + "\n", encoding="ascii")
        os.replace(temporary, path)
    except OSError:
        return
