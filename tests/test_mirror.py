"""`kpatch mirror` without registries: the plan, its formats, bad input, and
what kpatch makes of skopeo's messages. The copies themselves are in
tests/test_mirror_registry.py, against real registries."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.inventory import find_images
from kpatch.mirror.archive import check_archive, read_manifest
from kpatch.mirror.formats import FORMATS
from kpatch.mirror.plan import build_plan, pull_spec, push_spec
from kpatch.mirror.skopeo import (
    AUTH,
    MISSING,
    OTHER,
    TRANSIENT,
    UNREACHABLE,
    Redactor,
    classify,
    skopeo_message,
)
from kpatch.reference import parse_reference
from kpatch.relocation import RelocationRules

from .conftest import FIXTURES, ROOT
from .registries import require

GOLDEN = ROOT / "tests" / "golden" / "mirror"
UPDATE = os.environ.get("KPATCH_UPDATE_GOLDENS") == "1"
INSTALL = FIXTURES / "mirror" / "install.yaml"
TARGET = "registry.corp:5000"
EXTENSIONS = {"plan": "txt", "json": "json", "docker": "sh", "skopeo": "sh", "idms": "yaml"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with KPATCH_UPDATE_GOLDENS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt", FORMATS)
def test_plan_formats_golden(fmt: str) -> None:
    code, out, err = run("mirror", str(INSTALL.relative_to(ROOT)), "--registry", TARGET,
                         "--format", fmt)
    assert code == 0, err
    check_golden(f"install.{fmt}.{EXTENSIONS[fmt]}", out)


def test_plan_is_deduplicated_and_follows_relocate_rules() -> None:
    inventory = find_images([str(INSTALL)])
    rules = RelocationRules.parse(f"{TARGET}/mirror", ["127.0.0.1:5999/redislabs=quay.corp/rl"])
    plan = build_plan(inventory, rules)
    sources = [item.source.normalized for item in plan.items]
    assert len(sources) == len(set(sources)) == 7
    app = next(i for i in plan.items if i.source.path == "shop/app")
    assert len(app.used_by) == 3  # container, RELATED_IMAGE env, CronJob
    for item in plan.items:
        # The destination is exactly where relocate moves the reference.
        assert item.destination == rules.relocate(item.source)
        assert (item.destination.tag, item.destination.digest) == (
            item.source.tag, item.source.digest)
    assert str(next(i for i in plan.items if "redis:" in str(i.source)).destination) \
        == "quay.corp/rl/redis:7.2.4-64"


def test_plan_skips_images_already_relocated(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                        "    - {name: a, image: registry.corp:5000/team/a:1}\n"
                        "    - {name: b, image: busybox:1.36}\n")
    code, out, err = run("mirror", str(manifest), "--registry", TARGET, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [i["source"] for i in data["images"]] == ["docker.io/library/busybox:1.36"]
    assert data["already_relocated"] == ["registry.corp:5000/team/a:1"]


def test_unresolved_images_are_warned_about() -> None:
    # A Redis operator release newer than kpatch's table: its RS release is unknown.
    code, out, err = run("mirror", "fixtures/redis-enterprise/clusters.yaml", "--registry",
                         TARGET, "--format", "json",
                         "--param", "redis-enterprise.operatorVersion=9.9.9-1")
    assert code == 0, err
    assert "warning:" in err and "rsVersion" in err
    assert json.loads(out)["unresolved"]


def test_pull_and_push_specs_keep_tag_and_digest() -> None:
    digest = "sha256:" + "a" * 64
    both = parse_reference(f"quay.io/x/y:1.0@{digest}")
    assert pull_spec(both) == f"quay.io/x/y@{digest}"  # skopeo takes one or the other
    assert push_spec(both) == "quay.io/x/y:1.0"  # the tag lands, the digest comes with it
    only = parse_reference(f"quay.io/x/y@{digest}")
    assert push_spec(only) == pull_spec(only) == f"quay.io/x/y@{digest}"
    assert pull_spec(parse_reference("busybox")) == "docker.io/library/busybox:latest"


@pytest.mark.parametrize("fmt", ["docker", "skopeo"])
def test_generated_scripts_pass_shellcheck(fmt: str, tmp_path: Path) -> None:
    shellcheck = require("shellcheck")
    code, out, err = run("mirror", str(INSTALL), "fixtures/redis-enterprise",
                         "--registry", TARGET, "--format", fmt)
    assert code == 0, err
    script = tmp_path / f"mirror-{fmt}.sh"
    script.write_text(out)
    done = subprocess.run([shellcheck, "--shell=bash", str(script)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout
    # The seed's job (pull, tag, push) for every image, or a skopeo copy of each.
    expected = {"docker": "docker push ", "skopeo": "skopeo copy --all --preserve-digests"}
    assert out.count(expected[fmt]) >= 9


def test_shellcheck_catches_a_broken_script(tmp_path: Path) -> None:
    """The check above can fail: an unquoted expansion is reported."""
    script = tmp_path / "bad.sh"
    script.write_text('#!/usr/bin/env bash\nskopeo copy $@ docker://a docker://b\n')
    done = subprocess.run([require("shellcheck"), str(script)], capture_output=True,
                          check=False)
    assert done.returncode != 0


@pytest.mark.parametrize(("args", "message"), [
    (["--registry", TARGET, "--execute", "--to-dir", "d"], "cannot be combined"),
    (["--registry", TARGET, "--execute", "--verify"], "--verify checks a registry"),
    ([], "--registry is required"),
    (["--registry", "not a registry"], "invalid registry"),
    (["--registry", TARGET, "--execute", "--format", "json"], "does not combine"),
    (["--registry", TARGET, "--execute", "--jobs", "0"], "--jobs must be at least 1"),
])
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    code, out, err = run("mirror", str(INSTALL), *args)
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert out == ""


def test_from_dir_needs_a_kpatch_directory(tmp_path: Path) -> None:
    code, _, err = run("mirror", "--from-dir", str(tmp_path))
    assert code == 2 and "not a directory written by kpatch mirror --to-dir" in err
    (tmp_path / "kpatch-mirror.json").write_text('{"kind": "kpatch-mirror", "version": 1, '
                                                 '"images": [{"source": "busybox"}]}')
    code, _, err = run("mirror", "--from-dir", str(tmp_path))
    assert code == 2 and "kpatch-mirror.json: /images/0: bad entry" in err, err
    code, _, err = run("mirror", str(INSTALL), "--from-dir", str(tmp_path))
    assert code == 2 and "give no PATH" in err


def test_archive_check_names_a_missing_layout_and_escapes(tmp_path: Path) -> None:
    entry = {"source": "docker.io/library/busybox:1", "destination": "r.corp/library/busybox:1",
             "layout": "images/busybox", "digest": "sha256:" + "0" * 64, "size": 0,
             "blobs": {}}
    (tmp_path / "kpatch-mirror.json").write_text(json.dumps(
        {"kind": "kpatch-mirror", "version": 1, "images": [entry]}))
    with pytest.raises(Exception, match="images/busybox: missing"):
        check_archive(tmp_path, read_manifest(tmp_path))
    entry["layout"] = "../elsewhere"
    (tmp_path / "kpatch-mirror.json").write_text(json.dumps(
        {"kind": "kpatch-mirror", "version": 1, "images": [entry]}))
    with pytest.raises(Exception, match="must stay inside the directory"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(("stderr", "kind"), [
    ('time="x" level=fatal msg="Error parsing image name \\"docker://h/r:1\\": reading '
     'manifest 1 in h/r: manifest unknown: manifest unknown"', MISSING),
    ('level=fatal msg="pinging container registry 127.0.0.1:1: Get \\"http://127.0.0.1:1/v2/'
     '\\": dial tcp 127.0.0.1:1: connect: connection refused"', UNREACHABLE),
    ('level=fatal msg="reading manifest 1 in h/r: unauthorized: authentication required"',
     AUTH),
    ('level=fatal msg="writing blob: received unexpected HTTP status: 503 Service '
     'Unavailable"', TRANSIENT),
    ('level=fatal msg="toomanyrequests: You have reached your pull rate limit"', TRANSIENT),
    # A digest holding "401" or "503" is not an HTTP status.
    ('level=fatal msg="copying sha256:0401503aa: invalid manifest"', OTHER),
])
def test_skopeo_messages_are_classified(stderr: str, kind: str) -> None:
    message = skopeo_message(stderr)
    assert not message.startswith("Error parsing image name")
    assert classify(message) == kind, message


def test_redactor_hides_every_form_of_a_credential(tmp_path: Path) -> None:
    authfile = tmp_path / "auth.json"
    import base64

    token = base64.b64encode(b"mirror:hunter2-secret").decode()
    authfile.write_text(json.dumps({"auths": {"r.corp": {"auth": token}}}))
    redact = Redactor()
    redact.learn_auth_file(authfile)
    text = f"failed for mirror:hunter2-secret ({token}) password hunter2-secret"
    shown = redact(text)
    assert "hunter2-secret" not in shown and token not in shown
    assert "***" in shown


KPATCH_YAML = """\
version: 1
registry: registry.corp:5000
overlays:
  - name: workloads
    base: {fixtures}/workloads
    output: overlays/workloads
  - name: redis
    base: {fixtures}/redis-enterprise
    output: overlays/redis
    registry: mirror.corp/redis
