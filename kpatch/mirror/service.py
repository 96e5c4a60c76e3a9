"""The steps ``kpatch mirror`` strings together: plan from inputs, tasks from
a plan or an archive, registry checks. No printing, no option parsing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from kpatch.inventory import InventoryOptions, find_images
from kpatch.mirror.archive import ArchivedImage, destination_of
from kpatch.mirror.execute import CopyTask, RegistryCheck, RunOptions, VerifyTask
from kpatch.mirror.pin import resolve_digests
from kpatch.mirror.plan import (
    CopyItem,
    MirrorPlan,
    Unresolved,
    build_plan,
    pull_spec,
    push_spec,
)
from kpatch.mirror.skopeo import SkopeoOptions
from kpatch.reference import ImageReference
from kpatch.relocation import RelocationRules

if TYPE_CHECKING:
    from kpatch.config import OverlayConfig


def plan_from_inputs(paths: Sequence[str], rules: RelocationRules,
                     inventory_options: InventoryOptions,
                     pin_with: SkopeoOptions | None = None,
                     run: RunOptions | None = None) -> MirrorPlan:
    """The plan for the install at ``paths``; with ``pin_with``, tags resolved to
    digests at the source first."""
    inventory = find_images(list(paths), inventory_options)
    plan = build_plan(inventory, rules)
    if pin_with is None:
        return plan
    pins = resolve_digests([item.source for item in plan.items], pin_with, run)
    return build_plan(inventory, rules, pins)


def plan_from_config(overlays: Sequence[OverlayConfig],
                     pin_with: SkopeoOptions | None = None,
                     run: RunOptions | None = None) -> MirrorPlan:
    """One plan for every overlay of kpatch.yaml: each base inventoried with its own
    settings and moved by its own rules (registry, mappings, flatten, exceptions),
    the pairs deduplicated across overlays."""
    plans = [plan_from_inputs([o.base_path], o.relocate_options().rules,
                              o.inventory_options(), pin_with, run)
             for o in overlays]
    return merge_plans(plans)


def merge_plans(plans: Sequence[MirrorPlan]) -> MirrorPlan:
    """Plans of several installs as one: a pair wanted twice is copied once, with
    every place that pulls it."""
    items: dict[tuple[str, str], CopyItem] = {}
    unresolved: list[Unresolved] = []
    in_place: dict[str, ImageReference] = {}
    for plan in plans:
        for item in plan.items:
            known = items.get(item.key)
            items[item.key] = item if known is None else replace(
                known, used_by=(*known.used_by, *item.used_by))
        unresolved.extend(plan.unresolved)
        for ref in plan.in_place:
            in_place.setdefault(ref.normalized, ref)
    return MirrorPlan(list(items.values()), unresolved, list(in_place.values()))


def registry_tasks(items: Sequence[CopyItem]) -> list[CopyTask]:
    return [CopyTask(label=item.source.normalized, target=str(item.destination),
                     source=f"docker://{pull_spec(item.source)}",
                     destination=f"docker://{push_spec(item.destination)}",
                     source_digest=item.source.digest)
            for item in items]


def registry_checks(tasks: Sequence[CopyTask], options: SkopeoOptions) -> list[RegistryCheck]:
    """One probe per registry a task reads from or writes to."""
    checks = []
    for task in tasks:
        for side, spec, tls in (("source", task.source, options.src_tls_verify),
                                ("destination", task.destination, options.dest_tls_verify)):
            if spec.startswith("docker://"):
                host = spec.removeprefix("docker://").split("/", 1)[0]
                checks.append(RegistryCheck(side, host, spec, tls))
    return checks


def verify_plan_tasks(items: Sequence[CopyItem]) -> list[VerifyTask]:
    return [VerifyTask(label=item.source.normalized,
                       destination=f"docker://{push_spec(item.destination)}",
                       source=f"docker://{pull_spec(item.source)}",
                       expected=item.source.digest)
            for item in items]


def verify_archive_tasks(images: Sequence[ArchivedImage],
                         rules: RelocationRules | None) -> list[VerifyTask]:
    """Check the registry against an archive's recorded digests: for the
    disconnected side, which cannot see the sources."""
    return [VerifyTask(label=image.source,
                       destination=f"docker://{push_spec(destination_of(image, rules))}",
                       source=None, expected=image.digest)
            for image in images]

