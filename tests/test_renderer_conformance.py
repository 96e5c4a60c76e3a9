"""The built-in renderer against real `kubectl kustomize`: a table of
kustomizations written here, each rendered by both and compared byte for byte
(key order, quoting, block scalars, indentation, document order). Refusals are part of the table: the built-in renderer must name
the field it does not support, and `auto` must then render what kubectl does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kpatch.errors import KpatchError
from kpatch.kustomize.builtin import BuiltinRenderer, Unsupported
from kpatch.render import render_tree
from tests.conftest import FIXTURES

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: nginx:1.25
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 80, name: http}]
        volumeMounts: [{name: data, mountPath: /data}]
      - name: sidecar
        image: docker.io/library/busybox:1.36
      initContainers:
      - name: init
        image: nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      volumes: [{name: data, emptyDir: {}}]
      tolerations: [{key: a}]
"""
MIXED = """\
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2, annotations: {team: blue}}
spec:
  deep: {containers: [{name: x, image: nginx:1.0}]}
  items: [{name: a, v: 1}, {name: b, v: 2}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {mode: fast}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {kind: ServiceAccount, name: web}
- {kind: ServiceAccount, name: default}
- {kind: ServiceAccount, name: elsewhere, namespace: far}
---
apiVersion: v1
kind: Namespace
metadata: {name: original}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {deep: {containers: [{name: y, image: "nginx"}]}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: hook}
webhooks: []
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: []
  containers: [{name: z, image: nginx:1.0}]
"""

# Text that kustomize prints in go-yaml v2's own way: natural key order, quoting
# only of strings that would read back as another type, literal blocks with
# every chomping indicator, folding at 80 columns, JSON's numbers.
STYLES = r"""kind: ConfigMap
metadata:
  name: styles
  labels: {z: "1", a: "yes", b: 'on', d: "1.0", e: ~, f: "null", g: "", h: "0x1F", i: "1_000"}
  annotations: {t: "2020-01-01", u: "1:20", v: "1e3", w: ".5", x: "+1", y: "0o17", yy: "08"}
apiVersion: v1
data:
  sub2: a
  sub10: b
  sub1: c
  Sub3: d
  a_b: x
  a-b: x
  ab: x
  a10b2: x
  a9b10: x
  a007: x
  a07: x
  "10": x
  "9": x
  multi: |
    line1
    line2
  chomped: "a\nb"
  kept: "line\n\n"
  leading: "\nlead"
  indented: " x\ny"
  trailing-space: "a  \nb"
  crlf: "x\r\ny"
  tab: "a\tb"
  bell: "a\u0007b"
  long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbb ccccc
  long-words: "aaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq"
  long-quoted: "yes aaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo: p"
  indicators: {p: "- a", q: "a #b", r: " lead", s: "trail ", t: "@x", u: "%x", v: "{x}", w: "-", x: "?"}
  unicode: "é 日本語"
spec:
  floats: [2.0, 1000000.0, 1.0e+25, 0.0000001, -0.0, 1.5, 1234567.5, 0.00012, 123456.125]
  ints: [0, -7, 0x1F, 012, 9007199254740993]
  when: 2020-01-01
  at: 2020-01-01T10:20:30Z
  nested:
    list:
    - - a
      - b
    - []
    - {}
    - {name: x, k: [1, 2]}
  "key with space": 1
  "yes": 2
  "": 3
"""

