"""cass-operator ImageConfig: move the settings that derived images come from.

The locator already finds the images an ImageConfig names; this editor also
moves the settings cass-operator derives server images from, so that images
no manifest names move too:

- v1beta1: ``defaults.<type>.repository`` (and ``imageRegistry`` settings);
  a type in use with no repository gets one (or, when it has a suffix that a
  new repository would switch on, a per-type ``imageRegistry``).
- v1beta2: ``defaults.registry``, ``overrides.registry`` and ``types.<type>``
  (added for a type in use that has none).

The planner checks the outcome by deriving the images again from the edited
document, so an edit that cannot express a mapping is reported, not shipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kpatch.model import text_or_none as _text
from kpatch.reference import parse_reference
from kpatch.relocation import RelocationRules
from kpatch.yamledit import Edit


def relocate_name(rules: RelocationRules, name: str) -> str:
    """Relocate a repository name that has no tag (``docker.io/k8ssandra/x``)."""
    return str(rules.relocate(parse_reference(name)))


def imageconfig_edits(data: dict[str, Any], rules: RelocationRules, types_in_use: Iterable[str],
                      builtin: dict[str, str]) -> list[Edit]:
    if str(data.get("apiVersion", "")).endswith("/v1beta2"):
        return _v1beta2(data, rules, set(types_in_use), builtin)
    return _v1beta1(data, rules, set(types_in_use), builtin)


def _v1beta1(data: dict[str, Any], rules: RelocationRules, in_use: set[str],
             builtin: dict[str, str]) -> list[Edit]:
    edits: list[Edit] = []
    if _text(data.get("imageRegistry")) and data["imageRegistry"] != rules.registry:
        edits.append((("imageRegistry",), rules.registry))
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    assert isinstance(defaults, dict)
    for server_type in sorted(set(builtin) | set(defaults)):
        settings = defaults.get(server_type)
        settings = settings if isinstance(settings, dict) else {}
        if _text(settings.get("imageRegistry")) and settings["imageRegistry"] != rules.registry:
            edits.append((("defaults", server_type, "imageRegistry"), rules.registry))
        repository = _text(settings.get("repository"))
        if repository is not None:
            moved = relocate_name(rules, repository)
            if moved != repository:
                edits.append((("defaults", server_type, "repository"), moved))
        elif server_type in in_use and server_type in builtin:
            if _text(settings.get("suffix")):
                # A repository would switch the suffix on and change the tag.
                edits.append((("defaults", server_type, "imageRegistry"), rules.registry))
            else:
                edits.append((("defaults", server_type, "repository"),
                              relocate_name(rules, builtin[server_type])))
    return edits


def _v1beta2(data: dict[str, Any], rules: RelocationRules, in_use: set[str],
             builtin: dict[str, str]) -> list[Edit]:
    edits: list[Edit] = []
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    overrides = data.get("overrides") if isinstance(data.get("overrides"), dict) else {}
    types = data.get("types") if isinstance(data.get("types"), dict) else {}
    assert isinstance(defaults, dict) and isinstance(overrides, dict) and isinstance(types, dict)
    # Registries before this edit spell where each server image is now; after it,
    # what a type that sets no registry of its own will inherit.
    default_before = default_registry = _text(defaults.get("registry"))
    if default_registry and default_registry != rules.registry:
        edits.append((("defaults", "registry"), rules.registry))
        default_registry = rules.registry
    override_before = override_registry = _text(overrides.get("registry"))
    if override_registry and override_registry != rules.registry:
        edits.append((("overrides", "registry"), rules.registry))
        override_registry = rules.registry
    for server_type in sorted(set(types) | (in_use & set(builtin))):
        entry = types.get(server_type)
        entry = entry if isinstance(entry, dict) else {}
        fallback_repository, _, fallback_name = builtin.get(server_type, "").rpartition("/")
        own_registry = _text(entry.get("registry"))
        registry_before = override_before or own_registry or default_before or "docker.io"
        registry_after = override_registry or own_registry or default_registry or "docker.io"
        repository = (_text(overrides.get("repository")) or _text(entry.get("repository"))
                      or _text(defaults.get("repository")) or fallback_repository)
        name = _text(entry.get("name")) or fallback_name
        if not name:
            continue
        # Where the image is today, moved by the rules: a path prefix or a
        # mapping changes the repository too, not only the registry.
        current = "/".join(p for p in (registry_before, repository, name) if p)
        moved = parse_reference(relocate_name(rules, current))
        path_dir, _, new_name = moved.path.rpartition("/")
        wanted = {"registry": moved.registry, "repository": path_dir, "name": new_name}
        now = {"registry": registry_after, "repository": repository, "name": name}
        for part, value in wanted.items():
            if value and (now[part] != value or server_type not in types):
                edits.append((("types", server_type, part), value))
    return edits
