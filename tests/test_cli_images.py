"""`kpatch images` end to end: formats, options, exit codes, bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main

JSON_KEYS = {"image", "normalized", "registry", "repository", "tag", "digest", "resource",
             "path", "file", "line", "shape", "profile", "implicit", "reason"}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_documented_contract() -> None:
    code, out, _ = run("images", "fixtures/workloads/workloads.yaml", "--format", "json")
    assert code == 0
    items = json.loads(out)
    assert len(items) == 12
    for item in items:
        assert set(item) >= JSON_KEYS
        assert set(item["resource"]) == {"apiVersion", "kind", "namespace", "name"}
    by_image = {i["image"]: i for i in items}
    busybox = by_image["busybox"]
    assert busybox["normalized"] == "docker.io/library/busybox:latest"
    assert (busybox["registry"], busybox["repository"], busybox["tag"]) == (
        "docker.io", "library/busybox", None)
    pinned = by_image["postgres:16.3@sha256:0aafd2ae7e6c391f39fb6b7621632d79f54068faebc726caf"
                      "469e87bd1d301c0"]
    assert pinned["normalized"] == "docker.io/library/" + pinned["image"]
    assert pinned["digest"].startswith("sha256:")
    assert by_image["nginx:1.27.0"]["line"] == 36
    assert by_image["nginx:1.27.0"]["file"] == "fixtures/workloads/workloads.yaml"


def test_unique_gives_one_row_per_image() -> None:
    code, out, _ = run("images", "fixtures/redis-enterprise/bundle.yaml",
                       "fixtures/redis-enterprise/clusters.yaml", "--format", "json", "--unique")
    assert code == 0
    items = json.loads(out)
    assert [i["normalized"] for i in items] == [
        "docker.io/redislabs/operator:7.2.4-7",
        "docker.io/redislabs/redis:7.2.4-64",
        "docker.io/redislabs/k8s-controller:7.2.4-7",
        "docker.io/fluent/fluent-bit:3.0.7",
        "docker.io/library/busybox:1.36.1",
    ]
    assert items[0]["uses"] == 4


OLM = "fixtures/olm/operator.yaml"  # the file, not the base: document order, no renderer


def test_table_yaml_and_csv_agree_with_json() -> None:
    _, as_json, _ = run("images", OLM, "--format", "json")
    _, as_yaml, _ = run("images", OLM, "--format", "yaml")
    _, as_csv, _ = run("images", OLM, "--format", "csv")
    _, as_table, _ = run("images", OLM)
    expected = json.loads(as_json)
    assert yaml.safe_load(as_yaml) == expected
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["image"] for r in rows] == [i["image"] for i in expected]
    assert rows[1]["kind"] == "Deployment" and rows[1]["shape"] == "env"
    header, *lines = as_table.strip().split("\n")
    assert header.split() == ["IMAGE", "RESOURCE", "PATH", "SOURCE", "SHAPE"]
    assert len(lines) == 3
    assert lines[1].startswith("quay.io/widgets/widget:2.1.0 ")


def test_stdin_is_read_with_dash() -> None:
    text = Path("fixtures/olm/operator.yaml").read_text(encoding="utf-8")
    code, out, _ = run("images", "-", "--format", "json", stdin=text)
    assert code == 0
    assert {i["file"] for i in json.loads(out)} == {"<stdin>"}


def test_profile_selection_narrows_what_is_found() -> None:
    code, out, _ = run("images", "fixtures/olm", "--format", "json", "--profile", "core")
    assert code == 0
    assert [i["shape"] for i in json.loads(out)] == ["string"]
    code, _, err = run("images", "fixtures/olm", "--profile", "nope")
    assert code == 2
    assert "unknown profile(s) nope" in err


def test_unresolved_images_are_warned_about() -> None:
    # No operator in the input: the release a cluster's bootstrapper names is taken,
    # and said once.
    code, out, err = run("images", "fixtures/redis-enterprise/clusters.yaml", "--format", "json")
    assert code == 0
    assert all(i["image"] for i in json.loads(out))
    assert err.count("kpatch: warning:") == 1
    assert "taking operator release 7.2.4-7" in err
    assert "--param redis-enterprise.operatorVersion" in err
    # A release newer than kpatch's table: the RS release is unknown, and said.
    code, out, err = run("images", "fixtures/redis-enterprise/clusters.yaml", "--format", "json",
                         "--param", "redis-enterprise.operatorVersion=9.9.9-1")
    assert code == 0
    assert [i["component"] for i in json.loads(out) if i["image"] is None] == ["redis-enterprise"]
    assert err.count("kpatch: warning:") == 1
    assert "--param redis-enterprise.rsVersion" in err


# Bad input files: the table in fixtures/bad/cases.yaml (tests/test_bad_inputs.py).


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["images", "does/not/exist.yaml"], "does/not/exist.yaml: no such file or directory"),
        (["images", "fixtures/olm", "--param", "x"], "expected PROFILE.NAME=VALUE"),
        (["images", "fixtures/olm", "--param", "core.nothing=1"], "unknown --param"),
        (["images", "fixtures/olm", "--max-input-bytes", "10"], "over the limit of 10"),
        (["images", "fixtures/olm", "--profile-file", "fixtures/bad/malformed.yaml"],
         "invalid YAML"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert message in err


@pytest.mark.parametrize("renderer", ["builtin", "kubectl", "auto"])
def test_a_kustomization_that_fails_to_render(tmp_path: Path, renderer: str) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n", encoding="utf-8")
    code, out, err = run("images", str(tmp_path), "--renderer", renderer)
    assert code == 2 and out == ""
    assert len(err.strip().split("\n")) == 1
    if renderer == "kubectl":
        assert err.startswith(f"kpatch: error: {tmp_path}: kubectl failed: ")
    else:
        assert err == (f"kpatch: error: {tmp_path}/kustomization.yaml: missing.yaml: "
                       "no such file or directory\n")


def test_binary_garbage_is_refused_cleanly(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\xff\xfe\x00bad")
    code, _, err = run("images", str(garbage))
    assert code == 2
    assert "not UTF-8 text" in err


K8SSANDRA_CLUSTERS = "fixtures/k8ssandra-cluster"


@pytest.mark.parametrize("unique", [False, True])
def test_json_is_one_object_per_line_and_the_same_data_as_yaml(unique: bool) -> None:
    # Items with nested objects (resource, effective_for lists of objects): the
    # line breaks go between the top-level items only.
    from kpatch.inventory import find_images
    from kpatch.report import as_data, to_json

    inventory = find_images([K8SSANDRA_CLUSTERS])
    assert any(use.effective_for for use in inventory.uses)
    text = to_json(inventory, unique)
    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    items = [json.loads(line.rstrip(",")) for line in lines[1:-1]]
    assert items == as_data(inventory, unique) == json.loads(text)


def test_json_keeps_strings_orjson_refuses() -> None:
    # A lone surrogate (json.loads reads "\ud800" in a JSON input): json's
    # escape instead of an encoder error.
    from kpatch.inventory import find_images
    from kpatch.report import to_json

    inventory = find_images(["fixtures/workloads/workloads.yaml"])
    inventory.uses[1].note = "odd \ud800 text"
    items = json.loads(to_json(inventory))
    assert items[1]["note"] == "odd \ud800 text"
    assert len(items) == len(inventory.uses)


def test_json_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: caf\u00e9-\u20ac}\n"
                        "spec:\n  containers: [{name: a, image: 'nginx:1.27'}]\n",
                        encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "LC_ALL": "C"}
    done = subprocess.run([sys.executable, "-m", "kpatch", "images", str(manifest),
                           "--format", "json"], capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8"))[0]["resource"]["name"] == "caf\u00e9-\u20ac"
