"""Redis Enterprise operator: conformance cases, the release table, real relocations.

- conformance.yaml, one case per rule (pytest id = rule), each citing the file
  it follows;
- the table test: for the oldest (6.0.6-6), a middle (7.22.0-7, the first with
  the call-home client) and the newest (8.0.20-23) release, and the OpenShift
  flavour, the hand-written operator Deployment of that release and a minimal
  cluster pull exactly these images; and every row of releases.yaml, run
  through the rules, gives the images its row says;
- relocation in real processes: 8.0.20-23 and the OpenShift flavour relocate
  with exit 0 and nothing unknown; without the operator kpatch names the
  release it assumed, once;
- regenerate.py, run on a real git repository made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpatch.inventory import Inventory, InventoryOptions, find_images
from kpatch.model import ImageUse
from kpatch.operators.redis_enterprise import rules
from kpatch.operators.redis_enterprise.rules import release_table
from kpatch.relocation import RelocationRules

from ..conftest import FIXTURES, ROOT
from ..structural import assert_only_relocation_changes, inventory_of, kustomize

FOLDER = ROOT / "kpatch" / "operators" / "redis_enterprise"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (FOLDER / "conformance.yaml").read_text(encoding="utf-8"))["cases"]
TABLE = release_table()


def row(use: ImageUse) -> str:
    name = f"{use.resource.kind}/{use.resource.name} {use.path} {use.image or '?'}"
    return name if use.pulled else name + " (not pulled)"


def inventory(tmp_path: Path, text: str, params: dict[str, str] | None = None) -> Inventory:
    source = tmp_path / "input.yaml"
    source.write_text(text, encoding="utf-8")
    return find_images([str(source)], InventoryOptions(params=dict(params or {})))


# --- conformance ---------------------------------------------------------------------


def test_every_rule_has_one_case_citing_what_it_follows() -> None:
    names = [case["rule"] for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert case["follows"], case["rule"]
        assert all(("K8S " in f and "@v" in f) or f.startswith("RN ") for f in case["follows"])


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_conformance(case: dict[str, Any], tmp_path: Path) -> None:
    found = inventory(tmp_path, case["input"], case.get("params"))
    assert sorted(row(u) for u in found.uses) == sorted(case["images"])
    by_path = {u.path: u for u in found.uses}
    for path, words in (case.get("reasons") or {}).items():
        reason = by_path[path].reason or ""
        for word in words:
            assert word in reason, f"{path}: {word!r} not in {reason!r}"
    expected = case.get("warnings") or []
    assert len(found.warnings) == len(expected), found.warnings
    for warning, words in zip(found.warnings, expected, strict=True):
        for word in words:
            assert word in warning, f"{word!r} not in {warning!r}"


RELOCATABLE = [c for c in CASES if not any(i.endswith(" ?") for i in c["images"])]


@pytest.mark.parametrize("case", RELOCATABLE, ids=[c["rule"] for c in RELOCATABLE])
def test_conformance_input_relocates_to_the_exact_destinations(
        case: dict[str, Any], tmp_path: Path) -> None:
    """What each rule resolves, kpatch relocate moves: every image of the input
    lands at exactly the planned destination, written out in the operator's shape."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "input.yaml").write_text(case["input"], encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [input.yaml]\n", encoding="utf-8")
    params = dict(case.get("params") or {})
    args = [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    done = kpatch("relocate", str(base), "--registry", "registry.corp:5000/mirror",
                  "--output", str(tmp_path / "overlay"), *args)
    assert done.returncode == 0, done.stderr
    before = inventory_of(kustomize(base), "base", params)
    after = inventory_of(kustomize(tmp_path / "overlay"), "overlay", params)
    target = RelocationRules.parse("registry.corp:5000/mirror")
    moved = {(u.resource, u.path): u.image for u in after.uses}
    assert len(moved) == len(before.uses)
    for use in before.uses:
        assert use.reference is not None
        assert moved[(use.resource, use.path)] == str(target.relocate(use.reference)), use.path


# --- the release table ---------------------------------------------------------------

OLDEST, MIDDLE, NEWEST = "6.0.6-6", "7.22.0-7", "8.0.20-23"
DEPLOYMENT = "Deployment/redis-enterprise-operator /spec/template/spec/containers"
REC = "RedisEnterpriseCluster/rec /spec"
TABLE_CASES = {
    "redis-enterprise-6.0.6-6": [
        f"{DEPLOYMENT}/0/image redislabs/operator:6.0.6-6",
        f"{REC}/redisEnterpriseImageSpec redislabs/redis:6.0.6-35",
        f"{REC}/bootstrapperImageSpec redislabs/operator:6.0.6-6",
        f"{REC}/redisEnterpriseServicesRiggerImageSpec redislabs/k8s-controller:6.0.6-6",
    ],
    "redis-enterprise-7.22.0-7": [
        f"{DEPLOYMENT}/0/image redislabs/operator:7.22.0-7",
        f"{DEPLOYMENT}/1/image redislabs/operator:7.22.0-7",
        f"{REC}/redisEnterpriseImageSpec redislabs/redis:7.22.0-28",
        f"{REC}/bootstrapperImageSpec redislabs/operator:7.22.0-7",
        f"{REC}/redisEnterpriseServicesRiggerImageSpec redislabs/k8s-controller:7.22.0-7",
        f"{REC}/usageMeter/callHomeClient/imageSpec redislabs/re-call-home-client:7.22.0-7",
    ],
    "redis-enterprise-8.0.20-23": [
        f"{DEPLOYMENT}/0/image redislabs/operator:8.0.20-23",
        f"{DEPLOYMENT}/1/image redislabs/operator:8.0.20-23",
        f"{REC}/redisEnterpriseImageSpec redislabs/redis:8.0.20-44.23",
        f"{REC}/bootstrapperImageSpec redislabs/operator:8.0.20-23",
        f"{REC}/redisEnterpriseServicesRiggerImageSpec redislabs/k8s-controller:8.0.20-23",
        f"{REC}/usageMeter/callHomeClient/imageSpec redislabs/re-call-home-client:8.0.20-23",
    ],
}
RH = "registry.connect.redhat.com/redislabs"
OPENSHIFT = [
    f"{DEPLOYMENT}/0/image {RH}/redis-enterprise-operator:8.0.20-23",
    f"{DEPLOYMENT}/1/image {RH}/redis-enterprise-operator:8.0.20-23",
    f"{REC}/redisEnterpriseImageSpec {RH}/redis-enterprise:8.0.20-44.23",
    f"{REC}/redisEnterpriseServicesRiggerImageSpec {RH}/services-manager:8.0.20-23",
    f"{REC}/bootstrapperImageSpec {RH}/redis-enterprise-operator:8.0.20-23",
    f"{REC}/usageMeter/callHomeClient/imageSpec {RH}/call-home-client:8.0.20-23",
    f"RedisEnterpriseCluster/rec-defaults /spec/redisEnterpriseImageSpec "
    f"{RH}/redis-enterprise:8.0.20-44.23",
    f"RedisEnterpriseCluster/rec-defaults /spec/bootstrapperImageSpec "
    f"{RH}/redis-enterprise-operator:8.0.20-23",
    f"RedisEnterpriseCluster/rec-defaults /spec/redisEnterpriseServicesRiggerImageSpec "
    f"{RH}/services-manager:8.0.20-23",
    f"RedisEnterpriseCluster/rec-defaults /spec/usageMeter/callHomeClient/imageSpec "
    f"{RH}/call-home-client:8.0.20-23",
]


def test_table_spans_the_issue_range() -> None:
    versions = sorted(TABLE.releases, key=rules.version_key)
    assert versions[0] == OLDEST and versions[-1] == NEWEST
    assert MIDDLE in versions and len(versions) == 70


@pytest.mark.parametrize("fixture", [*TABLE_CASES, "redis-enterprise-openshift-8.0.20-23"])
def test_operator_manifest_of_a_release_and_a_minimal_cluster(fixture: str) -> None:
    found = find_images([str(FIXTURES / fixture / "bundle.yaml"),
                         str(FIXTURES / fixture / "cluster.yaml")])
    expected = TABLE_CASES.get(fixture, OPENSHIFT)
    assert sorted(row(u) for u in found.uses) == sorted(expected)
    assert found.warnings == []


@pytest.mark.parametrize("version", list(TABLE.releases))
def test_every_row_resolves_to_the_images_it_names(version: str, tmp_path: Path) -> None:
    """Each row, with its provenance, through the rules: Docker Hub and OpenShift."""
    entry = TABLE.releases[version]
    assert {"operator", "rs"} <= entry.provenance.keys(), version
    assert all("@" in cite for cite in entry.provenance.values())
    assert bool(entry.call_home_client) == ("call_home_client" in entry.provenance)
    for flavour, operator, rs in (
            ("dockerhub", f"redislabs/operator:{version}", entry.rs),
            ("openshift", f"{RH}/redis-enterprise-operator:{version}", entry.rs_openshift)):
        images = _images_for(tmp_path, operator)
        chosen = TABLE.flavour(flavour)
        assert chosen is not None
        expected = {
            "/spec/redisEnterpriseImageSpec":
                f"{chosen.images['redis-enterprise']}:{rs}" if rs else None,
            "/spec/bootstrapperImageSpec": f"{chosen.images['bootstrapper']}:{version}",
            "/spec/redisEnterpriseServicesRiggerImageSpec":
                f"{chosen.images['services-rigger']}:{version}",
        }
        if entry.call_home_client:
            expected["/spec/usageMeter/callHomeClient/imageSpec"] = (
                f"{chosen.images['call-home-client']}:{entry.call_home_client}")
        assert images == expected, (version, flavour)


def _images_for(tmp_path: Path, operator: str) -> dict[str, str | None]:
    text = (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: op}}\nspec:\n"
            f"  template:\n    spec:\n      containers:\n"
            f"        - {{name: redis-enterprise-operator, image: {operator}}}\n---\n"
            "apiVersion: app.redislabs.com/v1\nkind: RedisEnterpriseCluster\n"
            "metadata: {name: rec}\nspec: {nodes: 3}\n")
    found = inventory(tmp_path, text)
    return {u.path: u.image for u in found.uses if u.resource.kind == "RedisEnterpriseCluster"}


