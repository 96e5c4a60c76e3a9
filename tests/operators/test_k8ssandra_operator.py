"""k8ssandra-operator: conformance cases, the release table, and the operator's own
end-to-end manifests (../shared/upstream)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.inventory import Inventory, InventoryOptions, find_images
from kpatch.operators.k8ssandra_operator import regenerate
from kpatch.operators.k8ssandra_operator.releases import table
from kpatch.relocate import RelocateOptions, plan_relocation
from kpatch.relocation import RelocationRules

FOLDER = Path("kpatch/operators/k8ssandra_operator")
KINDS = ("K8ssandraCluster", "Reaper", "Stargate")
PARAM = "k8ssandra-operator.operatorVersion"
CASES = yaml.safe_load((FOLDER / "conformance.yaml").read_text(encoding="utf-8"))["cases"]
TESTDATA = "k8ssandra-operator-v1.32.5/test/testdata"

Use = tuple[Any, ...]


def uses_of(inventory: Inventory) -> set[Use]:
    """(image, pointer) of each pulled use of the operator's resources, plus False
    for references the operator does not pull."""
    out: set[Use] = set()
    for use in inventory.uses:
        if use.resource.kind in KINDS:
            out.add((use.image, use.path) if use.pulled else (use.image, use.path, False))
    return out


def inventory_for(tmp_path: Path, text: str, params: dict[str, str]) -> Inventory:
    source = tmp_path / "input.yaml"
    source.write_text(text, encoding="utf-8")
    return find_images([str(source)], InventoryOptions(params=params))


# --- conformance: one case per rule -------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_conformance(case: dict[str, Any], tmp_path: Path) -> None:
    assert case["cite"], "every case names the upstream code it follows"
    params = {PARAM: case["release"]} if case.get("release") else {}
    inventory = inventory_for(tmp_path, case["input"], params)
    expected = {tuple(item) for item in case["expect"]}
    assert uses_of(inventory) == expected
    by_path = {use.path: use for use in inventory.uses}
    for path, text in (case.get("reasons") or {}).items():
        reason = by_path[path].reason
        assert reason is not None and text in reason, reason
    if "warnings" in case:
        assert inventory.warnings == case["warnings"]


def test_every_rule_has_one_case() -> None:
    names = [c["rule"] for c in CASES]
    assert len(names) == len(set(names))


# --- the release table -----------------------------------------------------------------


def operator_manifest(release: str) -> str:
    """The operator Deployment of a release, as its install writes it (hand-written)."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k8ssandra-operator
  namespace: k8ssandra-operator
spec:
  selector:
    matchLabels: {{control-plane: k8ssandra-operator}}
  template:
    metadata:
      labels: {{control-plane: k8ssandra-operator}}
    spec:
      containers:
        - name: k8ssandra-operator
          image: k8ssandra/k8ssandra-operator:{release}
"""


# A minimal cluster with every component: serverImage is written so that the set
# below is k8ssandra-operator's own decisions (the server image is cass-operator's).
MINIMAL_CLUSTER = """\
apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata: {name: demo, namespace: k8ssandra-operator}
spec:
  cassandra:
    serverVersion: 4.0.17
    serverImage: example.io/cass-management-api:4.0.17
    datacenters: [{metadata: {name: dc1}, size: 3}]
  stargate: {size: 1, telemetry: {vector: {enabled: true}}}
  reaper: {}
  medusa: {storageProperties: {storageProvider: s3}}
