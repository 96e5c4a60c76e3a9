"""Replacing a directory's contents all at once.

An overlay is only valid whole: half of 3,000 patch files, or a new
kustomization.yaml beside old patches, no longer builds. So the new state is
written complete into a hidden sibling directory and then switched with the
old one in one ``renameat2(RENAME_EXCHANGE)`` (Linux), or, for a directory
that does not exist yet, one ``rename``. A reader (or an interrupted kpatch)
sees the old complete state or the new one, never a mix.

Temporary directories are removed on every exit Python sees: errors,
KeyboardInterrupt (SIGINT) and SIGTERM (turned into SystemExit while a switch
is prepared). SIGKILL cannot be caught: what it leaves is a hidden sibling
named after the dead process, removed by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.kpatch-(?P<pid>\d+)-[A-Za-z0-9_]+$")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (not Linux, an old
    kernel or libc, a filesystem without support)."""
    libc = _libc()
    renameat2 = getattr(libc, "renameat2", None) if libc is not None else None
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                       _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first))


def temp_sibling(target: Path) -> Path:
    """A new hidden directory beside ``target``, named after this process."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.kpatch-{os.getpid()}-",
                                 dir=target.parent))


def remove_stale_siblings(target: Path, only_own: bool = False) -> None:
    """Remove what a killed kpatch left beside ``target`` (its process is gone),
    or with ``only_own`` what this process made (on its way out, whatever the
    point it was interrupted at)."""
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None or match.group("name") != target.name:
            continue
        pid = int(match.group("pid"))
        if only_own and pid != os.getpid():
            continue
        if pid != os.getpid() and _alive(pid):
            continue  # another kpatch is writing right now
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def switch_into_place(new: Path, target: Path) -> None:
    """Make ``new`` (complete) be ``target``; the old ``target`` is removed."""
    if not target.exists():
        os.rename(new, target)
        return
    if exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now holds the old state
        return
    # No atomic exchange here: two renames, the old state kept until the new one
    # is in place, so an interruption leaves it recoverable beside the target.
    old = temp_sibling(target)
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """While the block runs, SIGTERM raises SystemExit (143) so that cleanup in
    ``finally`` blocks runs, as it does for SIGINT's KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs (cleanup that must
    finish); they are delivered when it ends."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_file_atomically(path: Path, text: str) -> None:
    """Write one file through a temporary name beside it and rename it into place:
    on any error the old file is untouched. It keeps the mode of the file it
    replaces, or gets the user's umask (mkstemp alone would give 0600)."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~current_umask()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
