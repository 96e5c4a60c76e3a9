"""Rewrite releases.yaml from a local clone of k8ssandra/cass-operator.

    python -m kpatch.operators.cass_operator.regenerate CLONE_DIR [--output FILE]

Every release tag from v1.10.0 on (release candidates left out) is read with
``git show TAG:PATH``: nothing is checked out and nothing is built. Each fact
in a row is read from one upstream file, named in the row's ``source.files``,
so that a reviewer can check it at that tag. A new release is this command and
a reviewed diff of releases.yaml.

The facts are found by reading the Go source for the shapes the operator has
used over time (a struct tag, a constant, a function body). When a tag's code
has a shape this script does not know, it stops with an error naming the tag
and the file, rather than writing a guess into the table.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = "k8ssandra/cass-operator"
FIRST = (1, 10, 0)
TAG_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")

IMAGES_V1BETA1 = "pkg/images/images.go"
IMAGES_V1BETA2 = "pkg/images/images_v1beta2.go"
TYPES_V1BETA1 = "apis/config/v1beta1/imageconfig_types.go"
TYPES_V1BETA2 = "apis/config/v1beta2/imageconfig_types.go"
DC_TYPES = "apis/cassandra/v1beta1/cassandradatacenter_types.go"
PODTEMPLATE = "pkg/reconciliation/construct_podtemplatespec.go"
MANAGER_KUSTOMIZATION = "config/manager/kustomization.yaml"
SHIPPED_V1BETA1 = "config/manager/image_config.yaml"
SHIPPED_V1BETA2 = "config/imageconfig/image_config.yaml"
GO_MOD = "go.mod"
MAIN_FILES = ("cmd/main.go", "main.go")


class RegenerateError(Exception):
    pass


class TagReader:
    """Files of one tag, read with git (no work tree needed)."""

    def __init__(self, clone: Path, tag: str) -> None:
        self.clone, self.tag = clone, tag
        self.files: dict[str, str] = {}

    def read(self, path: str) -> str | None:
        done = subprocess.run(
            ["git", "-C", str(self.clone), "show", f"{self.tag}:{path}"],
            capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def need(self, path: str, fact: str) -> str:
        text = self.read(path)
        if text is None:
            raise RegenerateError(f"{self.tag}: {path} is missing (needed for {fact})")
        self.files[fact] = path
        return text

    def fail(self, path: str, what: str) -> RegenerateError:
        return RegenerateError(f"{self.tag}: {path}: {what}; teach regenerate.py this shape")

    def commit(self) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.clone), "rev-list", "-n", "1", self.tag],
            capture_output=True, text=True, check=True)
        return done.stdout.strip()


def release_tags(clone: Path) -> list[str]:
    done = subprocess.run(["git", "-C", str(clone), "tag"], capture_output=True, text=True,
                          check=True)
    tags = []
    for tag in done.stdout.split():
        match = TAG_RE.match(tag)
        if match and tuple(int(g) for g in match.groups()) >= FIRST:
            tags.append(tag)
    return sorted(tags, key=lambda t: tuple(int(g) for g in TAG_RE.match(t).groups()))  # type: ignore[union-attr]


def go_function(source: str, name: str) -> str | None:
    """The text of func ``name`` (plain or method), up to its closing brace at column 0."""
    match = re.search(r"^func (?:\([^)]*\) )?" + re.escape(name) + r"\(.*?^}", source,
                      re.MULTILINE | re.DOTALL)
    return match.group(0) if match else None


def go_string(literal: str) -> str:
    """A Go interpreted string literal's value (the escapes these files use)."""
    return literal.replace("\\\\", "\\").replace('\\"', '"')


def operator_image(reader: TagReader) -> str:
    text = reader.need(MANAGER_KUSTOMIZATION, "operatorImage")
    data = yaml.safe_load(text)
    for entry in data.get("images") or []:
        if entry.get("name") == "controller":
            return f"{entry['newName']}:{entry['newTag']}"
    raise reader.fail(MANAGER_KUSTOMIZATION, "no images entry named controller")


