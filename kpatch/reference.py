"""Container image references: parse, format, normalize.

The grammar is the one registries and container runtimes use (the
distribution/reference grammar):

    reference := [registry "/"] path [":" tag] ["@" digest]
    registry  := host [":" port]

The first path component is a registry only when it contains "." or ":", is
"localhost", or has upper-case letters (repository paths never do). A
reference keeps the text it was written with, so formatting an unchanged
reference gives back exactly the input (``index.docker.io/busybox`` stays as is),
while ``normalized`` gives the fully qualified form used for comparison.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from kpatch.errors import KpatchError

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_NAMESPACE = "library"
MAX_NAME_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])"
_REGISTRY_RE = re.compile(rf"{_HOST}(?::[0-9]+)?")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # ASCII \w, as in the grammar
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
# Registered algorithms have a fixed, lower-case hex length.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


class ImageReference(NamedTuple):
    """One image reference, as written.

    ``registry`` is None when the text names no registry (Docker Hub implied).
    ``path`` is the repository path as written (``busybox``, not ``library/busybox``).
    """

    registry: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.path}" if self.registry else self.path
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def domain(self) -> str:
        """The registry host, normalized: Docker Hub aliases become ``docker.io``."""
        return _normal_forms(self)[0]

    @property
    def repository(self) -> str:
        """The repository path, normalized: Docker Hub official images get ``library/``."""
        return _normal_forms(self)[1]

    @property
    def name(self) -> str:
        """Fully qualified repository name without tag or digest."""
        return _normal_forms(self)[2]

    @property
    def normalized(self) -> str:
        """Fully qualified form; ``:latest`` only when neither tag nor digest is set."""
        return _normal_forms(self)[3]

    def normal_forms(self) -> tuple[str, str, str, str]:
        """(domain, repository, name, normalized) at once."""
        return _normal_forms(self)

    def moved(self, registry: str | None, path: str) -> ImageReference:
        """The same tag and digest under another registry and path."""
        return ImageReference(registry=registry, path=path, tag=self.tag, digest=self.digest)


@lru_cache(maxsize=4096)
def _normal_forms(ref: ImageReference) -> tuple[str, str, str, str]:
    """(domain, repository, name, normalized), computed once per distinct reference:
    reports ask for them for every use, and installs repeat the same images."""
    domain = DOCKER_HUB if ref.registry is None or ref.registry in DOCKER_HUB_ALIASES \
        else ref.registry
    repository = ref.path
    if domain == DOCKER_HUB and "/" not in repository:
        repository = f"{OFFICIAL_NAMESPACE}/{repository}"
    name = f"{domain}/{repository}"
    normalized = name
    if ref.tag is not None:
        normalized += f":{ref.tag}"
    if ref.digest is not None:
        normalized += f"@{ref.digest}"
    if ref.tag is None and ref.digest is None:
        normalized += ":latest"
    return domain, repository, name, normalized


def _invalid(text: str, why: str) -> KpatchError:
    return KpatchError(f"invalid image reference {text!r}: {why}")


@lru_cache(maxsize=4096)
def parse_reference(text: str) -> ImageReference:
    """Parse one reference; raise KpatchError naming the text when it is invalid.

    Cached: installs repeat the same few images thousands of times, and
    ImageReference is immutable.
    """
    if not isinstance(text, str):
        raise _invalid(str(text), "not a string")
    if not text:
        raise _invalid(text, "empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise _invalid(text, "contains white space")

    remainder, digest = text, None
    if "@" in remainder:
        remainder, digest = remainder.rsplit("@", 1)
        _check_digest(text, digest)

    tag = None
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise _invalid(text, f"bad tag {tag!r}")

    registry, path = split_registry(remainder)
    if registry is not None and not _REGISTRY_RE.fullmatch(registry):
        raise _invalid(text, f"bad registry {registry!r}")
    if not path:
        raise _invalid(text, "no repository path")
    if not _PATH_RE.fullmatch(path):
        if path.lower() != path:
            raise _invalid(text, "repository path must be lower case")
        raise _invalid(text, f"bad repository path {path!r}")
    if len(remainder) > MAX_NAME_LENGTH:
        raise _invalid(text, f"name longer than {MAX_NAME_LENGTH} characters")
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


def split_registry(name: str) -> tuple[str | None, str]:
    """Split ``[registry/]path`` by the runtime's rule for spotting a registry."""
    first, sep, rest = name.partition("/")
    if sep and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    ):
        return first, rest
    return None, name


def _check_digest(text: str, digest: str) -> None:
    if not _DIGEST_RE.fullmatch(digest):
        raise _invalid(text, f"bad digest {digest!r}")
    algorithm, hex_part = digest.split(":", 1)
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is not None and (len(hex_part) != expected or hex_part.lower() != hex_part):
        raise _invalid(
            text, f"a {algorithm} digest is {expected} lower-case hex characters"
        )


def is_reference(text: object) -> bool:
    """True when ``text`` parses as an image reference."""
    if not isinstance(text, str):
        return False
    try:
        parse_reference(text)
    except KpatchError:
        return False
    return True
