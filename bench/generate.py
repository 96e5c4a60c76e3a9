"""Generate synthetic bases for benchmarks: N resources, every image relocatable.

The mix follows what an operator install renders into: mostly Deployments and
StatefulSets with init containers and env vars, some Services and ConfigMaps,
and an ImageConfig ConfigMap.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEPLOYMENT = """\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: app-{i}
  namespace: ns-{ns}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      initContainers:
        - name: init
          image: docker.io/library/busybox:1.36.{minor}
          command: [sh, -c, "echo init"]
      containers:
        - name: main
          image: quay.io/org{org}/app-{i}:v1.{i}
          imagePullPolicy: IfNotPresent
          ports: [{{containerPort: 8080, name: http}}]
          env:
            - {{name: LOG_LEVEL, value: info}}
            - {{name: RELATED_IMAGE_HELPER, value: "ghcr.io/acme/helper:{minor}.0"}}
          resources:
            limits: {{cpu: 100m, memory: 128Mi}}
        - name: sidecar
          image: nginx:1.27.{minor}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: svc-{i}
  namespace: ns-{ns}
spec:
  selector: {{app: app-{i}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{i}
  namespace: ns-{ns}
data:
  settings.yaml: |
    level: info
    items: [a, b, c]
"""

IMAGE_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cass-operator-manager-config
  namespace: ns-0
data:
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta1
    kind: ImageConfig
    images:
      system-logger: docker.io/k8ssandra/system-logger:v1.26.0
      config-builder: docker.io/datastax/cass-config-builder:1.0-ubi
"""


def generate(count: int) -> str:
    docs = [IMAGE_CONFIG]
    for i in range(1, count):
        values = {"i": i, "ns": i % 7, "minor": i % 10, "org": i % 13}
        if i % 5 == 3:
            docs.append(SERVICE.format(**values))
        elif i % 5 == 4:
            docs.append(CONFIGMAP.format(**values))
        else:
            kind = "StatefulSet" if i % 5 == 2 else "Deployment"
            docs.append(DEPLOYMENT.format(kind=kind, **values))
    return "---\n".join(docs)


def write_base(folder: Path, count: int) -> Path:
    """A kustomization directory holding one generated stream."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resources.yaml").write_text(generate(count), encoding="utf-8")
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - resources.yaml\n", encoding="utf-8")
    return folder


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
