"""The caches of the built-in profiles (kpatch.datacache): the parsed YAML, used
only for unchanged text and still validated; the checked profiles, equal to freshly
checked ones; neither ever required."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kpatch.datacache import load_derived, parse_files, parser_key
from kpatch.errors import KpatchError
from kpatch.operators import RULE_NAMES
from kpatch.profile import CHECKED_BUILTINS, _read_profile_file, load_profiles
from kpatch.yamlio import load_stream

from .conftest import FIXTURES


class CountingParser:
    """The real YAML parse, counting the files it was asked to parse."""

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def __call__(self, text: str, shown: str) -> Any:
        self.parsed.append(shown)
        return load_stream(text, shown)[0].data


def two_files(tmp_path: Path) -> list[tuple[str, Path]]:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("name: a\nitems: [1, 2]\n", encoding="utf-8")
    second.write_text("name: b\nshared: &x {k: v}\nagain: *x\n", encoding="utf-8")
    return [("a.yaml", first), ("b.yaml", second)]


def test_unchanged_files_are_not_parsed_again(tmp_path: Path) -> None:
    files, cache = two_files(tmp_path), tmp_path / "cache" / "data.marshal"
    parser = CountingParser()
    cold = parse_files(files, parser, cache)
    assert parser.parsed == ["a.yaml", "b.yaml"] and cache.is_file()
    warm = parse_files(files, parser, cache)
    assert parser.parsed == ["a.yaml", "b.yaml"]  # nothing parsed the second time
    assert warm == cold == [("a.yaml", {"name": "a", "items": [1, 2]}),
                            ("b.yaml", {"name": "b", "shared": {"k": "v"}, "again": {"k": "v"}})]
    # An alias stays one object, as the parser made it.
    assert warm[1][1]["shared"] is warm[1][1]["again"]


def test_an_edited_file_is_parsed_again_whatever_its_size_and_time(tmp_path: Path) -> None:
    files, cache = two_files(tmp_path), tmp_path / "data.marshal"
    parser = CountingParser()
    parse_files(files, parser, cache)
    path = files[0][1]
    stat = path.stat()
    path.write_text("name: z\nitems: [1, 2]\n", encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time stamp
    result = parse_files(files, parser, cache)
    assert parser.parsed == ["a.yaml", "b.yaml", "a.yaml"]
    assert result[0] == ("a.yaml", {"name": "z", "items": [1, 2]})
    assert parse_files(files, parser, cache) == result and len(parser.parsed) == 3


@pytest.mark.parametrize("content", [b"", b"not marshal data \x00\xff", marshal.dumps([1, 2]),
                                     marshal.dumps((1, ("another parser",), {}))])
def test_a_corrupt_or_foreign_cache_means_parse(tmp_path: Path, content: bytes) -> None:
    files, cache = two_files(tmp_path), tmp_path / "data.marshal"
    expected = parse_files(files, CountingParser(), tmp_path / "other.marshal")
    cache.write_bytes(content)
    parser = CountingParser()
    assert parse_files(files, parser, cache) == expected
    assert parser.parsed == ["a.yaml", "b.yaml"]
    # ... and the cache is good again afterwards.
    assert parse_files(files, parser, cache) == expected and len(parser.parsed) == 2


def test_a_cache_that_cannot_be_written_is_ignored(tmp_path: Path) -> None:
    files = two_files(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    parser = CountingParser()
    first = parse_files(files, parser, blocker / "cache" / "data.marshal")
    assert parse_files(files, parser, blocker / "cache" / "data.marshal") == first
    assert parser.parsed == ["a.yaml", "b.yaml"] * 2
    assert list(tmp_path.glob("**/*.tmp")) == []


def test_parse_errors_propagate_and_are_not_cached(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n", encoding="utf-8")
    cache = tmp_path / "data.marshal"
    for _ in range(2):
        with pytest.raises(KpatchError, match=r"bad\.yaml:2: .*duplicate key"):
            parse_files([("bad.yaml", bad)], _read_profile_file, cache)


def test_cached_parses_are_still_validated(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed data from the cache goes through the same checks as a fresh parse
    (when the checked profiles are not kept, or a --profile-file is given)."""
    monkeypatch.setenv("KPATCH_CACHE_DIR", str(tmp_path))
    fresh = load_profiles()
    cache = tmp_path / "builtin-profiles.marshal"
    assert load_profiles() == fresh
    form, key, entries = marshal.loads(cache.read_bytes())
    assert key == parser_key()
    text, data = entries["kpatch/profiles/core.yaml"]
    entries["kpatch/profiles/core.yaml"] = (text, {**data, "surprise": 1})
    cache.write_bytes(marshal.dumps((form, key, entries)))
    (tmp_path / f"{CHECKED_BUILTINS}.marshal").unlink()
    with pytest.raises(KpatchError, match=r"core\.yaml: .*unknown key.*surprise"):
        load_profiles()
    with pytest.raises(KpatchError, match=r"core\.yaml: .*unknown key.*surprise"):
        load_profiles(extra_files=["fixtures/profiles/widget-operator.yaml"])