Case = dict[str, str]
CASES: dict[str, Case] = {
    "resources-files-dirs-and-order": {
        "kustomization.yaml": "resources: [mixed.yaml, base]\n",
        "mixed.yaml": MIXED,
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": DEPLOY,
    },
    "list-kind-is-expanded": {
        "kustomization.yaml": "resources: [list.yaml]\n",
        "list.yaml": "apiVersion: v1\nkind: List\nitems:\n"
                     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
                     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
    },
    "json6902-inline-and-path-with-test": {
        "kustomization.yaml": """\
resources: [deploy.yaml]
patches:
- target: {group: apps, version: v1, kind: Deployment, name: web}
  patch: |-
    - {op: test, path: /spec/template/spec/containers/0/name, value: web}
    - {op: replace, path: /spec/template/spec/containers/0/image, value: "registry.corp:5000/nginx:1.25"}
- path: ops.yaml
  target: {kind: Deployment}
""",
        "deploy.yaml": DEPLOY,
        "ops.yaml": "- op: add\n  path: /metadata/annotations\n  value: {a: b}\n"
                    "- op: remove\n  path: /spec/template/spec/tolerations\n",
    },
    "strategic-merge-named-lists-and-deletes": {
        "kustomization.yaml": "resources: [deploy.yaml, mixed.yaml]\npatches:\n"
                              "- path: smp.yaml\n- path: widget.yaml\n- path: gone.yaml\n",
        "deploy.yaml": DEPLOY,
        "mixed.yaml": MIXED,
        "smp.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: null, new: "yes"}}
spec:
  template:
    spec:
      containers:
      - name: extra
        image: extra:1
      - name: web
        env: [{name: C, value: "3"}, {name: A, $patch: delete}]
        ports: [{containerPort: 80, name: web-http}]
        volumeMounts: [{name: data2, mountPath: /data}]
      - name: sidecar
        $patch: delete
      volumes: [{name: cache, emptyDir: {}}]
      tolerations: [{key: b}]
      securityContext: {runAsNonRoot: true}
""",
        "widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\n"
                       "spec: {items: [{name: b, v: 3}], deep: {extra: 1}}\n",
        "gone.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, "
                     "namespace: other}\n$patch: delete\n",
    },
    "strategic-merge-replace-directives": {
        "kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- patch: |-\n"
                              "    apiVersion: apps/v1\n    kind: Deployment\n"
                              "    metadata: {name: web}\n    spec:\n      template:\n"
                              "        spec:\n          volumes:\n          - $patch: replace\n"
                              "          - {name: only, emptyDir: {}}\n"
                              "          securityContext: {$patch: delete}\n",
        "deploy.yaml": DEPLOY.replace("      tolerations", "      securityContext: {a: 1}\n"
                                      "      tolerations"),
    },
    "every-target-selector": {
        "kustomization.yaml": """\
resources: [mixed.yaml, deploy.yaml]
patches:
- target: {kind: Widget, name: "w.*"}
  patch: '[{"op": "add", "path": "/metadata/labels", "value": {"hit": "name-regex"}}]'
- target: {group: example.com, version: v1, kind: Widget, annotationSelector: "team in (blue,red)"}
  patch: '[{"op": "add", "path": "/spec/annotated", "value": true}]'
- target: {labelSelector: "tier=front,!missing"}
  patch: '[{"op": "add", "path": "/spec/type", "value": "ClusterIP"}]'
- target: {namespace: "oth.*", kind: ConfigMap}
  patch: '[{"op": "replace", "path": "/data/mode", "value": "slow"}]'
- target: {namespace: default, kind: ServiceAccount}
  patch: '[{"op": "add", "path": "/automountServiceAccountToken", "value": false}]'
- target: {kind: Deployment, labelSelector: "app notin (db)"}
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ignored-by-target}
    spec: {replicas: 3}
- target: {kind: Nothing}
  patch: '[{"op": "add", "path": "/x", "value": 1}]'
""",
        "mixed.yaml": MIXED,
        "deploy.yaml": DEPLOY,
    },
    "deprecated-patch-fields": {
        "kustomization.yaml": """\
resources: [deploy.yaml]
patchesStrategicMerge:
- smp.yaml
- |-
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec: {revisionHistoryLimit: 2}
patchesJson6902:
- target: {group: apps, version: v1, kind: Deployment, name: web}
  path: ops.yaml
""",
        "deploy.yaml": DEPLOY,
        "smp.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                    "spec: {replicas: 5}\n",
        "ops.yaml": "- {op: replace, path: /spec/replicas, value: 6}\n",
    },
    "images": {
        "kustomization.yaml": """\
resources: [deploy.yaml, mixed.yaml]
images:
- {name: nginx, newName: registry.corp:5000/library/nginx}
- {name: registry.corp:5000/library/nginx, newTag: "1.27"}
- {name: docker.io/library/busybox, digest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
""",
        "deploy.yaml": DEPLOY,
        "mixed.yaml": MIXED,
    },
    "namespace": {
        "kustomization.yaml": "namespace: prod\nresources: [mixed.yaml, deploy.yaml]\n",
        "mixed.yaml": MIXED,
        "deploy.yaml": DEPLOY,
    },
    "labels-and-annotations": {
        "kustomization.yaml": """\
resources: [deploy.yaml, mixed.yaml, jobs.yaml]
commonLabels: {team: platform}
labels:
- pairs: {plain: "true"}
- pairs: {tmpl: "true"}
  includeTemplates: true
- pairs: {sel: "true"}
  includeSelectors: true
commonAnnotations: {owner: kpatch}
""",
        "deploy.yaml": DEPLOY,
        "mixed.yaml": MIXED,
        "jobs.yaml": """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec: {minAvailable: 1}
""",
    },
    "components": {
        "kustomization.yaml": "resources: [deploy.yaml]\ncomponents: [../shared]\n"
                              "commonLabels: {layer: app}\n",
        "deploy.yaml": DEPLOY,
        "../shared/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [extra.yaml]
patches:
- target: {kind: Deployment}
  patch: '[{"op": "add", "path": "/spec/replicas", "value": 2}]'
images:
- {name: nginx, newTag: "1.26"}
""",
        "../shared/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
    },
    "text-styles-keys-and-numbers": {
        "kustomization.yaml": "resources: [styles.yaml]\ncommonLabels: {app10: web, app9: web}\n",
        "styles.yaml": STYLES,
    },
    "nested-overlay-of-an-overlay": {
        "kustomization.yaml": "resources: [mid]\nnamespace: top\n"
                              "images: [{name: nginx, newTag: latest}]\n",
        "mid/kustomization.yaml": "resources: [../base]\npatches:\n- target: {kind: Deployment}\n"
                                  "  patch: '[{\"op\": \"add\", \"path\": \"/spec/paused\", "
                                  "\"value\": true}]'\n",
        "base/kustomization.yaml": "resources: [deploy.yaml]\nnamespace: low\n",
        "base/deploy.yaml": DEPLOY,
    },
}

