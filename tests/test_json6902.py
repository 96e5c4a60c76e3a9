"""The copy-on-write JSON6902 applier agrees with jsonpatch, and never changes its input."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpatch.kustomize.json6902 import PatchError, PatchTestFailed, apply_operations

keys = st.sampled_from(["a", "b", "c", "x/y", "t~n"])
scalars = st.one_of(st.integers(-3, 3), st.booleans(), st.none(), st.text("ab", max_size=2))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
).filter(lambda d: isinstance(d, dict))


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def paths(document: Any, prefix: str = "") -> list[str]:
    out = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            out += paths(value, f"{prefix}/{_escape(key)}")
        out += [f"{prefix}/{_escape(k)}" for k in ("new", "c")]
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out += paths(value, f"{prefix}/{index}")
        out += [f"{prefix}/-", f"{prefix}/{len(document)}", f"{prefix}/07"]
    return out


@st.composite
def document_and_operations(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = draw(documents)
    candidates = [*paths(document), "/missing/deep", "/a/0"]
    operations = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["add", "remove", "replace", "test", "move", "copy"]))
        operation: dict[str, Any] = {"op": kind, "path": draw(st.sampled_from(candidates))}
        if kind in ("add", "replace", "test"):
            operation["value"] = draw(st.one_of(scalars, st.just({"k": [1]})))
            if kind == "test" and operation["value"] is None:
                # kustomize passes a null test of an absent key, jsonpatch does not:
                # checked on its own below (test_null_tests_an_absent_key).
                operation["value"] = 0
        if kind in ("move", "copy"):
            operation["from"] = draw(st.sampled_from(candidates))
        operations.append(operation)
    return document, operations


@settings(max_examples=600, deadline=None)
@given(document_and_operations())
def test_agrees_with_jsonpatch(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    document, operations = case
    before = copy.deepcopy(document)
    try:
        expected = jsonpatch.apply_patch(document, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        with pytest.raises(PatchError):
            apply_operations(document, operations)
    else:
        assert apply_operations(document, operations) == expected
    assert document == before  # the input is never changed


def test_unchanged_subtrees_are_shared_and_changed_ones_copied() -> None:
    document = {"spec": {"a": {"deep": [1, 2]}, "b": {"x": 1}}}
    result = apply_operations(document, [{"op": "replace", "path": "/spec/b/x", "value": 2}])
    assert result == {"spec": {"a": {"deep": [1, 2]}, "b": {"x": 2}}}
    assert result["spec"]["a"] is document["spec"]["a"]
    assert result["spec"]["b"] is not document["spec"]["b"]
    assert document["spec"]["b"]["x"] == 1


def test_a_failed_test_says_which_path() -> None:
    with pytest.raises(PatchTestFailed, match="testing value /a failed: test failed"):
        apply_operations({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])


def test_null_tests_an_absent_key() -> None:
    """As kustomize's JSON6902 (evanphx/json-patch) does, and kubectl kustomize in
    tests/test_named_entries.py: ``test`` with null passes where a mapping lacks the
    key or holds null, fails where it holds a value, and a missing parent or an
    index out of range is an error."""
    document = {"spec": {"a": None, "list": [1]}}
    absent = [{"op": "test", "path": "/spec/b", "value": None},
              {"op": "test", "path": "/spec/a", "value": None}]
    assert apply_operations(document, absent) == document
    with pytest.raises(PatchTestFailed):
        apply_operations(document, [{"op": "test", "path": "/spec/list", "value": None}])
    for path in ("/spec/nope/x", "/spec/list/1"):
        with pytest.raises(PatchError):
            apply_operations(document, [{"op": "test", "path": path, "value": None}])
