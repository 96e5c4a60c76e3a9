"""Relocation's named list entry: an image no field holds, written as the entry of
a containers list an operator merges by name (cass-operator's server-system-logger
and server-config-init, k8ssandra-client). The operations are checked in process and
with the real kubectl kustomize: they create the list, append to it or fill an entry,
and fail the build rather than clobber what a drifted base holds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.inventory import InventoryOptions, find_images
from kpatch.kustomize.json6902 import apply_operations
from kpatch.model import NamedEntry, entry_image_tokens, lookup
from kpatch.reference import parse_reference
from kpatch.relocate import named_entry_ops
from kpatch.relocation import RelocationRules

from .structural import kustomize

IMAGE = "registry.corp:5000/k8ssandra/k8ssandra-client:v0.8.12"
RULES = RelocationRules.parse("registry.corp:5000/mirror")
INIT = ("spec", "podTemplateSpec", "spec", "initContainers")
CLIENT = NamedEntry(INIT, "server-config-init", fields=(("args", ["config", "build"]),))
LOGGER = NamedEntry(("spec", "containers"), "server-system-logger", before=("cassandra",))


def datacenter(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "cassandra.datastax.com/v1beta1", "kind": "CassandraDatacenter",
            "metadata": {"name": "dc1"}, "spec": {"serverType": "cassandra", **spec}}


# (name, spec, entry, the list after the operations)
CASES = [
    ("parents-absent", {}, CLIENT,
     [{"name": "server-config-init", "image": IMAGE, "args": ["config", "build"]}]),
    ("list-absent", {"podTemplateSpec": {"spec": {"containers": [{"name": "a"}]}}}, CLIENT,
     [{"name": "server-config-init", "image": IMAGE, "args": ["config", "build"]}]),
    ("list-null", {"podTemplateSpec": {"spec": {"initContainers": None}}}, CLIENT,
     [{"name": "server-config-init", "image": IMAGE, "args": ["config", "build"]}]),
    ("append-after-users-entries",
     {"podTemplateSpec": {"spec": {"initContainers": [{"name": "mine", "image": "x:1"}]}}},
     CLIENT,
     [{"name": "mine", "image": "x:1"},
      {"name": "server-config-init", "image": IMAGE, "args": ["config", "build"]}]),
    ("fill-an-entry-without-image",
     {"podTemplateSpec": {"spec": {"initContainers": [
         {"name": "server-config-init", "resources": {"limits": {"cpu": "1"}}},
         {"name": "later", "image": "y:1"}]}}},
     CLIENT,
     [{"name": "server-config-init", "resources": {"limits": {"cpu": "1"}}, "image": IMAGE,
       "args": ["config", "build"]},
      {"name": "later", "image": "y:1"}]),
    # args the operator would overwrite when it picks the image: replaced under a test.
    ("empty-image-and-other-args",
     {"podTemplateSpec": {"spec": {"initContainers": [
         {"name": "server-config-init", "image": "", "args": ["x"]}]}}},
     CLIENT,
     [{"name": "server-config-init", "image": IMAGE, "args": ["config", "build"]}]),
    ("before-entries-keep-the-order", {"containers": [{"name": "sidecar", "image": "s:1"}]},
     LOGGER,
     [{"name": "sidecar", "image": "s:1"}, {"name": "cassandra"},
      {"name": "server-system-logger", "image": IMAGE}]),
    ("before-entry-already-there", {"containers": [{"name": "cassandra"}]}, LOGGER,
     [{"name": "cassandra"}, {"name": "server-system-logger", "image": IMAGE}]),
]


@pytest.mark.parametrize(("spec", "entry", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_operations_set_the_entry_and_keep_the_rest(spec: dict[str, Any], entry: NamedEntry,
                                                    expected: list[Any],
                                                    tmp_path: Path) -> None:
    base = datacenter(spec)
    ops = named_entry_ops(base, entry, IMAGE, dict(entry.fields))
    result = apply_operations(base, ops)
    assert lookup(result, entry.list_tokens) == expected
    # The image is where the rule reports it, before the operations run.
    assert lookup(result, entry_image_tokens(base, entry)) == IMAGE
    # Only the list changed.
    rest = {k: v for k, v in result["spec"].items() if k not in ("podTemplateSpec", "containers")}
    assert rest == {k: v for k, v in base["spec"].items()
                    if k not in ("podTemplateSpec", "containers")}
    # kubectl kustomize applies the same operations to the same result.
    assert _kubectl_patch(tmp_path, base, ops) == result


def _overlay(tmp_path: Path, base: dict[str, Any], ops: list[Any]) -> Path:
    (tmp_path / "base").mkdir(exist_ok=True)
    (tmp_path / "base" / "dc.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [dc.yaml]\n",
                                                          encoding="utf-8")
    overlay = tmp_path / "overlay"
    overlay.mkdir(exist_ok=True)
    (overlay / "patch.json").write_text(json.dumps(ops), encoding="utf-8")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": ["../base"],
        "patches": [{"path": "patch.json", "target": {"kind": "CassandraDatacenter",
                                                      "name": "dc1"}}]}), encoding="utf-8")
    return overlay


def _kubectl_patch(tmp_path: Path, base: dict[str, Any], ops: list[Any]) -> Any:
    return yaml.safe_load(kustomize(_overlay(tmp_path, base, ops)))


DRIFT = [
    # The list appeared in the base since: the null test fails, nothing is replaced.
    ("list-appeared", {}, {"podTemplateSpec": {"spec": {"initContainers": [
        {"name": "mine", "image": "x:1"}]}}}),
    # The user's last entry changed: the name test fails.
    ("last-entry-renamed", {"podTemplateSpec": {"spec": {"initContainers": [
        {"name": "mine", "image": "x:1"}]}}},
     {"podTemplateSpec": {"spec": {"initContainers": [{"name": "yours", "image": "x:1"}]}}}),
    # The entry got an image of its own: the null test of its image fails.
    ("entry-got-an-image", {"podTemplateSpec": {"spec": {"initContainers": [
        {"name": "server-config-init"}]}}},
     {"podTemplateSpec": {"spec": {"initContainers": [
         {"name": "server-config-init", "image": "mine:1"}]}}}),
]


@pytest.mark.parametrize(("planned", "drifted"), [c[1:] for c in DRIFT],
                         ids=[c[0] for c in DRIFT])
def test_a_drifted_base_fails_the_build(planned: dict[str, Any], drifted: dict[str, Any],
                                        tmp_path: Path) -> None:
    ops = named_entry_ops(datacenter(planned), CLIENT, IMAGE, dict(CLIENT.fields))
    overlay = _overlay(tmp_path, datacenter(drifted), ops)
    done = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0 and "test" in done.stderr, done.stderr
    assert done.stdout == ""


# --- end to end: relocate, build with kubectl, inventory the result ---------------------

BARE_DATACENTER = """\
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {name: dc1, namespace: db}
spec:
  clusterName: c1
  serverType: cassandra
  serverVersion: "4.1.5"
  size: 3
