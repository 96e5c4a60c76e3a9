"""Profiles are data: built-ins load, user files add operators, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpatch.errors import KpatchError
from kpatch.inventory import InventoryOptions, find_images, load_install_profiles
from kpatch.profile import builtin_profile_names, load_profiles, parse_path


def test_builtin_profiles() -> None:
    assert builtin_profile_names() == [
        "cass-operator", "core", "k8ssandra-operator", "olm", "redis-enterprise"]
    profiles = load_profiles()
    assert all(p.fields for p in profiles)


def test_a_user_profile_adds_an_operator_without_code() -> None:
    options = InventoryOptions(profile_files=["fixtures/profiles/widget-operator.yaml"])
    inventory = find_images(["fixtures/profiles/widget-cluster.yaml"], options)
    assert [(u.image, u.path, u.profile, u.pull_policy) for u in inventory.uses] == [
        ("quay.io/widgets/agent:1.0.0", "/spec/agentImage", "widget-operator", None),
        ("quay.io/widgets/node:2.0.0", "/spec/nodes/0/image", "widget-operator", "Always"),
        ("busybox:1.36.1", "/spec/extraPod/containers/0/image", "widget-operator", None),
    ]
    # Without the profile file, only the pod spec is found (by the generic walk,
    # which says so); the agent image and the node blocks need the profile.
    assert [(u.image, u.path, u.profile) for u in
            find_images(["fixtures/profiles/widget-cluster.yaml"]).uses] == [
        ("busybox:1.36.1", "/spec/extraPod/containers/0/image", "generic"),
    ]


def test_parse_path() -> None:
    assert [str(s) for s in parse_path("spec/containers[]/image")] == [
        "spec", "containers[]", "image"]
    assert parse_path("metadata/annotations/a~1b")[-1].key == "a/b"
    for bad in ("", "/spec", "spec/", "spec//x"):
        with pytest.raises(KpatchError):
            parse_path(bad)


BASE = "format: kpatch.dev/v1\nprofile: p\n"
INVALID = [
    ("profile: p\n", "format: expected 'kpatch.dev/v1'"),
    (BASE.replace("profile: p", "profile: Bad_Name"), "use lower case letters"),
    (BASE + "surprise: 1\n", "unknown key(s) surprise"),
    (BASE + "fields: {}\n", "fields: expected a list"),
    (BASE + "fields:\n  - {path: spec/image}\n", "fields[0].match: required"),
    (BASE + "fields:\n  - {match: {kind: X}, path: /spec/image}\n", "fields[0].path"),
    (BASE + "fields:\n  - {match: {kind: X}, path: a, shape: blob}\n",
     "'blob' is not one of string, block, embedded, env"),
    (BASE + "fields:\n  - {match: {kind: X}, path: a, shape: block, block: nope}\n",
     "no block layout named 'nope'"),
    (BASE + "fields:\n  - {match: {kind: X}, path: a, shape: env, envName: '('}\n",
     "bad regular expression"),
    (BASE + "fields:\n  - {match: {kind: X}, path: a, shape: embedded}\n",
     "must name the kinds inside"),
    (BASE + "fields:\n  - {match: {kind: X}, template: nope, at: spec}\n",
     "no template named 'nope'"),
    (BASE + "fields:\n  - {match: {kind: X}, path: a, inherit: {colour: /x}}\n",
     "'colour' is not a reference part"),
    (BASE + "blocks:\n  b: {tag: t}\n", "a block needs a repository or a name key"),
    (BASE + "implicit:\n  - {rule: magic, match: {kind: X}}\n", "unknown rule 'magic'"),
    ("- a\n- b\n", "top level: expected a mapping"),
    (BASE + "---\n" + BASE, "exactly one YAML document"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_profiles_name_the_file_and_the_entry(tmp_path: Path, text: str,
                                                     message: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KpatchError) as caught:
        load_install_profiles(files=[str(path)])
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_a_profile_name_cannot_shadow_a_builtin(tmp_path: Path) -> None:
    path = tmp_path / "core.yaml"
    path.write_text("format: kpatch.dev/v1\nprofile: core\n", encoding="utf-8")
    with pytest.raises(KpatchError, match="profile name used twice: core"):
        load_profiles(extra_files=[path])


def test_selection_keeps_shared_templates_working() -> None:
    # redis-enterprise uses the podSpec template that core declares.
    (redis,) = load_profiles(["redis-enterprise"])
    assert any(f.path_text.endswith("initContainers[]/image") for f in redis.fields)
