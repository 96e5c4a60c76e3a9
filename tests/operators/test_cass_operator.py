"""cass-operator: conformance cases (conformance.yaml, one per rule, each citing the
upstream code it follows), the table test over releases, the release table's own
checks, and the real upstream manifests in ../shared/upstream."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpatch.inventory import Inventory, InventoryOptions, find_images
from kpatch.operators.cass_operator import regenerate
from kpatch.operators.cass_operator.podtemplate import semver_compare
from kpatch.operators.cass_operator.releases import release_rows
from kpatch.operators.cass_operator.rules import (
    CassOperatorError,
    named_image,
    server_image,
)
from kpatch.reference import parse_reference
from kpatch.relocate import RelocateOptions, plan_relocation
from kpatch.relocation import RelocationRules

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "kpatch" / "operators" / "cass_operator"
CONFORMANCE = yaml.safe_load((FOLDER / "conformance.yaml").read_text(encoding="utf-8"))
CASES = CONFORMANCE["cases"]
RELEASE_FIXTURES = ROOT / "fixtures" / "cass-operator-releases"


def inventory(tmp_path: Path, text: str, params: dict[str, str] | None = None) -> Inventory:
    source = tmp_path / "input.yaml"
    source.write_text(text, encoding="utf-8")
    options = InventoryOptions(params={f"cass-operator.{k}": v for k, v in (params or {}).items()})
    return find_images([str(source)], options)


def where(use: Any) -> str:
    return f"{use.resource.kind}/{use.resource.name}"


def found_images(result: Inventory) -> list[list[Any]]:
    return sorted(([u.image, where(u), u.path] for u in result.uses),
                  key=lambda row: (row[1], row[2], row[0] or ""))


# -- conformance ----------------------------------------------------------------


def test_every_case_cites_the_upstream_code() -> None:
    names = [case["rule"] for case in CASES]
    assert len(names) == len(set(names)), "one case per rule"
    for case in CASES:
        assert case["cites"], case["rule"]
        for cite in case["cites"]:
            path_line, _, tag = cite.partition("@")
            assert tag.startswith("v1.") and ":" in path_line, cite


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_conformance(case: dict[str, Any], tmp_path: Path) -> None:
    result = inventory(tmp_path, case["input"], case.get("params"))
    expected = sorted(([i, w, p] for i, w, p in case["images"]),
                      key=lambda row: (row[1], row[2], row[0] or ""))
    assert found_images(result) == expected
    by_place = {f"{where(u)} {u.path}": u for u in result.uses}
    for place, text in (case.get("reasons") or {}).items():
        reason = by_place[place].reason or ""
        assert text in reason, (place, reason)
    for place in case.get("notPulled") or []:
        assert by_place[place].pulled is False, place
    for place, entries in (case.get("effective") or {}).items():
        assert by_place[place].effective_for == entries, place
    warnings = case.get("warnings") or []
    for text in warnings:
        assert any(text in w for w in result.warnings), (text, result.warnings)
    if not warnings:
        assert result.warnings == []


# -- the table test over releases -----------------------------------------------

DATACENTERS = RELEASE_FIXTURES / "datacenters.yaml"
# The exact images the pods pull (and the operator itself), per release, for the
# hand-written operator manifest of that release and datacenters.yaml.
PULLED: dict[str, tuple[str, set[str], set[str]]] = {
    # release: (operator image, images the datacenters pull, places kpatch cannot know)
    "v1.10.0": ("k8ssandra/cass-operator:v1.10.0", {
        "k8ssandra/cass-management-api:4.0.13",
        "k8ssandra/system-logger:v1.10.0",
        "datastax/cass-config-builder:1.0.4-ubi7",
        "datastax/dse-server:6.8.20-ubi7",
    }, {"CassandraDatacenter/c41 /spec/serverImage"}),  # 4.1 fails v1.10.0's version check
    "v1.22.3": ("cr.k8ssandra.io/k8ssandra/cass-operator:v1.22.3", {
        "cr.k8ssandra.io/k8ssandra/cass-management-api:4.0.13-ubi8",
        "cr.k8ssandra.io/k8ssandra/cass-management-api:4.1.5-ubi8",
        "cr.k8ssandra.io/k8ssandra/system-logger:v1.22.3",
        "cr.dtsx.io/datastax/cass-config-builder:1.0-ubi8",
        "cr.k8ssandra.io/k8ssandra/k8ssandra-client:v0.5.0",
        "cr.dtsx.io/datastax/dse-mgmtapi-6_8:6.8.20-ubi8",
    }, set()),
    "v1.26.0": ("cr.k8ssandra.io/k8ssandra/cass-operator:v1.26.0", {
        "cr.k8ssandra.io/k8ssandra/cass-management-api:4.0.13-ubi",
        "cr.k8ssandra.io/k8ssandra/cass-management-api:4.1.5-ubi",
        "cr.k8ssandra.io/k8ssandra/system-logger:v1.26.0",
        "cr.dtsx.io/datastax/cass-config-builder:1.0-ubi",
        "cr.k8ssandra.io/k8ssandra/k8ssandra-client:v0.8.1",
        "cr.dtsx.io/datastax/dse-mgmtapi-6_8:6.8.20-ubi8",
    }, set()),
    "v1.28.0": ("docker.io/k8ssandra/cass-operator:v1.28.0", {
        "docker.io/k8ssandra/cass-management-api:4.0.13-ubi",
        "docker.io/k8ssandra/cass-management-api:4.1.5-ubi",
        "docker.io/k8ssandra/system-logger:v1.28.0",
        "docker.io/datastax/cass-config-builder:1.0-ubi",
        "docker.io/k8ssandra/k8ssandra-client:v0.8.3",
        "docker.io/datastax/dse-mgmtapi-6_8:6.8.20-ubi",
    }, set()),
    "v1.32.0": ("docker.io/k8ssandra/cass-operator:v1.32.0", {
        "docker.io/k8ssandra/cass-management-api:4.0.13-ubi",
        "docker.io/k8ssandra/cass-management-api:4.1.5-ubi",
        "docker.io/k8ssandra/system-logger:v1.32.0",
        "docker.io/datastax/cass-config-builder:1.0-ubi",
        "docker.io/k8ssandra/k8ssandra-client:v0.8.12",
        "docker.io/datastax/dse-mgmtapi-6_8:6.8.20-ubi",
    }, set()),
}


def pulled(result: Inventory) -> tuple[set[str], set[str]]:
    """(images pulled, places unknown): implicit images, written ones the operator
    uses for a datacenter, and the workloads' own images."""
    images, unknown = set(), set()
    for use in result.uses:
        if use.image is None:
            unknown.add(f"{where(use)} {use.path}")
        elif use.pulled and (use.implicit or use.effective_for
                             or use.resource.kind == "Deployment"):
            images.add(use.image)
    return images, unknown


