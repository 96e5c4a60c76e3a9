"""`kpatch relocate`: overlays that render, move everything, and change nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.inventory import InventoryOptions
from kpatch.overlay import relocate_to_overlay
from kpatch.relocate import RelocateOptions
from kpatch.relocation import RelocationRules

from .conftest import FIXTURES, ROOT
from .structural import assert_only_relocation_changes, inventory_of, kustomize

TARGET = "registry.corp:5000"
RULES = RelocationRules.parse(TARGET)
BASES = sorted(p.parent.name for p in FIXTURES.glob("*/kustomization.yaml"))
STANDARD = ["--registry", TARGET, "--pull-secret", "regcred", "--pull-policy", "IfNotPresent"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def relocate(base: Path | str, output: Path, *extra: str) -> tuple[int, str, str]:
    return run("relocate", str(base), "--output", str(output), *STANDARD, *extra)


def check_overlay(base: Path, output: Path, params: dict[str, str] | None = None) -> None:
    """Render base and overlay with kubectl and compare them structurally (the
    base read with the parameters the overlay was made with)."""
    base_text, overlay_text = kustomize(base), kustomize(output)
    before, after = inventory_of(base_text, "base", params), inventory_of(overlay_text, "overlay")
    assert after.uses, "the overlay renders no images at all"
    old = {(u.resource, u.path): u for u in before.uses}
    for use in after.uses:
        assert use.reference is not None, use
        assert RULES.is_relocated(use.reference), f"{use.resource} {use.path}: {use.image}"
        source = old.get((use.resource, use.path))
        if source is not None and source.reference is not None:
            assert (use.reference.tag, use.reference.digest) == (
                source.reference.tag, source.reference.digest)
    # Implicit images became explicit, or come from a moved ImageConfig: same count.
    assert len(after.uses) == len(before.uses)
    assert assert_only_relocation_changes(base_text, overlay_text) > 0


@pytest.mark.parametrize("name", BASES)
def test_fixture_overlay_renders_and_moves_every_image(name: str, tmp_path: Path) -> None:
    code, out, err = relocate(FIXTURES / name, tmp_path / "overlay")
    assert code == 0, err
    assert "relocated" in out
    check_overlay(FIXTURES / name, tmp_path / "overlay")


def test_upstream_cass_operator_overlay(upstream: Path, tmp_path: Path) -> None:
    base = upstream / "cass-operator-v1.26.0/config/deployments/cluster"
    code, _, err = relocate(base, tmp_path / "overlay")
    assert code == 0, err
    check_overlay(base, tmp_path / "overlay")
    rendered = kustomize(tmp_path / "overlay")
    config = next(d for d in yaml.safe_load_all(rendered)
                  if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("manager-config"))
    text = config["data"]["image_config.yaml"]
    original = (upstream / "cass-operator-v1.26.0/config/manager/image_config.yaml").read_text()
    # Edited in place: every comment line survives, and the final newline.
    assert [ln for ln in text.splitlines() if ln.lstrip().startswith("#")] == [
        ln for ln in original.splitlines() if ln.lstrip().startswith("#")]
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert 'repository: "registry.corp:5000/k8ssandra/cass-management-api"' in text
    assert "restarts" in err and "re-created" in err


def test_overlays_folder_is_up_to_date() -> None:
    """overlays/ holds exactly what `make overlays` generates from the fixtures."""
    assert sorted(p.name for p in (ROOT / "overlays").iterdir() if p.is_dir()) == BASES
    options = RelocateOptions(RULES, pull_secrets=("regcred",), pull_policy="IfNotPresent")
    for name in BASES:
        output = f"overlays/{name}"
        command = (f"kpatch relocate fixtures/{name} --registry {TARGET} --output {output} "
                   "--pull-secret regcred --pull-policy IfNotPresent")
        result = relocate_to_overlay(f"fixtures/{name}", output, options, InventoryOptions(),
                                     command, dry_run=True)
        on_disk = {p.name: p.read_text(encoding="utf-8")
                   for p in (ROOT / output).iterdir() if p.is_file()}
        assert on_disk == result.overlay.files, f"{output} is stale: run `make overlays`"


def test_drifted_base_fails_to_build_with_the_test_message(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(FIXTURES / "workloads", base)
    assert relocate(base, tmp_path / "overlay")[0] == 0
    kustomize(tmp_path / "overlay")
    manifest = base / "workloads.yaml"
    original = manifest.read_text(encoding="utf-8")
    for old, new in [("- name: migrate", "- name: migrations"),          # container renamed
                     ("ghcr.io/acme/migrate:1.4.2", "ghcr.io/acme/migrate:1.5.0")]:  # image bumped
        manifest.write_text(original.replace(old, new), encoding="utf-8")
        done = subprocess.run(["kubectl", "kustomize", str(tmp_path / "overlay")],
                              capture_output=True, text=True, check=False)
        assert done.returncode != 0
        assert "test" in done.stderr and "/spec/template/spec/initContainers/0/" in done.stderr
        assert done.stdout == ""
    manifest.write_text(original, encoding="utf-8")
    kustomize(tmp_path / "overlay")


def test_rerun_is_byte_identical_and_says_up_to_date(tmp_path: Path) -> None:
    output = tmp_path / "overlay"
    relocate(FIXTURES / "redis-enterprise", output)
    first = {p.name: p.read_bytes() for p in output.iterdir()}
    code, out, _ = relocate(FIXTURES / "redis-enterprise", output)
    assert code == 0 and "up to date" in out
    assert {p.name: p.read_bytes() for p in output.iterdir()} == first
    shutil.rmtree(output)
    relocate(FIXTURES / "redis-enterprise", output)
    assert {p.name: p.read_bytes() for p in output.iterdir()} == first


def test_relocating_a_relocated_base_changes_nothing(tmp_path: Path) -> None:
    relocate(FIXTURES / "k8ssandra-cluster", tmp_path / "first")
    relocated = tmp_path / "relocated"
    relocated.mkdir()
    (relocated / "all.yaml").write_text(kustomize(tmp_path / "first"), encoding="utf-8")
    (relocated / "kustomization.yaml").write_text("resources: [all.yaml]\n", encoding="utf-8")
    code, out, err = relocate(relocated, tmp_path / "second")
    assert code == 0, err
    assert "0 image reference(s) relocated" in out
    kustomization = yaml.safe_load((tmp_path / "second" / "kustomization.yaml").read_text())
    assert "patches" not in kustomization
    assert sorted(p.name for p in (tmp_path / "second").iterdir()) == ["kustomization.yaml"]


def test_hand_edits_are_not_overwritten_without_force(tmp_path: Path) -> None:
    output = tmp_path / "overlay"
    relocate(FIXTURES / "olm", output)
    patch = output / "deployment-operators-widget-operator.yaml"
    edited = patch.read_text(encoding="utf-8") + "# my note\n"
    patch.write_text(edited, encoding="utf-8")
    code, _, err = relocate(FIXTURES / "olm", output)
    assert code == 2
    assert "deployment-operators-widget-operator.yaml (edited by hand)" in err
    assert "--force" in err
    assert patch.read_text(encoding="utf-8") == edited
    code, _, _ = relocate(FIXTURES / "olm", output, "--force")
    assert code == 0
    assert "# my note" not in patch.read_text(encoding="utf-8")


def test_a_foreign_file_in_the_way_is_not_overwritten(tmp_path: Path) -> None:
    output = tmp_path / "overlay"
    output.mkdir()
    (output / "kustomization.yaml").write_text("resources: [mine]\n", encoding="utf-8")
    code, _, err = relocate(FIXTURES / "olm", output)
    assert code == 2 and "kustomization.yaml (not generated by kpatch)" in err
    assert (output / "kustomization.yaml").read_text() == "resources: [mine]\n"
    assert sorted(p.name for p in output.iterdir()) == ["kustomization.yaml"]


def test_bad_input_leaves_the_output_untouched(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(FIXTURES / "bad" / "invalid-image.yaml", base / "bad.yaml")
    (base / "kustomization.yaml").write_text("resources: [bad.yaml]\n", encoding="utf-8")
    output = tmp_path / "overlay"
    code, out, err = relocate(base, output)
    assert code == 2 and out == ""
    assert "invalid image reference 'docker.io/Acme/App:1.0'" in err
    assert not output.exists()


def test_unrelocatable_images_stop_the_write_unless_allowed(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(FIXTURES / "redis-enterprise" / "clusters.yaml", base)
    (base / "kustomization.yaml").write_text("resources: [clusters.yaml]\n", encoding="utf-8")
    output = tmp_path / "overlay"
    # A release newer than kpatch's table: its RS release cannot be known.
    code, _, err = relocate(base, output, "--param", "redis-enterprise.operatorVersion=9.9.9-1")
    assert code == 3
    assert "1 image(s) cannot be relocated; nothing was written" in err
    assert "--param redis-enterprise.rsVersion" in err
    assert not output.exists()
    code, _, err = relocate(base, output, "--param", "redis-enterprise.operatorVersion=9.9.9-1",
                            "--param", "redis-enterprise.rsVersion=9.9.9-77")
    assert code == 0, err
    check_overlay(base, output, {"redis-enterprise.operatorVersion": "9.9.9-1",
                                 "redis-enterprise.rsVersion": "9.9.9-77"})


def test_vector_without_image_relocates_the_system_logger(upstream: Path, tmp_path: Path) -> None:
    """Reaper's Vector sidecar defaults to the ImageConfig's system-logger (v1.30+):
    relocation writes it into telemetry.vector.image, and says once which release
    it assumed."""
    base = upstream / "k8ssandra-operator-v1.32.5/test/testdata/fixtures/single-dc-reaper"
    plain = tmp_path / "base"
    shutil.copytree(base, plain)
    (plain / "kustomization.yaml").write_text("resources: [k8ssandra.yaml]\n", encoding="utf-8")
    code, _, err = relocate(plain, tmp_path / "overlay")
    assert code == 0, err
    assert err.count("assuming the newest release kpatch knows, v1.32.5") == 1
    assert "--param k8ssandra-operator.operatorVersion" in err
    rendered = inventory_of(kustomize(tmp_path / "overlay"), "overlay")
    assert {u.image for u in rendered.uses if u.reference} == {
        "registry.corp:5000/library/busybox:latest",
        "registry.corp:5000/k8ssandra/cass-management-api:4.1.8-ubi",
        "registry.corp:5000/thelastpickle/cassandra-reaper:5.0.0",
        "registry.corp:5000/k8ssandra/system-logger:v1.30.2",
        # cass-operator's config init container, as a datacenter initContainers entry.
        "registry.corp:5000/k8ssandra/k8ssandra-client:v0.8.8",
    }


def test_plain_manifests_need_a_base_kustomization(tmp_path: Path) -> None:
    base = tmp_path / "plain"
    base.mkdir()
    shutil.copy(FIXTURES / "olm" / "operator.yaml", base)
    output = tmp_path / "overlay"
    code, _, err = relocate(base, output)
    assert code == 2 and "--write-base-kustomization" in err
    assert not output.exists() and not (base / "kustomization.yaml").exists()
    code, out, _ = relocate(base, output, "--dry-run")
    assert code == 0 and "would write" in out and "- operator.yaml" in out
    assert not output.exists() and not (base / "kustomization.yaml").exists()
    code, out, _ = relocate(base, output, "--write-base-kustomization")
    assert code == 0 and "kustomization.yaml" in out
    check_overlay(base, output)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    code, out, _ = relocate(FIXTURES / "cass-operator-v1beta1", tmp_path / "o", "--dry-run")
    assert code == 0
    assert not (tmp_path / "o").exists()
    lines = out.splitlines()
    assert lines[0].split() == ["RESOURCE", "PATH", "IMAGE", "RELOCATED", "TO", "HOW"]
    assert any("/data/image_config.yaml#/images/system-logger" in ln
               and "registry.corp:5000/k8ssandra/system-logger:v1.26.0" in ln for ln in lines)
    assert "(dry run: nothing written)" in out


def test_mappings_prefix_and_flatten(tmp_path: Path) -> None:
    code, _, err = run(
        "relocate", str(FIXTURES / "cass-operator-v1beta1"), "--output", str(tmp_path / "m"),
        "--registry", "registry.corp:5000/mirror",
        "--map", "docker.io/k8ssandra/=registry.corp:5000/k8s/",
    )
    assert code == 0, err
    images = {u.image for u in inventory_of(kustomize(tmp_path / "m"), "m").uses}
    assert images == {
        "registry.corp:5000/k8s/system-logger:v1.26.0",
        "registry.corp:5000/mirror/datastax/cass-config-builder:1.0-ubi",
        "registry.corp:5000/k8s/k8ssandra-client:v0.8.1",
        "registry.corp:5000/k8s/cass-management-api:4.0.13-ubi",
        "registry.corp:5000/k8s/cass-operator:v1.26.0",
        "registry.corp:5000/k8s/cass-management-api:4.1.5-ubi",
    }
    code, _, err = run("relocate", str(FIXTURES / "workloads"), "--output", str(tmp_path / "f"),
                       "--registry", "registry.corp:5000/flat", "--flatten")
    assert code == 0, err
    flat = {u.image for u in inventory_of(kustomize(tmp_path / "f"), "f").uses}
    assert "registry.corp:5000/flat/nginx-prometheus-exporter:1.1.0" in flat
    assert "registry.corp:5000/flat/busybox" in flat


def test_pull_secrets_land_everywhere_without_duplicates(tmp_path: Path) -> None:
    code, _, err = run("relocate", str(FIXTURES / "cass-operator-v1beta2"), "--output",
                       str(tmp_path / "o"), "--registry", TARGET, "--pull-secret", "regcred",
                       "--pull-secret", "backup", "--service-accounts")
    assert code == 0, err
    docs = {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all(kustomize(tmp_path / "o"))}
    deployment = docs[("Deployment", "cass-operator-controller-manager")]
    assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "regcred"}, {"name": "backup"}]
    assert docs[("ServiceAccount", "cass-operator-controller-manager")]["imagePullSecrets"] == [
        {"name": "regcred"}, {"name": "backup"}]
    config = yaml.safe_load(docs[("ConfigMap", "cass-operator-image-config")]["data"][
        "image_config.yaml"])
    assert config["defaults"]["pullSecrets"] == ["regcred", "backup"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {"kpatch.dev/image-config-hash"}


def test_relocate_runs_as_a_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kpatch", "relocate", "fixtures/olm", "--output",
         str(tmp_path / "o"), "--registry", TARGET], capture_output=True, text=True,
        check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "kustomization.yaml").is_file()


def test_the_structural_check_catches_other_changes(tmp_path: Path) -> None:
    relocate(FIXTURES / "olm", tmp_path / "overlay")
    base_text, overlay_text = kustomize(FIXTURES / "olm"), kustomize(tmp_path / "overlay")
    assert assert_only_relocation_changes(base_text, overlay_text) > 0
    for old, new in [("replicas: 1", "replicas: 2"), ("value: debug", "value: info"),
                     ("name: manager", "name: boss")]:
        assert old in overlay_text
        with pytest.raises(AssertionError, match="not an image setting"):
            assert_only_relocation_changes(base_text, overlay_text.replace(old, new))


def test_the_structural_check_looks_inside_embedded_documents(tmp_path: Path) -> None:
    relocate(FIXTURES / "cass-operator-v1beta1", tmp_path / "overlay")
    base_text = kustomize(FIXTURES / "cass-operator-v1beta1")
    overlay_text = kustomize(tmp_path / "overlay")
    assert assert_only_relocation_changes(base_text, overlay_text) > 0
    tampered = overlay_text.replace("suffix: \"-ubi8\"", "suffix: \"-ubi9\"")
    assert tampered != overlay_text
    with pytest.raises(AssertionError, match="inside the embedded document"):
        assert_only_relocation_changes(base_text, tampered)


PREFIXED = [
    ("prefix", ["--registry", "private.io/mirror"]),
    ("mapping", ["--registry", "registry.corp:5000",
                 "--map", "docker.io/k8ssandra=registry.corp:5000/cass/k8ssandra",
                 "--map", "docker.io/datastax=registry.corp:5000/ds"]),
    ("flatten", ["--registry", "registry.corp:5000/flat", "--flatten"]),
]


@pytest.mark.parametrize("name", BASES)
@pytest.mark.parametrize(("rule_name", "args"), PREFIXED, ids=[p[0] for p in PREFIXED])
def test_every_image_lands_exactly_where_the_rules_send_it(
        name: str, rule_name: str, args: list[str], tmp_path: Path) -> None:
    """A prefix or a mapping moves derived images too (ImageConfig types, defaults,
    CR blocks): each rendered image is exactly rules.relocate(source), not merely
    somewhere under the target host."""
    registry = args[args.index("--registry") + 1]
    maps = [args[i + 1] for i, a in enumerate(args) if a == "--map"]
    rules = RelocationRules.parse(registry, maps, flatten="--flatten" in args)
    code, _, err = run("relocate", str(FIXTURES / name), "--output", str(tmp_path / "o"),
                       *args)
    assert code == 0, err
    before = inventory_of(kustomize(FIXTURES / name), "base")
    after = inventory_of(kustomize(tmp_path / "o"), "overlay")
    sources = {(u.resource, u.path): u.reference for u in before.uses}
    assert len(after.uses) == len(before.uses)
    for use in after.uses:
        source = sources[(use.resource, use.path)]
        assert source is not None and use.reference is not None, use
        assert use.reference == rules.relocate(source) or (
            use.reference.normalized == rules.relocate(source).normalized), (
            f"{use.resource} {use.path}: {source} -> {use.image}, "
            f"planned {rules.relocate(source)}")


V1_15_INSTALL = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cass-operator, namespace: cass-operator}
spec:
  template:
    spec:
      containers:
      - name: manager
        image: k8ssandra/cass-operator:v1.15.0
        args: [--config=/configs/controller_manager_config.yaml]
        volumeMounts: [{name: manager-config, mountPath: /configs}]
      volumes:
      - name: manager-config
        configMap: {name: manager-config}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: manager-config, namespace: cass-operator}
data:
  controller_manager_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: OperatorConfig
    imageConfigFile: /configs/image_config.yaml
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: ImageConfig
    images:
      system-logger: k8ssandra/system-logger:v1.15.0
      config-builder: datastax/cass-config-builder:1.0.4-ubi7
---
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {name: dc1, namespace: cass-operator}
spec: {clusterName: c, serverType: dse, serverVersion: "6.8.20", size: 1}
"""


