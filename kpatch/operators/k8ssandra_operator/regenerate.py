"""Rewrite releases.yaml from a local clone of k8ssandra/k8ssandra-operator.

    python -m kpatch.operators.k8ssandra_operator.regenerate CLONE_DIR [--output FILE]

Reads every release tag ``vMAJOR.MINOR.PATCH`` from 1.0.0 on (pre-releases
and ``docs-*`` tags are not releases) with ``git show TAG:PATH`` and writes one
row per release: the default images the operator's code falls back to, the
ImageConfig its install ships (v1.27.0 on), the cass-operator it installs and
which code path decides each image. Every value carries the file and line it
was read from, so a reviewer checks a new release's diff against the code.

A new upstream release = this command and a reviewed diff of releases.yaml.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = "k8ssandra/k8ssandra-operator"
FIRST_RELEASE = (1, 0, 0)
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
OUTPUT = Path(__file__).with_name("releases.yaml")

Source = dict[str, Any]


class Clone:
    """Read-only access to one tag of the clone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def tags(self) -> list[str]:
        found = []
        for tag in self.git("tag", "--list").split():
            match = RELEASE_TAG.match(tag)
            if match and tuple(map(int, match.groups())) >= FIRST_RELEASE:
                found.append(tag)
        return sorted(found, key=lambda t: tuple(map(int, t[1:].split("."))))

    def show(self, tag: str, path: str) -> str | None:
        done = subprocess.run(["git", "-C", str(self.path), "show", f"{tag}:{path}"],
                              capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def commit(self, tag: str) -> str:
        return self.git("rev-list", "-n", "1", tag).strip()


def _find(text: str | None, pattern: str) -> tuple[re.Match[str], int] | None:
    """First match of ``pattern`` (multiline) and its 1-based line."""
    if text is None:
        return None
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        return None
    return match, text.count("\n", 0, match.start()) + 1


def _const(text: str | None, name: str) -> tuple[str, int] | None:
    found = _find(text, rf"^\s*{name}\s*=\s*\"([^\"]*)\"")
    return (found[0].group(1), found[1]) if found else None


def _struct_has_registry(text: str | None, var: str) -> bool:
    found = _find(text, rf"{var}\s*=\s*images\.Image\{{([^}}]*)\}}")
    return bool(found and "Registry:" in found[0].group(1))


def _code_default(clone: Clone, tag: str, path: str, var: str,
                  consts: dict[str, str]) -> Source | None:
    """A default image written as Go constants (repository, name, version)."""
    text = clone.show(tag, path)
    values: dict[str, Any] = {}
    line = None
    for part, const in consts.items():
        found = _const(text, const)
        if found is None:
            return None
        values[part] = found[0]
        if part == "tag":
            line = found[1]
    if _struct_has_registry(text, var):
        values["registry"] = "docker.io"  # images.DefaultRegistry, fixed at this release
    return {"image": values, "file": path, "line": line}


def _image_config(clone: Clone, tag: str) -> Source | None:
    path = "config/cass-operator/imageconfig/patch-image-config.yaml"
    text = clone.show(tag, path)
    if text is None:
        return None
    patch = yaml.safe_load(text)
    embedded = (patch.get("data") or {}).get("image_config.yaml")
    if not isinstance(embedded, str):
        return None
    document = yaml.safe_load(embedded)
    document.pop("metadata", None)
    return {"document": document, "file": path, "line": 1}


def _cass_operator_ref(clone: Clone, tag: str) -> Source | None:
    for path in ("config/cass-operator/cluster-scoped/kustomization.yaml",
                 "config/cass-operator/kustomization.yaml",
                 "config/cass-operator/ns-scoped/kustomization.yaml"):
        found = _find(clone.show(tag, path), r"cass-operator/config/[^?\s]*\?ref=(\S+)")
        if found:
            return {"ref": found[0].group(1), "file": path, "line": found[1]}
    return None


def _uses(clone: Clone, tag: str, path: str, pattern: str) -> Source | None:
    found = _find(clone.show(tag, path), pattern)
    return {"file": path, "line": found[1]} if found else None


def _vector(clone: Clone, tag: str) -> dict[str, Any]:
    """Default Vector image of the Reaper/Stargate sidecars and of Cassandra pods."""
    out: dict[str, Any] = {}
    for component in ("reaper", "stargate"):
        path = f"pkg/{component}/vector.go"
        logger = _uses(clone, tag, path, r"GetSystemLoggerImage\(\)")
        if logger:
            out[component] = {"from": "imageconfig:system-logger", **logger}
            continue
        code = _uses(clone, tag, path, r"vector\.DefaultVectorImage")
        if code:
            out[component] = {"from": "code", **code}
    constant = _const(clone.show(tag, "pkg/vector/vector.go"), "DefaultVectorImage")
    if constant:
        out["image"] = {"image": constant[0], "file": "pkg/vector/vector.go", "line": constant[1]}
    cassandra = _uses(clone, tag, "pkg/telemetry/vector.go",
                      r"vectorImage := vector\.DefaultVectorImage")
    if cassandra:
        out["cassandra"] = {"from": "code", **cassandra}
    else:
        kept = _uses(clone, tag, "pkg/telemetry/vector.go", r"loggerContainer\.Image = ")
        if kept:
            out["cassandra"] = {"from": "system-logger", **kept}
    return out


def _stargate(clone: Clone, tag: str) -> Source | None:
    path = "pkg/stargate/deployments.go"
    text = clone.show(tag, path)
    version = _const(text, "DefaultVersion")
    repository = _const(text, "DefaultImageRepository")
    if version is None or repository is None:
        return None
    names = {"3": _const(text, "DefaultImageName3"), "4": _const(text, "DefaultImageName4"),
             "dse68": _const(text, "DefaultImageNameDse68")}
    image: dict[str, Any] = {"repository": repository[0], "tag": "v" + version[0]}
    if _struct_has_registry(text, "defaultImage3"):
        image["registry"] = "docker.io"
    return {"image": image, "names": {k: v[0] for k, v in names.items() if v},
            "file": path, "line": version[1]}


def _kubebuilder_default(clone: Clone, tag: str, path: str, field: str) -> Source | None:
    text = clone.show(tag, path)
    found = _find(text, rf"\+kubebuilder:default=\{{([^}}]*)\}}\s*\n\s*{field} \*images\.Image")
    if found is None:
        return None
    value = {k: v for k, v in re.findall(r"(\w+):\s*\"([^\"]*)\"", found[0].group(1))}
    return {"value": value, "file": path, "line": found[1]}


def _jmx_init(clone: Clone, tag: str) -> Source | None:
    if _uses(clone, tag, "pkg/cassandra/auth.go", r"JmxInitContainerImage\.ApplyDefaults") is None:
        return None
    path = "pkg/cassandra/datacenter.go"
    found = _find(clone.show(tag, path),
                  r"DefaultJmxInitImage = images\.Image\{[^}]*Name:\s*\"([^\"]+)\"[^}]*"
                  r"Tag:\s*\"([^\"]+)\"")
    if found is None:
        return None
    image = {"registry": "docker.io", "repository": "library", "name": found[0].group(1),
             "tag": found[0].group(2)}
    return {"image": image, "file": path, "line": found[1]}


def _per_node_init(clone: Clone, tag: str) -> Source | None:
    path = "pkg/nodeconfig/mount.go"
    text = clone.show(tag, path)
    client = _find(text, r"perNodeConfigInitContainer\.Image = registry\.GetClientImage\(\)")
    if client:
        return {"from": "imageconfig:k8ssandra-client", "file": path, "line": client[1]}
    constant = _const(text, "defaultPerNodeConfigInitContainerImage")
    if constant:
        return {"from": "code", "image": constant[0], "file": path, "line": constant[1]}
    return None


def _purge_cron_job(clone: Clone, tag: str) -> Source | None:
    path = "pkg/medusa/reconcile.go"
    found = _find(clone.show(tag, path), r"Image:\s*\"(bitnami/kubectl:[^\"]+)\"")
    if found is None:
        return None
    default_on = _find(clone.show(tag, "apis/medusa/v1alpha1/medusa_types.go"),
                       r"\+kubebuilder:default=true\s*\n(?:\s*//.*\n)*\s*PurgeBackups")
    return {"image": found[0].group(1), "file": path, "line": found[1],
            "purgeBackupsDefault": True if default_on else None}


def release_row(clone: Clone, tag: str) -> dict[str, Any]:
    """Everything kpatch needs to know about one release, with provenance."""
    row: dict[str, Any] = {"release": tag, "commit": clone.commit(tag)}
    config = _image_config(clone, tag)
    from_config = _uses(clone, tag, "pkg/reaper/deployment.go", r'registry\.Image\("reaper"\)')
    row["cassOperator"] = _cass_operator_ref(clone, tag)
    row["imageConfig"] = config
    if from_config:
        row["reaper"] = {"from": "imageconfig:reaper", **from_config}
        row["medusa"] = {"from": "imageconfig:medusa",
                         **(_uses(clone, tag, "pkg/medusa/reconcile.go",
                                  r'registry\.Image\("medusa"\)') or {})}
    else:
        row["reaper"] = {"from": "code", **(_code_default(
            clone, tag, "pkg/reaper/deployment.go", "defaultImage",
            {"repository": "DefaultImageRepository", "name": "DefaultImageName",
             "tag": "DefaultVersion"}) or {})}
        row["medusa"] = {"from": "code", **(_code_default(
            clone, tag, "pkg/medusa/reconcile.go", "defaultMedusaImage",
            {"repository": "DefaultMedusaImageRepository", "name": "DefaultMedusaImageName",
             "tag": "DefaultMedusaVersion"}) or {})}
    own_init = _uses(clone, tag, "pkg/reaper/deployment.go",
                     r"InitContainerImage\.ApplyDefaults")
    main_init = _uses(clone, tag, "pkg/reaper/deployment.go", r"Image:\s+mainImage\.String\(\)")
    row["reaperInit"] = ({"from": "initContainerImage", **own_init} if own_init
                         else {"from": "main", **(main_init or {})})
    row["reaperRef"] = _uses(clone, tag, "apis/reaper/v1alpha1/reaper_types.go", r"ReaperRef ")
    row["stargate"] = _stargate(clone, tag)
    row["vector"] = _vector(clone, tag)
    row["perNodeConfigInit"] = _per_node_init(clone, tag)
    row["jmxInit"] = _jmx_init(clone, tag)
    row["purgeCronJob"] = _purge_cron_job(clone, tag)
    row["defaultRegistryEnv"] = _uses(clone, tag, "pkg/config/config.go", r"DEFAULT_REGISTRY")
    row["podTemplateFields"] = _uses(
        clone, tag, "apis/k8ssandra/v1alpha1/k8ssandracluster_types.go",
        r"ExtraVolumes \*K8ssandraVolumes")
    row["crdDefaults"] = {
        "stargateContainerImage": _kubebuilder_default(
            clone, tag, "apis/stargate/v1alpha1/stargate_types.go", "ContainerImage"),
        "reaperContainerImage": _kubebuilder_default(
            clone, tag, "apis/reaper/v1alpha1/reaper_types.go", "ContainerImage"),
        "imageTag": _uses(clone, tag, "pkg/images/images.go", r'\+kubebuilder:default="latest"'),
    }
    return row


HEADER = """\
# k8ssandra-operator release table, generated by
#   python -m kpatch.operators.k8ssandra_operator.regenerate CLONE_DIR
# from a clone of https://github.com/k8ssandra/k8ssandra-operator. Do not edit by hand:
# every value names the file and line (at the row's release tag) it was read from.
"""


def regenerate(clone_dir: Path) -> str:
    clone = Clone(clone_dir)
    rows = [release_row(clone, tag) for tag in clone.tags()]
    if not rows:
        raise RuntimeError(f"{clone_dir}: no release tags v1.0.0 or later")
    table = {"repository": REPOSITORY, "releases": rows}
    return HEADER + yaml.safe_dump(table, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clone", type=Path, help="local clone of k8ssandra/k8ssandra-operator")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        text = regenerate(args.clone)
    except RuntimeError as exc:
        print(f"regenerate: {exc}", file=sys.stderr)
        return 2
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {text.count('- release: ')} releases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
