"""The one error type kpatch raises, and the exit codes it maps to.

Every failure a user can cause (bad YAML, an unknown profile, an invalid image
reference, a renderer that fails) is a ``KpatchError``. It carries where the
problem is, so the CLI can print one line that names the place, and an exit code
from the documented table in docs/exit-codes.md.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    OK = 0
    # diff(1) style: "found something" for commands that compare or check.
    DIFFERENCES = 1
    # Bad input, bad options, a renderer that failed: nothing was produced.
    ERROR = 2
    # `relocate`: some images could not be relocated (see --allow-unrelocated).
    UNRELOCATED = 3


class Location(NamedTuple):
    file: str | None = None
    line: int | None = None
    resource: str | None = None
    pointer: str | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        elif self.line:
            parts.append(f"line {self.line}")
        if self.resource:
            parts.append(self.resource)
        if self.pointer is not None:
            parts.append(self.pointer or "/")
        return ": ".join(parts)


class KpatchError(Exception):
    """A user-facing failure with a location and an exit code."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        resource: str | None = None,
        pointer: str | None = None,
        exit_code: ExitCode = ExitCode.ERROR,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Lines shown under the one-line message (a renderer's own multi-line error).
        self.detail = detail
        self.location = Location(file=file, line=line, resource=resource, pointer=pointer)
        self.exit_code = exit_code

    def at(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        resource: str | None = None,
        pointer: str | None = None,
    ) -> KpatchError:
        """Fill in location parts that are still unknown; known parts win."""
        loc = self.location
        self.location = loc._replace(
            file=loc.file or file,
            line=loc.line or line,
            resource=loc.resource or resource,
            pointer=loc.pointer if loc.pointer is not None else pointer,
        )
        return self

    def __str__(self) -> str:
        where = self.location.describe()
        # One line, always: embedded newlines from parsers would break CI logs.
        message = " ".join(self.message.split())
        return f"{where}: {message}" if where else message
