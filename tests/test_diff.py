"""`kpatch diff`: golden files per format, exit codes, inputs, and bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.diff.engine import DiffOptions, diff_documents
from kpatch.diff.model import Side
from kpatch.diff.report_markdown import LIMIT, render_markdown
from kpatch.yamlio import load_stream

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "diff"
UPDATE = os.environ.get("KPATCH_UPDATE_GOLDENS") == "1"
FORMATS = {"text": "txt", "markdown": "md", "json": "json", "github": "github"}
OVERLAYS = sorted(p.name for p in (ROOT / "overlays").iterdir() if p.is_dir())


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def check_golden(name: str, text: str, tmp: Path | None = None,
                 upstream: Path | None = None) -> None:
    """Compare with tests/golden/diff/NAME; paths that depend on where the
    checkout and ../shared live are replaced by placeholders first."""
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    if upstream is not None:
        text = text.replace(os.path.relpath(upstream.resolve()), "<upstream>")
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with KPATCH_UPDATE_GOLDENS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_golden(overlay: str, fmt: str) -> None:
    code, out, _ = run("diff", f"overlays/{overlay}", "--format", fmt)
    assert code == 1
    check_golden(f"{overlay}.{FORMATS[fmt]}", out)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_upstream_cass_operator_golden(upstream: Path, tmp_path: Path, fmt: str) -> None:
    overlay = tmp_path / "overlay"
    code, _, err = run("relocate", str(upstream / "cass-operator-v1.26.0/config/deployments/"
                                       "cluster"), "--registry", "registry.corp:5000",
                       "--output", str(overlay), "--pull-secret", "regcred")
    assert code == 0, err
    code, out, err = run("diff", str(overlay), "--format", fmt)
    assert code == 1, err
    # The base needs kubectl (generators, prefixes); the overlay is applied in process.
    assert "with kubectl kustomize (the built-in renderer does not support" in err
    assert "with the built-in renderer (on the rendered base)" in err
    check_golden(f"upstream-cass-operator.{FORMATS[fmt]}", out, tmp_path, upstream)
    if fmt == "text":
        # The ImageConfig change shows as paths inside the string, not as a blob.
        assert "/data/image_config.yaml#/images/system-logger" in out
        assert "/data/image_config.yaml#/defaults/cassandra/repository" in out
        assert "\n    /data/image_config.yaml\n" not in out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_two_paths_golden(fmt: str) -> None:
    code, out, _ = run("diff", "fixtures/diff/before.yaml", "fixtures/diff/after.yaml",
                       "--format", fmt)
    assert code == 1
    check_golden(f"before-after.{FORMATS[fmt]}", out)


def test_two_paths_semantics() -> None:
    code, out, _ = run("diff", "fixtures/diff/before.yaml", "fixtures/diff/after.yaml",
                       "--format", "json")
    assert code == 1
    data = yaml.safe_load(out)
    assert data["summary"] == {"changed": 2, "added": 1, "removed": 1, "renamed": 1}
    by_kind = {r["new"]["kind"] if r["new"] else r["old"]["kind"]: r for r in data["resources"]}
    renamed = by_kind["ConfigMap"]
    assert renamed["status"] == "renamed"
    assert renamed["old"]["name"] == "app-config-5c2fk97h8m"
    assert {c["path"] for c in renamed["changes"]} == {
        "/data/settings.json#/log", "/data/settings.json#/features/2",
        "/data/app.yaml#/server/port", "/data/app.yaml#/server/tls"}
    secret = by_kind["Secret"]["changes"]
    assert secret == [{"path": "/stringData/password", "type": "changed", "old": "<hidden>",
                       "new": "<hidden>", "masked": True}]
    # Containers matched by name although they swapped places.
    web = {c["path"]: c for c in by_kind["Deployment"]["changes"]}
    assert web["/spec/template/spec/containers/1/image"]["new"] == "shop/web:1.5.0"
    assert not any("containers/0" in p for p in web)


def test_show_secrets_and_ignore() -> None:
    code, out, _ = run("diff", "fixtures/diff/before.yaml", "fixtures/diff/after.yaml",
                       "--show-secrets", "--ignore", "/metadata/annotations",
                       "--ignore", "/data/app.yaml#/server", "--format", "json")
    assert code == 1
    data = yaml.safe_load(out)
    changes = [c for r in data["resources"] for c in r["changes"]]
    assert {"path": "/stringData/password", "type": "changed", "old": "hunter2",
            "new": "correct-horse"} in changes
    assert not any(c["path"].startswith(("/metadata/annotations", "/data/app.yaml#/server"))
                   for c in changes)
    assert data["ignored"] == 3


def test_identical_inputs_exit_0_and_ignoring_everything_too() -> None:
    code, out, _ = run("diff", "fixtures/olm", "fixtures/olm")
    assert (code, out) == (0, "no differences\n")
    code, out, _ = run("diff", "fixtures/diff/before.yaml", "fixtures/diff/before.yaml",
                       "--format", "markdown")
    assert code == 0 and "no differences" in out


def test_stdin_on_one_side() -> None:
    text = (ROOT / "fixtures/diff/after.yaml").read_text(encoding="utf-8")
    code, out, _ = run("diff", "fixtures/diff/before.yaml", "-", "--summary", stdin=text)
    assert code == 1
    assert out.splitlines()[-1] == "5 resources: 2 changed, 1 added, 1 removed, 1 renamed"


def test_colour_only_when_asked_or_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("diff", "fixtures/diff/before.yaml", "fixtures/diff/after.yaml")
    assert "\033[" in run(*args, "--color", "always")[1]
    assert "\033[" not in run(*args, "--color", "never")[1]
    assert "\033[" not in run(*args)[1]  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("kpatch.cli.sys.stdout.isatty", lambda: True, raising=False)
    from kpatch.cli import _use_color

    assert not _use_color("auto")
    monkeypatch.delenv("NO_COLOR")
    assert _use_color("auto")


def test_markdown_stays_under_the_comment_limit() -> None:
    def stream(version: str) -> str:
        return "---\n".join(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n"
            f"data: {{value: '{version}-{'x' * 40}-{i}'}}\n" for i in range(3000))

    result = diff_documents(load_stream(stream("old"), "a"), load_stream(stream("new"), "b"),
                            DiffOptions(), Side("a"), Side("b"))
    text = render_markdown(result)
    assert len(text) <= LIMIT
    listed = re.search(r"_(\d+) more resource\(s\) not listed", text)
    assert listed is not None and 0 < int(listed.group(1)) < 3000
    details = re.search(r"Details of (\d+) more resource\(s\) left out", text)
    assert details is not None
    # Every resource is either a row of the table or counted as not listed.
    rows = text.count("| ~ | `ConfigMap cm-")
    assert rows + int(listed.group(1)) == 3000
    # A small diff is not cut at all.
    small = render_markdown(diff_documents(
        load_stream(stream("old"), "a")[:3], load_stream(stream("new"), "b")[:3],
        DiffOptions(), Side("a"), Side("b")))
    assert "left out" not in small and "not listed" not in small
    assert small.count("<details>") == 3


def test_diff_git_compares_a_revision_with_the_working_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures" / "olm", repo / "app")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *command], cwd=repo, check=True, env=env)
    manifest = repo / "app" / "operator.yaml"
    manifest.write_text(manifest.read_text().replace("widget:2.1.0", "widget:2.2.0"))
    done = subprocess.run([sys.executable, "-m", "kpatch", "diff", "--git", "HEAD", "app",
                           "--format", "json"], cwd=repo, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1, done.stderr
    data = yaml.safe_load(done.stdout)
    assert data["left"]["source"] == "app@HEAD"
    (change,) = data["resources"][0]["changes"]
    assert change["path"] == "/spec/template/spec/containers/0/env/0/value"
    assert (change["old"], change["new"]) == ("quay.io/widgets/widget:2.1.0",
                                              "quay.io/widgets/widget:2.2.0")
    subprocess.run(["git", "commit", "-qam", "bump"], cwd=repo, check=True, env=env)
    done = subprocess.run([sys.executable, "-m", "kpatch", "diff", "--git", "HEAD", "app"],
                          cwd=repo, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "no differences\n")


def _drifted_overlay(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    shutil.copytree(ROOT / "fixtures" / "olm", base)
    assert run("relocate", str(base), "--registry", "registry.corp:5000",
               "--output", str(tmp_path / "overlay"))[0] == 0
    manifest = base / "operator.yaml"
    manifest.write_text(manifest.read_text().replace("name: manager", "name: boss"))
    return tmp_path / "overlay"


def _unrenderable(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    return folder


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["diff", str(_unrenderable(t))], "missing.yaml: no such file or directory"),
        (lambda t: ["diff", str(_unrenderable(t)), "fixtures/olm"], "missing.yaml: no such file"),
        (lambda t: ["diff", "fixtures/olm", "--renderer", "kustomize", "fixtures/olm"],
         "renderer 'kustomize' not found"),
        (lambda t: ["diff", str(_drifted_overlay(t))], "test operation in the patch failed"),
        (lambda t: ["diff", "fixtures/bad/malformed.yaml", "fixtures/olm"], "invalid YAML"),
        (lambda t: ["diff", "fixtures/olm/operator.yaml"], "needs an overlay"),
        (lambda t: ["diff", "a", "b", "c"], "give an OVERLAY, two paths A B, or --git REV"),
        (lambda t: ["diff", "--git", "no-such-revision", "fixtures/olm"], "git archive failed"),
        (lambda t: ["diff", "-", "-"], "only one side can be read from standard input"),
    ],
    ids=["unrenderable-overlay", "unrenderable-side", "renderer-missing", "failing-test-op",
         "malformed-yaml", "not-an-overlay", "too-many-paths", "bad-revision", "two-stdins"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, make_args: object,
                                         message: str) -> None:
    if "kustomize" in str(make_args) and shutil.which("kustomize"):
        pytest.skip("kustomize is installed here, so it cannot be missing")
    args = make_args(tmp_path)  # type: ignore[operator]
    done = subprocess.run([sys.executable, "-m", "kpatch", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("kpatch: error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_build_prints_the_stream_and_says_which_renderer() -> None:
    code, out, err = run("build", "fixtures/workloads")
    assert code == 0 and err == "kpatch: rendered fixtures/workloads with the built-in renderer\n"
    assert len([d for d in yaml.safe_load_all(out) if d]) == 10
    code, out, err = run("build", "fixtures/cass-operator-v1beta1")
    assert code == 0
    assert err == ("kpatch: rendered fixtures/cass-operator-v1beta1 with kubectl kustomize "
                   "(the built-in renderer does not support the field 'namePrefix')\n")
    code, _, err = run("build", "fixtures/cass-operator-v1beta1", "--renderer", "builtin")
    assert code == 2 and "does not support the field 'namePrefix'" in err


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["build", str(_unrenderable(t))], "missing.yaml: no such file or directory"),
        (lambda t: ["build", str(_drifted_overlay(t))], "test operation in the patch failed"),
        (lambda t: ["build", "fixtures/olm/operator.yaml"], "not a kustomization directory"),
        (lambda t: ["build", "fixtures/olm", "--renderer", "builtin"], None),
    ],
    ids=["unrenderable", "failing-test-op", "not-a-kustomization", "fine"],
)
def test_build_bad_input(tmp_path: Path, make_args: object, message: str | None) -> None:
    args = make_args(tmp_path)  # type: ignore[operator]
    done = subprocess.run([sys.executable, "-m", "kpatch", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if message is None:
        assert done.returncode == 0 and "kind: Deployment" in done.stdout
        return
    assert done.returncode == 2 and done.stdout == ""
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("kpatch: error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr


def test_overlay_targeting_an_earlier_namespace_is_not_skipped(tmp_path: Path) -> None:
    """kustomize matches a target against a resource's namespace before its base
    moved it; the in-process overlay cannot see that history, so it must fall
    back to a full render rather than silently skip the patch."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("namespace: moved\nresources: [cm.yaml]\n")
    (base / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                  "metadata: {name: c, namespace: orig}\ndata: {a: b}\n")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n- target: {kind: ConfigMap, namespace: orig}\n"
        "  patch: '[{\"op\": \"add\", \"path\": \"/data/x\", \"value\": \"y\"}]'\n")
    code, out, err = run("diff", str(overlay), "--format", "json")
    assert code == 1, err
    (resource,) = yaml.safe_load(out)["resources"]
    assert resource["changes"] == [{"path": "/data/x", "type": "added", "new": "y"}]
    assert "builtin (on the rendered base)" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "fixtures/olm", "fixtures/olm", "--renderer", "kubectl"],
         "renderer 'kubectl' not found: kubectl is not on PATH"),
        (["build", "fixtures/cass-operator-v1beta1"],
         "the built-in renderer does not support the field 'namePrefix', and neither "
         "kustomize nor kubectl is installed"),
        (["images", "fixtures/cass-operator-v1beta2"],
         "does not support the field 'configMapGenerator', and neither kustomize nor "
         "kubectl is installed"),
        (["diff", "overlays/cass-operator-v1beta1"], "neither kustomize nor kubectl"),
    ],
    ids=["named-renderer", "build-auto", "images-auto", "diff-overlay-auto"],
)
def test_missing_renderers_are_one_clear_line(args: list[str], message: str) -> None:
    # A real process with no renderer on PATH (kpatch itself needs none).
    done = subprocess.run([sys.executable, "-m", "kpatch", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": ""})
    assert done.returncode == 2, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("kpatch: error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_builtin_trees_need_no_renderer_at_all() -> None:
    done = subprocess.run([sys.executable, "-m", "kpatch", "diff", "overlays/workloads",
                           "--summary"], cwd=ROOT, capture_output=True, text=True,
                          check=False, env={**os.environ, "PATH": ""})
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == "8 resources: 8 changed"
