"""``kpatch sync`` and ``kpatch init``: overlays regenerated from kpatch.yaml.

Each overlay goes through ``kpatch.overlay.relocate_to_overlay``, the same entry
point as ``kpatch relocate``, so the guarantees are the same: deterministic
files, atomic writes, hand edits refused without ``force``. Nothing here prints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpatch.config import CONFIG_NAME, Config, OverlayConfig, load_config
from kpatch.errors import KpatchError
from kpatch.overlay import RelocateResult, relocate_to_overlay


@dataclass
class SyncOutcome:
    overlay: OverlayConfig
    result: RelocateResult
    warnings: list[str] = field(default_factory=list)


def sync_overlay(overlay: OverlayConfig, *, dry_run: bool = False,
                 force: bool = False) -> SyncOutcome:
    file, line = overlay.where()
    try:
        result = relocate_to_overlay(
            overlay.base_path, overlay.output_path, overlay.relocate_options(),
            overlay.inventory_options(), overlay.command, dry_run=dry_run, force=force)
    except KpatchError as exc:
        if exc.location.file is None:
            # Options from kpatch.yaml (a bad --param, say): point at the overlay entry.
            raise exc.at(file=file, line=line) from None
        raise
    warnings = list(result.plan.warnings)
    warnings += [f"not relocated: {u.resource} {u.path}: {u.reason}"
                 for u in result.plan.unrelocated]
    return SyncOutcome(overlay, result, warnings)


def sync_overlays(config: Config, names: tuple[str, ...], *, dry_run: bool = False,
                  force: bool = False) -> list[SyncOutcome]:
    """Regenerate the named overlays (all when none), in kpatch.yaml's order. Each
    overlay is written whole or not at all; the first failure stops the run."""
    return [sync_overlay(o, dry_run=dry_run, force=force) for o in config.select(names)]


# --- kpatch init ----------------------------------------------------------------------


@dataclass
class InitRequest:
    base: str  # as given on the command line (relative to the working directory)
    output: str
    registry: str
    name: str | None = None
    mappings: tuple[str, ...] = ()
    flatten: bool = False
    pull_secrets: tuple[str, ...] = ()
    pull_policy: str | None = None
    service_accounts: bool = False
    params: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    profile_files: tuple[str, ...] = ()
    renderer: str = "auto"

    def settings(self, root: Path) -> dict[str, Any]:
        """kpatch.yaml keys for the options given (paths relative to ``root``)."""
        out: dict[str, Any] = {"registry": self.registry}
        if self.mappings:
            out["mappings"] = list(self.mappings)
        if self.flatten:
            out["flatten"] = True
        if self.pull_secrets:
            out["pullSecrets"] = list(self.pull_secrets)
        if self.pull_policy:
            out["pullPolicy"] = self.pull_policy
        if self.service_accounts:
            out["serviceAccounts"] = True
        if self.params:
            out["params"] = dict(self.params)
        if self.profiles:
            out["profiles"] = list(self.profiles)
        if self.profile_files:
            out["profileFiles"] = [_relative(p, root) for p in self.profile_files]
        if self.renderer != "auto":
            out["renderer"] = self.renderer
        return out


def _relative(path: str, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


_COMMENTS = {
    "registry": "Target registry HOST[:PORT][/PREFIX]: every image moves under it, keeping "
                "its path, tag and digest.",
    "mappings": "Prefix mappings FROM=TO, longest FROM wins.",
    "flatten": "Keep only the last path component of each image.",
    "pullSecrets": "Pull secret names added to relocated pods (names only: kpatch never "
                   "reads credentials).",
    "pullPolicy": "Pull policy set on relocated containers and operator image specs.",
    "serviceAccounts": "Also add the pull secrets to the ServiceAccounts of relocated pods.",
    "params": "Profile parameters PROFILE.NAME: VALUE.",
    "profiles": "Run only these profiles.",
    "profileFiles": "Profiles of your own operators.",
    "renderer": "How kustomizations are rendered: auto, builtin, kustomize, kubectl.",
}

_HEADER = """\
# kpatch.yaml: how kpatch generates the overlays of this repository, and the
# policy `kpatch check` enforces on them. After editing it, run `kpatch sync`.
# Reference: docs/config.md; JSON Schema: docs/kpatch.schema.json (also shipped in
# the kpatch package as kpatch/schema/kpatch.schema.json).
version: 1
"""

_POLICY_HINTS = """\
# Registries images may be pulled from (default: the target registry and the
# targets of the mappings).
# allowedRegistries: [registry.corp:5000]
# Images allowed to stay where they are (or, with allow: [latest], untagged),
# each with the reason a reviewer will read:
# exceptions:
#   - image: docker.io/library/busybox
#     reason: pulled through the cluster's pull-through cache
"""


def _plain(value: str) -> bool:
    return bool(value) and all(c.isalnum() or c in "._-/:" for c in value) \
        and not value[0].isdigit() and value[0] not in "-:" \
        and value.lower() not in ("true", "false", "null", "yes", "no", "on", "off")


def _flow(value: Any) -> str:
    """A YAML value on one line: plain words where safe, else JSON (which is YAML)."""
    if isinstance(value, str) and _plain(value):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def new_config_text(settings: dict[str, Any], entry: dict[str, Any]) -> str:
    lines = [_HEADER]
    for key, value in settings.items():
        lines.append(f"# {_COMMENTS[key]}\n{key}: {_flow(value)}\n")
    lines.append(_POLICY_HINTS)
    lines.append("# The overlays, each generated from its base into its output folder; an\n"
                 "# overlay may set any of the settings above for itself.\noverlays:\n")
    lines.append(_entry_text(entry))
    return "".join(lines)


def _entry_text(entry: dict[str, Any]) -> str:
    out = []
    for index, (key, value) in enumerate(entry.items()):
        out.append(f"{'  - ' if index == 0 else '    '}{key}: {_flow(value)}\n")
    return "".join(out)


def added_entry_text(text: str, entry: dict[str, Any], file: str) -> str:
    """kpatch.yaml with one more overlay entry, comments and layout kept."""
    import io

    from ruamel.yaml import YAML

    from kpatch.config import parse_config_text

    _, tree = parse_config_text(text, file)
    if not isinstance(tree, dict) or not isinstance(tree.get("overlays"), list):
        raise KpatchError("has no `overlays:` list to add to", file=file)
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    tree["overlays"].append(entry)
    stream = io.StringIO()
    yaml.dump(tree, stream)
    return stream.getvalue()


@dataclass
class InitOutcome:
    config_path: Path
    created: bool
    sync: SyncOutcome


def init_overlay(request: InitRequest, config_file: Path | None, *,
                 force: bool = False) -> InitOutcome:
    """Create kpatch.yaml (or add an overlay to it), then write the overlay. The
    overlay is planned, and checked to be writable, before kpatch.yaml changes."""
    from kpatch.atomicdir import write_file_atomically

    created = config_file is None or not config_file.exists()
    path = config_file or Path(CONFIG_NAME)
    root = path.resolve().parent
    entry: dict[str, Any] = {}
    if request.name:
        entry["name"] = request.name
    entry["base"] = _relative(request.base, root)
    entry["output"] = _relative(request.output, root)
    settings = request.settings(root)
    if created:
        text = new_config_text(settings, entry)
    else:
        current = load_config(path)
        old = path.read_text(encoding="utf-8")
        top = _top_level(old, str(path))
        # Only what differs from the top level goes into the entry; settings not
        # given are inherited from it, like every overlay's.
        for key, value in settings.items():
            if top.get(key) != value:
                entry[key] = value
        text = added_entry_text(old, entry, str(path))
        del current
    config = load_config(path, text)
    overlay = config.overlays[-1]
    planned = sync_overlay(overlay, dry_run=True, force=force)
    if planned.result.plan.unrelocated:
        sync_overlay(overlay, force=force)  # raises, naming what cannot be relocated
    from kpatch.overlay import plan_writes

    plan_writes(planned.result.overlay, Path(overlay.output_path), force)
    write_file_atomically(path, text)
    return InitOutcome(path, created, sync_overlay(overlay, force=force))


def _top_level(text: str, file: str) -> dict[str, Any]:
    from kpatch.config import parse_config_text

    data, _ = parse_config_text(text, file)
    return dict(data) if isinstance(data, dict) else {}
