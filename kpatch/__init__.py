"""kpatch: find, relocate and review the container images a Kubernetes install pulls."""

from kpatch.errors import ExitCode, KpatchError
from kpatch.reference import ImageReference, parse_reference

__all__ = ["ExitCode", "ImageReference", "KpatchError", "parse_reference"]
__version__ = "0.1.0"
