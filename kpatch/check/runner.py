"""Running the rules over the overlays of kpatch.yaml, in parallel, in a fixed order.

Per overlay: the generator's dry run (kpatch.sync.sync_overlay, which is
kpatch.overlay.relocate_to_overlay) gives the would-be files and the base's
inventory; the overlay on disk is rendered once; then every rule runs. Overlays
are independent, so they are checked in worker processes; reports come back in
kpatch.yaml's order whatever finishes first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpatch.check import Finding, OverlayContext
from kpatch.errors import KpatchError

if TYPE_CHECKING:
    from kpatch.config import OverlayConfig

Rule = Callable[[OverlayContext], list[Finding]]


def rules() -> list[tuple[str, Rule]]:
    """Every rule, in the order its findings are reported."""
    from kpatch.check import (
        builds,
        cass_operator_release,
        in_sync,
        k8ssandra_operator_release,
        pull_secrets,
        redis_release,
        registries,
        tags,
    )

    return [
        (in_sync.RULE, in_sync.check),
        (builds.RULE, builds.check),
        (registries.RULE, registries.check),
        (tags.RULE, tags.check),
        (pull_secrets.RULE, pull_secrets.check),
        (redis_release.RULE, redis_release.check),
        (cass_operator_release.RULE, cass_operator_release.check),
        (k8ssandra_operator_release.RULE, k8ssandra_operator_release.check),
    ]


RULE_NAMES = ("in-sync", "builds", "registries", "tags", "pull-secrets", "redis-release",
              "cass-operator-release", "k8ssandra-operator-release")


@dataclass
class OverlayReport:
    name: str
    output: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # the overlay could not be checked (exit 2)
    cached: bool = False  # found clean earlier, and nothing it reads changed since

    @property
    def clean(self) -> bool:
        return not self.findings and self.error is None


def check_overlay(overlay: OverlayConfig, only: tuple[str, ...] = ()) -> OverlayReport:
    from kpatch.kustomize.json6902 import remembered

    # The generator verifies its plan by applying it to the base; rendering the
    # overlay on disk applies the same operations to the same documents when the
    # overlay is in sync: done once (the render still reads and matches every patch).
    with remembered():
        return _check_overlay(overlay, only)


def _check_overlay(overlay: OverlayConfig, only: tuple[str, ...]) -> OverlayReport:
    from kpatch.check import builds
    from kpatch.sync import sync_overlay

    report = OverlayReport(overlay.name, overlay.output_path)
    try:
        generated = sync_overlay(overlay, dry_run=True).result
    except KpatchError as exc:
        report.error = str(exc)
        return report
    # The profiles the generator loaded for this overlay's settings.
    profiles = list(generated.inventory.profiles) if generated.inventory is not None else []
    ctx = OverlayContext(overlay, generated, None, profiles)
    findings: list[Finding] = []
    for item in generated.plan.unrelocated:
        findings.append(ctx.finding(
            "in-sync", f"`kpatch sync {overlay.name}` would fail: {item.image or 'an image'} "
            f"cannot be relocated: {item.reason}", resource=item.resource, pointer=item.path))
    rendered, build_findings = builds.render(ctx)
    ctx.rendered = rendered  # type: ignore[assignment]
    for name, rule in rules():
        if only and name not in only:
            continue
        if name == builds.RULE:
            findings += build_findings
            continue
        findings += rule(ctx)
    report.findings = findings
    return report


def _check_one(args: tuple[OverlayConfig, tuple[str, ...]]) -> OverlayReport:
    overlay, only = args
    try:
        return check_overlay(overlay, only)
    except KpatchError as exc:
        return OverlayReport(overlay.name, overlay.output_path, error=str(exc))


def _check_group(group: list[tuple[OverlayConfig, tuple[str, ...]]]) -> list[OverlayReport]:
    """Overlays of one base, one after the other: the base is read once
    (kpatch.inventory.shared_inputs, checked against the state of its files)."""
    from kpatch.check.cache import input_stamp
    from kpatch.inventory import shared_inputs

    if len(group) == 1:
        return [_check_one(group[0])]  # nothing to share: no stamps to take
    with shared_inputs(input_stamp):
        return [_check_one(item) for item in group]


def _groups(work: list[tuple[OverlayConfig, tuple[str, ...]]]) -> list[list[int]]:
    """Positions in ``work`` grouped by base, biggest (bytes of base files times
    overlays) first: one group per worker task, so the last to finish are small."""
    by_base: dict[str, list[int]] = {}
    for index, (overlay, _) in enumerate(work):
        by_base.setdefault(os.path.realpath(overlay.base_path), []).append(index)
    groups = list(by_base.values())
    groups.sort(key=lambda g: -_base_size(work[g[0]][0]) * len(g))
    return groups


def _base_size(overlay: OverlayConfig) -> int:
    """Bytes of the files of an overlay's base: what its check costs, roughly."""
    total = 0
    for folder, _, files in os.walk(overlay.base_path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def check_overlays(overlays: list[OverlayConfig], jobs: int | None = None,
                   only: tuple[str, ...] = (), use_cache: bool = False) -> list[OverlayReport]:
    """One report per overlay, in the order given. With ``use_cache``, overlays found
    clean before whose inputs are unchanged are not checked again (kpatch.check.cache)."""
    for name in only:
        if name not in RULE_NAMES:
            raise KpatchError(f"unknown rule {name!r}; rules: {', '.join(RULE_NAMES)}")
    jobs = default_jobs() if jobs is None else max(1, jobs)
    keys: list[str | None] = [None] * len(overlays)
    known: set[str] = set()
    if use_cache:
        from kpatch.check.cache import fingerprint, load_clean

        known = load_clean()
        keys = [fingerprint(o, only) for o in overlays]
    reports: list[OverlayReport | None] = [
        OverlayReport(o.name, o.output_path, cached=True) if key in known else None
        for o, key in zip(overlays, keys, strict=True)]
    todo = [i for i, r in enumerate(reports) if r is None]
    work = [(overlays[i], only) for i in todo]
    groups = _groups(work)
    if jobs == 1 or len(groups) <= 1:
        results = [_check_group([work[i] for i in group]) for group in groups]
    else:
        import multiprocessing

        # fork: workers start with the modules already imported (spawn would pay
        # the import time again in each). One group of overlays at a time, biggest
        # first: no core sits idle while the other works through a chunk.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(jobs, len(groups)),
                                 mp_context=context) as pool:
            results = list(pool.map(_check_group, [[work[i] for i in g] for g in groups]))
    for group, reports_of_group in zip(groups, results, strict=True):
        for index, report in zip(group, reports_of_group, strict=True):
            reports[todo[index]] = report
    if use_cache:
        from kpatch.check.cache import record_clean

        record_clean([k for i, k in zip(todo, (keys[i] for i in todo), strict=True)
                      if k is not None and (r := reports[i]) is not None and r.clean])
    return [r for r in reports if r is not None]
