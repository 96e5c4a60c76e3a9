"""The exact image set of every bundled fixture, with the path of each use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpatch.inventory import Inventory, InventoryOptions, find_images

Row = tuple[str | None, str, str, str]  # image, resource, path, shape


def rows(inventory: Inventory) -> set[Row]:
    return {(u.image, str(u.resource), u.path, u.shape) for u in inventory.uses}


CASS_V1BETA1 = {
    ("docker.io/k8ssandra/system-logger:v1.26.0",
     "ConfigMap cass-operator/cass-operator-manager-config",
     "/data/image_config.yaml#/images/system-logger", "embedded"),
    ("datastax/cass-config-builder:1.0-ubi",
     "ConfigMap cass-operator/cass-operator-manager-config",
     "/data/image_config.yaml#/images/config-builder", "embedded"),
    ("docker.io/k8ssandra/k8ssandra-client:v0.8.1",
     "ConfigMap cass-operator/cass-operator-manager-config",
     "/data/image_config.yaml#/images/k8ssandra-client", "embedded"),
    ("docker.io/k8ssandra/cass-management-api:4.0.13-ubi",
     "ConfigMap cass-operator/cass-operator-manager-config",
     "/data/image_config.yaml#/images/cassandra/4.0.13", "embedded"),
    ("docker.io/k8ssandra/cass-operator:v1.26.0",
     "Deployment cass-operator/cass-operator-controller-manager",
     "/spec/template/spec/containers/0/image", "string"),
    # Derived: defaults.cassandra.repository + version + suffix.
    ("docker.io/k8ssandra/cass-management-api:4.1.5-ubi",
     "CassandraDatacenter cass-operator/cass-operator-dc1", "/spec/serverImage", "implicit"),
    # Derived: the per-version entry images.cassandra["4.0.13"] wins.
    ("docker.io/k8ssandra/cass-management-api:4.0.13-ubi",
     "CassandraDatacenter cass-operator/cass-operator-dc2", "/spec/serverImage", "implicit"),
}

CASS_V1BETA2 = {
    ("docker.io/k8ssandra/cass-operator:v1.28.0",
     "Deployment cass-operator/cass-operator-controller-manager",
     "/spec/template/spec/containers/0/image", "string"),
    ("docker.io/k8ssandra/system-logger:v1.28.0",
     "ConfigMap cass-operator/cass-operator-image-config",
     "/data/image_config.yaml#/images/system-logger", "embedded"),
    ("quay.io/datastax/cass-config-builder:1.0-ubi",
     "ConfigMap cass-operator/cass-operator-image-config",
     "/data/image_config.yaml#/images/config-builder", "embedded"),
    ("docker.io/k8ssandra/k8ssandra-client:v0.8.3",
     "ConfigMap cass-operator/cass-operator-image-config",
     "/data/image_config.yaml#/images/k8ssandra-client", "embedded"),
    ("docker.io/k8ssandra/medusa:0.22.3",
     "ConfigMap cass-operator/cass-operator-image-config",
     "/data/image_config.yaml#/images/medusa", "embedded"),
    ("docker.io/datastax/dse-mgmtapi-6_8:6.8.50-ubi8",
     "CassandraDatacenter cass-operator/dse-dc", "/spec/serverImage", "implicit"),
    ("docker.io/k8ssandra/cass-management-api:4.1.5",
     "CassandraDatacenter cass-operator/pinned-dc", "/spec/serverImage", "string"),
    ("docker.io/k8ssandra/system-logger:v1.28.0",
     "CassandraDatacenter cass-operator/pinned-dc", "/spec/systemLoggerImage", "string"),
}

K8C = "K8ssandraCluster k8ssandra/prod"
K8SSANDRA = {
    ("docker.io/k8ssandra/cass-management-api:4.1.5-ubi", K8C, "/spec/cassandra/serverImage",
     "string"),
    ("docker.io/timberio/vector:0.39.0-alpine", K8C, "/spec/cassandra/telemetry/vector/image",
     "string"),
    ("docker.io/library/busybox:1.36.1", K8C, "/spec/cassandra/initContainers/0/image", "string"),
    ("docker.io/k8ssandra/cass-management-api:4.1.5-ubi8", K8C,
     "/spec/cassandra/datacenters/0/serverImage", "string"),
    ("quay.io/acme/backup-agent:2.3.0", K8C,
     "/spec/cassandra/datacenters/0/containers/0/image", "string"),
    ("docker.io/stargateio/stargate-4_0:v1.0.80", K8C,
     "/spec/cassandra/datacenters/0/stargate/containerImage", "block"),
    ("docker.io/stargateio/stargate-4_0:v1.0.81", K8C,
     "/spec/cassandra/datacenters/1/stargate/racks/0/containerImage", "block"),
    ("docker.io/stargateio/stargate-4_0:v1.0.79", K8C, "/spec/stargate/containerImage", "block"),
    # dc2's Stargate has no containerImage: the CRD default {stargateio, v1.0.77} fills it
    # and is merged over the cluster block (name stargate-4_0, tag v1.0.77 wins).
    ("docker.io/stargateio/stargate-4_0:v1.0.77", K8C,
     "/spec/cassandra/datacenters/1/stargate/containerImage", "implicit"),
    ("docker.io/thelastpickle/cassandra-reaper:3.5.0", K8C, "/spec/reaper/containerImage",
     "block"),
    ("quay.io/k8ssandra/medusa:0.21.0", K8C, "/spec/medusa/containerImage", "block"),
    # cass-operator's server-config-init (Cassandra 4.1: k8ssandra-client), from the
    # ImageConfig v1.32.5 ships, at the entry relocation adds to each datacenter; the
    # logger runs Vector's image (telemetry.vector.image), reported above.
    ("docker.io/k8ssandra/k8ssandra-client:v0.8.8", K8C,
     "/spec/cassandra/datacenters/0/initContainers/0/image", "implicit"),
    ("docker.io/k8ssandra/k8ssandra-client:v0.8.8", K8C,
     "/spec/cassandra/datacenters/1/initContainers/0/image", "implicit"),
    ("k8ssandra/k8ssandra-operator:v1.32.5", "Deployment k8ssandra/k8ssandra-operator",
     "/spec/template/spec/containers/0/image", "string"),
}

REC_X, REC_D = "RedisEnterpriseCluster rec-explicit", "RedisEnterpriseCluster rec-defaults"
REDIS = {
    ("redislabs/operator:7.2.4-7", "Deployment redis-enterprise-operator",
     "/spec/template/spec/containers/0/image", "string"),
    ("redislabs/operator:7.2.4-7", "Deployment redis-enterprise-operator",
     "/spec/template/spec/containers/1/image", "string"),
    ("redislabs/redis:7.2.4-64", REC_X, "/spec/redisEnterpriseImageSpec", "block"),
    ("redislabs/operator:7.2.4-7", REC_X, "/spec/bootstrapperImageSpec", "block"),
    ("redislabs/k8s-controller:7.2.4-7", REC_X, "/spec/redisEnterpriseServicesRiggerImageSpec",
     "block"),
    ("docker.io/fluent/fluent-bit:3.0.7", REC_X, "/spec/sideContainersSpec/0/image", "string"),
    ("busybox:1.36.1", REC_X,
     "/spec/redisEnterpriseAdditionalPodSpecAttributes/initContainers/0/image", "string"),
    # Left out: the operator's defaults, versions from the operator image and the pair table.
    ("redislabs/redis:7.2.4-64", REC_D, "/spec/redisEnterpriseImageSpec", "implicit"),
    ("redislabs/operator:7.2.4-7", REC_D, "/spec/bootstrapperImageSpec", "implicit"),
    ("redislabs/k8s-controller:7.2.4-7", REC_D, "/spec/redisEnterpriseServicesRiggerImageSpec",
     "implicit"),
}

OLM_DEP = "Deployment operators/widget-operator"
OLM = {
    ("quay.io/widgets/widget-operator@sha256:"
     "4c3f2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b", OLM_DEP,
     "/spec/template/spec/containers/0/image", "string"),
    ("quay.io/widgets/widget:2.1.0", OLM_DEP, "/spec/template/spec/containers/0/env/0/value",
     "env"),
    ("ghcr.io/widgets/exporter:0.9.1@sha256:"
     "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", OLM_DEP,
     "/spec/template/spec/containers/0/env/1/value", "env"),
}

WORKLOADS = {
    ("registry.k8s.io/pause:3.9", "Pod apps/debug-pod", "/spec/containers/0/image", "string"),
    ("docker.io/nicolaka/netshoot:v0.13", "Pod apps/debug-pod",
     "/spec/ephemeralContainers/0/image", "string"),
    ("quay.io/acme/models:2024-06", "Pod apps/debug-pod", "/spec/volumes/0/image/reference",
     "string"),
    ("ghcr.io/acme/migrate:1.4.2", "Deployment apps/web",
     "/spec/template/spec/initContainers/0/image", "string"),
    ("nginx:1.27.0", "Deployment apps/web", "/spec/template/spec/containers/0/image", "string"),
    ("index.docker.io/nginx/nginx-prometheus-exporter:1.1.0", "Deployment apps/web",
     "/spec/template/spec/containers/1/image", "string"),
    ("postgres:16.3@sha256:0aafd2ae7e6c391f39fb6b7621632d79f54068faebc726caf469e87bd1d301c0",
     "StatefulSet apps/db", "/spec/template/spec/containers/0/image", "string"),
    ("localhost:5000/tools/node-agent:0.3", "DaemonSet kube-system/node-agent",
     "/spec/template/spec/containers/0/image", "string"),
    ("busybox", "ReplicaSet apps/legacy", "/spec/template/spec/containers/0/image", "string"),
    ("registry.corp.example:443/platform/older:7", "ReplicationController apps/older",
     "/spec/template/spec/containers/0/image", "string"),
    ("docker.io/library/alpine:3.20", "Job apps/once", "/spec/template/spec/containers/0/image",
     "string"),
    ("quay.io/acme/report:5.0.1", "CronJob apps/nightly",
     "/spec/jobTemplate/spec/template/spec/containers/0/image", "string"),
}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("cass-operator-v1beta1", CASS_V1BETA1),
        ("cass-operator-v1beta2", CASS_V1BETA2),
        ("k8ssandra-cluster", K8SSANDRA),
        ("redis-enterprise", REDIS),
        ("olm", OLM),
        ("workloads", WORKLOADS),
    ],
)
def test_fixture_image_set(fixture: str, expected: set[Row]) -> None:
    inventory = find_images([f"fixtures/{fixture}"])
    assert rows(inventory) == expected
    # One use per row: nothing reported twice.
    assert len(inventory.uses) == len(expected)


def test_implicit_uses_carry_a_reason_and_the_resource_that_causes_them() -> None:
    inventory = find_images(["fixtures/cass-operator-v1beta1"])
    implicit = [u for u in inventory.uses if u.implicit]
    assert {u.resource.kind for u in implicit} == {"CassandraDatacenter"}
    for use in implicit:
        assert use.reason and "serverVersion" in use.reason
        assert "ImageConfig (v1beta1)" in use.reason


def test_k8ssandra_precedence_says_which_level_won() -> None:
    inventory = find_images(["fixtures/k8ssandra-cluster"])
    won = {
        (entry.get("datacenter"), entry.get("rack"), entry["component"]): (entry["level"],
                                                                           use.image)
        for use in inventory.uses for entry in use.effective_for
    }
    assert won[("dc1", None, "server")] == (
        "datacenter", "docker.io/k8ssandra/cass-management-api:4.1.5-ubi8")
    assert won[("dc2", None, "server")] == (
        "cluster", "docker.io/k8ssandra/cass-management-api:4.1.5-ubi")
    assert won[("dc1", "default", "stargate")] == (
        "datacenter", "docker.io/stargateio/stargate-4_0:v1.0.80")
    # dc2 has no Cassandra racks (one rack "default"): the Stargate rack templates r1 and
    # r2 name no rack of it and are ignored; dc2's template gets the CRD default image
    # block, merged over the cluster's (pkg/stargate/deployments.go:87@v1.32.5): recorded at
    # dc2's template, where relocation writes it.
    assert won[("dc2", "default", "stargate")] == (
        "datacenter", "docker.io/stargateio/stargate-4_0:v1.0.77")
    assert ("dc2", "r1", "stargate") not in won
    racks = {u.path: u.pulled for u in inventory.uses if "/racks/" in u.path}
    assert racks == {"/spec/cassandra/datacenters/1/stargate/racks/0/containerImage": False}
    assert won[(None, None, "reaper")] == (
        "cluster", "docker.io/thelastpickle/cassandra-reaper:3.5.0")
    assert won[("dc1", None, "vector")] == ("cluster", "docker.io/timberio/vector:0.39.0-alpine")


def test_redis_release_is_assumed_and_said_when_no_operator_in_input() -> None:
    # rec-explicit's bootstrapper runs the operator image at the operator's release.
    assumed = find_images(["fixtures/redis-enterprise/clusters.yaml"])
    assert {u.image for u in assumed.uses if u.implicit} == {
        "redislabs/redis:7.2.4-64", "redislabs/operator:7.2.4-7",
        "redislabs/k8s-controller:7.2.4-7",
    }
    assert len(assumed.warnings) == 1
    assert "taking operator release 7.2.4-7" in assumed.warnings[0]
    assert "RedisEnterpriseCluster rec-explicit" in assumed.warnings[0]

    given = find_images(
        ["fixtures/redis-enterprise/clusters.yaml"],
        InventoryOptions(params={"redis-enterprise.operatorVersion": "7.2.4-7"}),
    )
    assert {u.image for u in given.uses if u.implicit} == {
        "redislabs/redis:7.2.4-64", "redislabs/operator:7.2.4-7",
        "redislabs/k8s-controller:7.2.4-7",
    }
    assert given.warnings == []


def test_redis_unknown_rs_version_is_said_not_guessed() -> None:
    inventory = find_images(
        ["fixtures/redis-enterprise/clusters.yaml"],
        InventoryOptions(params={"redis-enterprise.operatorVersion": "9.9.9-1"}),
    )
    by_component = {u.component: u for u in inventory.uses if u.implicit}
    assert by_component["bootstrapper"].image == "redislabs/operator:9.9.9-1"
    rs = by_component["redis-enterprise"]
    assert rs.image is None
    assert rs.reason is not None and "--param redis-enterprise.rsVersion" in rs.reason


def test_lines_point_at_the_field_in_the_file() -> None:
    inventory = find_images(["fixtures/workloads/workloads.yaml"])
    with open("fixtures/workloads/workloads.yaml", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    for use in inventory.uses:
        assert use.file == "fixtures/workloads/workloads.yaml"
        assert use.line is not None and use.image is not None
        assert use.image in lines[use.line - 1], (use.path, use.line)


def test_embedded_lines_point_into_the_configmap_string(tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: cfg\n"
        "data:\n"
        "  image_config.yaml: |\n"
        "    apiVersion: config.k8ssandra.io/v1beta1\n"
        "    kind: ImageConfig\n"
        "    images:\n"
        "      # comment\n"
        "      system-logger: docker.io/k8ssandra/system-logger:v1.26.0\n",
        encoding="utf-8",
    )
    (use,) = find_images([str(manifest)]).uses
    assert use.path == "/data/image_config.yaml#/images/system-logger"
    assert use.line == 11
    assert use.embedded_shape == "string"


def test_an_imageconfig_file_read_alone_is_located_too() -> None:
    inventory = find_images(["fixtures/cass-operator-v1beta1/image_config.yaml"],
                            InventoryOptions(profiles=["cass-operator"]))
    assert {u.path for u in inventory.uses} == {
        "/images/system-logger", "/images/config-builder", "/images/k8ssandra-client",
        "/images/cassandra/4.0.13",
    }
