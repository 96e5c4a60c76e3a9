"""Reading YAML: line numbers, limits, and hostile input."""

from __future__ import annotations

import random
import time
import tracemalloc

import pytest
import yaml

from kpatch.errors import KpatchError
from kpatch.yamlio import LoadLimits, load_stream

STREAM = """\
# leading comment
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers:
    - name: one
      image: busybox:1
    - {name: two, image: "busybox:2"}
---
---
apiVersion: v1
kind: Pod
metadata:
  name: b
"""


def test_documents_lines_and_empty_documents() -> None:
    docs = load_stream(STREAM, "s.yaml")
    assert [d.index for d in docs] == [0, 2]  # the empty document is dropped
    assert [d.line for d in docs] == [2, 12]
    first = docs[0]
    containers = first.data["spec"]["containers"]
    assert first.line_of(containers[0], "image") == 8
    assert first.line_of(containers[1], "image") == 9  # flow mapping: its own line
    assert first.line_of(containers, 1) == 9
    assert first.line_of(first.data, "spec") == 5
    assert first.file == "s.yaml"


def test_line_offset_for_embedded_documents() -> None:
    (doc,) = load_stream("a: 1\nb:\n  c: x\n", "f", line_offset=10)
    assert doc.line == 11
    assert doc.line_of(doc.data["b"], "c") == 13


BOMB = "\n".join(
    ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
       for i in range(8)]
)


def test_alias_bomb_fails_fast_with_bounded_memory() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(KpatchError) as caught:
        load_stream(BOMB, "bomb.yaml")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "alias bomb" in str(caught.value)
    assert str(caught.value).startswith("bomb.yaml:")
    # Generous bounds: the point is "not exponential", not a timing assertion.
    assert peak < 20 * 1024 * 1024
    assert elapsed < 5


def test_aliases_within_the_limit_are_fine() -> None:
    (doc,) = load_stream("base: &b {x: 1}\nuse: *b\n")
    assert doc.data["use"] == {"x": 1}


def test_expansion_limit_is_configurable() -> None:
    text = "a: &a [1, 2, 3, 4]\nb: [*a, *a, *a, *a]\n"
    load_stream(text)
    with pytest.raises(KpatchError, match="more than 10 nodes"):
        load_stream(text, limits=LoadLimits(max_expanded_nodes=10))


def test_size_and_document_limits() -> None:
    with pytest.raises(KpatchError, match="over the limit of 5"):
        load_stream("a: 123456\n", "x", LoadLimits(max_input_bytes=5))
    with pytest.raises(KpatchError, match="more than 2 documents"):
        load_stream("a: 1\n---\nb: 2\n---\nc: 3\n", "x", LoadLimits(max_documents=2))


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPATCH_MAX_DOCUMENTS", "7")
    assert LoadLimits.from_environment().max_documents == 7
    assert LoadLimits.from_environment(max_input_bytes=9).max_input_bytes == 9
    monkeypatch.setenv("KPATCH_MAX_DOCUMENTS", "many")
    with pytest.raises(KpatchError, match="whole number"):
        LoadLimits.from_environment()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: [1, 2\n", 2, "invalid YAML"),
        ("a: 1\n b: 2\n", 2, "invalid YAML"),
        ("key: 'unterminated\n", 2, "invalid YAML"),
        ("a: *undefined\n", 1, "invalid YAML"),
        ("\t- tab\n", 1, "invalid YAML"),
    ],
)
def test_yaml_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(KpatchError) as caught:
        load_stream(text, "f.yaml")
    assert caught.value.location.file == "f.yaml"
    assert caught.value.location.line == line
    assert message in caught.value.message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(KpatchError):
        load_stream("a: " + "[" * 100_000 + "]" * 100_000 + "\n")


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "".join("  " * i + "k:\n" for i in range(2000)) + "  " * 2000 + "v: 1\n",
     "- " * 5000 + "x\n"],
    ids=["flow", "block", "dashes"],
)
def test_hostile_nesting_is_refused_before_libyaml_recurses(text: str) -> None:
    # libyaml's C composer segfaults around 30,000 levels: never get there.
    with pytest.raises(KpatchError, match="nests deeper than 500 levels"):
        load_stream(text, "deep.yaml")