# --- relocation, in real processes ---------------------------------------------------


def kpatch(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpatch", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, check=False, timeout=300)


@pytest.mark.parametrize("fixture", ["redis-enterprise-8.0.20-23",
                                     "redis-enterprise-openshift-8.0.20-23"])
def test_newest_release_and_openshift_relocate_with_nothing_unknown(
        fixture: str, tmp_path: Path) -> None:
    base, output = FIXTURES / fixture, tmp_path / "overlay"
    listed = kpatch("images", str(base), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert all(item["image"] for item in json.loads(listed.stdout))
    assert "warning" not in listed.stderr
    done = kpatch("relocate", str(base), "--registry", "registry.corp:5000/mirror",
                  "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr and "not relocated" not in done.stderr
    base_text, overlay_text = kustomize(base), kustomize(output)
    before, after = inventory_of(base_text, "base"), inventory_of(overlay_text, "overlay")
    target = RelocationRules.parse("registry.corp:5000/mirror")
    moved = {(u.resource, u.path): u.image for u in after.uses}
    assert len(moved) == len(before.uses)
    for use in before.uses:
        assert use.reference is not None
        assert moved[(use.resource, use.path)] == str(target.relocate(use.reference))
    assert assert_only_relocation_changes(base_text, overlay_text) > 0


def test_without_the_operator_the_assumed_release_is_said_once(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    for name in ("cluster.yaml",):
        (base / name).write_text(
            (FIXTURES / "redis-enterprise-openshift-8.0.20-23" / name).read_text("utf-8"),
            encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [cluster.yaml]\n", encoding="utf-8")
    done = kpatch("relocate", str(base), "--registry", "registry.corp:5000",
                  "--output", str(tmp_path / "overlay"))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "assuming operator release 8.0.20-23" in warnings[0]
    assert "--param redis-enterprise.operatorVersion=VERSION" in warnings[0]


def test_parameter_that_contradicts_the_operator_names_both(tmp_path: Path) -> None:
    done = kpatch("images", str(FIXTURES / "redis-enterprise-8.0.20-23"), "--format", "json",
                  "--param", "redis-enterprise.operatorVersion=7.22.0-16")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "redis-enterprise.operatorVersion=7.22.0-16" in warnings[0]
    assert "redislabs/operator:8.0.20-23" in warnings[0]
    images = {i["image"] for i in json.loads(done.stdout)}
    assert "redislabs/redis:7.22.0-241" in images


# --- regenerate.py on a real git repository -------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def commit_tag(repo: Path, tag: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", tag)
    git(repo, "tag", tag)


def bundle(image: str) -> str:
    return f"kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n" \
           f"        - name: redis-enterprise-operator\n          image: {image}\n"


def test_regenerate_reads_every_tag_with_git(tmp_path: Path) -> None:
    k8s, docs = tmp_path / "k8s-docs", tmp_path / "docs"
    for repo in (k8s, docs):
        repo.mkdir()
        git(repo, "init", "-q")
    commit_tag(k8s, "v5.4.14-7", {"bundle.yaml": bundle("redislabs/operator:5.4.14-7")})
    commit_tag(k8s, "v6.0.6-6", {
        "bundle.yaml": bundle("redislabs/operator:6.0.6-6"),
        "openshift/redis-enterprise-cluster_rhel.yaml":
            "spec:\n  redisEnterpriseImageSpec:\n    versionTag: 6.0.6-35.rhel7-openshift\n",
        "README.md": "| Component | k8s | Openshift |\n"
                     "| Redis Enterprise | `redislabs/redis:6.0.6-35` | "
                     "`redislabs/redis:6.0.6-35.rhel7-openshift` |\n"
                     "| Operator | `redislabs/operator:6.0.6-6` | "
                     "`redislabs/operator:6.0.6-6.rhel7` |\n"
                     "| Services Rigger | `redislabs/k8s-controller:6.0.6-6` | "
                     "`redislabs/k8s-controller:6.0.6-6.rhel7` |\n",
    })
    (k8s / "openshift/redis-enterprise-cluster_rhel.yaml").unlink()
    (k8s / "README.md").unlink()
    commit_tag(k8s, "v7.22.0-7", {
        "bundle.yaml": bundle("redislabs/operator:7.22.0-7"),
        "openshift/rec_rhel.yaml":
            f"spec:\n  redisEnterpriseImageSpec:\n    repository: {RH}/redis-enterprise\n"
            f"    versionTag: 7.22.0-28\n  redisEnterpriseServicesRiggerImageSpec:\n"
            f"    repository: {RH}/services-manager\n  bootstrapperImageSpec:\n"
            f"    repository: {RH}/redis-enterprise-operator\n",
        "crds/rec_crd.yaml": "spec:\n  usageMeter:\n    callHomeClient:\n      type: object\n",
    })
    # A tag whose files are another release's (as v7.4.6-9 upstream).
    commit_tag(k8s, "v7.4.6-9", {"bundle.yaml": bundle("redislabs/operator:8.0.6-8")})
    notes = "content/operate/kubernetes/release-notes/7-22-0-releases/7-22-0-7-april2025.md"
    commit_tag(docs, "head", {notes: (
        "- **Redis Enterprise**: `redislabs/redis:7.22.0-28`\n"
        "- **Operator**: `redislabs/operator:7.22.0-7`\n"
        "- **Call Home Client**: `redislabs/re-call-home-client:7.22.0-7`\n")})
    output = tmp_path / "releases.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "kpatch.operators.redis_enterprise.regenerate", str(k8s),
         "--release-notes", str(docs), "--output", str(output)],
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(output.read_text(encoding="utf-8"))
    by_version = {r["operator"]: r for r in data["releases"]}
    assert list(by_version) == ["6.0.6-6", "7.4.6-9", "7.22.0-7"]  # 5.x left out
    old = by_version["6.0.6-6"]
    assert (old["rs"], old["rs_openshift"], old["call_home_client"]) == (
        "6.0.6-35", "6.0.6-35.rhel7-openshift", None)
    assert {(p["fact"], p["file"], p["line"], p["tag"]) for p in old["provenance"]} == {
        ("operator", "bundle.yaml", 7, "v6.0.6-6"),
        ("rs_openshift", "openshift/redis-enterprise-cluster_rhel.yaml", 3, "v6.0.6-6"),
        ("rs", "README.md", 2, "v6.0.6-6"),
    }
    new = by_version["7.22.0-7"]
    assert (new["rs"], new["rs_openshift"], new["call_home_client"]) == (
        "7.22.0-28", "7.22.0-28", "7.22.0-7")
    assert {(p["fact"], p["line"]) for p in new["provenance"]} >= {
        ("call_home_client", 3), ("call_home_client_tag", 3)}
    rs_fact = next(p for p in new["provenance"] if p["fact"] == "rs")
    assert rs_fact["repository"] == "redis/docs" and rs_fact["documented"] is True
    mislabelled = by_version["7.4.6-9"]
    assert mislabelled["rs"] is None
    assert any("8.0.6-8" in n for n in mislabelled["notes"])
    flavours = {f["name"]: f for f in data["flavours"]}
    call_home = next(i for i in flavours["dockerhub"]["images"]
                     if i["component"] == "call-home-client")
    assert call_home["repository"] == "redislabs/re-call-home-client"
    assert call_home["provenance"]["documented"] is True
    openshift = {i["component"]: (i["provenance"] or {}).get("line")
                 for i in flavours["openshift"]["images"]}
    assert openshift == {"redis-enterprise": 3, "services-rigger": 6, "bootstrapper": 8,
                         "call-home-client": None}
    # The file it writes is the file the rules read.
    table = release_table(output)
    assert table.newest.operator == "7.22.0-7"
    assert table.releases["7.22.0-7"].call_home_client == "7.22.0-7"
