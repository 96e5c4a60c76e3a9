"""The one place kpatch runs skopeo: reads digests, copies images, classifies
and redacts what skopeo says.

Credentials stay with skopeo: kpatch passes ``--authfile`` (or nothing, and
skopeo reads the standard auth files) and never a password on a command line.
Auth files are read only to learn which strings to redact from skopeo's
messages, so that no credential reaches output, logs or errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kpatch.errors import KpatchError

# Kinds of failure, from skopeo's message: retried, or reported as they are.
UNREACHABLE = "unreachable"
AUTH = "auth"
MISSING = "missing"
TRANSIENT = "transient"
OTHER = "other"
RETRIED = frozenset({UNREACHABLE, TRANSIENT})

_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (AUTH, ("unauthorized", "authentication required", "denied", "invalid username",
            "incorrect username")),
    (MISSING, ("manifest unknown", "name unknown", "not found", "no such file",
               "does not exist")),
    (UNREACHABLE, ("connection refused", "no such host", "network is unreachable",
                   "dial tcp", "connection reset", "i/o timeout", "no route to host",
                   "server misbehaving", "pinging container registry")),
    (TRANSIENT, ("too many requests", "toomanyrequests", "internal server error", "bad gateway",
                 "service unavailable", "gateway timeout", "eof", "timeout", "temporarily",
                 "broken pipe")),
)
# HTTP statuses as whole words: digests in messages are long runs of hex digits.
_STATUS_KINDS = ((AUTH, re.compile(r"\b40[13]\b")), (TRANSIENT, re.compile(r"\b(429|50[0234])\b")))

_MSG_RE = re.compile(r'level=(?:fatal|error) msg="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class SkopeoOptions:
    authfile: str | None = None
    src_tls_verify: bool = True
    dest_tls_verify: bool = True
    binary: str = "skopeo"
    timeout: float = 1800.0  # seconds per skopeo run: a big image on a slow link

    def auth_args(self) -> list[str]:
        return ["--authfile", self.authfile] if self.authfile else []


class SkopeoError(Exception):
    """A failed skopeo run: ``kind`` says whether a retry can help."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def classify(message: str) -> str:
    lowered = message.lower()
    for kind, needles in _PATTERNS:
        if any(needle in lowered for needle in needles):
            return kind
    for kind, status in _STATUS_KINDS:
        if status.search(lowered):
            return kind
    return OTHER


@dataclass
class Redactor:
    """Strings that must never be shown: passwords, tokens, and their encodings."""

    secrets: set[str] = field(default_factory=set)

    @classmethod
    def from_auth_files(cls, authfile: str | None) -> Redactor:
        redactor = cls()
        for path in _auth_file_candidates(authfile):
            redactor.learn_auth_file(path)
        return redactor

    def learn_auth_file(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        auths = data.get("auths") if isinstance(data, dict) else None
        if not isinstance(auths, dict):
            return
        for entry in auths.values():
            if not isinstance(entry, dict):
                continue
            for key in ("auth", "identitytoken", "registrytoken", "password"):
                value = entry.get(key)
                if isinstance(value, str) and value:
                    self.add(value)
            encoded = entry.get("auth")
            if isinstance(encoded, str):
                try:
                    decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                self.add(decoded)
                _, _, password = decoded.partition(":")
                self.add(password)

    def add(self, secret: str) -> None:
        if len(secret) >= 3:  # shorter strings would blank out ordinary words
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        # Longest first, so a password inside "user:password" does not leave "user:".
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def _auth_file_candidates(authfile: str | None) -> list[Path]:
    paths = []
    if authfile:
        paths.append(Path(authfile))
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        paths.append(Path(runtime) / "containers" / "auth.json")
    home = Path.home()
    paths += [home / ".config" / "containers" / "auth.json", home / ".docker" / "config.json"]
    return paths


def skopeo_message(stderr: str) -> str:
    """The one line that says what went wrong, from skopeo's log-formatted stderr."""
    found = _MSG_RE.findall(stderr)
    if found:
        text = found[-1].encode("utf-8").decode("unicode_escape", errors="replace")
    else:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        text = lines[-1] if lines else "skopeo failed without a message"
    # skopeo wraps everything in "Error parsing image name ...": not what happened.
    text = re.sub(r'^Error parsing image name "[^"]*": ', "", text)
    return " ".join(text.split())


class Skopeo:
    def __init__(self, options: SkopeoOptions, redactor: Redactor | None = None) -> None:
        self.options = options
        self.redact = redactor or Redactor.from_auth_files(options.authfile)

    def _run(self, args: list[str]) -> bytes:
        command = [self.options.binary, *args]
        try:
            done = subprocess.run(command, capture_output=True,
                                  timeout=self.options.timeout, check=False)
        except FileNotFoundError:
            raise KpatchError(
                f"{self.options.binary} is not installed: kpatch mirror copies with skopeo "
                "(Debian/Ubuntu: apt-get install skopeo)") from None
        except subprocess.TimeoutExpired:
            raise SkopeoError(TRANSIENT, f"skopeo {args[0]} timed out after "
                                         f"{self.options.timeout:.0f}s") from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", errors="replace")
            message = self.redact(skopeo_message(stderr))
            raise SkopeoError(classify(message), message)
        return done.stdout

    def digest(self, spec: str, tls_verify: bool) -> str | None:
        """The digest of the manifest (or index) at ``spec``; None if it is not there."""
        args = ["inspect", "--raw", *self.options.auth_args()]
        if spec.startswith("docker://"):
            args.append(f"--tls-verify={str(tls_verify).lower()}")
        try:
            raw = self._run([*args, spec])
        except SkopeoError as error:
            if error.kind == MISSING:
                return None
            raise
        # The registry's digest is the hash of these exact bytes.
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def copy(self, source: str, destination: str) -> str:
        """Copy every architecture, digests kept; the digest written."""
        with tempfile.TemporaryDirectory(prefix="kpatch-skopeo-") as scratch:
            digest_file = Path(scratch) / "digest"
            args = ["copy", "--all", "--preserve-digests", "--quiet",
                    "--digestfile", str(digest_file), *self.options.auth_args()]
            if source.startswith("docker://"):
                args.append(f"--src-tls-verify={str(self.options.src_tls_verify).lower()}")
            if destination.startswith("docker://"):
                args.append(f"--dest-tls-verify={str(self.options.dest_tls_verify).lower()}")
            self._run([*args, source, destination])
            return digest_file.read_text(encoding="utf-8").strip()