"""

SERVER = ("example.io/cass-management-api:4.0.17", "/spec/cassandra/serverImage")
STARGATE = "/spec/stargate/containerImage"
STARGATE_VECTOR = "/spec/stargate/telemetry/vector/image"
REAPER, MEDUSA = "/spec/reaper/containerImage", "/spec/medusa/containerImage"
DC1 = "/spec/cassandra/datacenters/0"
# cass-operator's own containers in the Cassandra pods (no CR field holds them): at
# the datacenter's list entry relocation adds (the logger after a bare cassandra).
LOGGER, CONFIG_INIT = f"{DC1}/containers/1/image", f"{DC1}/initContainers/0/image"

RELEASES = {
    # oldest: JMX init container (auth on), Reaper's own init image, no Vector yet.
    "v1.0.0": {
        SERVER,
        ("docker.io/stargateio/stargate-4_0:v1.0.45", STARGATE),
        ("docker.io/thelastpickle/cassandra-reaper:3.1.1", REAPER),
        ("docker.io/thelastpickle/cassandra-reaper:3.1.1", "/spec/reaper/initContainerImage"),
        ("docker.io/k8ssandra/medusa:0.11.3", MEDUSA),
        ("docker.io/library/busybox:1.34.1", f"{DC1}/jmxInitContainerImage"),
        # cass-operator v1.10.0's shipped ImageConfig (config/manager/image_config.yaml);
        # no containers field before v1.2.0: reported at the datacenter, not relocatable.
        ("k8ssandra/system-logger:v1.10.0", f"{DC1}/containers"),
        ("datastax/cass-config-builder:1.0.4-ubi7", f"{DC1}/initContainers"),
    },
    # a middle one: Vector from the code, the Medusa purge CronJob.
    "v1.20.0": {
        SERVER,
        ("docker.io/stargateio/stargate-4_0:v1.0.77", STARGATE),
        ("timberio/vector:0.26.0-alpine", STARGATE_VECTOR),
        ("docker.io/thelastpickle/cassandra-reaper:3.6.1", REAPER),
        ("docker.io/k8ssandra/medusa:0.22.2", MEDUSA),
        ("bitnami/kubectl:1.29.3", "/spec/medusa"),
        # cass-operator v1.22.1's shipped ImageConfig; Cassandra 4.0: config-builder.
        ("cr.k8ssandra.io/k8ssandra/system-logger:v1.22.1", LOGGER),
        ("cr.dtsx.io/datastax/cass-config-builder:1.0-ubi8", CONFIG_INIT),
    },
    # the first with an ImageConfig: Reaper and Medusa from it.
    "v1.27.0": {
        SERVER,
        ("docker.io/stargateio/stargate-4_0:v1.0.77", STARGATE),
        ("timberio/vector:0.26.0-alpine", STARGATE_VECTOR),
        ("docker.io/thelastpickle/cassandra-reaper:4.0.0-rc1", REAPER),
        ("docker.io/k8ssandra/medusa:0.25.0", MEDUSA),
        ("docker.io/k8ssandra/system-logger:v1.27.1", LOGGER),
        ("docker.io/datastax/cass-config-builder:1.0-ubi", CONFIG_INIT),
    },
    # the newest: Vector sidecars run the ImageConfig's system-logger.
    "v1.32.5": {
        SERVER,
        ("docker.io/stargateio/stargate-4_0:v1.0.77", STARGATE),
        ("docker.io/k8ssandra/system-logger:v1.30.2", STARGATE_VECTOR),
        ("docker.io/thelastpickle/cassandra-reaper:5.0.0", REAPER),
        ("docker.io/k8ssandra/medusa:0.29.1", MEDUSA),
        ("docker.io/k8ssandra/system-logger:v1.30.2", LOGGER),
        ("docker.io/datastax/cass-config-builder:1.0-ubi", CONFIG_INIT),
    },
}


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_release_table(release: str, tmp_path: Path) -> None:
    text = operator_manifest(release) + "---\n" + MINIMAL_CLUSTER
    inventory = inventory_for(tmp_path, text, {})
    assert uses_of(inventory) == RELEASES[release]
    assert inventory.warnings == []


def test_table_covers_every_release_with_provenance() -> None:
    rows = table()
    assert next(iter(rows)) == "v1.0.0" and "v1.32.5" in rows
    assert len(rows) == 66  # every vX.Y.Z tag from v1.0.0 to v1.32.5
    for version, row in rows.items():
        assert len(row["commit"]) == 40, version
        for key in ("reaper", "medusa", "stargate", "cassOperator"):
            assert row[key]["file"] and row[key]["line"], (version, key)


def test_release_in_input_wins_and_param_disagreeing_is_said(tmp_path: Path) -> None:
    text = operator_manifest("v1.27.0") + "---\n" + MINIMAL_CLUSTER
    inventory = inventory_for(tmp_path, text, {PARAM: "v1.32.5"})
    assert ("docker.io/thelastpickle/cassandra-reaper:5.0.0", REAPER) in uses_of(inventory)
    (warning,) = inventory.warnings
    assert "--param k8ssandra-operator.operatorVersion=v1.32.5 contradicts" in warning
    assert "k8ssandra/k8ssandra-operator:v1.27.0" in warning


def test_release_newer_than_the_table_is_said(tmp_path: Path) -> None:
    inventory = inventory_for(tmp_path, MINIMAL_CLUSTER, {PARAM: "v9.0.0"})
    (warning,) = inventory.warnings
    assert "v9.0.0" in warning and "not in kpatch's table" in warning and "v1.32.5" in warning


# --- regenerate.py, on a hand-made repository ---------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "HOME": str(repo),
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
                        "PATH": "/usr/bin:/bin"})


def _write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


REAPER_GO = """package reaper