# Documents the one-pass builder hands (in whole or in part) to PyYAML's generic
# constructor, and ones it builds itself: the data must be what PyYAML builds.
_SHAPES = [
    "a: 1\nb: [x, 2, 3.5, true, null, ~, '', \"q\"]\nc: {d: e}\n",
    "k: 2024-01-02\nt: 2001-12-14t21:59:43.10-05:00\nbin: !!binary aGVsbG8=\n",
    "2: one\n2.5: two\ntrue: three\nnull: four\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "seq: !!seq [a, b]\nmap: !!map {a: b}\nstr: !!str 12\nint: !!int '7'\n",
    "? !!str complex\n: value\n",
    "---\n---\nkind: A\n---\n# only a comment\n---\nkind: B\n",
    "nested:\n  - - - deep: [1, {two: 2}]\n",
    "set: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\n",
    "empty_map: {}\nempty_list: []\nnull_value:\n",
    "ints: [0, 7, 10, 012, 0x1F, 0b11, -3, +4, 1_000, 190:20:30, 00, 123456789012345678901]\n",
    "yes: no\nN: 1\n0o17: 0x1f\n1_000: 1:20\n.inf: -.inf\n",
]


@pytest.mark.parametrize("text", _SHAPES)
def test_load_builds_what_pyyaml_builds(text: str) -> None:
    expected = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    assert [d.data for d in load_stream(text)] == expected
    assert [d.data for d in load_stream(text, track=False)] == expected


def test_unhashable_keys_are_refused_as_pyyaml_does() -> None:
    with pytest.raises(yaml.YAMLError, match="unhashable"):
        list(yaml.load_all("? [complex, key]\n: value\n", Loader=yaml.CSafeLoader))
    with pytest.raises(KpatchError, match="unhashable"):
        load_stream("? [complex, key]\n: value\n")


def test_positions_of_every_mapping_and_sequence() -> None:
    text = "a:\n  b:\n    - x\n    - {c: d}\n  e: [1, 2]\nf:\n  <<: {g: 1}\n  h: 2\n"
    doc = load_stream(text)[0]
    data = doc.data
    assert doc.line_of(data) == 1
    assert doc.line_of(data["a"]) == 2
    assert doc.line_of(data["a"]["b"]) == 3
    assert doc.line_of(data["a"]["b"][1]) == 4
    assert doc.line_of(data["a"]["e"]) == 5
    assert doc.line_of(data["f"]) == 7  # built by PyYAML's constructor (merge key)
    assert doc.line_of(data["a"], "e") == 5
    assert data["f"] == {"g": 1, "h": 2}


@pytest.mark.parametrize("text, line", [
    ("a: 1\nb: 2\na: 3\n", 3),
    ("outer:\n  - {x: 1, x: 2}\n", 2),
    ("m:\n  <<: {k: 1}\n  j: 1\n  j: 2\n", 4),
])
def test_duplicate_keys_refused_on_every_path(text: str, line: int) -> None:
    for track in (True, False):
        with pytest.raises(KpatchError, match="duplicate key") as caught:
            load_stream(text, track=track)
        assert caught.value.location.line == line


def test_a_plain_equals_sign_is_a_string_as_kubectl_reads_it() -> None:
    for track in (True, False):
        assert load_stream("x: =\ny: [=]\n", track=track)[0].data == {"x": "=", "y": ["="]}


def test_bracket_depth_matches_a_plain_walk() -> None:
    # The depth bound's C-level computation against the obvious loop: a closing
    # bracket at depth 0 is ignored.
    from kpatch.yamlio import _deepest_bracket_run

    def walked(text: str) -> int:
        depth = deepest = 0
        for char in text:
            if char in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif char in "]}" and depth:
                depth -= 1
        return deepest

    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice("[]{}a") for _ in range(rng.randint(0, 40)))
        assert _deepest_bracket_run(text) == walked(text), text