REFUSED = {
    "configMapGenerator": "configMapGenerator:\n- {name: c, literals: [a=b]}\n",
    "secretGenerator": "secretGenerator:\n- {name: s, literals: [a=b]}\n",
    "namePrefix": "namePrefix: pre-\n",
    "nameSuffix": "nameSuffix: -post\n",
    "replacements": "replacements:\n- source: {kind: Deployment, name: web, fieldPath: "
                    "metadata.name}\n  targets: [{select: {kind: Service}, fieldPaths: "
                    "[metadata.annotations.x], options: {create: true}}]\n",
    "replicas": "replicas:\n- {name: web, count: 4}\n",
    "patches options": "patches:\n- target: {kind: Deployment}\n"
                       "  options: {allowNameChange: true}\n"
                       "  patch: '[{\"op\": \"add\", \"path\": \"/spec/paused\", "
                       "\"value\": true}]'\n",
}


def write(folder: Path, files: Case) -> Path:
    root = folder / "case"
    for name, text in files.items():
        path = (root / name).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def kubectl_text(root: Path) -> str:
    done = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def kubectl(root: Path) -> list[object]:
    return [d for d in yaml.safe_load_all(kubectl_text(root)) if d is not None]


@pytest.mark.parametrize("name", sorted(CASES))
def test_builtin_equals_kubectl(name: str, tmp_path: Path) -> None:
    root = write(tmp_path, CASES[name])
    BuiltinRenderer().check(root)
    # Not only the same content: the same bytes, so `kpatch build` can replace
    # `kubectl kustomize` in a pipeline that writes files into git.
    assert BuiltinRenderer().render(root) == kubectl_text(root)


