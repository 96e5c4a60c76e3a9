"""Classes made cheaper to define (for startup) behave as the dataclasses they were."""

from __future__ import annotations

import inspect
from dataclasses import FrozenInstanceError, dataclass, field, fields, replace
from typing import Any

import pytest

from kpatch.model import ImageUse, ResourceId
from kpatch.records import FrozenRecord, Record
from kpatch.reference import parse_reference
from kpatch.yamlio import LoadLimits


@dataclass
class Generated:
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, repr=False)
    ignored: str = field(default="", compare=False)


@dataclass(repr=False, eq=False)
class Shared(Record):
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, repr=False)
    ignored: str = field(default="", compare=False)


@pytest.mark.parametrize("args", [("a",), ("a", 2, [1], "x"), ("b", 0, [], "y")])
def test_record_repr_and_equality_are_the_dataclass_ones(args: tuple[Any, ...]) -> None:
    generated, shared = Generated(*args), Shared(*args)
    assert repr(shared) == repr(generated).replace("Generated(", "Shared(", 1)
    for other_args in [("a",), ("a", 2, [1], "x"), ("a", 2, [9], "x"), ("a", 2, [1], "z")]:
        assert (shared == Shared(*other_args)) == (generated == Generated(*other_args))
    assert shared != generated and shared != args
    with pytest.raises(TypeError):
        hash(shared)
    # Still a dataclass.
    assert [f.name for f in fields(shared)] == ["name", "count", "hidden", "ignored"]
    assert replace(shared, count=7).count == 7


def use(**changes: Any) -> ImageUse:
    values: dict[str, Any] = dict(
        image="nginx:1.25", reference=parse_reference("nginx:1.25"),
        resource=ResourceId("apps/v1", "Deployment", None, "web"),
        path="/spec/template/spec/containers/0/image", file="one.yaml", line=10,
        shape="string", profile="core")
    return ImageUse(**{**values, **changes})


def test_image_use_compares_every_field_but_the_internal_ones() -> None:
    """ImageUse is a plain class: its compared fields must follow its constructor."""
    parameters = list(inspect.signature(ImageUse).parameters)
    internal = ["spec", "block", "effective_keys", "tokens"]
    assert list(ImageUse._COMPARED) == [p for p in parameters if p not in internal]
    assert use() == use() and use() != use(line=11) and use() != use(effective_for=[{"a": 1}])
    assert use() == use(tokens=("spec",), block={"a": 1})
    assert repr(use()).startswith("ImageUse(image='nginx:1.25', reference=ImageReference(")
    assert "tokens" not in repr(use(tokens=("x",)))
    with pytest.raises(TypeError):
        hash(use())


def test_image_use_defaults_are_not_shared() -> None:
    first, second = use(), use()
    first.effective_for.append({"dc": "dc1"})
    first.effective_keys.add((("dc", "dc1"),))
    assert second.effective_for == [] and second.effective_keys == set()


@dataclass(frozen=True)
class FrozenGenerated:
    size: int = 1
    label: str = field(default="", compare=False)


@dataclass(frozen=True, repr=False, eq=False)
class FrozenShared(FrozenRecord):
    size: int = 1
    label: str = field(default="", compare=False)


def test_frozen_record_hash_and_immutability_are_the_dataclass_ones() -> None:
    for args in [(), (2,), (2, "x")]:
        generated, shared = FrozenGenerated(*args), FrozenShared(*args)
        assert hash(shared) == hash(generated) and repr(shared) == repr(generated).replace(
            "FrozenGenerated(", "FrozenShared(", 1)
    assert FrozenShared(2, "x") == FrozenShared(2, "y") and {FrozenShared(2, "x"): 1}[
        FrozenShared(2, "y")] == 1
    with pytest.raises(FrozenInstanceError):
        FrozenShared().size = 3  # type: ignore[misc]
    limits = LoadLimits(max_depth=7)
    assert limits == LoadLimits(max_depth=7) != LoadLimits()
    assert hash(limits) == hash(LoadLimits(max_depth=7))
    assert repr(limits).startswith("LoadLimits(max_input_bytes=67108864, ")