@pytest.mark.parametrize("release", sorted(PULLED))
def test_operator_manifest_of_each_release(release: str) -> None:
    operator, images, unknown = PULLED[release]
    result = find_images([str(RELEASE_FIXTURES / f"{release}.yaml"), str(DATACENTERS)])
    assert pulled(result) == (images | {operator}, unknown)
    reads = [w for w in result.warnings if "does not read" in w]
    # Only v1.28.0 ships both layouts, and reads the labelled ConfigMap.
    assert bool(reads) == (release == "v1.28.0"), result.warnings


@pytest.mark.parametrize("release", sorted(PULLED))
def test_release_from_param_uses_what_the_release_ships(release: str) -> None:
    _, images, unknown = PULLED[release]
    result = find_images([str(DATACENTERS)], InventoryOptions(
        params={"cass-operator.operatorVersion": release}))
    assert pulled(result) == (images, unknown)
    assert result.warnings == []
    for use in result.uses:
        if use.image is not None:
            assert f"cass-operator {release} ships (assumed" in (use.reason or ""), use


@pytest.mark.parametrize("release", sorted(PULLED))
def test_release_from_param_relocates_every_pod_image(release: str) -> None:
    """Each image the release's pods pull lands at its planned destination, the
    k8ssandra-client one (no CR field holds it) through a podTemplateSpec
    init container entry (docs/named-entries.md)."""
    result = find_images([str(DATACENTERS)], InventoryOptions(
        params={"cass-operator.operatorVersion": release}))
    rules = RelocationRules.parse("registry.corp:5000/mirror")
    plan = plan_relocation(result, RelocateOptions(rules))
    _, images, unknown = PULLED[release]
    assert {u.image for u in plan.unrelocated} == ({None} if unknown else set())
    moved = {m.old: m.new for m in plan.moves}
    assert set(moved) == images
    assert all(new == str(rules.relocate(parse_reference(old or "")))
               for old, new in moved.items())
    entries = {m.old for m in plan.moves if m.how == "entry"}
    assert entries == {i for i in images if "k8ssandra-client" in i}


