"""Rule ``k8ssandra-operator-release``: the cass-operator an overlay runs beside
k8ssandra-operator is the one that release installs (releases.yaml's
``cassOperator``), and a parameter naming another release than the operator image
is flagged; what a K8ssandraCluster may set for itself is never judged. Ends with
the pre-commit acceptance case: a base whose k8ssandra-operator is upgraded
without its cass-operator fails the commit, sync cannot hide it, upgrading
cass-operator too passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kpatch.check import Finding
from kpatch.check.runner import check_overlays
from kpatch.config import load_config
from kpatch.operators.k8ssandra_operator.releases import row
from kpatch.sync import sync_overlay

from .conftest import FIXTURES
from .gitops import config_text, kpatch
from .test_precommit import with_hooks

RULE = "k8ssandra-operator-release"
BASE = "k8ssandra"

CASS_OPERATOR = """\
# cass-operator as k8ssandra-operator's install deploys it beside itself.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cass-operator-controller-manager
  namespace: k8ssandra
spec:
  selector:
    matchLabels: {control-plane: controller-manager}
  template:
    metadata:
      labels: {control-plane: controller-manager}
    spec:
      containers:
        - name: manager
          image: docker.io/k8ssandra/cass-operator:CASS_TAG
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPATCH_CACHE_DIR", str(tmp_path_factory.mktemp("kpatch-cache")))


def write_base(root: Path, operator: str | None = "v1.32.5",
               cass_operator: str | None = "v1.30.2", cluster: bool = True) -> Path:
    """The k8ssandra-cluster fixture (a K8ssandraCluster setting its own Vector,
    server and init container images, and the k8ssandra-operator Deployment), the
    operator at ``operator`` (None: left out) and cass-operator beside it; without
    the K8ssandraCluster when not ``cluster``."""
    base = root / "bases" / BASE
    shutil.copytree(FIXTURES / "k8ssandra-cluster", base)
    resources = ["k8ssandra-cluster.yaml"] if cluster else []
    if operator is not None:
        text = (base / "operator.yaml").read_text()
        assert "k8ssandra-operator:v1.32.5" in text
        (base / "operator.yaml").write_text(text.replace("k8ssandra-operator:v1.32.5",
                                                         f"k8ssandra-operator:{operator}"))
        resources.append("operator.yaml")
    if cass_operator is not None:
        (base / "cass-operator.yaml").write_text(CASS_OPERATOR.replace("CASS_TAG",
                                                                       cass_operator))
        resources.append("cass-operator.yaml")
    (base / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))
    return base


def make(root: Path, overlay_extra: str = "", cluster: bool = True,
         **versions: str | None) -> Path:
    write_base(root, cluster=cluster, **versions)
    (root / "kpatch.yaml").write_text(config_text((BASE,), overlay_extra=overlay_extra))
    code, _, err = kpatch("sync", "--config", str(root / "kpatch.yaml"))
    assert code == 0, err
    return root


def release_findings(root: Path) -> list[Finding]:
    reports = check_overlays(load_config(root / "kpatch.yaml").overlays, jobs=1)
    assert not [r.error for r in reports if r.error]
    found = [f for r in reports for f in r.findings]
    others = [f for f in found if f.rule != RULE]
    assert others == [], others  # the repository is otherwise clean
    return [f for f in found if f.rule == RULE]


def test_the_release_table_pins_cass_operator() -> None:
    # The facts the cases below rest on (releases.yaml, with provenance).
    assert row("v1.32.5")["cassOperator"]["ref"] == "v1.30.2"
    assert row("v1.29.0")["cassOperator"]["ref"] == "v1.28.0"
    assert row("v1.2.0")["cassOperator"]["ref"] == "master"


def test_cass_operator_of_the_release_is_clean(tmp_path: Path) -> None:
    assert release_findings(make(tmp_path)) == []


def test_cass_operator_of_another_release_is_flagged(tmp_path: Path) -> None:
    repo = make(tmp_path, cass_operator="v1.28.0")
    [item] = release_findings(repo)
    assert item.message == (
        "cass-operator image registry.corp:5000/k8ssandra/cass-operator:v1.28.0 is not the "
        "cass-operator release that k8ssandra-operator v1.32.5 (the operator image "
        "registry.corp:5000/k8ssandra/k8ssandra-operator:v1.32.5) installs: that is v1.30.2 "
        "(k8ssandra/k8ssandra-operator config/cass-operator/cluster-scoped/"
        "kustomization.yaml:5@v1.32.5)")
    assert item.resource == "Deployment k8ssandra/cass-operator-controller-manager"
    assert item.pointer == "/spec/template/spec/containers/0/image"
    patch = repo / "overlays" / BASE / \
        "deployment-k8ssandra-cass-operator-controller-manager.yaml"
    assert item.file == str(patch) and item.line is not None
    assert '"path": "/spec/template/spec/containers/0/image"' in \
        patch.read_text().splitlines()[item.line - 1]


def test_each_release_has_its_own_cass_operator(tmp_path: Path) -> None:
    # v1.28.0 is right for k8ssandra-operator v1.29.0, wrong for v1.32.5 (above).
    assert release_findings(make(tmp_path, operator="v1.29.0", cass_operator="v1.28.0")) == []