const (
\tDefaultImageRepository = "thelastpickle"
\tDefaultImageName       = "cassandra-reaper"
\tDefaultVersion         = "{version}"
)

var defaultImage = images.Image{{
\tRepository: DefaultImageRepository,
\tName:       DefaultImageName,
\tTag:        DefaultVersion,
}}
"""


def test_regenerate_reads_each_release_tag(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, {"pkg/reaper/deployment.go": REAPER_GO.format(version="3.1.1")})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "tag", "v1.0.0")
    _git(repo, "tag", "v1.0.0-alpha.1")  # a pre-release: not a row
    _write(repo, {
        "pkg/reaper/deployment.go": REAPER_GO.format(version="3.2.0"),
        "config/cass-operator/imageconfig/patch-image-config.yaml": (
            "data:\n  image_config.yaml: |\n    apiVersion: config.k8ssandra.io/v1beta2\n"
            "    images:\n      reaper: {repository: thelastpickle, name: cassandra-reaper, "
            "tag: 4.0.0}\n"),
    })
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "two")
    _git(repo, "tag", "v1.2.0")
    output = tmp_path / "releases.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "kpatch.operators.k8ssandra_operator.regenerate", str(repo),
         "--output", str(output)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = yaml.safe_load(output.read_text(encoding="utf-8"))["releases"]
    assert [r["release"] for r in rows] == ["v1.0.0", "v1.2.0"]
    assert rows[0]["reaper"] == {"from": "code", "image": {
        "repository": "thelastpickle", "name": "cassandra-reaper", "tag": "3.1.1"},
        "file": "pkg/reaper/deployment.go", "line": 6}
    assert rows[0]["imageConfig"] is None
    assert rows[1]["imageConfig"]["document"]["images"]["reaper"]["tag"] == "4.0.0"
    assert rows[1]["reaper"]["image"]["tag"] == "3.2.0"


def test_regenerate_refuses_a_clone_without_releases(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert regenerate.main([str(repo), "--output", str(tmp_path / "out.yaml")]) == 2
    assert not (tmp_path / "out.yaml").exists()


# --- the operator's own end-to-end manifests -----------------------------------------------


def _manifests(upstream: Path) -> list[Path]:
    root = upstream / TESTDATA
    found = []
    for path in sorted(root.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if any(f"kind: {kind}\n" in text for kind in (*KINDS, "CassandraDatacenter")):
            found.append(path)
    return found


def test_upstream_manifests_are_all_found(upstream: Path) -> None:
    clusters = [p for p in _manifests(upstream)
                if "kind: K8ssandraCluster\n" in p.read_text(encoding="utf-8")]
    assert len(clusters) >= 50


# The cass-operator release k8ssandra-operator v1.32.5 installs (its config/cass-operator
# remote base), for the standalone CassandraDatacenters.
RELEASES_GIVEN = {PARAM: "v1.32.5", "cass-operator.operatorVersion": "v1.30.2"}


# cass-operator's containers in every Cassandra pod: the sidecar (server-system-logger,
# which runs Vector when telemetry turns it on) and the init container
# server-config-init (config-builder or k8ssandra-client), each reported for every
# datacenter, whether derived, written in the CR or taken from an ImageConfig.
POD_COMPONENTS = ({"system-logger", "vector", "containers:server-system-logger"},
                  {"config-builder", "k8ssandra-client", "initContainers:server-config-init"})


def _datacenters(inventory: Inventory) -> set[str]:
    out = set()
    for doc, rid in inventory.resources:
        if rid.kind == "K8ssandraCluster":
            for dc in (doc.data.get("spec") or {}).get("cassandra", {}).get("datacenters", []):
                out.add(dc["metadata"]["name"])
        elif rid.kind == "CassandraDatacenter":
            out.add(str(rid.name))
    return out


def test_upstream_manifests_relocate_with_nothing_unknown(upstream: Path) -> None:
    """Every K8ssandraCluster, Reaper, Stargate and CassandraDatacenter manifest of the
    operator's end-to-end tests, with the releases given: every image known, each
    datacenter's pods with cass-operator's logger and config init images, and
    everything relocated under the prefix (the planner's own exact-destination check
    runs too)."""
    rules = RelocationRules.parse("registry.corp:5000/mirror")
    checked = 0
    for path in _manifests(upstream):
        inventory = find_images([str(path)], InventoryOptions(params=RELEASES_GIVEN))
        unknown = [(u.path, u.reason) for u in inventory.uses if u.image is None]
        assert not unknown, (path, unknown)
        assert inventory.warnings == [], path
        pulled = {(e.get("datacenter"), e.get("component"))
                  for u in inventory.uses if u.pulled for e in u.effective_for}
        for datacenter in _datacenters(inventory):
            for components in POD_COMPONENTS:
                assert any((datacenter, c) in pulled for c in components), (
                    path, datacenter, components)
            checked += 1
        plan = plan_relocation(inventory, RelocateOptions(rules))
        assert plan.unrelocated == [], (path, plan.unrelocated)
        assert plan.moves, path
    assert checked >= 60  # datacenters of ~50 clusters and the standalone ones


OPERATOR_FIXTURE = Path("fixtures/k8ssandra-operator-v1.32.5/operator.yaml")


@pytest.mark.parametrize("fixture", ["single-dc", "multi-dc-stargate", "single-dc-reaper",
                                     "single-dc-encryption-medusa", "stargate", "reaper"])
def test_upstream_relocation_exits_0(fixture: str, upstream: Path, tmp_path: Path) -> None:
    """As a user runs it: the operator Deployment (hand-written) beside the upstream
    manifests, kpatch relocate in a real CLI run, exit 0 and no warning."""
    base = tmp_path / "base"
    base.mkdir()
    sources = sorted((upstream / TESTDATA / "fixtures" / fixture).glob("*.yaml"))
    names = []
    for source in sources:
        if source.name == "kustomization.yaml":
            continue
        (base / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        names.append(source.name)
    (base / "operator.yaml").write_text(OPERATOR_FIXTURE.read_text(encoding="utf-8"),
                                        encoding="utf-8")
    (base / "kustomization.yaml").write_text(
        "resources: [" + ", ".join([*names, "operator.yaml"]) + "]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["relocate", str(base), "--registry",
                                       "registry.corp:5000/mirror", "--output",
                                       str(tmp_path / "overlay"),
                                       "--param", "cass-operator.operatorVersion=v1.30.2"])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [], warnings


def test_upstream_without_release_names_the_assumption_once(upstream: Path,
                                                            tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    source = upstream / TESTDATA / "fixtures/single-dc/k8ssandra.yaml"
    (base / "k8ssandra.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [k8ssandra.yaml]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["relocate", str(base), "--registry",
                                       "registry.corp:5000", "--output",
                                       str(tmp_path / "overlay")])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "kpatch: warning: k8ssandra-operator: no operator Deployment in the input and no "
        "--param k8ssandra-operator.operatorVersion=VERSION: assuming the newest release "
        "kpatch knows, v1.32.5"]


def test_pod_images_from_an_input_imageconfig_are_its_entries(tmp_path: Path) -> None:
    """With the ImageConfig the operators read in the input, the Cassandra pods'
    logger and config init images are that ImageConfig's entries (marked effective
    for the datacenter; relocation edits the ImageConfig), not new CR entries."""
    rule = "cass-pod-imageconfig-in-the-input-is-edited-not-the-cr"
    (case,) = [c for c in CASES if c["rule"] == rule]
    inventory = inventory_for(tmp_path, case["input"], {PARAM: case["release"]})
    effective = {use.path: use.effective_for for use in inventory.uses
                 if use.resource.kind == "ConfigMap"}
    assert effective["/data/image_config.yaml#/images/system-logger"] == [
        {"datacenter": "dc1", "component": "system-logger", "level": "imageconfig"}]
    assert effective["/data/image_config.yaml#/images/k8ssandra-client"] == [
        {"datacenter": "dc1", "component": "k8ssandra-client", "level": "imageconfig"}]
    plan = plan_relocation(inventory, RelocateOptions(RelocationRules.parse("registry.corp:5000")))
    assert plan.unrelocated == []
    assert {m.how for m in plan.moves if "k8ssandra-client" in (m.old or "")} == {"imageconfig"}
