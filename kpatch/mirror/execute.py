"""Carry out copies with skopeo: in parallel, retried, resumable, checked.

Each task looks at the destination first: when it already holds the source's
digest the copy is skipped (so a re-run copies only what is missing). Else it
copies every architecture with digests preserved (``--preserve-digests``
makes skopeo fail rather than write another digest) and, when the source
digest was known beforehand, checks the digest written against it. Never
prints: results and progress go to the caller's callback.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kpatch.errors import KpatchError
from kpatch.mirror.skopeo import AUTH, RETRIED, UNREACHABLE, Skopeo, SkopeoError

T = TypeVar("T")

COPIED = "copied"
SKIPPED = "skipped"  # already at the destination with the source digest
FAILED = "failed"


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 4
    retries: int = 3  # further attempts after a transient failure
    retry_delay: float = 1.0  # seconds before the first retry; doubles each time

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise KpatchError(f"--jobs must be at least 1, not {self.jobs}")
        if self.retries < 0:
            raise KpatchError(f"--retries must be 0 or more, not {self.retries}")


@dataclass(frozen=True)
class LayoutTarget:
    """An OCI layout directory written whole or not at all: skopeo writes
    ``partial``, which replaces ``final`` once the copy is complete."""

    final: Path
    partial: Path

    def current_digest(self) -> str | None:
        return layout_digest(self.final)

    def prepare(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.parent.mkdir(parents=True, exist_ok=True)

    def commit(self) -> None:
        shutil.rmtree(self.final, ignore_errors=True)
        self.partial.rename(self.final)


def layout_digest(layout: Path) -> str | None:
    """The digest of the one image an OCI layout holds, or None if it holds none."""
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
        manifests = index["manifests"]
        digest = manifests[0]["digest"] if len(manifests) == 1 else None
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return digest if isinstance(digest, str) else None


@dataclass(frozen=True)
class CopyTask:
    label: str  # the source image, as the user knows it
    target: str  # the destination image, or the layout folder
    source: str  # skopeo spec: docker://... or oci:...
    destination: str  # skopeo spec to write
    source_digest: str | None = None  # known in advance: a digest reference, an archive
    layout: LayoutTarget | None = None  # set when the destination is a directory


@dataclass(frozen=True)
class TaskResult:
    task: CopyTask
    status: str
    digest: str | None
    error: str | None
    attempts: int
    seconds: float


Callback = Callable[[TaskResult, int, int], None]


class Attempts:
    """Runs skopeo operations of one task, retrying transient failures with
    exponential backoff; counts skopeo runs that failed."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.retried = 0

    def run(self, operation: Callable[[], T]) -> T:
        delay = self.options.retry_delay
        for attempt in range(self.options.retries + 1):
            try:
                return operation()
            except SkopeoError as error:
                if error.kind not in RETRIED or attempt == self.options.retries:
                    raise
                self.retried += 1
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def copy_one(task: CopyTask, skopeo: Skopeo, options: RunOptions) -> TaskResult:
    started = time.monotonic()
    attempts = Attempts(options)

    def result(status: str, digest: str | None, error: str | None = None) -> TaskResult:
        return TaskResult(task, status, digest, error, attempts.retried + 1,
                          time.monotonic() - started)

    try:
        layout = task.layout
        if layout is not None:
            current = layout.current_digest()
        else:
            current = attempts.run(
                lambda: skopeo.digest(task.destination, skopeo.options.dest_tls_verify))
        digest = task.source_digest
        if current is not None and digest is None:
            # Something is there already: is it the source's image? (When nothing
            # is there, skip this read: the copy reports the digest it wrote.)
            digest = attempts.run(
                lambda: skopeo.digest(task.source, skopeo.options.src_tls_verify))
            if digest is None:
                return result(FAILED, None, "not found at the source")
        if current is not None and current == digest:
            return result(SKIPPED, digest)
        if layout is not None:
            layout.prepare()
        written = attempts.run(lambda: skopeo.copy(task.source, task.destination))
        if digest is not None and written != digest:
            return result(FAILED, written, f"the copy has digest {written}, the source "
                                           f"{digest}")
        if layout is not None:
            layout.commit()
        return result(COPIED, written)
    except SkopeoError as error:
        return result(FAILED, None, error.message)


def run_copies(tasks: Sequence[CopyTask], skopeo: Skopeo, options: RunOptions,
               on_result: Callback | None = None) -> list[TaskResult]:
    """Run every task, ``options.jobs`` at a time; results in task order.
    ``on_result(result, done, total)`` is called once per task, one call at a time."""
    lock = threading.Lock()
    done = 0

    def work(task: CopyTask) -> TaskResult:
        nonlocal done
        outcome = copy_one(task, skopeo, options)
        with lock:
            done += 1
            if on_result is not None:
                on_result(outcome, done, len(tasks))
        return outcome

    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        return list(pool.map(work, tasks))


@dataclass(frozen=True)
class RegistryCheck:
    side: str  # "source" or "destination"
    host: str
    spec: str  # an image in that registry, to ask for
    tls_verify: bool


def preflight(checks: Sequence[RegistryCheck], skopeo: Skopeo, jobs: int = 4) -> None:
    """Fail early, with one clear line, when a registry is down or refuses the
    credentials, instead of failing every image the same way."""
    unique = list({(c.side, c.host): c for c in checks}.values())

    def probe(check: RegistryCheck) -> str | None:
        try:
            skopeo.digest(check.spec, check.tls_verify)
        except SkopeoError as error:
            if error.kind == UNREACHABLE:
                return f"{check.side} registry {check.host} is not reachable: {error.message}"
            if error.kind == AUTH:
                return (f"{check.side} registry {check.host} refused the credentials "
                        f"({error.message}); check --authfile or the standard auth files "
                        "(skopeo login)")
        return None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        problems = [p for p in pool.map(probe, unique) if p]
    if problems:
        raise KpatchError("; ".join(problems))


@dataclass(frozen=True)
class VerifyTask:
    label: str
    destination: str  # skopeo spec of the destination image
    source: str | None  # skopeo spec to read the expected digest from
    expected: str | None = None  # the expected digest, when known already


OK = "ok"
MISSING = "missing"
DIFFERENT = "different"
ERROR = "error"


@dataclass(frozen=True)
class VerifyResult:
    task: VerifyTask
    status: str
    expected: str | None
    found: str | None
    error: str | None = None


def verify(tasks: Sequence[VerifyTask], skopeo: Skopeo, options: RunOptions) -> list[VerifyResult]:
    """Does every destination hold the source's digest?"""

    def check(task: VerifyTask) -> VerifyResult:
        attempts = Attempts(options)
        expected = task.expected
        try:
            if expected is None and task.source is not None:
                source = task.source
                expected = attempts.run(
                    lambda: skopeo.digest(source, skopeo.options.src_tls_verify))
                if expected is None:
                    return VerifyResult(task, ERROR, None, None, "not found at the source")
            found = attempts.run(
                lambda: skopeo.digest(task.destination, skopeo.options.dest_tls_verify))
        except SkopeoError as error:
            return VerifyResult(task, ERROR, expected, None, error.message)
        if found is None:
            return VerifyResult(task, MISSING, expected, None)
        if found != expected:
            return VerifyResult(task, DIFFERENT, expected, found)
        return VerifyResult(task, OK, expected, found)

    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        return list(pool.map(check, tasks))
