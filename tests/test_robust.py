"""Input that must not lose images, and writes that are all or nothing.

The adversarial inputs themselves are the table in fixtures/bad/cases.yaml
(tests/test_bad_inputs.py); interruptions are in tests/test_interrupt.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.errors import KpatchError
from kpatch.reference import parse_reference
from kpatch.relocation import RelocationRules, check_collisions
from kpatch.render import renderer_error, renderer_lines
from kpatch.yamlio import LoadLimits, load_stream

from .conftest import FIXTURES, ROOT
from .structural import kustomize

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: main
      image: {image}
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def kpatch(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpatch", *args], capture_output=True,
                          text=True, timeout=300, check=False, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


# --- duplicate keys ------------------------------------------------------------------


@pytest.mark.parametrize("track", [True, False])
def test_duplicate_keys_are_refused_with_the_second_line(track: bool) -> None:
    text = "a: 1\nb:\n  image: x\n  image: y\n"
    with pytest.raises(KpatchError) as caught:
        load_stream(text, "f.yaml", track=track)
    assert str(caught.value) == "f.yaml:4: invalid YAML: duplicate key 'image' (first at line 3)"


def test_merge_keys_may_override_but_not_repeat() -> None:
    merged = load_stream("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n", "f")[0].data
    assert merged["m"] == {"x": 3, "y": 2}
    with pytest.raises(KpatchError, match="f:5: invalid YAML: duplicate key 'z'"):
        load_stream("base: &b {x: 1}\nm:\n  <<: *b\n  z: 3\n  z: 4\n", "f")


def test_duplicate_keys_in_a_json_patch_body_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD.format(name="p", image="nginx:1"), encoding="utf-8")
    (tmp_path / "patch.yaml").write_text(
        '[\n{"op": "replace", "path": "/spec/containers/0/image", "value": "a:1",'
        ' "value": "b:1"}\n]\n', encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [pod.yaml]\npatches:\n- path: patch.yaml\n  target: {kind: Pod}\n",
        encoding="utf-8")
    code, _, err = run("build", str(tmp_path), "--renderer", "builtin")
    assert code == 2
    assert "duplicate key 'value'" in err


# --- List kinds --------------------------------------------------------------------------

LIST = """apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: listed}
    spec:
      containers:
        - {name: c, image: "nginx:1.27"}
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata: {name: nested}
        spec:
          template:
            spec:
              containers:
                - name: x
                  image: redis:7
