"""What a cold `kpatch check` does once instead of twice: the relocation plan's own
verification (the base with the plan applied, inventoried) stands for the rendered
overlay only when the overlay on disk renders to those very documents; any other
overlay is inventoried from its own render."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpatch.check import OverlayContext, builds
from kpatch.check.runner import check_overlay
from kpatch.config import load_config
from kpatch.inventory import build_inventory
from kpatch.kustomize.json6902 import apply_operations, remembered
from kpatch.sync import sync_overlay

from .gitops import make_repo

OPS = [{"op": "replace", "path": "/spec/image", "value": "registry.corp:5000/app:1"}]


def test_remembered_hands_back_the_first_result_for_the_same_document_and_operations() -> None:
    document = {"spec": {"image": "docker.io/app:1", "replicas": 1}}
    twin = {"spec": {"image": "docker.io/app:1", "replicas": 1}}
    with remembered():
        first = apply_operations(document, OPS)
        assert apply_operations(document, [dict(op) for op in OPS]) is first
        # An equal document that is another object: applied on its own.
        other = apply_operations(twin, OPS)
        assert other is not first and other == first
        # JSON tells true from 1 (Python does not): other operations, other result.
        as_true = apply_operations(document, [{"op": "add", "path": "/spec/replicas",
                                               "value": True}])
        as_one = apply_operations(document, [{"op": "add", "path": "/spec/replicas",
                                              "value": 1}])
        assert as_true["spec"]["replicas"] is True and type(as_one["spec"]["replicas"]) is int
    assert document == {"spec": {"image": "docker.io/app:1", "replicas": 1}}  # unchanged
    # Outside the block nothing is remembered.
    assert apply_operations(document, OPS) is not apply_operations(document, OPS)


def _rendered(root: Path, name: str) -> tuple[OverlayContext, object]:
    """The runner's steps for one overlay, up to the rendered inventory."""
    [overlay] = load_config(root / "kpatch.yaml").select([name])
    with remembered():
        generated = sync_overlay(overlay, dry_run=True).result
        assert generated.inventory is not None
        ctx = OverlayContext(overlay, generated, None, list(generated.inventory.profiles))
        rendered, found = builds.render(ctx)
    assert found == []
    return ctx, rendered


def _uses(inventory: object) -> list[tuple[str, str, str | None, bool]]:
    return [(str(u.resource), u.path, u.image, u.implicit)
            for u in inventory.uses]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["cass-operator-v1beta1", "k8ssandra-cluster",
                                  "redis-enterprise"])
def test_in_sync_overlay_is_the_plans_verified_inventory(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path, (name,))
    ctx, rendered = _rendered(repo, name)
    assert ctx.generated is not None and ctx.generated.plan.verified is not None
    assert rendered.uses is ctx.generated.plan.verified.uses  # type: ignore[attr-defined]
    # The oracle: inventorying the rendered documents afresh finds the same uses.
    documents = [doc for doc, _ in rendered.resources]  # type: ignore[attr-defined]
    fresh = build_inventory(documents, ctx.profiles, ctx.overlay.params)
    assert _uses(rendered) == _uses(fresh)


def test_hand_edited_overlay_is_inventoried_from_its_own_render(tmp_path: Path) -> None:
    name = "cass-operator-v1beta1"
    repo = make_repo(tmp_path, (name,))
    patch = repo / "overlays" / name / \
        "deployment-cass-operator-cass-operator-controller-manager.yaml"
    text = patch.read_text()
    wanted = '"value": "registry.corp:5000/k8ssandra/cass-operator:v1.26.0"'
    assert wanted in text
    patch.write_text(text.replace(wanted, '"value": "quay.io/k8ssandra/cass-operator:v1.26.0"'))
    ctx, rendered = _rendered(repo, name)
    assert ctx.generated is not None
    assert rendered.uses is not ctx.generated.plan.verified.uses  # type: ignore[union-attr,attr-defined]
    images = {use[2] for use in _uses(rendered)}
    assert "quay.io/k8ssandra/cass-operator:v1.26.0" in images
    assert "registry.corp:5000/k8ssandra/cass-operator:v1.26.0" not in images
    # And the check reports the hand edit and the public image it brings.
    [overlay] = load_config(repo / "kpatch.yaml").select([name])
    rules = {f.rule for f in check_overlay(overlay).findings}
    assert {"in-sync", "registries"} <= rules