exceptions:
  - image: docker.io/library/busybox
    reason: pulled through the cluster's cache on purpose
    allow: [registry]
"""


def test_the_plan_comes_from_kpatch_yaml_without_a_path(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11: the same kpatch.yaml as sync and check. Each overlay's base is moved
    by its own settings (the redis overlay has its own registry), an exception keeps
    its image out of the plan, and a pair two overlays want is copied once."""
    (tmp_path / "kpatch.yaml").write_text(KPATCH_YAML.format(fixtures=FIXTURES),
                                          encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("mirror", "--format", "json")
    assert code == 0, err
    images = json.loads(out)["images"]
    pairs = {(i["source"], i["destination"]) for i in images}
    # The same pairs as planning each base alone with its rules.
    expected: set[tuple[str, str]] = set()
    for base, registry in (("workloads", "registry.corp:5000"),
                           ("redis-enterprise", "mirror.corp/redis")):
        rules = RelocationRules.parse(registry, ["docker.io/library/busybox="
                                                 "docker.io/library/busybox"])
        plan = build_plan(find_images([str(FIXTURES / base)]), rules)
        expected |= {(str(i.source.normalized), str(i.destination)) for i in plan.items}
    assert {(parse_reference(s).normalized, d) for s, d in pairs} == expected
    assert len(images) == len(pairs)  # deduplicated
    assert not any("busybox" in source for source, _ in pairs)
    assert any(d.startswith("mirror.corp/redis/") for _, d in pairs)
    assert any(d.startswith("registry.corp:5000/") for _, d in pairs)
    # --overlay narrows it; --config names the file from elsewhere.
    monkeypatch.chdir(ROOT)
    code, out, err = run("mirror", "--config", str(tmp_path / "kpatch.yaml"),
                         "--overlay", "redis", "--format", "json")
    assert code == 0, err
    assert all(i["destination"].startswith("mirror.corp/redis/")
               for i in json.loads(out)["images"])


def test_without_path_or_kpatch_yaml_the_error_says_both(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("mirror")
    assert code == 2
    assert "no kpatch.yaml" in err and "or give the install's PATH... and --registry" in err
    code, _, err = run("mirror", "--registry", "r.corp")
    assert code == 2 and "give the install's PATH..." in err
