"""Tests for kpatch.relocation: where each image moves to in the private registry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpatch.errors import KpatchError
from kpatch.reference import ImageReference, parse_reference
from kpatch.relocation import PrefixMapping, RelocationRules, normalize_name

from .strategies import SEPARATORS_NO_DOT, digests, format_reference, path_components, tags

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "fedcba9876543210" * 8
BLAKE3 = "blake3:" + "ABCDEF0123456789" * 2  # unregistered algorithm: upper-case hex allowed

REGISTRY = "registry.corp:5000"
# A general registry-wide mapping and a longer, more specific one.
HUB = "docker.io/=registry.corp:5000/hub"
K8SSANDRA = "docker.io/k8ssandra/=registry.corp:5000/mirror/k8ssandra/"


def relocate(
    target: str, mappings: list[str], flatten: bool, text: str
) -> ImageReference:
    return RelocationRules.parse(target, mappings, flatten).relocate(parse_reference(text))


# --------------------------------------------------------------------------- parsing rules

@pytest.mark.parametrize(
    ("target", "registry", "prefix"),
    [
        pytest.param("registry.corp:5000", "registry.corp:5000", "", id="host-port"),
        pytest.param("registry.corp:5000/", "registry.corp:5000", "", id="trailing-slash"),
        pytest.param("registry.corp", "registry.corp", "", id="host"),
        pytest.param("localhost", "localhost", "", id="localhost"),
        pytest.param("myreg:5000", "myreg:5000", "", id="dotless-host-port"),
        pytest.param("[::1]:5000/m", "[::1]:5000", "m", id="ipv6"),
        pytest.param("registry.corp:5000/mirror", "registry.corp:5000", "mirror", id="prefix"),
        pytest.param(
            " registry.corp:5000/mirror/ ", "registry.corp:5000", "mirror", id="blanks-slash"
        ),
        pytest.param(
            "registry.corp:5000/mirror/deep", "registry.corp:5000", "mirror/deep", id="deep"
        ),
    ],
)
def test_parse_target(target: str, registry: str, prefix: str) -> None:
    rules = RelocationRules.parse(target)
    assert (rules.registry, rules.prefix) == (registry, prefix)
    assert rules.target == (f"{registry}/{prefix}" if prefix else registry)
    assert rules.mappings == ()
    assert rules.flatten is False


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("/", id="slash"),
        pytest.param("/mirror", id="prefix-without-host"),
        pytest.param("mirror", id="path-not-host"),
        pytest.param(":5000", id="port-without-host"),
        pytest.param(":5000/mirror", id="port-prefix-without-host"),
        pytest.param("reg_x.io", id="host-underscore"),
        pytest.param("https://registry.corp", id="url-scheme"),
        pytest.param("registry.corp:50a", id="bad-port"),
        pytest.param("registry.corp:5000/Mirror", id="prefix-upper-case"),
        pytest.param("registry.corp:5000/a//b", id="prefix-double-slash"),
        pytest.param("registry.corp:5000/mirror:tag", id="prefix-with-tag"),
    ],
)
def test_parse_target_invalid(target: str) -> None:
    with pytest.raises(KpatchError) as caught:
        RelocationRules.parse(target)
    assert repr(target) in caught.value.message


@pytest.mark.parametrize(
    ("text", "source", "target"),
    [
        pytest.param(K8SSANDRA, "docker.io/k8ssandra", "registry.corp:5000/mirror/k8ssandra",
                     id="namespace"),
        pytest.param("k8ssandra/=mirror.corp/k8s", "docker.io/k8ssandra", "mirror.corp/k8s",
                     id="hub-namespace-implied"),
        pytest.param(HUB, "docker.io", "registry.corp:5000/hub", id="whole-hub"),
        pytest.param("quay.io=mirror.corp:8443/quay", "quay.io", "mirror.corp:8443/quay",
                     id="whole-registry"),
        pytest.param("quay.io/=mirror.corp:8443/", "quay.io", "mirror.corp:8443",
                     id="host-only-target"),
        pytest.param("ghcr.io=myreg:5000", "ghcr.io", "myreg:5000", id="dotless-target-host"),
        pytest.param("busybox=mirror.corp/tools/busybox", "docker.io/library/busybox",
                     "mirror.corp/tools/busybox", id="official-image"),
        pytest.param(" quay.io/a/b = mirror.corp/b ", "quay.io/a/b", "mirror.corp/b",
                     id="blanks"),
    ],
)
def test_parse_mapping(text: str, source: str, target: str) -> None:
    assert PrefixMapping.parse(text) == PrefixMapping(source=source, target=target)
    assert RelocationRules.parse(REGISTRY, [text]).mappings == (PrefixMapping(source, target),)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("quay.io", id="no-equals"),
        pytest.param("quay.io mirror.corp", id="space-not-equals"),
        pytest.param("=mirror.corp", id="empty-from"),
        pytest.param("quay.io=", id="empty-to"),
        pytest.param(" = ", id="blank-both"),
        pytest.param("quay.io=mirror", id="to-without-host"),
        pytest.param("quay.io=mirror/quay", id="to-path-without-host"),
        pytest.param("quay.io=mirror.corp/Quay", id="to-upper-case-path"),
        pytest.param("quay.io=bad_.io/x", id="to-bad-host"),
        pytest.param("quay.io=mirror.corp/a//b", id="to-double-slash"),
    ],
)
def test_parse_mapping_invalid(text: str) -> None:
    with pytest.raises(KpatchError) as caught:
        PrefixMapping.parse(text)
    assert repr(text) in caught.value.message
    with pytest.raises(KpatchError):
        RelocationRules.parse(REGISTRY, [K8SSANDRA, text])


def test_parse_mapping_empty_source() -> None:
    with pytest.raises(KpatchError, match="empty image name prefix '/'"):
        PrefixMapping.parse("/=mirror.corp")




@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        pytest.param("busybox", "docker.io/library/busybox", id="official"),
        pytest.param("docker.io/busybox", "docker.io/library/busybox", id="official-hub"),
        pytest.param("index.docker.io/busybox", "docker.io/library/busybox", id="official-alias"),
        pytest.param("k8ssandra/", "docker.io/k8ssandra", id="namespace-no-library"),
        pytest.param("k8ssandra/cass-operator", "docker.io/k8ssandra/cass-operator", id="hub"),
        pytest.param("index.docker.io/k8ssandra/", "docker.io/k8ssandra", id="alias-namespace"),
        pytest.param("docker.io", "docker.io", id="hub-host"),
        pytest.param("docker.io/", "docker.io", id="hub-host-slash"),
        pytest.param("quay.io", "quay.io", id="host"),
        pytest.param("quay.io/", "quay.io", id="host-slash"),
        pytest.param("quay.io/a/b", "quay.io/a/b", id="host-path"),
        pytest.param("localhost:5000/foo", "localhost:5000/foo", id="localhost-port-path"),
        pytest.param("localhost/foo/", "localhost/foo", id="localhost-path"),
        pytest.param(" quay.io/a/ ", "quay.io/a", id="blanks"),
        pytest.param(
            "localhost:5000/",
            "localhost:5000",
            id="bare-localhost-port"
        ),
        pytest.param(
            "localhost/",
            "localhost",
            id="bare-localhost"
        ),
        pytest.param(
            "myreg:5000/",
            "myreg:5000",
            id="bare-dotless-host-port"
        ),
        pytest.param(
            "index.docker.io/",
            "docker.io",
            id="bare-index.docker.io"
        ),
        pytest.param(
            "registry-1.docker.io",
            "docker.io",
            id="bare-registry-1.docker.io"
        ),
    ],
)
def test_normalize_name(name: str, normalized: str) -> None:
    assert normalize_name(name) == normalized


@pytest.mark.parametrize("name", ["", "/", " / "], ids=["empty", "slash", "blank-slash"])
def test_normalize_name_empty(name: str) -> None:
    with pytest.raises(KpatchError, match="empty image name prefix"):
        normalize_name(name)


# --------------------------------------------------------------------------- relocating

# (target, mappings, flatten, image, relocated)
RELOCATE: list[object] = [
    # Registry swap keeps the normalized path.
    pytest.param(REGISTRY, [], False, "docker.io/k8ssandra/cass-operator:v1.26.0",
                 "registry.corp:5000/k8ssandra/cass-operator:v1.26.0", id="swap"),
    pytest.param(REGISTRY, [], False, "k8ssandra/cass-operator:v1.26.0",
                 "registry.corp:5000/k8ssandra/cass-operator:v1.26.0", id="swap-implied-hub"),
    pytest.param(REGISTRY, [], False, "busybox:1.36.1",
                 "registry.corp:5000/library/busybox:1.36.1", id="swap-official"),
    pytest.param(REGISTRY, [], False, "index.docker.io/busybox",
                 "registry.corp:5000/library/busybox", id="swap-alias-no-tag-added"),
    pytest.param(REGISTRY, [], False, "registry-1.docker.io/library/busybox:1",
                 "registry.corp:5000/library/busybox:1", id="swap-registry-1"),
    pytest.param(REGISTRY, [], False, f"quay.io/a/b@{SHA256}",
                 f"registry.corp:5000/a/b@{SHA256}", id="swap-digest"),
    pytest.param(REGISTRY, [], False, "quay.io/b:1", "registry.corp:5000/b:1",
                 id="swap-one-component-no-library"),
    pytest.param(REGISTRY, [], False, "localhost:5000/foo:dev", "registry.corp:5000/foo:dev",
                 id="swap-localhost"),
    pytest.param(REGISTRY, [], False, "[::1]:5000/foo", "registry.corp:5000/foo",
                 id="swap-from-ipv6"),
    pytest.param("[::1]:5000", [], False, "quay.io/a/b:1", "[::1]:5000/a/b:1",
                 id="swap-to-ipv6"),
    pytest.param(REGISTRY, [], False, "registry.corp:443/a:1", "registry.corp:5000/a:1",
                 id="swap-same-host-other-port"),
    # Repository prefix under the registry.
    pytest.param("registry.corp:5000/mirror", [], False, "busybox:1.36.1",
                 "registry.corp:5000/mirror/library/busybox:1.36.1", id="prefix-official"),
    pytest.param("registry.corp:5000/mirror", [], False, "docker.io/k8ssandra/cass-operator:v1",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator:v1", id="prefix"),
    pytest.param("registry.corp:5000/mirror/deep", [], False, "quay.io/a/b:1",
                 "registry.corp:5000/mirror/deep/a/b:1", id="prefix-deep"),
    # Flatten: only the last path component, under the prefix.
    pytest.param(REGISTRY, [], True, "docker.io/k8ssandra/cass-operator:v1.26.0",
                 "registry.corp:5000/cass-operator:v1.26.0", id="flatten"),
    pytest.param("registry.corp:5000/mirror", [], True, "docker.io/k8ssandra/cass-operator:v1",
                 "registry.corp:5000/mirror/cass-operator:v1", id="flatten-prefix"),
    pytest.param("registry.corp:5000/mirror", [], True, "busybox:1.36.1",
                 "registry.corp:5000/mirror/busybox:1.36.1", id="flatten-official"),
    pytest.param("registry.corp:5000/mirror", [], True, f"quay.io/a/b/c/d:1@{SHA256}",
                 f"registry.corp:5000/mirror/d:1@{SHA256}", id="flatten-deep"),
    # Prefix mappings: longest FROM wins, on a path-component boundary.
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "docker.io/k8ssandra/cass-operator:v1.26.0",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator:v1.26.0", id="map-longest"),
    pytest.param(REGISTRY, [K8SSANDRA, HUB], False, "docker.io/k8ssandra/cass-operator:v1.26.0",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator:v1.26.0",
                 id="map-longest-order-independent"),
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "k8ssandra/cass-operator:v1",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator:v1", id="map-implied-hub"),
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "index.docker.io/k8ssandra/cass-operator",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator", id="map-alias"),
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "docker.io/k8ssandra-extra/x:1",
                 "registry.corp:5000/hub/k8ssandra-extra/x:1", id="map-boundary-falls-back"),
    pytest.param(REGISTRY, [K8SSANDRA], False, "docker.io/k8ssandra-extra/x:1",
                 "registry.corp:5000/k8ssandra-extra/x:1", id="map-boundary-no-match"),
    pytest.param(REGISTRY, [K8SSANDRA], False, "docker.io/k8ssandra:1",
                 "registry.corp:5000/library/k8ssandra:1", id="map-namespace-not-official"),
    pytest.param(REGISTRY, ["quay.io/a/b=mirror.corp/b"], False, "quay.io/a/b:1",
                 "mirror.corp/b:1", id="map-exact-name"),
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "busybox:1.36.1",
                 "registry.corp:5000/hub/library/busybox:1.36.1", id="map-hub-official"),
    pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "quay.io/a/b:1", "registry.corp:5000/a/b:1",
                 id="map-none-swap"),
    pytest.param(REGISTRY, ["quay.io=mirror.corp:8443/quay"], False, "quay.io/a/b:1",
                 "mirror.corp:8443/quay/a/b:1", id="map-host"),
    pytest.param(REGISTRY, ["quay.io=mirror.corp:8443/quay"], False, "quay.io.evil.com/a/b:1",
                 "registry.corp:5000/a/b:1", id="map-host-boundary"),
    pytest.param(REGISTRY, ["ghcr.io/=mirror.corp:8443"], False, "ghcr.io/o/r:1",
                 "mirror.corp:8443/o/r:1", id="map-to-host-only"),
    pytest.param(REGISTRY, ["busybox=mirror.corp/tools/busybox"], False, "busybox:1.36.1",
                 "mirror.corp/tools/busybox:1.36.1", id="map-official-image"),
    pytest.param(REGISTRY, ["busybox=mirror.corp/tools/busybox"], False, "busybox-extra:1",
                 "registry.corp:5000/library/busybox-extra:1", id="map-official-boundary"),
    pytest.param(REGISTRY, ["quay.io/a/b=mirror.corp/b"], False, "quay.io/a/b/c:1",
                 "mirror.corp/b/c:1", id="map-name-with-subpath"),
    pytest.param(REGISTRY, [K8SSANDRA], True, "docker.io/k8ssandra/cass-operator:v1",
                 "registry.corp:5000/mirror/k8ssandra/cass-operator:v1",
                 id="map-not-flattened"),
    pytest.param("registry.corp:5000/mirror", [K8SSANDRA], True, "busybox:1",
                 "registry.corp:5000/mirror/busybox:1", id="map-miss-flattened"),
    pytest.param(
        REGISTRY,
        ["localhost:5000/=registry.corp:5000/local"],
        False,
        "localhost:5000/foo:1",
        "registry.corp:5000/local/foo:1",
        id="map-from-bare-localhost-port"
    ),
    pytest.param(
        REGISTRY,
        ["index.docker.io/=registry.corp:5000/hub"],
        False,
        "busybox:1",
        "registry.corp:5000/hub/library/busybox:1",
        id="map-from-bare-hub-alias"
    ),
]


@pytest.mark.parametrize(("target", "mappings", "flatten", "image", "relocated"), RELOCATE)
def test_relocate(
    target: str, mappings: list[str], flatten: bool, image: str, relocated: str
) -> None:
    out = relocate(target, mappings, flatten, image)
    assert str(out) == relocated
    assert out == parse_reference(relocated)


@pytest.mark.parametrize(
    ("image", "tag", "digest"),
    [
        pytest.param("busybox:1.36.1", "1.36.1", None, id="tag"),
        pytest.param("busybox", None, None, id="none-no-latest-added"),
        pytest.param("busybox:latest", "latest", None, id="latest"),
        pytest.param("quay.io/a/b:V1.0_RC-1.x", "V1.0_RC-1.x", None, id="tag-mixed-case"),
        pytest.param("quay.io/a/b:" + "t" * 128, "t" * 128, None, id="tag-128"),
        pytest.param(f"quay.io/a/b@{SHA256}", None, SHA256, id="sha256"),
        pytest.param(f"quay.io/a/b@{SHA512}", None, SHA512, id="sha512"),
        pytest.param(f"quay.io/a/b@{BLAKE3}", None, BLAKE3, id="unregistered-upper-hex"),
        pytest.param(f"docker.io/k8ssandra/x:v1@{SHA256}", "v1", SHA256, id="tag-and-digest"),
    ],
)
@pytest.mark.parametrize(
    ("target", "mappings", "flatten"),
    [
        pytest.param(REGISTRY, [], False, id="swap"),
        pytest.param("registry.corp:5000/mirror", [], True, id="flatten"),
        pytest.param(REGISTRY, [HUB, K8SSANDRA, "quay.io=mirror.corp/quay"], False, id="map"),
    ],
)
def test_relocate_keeps_tag_and_digest(
    target: str, mappings: list[str], flatten: bool, image: str, tag: str | None,
    digest: str | None
) -> None:
    out = relocate(target, mappings, flatten, image)
    assert (out.tag, out.digest) == (tag, digest)
    suffix = (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest else "")
    assert str(out).endswith(suffix)
    assert str(out).count(":") == str(out.registry).count(":") + (tag is not None) + (
        digest is not None
    )




@pytest.mark.parametrize(
    ("target", "mappings", "flatten", "image"),
    [
        pytest.param(REGISTRY, [], False, "registry.corp:5000/k8ssandra/cass-operator:v1.26.0",
                     id="in-registry"),
        pytest.param(REGISTRY, [], False, f"registry.corp:5000/b@{SHA256}", id="in-registry-b"),
        pytest.param("registry.corp:5000/mirror", [], False,
                     "registry.corp:5000/mirror/library/busybox:1.36.1", id="in-prefix"),
        pytest.param("registry.corp:5000/mirror", [], True,
                     "registry.corp:5000/mirror/cass-operator:v1", id="flattened"),
        pytest.param("[::1]:5000/m", [], False, "[::1]:5000/m/a/b:1", id="ipv6"),
        pytest.param(REGISTRY, ["quay.io=mirror.corp:8443/quay"], False,
                     "mirror.corp:8443/quay/a/b:1", id="under-mapping-target"),
        pytest.param(REGISTRY, ["ghcr.io/=mirror.corp:8443"], False, "mirror.corp:8443/o/r:1",
                     id="under-host-only-mapping-target"),
        pytest.param(REGISTRY, ["quay.io/=quay.io/mirror"], False, "quay.io/mirror/a/b:1",
                     id="mapping-target-inside-source"),
        pytest.param(REGISTRY, ["quay.io/=index.docker.io/mirror"], False,
                     "index.docker.io/mirror/a/b:1", id="under-hub-mapping-target-as-written"),
        pytest.param(
            REGISTRY,
            ["quay.io/=index.docker.io/mirror"],
            False,
            "docker.io/mirror/a/b:1",
            id="under-hub-mapping-target-other-spelling"
        ),
    ],
)
def test_already_relocated_is_unchanged(
    target: str, mappings: list[str], flatten: bool, image: str
) -> None:
    rules = RelocationRules.parse(target, mappings, flatten)
    ref = parse_reference(image)
    assert rules.is_relocated(ref)
    assert rules.relocate(ref) == ref
    assert str(rules.relocate(ref)) == image


@pytest.mark.parametrize(
    ("target", "mappings", "flatten", "image"),
    [
        pytest.param(REGISTRY, [], False, "busybox:1", id="swap"),
        pytest.param("registry.corp:5000/mirror", [], True, "quay.io/a/b:1", id="flatten"),
        pytest.param(REGISTRY, [HUB, K8SSANDRA], False, "k8ssandra/x:1", id="map"),
        pytest.param(REGISTRY, ["quay.io/=quay.io/mirror"], False, "quay.io/a/b:1",
                     id="map-into-own-source"),
        pytest.param(
            "index.docker.io/mirror",
            [],
            False,
            "quay.io/a/b:1",
            id="hub-alias-target"
        ),
    ],
)
def test_relocate_twice_changes_nothing(
    target: str, mappings: list[str], flatten: bool, image: str
) -> None:
    rules = RelocationRules.parse(target, mappings, flatten)
    once = rules.relocate(parse_reference(image))
    assert rules.relocate(once) == once


# --------------------------------------------------------------------------- properties

# A reference strategy like the one in test_reference.py (the test files stand alone), with
# registries and path components that the rule sets below map, to exercise every rule.
REGISTRIES = [
    None,
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "quay.io",
    "ghcr.io",
    "localhost",
    "localhost:5000",
    "registry.corp:5000",
    "registry.corp:443",
    "mirror.corp",
    "mirror.corp:8443",
    "[::1]:5000",
]
KNOWN_COMPONENTS = ["k8ssandra", "k8ssandra-extra", "cass-operator", "library", "busybox",
                    "mirror", "quay", "tools", "x"]


@st.composite
def reference_texts(draw: st.DrawFn) -> str:
    registry = draw(st.sampled_from(REGISTRIES))
    component = st.sampled_from(KNOWN_COMPONENTS) | path_components()
    components = draw(st.lists(component, min_size=1, max_size=3))
    if registry is None and len(components) > 1:
        # Keep the first component a path component, not a registry host.
        components[0] = draw(
            st.sampled_from(KNOWN_COMPONENTS) | path_components(SEPARATORS_NO_DOT)
        )
    return format_reference(registry, "/".join(components), draw(st.none() | tags),
                            draw(st.none() | digests))


references = reference_texts().map(parse_reference)

RULE_SETS = [
    pytest.param(RelocationRules.parse(REGISTRY), id="swap"),
    pytest.param(RelocationRules.parse("registry.corp:5000/mirror"), id="prefix"),
    pytest.param(RelocationRules.parse("registry.corp:5000/mirror", flatten=True), id="flatten"),
    pytest.param(RelocationRules.parse("[::1]:5000/m"), id="ipv6"),
    pytest.param(
        RelocationRules.parse(
            REGISTRY,
            [HUB, K8SSANDRA, "quay.io=mirror.corp:8443/quay", "busybox=mirror.corp/tools/busybox"],
        ),
        id="mappings",
    ),
    pytest.param(
        RelocationRules.parse(
            "localhost:5000/x",
            ["ghcr.io/=mirror.corp:8443", "k8ssandra/=mirror.corp/k8s", "quay.io/=quay.io/mirror"],
            flatten=True,
        ),
        id="mappings-flatten",
    ),
]


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + "/")


def winning_mapping(rules: RelocationRules, ref: ImageReference) -> PrefixMapping | None:
    """The mapping that applies to ``ref`` by the documented rules, if any."""
    if ref.domain == rules.registry or any(under(ref.name, m.target) for m in rules.mappings):
        return None
    matching = [m for m in rules.mappings if under(ref.name, m.source)]
    return max(matching, key=lambda m: len(m.source), default=None)


@pytest.mark.parametrize("rules", RULE_SETS)
@settings(max_examples=300, deadline=None)
@given(ref=references)
def test_property_relocate_idempotent(rules: RelocationRules, ref: ImageReference) -> None:
    once = rules.relocate(ref)
    assert rules.relocate(once) == once


@pytest.mark.parametrize("rules", RULE_SETS)
@settings(max_examples=300, deadline=None)
@given(ref=references)
def test_property_relocate_keeps_tag_and_digest(
    rules: RelocationRules, ref: ImageReference
) -> None:
    out = rules.relocate(ref)
    assert out.tag == ref.tag
    assert out.digest == ref.digest


@pytest.mark.parametrize("rules", RULE_SETS)
@settings(max_examples=300, deadline=None)
@given(ref=references)
def test_property_relocate_domain(rules: RelocationRules, ref: ImageReference) -> None:
    out = rules.relocate(ref)
    mapping = winning_mapping(rules, ref)
    if mapping is not None:
        assert under(out.name, mapping.target)
        assert out.name == mapping.target + ref.name[len(mapping.source):]
    elif ref.domain == rules.registry or any(under(ref.name, m.target) for m in rules.mappings):
        assert out == ref  # already relocated
    else:
        assert out.domain == rules.registry
        path = ref.repository.rsplit("/", 1)[-1] if rules.flatten else ref.repository
        assert out.repository == (f"{rules.prefix}/{path}" if rules.prefix else path)


@pytest.mark.parametrize("rules", RULE_SETS)
@settings(max_examples=300, deadline=None)
@given(ref=references)
def test_property_relocated_reference_is_valid(
    rules: RelocationRules, ref: ImageReference
) -> None:
    out = rules.relocate(ref)
    assert parse_reference(str(out)) == out