# -- the release table ----------------------------------------------------------


def test_release_table_covers_every_release_with_provenance() -> None:
    rows = release_rows()
    versions = [row["version"] for row in rows]
    assert versions[0] == "v1.10.0" and versions[-1] == "v1.32.0"
    assert len(versions) == len(set(versions)) == 50  # every tag; there is no v1.10.2
    assert "v1.10.2" not in versions and "v1.21.2" in versions
    for row in rows:
        source = row["source"]
        assert source["repository"] == "k8ssandra/cass-operator"
        assert source["tag"] == row["version"]
        assert len(source["commit"]) == 40
        assert source["files"]["operatorImage"] == "config/manager/kustomization.yaml"
        assert row["operatorImage"].rpartition("/")[2].startswith("cass-operator:v1.")
        shipped = row["shippedImageConfig"]
        assert shipped, row["version"]
        for version, document in shipped.items():
            assert document["apiVersion"] == f"config.k8ssandra.io/{version}"
            assert f"shipped.{version}" in source["files"]


def test_release_table_transitions() -> None:
    by_version = {row["version"]: row for row in release_rows()}

    def discovery(version: str) -> tuple[str, str | None]:
        found = by_version[version]["imageConfigDiscovery"]
        return found["labelledConfigMap"], (found["configFile"] or {}).get("default")

    assert discovery("v1.23.2") == ("none", None)
    assert discovery("v1.24.0") == ("none", "/configs/image_config.yaml")
    assert discovery("v1.27.0") == ("fallback-to-file", "/configs/image_config.yaml")
    assert discovery("v1.29.0") == ("only", None)
    assert by_version["v1.10.0"]["v1beta1"]["registryKey"] == "imageRegistryOverride"
    assert by_version["v1.10.1"]["v1beta1"]["registryKey"] == "imageRegistry"
    assert "hcd" not in by_version["v1.26.0"]["v1beta1"]["builtinRepositories"]
    # v1.21.2 ships the operator image of v1.21.1.
    assert by_version["v1.21.2"]["operatorImage"].endswith(":v1.21.1")
    assert all("hcd" not in row["shippedImageConfig"].get("v1beta2", {}).get("types", {})
               for row in release_rows())


# -- public functions other operators call ----------------------------------------


def test_server_image_per_release() -> None:
    assert server_image(None, "cassandra", "4.1.5", "v1.32.0") == \
        "docker.io/k8ssandra/cass-management-api:4.1.5-ubi"
    assert server_image(None, "dse", "6.8.20", "v1.18.0") == \
        "cr.dtsx.io/datastax/dse-mgmtapi-6_8:6.8.20-ubi8"
    assert server_image(None, "dse", "6.8.20", "1.15.0") == "datastax/dse-server:6.8.20-ubi7"
    config = {"apiVersion": "config.k8ssandra.io/v1beta2", "kind": "ImageConfig",
              "defaults": {"registry": "docker.io"},
              "types": {"hcd": {"repository": "datastax", "name": "hcd", "prefix": "v",
                                "suffix": "-ubi"}}}
    assert server_image(config, "hcd", "1.2.0", "v1.30.0") == "docker.io/datastax/hcd:v1.2.0-ubi"
    with pytest.raises(CassOperatorError, match="unknown server type: hcd"):
        server_image(None, "hcd", "1.2.0", "v1.32.0")
    with pytest.raises(CassOperatorError, match="do not work together"):
        server_image(None, "cassandra", "4.1.5", "v1.10.0")
    with pytest.raises(CassOperatorError, match="not known to kpatch"):
        server_image(None, "cassandra", "4.1.5", "v1.99.0")


