"""Exact image sets of the real upstream trees in ../shared/upstream."""

from __future__ import annotations

from pathlib import Path

from kpatch.inventory import find_images

CASS_CLUSTER = "cass-operator-v1.26.0/config/deployments/cluster"
K8SSANDRA = "k8ssandra-operator-v1.32.5/test/testdata"


def test_cass_operator_cluster_deployment_rendered_with_kubectl(upstream: Path) -> None:
    inventory = find_images([str(upstream / CASS_CLUSTER)])
    assert inventory.renderer in ("kubectl", "kustomize")
    found = {(u.image, str(u.resource), u.path) for u in inventory.uses}
    config = "ConfigMap cass-operator/cass-operator-manager-config"
    assert found == {
        ("cr.k8ssandra.io/k8ssandra/cass-operator:v1.26.0",
         "Deployment cass-operator/cass-operator-controller-manager",
         "/spec/template/spec/containers/0/image"),
        ("cr.k8ssandra.io/k8ssandra/system-logger:v1.26.0", config,
         "/data/image_config.yaml#/images/system-logger"),
        ("cr.dtsx.io/datastax/cass-config-builder:1.0-ubi", config,
         "/data/image_config.yaml#/images/config-builder"),
        ("cr.k8ssandra.io/k8ssandra/k8ssandra-client:v0.8.1", config,
         "/data/image_config.yaml#/images/k8ssandra-client"),
    }
    # The three CRDs hold hundreds of "image" keys; none is reported.
    assert not any(u.resource.kind == "CustomResourceDefinition" for u in inventory.uses)


def test_multi_dc_stargate_cluster_pulls_only_implicit_images(upstream: Path) -> None:
    inventory = find_images([str(upstream / K8SSANDRA / "fixtures/multi-dc-stargate")])
    found = {(u.image, u.path, u.implicit) for u in inventory.uses}
    assert found == {
        ("docker.io/k8ssandra/cass-management-api:3.11.14-ubi",
         "/spec/cassandra/datacenters/0/serverImage", True),
        ("docker.io/k8ssandra/cass-management-api:3.11.14-ubi",
         "/spec/cassandra/datacenters/1/serverImage", True),
        ("docker.io/stargateio/stargate-3_11:v1.0.77",
         "/spec/cassandra/datacenters/0/stargate/containerImage", True),
        ("docker.io/stargateio/stargate-3_11:v1.0.77",
         "/spec/cassandra/datacenters/1/stargate/containerImage", True),
        # cass-operator's sidecar and init container in every Cassandra pod, from the
        # ImageConfig v1.32.5 ships; Cassandra 3.11: config-builder, not k8ssandra-client.
        ("docker.io/k8ssandra/system-logger:v1.30.2",
         "/spec/cassandra/datacenters/0/containers/1/image", True),
        ("docker.io/k8ssandra/system-logger:v1.30.2",
         "/spec/cassandra/datacenters/1/containers/1/image", True),
        ("docker.io/datastax/cass-config-builder:1.0-ubi",
         "/spec/cassandra/datacenters/0/initContainers/0/image", True),
        ("docker.io/datastax/cass-config-builder:1.0-ubi",
         "/spec/cassandra/datacenters/1/initContainers/0/image", True),
    }
    for use in inventory.uses:
        assert use.resource.kind == "K8ssandraCluster"
        assert use.reason
        (entry,) = use.effective_for
        # Server images from the ImageConfig v1.32.5 ships, Stargate from its defaults.
        assert entry["level"] in ("release", "default")


def test_single_dc_reaper_cluster(upstream: Path) -> None:
    inventory = find_images([str(upstream / K8SSANDRA / "fixtures/single-dc-reaper")])
    found = {(u.image, u.path, u.implicit, u.pulled) for u in inventory.uses}
    assert found == {
        # Written but partial: no registry, no tag; the CRD fills tag "latest".
        # Deprecated and ignored by the operator, so reported as not pulled.
        ("docker.io/library/busybox:latest", "/spec/cassandra/jmxInitContainerImage", False,
         False),
        ("docker.io/k8ssandra/cass-management-api:4.1.8-ubi",
         "/spec/cassandra/datacenters/0/serverImage", True, True),
        # No operator in the input: the newest release kpatch knows (v1.32.5), whose
        # ImageConfig ships Reaper 5.0.0 (config/cass-operator/imageconfig@v1.32.5).
        ("docker.io/thelastpickle/cassandra-reaper:5.0.0", "/spec/reaper/containerImage", True,
         True),
        # Vector on for Reaper with no image: the ImageConfig's system-logger (v1.30+,
        # pkg/reaper/vector.go:57@v1.32.5).
        ("docker.io/k8ssandra/system-logger:v1.30.2", "/spec/reaper/telemetry/vector/image",
         True, True),
        # cass-operator's containers in the Cassandra pod (Cassandra 4.1: k8ssandra-client).
        ("docker.io/k8ssandra/system-logger:v1.30.2",
         "/spec/cassandra/datacenters/0/containers/1/image", True, True),
        ("docker.io/k8ssandra/k8ssandra-client:v0.8.8",
         "/spec/cassandra/datacenters/0/initContainers/0/image", True, True),
    }
    assert inventory.warnings == [
        "k8ssandra-operator: no operator Deployment in the input and no --param "
        "k8ssandra-operator.operatorVersion=VERSION: assuming the newest release kpatch "
        "knows, v1.32.5"]


def test_medusa_sample_partial_block_merges_with_defaults(upstream: Path) -> None:
    sample = upstream / K8SSANDRA / "samples/k8ssandra-single-kind-medusa.yaml"
    inventory = find_images([str(sample)])
    found = {(u.image, u.path, u.implicit) for u in inventory.uses}
    assert found == {
        # registry and repository written; name from the operator, tag from the CRD default.
        ("docker.io/k8ssandra/medusa:latest", "/spec/medusa/containerImage", False),
        ("docker.io/k8ssandra/cass-management-api:4.0.17-ubi",
         "/spec/cassandra/datacenters/0/serverImage", True),
        ("docker.io/k8ssandra/system-logger:v1.30.2",
         "/spec/cassandra/datacenters/0/containers/1/image", True),
        ("docker.io/datastax/cass-config-builder:1.0-ubi",
         "/spec/cassandra/datacenters/0/initContainers/0/image", True),
    }
    (medusa,) = [u for u in inventory.uses if u.component == "medusa"]
    assert medusa.reason is not None and "name from operator default" in medusa.reason
    assert medusa.effective_for == [{"datacenter": "dc1", "component": "medusa",
                                     "level": "cluster"}]
