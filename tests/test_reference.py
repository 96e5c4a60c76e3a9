"""Tests for kpatch.reference: parse, format and normalize image references."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpatch.errors import KpatchError
from kpatch.reference import ImageReference, is_reference, parse_reference

from .strategies import SEPARATORS_NO_DOT, digests, format_reference, path_components, tags

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8
SHA384 = "sha384:" + "0123456789abcdef" * 6
BLAKE3 = "blake3:" + "fedcba9876543210" * 2  # unregistered algorithm, 32 hex
MULTIHASH = "multihash+base58:" + "ABCDEF0123456789" * 3  # unregistered, upper-case allowed


# --------------------------------------------------------------------------- parsing

# (text, registry, path, tag, digest)
VALID: list[tuple[str, str | None, str, str | None, str | None]] = [
    ("busybox", None, "busybox", None, None),
    ("busybox:1.36.1", None, "busybox", "1.36.1", None),
    ("k8ssandra/cass-operator:v1.26.0", None, "k8ssandra/cass-operator", "v1.26.0", None),
    ("docker.io/k8ssandra/cass-operator", "docker.io", "k8ssandra/cass-operator", None, None),
    ("index.docker.io/busybox", "index.docker.io", "busybox", None, None),
    ("registry-1.docker.io/library/busybox", "registry-1.docker.io", "library/busybox", None, None),
    ("localhost/foo", "localhost", "foo", None, None),
    ("localhost:5000/x", "localhost:5000", "x", None, None),
    ("localhost:5000/foo:dev", "localhost:5000", "foo", "dev", None),
    ("registry.corp.example:443/a/b", "registry.corp.example:443", "a/b", None, None),
    ("registry.corp.example:443/a/b:t", "registry.corp.example:443", "a/b", "t", None),
    ("quay.io/a/b/c/d:1", "quay.io", "a/b/c/d", "1", None),
    ("[::1]:5000/foo", "[::1]:5000", "foo", None, None),
    ("[2001:db8::1]/team/app:2", "[2001:db8::1]", "team/app", "2", None),
    ("Registry.Example/app", "Registry.Example", "app", None, None),
    ("Mirror/app", "Mirror", "app", None, None),  # upper case marks a registry
    ("my-reg.c--d.io/x", "my-reg.c--d.io", "x", None, None),
    ("a.b/x", "a.b", "x", None, None),  # "." in the first component makes it a registry
    ("ns/a_b__c-d--e.f", None, "ns/a_b__c-d--e.f", None, None),
    ("busybox:_", None, "busybox", "_", None),
    ("busybox:" + "t" * 128, None, "busybox", "t" * 128, None),
    ("busybox:V1.0_rc-1.A", None, "busybox", "V1.0_rc-1.A", None),
    ("quay.io/a/b@" + SHA256, "quay.io", "a/b", None, SHA256),
    ("busybox@" + SHA512, None, "busybox", None, SHA512),
    ("busybox@" + SHA384, None, "busybox", None, SHA384),
    ("busybox@" + BLAKE3, None, "busybox", None, BLAKE3),
    ("busybox@" + MULTIHASH, None, "busybox", None, MULTIHASH),
    ("busybox:1.36.1@" + SHA256, None, "busybox", "1.36.1", SHA256),
    (
        "localhost:5000/a/b:v1@" + SHA512,
        "localhost:5000",
        "a/b",
        "v1",
        SHA512,
    ),
    ("[::1]:5000/foo:1@" + SHA256, "[::1]:5000", "foo", "1", SHA256),
    # No "/" after the host: "localhost:5000" is the name "localhost", tag "5000".
    ("localhost:5000", None, "localhost", "5000", None),
]

VALID_IDS = [
    "bare",
    "tag",
    "hub-namespace",
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "localhost",
    "localhost-port",
    "localhost-port-tag",
    "host-port-multi",
    "host-port-multi-tag",
    "deep-path",
    "ipv6-port",
    "ipv6-no-port",
    "upper-case-host",
    "upper-case-first-component",
    "dashes-in-host",
    "dot-makes-registry",
    "separators-in-path",
    "tag-underscore",
    "tag-128-chars",
    "tag-mixed",
    "digest-sha256",
    "digest-sha512",
    "digest-sha384",
    "digest-unregistered",
    "digest-unregistered-upper",
    "tag-and-digest",
    "port-tag-digest",
    "ipv6-tag-digest",
    "host-port-only",
]


@pytest.mark.parametrize(("text", "registry", "path", "tag", "digest"), VALID, ids=VALID_IDS)
def test_parse_fields(
    text: str, registry: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    assert parse_reference(text) == ImageReference(
        registry=registry, path=path, tag=tag, digest=digest
    )


@pytest.mark.parametrize("text", [v[0] for v in VALID], ids=VALID_IDS)
def test_format_round_trip(text: str) -> None:
    assert str(parse_reference(text)) == text
    assert is_reference(text)


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        pytest.param(ImageReference(None, "busybox"), "busybox", id="bare"),
        pytest.param(ImageReference("quay.io", "a/b", tag="1"), "quay.io/a/b:1", id="tag"),
        pytest.param(
            ImageReference("quay.io", "a/b", digest=SHA256), f"quay.io/a/b@{SHA256}", id="digest"
        ),
        pytest.param(
            ImageReference(None, "a", tag="t", digest=SHA256), f"a:t@{SHA256}", id="tag-digest"
        ),
    ],
)
def test_format(ref: ImageReference, text: str) -> None:
    assert str(ref) == text


def test_name_length_limit() -> None:
    # registry "a.io" + "/" + path: 255 characters is the longest allowed name.
    longest = "a.io/" + "b" * 250
    assert str(parse_reference(longest + ":t")) == longest + ":t"
    with pytest.raises(KpatchError, match="longer than 255"):
        parse_reference(longest + "b")


def test_moved_keeps_tag_and_digest() -> None:
    ref = parse_reference(f"quay.io/a/b:V1_x@{SHA512}")
    moved = ref.moved("registry.corp:5000", "mirror/b")
    assert moved == ImageReference("registry.corp:5000", "mirror/b", "V1_x", SHA512)
    assert ref.moved(None, "b") == ImageReference(None, "b", "V1_x", SHA512)


# --------------------------------------------------------------------------- normalizing

# (text, domain, repository, normalized)
NORMALIZE: list[tuple[str, str, str, str]] = [
    ("busybox", "docker.io", "library/busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36.1", "docker.io", "library/busybox", "docker.io/library/busybox:1.36.1"),
    (
        "busybox@" + SHA256,
        "docker.io",
        "library/busybox",
        "docker.io/library/busybox@" + SHA256,
    ),
    (
        "busybox:1@" + SHA256,
        "docker.io",
        "library/busybox",
        "docker.io/library/busybox:1@" + SHA256,
    ),
    ("docker.io/busybox", "docker.io", "library/busybox", "docker.io/library/busybox:latest"),
    (
        "index.docker.io/busybox",
        "docker.io",
        "library/busybox",
        "docker.io/library/busybox:latest",
    ),
    (
        "registry-1.docker.io/busybox:1",
        "docker.io",
        "library/busybox",
        "docker.io/library/busybox:1",
    ),
    (
        "docker.io/library/busybox:1",
        "docker.io",
        "library/busybox",
        "docker.io/library/busybox:1",
    ),
    (
        "k8ssandra/cass-operator:v1.26.0",
        "docker.io",
        "k8ssandra/cass-operator",
        "docker.io/k8ssandra/cass-operator:v1.26.0",
    ),
    (
        "index.docker.io/k8ssandra/cass-operator",
        "docker.io",
        "k8ssandra/cass-operator",
        "docker.io/k8ssandra/cass-operator:latest",
    ),
    ("quay.io/a/b@" + SHA256, "quay.io", "a/b", "quay.io/a/b@" + SHA256),
    ("quay.io/b", "quay.io", "b", "quay.io/b:latest"),
    ("localhost:5000/foo", "localhost:5000", "foo", "localhost:5000/foo:latest"),
    ("localhost/foo:1", "localhost", "foo", "localhost/foo:1"),
    (
        "registry.corp.example:443/a/b:t",
        "registry.corp.example:443",
        "a/b",
        "registry.corp.example:443/a/b:t",
    ),
    ("[::1]:5000/foo", "[::1]:5000", "foo", "[::1]:5000/foo:latest"),
]

NORMALIZE_IDS = [
    "bare",
    "tag",
    "digest",
    "tag-digest",
    "docker.io-official",
    "index.docker.io-official",
    "registry-1-official",
    "already-library",
    "hub-namespace",
    "index.docker.io-namespace",
    "quay-digest-unchanged",
    "quay-one-component-no-library",
    "localhost-port-no-library",
    "localhost-no-library",
    "host-port",
    "ipv6",
]


@pytest.mark.parametrize(
    ("text", "domain", "repository", "normalized"), NORMALIZE, ids=NORMALIZE_IDS
)
def test_normalize(text: str, domain: str, repository: str, normalized: str) -> None:
    ref = parse_reference(text)
    assert ref.domain == domain
    assert ref.repository == repository
    assert ref.name == f"{domain}/{repository}"
    assert ref.normalized == normalized
    # Normalizing never changes how the reference formats.
    assert str(ref) == text


# --------------------------------------------------------------------------- invalid input


INVALID: list[object] = [
    pytest.param("", id="empty"),
    pytest.param("docker.io/K8ssandra/x", id="upper-case-path"),
    pytest.param("K8ssandra", id="upper-case-single-component"),
    pytest.param("x@sha256:abc", id="digest-too-short"),
    pytest.param("x@sha256:" + "A" * 64, id="digest-sha256-upper-hex"),
    pytest.param("x@sha256:" + "a" * 63, id="digest-sha256-63-hex"),
    pytest.param("x@sha256:" + "a" * 65, id="digest-sha256-65-hex"),
    pytest.param("x@sha512:" + "a" * 64, id="digest-sha512-64-hex"),
    pytest.param("x@blake3:" + "a" * 31, id="digest-unregistered-31-hex"),
    pytest.param("x@sha256:" + "g" * 64, id="digest-not-hex"),
    pytest.param("x@" + "a" * 64, id="digest-no-algorithm"),
    pytest.param("x@1sha:" + "a" * 64, id="digest-algorithm-starts-with-digit"),
    pytest.param("x@", id="digest-empty"),
    pytest.param("busy box", id="space-inside"),
    pytest.param(" busybox", id="space-leading"),
    pytest.param("busybox:1 ", id="space-trailing"),
    pytest.param("busybox\t:1", id="tab"),
    pytest.param("busybox:", id="trailing-colon"),
    pytest.param("localhost:5000/foo:", id="trailing-colon-after-port"),
    pytest.param("busybox:" + "t" * 129, id="tag-129-chars"),
    pytest.param("busybox:-1", id="tag-leading-dash"),
    pytest.param("busybox:.1", id="tag-leading-dot"),
    pytest.param("busybox:a+b", id="tag-plus"),
    pytest.param("busybox:a:b", id="two-colons"),
    pytest.param("a//b", id="double-slash"),
    pytest.param("/busybox", id="leading-slash"),
    pytest.param("busybox/", id="trailing-slash"),
    pytest.param("docker.io/", id="registry-only"),
    pytest.param("docker.io/:1", id="registry-tag-no-path"),
    pytest.param(":1", id="tag-only"),
    pytest.param("-busybox", id="path-leading-dash"),
    pytest.param("busybox-", id="path-trailing-dash"),
    pytest.param("a..b/c/d", id="host-double-dot"),
    pytest.param("ns/a..b", id="path-double-dot"),
    pytest.param("ns/a___b", id="path-triple-underscore"),
    pytest.param("ns/a._b", id="path-mixed-separators"),
    pytest.param("-bad.io/x", id="host-leading-dash"),
    pytest.param("bad-.io/x", id="host-trailing-dash"),
    pytest.param("a_b.io/x", id="host-underscore"),
    pytest.param("bad.io:/x", id="host-empty-port"),
    pytest.param("bad.io:50a/x", id="host-bad-port"),
    pytest.param("[::1/x", id="ipv6-unclosed"),
    pytest.param("quay.io/a/b@sha256:" + "a" * 64 + "@" + SHA256, id="two-digests"),
    pytest.param(
        "busybox:t\u00e4g",
        id="tag-non-ascii-letter"
    ),
    pytest.param(
        "busybox:\uff11",
        id="tag-fullwidth-digit"
    ),
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_reference(text: str) -> None:
    with pytest.raises(KpatchError) as caught:
        parse_reference(text)
    assert repr(text) in caught.value.message
    assert not is_reference(text)


@pytest.mark.parametrize(
    "value", [None, 5, b"busybox"], ids=["none", "int", "bytes"]
)
def test_non_string(value: object) -> None:
    assert not is_reference(value)
    with pytest.raises(KpatchError, match="not a string"):
        parse_reference(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

REGISTRIES = [
    None,
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "quay.io",
    "localhost",
    "localhost:5000",
    "registry.corp.example:443",
    "[::1]:5000",
]


@st.composite
def reference_parts(
    draw: st.DrawFn,
) -> tuple[str | None, str, str | None, str | None]:
    registry = draw(st.sampled_from(REGISTRIES))
    components = draw(st.lists(path_components(), min_size=1, max_size=3))
    if registry is None and len(components) > 1:
        # Without a registry, a first component with "." (or "localhost") would be
        # read as a registry host, as the grammar says: keep it a path component.
        components[0] = draw(
            path_components(SEPARATORS_NO_DOT).filter(lambda c: c != "localhost"))
    path = "/".join(components)
    return registry, path, draw(st.none() | tags), draw(st.none() | digests)


def format_parts(parts: tuple[str | None, str, str | None, str | None]) -> str:
    return format_reference(*parts)


references = reference_parts().map(format_parts)


@settings(max_examples=300, deadline=None)
@given(references)
def test_property_round_trip(text: str) -> None:
    assert str(parse_reference(text)) == text


@settings(max_examples=300, deadline=None)
@given(reference_parts())
def test_property_parts(parts: tuple[str | None, str, str | None, str | None]) -> None:
    registry, path, tag, digest = parts
    assert parse_reference(format_parts(parts)) == ImageReference(registry, path, tag, digest)


@settings(max_examples=300, deadline=None)
@given(references)
def test_property_normalized_is_fixed_point(text: str) -> None:
    ref = parse_reference(text)
    again = parse_reference(ref.normalized)
    assert again.normalized == ref.normalized
    assert str(again) == ref.normalized
    assert (again.domain, again.repository) == (ref.domain, ref.repository)
    expected_tag = "latest" if ref.tag is None and ref.digest is None else ref.tag
    assert (again.tag, again.digest) == (expected_tag, ref.digest)
