"""Real registries and real images for the mirror tests.

``Registry`` runs Debian's ``docker-registry`` binary on 127.0.0.1 and a free
port with a config file written here (never the package's own service),
optionally behind htpasswd auth (``htpasswd -B``). ``build_layout`` writes a
small OCI image layout from a tarball made in process: one image per
architecture under an index, byte-for-byte reproducible, so digests are stable.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

TOOLS = {
    "skopeo": "skopeo",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "shellcheck": "shellcheck",
}


def require(tool: str) -> str:
    """The tool's path; a missing tool skips, except in CI, where it fails."""
    found = shutil.which(tool)
    if found:
        return found
    message = f"{tool} is not installed (Debian package {TOOLS.get(tool, tool)})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Registry:
    """A docker-registry process on loopback. ``user``/``password`` turn on
    htpasswd auth; ``start``/``stop`` may be called again (same storage, port)."""

    def __init__(self, root: Path, user: str | None = None, password: str | None = None
                 ) -> None:
        self.binary = require("docker-registry")
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.user, self.password = user, password
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": self.address, "secret": "kpatch-test-only"},
        }
        if user is not None and password is not None:
            htpasswd = root / "htpasswd"
            done = subprocess.run([require("htpasswd"), "-Bbn", user, password],
                                  capture_output=True, text=True, check=True)
            htpasswd.write_text(done.stdout)
            config["auth"] = {"htpasswd": {"realm": "kpatch-test", "path": str(htpasswd)}}
        self.config = root / "config.yml"
        # JSON is YAML: no YAML writer needed for the registry's config.
        self.config.write_text(json.dumps(config))

    def start(self) -> Registry:
        log = (self.root / "registry.log").open("ab")
        self.process = subprocess.Popen([self.binary, "serve", str(self.config)],
                                        stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: "
                                   f"{(self.root / 'registry.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return self
            except urllib.error.HTTPError as answer:
                if answer.code == 401:  # up, and asking for credentials
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not start on {self.address}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def authfile(self, path: Path, password: str | None = None) -> Path:
        """A containers-auth.json for this registry (``password`` overrides)."""
        secret = f"{self.user}:{password if password is not None else self.password}"
        token = base64.b64encode(secret.encode()).decode()
        path.write_text(json.dumps({"auths": {self.address: {"auth": token}}}))
        return path


def _blob(root: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(name: str, arch: str) -> bytes:
    """A tarball with one file. Left uncompressed: gzip output depends on the
    zlib version, and the fixture's digest reference must not."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = f"{name} for {arch}\n".encode()
        info = tarfile.TarInfo(f"etc/{name.replace('/', '-')}")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def build_layout(root: Path, name: str, arches: tuple[str, ...] = ("amd64", "arm64")) -> str:
    """Write an OCI layout holding image ``name``: an index over one image per
    architecture when ``arches`` has several, else a single image. Returns the
    digest of the top manifest (what a registry reports)."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    manifests = []
    for arch in arches:
        layer = _layer(name, arch)
        diff_id = f"sha256:{hashlib.sha256(layer).hexdigest()}"
        config = json.dumps({
            "architecture": arch, "os": "linux",
            "config": {"Entrypoint": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }, sort_keys=True).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       **_blob(root, config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        **_blob(root, layer)}],
        }, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          **_blob(root, manifest),
                          "platform": {"architecture": arch, "os": "linux"}})
    if len(manifests) == 1:
        top = {key: manifests[0][key] for key in ("mediaType", "digest", "size")}
    else:
        index = json.dumps({"schemaVersion": 2,
                            "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": manifests}, sort_keys=True).encode()
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", **_blob(root, index)}
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return str(top["digest"])


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require("skopeo"), *args], capture_output=True, text=True,
                          check=False)


def push_layout(layout: Path, target: str, authfile: Path | None = None) -> None:
    """Push the layout's image (all architectures, digests kept) to docker://target."""
    auth = ["--authfile", str(authfile)] if authfile else []
    done = skopeo("copy", "--all", "--preserve-digests", "--quiet", *auth,
                  "--dest-tls-verify=false", f"oci:{layout}", f"docker://{target}")
    assert done.returncode == 0, done.stderr


def registry_digest(reference: str, authfile: Path | None = None) -> str | None:
    """``skopeo inspect --raw`` digest of docker://reference, None if absent."""
    auth = ["--authfile", str(authfile)] if authfile else []
    done = subprocess.run([require("skopeo"), "inspect", "--raw", "--tls-verify=false", *auth,
                           f"docker://{reference}"], capture_output=True, check=False)
    if done.returncode != 0:
        assert b"manifest unknown" in done.stderr, done.stderr
        return None
    return f"sha256:{hashlib.sha256(done.stdout).hexdigest()}"