def test_kept_checked_profiles_equal_freshly_checked_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPATCH_CACHE_DIR", str(tmp_path))
    kept = tmp_path / f"{CHECKED_BUILTINS}.marshal"
    for rules in (RULE_NAMES, None):
        fresh = load_profiles(known_rules=rules)
        assert kept.is_file()
        again = load_profiles(known_rules=rules)
        # repr shows every field and every type (a dict is not a mappingproxy).
        assert repr(again) == repr(fresh) and again == fresh
        # The known rules are part of the key: profiles checked without the rule
        # check are never used where it applies.
        key = marshal.loads(kept.read_bytes())[1]
        assert key[2] == (None if rules is None else tuple(sorted(rules)))
        assert load_derived(CHECKED_BUILTINS, key) is not None


@pytest.mark.parametrize("content", [b"garbage", marshal.dumps((1, None, [("x",)]))])
def test_broken_kept_profiles_mean_check_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              content: bytes) -> None:
    monkeypatch.setenv("KPATCH_CACHE_DIR", str(tmp_path))
    fresh = load_profiles(known_rules=RULE_NAMES)
    kept = tmp_path / f"{CHECKED_BUILTINS}.marshal"
    if content.startswith(b"garbage"):
        kept.write_bytes(content)
    else:  # the right key, and something this code never writes under it
        form, key, _ = marshal.loads(kept.read_bytes())
        kept.write_bytes(marshal.dumps((form, key, [("x",)])))
    assert repr(load_profiles(known_rules=RULE_NAMES)) == repr(fresh)
    assert repr(load_profiles(known_rules=RULE_NAMES)) == repr(fresh)


def test_images_prints_the_same_with_a_cold_warm_or_corrupt_cache(tmp_path: Path) -> None:
    manifest = str(FIXTURES / "redis-enterprise" / "bundle.yaml")
    env = {**os.environ, "KPATCH_CACHE_DIR": str(tmp_path)}
    outputs = []
    for step in ("cold", "warm", "corrupt"):
        if step == "corrupt":
            (tmp_path / "builtin-profiles.marshal").write_bytes(b"\x00garbage")
        done = subprocess.run([sys.executable, "-m", "kpatch", "images", "--format", "json",
                               manifest], capture_output=True, text=True, env=env, check=True)
        outputs.append(done.stdout)
        assert (tmp_path / "builtin-profiles.marshal").is_file()
    assert outputs[0] == outputs[1] == outputs[2] and '"redislabs/operator' in outputs[0]


def test_the_cache_folder_follows_xdg_and_ignores_a_relative_one(tmp_path: Path) -> None:
    manifest = str(FIXTURES / "redis-enterprise" / "bundle.yaml")
    base = {k: v for k, v in os.environ.items()
            if k not in ("KPATCH_CACHE_DIR", "XDG_CACHE_HOME")}
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    for xdg, expected in (("relative/cache", home / ".cache" / "kpatch"),
                          (str(tmp_path / "xdg"), tmp_path / "xdg" / "kpatch")):
        env = {**base, "HOME": str(home), "XDG_CACHE_HOME": xdg}
        subprocess.run([sys.executable, "-m", "kpatch", "images", manifest], cwd=work,
                       capture_output=True, env=env, check=True)
        assert sorted(p.name for p in expected.iterdir()) == [
            "builtin-profiles-checked.marshal", "builtin-profiles.marshal"]
    assert list(work.iterdir()) == []  # nothing written relative to the working folder
