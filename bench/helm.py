"""`make bench` (Helm part): `kpatch values` on the real K8ssandra 1.5.2 chart, as a
ratio to a reference measured in the same run: a ruamel round-trip load and dump
of the same values files (the least any comment-keeping values editor must do).

Needs ../shared/upstream beside the repository. Results go to stdout and to
bench/out/helm.json.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import describe, interleaved, timing_result  # noqa: E402

from kpatch.helm.chart import load_chart  # noqa: E402
from kpatch.helm.overrides import OverridesOptions, write_values  # noqa: E402
from kpatch.relocation import RelocationRules  # noqa: E402

CHART = HERE.parent.parent / "shared" / "upstream" / "k8ssandra-chart-v1.5.2" / "charts"
SUBCHARTS = ("cass-operator", "reaper-operator", "medusa-operator")


def round_trip(paths: list[Path]) -> None:
    handler = YAML(typ="rt")
    for path in paths:
        handler.dump(handler.load(path.read_text(encoding="utf-8")), io.StringIO())


def values_job(chart_values: Path, existing: Path, seed: str) -> None:
    existing.write_text(seed, encoding="utf-8")
    chart = load_chart([str(chart_values)])
    options = OverridesOptions(RelocationRules.parse("registry.corp:5000"), ("regcred",))
    write_values(chart, options, "bench", existing=str(existing))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    chart_values = CHART / "k8ssandra" / "values.yaml"
    if not chart_values.is_file():
        sys.exit(f"bench/helm.py: {CHART} is missing (../shared/upstream)")
    workdir = HERE / "out"
    workdir.mkdir(exist_ok=True)
    existing = workdir / "helm-user-values.yaml"
    seed = shutil.copyfile(HERE.parent / "tests/golden/helm/seed-user-values.yaml",
                           existing).read_text(encoding="utf-8")
    inputs = [chart_values, *(CHART / name / "values.yaml" for name in SUBCHARTS), existing]
    timing = interleaved(
        args.repeats, lambda: round_trip(inputs),
        lambda: values_job(chart_values, existing, seed))
    result = timing_result("kpatch values --values (K8ssandra 1.5.2 chart, edit in place)",
                           "ruamel round-trip load+dump of the same values files", timing, "<= 3")
    print(describe(result))
    (workdir / "helm.json").write_text(json.dumps([result], indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
