"""`kpatch values` and chart values in `kpatch images`, against the real
K8ssandra 1.5.2 chart in ../shared/upstream: the chart profile's claims checked
against the templates, every image block of the real values covered, output
images rebuilt the way the chart builds them, the seed's example reproduced,
and bad input refused without touching the user's file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kpatch.cli import main
from kpatch.helm.chart import chart_images, load_chart
from kpatch.helm.profile import built_in_profiles

GOLDEN = Path(__file__).parent / "golden" / "helm"
CHART = "k8ssandra-chart-v1.5.2"
OPERATOR_SUBCHARTS = ("cass-operator", "reaper-operator", "medusa-operator")
SEED_ACCOUNTS = ("cassandra", "stargate", "reaper", "cleaner", "client", "cass-operator",
                 "reaper-operator", "medusa-operator")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def chart_root(upstream: Path) -> Path:
    return upstream / CHART


@pytest.fixture
def chart_values(chart_root: Path) -> str:
    """The chart's values.yaml inside its chart tree (Chart.yaml beside it)."""
    return str(chart_root / "charts" / "k8ssandra" / "values.yaml")


def top_level_inputs(chart_root: Path) -> list[str]:
    """values.yaml and the three operator values at the top: no Chart.yaml beside."""
    return [str(chart_root / "values.yaml"),
            *(str(chart_root / f"{name}-values.yaml") for name in OPERATOR_SUBCHARTS)]


def profile() -> Any:
    return built_in_profiles()[0]


