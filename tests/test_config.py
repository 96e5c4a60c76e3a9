"""kpatch.yaml: loading, validation errors naming file, line and key, the schema
and its documented examples, `kpatch init` and `kpatch sync`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from kpatch.config import find_config, load_config, parse_config_text, schema
from kpatch.errors import KpatchError

from .conftest import ROOT
from .gitops import TARGET, kpatch, make_repo

VALID = """\
version: 1
registry: registry.corp:5000
pullSecrets: [regcred]
params:
  redis-enterprise.rsVersion: 7.2.4-64
exceptions:
  - image: quay.io/acme
    reason: vendor registry
overlays:
  - base: bases/a
    output: overlays/a
  - name: second
    base: bases/b
    output: out/b
    registry: other.corp
    pullSecrets: []
    params:
      redis-enterprise.operatorVersion: 7.2.4-7
    exceptions:
      - image: docker.io/library/busybox
        reason: debugging only
        allow: [latest]
"""

@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test gets its own record of clean overlays (kpatch.check.cache).
    monkeypatch.setenv("KPATCH_CACHE_DIR", str(tmp_path_factory.mktemp("kpatch-cache")))



def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kpatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(KpatchError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_settings_inherit_and_override(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    first, second = config.overlays
    assert first.name == "a" and second.name == "second"
    assert first.registry == TARGET and second.registry == "other.corp"
    assert first.pull_secrets == ("regcred",) and second.pull_secrets == ()
    assert second.params == {"redis-enterprise.rsVersion": "7.2.4-64",
                             "redis-enterprise.operatorVersion": "7.2.4-7"}
    assert [e.image for e in second.exceptions] == ["quay.io/acme", "docker.io/library/busybox"]
    assert second.exceptions[1].allow == frozenset({"latest"})
    assert first.line == 10 and second.line == 12
    # A registry exception becomes an identity mapping: sync leaves the image in place.
    assert first.relocation_mappings() == ("quay.io/acme=quay.io/acme",)
    assert second.relocation_mappings() == ("quay.io/acme=quay.io/acme",)
    assert config.select(["out/b"]) == [second]
    assert config.select(["second", "a"]) == [first, second]  # kpatch.yaml's order
    with pytest.raises(KpatchError, match="no overlay 'c'"):
        config.select(["c"])


def test_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, VALID)
    deep = tmp_path / "overlays" / "a"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_config() == tmp_path / "kpatch.yaml"
    other = tmp_path.parent / f"{tmp_path.name}-empty"
    other.mkdir()
    monkeypatch.chdir(other)
    with pytest.raises(KpatchError, match=r"no kpatch\.yaml in .* or any folder above"):
        find_config()


BAD_CASES = [
    # (text, line, message fragment)
    ("version: 1\nregisty: x.io\noverlays:\n  - {base: a, output: b}\n", 2,
     "registy: unknown key (known keys: allowedRegistries,"),
    ("version: 2\nregistry: x.io\noverlays:\n  - {base: a, output: b}\n", 1,
     "version: unsupported version 2"),
    ("version: 1\nregistry: x.io\noverlays:\n  - base: a\n    output: b\n  - base: c\n", 6,
     "overlays[1]: 'output' is required"),
    ("version: 1\nregistry: x.io\noverlays:\n  - base: a\n    output: b\n"
     "    pullPolicy: Sometimes\n", 6, "overlays[0].pullPolicy: 'Sometimes' is not one of"),
    ("version: 1\nregistry: x.io\nexceptions:\n  - image: quay.io/x\noverlays:\n"
     "  - {base: a, output: b}\n", 4, "exceptions[0]: 'reason' is required"),
    ("version: 1\nregistry: x.io\nparams:\n  rsVersion: 1\noverlays:\n"
     "  - {base: a, output: b}\n", 4, "params.rsVersion: key 'rsVersion' does not match"),
    ("version: 1\nregistry: x.io\noverlays: []\n", 3, "overlays: [] should be non-empty"),
    ("version: 1\nregistry: not a registry\noverlays:\n  - {base: a, output: b}\n", 2,
     "registry"),
    ("version: 1\nregistry: Bad_Host\noverlays:\n  - {base: a, output: b}\n", 2,
     "registry: invalid registry 'Bad_Host'"),
    ("version: 1\nregistry: x.io\nmappings: [nothing=here]\noverlays:\n"
     "  - {base: a, output: b}\n", 3, "mappings: invalid mapping 'nothing=here'"),
    ("version: 1\noverlays:\n  - {base: a, output: b}\n", 3, "overlays[0]: no registry"),
    ("version: 1\nregistry: x.io\noverlays:\n  - {base: a, output: b}\n"
     "  - {name: b, base: c, output: d}\n", 5, "'b' is used by an earlier overlay (line 4)"),
    ("version: 1\nregistry: x.io\noverlays:\n  - {base: a, output: b}\n"
     "  - {name: z, base: c, output: ./b}\n", 5, "is the output of an earlier overlay"),
    ("version: 1\nregistry: x.io\noverlays:\n  - base: a\n    output: a/overlay\n", 5,
     "overlays[0].output: must be outside the base"),
    ("version: 1\nregistry: x.io\nexceptions:\n  - {image: 'quay.io/x:1.0', reason: why}\n"
     "overlays:\n  - {base: a, output: b}\n", 4, "without tag or digest"),
    ("version: 1\nregistry: x.io\nregistry: y.io\noverlays: []\n", 3,
     "invalid YAML"),
    ("version: 1\nregistry: [x.io\noverlays:\n", 3, "invalid YAML"),
    ("", None, "empty kpatch.yaml"),
    ("- just\n- a list\n", 1, "must be a mapping"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_CASES)
def test_validation_errors_name_file_line_and_key(tmp_path: Path, text: str,
                                                  line: int | None, fragment: str) -> None:
    message = error_of(tmp_path, text)
    place = f"kpatch.yaml:{line}: " if line else "kpatch.yaml: "
    assert place in message, message
    assert fragment in message, message
    assert "\n" not in message


def test_cli_reports_config_errors_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_CASES[0][0])
    for command in ("check", "sync"):
        code, out, err = kpatch(command, "--config", str(path))
        assert code == 2, (out, err)
        assert re.search(r"kpatch: error: .*kpatch.yaml:2: registy: unknown key", err), err


def test_schema_is_published_and_valid() -> None:
    packaged = ROOT / "kpatch" / "schema" / "kpatch.schema.json"
    published = ROOT / "docs" / "kpatch.schema.json"
    assert packaged.read_bytes() == published.read_bytes()
    jsonschema.Draft202012Validator.check_schema(json.loads(packaged.read_text()))


def documented_examples() -> list[tuple[str, str]]:
    """Every ```yaml block in the docs that is a kpatch.yaml (has `version: 1`)."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
            if re.search(r"^version: 1$", block, flags=re.M):
                found.append((doc.name, block))
    return found


def test_docs_have_examples() -> None:
    names = {name for name, _ in documented_examples()}
    assert {"config.md", "check.md"} <= names, names


@pytest.mark.parametrize(("doc", "block"), documented_examples())
def test_schema_validates_documented_examples(tmp_path: Path, doc: str, block: str) -> None:
    data, _ = parse_config_text(block, doc)
    jsonschema.validate(data, schema())  # raises on an invalid example
    config = load_config(write(tmp_path, block))  # and what the schema cannot say
    assert config.overlays, f"{doc}: an example with no overlay"


def test_schema_rejects_what_it_should() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    good = {"version": 1, "registry": "r.io", "overlays": [{"base": "a", "output": "b"}]}
    assert not list(validator.iter_errors(good))
    for bad in ({**good, "overlays": [{"base": "a"}]}, {**good, "flatten": "yes"},
                {**good, "exceptions": [{"image": "x.io/a", "reason": "ok", "allow": ["all"]}]},
                {**good, "pullSecrets": ["bad name"]}):
        assert list(validator.iter_errors(bad)), bad


# --- kpatch init ------------------------------------------------------------------------


def test_init_creates_a_commented_config_then_adds_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path, ("redis-enterprise", "workloads"), sync=False)
    (tmp_path / "kpatch.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    code, out, err = kpatch("init", "bases/redis-enterprise", "--registry", TARGET,
                            "--output", "overlays/redis", "--pull-secret", "regcred")
    assert code == 0, err
    assert "created kpatch.yaml" in out and "overlays/redis: 10 image reference(s)" in out
    text = (tmp_path / "kpatch.yaml").read_text()
    assert text.startswith("# kpatch.yaml: how kpatch generates")
    assert "registry: registry.corp:5000\n" in text and "pullSecrets: [regcred]" in text
    assert "# exceptions:" in text
    first = (tmp_path / "overlays/redis/kustomization.yaml").read_text()
    assert "# Command: kpatch sync redis (settings in kpatch.yaml)" in first
    # A second overlay, from a subfolder: kpatch.yaml is found above; only the
    # settings that differ from the top level go into the entry; comments stay.
    (tmp_path / "kpatch.yaml").write_text(text.replace("overlays:\n", "# my note\noverlays:\n"))
    (tmp_path / "overlays").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "overlays")
    code, out, err = kpatch("init", "../bases/workloads", "--registry", TARGET,
                            "--output", "workloads", "--name", "apps", "--pull-policy", "Always")
    assert code == 0, err
    assert "added overlay to" in out
    updated = (tmp_path / "kpatch.yaml").read_text()
    assert "# my note\n" in updated and "# Target registry" in updated
    entry = updated.split("- name: apps", 1)[1]
    assert "base: bases/workloads" in entry and "output: overlays/workloads" in entry
    assert "pullPolicy: Always" in entry and "registry" not in entry
    assert "pullSecrets" not in entry  # inherited from the top level
    config = load_config(tmp_path / "kpatch.yaml")
    assert [o.name for o in config.overlays] == ["redis", "apps"]
    code, out, err = kpatch("check")
    assert "clean" in out or code == 1, err


def test_init_writes_nothing_when_the_overlay_cannot_be_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path, ("redis-enterprise",))
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "kpatch.yaml").read_text()
    # The same output again: refused by validation.
    code, _, err = kpatch("init", "bases/redis-enterprise", "--registry", TARGET,
                          "--output", "overlays/redis-enterprise", "--name", "again")
    assert code == 2 and "is the output of an earlier overlay" in err
    # A folder holding a file kpatch did not generate: refused before anything is written.
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "kustomization.yaml").write_text("resources: []\n")
    code, _, err = kpatch("init", "bases/redis-enterprise", "--registry", TARGET,
                          "--output", "taken")
    assert code == 2 and "not generated by kpatch" in err
    assert (tmp_path / "kpatch.yaml").read_text() == before
    assert (tmp_path / "taken" / "kustomization.yaml").read_text() == "resources: []\n"


# --- kpatch sync ------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_sync_is_deterministic_and_protects_hand_edits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path, ("redis-enterprise", "workloads"))
    monkeypatch.chdir(tmp_path / "bases")
    first = snapshot(tmp_path / "overlays")
    code, out, err = kpatch("sync")
    assert code == 0, err
    assert "up to date" in out and snapshot(tmp_path / "overlays") == first
    edited = tmp_path / "overlays/workloads/deployment-apps-web.yaml"
    edited.write_text(edited.read_text().replace("1.27.0", "1.27.1"))
    code, _, err = kpatch("sync")
    assert code == 2 and "edited by hand" in err and "--force" in err
    assert "1.27.1" in edited.read_text()
    code, out, err = kpatch("sync", "redis-enterprise")  # another overlay is fine
    assert code == 0, err
    code, out, err = kpatch("sync", "--dry-run", "workloads")
    assert code == 0 and "would write 1 and remove 0 file(s)" in out
    code, out, err = kpatch("sync", "--force", "workloads")
    assert code == 0, err
    assert snapshot(tmp_path / "overlays") == first
    code, _, err = kpatch("sync", "nope")
    assert code == 2 and "no overlay 'nope'" in err


def test_sync_points_bad_params_at_the_config(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path, ("redis-enterprise",), sync=False,
              extra="params:\n  redis-enterprise.nope: x\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = kpatch("sync")
    assert code == 2
    assert "kpatch.yaml:" in err and "unknown --param 'redis-enterprise.nope'" in err