def test_imageconfig_edit_uses_the_builtin_repository_of_the_release(tmp_path: Path) -> None:
    """cass-operator v1.15's built-in DSE repository is datastax/dse-server (later
    releases: dse-mgmtapi-6_8). The v1beta1 edit that writes a repository for a
    type left to the built-in must write that release's, so the image stays the same."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "all.yaml").write_text(V1_15_INSTALL, encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [all.yaml]\n", encoding="utf-8")
    code, _, err = run("relocate", str(base), "--output", str(tmp_path / "o"),
                       "--registry", TARGET)
    assert code == 0, err
    after = inventory_of(kustomize(tmp_path / "o"), "overlay")
    assert "registry.corp:5000/datastax/dse-server:6.8.20" in {u.image for u in after.uses}


def test_pin_digests_reach_blocks_with_a_digest_key_and_warn_for_the_rest() -> None:
    """--pin-digests: a Redis image spec carries the pin in digestHash; a
    K8ssandraCluster block has no digest key, so it stays pinned by tag, said."""
    from kpatch.inventory import find_images
    from kpatch.relocate import plan_relocation

    digest = "sha256:" + "ab" * 32
    redis = find_images([str(FIXTURES / "redis-enterprise")])
    pins = {u.reference.normalized: digest for u in redis.uses
            if u.reference is not None and u.path == "/spec/redisEnterpriseImageSpec"}
    assert pins
    plan = plan_relocation(redis, RelocateOptions(RULES, pins=pins))
    ops = [op for patch in plan.patches for op in patch.ops]
    assert {"op": "add", "path": "/spec/redisEnterpriseImageSpec/digestHash",
            "value": digest} in ops
    assert not any("not pinned" in w for w in plan.warnings)

    cluster = find_images([str(FIXTURES / "k8ssandra-cluster")])
    pins = {u.reference.normalized: digest for u in cluster.uses
            if u.reference is not None and u.shape == "block"}
    assert pins
    plan = plan_relocation(cluster, RelocateOptions(RULES, pins=pins))
    assert any("not pinned" in w and "no digest key" in w for w in plan.warnings)