@pytest.mark.parametrize("name", ["text-styles-keys-and-numbers", "images"])
def test_kpatch_build_prints_kubectl_bytes(name: str, tmp_path: Path) -> None:
    root = write(tmp_path, CASES[name])
    done = subprocess.run([sys.executable, "-m", "kpatch", "build", str(root)],
                          capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == f"kpatch: rendered {root} with the built-in renderer\n"
    assert done.stdout == kubectl_text(root).encode()


def test_fixture_trees_build_like_kubectl() -> None:
    built = 0
    for kustomization in sorted(FIXTURES.glob("*/kustomization.yaml")):
        root = kustomization.parent
        try:
            BuiltinRenderer().check(root)
        except Unsupported:
            continue
        assert BuiltinRenderer().render(root) == kubectl_text(root), root
        built += 1
    assert built >= 3


@pytest.mark.parametrize("field", sorted(REFUSED))
def test_builtin_refuses_and_auto_falls_back(field: str, tmp_path: Path) -> None:
    root = write(tmp_path, {"kustomization.yaml": "resources: [deploy.yaml]\n" + REFUSED[field],
                            "deploy.yaml": DEPLOY,
                            "svc.yaml": MIXED.split("---")[0]})
    with pytest.raises(Unsupported) as caught:
        BuiltinRenderer().check(root)
    assert field.split()[0] in str(caught.value)
    rendered = render_tree(root, "auto")
    assert rendered.renderer in ("kubectl", "kustomize")
    assert rendered.fallback_reason is not None
    assert [d for d in yaml.safe_load_all(rendered.as_text()) if d] == kubectl(root)


def test_remote_resources_are_refused(tmp_path: Path) -> None:
    root = write(tmp_path, {"kustomization.yaml":
                            "resources: [https://github.com/example/repo//config?ref=v1]\n"})
    with pytest.raises(Unsupported, match="remote resources"):
        BuiltinRenderer().check(root)


@pytest.mark.parametrize("layout", ["file", "symlink", "patch"])
def test_load_restriction_holds(layout: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    if layout == "file":
        (root / "kustomization.yaml").write_text("resources: [../outside.yaml]\n")
    elif layout == "symlink":
        (root / "link.yaml").symlink_to(outside)
        (root / "kustomization.yaml").write_text("resources: [link.yaml]\n")
    else:
        (root / "cm.yaml").write_text(outside.read_text())
        (root / "kustomization.yaml").write_text(
            "resources: [cm.yaml]\npatches:\n- path: ../outside.yaml\n")
    with pytest.raises(KpatchError, match="is not in or below"):
        BuiltinRenderer().build(root)
    done = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "is not in or below" in done.stderr


def test_a_failing_test_operation_fails_both(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- target: {kind: Deployment}\n"
                              "  patch: '[{\"op\": \"test\", \"path\": \"/spec/template/spec/"
                              "containers/0/name\", \"value\": \"renamed\"}]'\n",
        "deploy.yaml": DEPLOY})
    with pytest.raises(KpatchError, match="test operation in the patch failed"):
        BuiltinRenderer().build(root)
    done = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "test failed" in done.stderr


def test_builtin_renders_the_upstream_components_tree_or_refuses(upstream: Path) -> None:
    # The cass-operator tree uses generators and a name prefix: refused, by name.
    with pytest.raises(Unsupported) as caught:
        BuiltinRenderer().check(upstream / "cass-operator-v1.26.0/config/deployments/cluster")
    assert caught.value.what.startswith("the field")


def test_a_target_naming_a_namespace_from_before_the_base_moved_it(tmp_path: Path) -> None:
    # kustomize matches the resource's earlier namespace too; the built-in
    # renderer does not track earlier ids, so it must refuse, never skip the patch.
    root = write(tmp_path, {
        "kustomization.yaml": "resources: [base]\npatches:\n"
                              "- target: {kind: ConfigMap, namespace: orig}\n"
                              "  patch: '[{\"op\": \"add\", \"path\": \"/data/x\", \"value\": \"y\"}]'\n",
        "base/kustomization.yaml": "namespace: moved\nresources: [cm.yaml]\n",
        "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: orig}\n"
                        "data: {a: b}\n"})
    expected = kubectl(root)
    assert expected[0]["data"] == {"a": "b", "x": "y"}  # kustomize did patch it
    with pytest.raises(Unsupported, match="before a namespace change"):
        BuiltinRenderer().build(root)
    rendered = render_tree(root, "auto")
    assert rendered.renderer != "builtin"
    assert [d for d in yaml.safe_load_all(rendered.as_text()) if d] == expected


def test_build_leaves_yaml_11_plain_values_to_kubectl(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads these as a boolean, a base-60 int, a string and a
    # string; kustomize (YAML 1.2) as strings, a string, 15 and 1000.
    root = write(tmp_path, {
        "kustomization.yaml": "resources: [cm.yaml]\n",
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                   "data: {flag: yes, time: 1:20, quoted: 'on'}\n"
                   "spec: {octal: 0o17, exp: 1e3}\n"})
    done = subprocess.run([sys.executable, "-m", "kpatch", "build", str(root)],
                          capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == kubectl_text(root).encode()
    assert "the built-in renderer does not support the plain value 'yes'" in done.stderr.decode()


def test_ambiguous_scalars_are_plain_ones_only() -> None:
    from kpatch.yaml12 import ambiguous_scalars

    text = "a: yes\nb: 'yes'\nc: \"on\"\nd: 1:20\ne: 0o17\nf: 1e3\ng: 1.0e3\nh: true\ni: |\n  on\n"
    assert [(s.line, s.value) for s in ambiguous_scalars(text)] == [
        (1, "yes"), (4, "1:20"), (5, "0o17"), (6, "1e3")]
    assert list(ambiguous_scalars("a: [unclosed\n")) == []
