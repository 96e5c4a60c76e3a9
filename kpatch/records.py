"""``__repr__`` and ``__eq__`` for dataclasses, written once instead of per class.

Python 3.11 defines a dataclass by compiling the source of each method it
generates: for a mutable dataclass, ``__init__``, ``__repr__`` and ``__eq__``,
about 0.6 ms of a one-file ``kpatch images`` per class on every run
(bench/startup.py). A class on that path is declared
``@dataclass(repr=False, eq=False)`` and derives from ``Record``, which supplies
the same two methods, computed from ``dataclasses.fields``: the same repr
(fields with ``repr=True``, in order), the same equality (same class, fields
with ``compare=True`` equal) and, like any dataclass with ``eq=True``, no hash.
The class stays a dataclass: ``fields``, ``replace`` and ``asdict`` work as before.
``FrozenRecord`` adds the hash of a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import fields


class Record:
    __slots__ = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                          for f in fields(self) if f.repr)  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name)
                   for f in fields(self) if f.compare)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]  # mutable records, compared by value


class FrozenRecord(Record):
    """For ``@dataclass(frozen=True, repr=False, eq=False)``: also the hash a frozen
    dataclass has (of the compared fields, or those with ``hash=True``)."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                          if (f.compare if f.hash is None else f.hash)))
