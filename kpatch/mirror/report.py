"""What ``kpatch mirror`` shows while and after it copies, as strings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from kpatch.mirror.execute import COPIED, FAILED, OK, SKIPPED, TaskResult, VerifyResult
from kpatch.mirror.formats import text_table


def progress_line(result: TaskResult, done: int, total: int) -> str:
    """One plain line per finished image (logs, CI, anything not a terminal)."""
    width = len(str(total))
    head = f"[{done:>{width}}/{total}] {result.status:<7} {result.task.label}"
    if result.status == FAILED:
        return f"{head}: {result.error}"
    return f"{head} -> {result.task.target}"


def progress_bar(results: Sequence[TaskResult], total: int, width: int = 30) -> str:
    """A one-line bar redrawn in place on a terminal."""
    counts = Counter(r.status for r in results)
    filled = width * len(results) // total if total else width
    return (f"[{'#' * filled}{'.' * (width - filled)}] {len(results)}/{total}  "
            f"{counts[COPIED]} copied, {counts[SKIPPED]} skipped, {counts[FAILED]} failed")


def short(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def summary_table(results: Sequence[TaskResult]) -> str:
    rows = [("STATUS", "IMAGE", "DESTINATION", "DIGEST", "TRIES", "SECONDS")]
    rows += [(r.status, r.task.label, r.task.target, short(r.digest), str(r.attempts),
              f"{r.seconds:.1f}") for r in results]
    counts = Counter(r.status for r in results)
    return text_table(rows) + (f"{len(results)} image(s): {counts[COPIED]} copied, "
                           f"{counts[SKIPPED]} already there, {counts[FAILED]} failed\n")


def failures(results: Sequence[TaskResult]) -> list[str]:
    return [f"{r.task.label} -> {r.task.target}: {r.error}" for r in results
            if r.status == FAILED]


def verify_table(results: Sequence[VerifyResult]) -> str:
    rows = [("STATUS", "DESTINATION", "EXPECTED", "FOUND")]
    rows += [(r.status, r.task.destination.removeprefix("docker://"), short(r.expected),
              short(r.found)) for r in results]
    bad = sum(1 for r in results if r.status != OK)
    return text_table(rows) + f"{len(results)} image(s): {len(results) - bad} present, " \
                          f"{bad} missing or different\n"


def verify_problems(results: Sequence[VerifyResult]) -> list[str]:
    out = []
    for r in results:
        if r.status == OK:
            continue
        where = r.task.destination.removeprefix("docker://")
        detail = {"missing": "not in the registry",
                  "different": f"holds {r.found}, the source is {r.expected}"}.get(
                      r.status, r.error or "cannot check")
        out.append(f"{where}: {detail}")
    return out