"""

CLUSTER_WITH_USER_ENTRIES = """\
apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata: {name: demo, namespace: k8ssandra-operator}
spec:
  cassandra:
    serverVersion: 4.0.17
    initContainers: [{name: server-config-init, resources: {limits: {cpu: "1"}}}]
    datacenters:
      - metadata: {name: dc1}
        size: 3
        containers: [{name: sidecar, image: mirror.corp/sidecar:1}]
      - metadata: {name: dc2}
        size: 3
        serverVersion: 4.1.8
"""


def _relocate(tmp_path: Path, text: str, *params: str) -> tuple[Path, Path]:
    base = tmp_path / "base"
    base.mkdir()
    (base / "input.yaml").write_text(text, encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [input.yaml]\n", encoding="utf-8")
    overlay = tmp_path / "overlay"
    args = ["relocate", str(base), "--registry", "registry.corp:5000/mirror", "--output",
            str(overlay), "--pull-secret", "regcred"]
    for param in params:
        args += ["--param", param]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    assert "not relocated" not in result.stderr
    return base, overlay


def _inventory(tmp_path: Path, text: str, params: dict[str, str]) -> dict[str, str | None]:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(text, encoding="utf-8")
    inventory = find_images([str(rendered)], InventoryOptions(params=params))
    return {use.path: use.image for use in inventory.uses if use.pulled}


def test_bare_datacenter_gets_its_client_init_container(tmp_path: Path) -> None:
    params = {"cass-operator.operatorVersion": "v1.32.0"}
    base, overlay = _relocate(tmp_path, BARE_DATACENTER, "cass-operator.operatorVersion=v1.32.0")
    before = _inventory(tmp_path, kustomize(base), params)
    assert before["/spec/podTemplateSpec/spec/initContainers/0/image"] == \
        "docker.io/k8ssandra/k8ssandra-client:v0.8.12"
    built = kustomize(overlay)
    dc = yaml.safe_load(built)
    assert dc["spec"]["podTemplateSpec"]["spec"] == {
        "imagePullSecrets": [{"name": "regcred"}],
        "initContainers": [{"name": "server-config-init", "args": ["config", "build"],
                            "image": "registry.corp:5000/mirror/k8ssandra/k8ssandra-client:"
                                     "v0.8.12"}]}
    after = _inventory(tmp_path, built, params)
    # Every image at its exact planned destination, at the same place.
    assert after == {path: str(RULES.relocate(parse_reference(image)))
                     for path, image in before.items() if image}


def test_cluster_entries_merge_with_the_users(tmp_path: Path) -> None:
    params = {"k8ssandra-operator.operatorVersion": "v1.32.5"}
    base, overlay = _relocate(tmp_path, CLUSTER_WITH_USER_ENTRIES,
                              "k8ssandra-operator.operatorVersion=v1.32.5")
    before = _inventory(tmp_path, kustomize(base), params)
    dc1, dc2 = "/spec/cassandra/datacenters/0", "/spec/cassandra/datacenters/1"
    assert before == {
        f"{dc1}/serverImage": "docker.io/k8ssandra/cass-management-api:4.0.17-ubi",
        f"{dc1}/containers/0/image": "mirror.corp/sidecar:1",
        f"{dc1}/containers/2/image": "docker.io/k8ssandra/system-logger:v1.30.2",
        f"{dc1}/initContainers/0/image": "docker.io/datastax/cass-config-builder:1.0-ubi",
        f"{dc2}/serverImage": "docker.io/k8ssandra/cass-management-api:4.1.8-ubi",
        f"{dc2}/containers/1/image": "docker.io/k8ssandra/system-logger:v1.30.2",
        f"{dc2}/initContainers/0/image": "docker.io/k8ssandra/k8ssandra-client:v0.8.8",
    }
    built = kustomize(overlay)
    cluster = yaml.safe_load(built)["spec"]["cassandra"]
    # The user's entries are all still there, unchanged, before the added ones.
    assert cluster["initContainers"] == [{"name": "server-config-init",
                                          "resources": {"limits": {"cpu": "1"}}}]
    first, second = cluster["datacenters"]
    mirror = "registry.corp:5000/mirror"
    assert first["containers"] == [
        {"name": "sidecar", "image": f"{mirror}/sidecar:1"}, {"name": "cassandra"},
        {"name": "server-system-logger", "image": f"{mirror}/k8ssandra/system-logger:v1.30.2"}]
    assert first["initContainers"] == [
        {"name": "server-config-init", "image": f"{mirror}/datastax/cass-config-builder:1.0-ubi"}]
    assert second["initContainers"] == [
        {"name": "server-config-init", "image": f"{mirror}/k8ssandra/k8ssandra-client:v0.8.8",
         "args": ["config", "build"]}]
    after = _inventory(tmp_path, built, params)
    assert after == {path: str(RULES.relocate(parse_reference(image)))
                     for path, image in before.items() if image}


def test_diff_shows_the_added_entries(tmp_path: Path) -> None:
    base, overlay = _relocate(tmp_path, BARE_DATACENTER, "cass-operator.operatorVersion=v1.32.0")
    result = CliRunner().invoke(main, ["diff", str(base), str(overlay)])
    assert result.exit_code == 1, result.stderr
    assert "/spec/podTemplateSpec\n" in result.stdout
    assert ("/spec/podTemplateSpec/spec/initContainers/0/image (derived)\n"
            "      docker.io/k8ssandra/k8ssandra-client:v0.8.12 -> "
            "registry.corp:5000/mirror/k8ssandra/k8ssandra-client:v0.8.12") in result.stdout