@pytest.mark.parametrize("operator", ["v1.2.0", "v9.9.9"])
def test_no_finding_where_the_table_cannot_say(tmp_path: Path, operator: str) -> None:
    # v1.2.0 installs cass-operator's master branch; v9.9.9 is not in the table.
    # (No K8ssandraCluster: kpatch cannot say which images its pods pull at cass-operator
    # master, so sync would refuse it.)
    repo = make(tmp_path, operator=operator, cass_operator="v1.10.0", cluster=False)
    assert release_findings(repo) == []


def test_without_the_operator_or_a_parameter_nothing_is_judged(tmp_path: Path) -> None:
    assert release_findings(make(tmp_path, operator=None, cass_operator="v1.10.0")) == []


def test_the_parameter_names_the_release_when_the_operator_is_elsewhere(tmp_path: Path) -> None:
    param = "    params: {k8ssandra-operator.operatorVersion: v1.32.5}\n"
    repo = make(tmp_path, param, operator=None, cass_operator="v1.28.0")
    [item] = release_findings(repo)
    assert "k8ssandra-operator v1.32.5 (--param k8ssandra-operator.operatorVersion=v1.32.5)" \
        in item.message
    assert "that is v1.30.2" in item.message


def test_a_parameter_that_contradicts_the_operator_image(tmp_path: Path) -> None:
    param = "    params: {k8ssandra-operator.operatorVersion: v1.29.0}\n"
    repo = make(tmp_path, param)
    [item] = release_findings(repo)
    assert item.message.startswith(
        "k8ssandra-operator image registry.corp:5000/k8ssandra/k8ssandra-operator:v1.32.5 runs "
        "v1.32.5, but k8ssandra-operator.operatorVersion is v1.29.0 (")
    assert "kpatch.yaml:" in item.message and "from v1.29.0's defaults" in item.message
    assert item.resource == "Deployment k8ssandra/k8ssandra-operator"
    # The release that runs is the image's: its cass-operator (v1.30.2) is not flagged.


def test_images_the_cluster_may_set_for_itself_are_not_judged(tmp_path: Path) -> None:
    # The fixture's K8ssandraCluster sets Reaper, Medusa, Stargate and Vector images
    # of its own, none of them v1.32.5's defaults: overriding them is the user's call.
    shipped = row("v1.32.5")["imageConfig"]["document"]["images"]
    assert (shipped["reaper"]["tag"], shipped["medusa"]["tag"]) == ("5.0.0", "0.29.1")
    assert row("v1.32.5")["stargate"]["image"]["tag"] == "v1.0.77"
    repo = make(tmp_path)
    [overlay] = load_config(repo / "kpatch.yaml").overlays
    inventory = sync_overlay(overlay, dry_run=True).result.inventory
    assert inventory is not None
    tags = {u.reference.tag for u in inventory.uses if u.reference is not None}
    assert {"3.5.0", "0.21.0", "v1.0.79", "0.39.0-alpine"} <= tags
    assert release_findings(repo) == []


def test_hand_edit_of_the_overlay_is_judged_as_rendered(tmp_path: Path) -> None:
    repo = make(tmp_path)
    patch = repo / "overlays" / BASE / \
        "deployment-k8ssandra-cass-operator-controller-manager.yaml"
    text = patch.read_text()
    patch.write_text(text.replace("registry.corp:5000/k8ssandra/cass-operator:v1.30.2",
                                  "registry.corp:5000/k8ssandra/cass-operator:v1.30.0"))
    reports = check_overlays(load_config(repo / "kpatch.yaml").overlays, jobs=1)
    rules = [f.rule for r in reports for f in r.findings]
    assert RULE in rules and "in-sync" in rules and "tags" in rules


# --- pre-commit: a base upgrade that leaves cass-operator behind ----------------------------


def test_precommit_operator_upgrade_without_its_cass_operator(tmp_path: Path) -> None:
    root = tmp_path / "gitops"
    root.mkdir()
    make(root, operator="v1.29.0", cass_operator="v1.28.0")
    repo = with_hooks(root, tmp_path)
    code, output = repo.commit("k8ssandra-operator v1.29.0")
    assert code == 0, output

    repo.edit(f"bases/{BASE}/operator.yaml", "k8ssandra-operator:v1.29.0",
              "k8ssandra-operator:v1.32.5")
    code, output = repo.commit("k8ssandra-operator v1.32.5")
    assert code == 1, output
    # The stale overlay (its test guard on the operator image fails), which sync
    # regenerates.
    assert "[in-sync] out of date" in output and "[builds] does not build" in output
    assert "files were modified by this hook" in output
    # Synced, the overlay is current, and the mismatch is still there.
    expected = ("[k8ssandra-operator-release] cass-operator image registry.corp:5000/k8ssandra/"
                "cass-operator:v1.28.0 is not the cass-operator release that "
                "k8ssandra-operator v1.32.5")
    code, output = repo.commit("k8ssandra-operator v1.32.5, synced")
    assert code == 1, output
    assert expected in output and "[in-sync]" not in output
    # Upgrading cass-operator with it passes.
    repo.edit(f"bases/{BASE}/cass-operator.yaml", "cass-operator:v1.28.0",
              "cass-operator:v1.30.2")
    code, output = repo.commit("cass-operator v1.30.2, as k8ssandra-operator v1.32.5 installs")
    assert code == 1 and "files were modified by this hook" in output, output
    code, output = repo.commit("cass-operator v1.30.2, synced")
    assert code == 0, output
