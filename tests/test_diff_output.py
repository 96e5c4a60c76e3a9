"""`kpatch diff` output people read: what an ImageConfig edit does to the images,
GitHub's annotation limits, markdown code spans, --summary, --ignore typos,
and `relocate --dry-run` on an overlay that is already up to date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kpatch.diff.report_github import ANNOTATIONS_MAX
from kpatch.diff.report_markdown import code_span

KPATCH = [sys.executable, "-m", "kpatch"]


def kpatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KPATCH, *args], capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.fixture
def registry_edit(tmp_path: Path) -> tuple[Path, Path]:
    """The cass-operator v1beta2 fixture rendered, and the same with the
    ImageConfig's defaults.registry changed."""
    done = subprocess.run(["kubectl", "kustomize", "fixtures/cass-operator-v1beta2"],
                          capture_output=True, text=True, check=True)
    before = tmp_path / "before.yaml"
    after = tmp_path / "after.yaml"
    before.write_text(done.stdout, encoding="utf-8")
    edited = done.stdout.replace("\n      registry: docker.io\n", "\n      registry: mirror.corp\n")
    assert edited != done.stdout
    after.write_text(edited, encoding="utf-8")
    return before, after


def test_an_imageconfig_registry_edit_lists_every_image_that_moves(
        registry_edit: tuple[Path, Path]) -> None:
    before, after = registry_edit
    done = kpatch("diff", str(before), str(after))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "/data/image_config.yaml#/defaults/registry" in out
    assert "Images that move: 4 (images operators derive included)" in out
    for old, new in [
        ("docker.io/k8ssandra/system-logger:v1.28.0",
         "mirror.corp/k8ssandra/system-logger:v1.28.0"),
        ("docker.io/k8ssandra/k8ssandra-client:v0.8.3",
         "mirror.corp/k8ssandra/k8ssandra-client:v0.8.3"),
        ("docker.io/k8ssandra/medusa:0.22.3", "mirror.corp/k8ssandra/medusa:0.22.3"),
        # The server image cass-operator derives for the DSE datacenter:
        ("docker.io/datastax/dse-mgmtapi-6_8:6.8.50-ubi8",
         "mirror.corp/datastax/dse-mgmtapi-6_8:6.8.50-ubi8"),
    ]:
        assert f"      {old} -> {new}\n" in out
    assert "CassandraDatacenter cass-operator/dse-dc /spec/serverImage (derived)" in out
    # config-builder names its own registry, and pinned-dc its own images: they stay.
    assert "cass-config-builder" not in out.split("Images that move")[1]
    assert "pinned-dc" not in out
    report = json.loads(kpatch("diff", str(before), str(after), "--format", "json").stdout)
    moves = {m["path"]: m for m in report["image_moves"]}
    assert moves["/spec/serverImage"]["implicit"] is True
    assert moves["/spec/serverImage"]["new"] == "mirror.corp/datastax/dse-mgmtapi-6_8:6.8.50-ubi8"
    markdown = kpatch("diff", str(before), str(after), "--format", "markdown").stdout
    assert "| `CassandraDatacenter cass-operator/dse-dc` (derived) | `/spec/serverImage` |" in \
        markdown


def test_no_image_moves_when_nothing_image_related_changed(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n")
    b.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: w}\n")
    done = kpatch("diff", str(a), str(b))
    assert "Images that move" not in done.stdout
    assert json.loads(kpatch("diff", str(a), str(b), "--format", "json").stdout)[
        "image_moves"] == []


def _many_changes(tmp_path: Path, count: int) -> tuple[Path, Path]:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    docs_a, docs_b = [], []
    for i in range(count):
        head = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
        docs_a.append(head + "data: {k: v}\n")
        docs_b.append(head + "data: {k: w}\n")
    docs_a.append("apiVersion: v1\nkind: Service\nmetadata: {name: gone}\n")
    a.write_text("---\n".join(docs_a), encoding="utf-8")
    b.write_text("---\n".join(docs_b), encoding="utf-8")
    return a, b


def test_github_annotations_are_capped_and_the_rest_summarised(tmp_path: Path) -> None:
    a, b = _many_changes(tmp_path, 15)
    done = kpatch("diff", str(a), str(b), "--format", "github")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    annotations = [ln for ln in lines if ln.startswith("::")]
    assert len(annotations) == ANNOTATIONS_MAX + 1 <= 10
    # The removed resource is a warning and is annotated first, whatever its place.
    assert sum(ln.startswith("::warning") for ln in annotations) == 1
    assert "Service/gone" in annotations[-2] or "Service gone" in "".join(annotations)
    summary = annotations[-1]
    assert summary.startswith("::notice title=kpatch diff::16 resources: 15 changed, 1 removed")
    assert "7 more resources not annotated (GitHub shows 10 annotations per step)" in summary
    # Nothing is lost: the step's log names every resource.
    logged = [ln for ln in lines if ln.startswith("kpatch diff: ")]
    assert len(logged) == 16
    assert "kpatch diff: ConfigMap c14 (changed, 1 change)" in logged


def test_markdown_keeps_backticks_in_code_spans(tmp_path: Path) -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("run ``make``") == "``` run ``make`` ```"
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {cmd: 'echo `id`'}\n")
    b.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                 "data: {cmd: 'echo `id` | tr a b'}\n")
    out = kpatch("diff", str(a), str(b), "--format", "markdown").stdout
    assert "| `/data/cmd` | changed | `` echo `id` `` | ``echo `id` \\| tr a b`` |" in out


def test_summary_wording(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {k: v}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-5c2fk97h8m}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: {a: '1', b: '1'}\n")
    b.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {k: w}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-9t7d6bb2k4}\n---\n"
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: {a: '2', b: '2'}\n"
                 "---\napiVersion: v1\nkind: Secret\nmetadata: {name: new}\n")
    out = kpatch("diff", str(a), str(b), "--summary").stdout.splitlines()
    assert out == [
        "~ ConfigMap one  (changed, 1 change)",
        "> ConfigMap app-5c2fk97h8m -> app-9t7d6bb2k4  (renamed, no other change)",
        "~ ConfigMap two  (changed, 2 changes)",
        "+ Secret new  (added)",
        "4 resources: 2 changed, 1 added, 1 renamed",
    ]


def test_ignore_that_matches_nothing_warns(tmp_path: Path) -> None:
    a, b = _many_changes(tmp_path, 2)
    done = kpatch("diff", str(a), str(b), "--ignore", "/data/k", "--ignore", "/metadata/anotations")
    assert "kpatch: warning: --ignore /metadata/anotations matched no change" in done.stderr
    assert "--ignore /data/k " not in done.stderr
    assert "(2 changes ignored by --ignore)" in done.stdout


def test_dry_run_on_an_up_to_date_overlay_says_so(tmp_path: Path) -> None:
    out = tmp_path / "overlay"
    args = ["relocate", "fixtures/k8ssandra-cluster", "--registry", "registry.corp:5000",
            "--output", str(out)]
    fresh = kpatch(*args, "--dry-run")
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.splitlines()[-1].startswith(f"3 of 3 file(s) in {out} would be written")
    assert not out.exists()
    assert kpatch(*args).returncode == 0
    again = kpatch(*args, "--dry-run")
    assert again.stdout.splitlines()[-1] == (f"{out} is up to date: a run would change nothing "
                                             "(dry run: nothing written)")
    moved = kpatch(*args[:3], "mirror.corp", *args[4:], "--dry-run")
    assert "would be written or removed" in moved.stdout.splitlines()[-1]
