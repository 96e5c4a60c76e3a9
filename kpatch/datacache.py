"""Parsed YAML of kpatch's own data files (the built-in profiles), kept between runs.

Parsing the built-in profiles' YAML was a third of what kpatch itself spent on a
one-file ``kpatch images`` (a pre-commit hook's run). The parse of a file never
changes while the file and the code that parses it do not, so the data is kept in
one file under the cache directory and used again when:

- the file's text is exactly the text the data was parsed from (the cache holds
  both, so an edited file is parsed again, whatever its size or time stamp);
- the parser is the same: the kpatch version, the PyYAML version, the Python
  version, and the source text of the modules that parse (``yamlio.py`` and the
  caller's, ``profile.py``), so a development checkout that changes them cannot
  read data parsed by the old code.

``parse_files`` keeps only the parse: whatever the caller checks on the data
(profile validation) runs on every run. ``load_derived``/``store_derived`` keep a
value computed from such files under a key the caller makes of everything it was
computed from (kpatch.profile keeps the checked built-in profiles so).

The cache is never required: a missing, unreadable, foreign or corrupt cache file
means "parse", and a cache directory that cannot be written is ignored. It is
written atomically (a temporary file, then a rename), so parallel runs see the old
file or the new one. The format is ``marshal``, which the interpreter already has
loaded (it reads bytecode with it):
no import to pay for, and it refuses (rather than mangles) anything but plain
data. Like Python's own ``__pycache__``, the file is trusted as far as the user's
own cache directory is.

Location: ``$KPATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/kpatch``, else
``~/.cache/kpatch`` (as ``kpatch check`` uses).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1
# Modules whose code decides what a parse returns (their source is part of the key).
PARSER_MODULES = ("yamlio.py", "profile.py")
PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """Where the cache lives; None (no cache) when there is no home folder to put
    it in. A relative XDG_CACHE_HOME is ignored, as the XDG spec says."""
    given = os.environ.get("KPATCH_CACHE_DIR")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path(os.path.expanduser("~")) / ".cache"
    return base / "kpatch" if base.is_absolute() else None


def parser_key() -> tuple[str, ...] | None:
    """What the parse depends on besides the file's text; None (do not cache) when
    the parsing modules' source cannot be read (a source-less install)."""
    import yaml

    from kpatch import __version__

    key = [f"kpatch {__version__}", f"PyYAML {yaml.__version__}", sys.version]
    for name in PARSER_MODULES:
        try:
            key.append((PACKAGE / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
    return tuple(key)


def _read_cache(path: Path, key: tuple[str, ...]) -> dict[str, tuple[str, Any]]:
    """The cached entries (shown name -> (text, data)), or none when the cache file
    is missing, unreadable, corrupt or from another parser."""
    try:
        stored = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not (isinstance(stored, tuple) and len(stored) == 3 and stored[0] == CACHE_FORMAT
            and stored[1] == key and isinstance(stored[2], dict)):
        return {}
    entries: dict[str, tuple[str, Any]] = {}
    for shown, entry in stored[2].items():
        if isinstance(shown, str) and isinstance(entry, tuple) and len(entry) == 2 \
                and isinstance(entry[0], str):
            entries[shown] = entry
    return entries


def _write_cache(path: Path, key: tuple[Any, ...], value: Any) -> None:
    """Replace the cache file atomically; give up quietly when it cannot be written
    (a read-only home, data marshal cannot hold)."""
    try:
        payload = marshal.dumps((CACHE_FORMAT, key, value))
    except ValueError:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "xb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def load_derived(name: str, key: tuple[Any, ...]) -> Any:
    """What ``store_derived`` kept under ``name`` for exactly ``key`` (which must
    hold everything the value was computed from), or None: no file, an unreadable
    or corrupt one, or one written for another key."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        stored = marshal.loads((folder / f"{name}.marshal").read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if isinstance(stored, tuple) and len(stored) == 3 and stored[0] == CACHE_FORMAT \
            and stored[1] == key:
        return stored[2]
    return None


def store_derived(name: str, key: tuple[Any, ...], value: Any) -> None:
    """Keep ``value`` (plain data marshal can hold) for ``load_derived``, in
    ``cache_dir()/NAME.marshal``; replaces what was kept under ``name`` before."""
    folder = cache_dir()
    if folder is not None:
        _write_cache(folder / f"{name}.marshal", key, value)


def parse_files(files: Sequence[tuple[str, Path]], parse: Callable[[str, str], Any],
                cache_file: Path | None = None) -> list[tuple[str, Any]]:
    """``(shown, parse(text, shown))`` for each ``(shown, path)``, in order; a file
    whose text is the cached text gets the cached data instead of a parse.

    ``cache_file`` defaults to ``builtin-profiles.marshal`` in ``cache_dir()``.
    Errors of ``parse`` propagate (nothing is cached for that run).
    """
    texts = [(shown, path.read_text(encoding="utf-8")) for shown, path in files]
    key = parser_key()
    if key is None:
        return [(shown, parse(text, shown)) for shown, text in texts]
    folder = cache_dir()
    path = cache_file or (folder / "builtin-profiles.marshal" if folder else None)
    if path is None:
        return [(shown, parse(text, shown)) for shown, text in texts]
    cached = _read_cache(path, key)
    out: list[tuple[str, Any]] = []
    fresh: dict[str, tuple[str, Any]] = {}
    stale = False
    for shown, text in texts:
        entry = cached.get(shown)
        if entry is not None and entry[0] == text:
            data = entry[1]
        else:
            data = parse(text, shown)
            stale = True
        fresh[shown] = (text, data)
        out.append((shown, data))
    if stale or set(cached) != set(fresh):
        _write_cache(path, key, fresh)
    return out