def get(data: Any, path: tuple[str, ...] | list[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def merged(base: Any, over: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out.get(key), value) if key in out else value
    return out


# --- an independent reading of the real values: what image blocks are there? --------


def independent_blocks(data: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Mappings a chart reads as image coordinates, found without the profile: any
    mapping with a repository or tag key (kube-prometheus-stack/grafana: registry
    inside repository), and any `image` key holding a mapping (even an empty one)."""
    found: set[tuple[str, ...]] = set()
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and (
            key == "image" or {"repository", "tag", "registry"} & set(value)
        ):
            found.add(path)
        elif isinstance(value, dict) and key != "versionImageMap":
            found |= independent_blocks(value, path)
    return found


def real_chart_blocks(chart_root: Path) -> set[tuple[str, ...]]:
    blocks = independent_blocks(yaml.safe_load((chart_root / "values.yaml").read_text()))
    for name in OPERATOR_SUBCHARTS:
        sub = yaml.safe_load((chart_root / f"{name}-values.yaml").read_text())
        blocks |= {(name, *p) for p in independent_blocks(sub)}
    return blocks


def test_the_independent_walk_finds_the_blocks_the_docs_list(chart_root: Path) -> None:
    # A guard on the guard: the walk must see the real chart's blocks, including the
    # empty cassandra.image and stargate.image and the grafana shape.
    blocks = real_chart_blocks(chart_root)
    for expected in [("cassandra", "image"), ("stargate", "image"),
                     ("cassandra", "configBuilder", "image"),
                     ("kube-prometheus-stack", "grafana", "image"),
                     ("cass-operator", "image"), ("medusa-operator", "image")]:
        assert expected in blocks
    assert len(blocks) == 15


def test_every_real_image_block_is_relocated(chart_root: Path) -> None:
    code, out, err = run("values", *top_level_inputs(chart_root), "--registry",
                         "registry.corp:5000")
    assert code == 0, err
    overrides = yaml.safe_load(out)
    missing = [".".join(p) for p in sorted(real_chart_blocks(chart_root))
               if not isinstance(get(overrides, p), dict)
               or not str(get(overrides, (*p, "registry")) or get(overrides, (*p, "repository"))
                          ).startswith("registry.corp:5000")]
    assert not missing, f"image blocks not relocated: {missing}"


# --- output images, built the way the chart builds them ------------------------------


def chart_built_images(values: dict[str, Any]) -> dict[str, str | None]:
    """Each image string as the 1.5.2 templates build it (read from the templates by
    hand for this test, separately from the profile)."""
    def flat(block: Any) -> str:
        if not block:
            return ""
        return f"{block.get('registry') or 'docker.io'}/{block['repository']}:" \
               f"{block.get('tag') or 'latest'}"
    out: dict[str, str | None] = {}
    cassandra = values["cassandra"]
    out["cassandra.image"] = flat(cassandra.get("image")) or \
        cassandra["versionImageMap"][cassandra["version"]]
    major = "3_11" if str(cassandra["version"]).startswith("3") else "4_0"
    out["stargate.image"] = flat(values["stargate"].get("image")) or \
        f"stargateio/stargate-{major}:v{values['stargate']['version']}"
    for path in ["cassandra.configBuilder.image", "cassandra.applyCustomConfig.image",
                 "cassandra.jmxCredentialsConfig.image", "cassandra.loggingSidecar.image",
                 "stargate.waitForCassandra.image", "reaper.image", "medusa.image",
                 "cleaner.image", "client.image", "cass-operator.image",
                 "reaper-operator.image", "medusa-operator.image"]:
        out[path] = flat(get(values, path.split(".")))
    grafana = values["kube-prometheus-stack"]["grafana"]["image"]
    out["kube-prometheus-stack.grafana.image"] = \
        f"{grafana['repository']}:{grafana['tag']}" if grafana.get("tag") else None
    return out


def split_tag(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    return name, tag


def normalized_name(image: str) -> str:
    name, _ = split_tag(image)
    first = name.split("/")[0]
    if "." not in first and ":" not in first:
        name = "docker.io/" + (name if "/" in name else "library/" + name)
    return name


def chart_defaults(chart_root: Path) -> dict[str, Any]:
    values = yaml.safe_load((chart_root / "values.yaml").read_text())
    for name in OPERATOR_SUBCHARTS:
        sub = yaml.safe_load((chart_root / f"{name}-values.yaml").read_text())
        values[name] = merged(sub, values.get(name, {}))
    return values


@pytest.mark.parametrize(("flags", "target"), [
    (["--registry", "registry.corp:5000"], "registry.corp:5000/"),
    (["--registry", "registry.corp:5000/mirror", "--flatten"], "registry.corp:5000/mirror/"),
    (["--registry", "registry.corp", "--map", "docker.io/k8ssandra/=mirror.corp/k8s"],
     "registry.corp/|mirror.corp/k8s/"),
])
def test_output_images_are_under_the_target_with_the_original_tag(
        chart_root: Path, flags: list[str], target: str) -> None:
    defaults = chart_defaults(chart_root)
    before = chart_built_images(defaults)
    code, out, err = run("values", *top_level_inputs(chart_root), *flags)
    assert code == 0, err
    after = chart_built_images(merged(defaults, yaml.safe_load(out)))
    assert set(after) == set(before)
    for path, image in after.items():
        old = before[path]
        assert image and old, path
        assert image.startswith(tuple(target.split("|"))), (path, image)
        assert split_tag(image)[1] == split_tag(old)[1], (path, old, image)
        if "--map" in flags and normalized_name(old).startswith("docker.io/k8ssandra/"):
            assert image.startswith("mirror.corp/k8s/"), (path, image)
    # Remote kube-prometheus-stack blocks: registry inside repository, tag left alone.
    operator = get(yaml.safe_load(out), ["kube-prometheus-stack", "prometheusOperator", "image"])
    assert set(operator) == {"repository"}
    assert operator["repository"].startswith(tuple(target.split("|")))


def test_cassandra_and_stargate_tags_come_from_the_version(chart_root: Path,
                                                           tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text('cassandra:\n  version: "3.11.12"\nstargate:\n  version: "1.0.50"\n')
    code, _, err = run("values", *top_level_inputs(chart_root), "--registry", "r.corp",
                       "--values", str(user))
    assert code == 0, err
    data = yaml.safe_load(user.read_text())
    assert data["cassandra"]["image"] == {"registry": "r.corp",
                                          "repository": "k8ssandra/cass-management-api",
                                          "tag": "3.11.12-v0.1.37"}
    assert data["stargate"]["image"] == {"registry": "r.corp",
                                         "repository": "stargateio/stargate-3_11",
                                         "tag": "v1.0.50"}


# --- the profile's claims, checked against the templates' text ------------------------


def relative(path: tuple[str, ...]) -> str:
    """A values path as a template in its own chart spells it."""
    subcharts = profile().subcharts
    inner = path[1:] if path[0] in subcharts else path
    return ".Values." + ".".join(inner)


def test_profile_claims_match_the_templates(chart_root: Path) -> None:
    charts = chart_root / "charts"
    helpers = (charts / "k8ssandra-common/templates/_helpers.tpl").read_text()
    flattened = profile().builders["flattened"]
    assert f'define "{flattened["define"]}"' in helpers
    assert f'default "{flattened["registry_default"]}" .registry' in helpers
    assert f'default "{flattened["tag_default"]}" .tag' in helpers
    assert 'printf "%s/%s:%s" $registry $repository $tag' in helpers
    parent_chart = yaml.safe_load((charts / "k8ssandra/Chart.yaml").read_text())
    conditions = {d.get("condition") for d in parent_chart["dependencies"]}
    remote_deps = {d["name"] for d in parent_chart["dependencies"]
                   if not d["repository"].startswith("file://")}
    checked = 0
    for block in profile().blocks:
        if block.remote:
            assert block.path[0] in remote_deps, block.name
            continue
        text = (charts / str(block.template)).read_text()
        include = f'include "k8ssandra-common.flattenedImage" {relative(block.path)}'
        assert include in text, f"{block.template} does not build {block.name} that way"
        if block.build == "version-map":
            assert f"get {relative(block.map or ())} {relative(block.version or ())}" in text
            assert f"if {relative(block.path)}" in text
        if block.build == "computed":
            for choice in block.choices:
                assert f'printf "{choice.image.replace("{version}", "%s")}"' in text
                if choice.prefix is not None:
                    assert f'hasPrefix "{choice.prefix}" {relative(block.select or ())}' in text
            assert f"default $computedImage ({include})" in text
        if block.used_in:
            text += (charts / block.used_in).read_text()
        for condition in block.when:
            assert relative(condition) in text or ".".join(condition) in conditions, \
                f"{block.name}: {'.'.join(condition)} is not a condition in {block.template}"
        checked += 1
    assert checked == 14
    for key in profile().pull_secrets:
        if key.remote:
            assert key.path[0] in remote_deps or key.path[0] == "global"
            continue
        text = (charts / str(key.template)).read_text()
        # toYaml copies the list as it is: a pod spec needs {name: ...} objects.
        assert key.form == "object"
        assert "toYaml" in text and relative(key.path) in text, key.path
    for account in profile().service_accounts.values():
        if account.remote:
            assert account.path[0] in remote_deps
            continue
        assert relative(account.path) in (charts / str(account.template)).read_text()


# --- the seed's complete example ------------------------------------------------------


def seed_flags() -> list[str]:
    flags = ["--registry", "myregistry.corp/myrepo", "--flatten",
             "--pull-secret", "myregistrykey"]
    for name in SEED_ACCOUNTS:
        flags += ["--service-account", f"{name}={name}"]
    for component in ("prometheusOperator", "prometheus"):
        flags += ["--service-account", f"kube-prometheus-stack.{component}=prometheus-operator"]
    return flags


def test_seed_example_reproduced_from_flags(chart_values: str, tmp_path: Path) -> None:
    mine = tmp_path / "values.yaml"
    shutil.copy(GOLDEN / "seed-user-values.yaml", mine)
    code, _, err = run("values", chart_values, *seed_flags(), "--values", str(mine))
    assert code == 0, err
    assert mine.read_text() == (GOLDEN / "seed-example.yaml").read_text()
    # Run again: nothing changes.
    code, _, _ = run("values", chart_values, *seed_flags(), "--values", str(mine))
    assert code == 0
    assert mine.read_text() == (GOLDEN / "seed-example.yaml").read_text()


def test_values_edit_keeps_every_line_of_the_users_file(chart_values: str,
                                                          tmp_path: Path) -> None:
    mine = tmp_path / "values.yaml"
    original = (GOLDEN / "seed-user-values.yaml").read_text()
    mine.write_text(original)
    mine.chmod(0o640)
    code, _, err = run("values", chart_values, "--registry", "r.corp", "--values", str(mine))
    assert code == 0, err
    lines = iter(mine.read_text().splitlines())
    for line in original.splitlines():  # every original line, in order, as written
        assert any(candidate == line for candidate in lines), line
    assert mine.stat().st_mode & 0o777 == 0o640


def test_new_file_and_output_protection(chart_values: str, tmp_path: Path) -> None:
    out = tmp_path / "overrides.yaml"
    code, _, err = run("values", chart_values, "--registry", "r.corp", "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert text.startswith("# Generated by kpatch values.")
    assert "tag: 4.0.3-v0.1.37  # explicit: cassandra.image bypasses" in text
    # Re-running over its own unedited output is fine; a hand edit is protected.
    assert run("values", chart_values, "--registry", "r.corp", "-o", str(out))[0] == 0
    out.write_text(text + "# my note\n")
    code, _, err = run("values", chart_values, "--registry", "r.corp", "-o", str(out))
    assert code == 2 and "edited since" in err and "--values" in err
    assert out.read_text() == text + "# my note\n"


# --- bad input: exit 2, one clear line, the user's file untouched ---------------------


def test_missing_version_in_the_map(chart_values: str, tmp_path: Path) -> None:
    mine = tmp_path / "values.yaml"
    mine.write_text('cassandra:\n  version: "5.0.0"  # not in the 1.5.2 map\n')
    before = mine.read_bytes()
    code, _, err = run("values", chart_values, "--registry", "r.corp", "--values", str(mine))
    assert code == 2
    assert err.startswith(f"kpatch: error: {mine}:2: cassandra.version '5.0.0' is not in "
                          "cassandra.versionImageMap")
    assert err.count("\n") == 1
    assert mine.read_bytes() == before


@pytest.mark.parametrize("text", ["cassandra:\n  version: [unclosed\n",
                                  "cassandra:\n\tversion: 4.0.3\n",
                                  "- just\n- a list\n",
                                  "cassandra:\n  version: 1\n  version: 2\n"])
def test_malformed_values_leave_the_file_untouched(chart_values: str, tmp_path: Path,
                                                    text: str) -> None:
    mine = tmp_path / "values.yaml"
    mine.write_text(text)
    code, _, err = run("values", chart_values, "--registry", "r.corp", "--values", str(mine))
    assert code == 2
    assert err.startswith(f"kpatch: error: {mine}:") and "malformed values" in err
    assert mine.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["values.yaml"]  # no temp file left


@pytest.mark.parametrize(("text", "message"), [
    ('cassandra:\n  version: 4.0\n', ":2: cassandra.version is 4.0, not a string: quote it"),
    ("cassandra:\n  image:\n    tag: x\n", ":2: cassandra.image has no repository"),
    ("reaper:\n  image: acme/reaper:1\n", ":2: reaper.image must be a mapping"),
    ("stargate:\n  version: ''\n", ":2: stargate.version is not set"),
])
def test_values_the_chart_cannot_use(chart_values: str, tmp_path: Path, text: str,
                                     message: str) -> None:
    mine = tmp_path / "values.yaml"
    mine.write_text(text)
    code, _, err = run("values", chart_values, "--registry", "r.corp", "--values", str(mine))
    assert code == 2
    assert err.startswith(f"kpatch: error: {mine}{message}"), err
    assert mine.read_text() == text


def test_unknown_chart_layouts(tmp_path: Path, chart_root: Path) -> None:
    other = tmp_path / "other-chart"
    other.mkdir()
    (other / "Chart.yaml").write_text("apiVersion: v2\nname: not-k8ssandra\nversion: 1.0.0\n")
    (other / "values.yaml").write_text("image:\n  repository: acme/app\n")
    code, _, err = run("values", str(other / "values.yaml"), "--registry", "r.corp")
    assert code == 2 and "unknown chart 'not-k8ssandra'" in err
    # A values file that is not the chart's layout at all.
    odd = tmp_path / "values.yaml"
    odd.write_text("cassandra:\n  version: 4.0.3\nweb:\n  image:\n    repository: acme/web\n")
    code, _, err = run("values", str(odd), "--registry", "r.corp")
    assert code == 2 and "unknown chart layout" in err
    # The real chart with one image block the profile does not know.
    values = yaml.safe_load((chart_root / "values.yaml").read_text())
    values["reaper"]["sidecar"] = {"image": {"repository": "acme/sidecar", "tag": "1"}}
    extended = tmp_path / "extended.yaml"
    extended.write_text(yaml.safe_dump(values))
    inputs = [str(extended),
              *(str(chart_root / f"{n}-values.yaml") for n in OPERATOR_SUBCHARTS)]
    code, _, err = run("values", *inputs, "--registry", "r.corp")
    assert code == 2
    assert "image block reaper.sidecar.image is not in the k8ssandra chart profile" in err
    # Operator subchart values missing.
    code, _, err = run("values", str(chart_root / "values.yaml"), "--registry", "r.corp")
    assert code == 2 and "no values for subchart cass-operator" in err


@pytest.mark.parametrize(("flags", "message"), [
    (["--registry", "myregistry"], "invalid registry 'myregistry'"),
    (["--registry", "r.corp", "--service-account", "nosuch=x"], "unknown --service-account"),
    (["--registry", "r.corp", "--pull-secret", "Bad_Name"], "invalid --pull-secret"),
])
def test_bad_options(chart_values: str, tmp_path: Path, flags: list[str], message: str) -> None:
    mine = tmp_path / "values.yaml"
    mine.write_text("# mine\n")
    code, _, err = run("values", chart_values, *flags, "--values", str(mine))
    assert code == 2 and message in err, err
    assert mine.read_text() == "# mine\n"


# --- kpatch images on a chart's values --------------------------------------------------


def test_images_lists_what_the_chart_pulls(chart_values: str) -> None:
    code, out, err = run("images", chart_values, "--format", "json")
    assert code == 0, err
    items = json.loads(out)
    by_path = {i["path"]: i for i in items}
    assert by_path["/cassandra/configBuilder/image"]["image"] == \
        "docker.io/datastax/cass-config-builder:1.0.4"
    assert by_path["/cassandra/image"]["image"] == "k8ssandra/cass-management-api:4.0.3-v0.1.37"
    assert by_path["/cassandra/image"]["implicit"] is True
    assert by_path["/cass-operator/image"]["file"].endswith("charts/cass-operator/values.yaml")
    assert by_path["/medusa/image"]["pulled"] is False  # medusa.enabled is false
    assert by_path["/kube-prometheus-stack/grafana/image"]["image"] == "grafana/grafana:7.5.17"
    unknown = [i for i in items if i["image"] is None]
    assert {i["path"] for i in unknown} >= {"/kube-prometheus-stack/prometheusOperator/image"}
    assert "kube-prometheus-stack 20.0.1" in err
    assert {p for p in by_path} >= {"/" + "/".join(b) for b in
                                    real_chart_blocks(Path(chart_values).parents[2])}


def test_images_mixes_chart_values_and_manifests(chart_values: str) -> None:
    code, out, _ = run("images", "fixtures/workloads/workloads.yaml", chart_values,
                       "--format", "json", "--unique")
    assert code == 0
    images = {i["image"] for i in json.loads(out)}
    assert "nginx:1.27.0" in images and "grafana/grafana:7.5.17" in images


def test_values_command_in_a_real_process(chart_values: str, tmp_path: Path) -> None:
    out = tmp_path / "o.yaml"
    done = subprocess.run([sys.executable, "-m", "kpatch", "values", chart_values,
                           "--registry", "r.corp", "-o", str(out)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "KPATCH_DEBUG": ""})
    assert done.returncode == 0, done.stderr
    assert "20 image block(s) relocated to r.corp" in done.stderr
    assert yaml.safe_load(out.read_text())["reaper"]["image"]["registry"] == "r.corp"


def test_remote_subchart_values_fill_in_the_tags(chart_values: str, tmp_path: Path) -> None:
    # Hand-written: the shape of kube-prometheus-stack's values for the blocks the
    # profile knows (the real chart is fetched from a repository, not in the tree).
    kps = tmp_path / "kps.yaml"
    kps.write_text(
        "prometheusOperator:\n"
        "  image: {repository: quay.io/prometheus-operator/prometheus-operator, tag: v0.1.0}\n"
        "prometheus:\n"
        "  prometheusSpec:\n"
        "    image: {repository: quay.io/prometheus/prometheus, tag: v2.0.0, sha: ''}\n")
    code, out, err = run("values", chart_values, f"kube-prometheus-stack={kps}",
                         "--registry", "r.corp")
    assert code == 0, err
    data = yaml.safe_load(out)["kube-prometheus-stack"]
    assert data["prometheusOperator"]["image"] == {
        "repository": "r.corp/prometheus-operator/prometheus-operator"}
    assert data["prometheus"]["prometheusSpec"]["image"] == {
        "repository": "r.corp/prometheus/prometheus"}
    chart = load_chart([chart_values, f"kube-prometheus-stack={kps}"])
    built = {i.block.name: i.image for i in chart_images(chart, chart.defaults)}
    assert built["kube-prometheus-stack.prometheusOperator.image"] == \
        "quay.io/prometheus-operator/prometheus-operator:v0.1.0"
    assert built["kube-prometheus-stack.grafana.sidecar.image"] is None  # still unknown
    code, _, err = run("values", chart_values, "nosuch=x.yaml", "--registry", "r.corp")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_values_into_an_empty_file(chart_values: str, tmp_path: Path, text: str) -> None:
    mine = tmp_path / "values.yaml"
    mine.write_text(text)
    code, _, err = run("values", chart_values, "--registry", "r.corp", "--values", str(mine))
    assert code == 0, err
    result = mine.read_text()
    assert result.startswith(text)
    assert yaml.safe_load(result)["client"]["image"]["registry"] == "r.corp"
