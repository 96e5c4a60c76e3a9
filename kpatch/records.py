"""Record classes for the modules every command imports: plain classes with an
explicit ``__init__``, and the ``__repr__`` and ``__eq__`` a dataclass would have.

Python 3.11 defines a dataclass by compiling the source of each method it
generates (``__init__``, ``__repr__``, ``__eq__``; for a frozen one also
``__hash__``, ``__setattr__``, ``__delattr__``): 2 to 4 million instructions per
class, on every run, a tenth of what kpatch itself spent on a one-file
``kpatch images`` for the ten records on that path (bench/startup.py). A plain
class's methods come compiled from the bytecode cache.

A record's fields are its ``__init__`` parameters, in order; ``__init__`` sets
each. ``_NOT_SHOWN`` and ``_NOT_COMPARED`` name the fields a dataclass would
declare with ``repr=False`` and ``compare=False``. As with a dataclass, records
compare equal when of the same class with equal compared fields, and mutable
records are unhashable; ``FrozenRecord`` is immutable and hashable.
tests/test_records.py checks each against the dataclass it replaces.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    __slots__ = ()
    _NOT_SHOWN: ClassVar[frozenset[str]] = frozenset()
    _NOT_COMPARED: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The fields, in order: the parameters of ``__init__``."""
        code = cls.__init__.__code__
        names: tuple[str, ...] = code.co_varnames[1:code.co_argcount + code.co_kwonlyargcount]
        return names

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.field_names()
                          if name not in self._NOT_SHOWN)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.field_names()
                   if name not in self._NOT_COMPARED)

    __hash__ = None  # type: ignore[assignment]  # mutable records, compared by value


class FrozenRecord(Record):
    """An immutable record (``__init__`` sets fields with ``object.__setattr__``),
    hashed by its compared fields, as a frozen dataclass is."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(getattr(self, name) for name in self.field_names()
                          if name not in self._NOT_COMPARED))
