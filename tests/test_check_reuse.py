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


# --- overlays sharing a base: the base is read once per worker ----------------------------


def test_shared_inputs_reads_a_base_once_while_its_files_are_unchanged(tmp_path: Path) -> None:
    import os
    import shutil

    from kpatch.check.cache import input_stamp
    from kpatch.inventory import load_inputs, shared_inputs
    from kpatch.yamlio import LoadLimits

    from .conftest import FIXTURES

    base = tmp_path / "workloads"
    shutil.copytree(FIXTURES / "workloads", base)
    limits = LoadLimits()
    with shared_inputs(input_stamp):
        first = load_inputs([str(base)], limits)
        again = load_inputs([str(base)], limits)
        assert [d.data for d in again.documents] == [d.data for d in first.documents]
        assert all(a is b for a, b in zip(again.documents, first.documents, strict=True))
        # An edited file of the base: read anew (a new size, and a new mtime).
        manifest = next(p for p in sorted(base.glob("*.yaml")) if p.name != "kustomization.yaml")
        manifest.write_text(manifest.read_text() + "# edited\n")
        stat = manifest.stat()
        os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        edited = load_inputs([str(base)], limits)
        assert not any(a is b for a, b in zip(edited.documents, first.documents, strict=True))
    # Outside the block nothing is shared.
    assert load_inputs([str(base)], limits).documents[0] is not \
        load_inputs([str(base)], limits).documents[0]


def test_overlays_of_one_base_are_checked_each_with_its_own_settings(tmp_path: Path) -> None:
    import shutil

    from kpatch.check.runner import check_overlays

    from .conftest import FIXTURES
    from .gitops import kpatch

    shutil.copytree(FIXTURES / "redis-enterprise", tmp_path / "bases/redis")
    (tmp_path / "kpatch.yaml").write_text(
        "version: 1\npullSecrets: [regcred]\noverlays:\n"
        "  - {name: dev, base: bases/redis, output: overlays/dev, registry: dev.corp:5000}\n"
        "  - {name: prod, base: bases/redis, output: overlays/prod, registry: prod.corp:5000}\n"
        "  - {name: lab, base: bases/redis, output: overlays/lab, registry: lab.corp:5000}\n")
    code, _, err = kpatch("sync", "--config", str(tmp_path / "kpatch.yaml"))
    assert code == 0, err
    config = load_config(tmp_path / "kpatch.yaml")
    assert [r.findings for r in check_overlays(config.overlays, jobs=1)] == [[], [], []]
    # prod's overlay pulls from dev's registry by hand: only prod is flagged.
    patch = tmp_path / "overlays/prod/deployment-redis-enterprise-operator.yaml"
    patch.write_text(patch.read_text().replace("prod.corp:5000/", "dev.corp:5000/"))
    for jobs in (1, 2):
        reports = check_overlays(config.overlays, jobs=jobs)
        assert [r.name for r in reports] == ["dev", "prod", "lab"]
        assert reports[0].findings == [] and reports[2].findings == []
        rules = {f.rule for f in reports[1].findings}
        assert {"in-sync", "registries"} <= rules, reports[1].findings
