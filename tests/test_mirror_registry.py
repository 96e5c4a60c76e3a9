"""`kpatch mirror` against two real registries on loopback.

The source registry is open, the destination behind htpasswd auth, both
Debian's docker-registry started here on free ports. Every image is built by
the tests (tests/registries.py) and pushed with skopeo; kpatch runs as a real
process. Digests are checked with `skopeo inspect`.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kpatch.inventory import find_images
from kpatch.mirror.plan import CopyItem, build_plan, pull_spec, push_spec
from kpatch.relocation import RelocationRules

from .conftest import FIXTURES
from .registries import Registry, build_layout, push_layout, registry_digest, require, skopeo

# repository -> (tag, architectures): the images fixtures/mirror/install.yaml names.
IMAGES = {
    "library/busybox": ("1.36", ("amd64",)),
    "shop/app": ("1.0", ("amd64", "arm64")),
    "shop/proxy": ("2.1", ("amd64", "arm64", "s390x")),
    "shop/migrate": ("3.0", ("amd64", "arm64")),
    "redislabs/redis": ("7.2.4-64", ("amd64",)),
    "redislabs/operator": ("7.2.4-7", ("amd64", "arm64")),
    "redislabs/k8s-controller": ("7.2.4-7", ("amd64",)),
}
PLACEHOLDER = "127.0.0.1:5999"
PASSWORD = "correct-horse-battery-7"
TLS_OFF = ["--no-src-tls-verify", "--no-dest-tls-verify"]


@pytest.fixture(scope="session")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require("skopeo")
    root = tmp_path_factory.mktemp("layouts")
    return {repo: _built(root, repo, arches) for repo, (_, arches) in IMAGES.items()}


def _built(root: Path, repo: str, arches: tuple[str, ...]) -> Path:
    layout = root / repo.replace("/", "_")
    build_layout(layout, repo, arches)
    return layout


def _started_source(root: Path, layouts: dict[str, Path]) -> Registry:
    registry = Registry(root).start()
    for repo, layout in layouts.items():
        push_layout(layout, f"{registry.address}/{repo}:{IMAGES[repo][0]}")
    return registry


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory, layouts: dict[str, Path]
           ) -> Iterator[Registry]:
    registry = _started_source(tmp_path_factory.mktemp("source"), layouts)
    yield registry
    registry.stop()


@pytest.fixture
def own_source(tmp_path: Path, layouts: dict[str, Path]) -> Iterator[Registry]:
    """A source registry of the test's own, which it may stop."""
    registry = _started_source(tmp_path / "own-source", layouts)
    yield registry
    registry.stop()


@pytest.fixture
def destination(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(tmp_path / "destination", user="mirror", password=PASSWORD).start()
    yield registry
    registry.stop()


@pytest.fixture
def authfile(destination: Registry, tmp_path: Path) -> Path:
    return destination.authfile(tmp_path / "auth.json")


def install_at(source: Registry, folder: Path) -> Path:
    """The fixture install, its images in the running source registry."""
    text = (FIXTURES / "mirror" / "install.yaml").read_text(encoding="utf-8")
    path = folder / "install.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(PLACEHOLDER, source.address), encoding="utf-8")
    return path


def plan_items(install: Path, destination: Registry) -> list[CopyItem]:
    return build_plan(find_images([str(install)]),
                      RelocationRules.parse(destination.address)).items


def kpatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpatch", *args], capture_output=True,
                          text=True, check=False)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


def assert_mirrored(items: list[CopyItem], authfile: Path) -> None:
    for item in items:
        expected = registry_digest(pull_spec(item.source))
        assert expected is not None, item.source
        assert registry_digest(push_spec(item.destination), authfile) == expected, item
        # The digest resolves too: what a digest reference (or --pin-digests) pulls.
        assert registry_digest(f"{item.destination.name}@{expected}", authfile) == expected


