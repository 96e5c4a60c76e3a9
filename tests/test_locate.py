"""The locator, kustomize-filter style: a table of YAML in, image uses out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from kpatch.errors import KpatchError
from kpatch.inventory import build_inventory
from kpatch.profile import Segment, load_profiles
from kpatch.yamlio import load_stream

from .conftest import FIXTURES

PROFILES = load_profiles()


def located(text: str) -> list[tuple[str | None, str, str]]:
    inventory = build_inventory(load_stream(text, "in.yaml"), PROFILES, {})
    return [(u.image, u.path, u.shape) for u in inventory.uses]


CASES = [
    pytest.param(
        """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: "a:1"}]
  initContainers: [{name: b, image: "b:1"}]
""",
        [("a:1", "/spec/containers/0/image", "string"),
         ("b:1", "/spec/initContainers/0/image", "string")],
        id="pod-containers-and-init",
    ),
    pytest.param(
        """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: a
          image: null
""",
        [],
        id="null-image-is-skipped",
    ),
    pytest.param(
        """
apiVersion: example.com/v1
kind: Deployment
metadata: {name: not-apps}
spec:
  template:
    spec:
      containers: [{name: a, image: "a:1"}]
""",
        # The core profile does not claim a Deployment of another group; its pod
        # spec is still found, by the generic walk (profile "generic", tested in
        # tests/test_generic_pod_specs.py).
        [("a:1", "/spec/template/spec/containers/0/image", "string")],
        id="kind-matches-only-in-its-group-generic-walk-still-finds-pods",
    ),
    pytest.param(
        """
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  other.yaml: "kind: Something"
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta2
    kind: ImageConfig
    defaults: {registry: r.example}
    overrides: {repository: mirror}
    images:
      a: {repository: x, name: a, tag: "1"}
      b: {registry: own.example, name: b, digest: "sha256:%s"}
""" % ("c" * 64),
        [("r.example/mirror/a:1", "/data/image_config.yaml#/images/a", "embedded"),
         ("own.example/mirror/b@sha256:" + "c" * 64, "/data/image_config.yaml#/images/b",
          "embedded")],
        id="v1beta2-overrides-beat-blocks-defaults-fill-gaps",
    ),
    pytest.param(
        """
apiVersion: app.redislabs.com/v1
kind: RedisEnterpriseCluster
metadata: {name: r}
spec:
  redisEnterpriseImageSpec:
    repository: gcr.io/p/redislabs/redis
    versionTag: 7.2.4-64
    digestHash: sha256:%s
  bootstrapperImageSpec: {repository: gcr.io/p/redislabs/operator, versionTag: 7.2.4-7}
  redisEnterpriseServicesRiggerImageSpec:
    repository: gcr.io/p/redislabs/k8s-controller
    versionTag: 7.2.4-7
""" % ("d" * 64),
        [("gcr.io/p/redislabs/redis:7.2.4-64@sha256:" + "d" * 64,
          "/spec/redisEnterpriseImageSpec", "block"),
         ("gcr.io/p/redislabs/operator:7.2.4-7", "/spec/bootstrapperImageSpec", "block"),
         ("gcr.io/p/redislabs/k8s-controller:7.2.4-7",
          "/spec/redisEnterpriseServicesRiggerImageSpec", "block")],
        id="redis-specs-with-registry-in-repository",
    ),
    pytest.param(
        """
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata: {name: csv}
spec:
  relatedImages:
    - {name: x, image: "quay.io/x/y:1"}
  install:
    spec:
      deployments:
        - name: op
          spec:
            template:
              spec:
                containers:
                  - name: op
                    image: quay.io/x/op:1
                    env: [{name: RELATED_IMAGE_Y, value: "quay.io/x/y:1"}]
""",
        [("quay.io/x/y:1", "/spec/relatedImages/0/image", "string"),
         ("quay.io/x/op:1",
          "/spec/install/spec/deployments/0/spec/template/spec/containers/0/image", "string"),
         ("quay.io/x/y:1",
          "/spec/install/spec/deployments/0/spec/template/spec/containers/0/env/0/value", "env")],
        id="olm-cluster-service-version",
    ),
    pytest.param(
        """
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {name: dc}
spec:
  serverType: hcd
  serverVersion: 1.0.0
""",
        # No operator and no ImageConfig: the newest release and the ImageConfig it
        # ships, which has no types.hcd: the operator fails, no HCD image is invented.
        [(None, "/spec/serverImage", "implicit"),
         ("docker.io/k8ssandra/system-logger:v1.32.0", "/spec/systemLoggerImage", "implicit"),
         ("docker.io/k8ssandra/k8ssandra-client:v0.8.12",
          "/spec/podTemplateSpec/spec/initContainers/0/image", "implicit")],
        id="cassdc-without-imageconfig-uses-shipped-default",
    ),
    pytest.param(
        """
apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
        - name: manager
          image: k8ssandra/cass-operator:v1.26.0
          volumeMounts: [{name: cfg, mountPath: /configs}]
      volumes: [{name: cfg, configMap: {name: cfg}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: ImageConfig
    imageRegistry: registry.corp:5000
    imageNamespace: internal
    defaults:
      dse: {repository: cr.dtsx.io/datastax/dse-mgmtapi-6_8, suffix: -ubi8}
---
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {name: dc}
spec: {serverType: dse, serverVersion: 6.8.50}
""",
        # v1.26.0 reads /configs/image_config.yaml (its default); the registry and
        # namespace apply to the named images too, which this config leaves empty.
        [("k8ssandra/cass-operator:v1.26.0", "/spec/template/spec/containers/0/image",
          "string"),
         ("registry.corp:5000/internal/dse-mgmtapi-6_8:6.8.50-ubi8", "/spec/serverImage",
          "implicit"),
         (None, "/spec/systemLoggerImage", "implicit"),
         (None, "/spec/configBuilderImage", "implicit")],
        id="v1beta1-registry-and-namespace-overrides",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_locate(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert located(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
         "    - {name: a, image: 42}\n", "image must be a string, not number"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
         "    - {name: a, image: ''}\n", "invalid image reference '': empty"),
        ("apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata: {name: k}\n"
         "spec:\n  medusa:\n    containerImage: docker.io/k8ssandra/medusa:1\n",
         "image block must be a mapping, not string"),
    ],
)
def test_wrong_shapes_are_errors_with_a_pointer(text: str, message: str) -> None:
    with pytest.raises(KpatchError) as caught:
        located(text)
    assert message in str(caught.value)
    assert caught.value.location.pointer
    assert caught.value.location.line is not None


def test_the_spec_trie_finds_what_walking_each_spec_alone_finds() -> None:
    """The locator walks all of a kind's specs at once; the result must be the
    same hits in the same order as the single-path reference walk."""
    from kpatch.locate import FieldIndex

    index = FieldIndex(PROFILES)
    checked = 0
    for path in sorted(FIXTURES.rglob("*.yaml")):
        if "bad" in path.parts or "profiles" in path.parts:
            continue
        for doc in load_stream(path.read_text(encoding="utf-8"), str(path)):
            data = doc.data
            if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
                continue
            api, kind = str(data.get("apiVersion", "")), data["kind"]
            one_by_one = [(spec, hit) for spec in index.specs_for(api, kind)
                          for hit in walk(data, spec.path)]
            together = index.trie_for(api, kind).walk(data)
            assert [(s, h[3]) for s, h in together] == [(s, h[3]) for s, h in one_by_one]
            checked += len(one_by_one)
    assert checked > 50


# The single-path walk the locator used before SpecTrie: kept here as the oracle
# the trie is checked against.
def walk(
    node: Any, segments: Sequence[Segment], tokens: tuple[str | int, ...] = (),
    misshapen: list[tuple[Any, str | int, Any, tuple[str | int, ...]]] | None = None,
) -> list[tuple[Any, str | int, Any, tuple[str | int, ...]]]:
    """(parent, key, value, tokens) for every value one spec's path reaches, in
    document order. The locator walks all of a kind's specs at once
    (:class:`SpecTrie`); this single-path walk is the reference it is tested against.

    A ``name[]`` step that finds something other than a list (``containers: 7``)
    goes to ``misshapen`` when given: images could hide there.
    """
    frontier: list[tuple[Any, tuple[str | int, ...]]] = [(node, tokens)]
    last = len(segments) - 1
    found: list[tuple[Any, str | int, Any, tuple[str | int, ...]]] = []
    for depth, segment in enumerate(segments):
        following: list[tuple[Any, tuple[str | int, ...]]] = []
        for current, path in frontier:
            if not isinstance(current, dict):
                continue
            if segment.key == "*":
                keys = [k for k in current if isinstance(k, str)]
            elif segment.key in current:
                keys = [segment.key]
            else:
                continue
            for key in keys:
                value = current[key]
                key_path = (*path, key)
                if segment.each:
                    if not isinstance(value, list):
                        if value is not None and misshapen is not None:
                            misshapen.append((current, key, value, key_path))
                        continue
                    for index, item in enumerate(value):
                        if depth == last:
                            found.append((value, index, item, (*key_path, index)))
                        else:
                            following.append((item, (*key_path, index)))
                elif depth == last:
                    found.append((current, key, value, key_path))
                else:
                    following.append((value, key_path))
        frontier = following
        if not frontier:
            break
    return found


@pytest.mark.parametrize("tokens", [
    (), ("a",), ("a", 0, "b"), ("a/b", "c"), ("~x", 1), ("", ""), ("a", ""), ("x~1/", "y"),
    ("/",), ("~",), ("a", "b/c/d", 7)])
def test_pointer_escapes_exactly_as_rfc_6901_says(tokens: tuple[str | int, ...]) -> None:
    from kpatch.model import pointer

    escaped = [str(t).replace("~", "~0").replace("/", "~1") for t in tokens]
    assert pointer(tokens) == ("/" + "/".join(escaped) if tokens else "")
