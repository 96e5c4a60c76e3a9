"""Rule ``builds``: the overlay renders, and its JSON6902 ``test`` guards pass.

A guard that fails means the base drifted under the overlay (a container renamed,
an image upgraded): kustomize would refuse to build it, and so does this rule.
Rendering uses kpatch's built-in renderer when it supports the tree, else
kustomize or kubectl (kpatch.render.render_tree).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpatch.check import Finding, OverlayContext
from kpatch.errors import KpatchError

if TYPE_CHECKING:
    from kpatch.inventory import Inventory

RULE = "builds"


def render(ctx: OverlayContext) -> tuple[object | None, list[Finding]]:
    """(the rendered overlay's inventory, findings). Used by the runner, which
    gives the inventory to the rules that read the rendered output."""
    from kpatch.diff.inputs import _documents
    from kpatch.inventory import build_inventory
    from kpatch.render import is_kustomization_dir, render_tree
    from kpatch.yamlio import load_stream

    output = Path(ctx.output)
    if not is_kustomization_dir(output):
        return None, [ctx.finding(RULE, "no kustomization.yaml: the overlay was never "
                                  f"generated; run `kpatch sync {ctx.overlay.name}`",
                                  file=str(output))]
    options = ctx.overlay.inventory_options()
    label = f"{output} (rendered)"
    try:
        resources = _on_rendered_base(ctx, output, options)
        if resources is not None:
            renderer = "builtin (on the rendered base)"
            verified = _verified_inventory(ctx, resources, options)
            if verified is not None:
                inventory = copy.copy(verified)  # the plan's, renamed for this render
                inventory.renderer = renderer
                return inventory, []
            documents = _documents(resources, label)
        else:
            rendered = render_tree(output, options.renderer, options.limits)
            renderer = rendered.renderer
            documents = (_documents(rendered.resources, label)
                         if rendered.resources is not None
                         else load_stream(rendered.text or "", label, options.limits))
        inventory = build_inventory(documents, ctx.profiles, ctx.overlay.params,
                                    options.limits, renderer)
    except KpatchError as exc:
        message = _plain(exc.message)
        if "test failed" in message or "testing value" in message:
            message = (f"does not build: a `test` guard failed ({message}); the base "
                       f"changed under the overlay: run `kpatch sync {ctx.overlay.name}`")
        else:
            message = f"does not build: {message}"
        where = exc.location
        return None, [ctx.finding(RULE, message, file=where.file or str(output),
                                  line=where.line, pointer=where.pointer)]
    return inventory, []


def _verified_inventory(ctx: OverlayContext, resources: list[dict[str, Any]],
                        options: Any) -> Inventory | None:
    """The generator's own inventory of the base with its plan applied, when the
    overlay rendered to those very documents (the same objects, in the same order:
    kpatch.kustomize.json6902.remembered hands back the plan's result when a patch
    on disk applies the same operations to the same base document), with the same
    profiles, parameters and limits. Then inventorying the render again would
    rebuild the same uses."""
    from kpatch.yamlio import LoadLimits

    verified = ctx.generated.plan.verified if ctx.generated is not None else None
    if verified is None or options.limits != LoadLimits() \
            or verified.params != dict(ctx.overlay.params) \
            or verified.profiles != ctx.profiles or len(verified.resources) != len(resources):
        return None
    if all(doc.data is data for (doc, _), data in zip(verified.resources, resources,
                                                       strict=True)):
        return verified
    return None


def _on_rendered_base(ctx: OverlayContext, output: Path, options: Any
                      ) -> list[dict[str, Any]] | None:
    """The overlay applied in process to the base the generator already rendered
    (as `kpatch diff OVERLAY` does), or None where that is not the same as a full
    render: an overlay with more than its one base, or fields applied only in a
    full render. Saves rendering every base twice."""
    from kpatch.diff.inputs import IN_PROCESS_FIELDS
    from kpatch.kustomize.builtin import BuiltinRenderer, Unsupported, legacy_sort

    base = ctx.base
    if base is None or options.renderer not in ("auto", "builtin"):
        return None
    builtin = BuiltinRenderer(options.limits)
    kustomization = builtin._load(output.resolve(), "Kustomization")
    entries = kustomization.entries("resources")
    own = set(kustomization.data) - {"apiVersion", "kind", "metadata", "resources"}
    if len(entries) != 1 or not own <= IN_PROCESS_FIELDS:
        return None
    target = builtin._resolve(kustomization, str(entries[0]), allow_dirs=True)
    if target.resolve() != Path(ctx.overlay.base_path).resolve():
        return None
    # The rendered base no longer knows its resources' earlier ids (see
    # kpatch.diff.inputs.load_overlay): a target matching nothing means a full render.
    builtin.ids_changed = True
    try:
        return legacy_sort(builtin.transform([doc.data for doc, _ in base.resources],
                                             kustomization))
    except Unsupported:
        return None


def _plain(message: str) -> str:
    """kubectl's error without its log prefix (``E1123 04:13:48 run.go:72] "command
    failed" err="..."``): the part a reader needs."""
    import re

    match = re.search(r'err="(.*)"\s*$', message)
    if match:
        prefix = message.split(":", 1)[0] if ":" in message else ""
        return f"{prefix}: {match.group(1)}" if prefix else match.group(1)
    return message


def check(ctx: OverlayContext) -> list[Finding]:
    """Findings come from ``render``; a built overlay has none."""
    return []
