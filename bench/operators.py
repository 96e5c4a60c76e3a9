"""`make bench`, operator corpus: installs full of operator resources.

Every generated app is five documents: a Deployment, a Service, a ConfigMap, a
K8ssandraCluster (two datacenters, Stargate, Reaper, Medusa, Vector: nearly every
image implicit) and, in turn, a CassandraDatacenter or a RedisEnterpriseCluster
that leaves its images out. The stream starts with the three operators'
Deployments and an ImageConfig ConfigMap, so every release is known and every
image resolves. The implicit rules run for every operator resource: this is the
corpus on which a rule that scans the whole install per resource shows up.

`kpatch images` and `kpatch relocate` are timed against a bare CSafeLoader parse of
the same stream at 1,000, 5,000 and 20,000 documents; growth is the ratio of the
time per document at the largest size to that at the smallest (1.0 = linear).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    bare_parse,
    describe,
    interleaved,
    kpatch_images_json,
    relocate_plan,
    timing_result,
)

OPERATORS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cass-operator-controller-manager, namespace: cass-operator}
spec:
  template:
    spec:
      containers:
        - name: manager
          image: docker.io/k8ssandra/cass-operator:v1.26.0
          args: [--config=/configs/controller_manager_config.yaml]
          volumeMounts: [{name: manager-config, mountPath: /configs}]
      volumes:
        - name: manager-config
          configMap: {name: cass-operator-manager-config}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: k8ssandra-operator, namespace: k8ssandra-operator}
spec:
  template:
    spec:
      containers:
        - name: k8ssandra-operator
          image: docker.io/k8ssandra/k8ssandra-operator:v1.32.5
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: redis-enterprise-operator, namespace: redis}
spec:
  template:
    spec:
      containers:
        - name: redis-enterprise-operator
          image: redislabs/operator:7.2.4-7
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cass-operator-manager-config
  namespace: cass-operator
data:
  controller_manager_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: OperatorConfig
    imageConfigFile: /configs/image_config.yaml
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: ImageConfig
    images:
      system-logger: docker.io/k8ssandra/system-logger:v1.26.0
      config-builder: docker.io/datastax/cass-config-builder:1.0-ubi
      k8ssandra-client: docker.io/k8ssandra/k8ssandra-client:v0.8.1
    defaults:
      cassandra:
        repository: k8ssandra/cass-management-api
        suffix: -ubi
"""

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}, namespace: ns-{ns}}}
spec:
  template:
    spec:
      containers:
        - name: main
          image: quay.io/org{org}/app-{i}:v1.{i}
          env:
            - {{name: RELATED_IMAGE_HELPER, value: "ghcr.io/acme/helper:{minor}.0"}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: ns-{ns}}}
spec:
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings-{i}, namespace: ns-{ns}}}
data:
  level: info
---
apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata: {{name: cluster-{i}, namespace: ns-{ns}}}
spec:
  cassandra:
    serverVersion: "4.1.{minor}"
    telemetry:
      vector:
        enabled: true
        image: docker.io/timberio/vector:0.39.{minor}-alpine
    datacenters:
      - metadata: {{name: dc1}}
        size: 3
        stargate: {{size: 1}}
      - metadata: {{name: dc2}}
        size: 3
        containers:
          - name: agent
            image: quay.io/acme/agent:2.{minor}
  reaper:
    containerImage: {{repository: thelastpickle, name: cassandra-reaper, tag: 3.5.{minor}}}
  medusa:
    containerImage: {{repository: k8ssandra, name: medusa, tag: 0.21.{minor}}}
---
"""

DATACENTER = """\
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {{name: dc-{i}, namespace: cass-operator}}
spec:
  clusterName: c-{i}
  serverType: cassandra
  serverVersion: "4.0.{minor}"
  size: 3
"""

REDIS = """\
apiVersion: app.redislabs.com/v1
kind: RedisEnterpriseCluster
metadata: {{name: rec-{i}, namespace: redis}}
spec:
  nodes: 3
"""


def generate(documents: int) -> str:
    """About ``documents`` documents: the operators, then apps of five."""
    parts = [OPERATORS]
    for i in range(max(1, (documents - 4) // 5)):
        values = {"i": i, "ns": i % 7, "minor": i % 10, "org": i % 13}
        parts.append(APP.format(**values))
        parts.append((DATACENTER if i % 2 else REDIS).format(**values))
    return "---\n".join(parts)


def measure(text: str, stream: Path, base: Path, workdir: Path, repeats: int,
            results: list[dict[str, object]], size: int) -> tuple[float, float]:
    """Time images and relocate on one corpus; append both ratios to ``results``."""
    images = interleaved(repeats, lambda: bare_parse(text), lambda: kpatch_images_json(stream))
    results.append(timing_result(
        f"kpatch images --format json, operator corpus, {size} documents",
        "yaml.load_all(CSafeLoader) of the same stream", images, "<= 1.5"))
    relocate = interleaved(repeats, lambda: bare_parse(text),
                           lambda: relocate_plan(base, workdir / "operators-overlay"))
    results.append(timing_result(
        f"kpatch relocate (plan, check, overlay files), operator corpus, {size} documents",
        "yaml.load_all(CSafeLoader) of the same base", relocate, "<= 4"))
    return images.measured, relocate.measured


def warm_up(workdir: Path) -> None:
    """One untimed run of each command on a small corpus: the modules a command
    imports on first use (the rules, the JSON encoder) are start-up, which
    bench/startup.py measures, not part of the first timed round."""
    text = generate(60)
    stream = workdir / "operators-warm-up.yaml"
    stream.write_text(text, encoding="utf-8")
    base = workdir / "operators-base-warm-up"
    base.mkdir(exist_ok=True)
    (base / "resources.yaml").write_text(text, encoding="utf-8")
    kpatch_images_json(stream)
    relocate_plan(base, workdir / "operators-overlay")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--repeats", type=int, default=5,
                        help="rounds at 5,000 documents; in proportion at other sizes "
                             "(at least 3, at most 25)")
    parser.add_argument("--workdir", type=Path, default=HERE / "out",
                        help="where the corpora and operators.json go")
    args = parser.parse_args()
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    warm_up(workdir)
    results: list[dict[str, object]] = []
    per_document: dict[str, list[float]] = {"images": [], "relocate": []}
    for size in (int(s) for s in args.sizes.split(",")):
        text = generate(size)
        stream = workdir / f"operators-{size}.yaml"
        stream.write_text(text, encoding="utf-8")
        base = workdir / f"operators-base-{size}"
        base.mkdir(exist_ok=True)
        (base / "resources.yaml").write_text(text, encoding="utf-8")
        # About the same measuring time at every size: a round at 1,000
        # documents is a fifth of a second, where a neighbour's burst on this
        # 2-core machine moves one round's ratio by half; more rounds keep the
        # median steady there (25 rounds: 1.33 and 1.33 in two runs, where 5
        # rounds read 1.32 and 1.53).
        repeats = min(25, max(3, round(args.repeats * 5000 / size)))
        images, relocate = measure(text, stream, base, workdir, repeats, results, size)
        per_document["images"].append(images / size)
        per_document["relocate"].append(relocate / size)
    for name, values in per_document.items():
        if len(values) > 1:
            results.append({
                "benchmark": f"kpatch {name}, operator corpus: time per document, largest "
                             "size over smallest",
                "ratio": round(values[-1] / values[0], 2), "target": "~1 (linear)"})
    for result in results:
        print(describe(result))
    (workdir / "operators.json").write_text(json.dumps(results, indent=2) + "\n",
                                            encoding="utf-8")


if __name__ == "__main__":
    main()
