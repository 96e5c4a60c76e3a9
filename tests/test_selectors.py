"""Patch target patterns: literal names take the fast path, regexes stay regexes."""

from __future__ import annotations

import pytest

from kpatch.kustomize.builtin import ResourceIndex
from kpatch.kustomize.selectors import literal_name, matches_selector, matches_target


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        ("cass-operator-manager-config", "cass-operator-manager-config"),
        ("widgets\\.acme\\.example", "widgets.acme.example"),  # as kpatch relocate writes them
        ("widgets.acme.example", None),  # an unescaped dot is a wildcard
        ("cm-.*", None),
        ("a|b", None),
        (None, None),
    ],
)
def test_literal_name(pattern: str | None, literal: str | None) -> None:
    assert literal_name(pattern) == literal


def test_an_escaped_dotted_name_is_found_through_the_index() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.acme.example"}}
    other = {**crd, "metadata": {"name": "widgetsXacmeXexample"}}
    target = {"kind": "CustomResourceDefinition", "name": "widgets\\.acme\\.example"}
    assert ResourceIndex([other, crd]).lookup(target) == [1]
    assert matches_target(target, crd) and not matches_target(target, other)
    assert matches_target({"name": "widgets.acme.example"}, other)  # the regex reading


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app!=web", {"app": "web"}, False),
        ("tier in (front, back),!legacy", {"tier": "back"}, True),
        ("tier notin (front)", {"tier": "front"}, False),
        ("owner", {}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert matches_selector(selector, labels) is expected
