"""Output people read: tables that fit a terminal (tested in a real pty),
full values when piped, CSV that carries every JSON field, and one wording for
"rendered with"."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from kpatch import cli
from kpatch.tables import Column, format_table, shorten_middle

KPATCH = [sys.executable, "-m", "kpatch"]
REDIS = ["fixtures/redis-enterprise/bundle.yaml", "fixtures/redis-enterprise/clusters.yaml"]
K8SSANDRA = ["fixtures/k8ssandra-cluster"]


def at_terminal(args: list[str], columns: int, env: dict[str, str] | None = None
                ) -> tuple[int, list[str], str]:
    """Run kpatch with stdout on a real pseudo-terminal ``columns`` wide."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environment.update(env or {})
    process = subprocess.Popen([*KPATCH, *args], stdout=slave, stderr=subprocess.PIPE,
                               env=environment)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    code = process.wait(timeout=60)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return code, text.splitlines(), err


def piped(args: list[str], env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    environment = {**os.environ, **(env or {})}
    done = subprocess.run([*KPATCH, *args], capture_output=True, text=True, check=False,
                          env=environment, timeout=60)
    return done.returncode, done.stdout.splitlines()


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("inputs", [REDIS, K8SSANDRA], ids=["redis", "k8ssandra"])
def test_images_table_fits_the_terminal(inputs: list[str], columns: int) -> None:
    code, lines, _ = at_terminal(["images", *inputs], columns)
    assert code == 0
    assert lines[0].startswith("IMAGE")
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    _, full = piped(["images", *inputs])
    assert max(len(line) for line in full) > columns  # there was something to fit


def test_at_80_columns_images_stay_whole_and_the_rest_moves_to_a_detail_line() -> None:
    _, lines, _ = at_terminal(["images", *REDIS], 80)
    assert lines[0].split() == ["IMAGE", "RESOURCE", "PATH"]
    assert lines[1].startswith("redislabs/operator:7.2.4-7 ")
    assert "..." in lines[1]  # the resource name and the pointer, shortened in the middle
    assert lines[2] == "    fixtures/redis-enterprise/bundle.yaml:27  string"


def test_piped_output_keeps_every_value_whole_even_with_columns_set() -> None:
    code, lines = piped(["images", *REDIS], env={"COLUMNS": "60"})
    assert code == 0
    assert lines[0].split() == ["IMAGE", "RESOURCE", "PATH", "SOURCE", "SHAPE"]
    assert "..." not in "\n".join(lines)
    assert "/spec/template/spec/containers/0/image" in lines[1]
    assert "fixtures/redis-enterprise/bundle.yaml:27" in lines[1]


def test_columns_overrides_the_terminal_width() -> None:
    _, lines, _ = at_terminal(["images", *REDIS], 200, env={"COLUMNS": "70"})
    assert max(len(line) for line in lines) <= 70
    _, wide, _ = at_terminal(["images", *REDIS], 200)
    assert wide[0].split() == ["IMAGE", "RESOURCE", "PATH", "SOURCE", "SHAPE"]


def test_dry_run_plan_fits_the_terminal(tmp_path: Path) -> None:
    args = ["relocate", "fixtures/k8ssandra-cluster", "--registry", "registry.corp:5000",
            "--output", str(tmp_path / "out"), "--dry-run"]
    code, lines, _ = at_terminal(args, 100)
    assert code == 0
    table = lines[:lines.index("")] if "" in lines else lines
    assert max(len(line) for line in table) <= 100
    assert table[0].split() == ["IMAGE", "RELOCATED", "TO"]
    old, new = table[1].split()
    assert old == "k8ssandra/k8ssandra-operator:v1.32.5"
    assert new.startswith("registry.corp:5000/k8ss") and new.endswith("-operator:v1.32.5")
    assert table[2].split() == ["Deployment", "k8ssandra/k8ssandra-operator",
                                "/spec/template/spec/containers/0/image", "replace"]
    _, full = piped(args)
    assert full[0].split()[:3] == ["RESOURCE", "PATH", "IMAGE"]


def test_format_table_shortens_the_lowest_rank_first_then_moves_columns() -> None:
    columns = (Column("NAME", min_width=8, shrink_rank=1), Column("PATH", min_width=8),
               Column("NOTE", detail_order=0))
    rows = [("alpha-beta-gamma", "/a/very/long/pointer/to/somewhere", "n1")]
    assert format_table(columns, rows, None).splitlines()[1].split() == list(rows[0])
    narrow = format_table(columns, rows, 45).splitlines()
    # PATH (rank 0) down to two thirds first, then NAME: NOTE stays in the row.
    assert narrow[1] == "alpha-...-gamma  /a/very/l.../somewhere  n1"
    narrower = format_table(columns, rows, 30).splitlines()
    assert narrower[0].split() == ["NAME", "PATH"]
    assert narrower[1] == "alpha-beta-gamma  /a/v...where"
    assert narrower[2] == "    n1"
    assert all(len(line) <= 30 for line in narrower)


def test_shorten_middle_keeps_both_ends() -> None:
    assert shorten_middle("fixtures/redis-enterprise/bundle.yaml:27", 20) == \
        "fixtures...e.yaml:27"
    assert shorten_middle("short", 20) == "short"
    assert len(shorten_middle("x" * 50, 7)) == 7


def test_csv_carries_every_json_field() -> None:
    _, as_json = piped(["images", *K8SSANDRA, "--format", "json"])
    _, as_csv = piped(["images", *K8SSANDRA, "--format", "csv"])
    items = json.loads("\n".join(as_json))
    rows = list(csv.DictReader(io.StringIO("\n".join(as_csv) + "\n")))
    assert len(rows) == len(items)
    for item, row in zip(items, rows, strict=True):
        for key, value in item.items():
            if key == "resource":
                for part, text in value.items():
                    assert row[part] == (text or "")
            elif key == "effective_for":
                assert json.loads(row[key]) == value
            else:
                expected = "" if value is None else str(value)
                assert row[key] == expected, key
    assert any(row["effective_for"] for row in rows)
    assert all(row["pulled"] in ("True", "False") for row in rows)


def test_csv_unique_carries_uses() -> None:
    _, as_csv = piped(["images", *REDIS, "--format", "csv", "--unique"])
    rows = list(csv.DictReader(io.StringIO("\n".join(as_csv) + "\n")))
    assert rows and all(int(row["uses"]) >= 1 for row in rows)


def test_option_choices_match_their_owners() -> None:
    from kpatch.relocate import PULL_POLICIES
    from kpatch.render import RENDERER_CHOICES
    from kpatch.report import FORMATS

    assert cli.RENDERER_CHOICES == RENDERER_CHOICES
    assert cli.IMAGE_FORMATS == FORMATS
    assert cli.PULL_POLICIES == PULL_POLICIES


@pytest.mark.parametrize("command", [
    ["images", "fixtures/workloads"],
    ["build", "fixtures/workloads"],
    ["diff", "fixtures/workloads", "fixtures/workloads"],
])
def test_one_wording_for_rendered_with(command: list[str]) -> None:
    done = subprocess.run([*KPATCH, *command], capture_output=True, text=True, check=False)
    assert "kpatch: rendered fixtures/workloads with the built-in renderer\n" in done.stderr


FALLBACK = ("kpatch: rendered fixtures/cass-operator-v1beta1 with kubectl kustomize (the "
            "built-in renderer does not support the field 'namePrefix')\n")


@pytest.mark.parametrize("command", [
    ["images", "fixtures/cass-operator-v1beta1"],
    ["build", "fixtures/cass-operator-v1beta1"],
    ["diff", "overlays/cass-operator-v1beta1"],
    ["diff", "fixtures/cass-operator-v1beta1", "fixtures/cass-operator-v1beta1"],
])
def test_one_wording_when_the_builtin_renderer_steps_aside(command: list[str]) -> None:
    done = subprocess.run([*KPATCH, *command], capture_output=True, text=True, check=False)
    assert FALLBACK in done.stderr, done.stderr


def test_relocate_says_how_it_rendered_the_base(tmp_path: Path) -> None:
    done = subprocess.run([*KPATCH, "relocate", "fixtures/workloads", "--registry", "r.corp",
                           "--output", str(tmp_path / "o"), "--dry-run"],
                          capture_output=True, text=True, check=False)
    assert done.stderr.startswith(
        "kpatch: rendered fixtures/workloads with the built-in renderer\n"), done.stderr


def _uses(*args: str) -> list[dict[str, object]]:
    code, lines = piped(["images", *args, "--format", "json"])
    assert code == 0
    return list(json.loads("\n".join(lines)))


@pytest.mark.parametrize("tree", ["fixtures/k8ssandra-cluster", "fixtures/workloads",
                                  "fixtures/redis-enterprise"])
def test_lines_of_a_tree_kpatch_renders_point_into_its_source_files(tree: str) -> None:
    uses = _uses(tree)
    checked = 0
    for use in uses:
        file, line = use["file"], use["line"]
        assert isinstance(file, str) and file.startswith(f"{tree}/"), use
        assert "(rendered)" not in file
        if use["shape"] == "string" and isinstance(line, int):
            text = Path(file).read_text(encoding="utf-8").splitlines()[line - 1]
            assert str(use["image"]) in text, (use, text)
            checked += 1
    assert checked >= 2


def test_fields_an_overlay_rebuilt_are_attributed_to_the_render() -> None:
    uses = _uses("overlays/k8ssandra-cluster")
    relocated = [u for u in uses if str(u["image"]).startswith("registry.corp:5000/")]
    assert relocated
    for use in relocated:
        assert use["file"] == "overlays/k8ssandra-cluster (rendered)" and use["line"] is None


def test_lines_of_an_external_render_are_lines_of_its_stream() -> None:
    tree = "fixtures/k8ssandra-cluster"
    stream = subprocess.run(["kubectl", "kustomize", tree], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    uses = _uses(tree, "--renderer", "kubectl")
    for use in uses:
        assert use["file"] == f"{tree} (rendered)"
        if use["shape"] == "string":
            assert isinstance(use["line"], int)
            assert str(use["image"]) in stream[use["line"] - 1]


# Where each command is documented; a command missing here is checked against
# the README alone.
COMMAND_DOCS = {"images": ["README.md", "docs/images-output.md"],
                "relocate": ["docs/relocate.md"], "diff": ["docs/diff.md"],
                "build": ["docs/renderer.md"], "mirror": ["docs/mirror.md"],
                "values": ["docs/helm.md"], "init": ["docs/config.md"],
                "sync": ["docs/config.md"], "check": ["docs/check.md"]}


@pytest.mark.parametrize("command", sorted(cli.main.commands))
def test_help_options_and_choices_are_documented(command: str) -> None:
    import click

    docs = "\n".join(Path(p).read_text(encoding="utf-8")
                     for p in ["README.md", *COMMAND_DOCS.get(command, [])])
    params = cli.main.commands[command].params
    options = [p for p in params if isinstance(p, click.Option)]
    assert options
    for option in options:
        long_name = max(option.opts, key=len)
        if long_name == "--help":
            continue
        assert long_name in docs, f"{command} {long_name} is not in {COMMAND_DOCS.get(command)}"
        if isinstance(option.type, click.Choice):
            for choice in option.type.choices:
                assert str(choice) in docs, f"{command} {long_name} {choice} undocumented"
    done = subprocess.run([*KPATCH, command, "--help"], capture_output=True, text=True,
                          check=True)
    first = done.stdout.split("\n\n")[1].strip()
    assert first and not first.startswith("Options"), done.stdout
