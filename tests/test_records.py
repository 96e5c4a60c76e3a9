"""Records (kpatch.records) behave as the dataclasses they replace, for startup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kpatch.implicit import RuleContext
from kpatch.inventory import Inventory, InventoryOptions, LoadedInputs
from kpatch.locate import EmbeddedDocument, LocateResult, SpecTrie
from kpatch.model import ImageUse, ResourceId
from kpatch.records import FrozenRecord, Record
from kpatch.reference import parse_reference
from kpatch.yamlio import Document, LoadLimits


@dataclass
class Generated:
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, repr=False)
    ignored: str = field(default="", compare=False)


class Written(Record):
    _NOT_SHOWN = frozenset({"hidden"})
    _NOT_COMPARED = frozenset({"ignored"})

    def __init__(self, name: str, count: int = 0, hidden: list[int] | None = None,
                 ignored: str = "") -> None:
        self.name = name
        self.count = count
        self.hidden = [] if hidden is None else hidden
        self.ignored = ignored


@pytest.mark.parametrize("args", [("a",), ("a", 2, [1], "x"), ("b", 0, [], "y")])
def test_record_repr_and_equality_are_the_dataclass_ones(args: tuple[Any, ...]) -> None:
    generated, written = Generated(*args), Written(*args)
    assert repr(written) == repr(generated).replace("Generated(", "Written(", 1)
    for other in [("a",), ("a", 2, [1], "x"), ("a", 2, [9], "x"), ("a", 2, [1], "z")]:
        assert (written == Written(*other)) == (generated == Generated(*other))
    assert written != generated and written != args
    with pytest.raises(TypeError):
        hash(written)
    assert Written.field_names() == ("name", "count", "hidden", "ignored")


@dataclass(frozen=True)
class FrozenGenerated:
    size: int = 1
    label: str = field(default="", compare=False)


class FrozenWritten(FrozenRecord):
    __slots__ = ("label", "size")
    _NOT_COMPARED = frozenset({"label"})

    def __init__(self, size: int = 1, label: str = "") -> None:
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "label", label)


def test_frozen_record_hash_and_immutability_are_the_dataclass_ones() -> None:
    for args in [(), (2,), (2, "x")]:
        generated, written = FrozenGenerated(*args), FrozenWritten(*args)
        assert hash(written) == hash(generated)
        assert repr(written) == repr(generated).replace("FrozenGenerated(", "FrozenWritten(")
    assert FrozenWritten(2, "x") == FrozenWritten(2, "y")
    assert {FrozenWritten(2, "x"): 1}[FrozenWritten(2, "y")] == 1
    with pytest.raises(AttributeError):
        FrozenWritten().size = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del FrozenWritten().size  # type: ignore[misc]


# Every record on the images path: its __init__ sets each field it takes, and its
# annotations declare exactly those fields (what @dataclass guaranteed).
RECORDS = [ImageUse, Document, LoadLimits, InventoryOptions, Inventory, LoadedInputs,
           EmbeddedDocument, LocateResult, SpecTrie, RuleContext]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_each_record_sets_the_fields_it_declares(cls: type[Record]) -> None:
    names = cls.field_names()
    declared = [name for name in cls.__annotations__ if not name.startswith("_NOT")]
    assert list(names) == declared
    values = {name: index + 2 for index, name in enumerate(names)}  # distinct, valid limits
    if cls is not LoadLimits:
        values = {name: object() for name in names}
    record = cls(**values)
    for name in names:
        assert getattr(record, name) is values[name]
    assert record == cls(**values)
    assert repr(record).startswith(f"{cls.__name__}(")


def use(**changes: Any) -> ImageUse:
    values: dict[str, Any] = dict(
        image="nginx:1.25", reference=parse_reference("nginx:1.25"),
        resource=ResourceId("apps/v1", "Deployment", None, "web"),
        path="/spec/template/spec/containers/0/image", file="one.yaml", line=10,
        shape="string", profile="core")
    return ImageUse(**{**values, **changes})


def test_image_use_compares_every_field_but_the_internal_ones() -> None:
    assert use() == use() and use() != use(line=11) and use() != use(effective_for=[{"a": 1}])
    assert use() == use(tokens=("spec",), block={"a": 1})
    assert repr(use()).startswith("ImageUse(image='nginx:1.25', reference=ImageReference(")
    assert "tokens" not in repr(use(tokens=("x",)))
    with pytest.raises(TypeError):
        hash(use())


def test_defaults_are_fresh_for_each_record() -> None:
    first, second = use(), use()
    first.effective_for.append({"dc": "dc1"})
    first.effective_keys.add((("dc", "dc1"),))
    assert second.effective_for == [] and second.effective_keys == set()
    one, two = InventoryOptions(), InventoryOptions()
    one.params["a.b"] = "c"
    assert two.params == {} and one.limits == two.limits == LoadLimits()


def test_load_limits_still_refuse_bad_values_and_stay_frozen() -> None:
    limits = LoadLimits(max_depth=7)
    assert limits == LoadLimits(max_depth=7) != LoadLimits()
    assert hash(limits) == hash(LoadLimits(max_depth=7))
    assert repr(limits).startswith("LoadLimits(max_input_bytes=67108864, ")
    with pytest.raises(AttributeError):
        limits.max_depth = 8  # type: ignore[misc]
    with pytest.raises(Exception, match="KPATCH_MAX_DEPTH must be a whole number from 1"):
        LoadLimits(max_depth=0)