"""


def _images(out: str) -> list[tuple[str, str, int]]:
    import json

    return [(u["image"], u["resource"]["name"], u["line"]) for u in json.loads(out)]


def test_list_items_are_inventoried_from_a_file_a_folder_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text(LIST, encoding="utf-8")
    expected = [("nginx:1.27", "listed", 9), ("redis:7", "nested", 21)]
    for args, stdin in [((str(tmp_path / "list.yaml"),), None), ((str(tmp_path),), None),
                        (("-",), LIST)]:
        code, out, err = run("images", *args, "--format", "json", stdin=stdin)
        assert code == 0, err
        assert _images(out) == expected


def test_a_list_base_relocates_and_builds(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "list.yaml").write_text(LIST, encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [list.yaml]\n", encoding="utf-8")
    code, _, err = run("relocate", str(base), "--registry", "registry.corp:5000",
                       "--output", str(tmp_path / "overlay"))
    assert code == 0, err
    rendered = kustomize(tmp_path / "overlay")
    assert "registry.corp:5000/library/nginx:1.27" in rendered
    assert "registry.corp:5000/library/redis:7" in rendered


# --- collisions -----------------------------------------------------------------------------


def test_keep_registry_host_separates_what_default_rules_would_merge(tmp_path: Path) -> None:
    base = FIXTURES / "bad" / "collision-default.yaml"
    code, out, err = run("relocate", str(base), "--registry", "registry.corp:5000",
                         "--keep-registry-host", "--output", str(tmp_path / "o"), "--dry-run")
    assert code == 0, err
    assert "registry.corp:5000/docker.io/acme/tool:1.0" in out
    assert "registry.corp:5000/quay.io/acme/tool:1.0" in out


def test_the_same_image_spelled_twice_is_no_collision() -> None:
    rules = RelocationRules.parse("registry.corp:5000")
    refs = [parse_reference(t) for t in ("nginx:1", "docker.io/library/nginx:1",
                                         "index.docker.io/library/nginx:1")]
    # One image, one destination: three spellings must not read as a collision
    # (check_collisions raises on one).
    assert len({rules.relocate(r).normalized for r in refs}) == 1
    check_collisions(rules, refs)


def test_the_suggested_map_separates_the_collision() -> None:
    refs = [parse_reference("docker.io/acme/tool:1.0"), parse_reference("quay.io/acme/tool:1.0")]
    rules = RelocationRules.parse("registry.corp:5000")
    with pytest.raises(KpatchError) as caught:
        check_collisions(rules, refs)
    suggestion = str(caught.value).split("--map ")[-1].rstrip(".")
    check_collisions(RelocationRules.parse("registry.corp:5000", [suggestion]), refs)


# --- renderer errors --------------------------------------------------------------------------

KLOG = (
    'E1123 04:24:01.438050     747 run.go:72] "command failed" err=<\n'
    "\taccumulating resources: first line\n"
    "\t: exit status 128\n"
    " >\n"
)


def test_klog_multi_line_errors_are_kept_whole() -> None:
    assert renderer_lines(KLOG) == ["accumulating resources: first line", ": exit status 128"]
    error = renderer_error("kubectl", Path("base"), KLOG, 1)
    assert error.detail == "accumulating resources: first line\n: exit status 128"
    assert ">" not in error.message


def test_klog_quoted_errors_are_unquoted() -> None:
    text = 'E1123 04:24:01.59 763 run.go:72] "command failed" err="a \\"b\\": c"\n'
    assert renderer_lines(text) == ['a "b": c']


# --- single-file base, base kustomization, command header ------------------------------------


def test_a_single_file_is_a_base(tmp_path: Path) -> None:
    output = tmp_path / "overlay"
    code, _, err = run("relocate", "fixtures/redis-enterprise/bundle.yaml", "--registry",
                       "registry.corp:5000", "--output", str(output),
                       "--param", "redis-enterprise.operatorVersion=7.2.4-7")
    assert code == 0, err
    assert (output / "base" / "bundle.yaml").read_text(encoding="utf-8").endswith(
        (FIXTURES / "redis-enterprise" / "bundle.yaml").read_text(encoding="utf-8"))
    rendered = kustomize(output)
    assert "image: registry.corp:5000/redislabs/operator:7.2.4-7" in rendered
    assert "image: redislabs/operator" not in rendered


def test_base_kustomization_never_lists_a_file_outside_the_base(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "pod.yaml").write_text(POD.format(name="p", image="nginx:1"), encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "more.yaml").write_text(POD.format(name="q", image="redis:1"),
                                                     encoding="utf-8")
    (base / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (base / "more.yaml").symlink_to(tmp_path / "elsewhere" / "more.yaml")
    code, _, err = run("relocate", str(base), "--registry", "registry.corp:5000",
                       "--write-base-kustomization", "--output", str(tmp_path / "o"))
    assert code == 2
    assert "resolves outside BASE" in err
    assert not (base / "kustomization.yaml").exists()
    assert not (tmp_path / "o").exists()


def test_the_command_header_reproduces_the_run_byte_for_byte(tmp_path: Path) -> None:
    output = tmp_path / "over lay"
    args = ["relocate", "fixtures/redis-enterprise/bundle.yaml", "--registry",
            "registry.corp:5000/mirror", "--output", str(output), "--keep-registry-host",
            "--pull-secret", "reg cred", "--profile", "core", "--profile", "redis-enterprise",
            "--param", "redis-enterprise.operatorVersion=7.2.4-7", "--renderer", "builtin",
            "--allow-unrelocated", "--pull-policy", "Always", "--service-accounts"]
    assert kpatch(*args).returncode == 0
    first = {p.name: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    header = (output / "kustomization.yaml").read_text(encoding="utf-8").splitlines()[1]
    command = shlex.split(header.removeprefix("# Command: "))
    assert command[:2] == ["kpatch", "relocate"]
    for option in ("--keep-registry-host", "--profile", "--param", "--renderer",
                   "--allow-unrelocated", "--pull-policy", "--service-accounts"):
        assert option in command
    assert "reg cred" in command
    subprocess.run(["rm", "-rf", str(output)], check=True)
    assert kpatch(*command[1:]).returncode == 0
    assert {p.name: p.read_bytes() for p in output.rglob("*") if p.is_file()} == first


# --- writes -----------------------------------------------------------------------------------


def _base(tmp_path: Path, images: list[str]) -> Path:
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / "pods.yaml").write_text("---\n".join(
        POD.format(name=f"p{i}", image=image) for i, image in enumerate(images)),
        encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [pods.yaml]\n", encoding="utf-8")
    return base


def test_files_get_the_users_umask(tmp_path: Path) -> None:
    base = _base(tmp_path, ["nginx:1"])
    for umask, mode in ((0o022, 0o644), (0o002, 0o664)):
        output = tmp_path / f"o{umask}"
        done = kpatch("relocate", str(base), "--registry", "r.example", "--output", str(output),
                      preexec_fn=lambda u=umask: os.umask(u))
        assert done.returncode == 0, done.stderr
        assert {p.stat().st_mode & 0o777 for p in output.iterdir()} == {mode}
        assert output.stat().st_mode & 0o777 == mode | 0o111


def test_force_keeps_the_old_overlay_when_the_rest_cannot_be_written(tmp_path: Path) -> None:
    base = _base(tmp_path, ["nginx:1", "redis:1"])
    output = tmp_path / "o"
    assert run("relocate", str(base), "--registry", "r.example", "--output", str(output))[0] == 0
    before = (output / "kustomization.yaml").read_bytes()
    (output / "pod-p0.yaml").unlink()
    (output / "pod-p0.yaml").mkdir()  # a folder where a patch file goes
    (output / "pod-p0.yaml" / "keep.txt").write_text("mine\n", encoding="utf-8")
    code, _, err = run("relocate", str(base), "--registry", "other.example", "--output",
                       str(output), "--force")
    assert code == 2
    assert "pod-p0.yaml is a directory where kpatch writes a file" in err
    assert "internal error" not in err
    assert (output / "kustomization.yaml").read_bytes() == before
    assert (output / "pod-p0.yaml" / "keep.txt").exists()


def test_files_kpatch_did_not_write_survive_the_switch(tmp_path: Path) -> None:
    base = _base(tmp_path, ["nginx:1"])
    output = tmp_path / "o"
    assert run("relocate", str(base), "--registry", "r.example", "--output", str(output))[0] == 0
    (output / "README.md").write_text("notes\n", encoding="utf-8")
    (output / "docs").mkdir()
    (output / "docs" / "a.txt").write_text("a\n", encoding="utf-8")
    assert run("relocate", str(base), "--registry", "s.example", "--output", str(output))[0] == 0
    assert (output / "README.md").read_text(encoding="utf-8") == "notes\n"
    assert (output / "docs" / "a.txt").read_text(encoding="utf-8") == "a\n"
    assert "s.example/library/nginx:1" in (output / "pod-p0.yaml").read_text(encoding="utf-8")


def _read_only(mount: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """kpatch with ``mount`` made read-only, in a user and mount namespace of its own
    (root ignores file modes, not a read-only mount)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is required for the read-only output tests")
    script = ('mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && '
              'exec "$@"')
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(mount), sys.executable, "-m", "kpatch", *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def test_a_read_only_output_is_an_error_not_a_crash(tmp_path: Path) -> None:
    base = _base(tmp_path, ["nginx:1"])
    output = tmp_path / "out" / "overlay"
    assert run("relocate", str(base), "--registry", "r.example", "--output", str(output))[0] == 0
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    # The overlay folder itself read-only.
    done = _read_only(output, "relocate", str(base), "--registry", "s.example", "--output",
                      str(output))
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(f"kpatch: error: {output}: output directory is not writable\n")
    # The folder that holds it read-only: nowhere to build the new overlay.
    done = _read_only(output.parent, "relocate", str(base), "--registry", "s.example",
                      "--output", str(output.parent / "second"))
    assert done.returncode == 2, done.stderr
    assert "second: cannot write the overlay: Read-only file system in " in done.stderr
    assert "internal error" not in done.stderr
    assert not (output.parent / "second").exists()
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["max_input_bytes", "max_depth", "max_documents"])
@pytest.mark.parametrize("value", [-1, 0, 10**15])
def test_limits_are_validated(field: str, value: int) -> None:
    with pytest.raises(KpatchError, match="must be a whole number from 1 to"):
        LoadLimits(**{field: value})