def discovery(reader: TagReader) -> dict[str, Any]:
    """How the operator finds its ImageConfig (main.go / cmd/main.go)."""
    for path in MAIN_FILES:
        text = reader.read(path)
        if text is not None:
            reader.files["imageConfigDiscovery"] = path
            break
    else:
        raise reader.fail("main.go", "no main file")
    from_map = "NewImageRegistryFromConfigMap(" in text
    reads_file = "ParseImageConfig(operConfig.ImageConfigFile)" in text or \
        "NewImageRegistry(operConfig.ImageConfigFile)" in text
    default = re.search(r'operConfig\.ImageConfigFile = "([^"]+)"', text)
    if reads_file and "if operConfig.ImageConfigFile != \"\"" not in text and default is None:
        raise reader.fail(path, "reads an image config file without a known default rule")
    labelled = "none"
    if from_map:
        labelled = "fallback-to-file" if reads_file else "only"
    return {
        "labelledConfigMap": labelled,
        "configFile": (None if not reads_file else
                       {"flag": "--config", "default": default.group(1) if default else None}),
    }


def v1beta1(reader: TagReader) -> dict[str, Any]:
    images = reader.need(IMAGES_V1BETA1, "v1beta1")
    types = reader.need(TYPES_V1BETA1, "v1beta1.types")
    key = re.search(r'ImageRegistry\s+string\s+`json:"(\w+)', types)
    if key is None:
        raise reader.fail(TYPES_V1BETA1, "no ImageRegistry json tag")
    components = go_function(images, "getImageComponents")
    overrides = go_function(images, "getCassandraContainerImageOverride")
    if components is None or overrides is None:
        raise reader.fail(IMAGES_V1BETA1,
                          "no getImageComponents/getCassandraContainerImageOverride")
    constants = dict(re.findall(r'(Default\w+Repository)\s*=\s*"([^"]+)"', images))
    builtin = {}
    for server_type, constant in re.findall(
            r'serverType == "(\w+)" \{\s*defaultPrefix = (\w+)', components):
        builtin[server_type] = constants[constant]
    patterns = {}
    for name, literal in re.findall(r'Valid(\w+)VersionRegexp\s*=\s*"((?:[^"\\]|\\.)*)"', images):
        patterns[{"Dse": "dse", "Oss": "cassandra", "Hcd": "hcd"}[name]] = go_string(literal)
    named = ["system-logger", "config-builder"]
    if "GetClientImage()" in images:
        named.append("k8ssandra-client")
    per_type = go_function(images, "getRegistryOverride") is not None
    bug = ('len(comps) > 1 && strings.Contains(comps[0], ".") || '
           'strings.Contains(comps[0], ":")') in images
    if not per_type and go_function(images, "applyDefaultRegistryOverride") is None:
        raise reader.fail(IMAGES_V1BETA1, "no registry override function")
    return {
        "registryKey": key.group(1),
        "perTypeRegistry": per_type,
        "imageNamespace": 'json:"imageNamespace' in types,
        "stripRegistryPrecedenceBug": bug,
        "builtinRepositories": builtin,
        "versionPatterns": patterns or None,
        "unknownServerTypeError": "server type '%s' is not supported" in images,
        "versionMaps": re.findall(r'serverType == "(\w+)"', overrides),
        "namedImages": named,
    }


def v1beta2(reader: TagReader) -> dict[str, Any] | None:
    if reader.read(IMAGES_V1BETA2) is None:
        return None
    reader.files["v1beta2"] = IMAGES_V1BETA2
    types = reader.need(TYPES_V1BETA2, "v1beta2.types")
    return {"digest": bool(re.search(r"Digest\s+string", types))}


