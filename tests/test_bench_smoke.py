"""`make bench`'s operator corpus still runs, and still means what it claims.

No timing is asserted here (speed is measured by `make bench`, never in tests);
this keeps the benchmark from rotting: the corpus must hold the operator
resources issue 7 names, every image in it must resolve (the bench raises when
relocation leaves one behind), and the results must carry each round's ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from kpatch.inventory import find_images

ROOT = Path(__file__).resolve().parent.parent


def test_the_operator_corpus_holds_operator_resources_whose_images_all_resolve(
        tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from operators import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "bench"))
    stream = tmp_path / "corpus.yaml"
    stream.write_text(generate(40), encoding="utf-8")
    kinds = {doc["kind"] for doc in yaml.safe_load_all(stream.read_text(encoding="utf-8")) if doc}
    assert {"K8ssandraCluster", "CassandraDatacenter", "RedisEnterpriseCluster"} <= kinds
    inventory = find_images([str(stream)])
    assert inventory.uses and not inventory.unresolved
    assert all(use.image for use in inventory.uses)
    assert sum(use.implicit for use in inventory.uses) > len(inventory.uses) / 3


def test_bench_operators_writes_median_ratios_with_their_rounds(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "operators.py"), "--sizes", "30,60",
         "--repeats", "1", "--workdir", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "operators.json").read_text(encoding="utf-8"))
    timed = [r for r in results if "rounds" in r]
    assert [r["benchmark"].split(",")[0] for r in timed] == [
        "kpatch images --format json", "kpatch relocate (plan",
        "kpatch images --format json", "kpatch relocate (plan"]
    for result in timed:
        rounds = sorted(result["rounds"])
        assert len(rounds) >= 3
        assert result["ratio"] == round(rounds[len(rounds) // 2], 2) or len(rounds) % 2 == 0
        assert result["seconds"] > 0 and result["reference_seconds"] > 0
    assert "median of the rounds" in done.stdout
