"""Hypothesis strategies for image-reference parts, shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
SEPARATORS = (".", "_", "__", "-", "--")
# Without a registry, a first component with "." would be read as a registry host.
SEPARATORS_NO_DOT = tuple(s for s in SEPARATORS if s != ".")


@st.composite
def path_components(draw: st.DrawFn, separators: tuple[str, ...] = SEPARATORS) -> str:
    chunks = draw(st.lists(st.text(ALNUM, min_size=1, max_size=6), min_size=1, max_size=3))
    text = chunks[0]
    for chunk in chunks[1:]:
        text += draw(st.sampled_from(separators)) + chunk
    return text


tags = st.builds(
    lambda first, rest: first + rest,
    st.text(WORD, min_size=1, max_size=1),
    st.text(WORD + ".-", max_size=20),
)
digests = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}")


def format_reference(registry: str | None, path: str, tag: str | None,
                     digest: str | None) -> str:
    """The written form of a reference from its parts (what the strategies build)."""
    text = f"{registry}/{path}" if registry else path
    if tag is not None:
        text += f":{tag}"
    if digest is not None:
        text += f"@{digest}"
    return text