def _random_tree(rng: random.Random, depth: int) -> object:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(["x", "y z", 1, None, "a: b", "# not a comment"])
    if rng.random() < 0.5:
        return [_random_tree(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    keys = ["image", "name", "spec", "containers", "value", "a b", "true", "y"]
    return {rng.choice(keys) + str(i % 2 or ""): _random_tree(rng, depth - 1)
            for i in range(rng.randint(0, 4))}


def _key_lines(node: yaml.Node, data: object, out: list[tuple[object, str, int]]) -> None:
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            out.append((data, key_node.value, key_node.start_mark.line + 1))
            _key_lines(value_node, data[key_node.value], out)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for item_node, item in zip(node.value, data, strict=True):
            _key_lines(item_node, item, out)


@pytest.mark.parametrize("seed", range(40))
def test_every_key_line_is_where_the_key_is(seed: int) -> None:
    # Lines of mapping keys against the parser's own marks, on random block and
    # flow documents with comments and blank lines between entries.
    rng = random.Random(seed)
    tree = {"root": _random_tree(rng, 5), "tail": _random_tree(rng, 3)}
    text = yaml.safe_dump(tree, default_flow_style=None if seed % 3 else False,
                          sort_keys=False)
    lines = text.split("\n")
    for index in sorted(rng.sample(range(1, len(lines)), min(3, len(lines) - 1)), reverse=True):
        indent = " " * (len(lines[index]) - len(lines[index].lstrip(" ")))
        lines.insert(index, rng.choice(["", f"{indent}# comment", "#", "   "]))
    text = "\n".join(lines)
    doc = load_stream(text)[0]
    expected: list[tuple[object, str, int]] = []
    _key_lines(yaml.compose(text, Loader=yaml.SafeLoader), doc.data, expected)
    for container, key, line in expected:
        assert doc.line_of(container, key) == line, (key, line, text)


def _item_lines(node: yaml.Node, data: object, out: list[tuple[object, int, int]]) -> None:
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            _item_lines(value_node, data[key_node.value], out)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data, strict=True)):
            out.append((data, index, item_node.start_mark.line + 1))
            _item_lines(item_node, item, out)


@pytest.mark.parametrize("seed", range(30))
def test_every_key_and_item_line_in_a_stream_of_documents(seed: int) -> None:
    # Several block documents in one stream (top-level keys repeat in each, so a
    # search must stop at the document's end), with CRLF line ends on some
    # seeds and characters outside ASCII (offsets are counted in characters).
    rng = random.Random(seed)
    texts = []
    for number in range(3):
        tree = {"kind": f"K{number}", "ünï": "€" * rng.randint(0, 3),
                "root": _random_tree(rng, 4)}
        if rng.random() < 0.5:
            tree["tail"] = _random_tree(rng, 2)
        texts.append(yaml.safe_dump(tree, default_flow_style=False, sort_keys=False,
                                    allow_unicode=True))
    text = "---\n".join(texts)
    if seed % 2:
        text = text.replace("\n", "\r\n")
    docs = load_stream(text)
    nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    assert len(docs) == len(nodes)
    for doc, node in zip(docs, nodes, strict=True):
        keys: list[tuple[object, str, int]] = []
        _key_lines(node, doc.data, keys)
        for container, key, line in keys:
            assert doc.line_of(container, key) == line, (key, line, text)
        items: list[tuple[object, int, int]] = []
        _item_lines(node, doc.data, items)
        for container, index, line in items:
            assert doc.line_of(container, index) == line, (index, line, text)


def test_a_key_not_in_a_documents_mapping_is_not_found_in_the_next_document() -> None:
    docs = load_stream("a: 1\n---\nb: 2\n")
    assert docs[0].line_of(docs[0].data, "b") == 1  # the mapping's own line, not 3
