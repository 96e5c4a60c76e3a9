"""kpatch: find, relocate and review the container images a Kubernetes install pulls."""

from __future__ import annotations

from typing import Any

__all__ = ["ExitCode", "ImageReference", "KpatchError", "parse_reference"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that `import kpatch` (every command, and a
    # pre-commit hook's `kpatch --help`) costs nothing beyond this file.
    if name in ("ExitCode", "KpatchError"):
        from kpatch import errors

        return getattr(errors, name)
    if name in ("ImageReference", "parse_reference"):
        from kpatch import reference

        return getattr(reference, name)
    raise AttributeError(f"module 'kpatch' has no attribute {name!r}")