def test_named_image_per_release() -> None:
    assert named_image(None, "k8ssandra-client", "v1.26.0") == \
        "cr.k8ssandra.io/k8ssandra/k8ssandra-client:v0.8.1"
    assert named_image(None, "system-logger", "v1.32.0") == \
        "docker.io/k8ssandra/system-logger:v1.32.0"
    assert named_image(None, "k8ssandra-client", "v1.16.0") == ""


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("v4.1.0", "v4.1.0", 0), ("v4.1", "v4.1.0", 0), ("v5.0.2", "v4.1.0", 1),
    ("v4.0.13", "v4.1.0", -1), ("v4.1.0-beta1", "v4.1.0", -1), ("v4.1.0.1", "v4.1.0", -1),
    ("v4.01.0", "v4.1.0", -1), ("v4.1.0-rc.2", "v4.1.0-rc.10", -1),
])
def test_semver_compare_as_go(a: str, b: str, expected: int) -> None:
    assert semver_compare(a, b) == expected


# -- real upstream manifests ------------------------------------------------------

CASS_V1_26 = "cass-operator-v1.26.0/config"
K8SSANDRA_FIXTURES = "k8ssandra-operator-v1.32.5/test/testdata/fixtures"


def test_upstream_cluster_deployment_and_sample_datacenter(upstream: Path) -> None:
    sample = upstream / CASS_V1_26 / "samples/example-cassdc-three-nodes-single-rack.yaml"
    result = find_images([str(upstream / CASS_V1_26 / "deployments/cluster"), str(sample)])
    config = "ConfigMap/cass-operator-manager-config"
    assert found_images(result) == sorted([
        ["cr.k8ssandra.io/k8ssandra/cass-operator:v1.26.0",
         "Deployment/cass-operator-controller-manager", "/spec/template/spec/containers/0/image"],
        ["cr.k8ssandra.io/k8ssandra/system-logger:v1.26.0", config,
         "/data/image_config.yaml#/images/system-logger"],
        ["cr.dtsx.io/datastax/cass-config-builder:1.0-ubi", config,
         "/data/image_config.yaml#/images/config-builder"],
        ["cr.k8ssandra.io/k8ssandra/k8ssandra-client:v0.8.1", config,
         "/data/image_config.yaml#/images/k8ssandra-client"],
        # The sample's podTemplateSpec names container cassandra without an image.
        ["cr.k8ssandra.io/k8ssandra/cass-management-api:4.1.2-ubi", "CassandraDatacenter/dc1",
         "/spec/serverImage"],
    ], key=lambda row: (row[1], row[2], row[0]))
    # Cassandra 4.1 builds its configuration with k8ssandra-client: the config
    # builder is shipped but not pulled by this datacenter.
    images, unknown = pulled(result)
    assert "cr.dtsx.io/datastax/cass-config-builder:1.0-ubi" not in images and not unknown
    assert result.warnings == []


@pytest.mark.parametrize("fixture", ["add-external-dc/cassdc1", "reaper/cassdc",
                                     "multi-stargate/cassdc", "stargate/cassdc"])