def test_execute_copies_every_image_with_its_digest(source: Registry, destination: Registry,
                                                    authfile: Path, tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    items = plan_items(install, destination)
    assert len(items) == 7
    done = kpatch("mirror", str(install), "--registry", destination.address, "--execute",
                  "--jobs", "4", "--authfile", str(authfile), *TLS_OFF)
    assert done.returncode == 0, done.stderr
    assert "7 image(s): 7 copied, 0 already there, 0 failed" in done.stdout
    # Not a terminal: one plain line per image.
    assert done.stderr.count(" copied ") == 7, done.stderr
    assert_mirrored(items, authfile)
    # All architectures came along: the proxy's index still lists three.
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--authfile", str(authfile),
                 f"docker://{destination.address}/shop/proxy:2.1")
    platforms = [m["platform"]["architecture"] for m in json.loads(raw.stdout)["manifests"]]
    assert platforms == ["amd64", "arm64", "s390x"]

    verified = kpatch("mirror", str(install), "--registry", destination.address, "--verify",
                      "--authfile", str(authfile), *TLS_OFF)
    assert verified.returncode == 0, verified.stderr
    assert "7 present, 0 missing" in verified.stdout

    again = kpatch("mirror", str(install), "--registry", destination.address, "--execute",
                   "--authfile", str(authfile), *TLS_OFF)
    assert again.returncode == 0, again.stderr
    assert "0 copied, 7 already there" in again.stdout
    assert_no_secret(done.stdout, done.stderr, verified.stdout, again.stdout, again.stderr)


