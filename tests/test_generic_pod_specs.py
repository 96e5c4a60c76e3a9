"""The generic pod-spec walk: images in kinds no profile names are found and relocated."""

from __future__ import annotations

from typing import Any

import pytest

from kpatch.inventory import find_images
from kpatch.locate import find_pod_specs

from .conftest import FIXTURES


def test_kinds_no_profile_names_are_inventoried_with_a_note() -> None:
    inventory = find_images([str(FIXTURES / "generic-workloads")], )
    found = sorted((u.resource.kind, u.path, u.image, u.profile, u.component)
                   for u in inventory.uses)
    assert found == [
        ("Rollout", "/spec/template/spec/containers/0/image", "quay.io/acme/storefront:2.4.1",
         "generic", "container"),
        ("Rollout", "/spec/template/spec/initContainers/0/image",
         "ghcr.io/acme/storefront-migrate:2.4.1", "generic", "init-container"),
        ("Service", "/spec/template/spec/containers/0/image",
         "gcr.io/knative-samples/helloworld-go@sha256:"
         "4d4f0e3ea61e3e1fe4ecb2b4e8a4a6e5b8e7f1c2d3a4b5c6d7e8f9a0b1c2d3e4", "generic",
         "container"),
        ("WidgetPool", "/spec/pools/0/podSpec/containers/0/image", "acme/widget-worker:1.0.3",
         "generic", "container"),
        ("WidgetPool", "/spec/pools/0/podSpec/volumes/0/image/reference",
         "registry.example.com/models/widget-model:7", "generic", "image-volume"),
    ]
    for use in inventory.uses:
        assert use.note == (f"no profile names {use.resource.kind}: found by kpatch's generic "
                            "pod-spec walk")
    rollout = next(u for u in inventory.uses if u.component == "container"
                   and u.resource.kind == "Rollout")
    assert rollout.pull_policy == "Always"
    assert rollout.spec is not None and rollout.spec.pod_spec_depth == 3


def test_a_place_a_profile_reports_is_not_reported_twice() -> None:
    # K8ssandraCluster's containers lists are PodSpec-shaped and profile-known.
    inventory = find_images([str(FIXTURES / "k8ssandra-cluster")])
    places = [(u.resource, u.path) for u in inventory.uses]
    assert len(places) == len(set(places))
    assert not any(u.profile == "generic" for u in inventory.uses)


def test_core_kinds_are_left_to_the_core_profile() -> None:
    inventory = find_images([str(FIXTURES / "workloads")])
    assert inventory.uses
    assert {u.profile for u in inventory.uses} <= {"core", "olm"}


@pytest.mark.parametrize(("data", "expected"), [
    ({"containers": [{"name": "a", "image": "a:1"}]}, [()]),
    ({"a": [{"b": {"containers": [{"image": "x"}]}}]}, [("a", 0, "b")]),
    # Not PodSpec-shaped: strings, a number, empty, no image anywhere, mixed items.
    ({"containers": ["a:1"]}, []),
    ({"containers": 7}, []),
    ({"containers": []}, []),
    ({"containers": [{"name": "a"}]}, []),
    ({"containers": [{"name": "a", "image": "a:1"}, "b"]}, []),
    # Nested pod specs are all found, outermost first.
    ({"spec": {"containers": [{"image": "a"}],
               "x": {"containers": [{"image": "b"}]}}}, [("spec",), ("spec", "x")]),
])
def test_pod_spec_shape(data: Any, expected: list[tuple[Any, ...]]) -> None:
    assert [tokens for _, tokens in find_pod_specs(data)] == expected