def pod(reader: TagReader) -> dict[str, Any]:
    dc_types = reader.need(DC_TYPES, "pod.useClientImage")
    template = reader.need(PODTEMPLATE, "pod.initContainers")
    go_mod = reader.need(GO_MOD, "pod.imageVolumes")
    use_client = go_function(dc_types, "UseClientImage")
    client = "none"
    if use_client is not None:
        if '"v4.1.0"' not in use_client:
            raise reader.fail(DC_TYPES, "UseClientImage without the 4.1.0 comparison")
        client = "cassandra-4.1"
        if '"hcd"' in use_client:
            client += "+hcd"
        if "UseClientBuilderAnnotation" in use_client:
            client += "+annotation"
    base = "none"
    if "ServerBaseConfigContainerName" in template:
        base = "reuse-template" if "configContainerIndex" in template else \
            "when-no-server-config-init"
    read_only = go_function(dc_types, "ReadOnlyFs")
    read_only_rule = "none" if read_only is None else (
        "defaults" if 'ServerImage != ""' in read_only else "explicit")
    enum = re.search(r"validation:Enum=([\w;]+)\s*\n\s*ServerType string", dc_types)
    if enum is None:
        raise reader.fail(DC_TYPES, "no ServerType enum")
    api = re.search(r"^\s*k8s\.io/api v0\.(\d+)\.", go_mod, re.MULTILINE)
    if api is None:
        raise reader.fail(GO_MOD, "no k8s.io/api version")
    volume_source = "VolumeSource *corev1.VolumeSource" in dc_types
    return {
        "serverTypes": enum.group(1).split(";"),
        "clientImage": client,
        "baseConfigInit": base,
        "dseReadOnlyBaseConfigInit": 'ReadOnlyFs() && dc.Spec.ServerType == "dse"' in template,
        "readOnlyFs": read_only_rule,
        "additionalVolumeSources": volume_source,
        # ImageVolumeSource is in k8s.io/api from v0.31: before, the CRD prunes it.
        "imageVolumes": volume_source and int(api.group(1)) >= 31,
    }


def shipped(reader: TagReader, path: str, api_version: str) -> dict[str, Any] | None:
    text = reader.read(path)
    if text is None:
        return None
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or document.get("apiVersion") != api_version:
        raise reader.fail(path, f"not an ImageConfig {api_version}")
    document.pop("metadata", None)
    reader.files[f"shipped.{api_version.rpartition('/')[2]}"] = path
    return document


def release_row(clone: Path, tag: str) -> dict[str, Any]:
    reader = TagReader(clone, tag)
    found = discovery(reader)
    row: dict[str, Any] = {
        "version": tag,
        "operatorImage": operator_image(reader),
        "imageConfigDiscovery": found,
        "v1beta1": v1beta1(reader) if found["configFile"] is not None else None,
        "v1beta2": v1beta2(reader) if found["labelledConfigMap"] != "none" else None,
        "pod": pod(reader),
    }
    ships: dict[str, Any] = {}
    if row["v1beta1"] is not None:
        ships["v1beta1"] = shipped(reader, SHIPPED_V1BETA1, "config.k8ssandra.io/v1beta1")
    if row["v1beta2"] is not None:
        ships["v1beta2"] = shipped(reader, SHIPPED_V1BETA2, "config.k8ssandra.io/v1beta2")
    row["shippedImageConfig"] = {k: v for k, v in ships.items() if v is not None}
    row["source"] = {"repository": REPOSITORY, "tag": tag, "commit": reader.commit(),
                     "files": dict(sorted(reader.files.items()))}
    return row


HEADER = """\
# cass-operator release table: what each release's own code decides about images.
# GENERATED by `python -m kpatch.operators.cass_operator.regenerate CLONE_DIR`
# from a clone of https://github.com/k8ssandra/cass-operator; review the diff,
# do not edit by hand. Each row's `source` names the tag, commit and the file
# each fact was read from. Field meanings: docs/cass-operator.md.
"""


def render(rows: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump({"repository": REPOSITORY, "releases": rows}, sort_keys=False,
                          default_flow_style=False, width=100, allow_unicode=True)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clone", type=Path, help="local clone of k8ssandra/cass-operator")
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).with_name("releases.yaml"))
    args = parser.parse_args(argv)
    try:
        tags = release_tags(args.clone)
        if not tags:
            raise RegenerateError(f"{args.clone}: no release tags from v1.10.0 on")
        rows = [release_row(args.clone, tag) for tag in tags]
    except (RegenerateError, subprocess.CalledProcessError) as exc:
        print(f"regenerate: {exc}", file=sys.stderr)
        return 1
    text = render(rows)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.output)
    print(f"{args.output}: {len(rows)} releases ({rows[0]['version']} .. {rows[-1]['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