@pytest.mark.parametrize("depth", [999, 30_000, 200_000])
def test_deep_nesting_never_crashes_at_the_highest_limit(tmp_path: Path, depth: int) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nextra: "
                    + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    base = tmp_path / "base"
    base.mkdir()
    (base / "deep.yaml").write_text(deep.read_text(encoding="utf-8"), encoding="utf-8")
    (base / "kustomization.yaml").write_text("resources: [deep.yaml]\n", encoding="utf-8")
    env = {**os.environ, "KPATCH_MAX_DEPTH": "1000"}
    for args in (("images", str(deep)), ("build", str(base)),
                 ("relocate", str(base), "--registry", "r.example", "--output",
                  str(tmp_path / "o")), ("diff", str(deep), str(deep))):
        done = kpatch(*args, env=env)
        assert done.returncode in (0, 2), (args, done.returncode, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        if depth > 1000:
            assert "YAML nests deeper than 1000 levels" in done.stderr


def test_an_output_that_is_a_symlink_stays_one(tmp_path: Path) -> None:
    base = _base(tmp_path, ["nginx:1"])
    real = tmp_path / "real"
    link = tmp_path / "link"
    assert run("relocate", str(base), "--registry", "r.example", "--output", str(real))[0] == 0
    link.symlink_to(real, target_is_directory=True)
    code, _, err = run("relocate", str(base), "--registry", "s.example", "--output", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert "s.example/library/nginx:1" in (real / "pod-p0.yaml").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "link", "real"]
