"""kpatch's value diff against deepdiff, the reference library, on random trees.

``kpatch.diff.engine.diff_values`` is kpatch's own (it compares two renders of
thousands of resources in C where it can; bench/run.py). On plain trees, where
kpatch's Kubernetes-aware rules (lists matched by item name, YAML held in
strings) do not apply, it must find exactly the changes deepdiff finds.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from deepdiff import DeepDiff

from kpatch.diff.engine import diff_values
from kpatch.model import pointer

_SCALARS: list[Any] = ["a", "b c", "", 0, 1, 2.5, True, False, None, "nginx:1.25"]


def _tree(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth == 0 or roll < 0.35:
        return rng.choice(_SCALARS)
    if roll < 0.6:
        # Scalars and maps without a "name": matched by index, as deepdiff does.
        return [_tree(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice("pqrstu"): _tree(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def _mutated(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _mutated(rng, v) if rng.random() < 0.7 else v for k, v in value.items()}
        if out and rng.random() < 0.2:
            out.pop(rng.choice(list(out)))
        if rng.random() < 0.2:
            out[rng.choice("vwxyz")] = _tree(rng, 2)
        return out
    if isinstance(value, list):
        # Same length: deepdiff matches list items by content, kpatch by index.
        return [_mutated(rng, v) if rng.random() < 0.6 else v for v in value]
    return rng.choice(_SCALARS) if rng.random() < 0.5 else value


def _deepdiff_changes(old: Any, new: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    kinds = {"values_changed": "changed", "type_changes": "changed",
             "dictionary_item_added": "added", "dictionary_item_removed": "removed",
             "iterable_item_added": "added", "iterable_item_removed": "removed"}
    for report, items in DeepDiff(old, new, view="tree", ignore_order=False,
                                  threshold_to_diff_deeper=0).items():
        for item in items:
            found.add((pointer(item.path(output_format="list")), kinds[report]))
    return found


@pytest.mark.parametrize("seed", range(300))
def test_value_diff_agrees_with_deepdiff(seed: int) -> None:
    rng = random.Random(seed)
    old = {"spec": _tree(rng, 4)}
    new = _mutated(rng, old)
    ours = {(change.path, change.kind) for change in diff_values(old, new, (), mask=False)}
    assert ours == _deepdiff_changes(old, new), (old, new)