def test_verify_lists_what_is_missing(source: Registry, destination: Registry, authfile: Path,
                                      tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    first = plan_items(install, destination)[1]
    push = skopeo("copy", "--all", "--preserve-digests", "--quiet", "--authfile", str(authfile),
                  "--src-tls-verify=false", "--dest-tls-verify=false",
                  f"docker://{pull_spec(first.source)}", f"docker://{push_spec(first.destination)}")
    assert push.returncode == 0, push.stderr
    done = kpatch("mirror", str(install), "--registry", destination.address, "--verify",
                  "--authfile", str(authfile), *TLS_OFF)
    assert done.returncode == 1
    assert "6 image(s) missing from the registry" in done.stderr
    assert f"{push_spec(first.destination)}: not in the registry" not in done.stderr
    assert f"{destination.address}/shop/proxy:2.1: not in the registry" in done.stderr


def test_to_dir_then_from_dir_with_the_source_stopped(own_source: Registry,
                                                       destination: Registry, authfile: Path,
                                                       tmp_path: Path) -> None:
    install = install_at(own_source, tmp_path)
    items = plan_items(install, destination)
    expected = {item.source.normalized: registry_digest(pull_spec(item.source))
                for item in items}
    carried = tmp_path / "carried"
    pulled = kpatch("mirror", str(install), "--registry", destination.address,
                    "--to-dir", str(carried), "--no-src-tls-verify")
    assert pulled.returncode == 0, pulled.stderr
    manifest = json.loads((carried / "kpatch-mirror.json").read_text())
    assert {i["source"]: i["digest"] for i in manifest["images"]} == expected
    for image in manifest["images"]:
        assert image["size"] == sum(image["blobs"].values()) > 0
        assert (carried / image["layout"] / "oci-layout").is_file()
    assert not list(carried.glob("images/*.partial"))
    again = kpatch("mirror", str(install), "--registry", destination.address,
                   "--to-dir", str(carried), "--no-src-tls-verify")
    assert again.returncode == 0, again.stderr
    assert "0 copied, 7 already there" in again.stdout  # resumable on this side too
    assert json.loads((carried / "kpatch-mirror.json").read_text()) == manifest

    own_source.stop()  # the air gap: the other side never sees the source
    pushed = kpatch("mirror", "--from-dir", str(carried), "--authfile", str(authfile),
                    "--no-dest-tls-verify", "--jobs", "3")
    assert pushed.returncode == 0, pushed.stderr
    assert "every blob matches its digest" in pushed.stderr
    assert "7 copied" in pushed.stdout
    for item in items:
        assert registry_digest(push_spec(item.destination), authfile) == \
            expected[item.source.normalized]
    verified = kpatch("mirror", "--from-dir", str(carried), "--verify", "--authfile",
                      str(authfile), "--no-dest-tls-verify")
    assert verified.returncode == 0, verified.stderr


def test_a_corrupted_blob_is_refused_before_anything_is_pushed(
        source: Registry, destination: Registry, authfile: Path, tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    carried = tmp_path / "carried"
    pulled = kpatch("mirror", str(install), "--registry", destination.address,
                    "--to-dir", str(carried), "--no-src-tls-verify")
    assert pulled.returncode == 0, pulled.stderr
    layout = carried / json.loads((carried / "kpatch-mirror.json").read_text())["images"][2][
        "layout"]
    blob = max((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size
    blob.write_bytes(bytes(data))
    pushed = kpatch("mirror", "--from-dir", str(carried), "--authfile", str(authfile),
                    "--no-dest-tls-verify")
    assert pushed.returncode == 2
    assert f"blobs/sha256/{blob.name}: content does not match its digest" in pushed.stderr
    assert pushed.stderr.count("\n") == 1
    for item in plan_items(install, destination):
        assert registry_digest(push_spec(item.destination), authfile) is None


def test_destination_down_at_start_is_one_clear_error(source: Registry, tmp_path: Path) -> None:
    down = Registry(tmp_path / "down", user="mirror", password=PASSWORD)  # never started
    install = install_at(source, tmp_path)
    done = kpatch("mirror", str(install), "--registry", down.address, "--execute",
                  "--authfile", str(down.authfile(tmp_path / "auth.json")), *TLS_OFF)
    assert done.returncode == 2
    assert f"destination registry {down.address} is not reachable" in done.stderr
    assert "connection refused" in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_wrong_credentials_are_a_clear_error_without_the_secret(
        source: Registry, destination: Registry, tmp_path: Path) -> None:
    wrong = "not-the-password-31337"
    authfile = destination.authfile(tmp_path / "wrong.json", password=wrong)
    token = json.loads(authfile.read_text())["auths"][destination.address]["auth"]
    install = install_at(source, tmp_path)
    done = kpatch("mirror", str(install), "--registry", destination.address, "--execute",
                  "--authfile", str(authfile), *TLS_OFF)
    assert done.returncode == 2
    assert f"destination registry {destination.address} refused the credentials" in done.stderr
    for text in (done.stdout, done.stderr):
        assert wrong not in text and token not in text and PASSWORD not in text


def test_destination_stopped_mid_run_then_a_rerun_copies_only_the_rest(
        source: Registry, destination: Registry, authfile: Path, tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    args = [sys.executable, "-m", "kpatch", "mirror", str(install), "--registry",
            destination.address, "--execute", "--jobs", "1", "--retries", "1",
            "--retry-delay", "0.1", "--authfile", str(authfile), *TLS_OFF]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None and process.stdout is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if sum(" copied " in seen for seen in lines) == 2 and destination.process:
            destination.stop()
    out = process.stdout.read()
    assert process.wait() == 1, "".join(lines)
    first = _statuses(lines)
    copied = {image for image, status in first.items() if status == "copied"}
    failed = {image for image, status in first.items() if status == "failed"}
    assert len(copied) >= 2 and failed, first
    assert f"{len(failed)} image(s) failed:" in "".join(lines)
    for image in failed:
        assert f"  {image} -> " in "".join(lines)
    # Each failure was retried once (--retries 1) before it was given up on.
    failed_rows = [line.split() for line in out.splitlines() if line.startswith("failed ")]
    assert {row[1] for row in failed_rows} == failed
    assert all(row[4] == "2" for row in failed_rows), out

    destination.start()  # same storage, same port
    again = kpatch("mirror", str(install), "--registry", destination.address, "--execute",
                   "--jobs", "1", "--authfile", str(authfile), *TLS_OFF)
    assert again.returncode == 0, again.stderr
    second = _statuses(again.stderr.splitlines())
    assert {i for i, s in second.items() if s == "skipped"} == copied
    assert {i for i, s in second.items() if s == "copied"} == failed
    assert_mirrored(plan_items(install, destination), authfile)


def _statuses(lines: list[str]) -> dict[str, str]:
    """image -> status, from the plain progress lines ("[3/7] copied IMAGE -> ...")."""
    found = {}
    for line in lines:
        words = line.split()
        if len(words) >= 4 and words[1].startswith("[") and words[1].endswith("]"):
            found[words[3].rstrip(":")] = words[2]
    return found


def test_the_skopeo_script_mirrors_against_the_registries(source: Registry,
                                                          destination: Registry,
                                                          authfile: Path, tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    script = tmp_path / "mirror.sh"
    made = kpatch("mirror", str(install), "--registry", destination.address, "--format", "skopeo")
    assert made.returncode == 0, made.stderr
    script.write_text(made.stdout)
    ran = subprocess.run(["bash", str(script), "--authfile", str(authfile),
                          "--src-tls-verify=false", "--dest-tls-verify=false"],
                         capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert_mirrored(plan_items(install, destination), authfile)


def test_pin_digests_in_the_plan_and_in_relocate(source: Registry, destination: Registry,
                                                 tmp_path: Path) -> None:
    install = install_at(source, tmp_path / "base")
    done = kpatch("mirror", str(install), "--registry", destination.address, "--pin-digests",
                  "--format", "json", "--no-src-tls-verify")
    assert done.returncode == 0, done.stderr
    images = json.loads(done.stdout)["images"]
    for image in images:
        name = image["source"].split("@")[0].rsplit(":", 1)[0]
        digest = registry_digest(f"{name}:{image['tag']}") if image["tag"] else None
        assert image["digest"] is not None and image["digest"] == (digest or image["digest"])
        assert image["destination"].endswith(f"@{image['digest']}")
    overlay = tmp_path / "overlay"
    relocated = kpatch("relocate", str(install.parent), "--registry", destination.address,
                       "--output", str(overlay), "--write-base-kustomization", "--pin-digests",
                       "--no-src-tls-verify")
    assert relocated.returncode == 0, relocated.stderr
    app_digest = registry_digest(f"{source.address}/shop/app:1.0")
    patches = "".join(p.read_text() for p in overlay.glob("*.yaml"))
    assert f"{destination.address}/shop/app:1.0@{app_digest}" in patches
    assert "--pin-digests" in patches  # the recorded command
    # Redis image specs spread the reference over fields; their layout has a digest
    # key (digestHash), which carries the pin.
    redis_digest = registry_digest(f"{source.address}/redislabs/redis:7.2.4-64")
    assert f'"value": "{redis_digest}"' in patches and "digestHash" in patches
    assert "not pinned" not in relocated.stderr


def test_progress_bar_on_a_terminal(source: Registry, destination: Registry, authfile: Path,
                                    tmp_path: Path) -> None:
    install = install_at(source, tmp_path)
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kpatch", "mirror", str(install), "--registry",
             destination.address, "--execute", "--authfile", str(authfile), *TLS_OFF],
            stdout=subprocess.PIPE, stderr=follower, text=True)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read() if process.stdout else ""
        assert process.wait() == 0
    finally:
        os.close(leader)
    text = shown.decode()
    assert "\r[" in text and "7/7  7 copied, 0 skipped, 0 failed" in text
    assert "[1/7]" not in text  # no plain lines on a terminal
    assert "7 copied" in out