def test_upstream_k8ssandra_operator_datacenters(upstream: Path, fixture: str) -> None:
    # k8ssandra-operator v1.32.5 installs cass-operator v1.30.2 (config/cass-operator).
    result = find_images([str(upstream / K8SSANDRA_FIXTURES / f"{fixture}.yaml")],
                         InventoryOptions(params={"cass-operator.operatorVersion": "v1.30.2"}))
    images, unknown = pulled(result)
    assert not unknown
    version = {"add-external-dc/cassdc1": "5.0.4-ubi", "reaper/cassdc": "4.1.8-ubi",
               "multi-stargate/cassdc": "3.11.14-ubi"}.get(fixture)
    server = (f"docker.io/k8ssandra/cass-management-api:{version}" if version
              else "k8ssandra/cass-management-api:3.11.14")  # stargate/cassdc sets serverImage
    config = ("docker.io/k8ssandra/k8ssandra-client:v0.8.8"
              if fixture in ("add-external-dc/cassdc1", "reaper/cassdc")
              else "docker.io/datastax/cass-config-builder:1.0-ubi")
    assert images == {server, "docker.io/k8ssandra/system-logger:v1.30.2", config}


# -- regenerate.py, on a real git repository of hand-written sources ------------------

OLD_TAG_FILES = {
    "main.go": 'func main() {\n\tif operConfig.ImageConfigFile != "" {\n'
               '\t\terr = images.ParseImageConfig(operConfig.ImageConfigFile)\n\t}\n}\n',
    "pkg/images/images.go": (
        'const (\n\tValidOssVersionRegexp = "(3\\\\.11\\\\.\\\\d+)"\n'
        '\tDefaultCassandraRepository = "example/server"\n)\n'
        'func applyDefaultRegistryOverride(image string) string {\n\treturn image\n}\n'
        'func getCassandraContainerImageOverride(serverType, version string) (bool, string) {\n'
        '\tif serverType == "cassandra" {\n\t}\n}\n'
        'func getImageComponents(serverType string) (string, string) {\n'
        '\tif serverType == "cassandra" {\n\t\tdefaultPrefix = DefaultCassandraRepository\n\t}\n}\n'
        'func GetSystemLoggerImage() string {\n}\n'),
    "apis/config/v1beta1/imageconfig_types.go":
        'type ImageConfig struct {\n\tImageRegistry string `json:"imageRegistry,omitempty"`\n}\n',
    "apis/cassandra/v1beta1/cassandradatacenter_types.go":
        '\t// +kubebuilder:validation:Enum=cassandra;dse\n'
        '\tServerType string `json:"serverType"`\n',
    "pkg/reconciliation/construct_podtemplatespec.go": "func buildInitContainers() {\n}\n",
    "go.mod": "require (\n\tk8s.io/api v0.22.2\n)\n",
    "config/manager/kustomization.yaml":
        "images:\n- name: controller\n  newName: example/cass-operator\n  newTag: v1.10.0\n",
    "config/manager/image_config.yaml":
        "apiVersion: config.k8ssandra.io/v1beta1\nkind: ImageConfig\nmetadata: {name: x}\n"
        "images:\n  system-logger: example/logger:1\n",
}
NEW_TAG_FILES = {
    "cmd/main.go":
        "func setupImageRegistry() {\n\timages.NewImageRegistryFromConfigMap(ctx, c)\n}\n",
    "pkg/images/images_v1beta2.go": "package images\n",
    "apis/config/v1beta2/imageconfig_types.go": "type Image struct {\n\tDigest string\n}\n",
    "apis/cassandra/v1beta1/cassandradatacenter_types.go": (
        '\t// +kubebuilder:validation:Enum=cassandra;dse;hcd\n'
        '\tServerType string `json:"serverType"`\n'
        'func (dc *CassandraDatacenter) UseClientImage() bool {\n'
        '\tif dc.Annotations[UseClientBuilderAnnotation] == "true" {\n\t}\n'
        '\tif dc.Spec.ServerType == "hcd" {\n\t}\n\treturn compare(v, "v4.1.0")\n}\n'
        'func (dc *CassandraDatacenter) ReadOnlyFs() bool {\n'
        '\tif dc.Spec.ServerImage != "" {\n\t}\n}\n'
        "\tVolumeSource *corev1.VolumeSource `json:\"volumeSource,omitempty\"`\n"),
    "pkg/reconciliation/construct_podtemplatespec.go":
        "const ServerBaseConfigContainerName = 1\nvar configContainerIndex = 1\n"
        'var x = dc.ReadOnlyFs() && dc.Spec.ServerType == "dse" {\n',
    "go.mod": "require (\n\tk8s.io/api v0.34.4\n)\n",
    "config/manager/kustomization.yaml":
        "images:\n- name: controller\n  newName: example/cass-operator\n  newTag: v1.29.0\n",
    "config/imageconfig/image_config.yaml":
        "apiVersion: config.k8ssandra.io/v1beta2\nkind: ImageConfig\ntypes: {}\n",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit_tag(repo: Path, files: dict[str, str], tag: str, remove: tuple[str, ...] = ()) -> None:
    for name in remove:
        (repo / name).unlink()
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", tag)
    git(repo, "tag", tag)


def test_regenerate_reads_each_tag_with_git(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    git(repo, "init", "-q")
    commit_tag(repo, OLD_TAG_FILES, "v1.10.0")
    git(repo, "tag", "v1.9.0")  # older than the range: left out
    commit_tag(repo, NEW_TAG_FILES, "v1.29.0",
               remove=("main.go", "config/manager/image_config.yaml"))
    git(repo, "tag", "v1.30.0-rc.1")  # not a release
    output = tmp_path / "releases.yaml"
    assert regenerate.main([str(repo), "--output", str(output)]) == 0
    rows = yaml.safe_load(output.read_text(encoding="utf-8"))["releases"]
    assert [r["version"] for r in rows] == ["v1.10.0", "v1.29.0"]
    old, new = rows
    assert old["operatorImage"] == "example/cass-operator:v1.10.0"
    assert old["imageConfigDiscovery"] == {"labelledConfigMap": "none",
                                           "configFile": {"flag": "--config", "default": None}}
    assert old["v1beta1"]["builtinRepositories"] == {"cassandra": "example/server"}
    assert old["v1beta1"]["versionPatterns"] == {"cassandra": "(3\\.11\\.\\d+)"}
    assert old["shippedImageConfig"] == {"v1beta1": {
        "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ImageConfig",
        "images": {"system-logger": "example/logger:1"}}}
    assert new["imageConfigDiscovery"] == {"labelledConfigMap": "only", "configFile": None}
    assert new["v1beta1"] is None and new["v1beta2"] == {"digest": True}
    assert new["pod"] == {"serverTypes": ["cassandra", "dse", "hcd"],
                          "clientImage": "cassandra-4.1+hcd+annotation",
                          "baseConfigInit": "reuse-template", "dseReadOnlyBaseConfigInit": True,
                          "readOnlyFs": "defaults", "additionalVolumeSources": True,
                          "imageVolumes": True}
    assert new["source"]["files"]["imageConfigDiscovery"] == "cmd/main.go"
    assert len(new["source"]["commit"]) == 40


def test_regenerate_stops_on_an_unknown_shape(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    git(repo, "init", "-q")
    broken = dict(OLD_TAG_FILES)
    broken["apis/config/v1beta1/imageconfig_types.go"] = "type ImageConfig struct {}\n"
    commit_tag(repo, broken, "v1.11.0")
    output = tmp_path / "releases.yaml"
    output.write_text("before\n", encoding="utf-8")
    assert regenerate.main([str(repo), "--output", str(output)]) == 1
    assert "v1.11.0: apis/config/v1beta1/imageconfig_types.go: no ImageRegistry json tag" in \
        capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "before\n"  # nothing partial written


def test_fallback_release_from_another_operator(tmp_path: Path) -> None:
    from kpatch.implicit import RuleContext
    from kpatch.operators.cass_operator.rules import operator_image_config, release_in_use

    context = RuleContext([], [], [], {})
    choice = operator_image_config(context, ("v1.30.2", "installed by k8ssandra-operator"))
    assert choice.level == "default-imageconfig"
    assert choice.description.startswith("the ImageConfig (v1beta2) cass-operator v1.30.2 ships")
    assert release_in_use(context).source == "installed by k8ssandra-operator"
    assert context.warnings == []  # named, not assumed
    assert server_image(choice.data, "cassandra", "4.1.8", release_in_use(context)) == \
        "docker.io/k8ssandra/cass-management-api:4.1.8-ubi"
