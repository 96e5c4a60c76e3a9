"""Command line: click parsing only. Each command turns options into plain
values, calls the library, prints what it returns, and maps KpatchError to its
exit code with one line on stderr."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from kpatch import __version__
from kpatch.diff.engine import DiffOptions, diff_documents
from kpatch.diff.inputs import load_git, load_overlay, load_side
from kpatch.diff.report_github import render_github
from kpatch.diff.report_json import render_json
from kpatch.diff.report_markdown import render_markdown
from kpatch.diff.report_text import render_text
from kpatch.errors import ExitCode, KpatchError
from kpatch.inventory import InventoryOptions, find_images
from kpatch.overlay import relocate_to_overlay
from kpatch.relocate import PULL_POLICIES, RelocateOptions
from kpatch.relocation import RelocationRules
from kpatch.render import RENDERER_CHOICES, render_tree
from kpatch.report import FORMATS, plan_table, render
from kpatch.yamlio import LoadLimits

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    click.echo(f"kpatch: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """KpatchError -> one line and its exit code; anything else -> no traceback
    (unless KPATCH_DEBUG is set), exit 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KpatchError as exc:
            _fail(str(exc), int(exc.exit_code))
        except (KeyboardInterrupt, BrokenPipeError):
            sys.exit(int(ExitCode.ERROR))
        except Exception as exc:
            if os.environ.get("KPATCH_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set KPATCH_DEBUG=1 for a "
                  "traceback, and please report it)", int(ExitCode.ERROR))

    return wrapper  # type: ignore[return-value]


def _params(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise KpatchError(f"invalid --param {item!r}: expected PROFILE.NAME=VALUE")
        out[key] = value
    return out


def inventory_options(func: F) -> F:
    """Options shared by every command that reads manifests."""
    options = [
        click.option("--profile", "profiles", multiple=True, metavar="NAME",
                     help="Run only these profiles (repeatable). Default: all."),
        click.option("--profile-file", "profile_files", multiple=True, metavar="FILE",
                     type=click.Path(dir_okay=False),
                     help="Add a profile file of your own (repeatable)."),
        click.option("--param", "params", multiple=True, metavar="PROFILE.NAME=VALUE",
                     help="Set a profile parameter, e.g. redis-enterprise.rsVersion=7.2.4-64."),
        click.option("--renderer", default="auto", show_default=True,
                     type=click.Choice(list(RENDERER_CHOICES)),
                     help="How kustomization directories are rendered."),
        click.option("--max-input-bytes", type=int, default=None, metavar="N",
                     help="Refuse inputs larger than N bytes (default 64 MiB)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_options(profiles: tuple[str, ...], profile_files: tuple[str, ...],
                  params: tuple[str, ...], renderer: str,
                  max_input_bytes: int | None) -> InventoryOptions:
    return InventoryOptions(
        profiles=profiles,
        profile_files=profile_files,
        params=_params(params),
        renderer=renderer,
        limits=LoadLimits.from_environment(max_input_bytes=max_input_bytes),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kpatch")
def main() -> None:
    """Find, relocate and review the container images a Kubernetes install pulls."""
    # A short-lived command: reference counting frees what it drops, and the
    # cyclic collector would only re-walk the manifests it keeps (measured: a
    # fifth of `kpatch images` on 5,000 resources). The library leaves GC alone.
    gc.disable()


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--unique", is_flag=True, help="One row per image instead of one per reference.")
@inventory_options
@handle_errors
def images(paths: tuple[str, ...], fmt: str, unique: bool, profiles: tuple[str, ...],
           profile_files: tuple[str, ...], params: tuple[str, ...], renderer: str,
           max_input_bytes: int | None) -> None:
    """List every image the manifests at PATH will make the cluster pull.

    PATH is a file, a directory of manifests, a kustomization directory
    (rendered with kustomize or kubectl), or - for standard input.
    """
    options = build_options(profiles, profile_files, params, renderer, max_input_bytes)
    inventory = find_images(list(paths), options)
    if inventory.renderer_note:
        click.echo(f"kpatch: {inventory.renderer_note}", err=True)
    elif inventory.renderer:
        click.echo(f"kpatch: rendered with {inventory.renderer}", err=True)
    click.echo(render(inventory, fmt, unique), nl=False)
    for use in inventory.unresolved:
        click.echo(f"kpatch: warning: {use.resource} {use.path}: {use.reason}", err=True)


def _relocate_command(base: str, registry: str, output: str, maps: tuple[str, ...],
                      secrets: tuple[str, ...], policy: str | None, flatten: bool,
                      service_accounts: bool) -> str:
    """The command recorded in generated files: canonical, so re-runs are identical."""
    words = ["kpatch relocate", base, "--registry", registry, "--output", output]
    for item in maps:
        words += ["--map", item]
    for secret in secrets:
        words += ["--pull-secret", secret]
    if policy:
        words += ["--pull-policy", policy]
    if flatten:
        words.append("--flatten")
    if service_accounts:
        words.append("--service-accounts")
    return " ".join(words)


@main.command()
@click.argument("base", metavar="BASE")
@click.option("--registry", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its path under it.")
@click.option("--output", "-o", required=True, metavar="DIR",
              help="Overlay directory to write (kustomization.yaml and patch files).")
@click.option("--map", "maps", multiple=True, metavar="FROM=TO",
              help="Prefix mapping, longest FROM wins (repeatable).")
@click.option("--flatten", is_flag=True, help="Keep only the last path component of each image.")
@click.option("--pull-secret", "secrets", multiple=True, metavar="NAME",
              help="Pull secret name to reference (repeatable). kpatch never reads credentials.")
@click.option("--pull-policy", "policy", type=click.Choice(PULL_POLICIES), default=None)
@click.option("--service-accounts", is_flag=True,
              help="Also add the pull secrets to the ServiceAccounts of relocated pods.")
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite generated files edited by hand.")
@click.option("--allow-unrelocated", is_flag=True,
              help="Write the overlay even if some images cannot be relocated.")
@click.option("--write-base-kustomization", is_flag=True,
              help="For a BASE of plain manifests: write BASE/kustomization.yaml listing them.")
@inventory_options
@handle_errors
def relocate(base: str, registry: str, output: str, maps: tuple[str, ...], flatten: bool,
             secrets: tuple[str, ...], policy: str | None, service_accounts: bool,
             dry_run: bool, force: bool, allow_unrelocated: bool,
             write_base_kustomization: bool, profiles: tuple[str, ...],
             profile_files: tuple[str, ...], params: tuple[str, ...], renderer: str,
             max_input_bytes: int | None) -> None:
    """Write a kustomize overlay at DIR that moves every image BASE pulls to REGISTRY.

    BASE is a kustomization directory, or a folder of plain manifests (see
    --write-base-kustomization). Each patched resource gets one JSON6902 patch
    file whose `test` operations make a drifted base fail to build.
    """
    rules = RelocationRules.parse(registry, maps, flatten=flatten)
    options = RelocateOptions(rules, pull_secrets=secrets, pull_policy=policy,
                              service_accounts=service_accounts)
    inventory = build_options(profiles, profile_files, params, renderer, max_input_bytes)
    command = _relocate_command(base, registry, output, maps, secrets, policy, flatten,
                                service_accounts)
    result = relocate_to_overlay(
        base, output, options, inventory, command, dry_run=dry_run, force=force,
        allow_unrelocated=allow_unrelocated, write_base_kustomization=write_base_kustomization)
    plan = result.plan
    if result.renderer:
        click.echo(f"kpatch: rendered {base} with {result.renderer}", err=True)
    for warning in plan.warnings:
        click.echo(f"kpatch: warning: {warning}", err=True)
    for item in plan.unrelocated:
        click.echo(f"kpatch: warning: not relocated: {item.resource} {item.path}: {item.reason}",
                   err=True)
    if dry_run:
        click.echo(plan_table(plan), nl=False)
        if result.base_kustomization is not None:
            click.echo(f"\n{base} has no kustomization.yaml: --write-base-kustomization would "
                       f"write {base}/kustomization.yaml:\n{result.base_kustomization}", nl=False)
        click.echo(f"\n{len(result.overlay.files)} file(s) would be written to {output} "
                   "(dry run: nothing written)")
        if plan.unrelocated and not allow_unrelocated:
            sys.exit(int(ExitCode.UNRELOCATED))
        return
    if result.base_kustomization is not None:
        click.echo(f"wrote {base}/kustomization.yaml (lists the manifests of the base)")
    moved = len(plan.moves)
    if result.written:
        click.echo(f"{output}: {moved} image reference(s) relocated; wrote "
                   f"{len(result.written)} file(s)")
    else:
        click.echo(f"{output}: up to date ({moved} image reference(s) relocated)")


@main.command()
@click.argument("path", metavar="PATH")
@click.option("--renderer", default="auto", show_default=True,
              type=click.Choice(list(RENDERER_CHOICES)))
@handle_errors
def build(path: str, renderer: str) -> None:
    """Print the rendered stream of the kustomization at PATH.

    With --renderer auto, the built-in renderer is used when it supports every
    field of the tree, otherwise kustomize or kubectl; stderr says which.
    """
    from pathlib import Path

    from kpatch.render import is_kustomization_dir

    if not is_kustomization_dir(Path(path)):
        raise KpatchError("not a kustomization directory", file=path)
    rendered = render_tree(Path(path), renderer, LoadLimits.from_environment())
    why = f" (built-in renderer: {rendered.fallback_reason} unsupported)" \
        if rendered.fallback_reason else ""
    click.echo(f"kpatch: rendered with {rendered.renderer}{why}", err=True)
    click.echo(rendered.as_text(), nl=False)


DIFF_FORMATS = ("text", "markdown", "json", "github")


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


@main.command()
@click.argument("paths", nargs=-1, metavar="[OVERLAY | A B | PATH]")
@click.option("--git", "revision", metavar="REV",
              help="Compare PATH (default .) as committed at REV with the working tree.")
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="text",
              show_default=True)
@click.option("--summary", "summary_only", is_flag=True, help="Only which resources changed.")
@click.option("--ignore", "ignore", multiple=True, metavar="POINTER",
              help="Ignore changes at or below this JSON pointer (repeatable), "
                   "e.g. /metadata/annotations or /data/config.yaml#/log.")
@click.option("--show-secrets", is_flag=True, help="Show Secret data instead of masking it.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour text output (auto: on a terminal, unless NO_COLOR).")
@click.option("--renderer", default="auto", show_default=True,
              type=click.Choice(list(RENDERER_CHOICES)))
@handle_errors
def diff(paths: tuple[str, ...], revision: str | None, fmt: str, summary_only: bool,
         ignore: tuple[str, ...], show_secrets: bool, color: str, renderer: str) -> None:
    """Show what changes, resource by resource and field by field.

    \b
    kpatch diff OVERLAY          the overlay's base against the overlay
    kpatch diff A B              any two inputs (files, folders, kustomizations, -)
    kpatch diff --git REV [PATH] PATH at REV against the working tree

    Exit status: 0 no differences, 1 differences, 2 error.
    """
    limits = LoadLimits.from_environment()
    if revision is not None:
        if len(paths) > 1:
            raise KpatchError("--git takes at most one PATH")
        left, right = load_git(revision, paths[0] if paths else ".", renderer, limits)
    elif len(paths) == 1:
        left, right = load_overlay(paths[0], renderer, limits)
    elif len(paths) == 2:
        if paths == ("-", "-"):
            raise KpatchError("only one side can be read from standard input")
        left = load_side(paths[0], renderer, limits)
        right = load_side(paths[1], renderer, limits)
    else:
        raise KpatchError("give an OVERLAY, two paths A B, or --git REV [PATH]")
    result = diff_documents(left.documents, right.documents,
                            DiffOptions(show_secrets=show_secrets, ignore=ignore),
                            left.side, right.side)
    for side in (left.side, right.side):
        if side.renderer:
            click.echo(f"kpatch: rendered {side.source} with {side.renderer}", err=True)
    if fmt == "json":
        text = render_json(result, summary_only)
    elif fmt == "markdown":
        text = render_markdown(result, summary_only)
    elif fmt == "github":
        text = render_github(result, summary_only)
    else:
        text = render_text(result, color=_use_color(color), summary_only=summary_only)
    # click strips ANSI codes off a non-terminal unless told the colour is wanted.
    click.echo(text, nl=False, color=fmt == "text" and _use_color(color))
    sys.exit(int(ExitCode.DIFFERENCES) if result.has_differences else int(ExitCode.OK))


# --- kpatch.yaml: init, sync, check (the gate) -----------------------------------------

def _config_option(func: F) -> F:
    return click.option(
        "--config", "config_file", metavar="FILE", default=None,
        help="kpatch.yaml to use (default: the nearest one in this folder or above).")(func)


@main.command()
@click.argument("base", metavar="BASE")
@click.option("--registry", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its path under it.")
@click.option("--output", "-o", required=True, metavar="DIR", help="Overlay directory to write.")
@click.option("--name", default=None, help="Overlay name in kpatch.yaml (default: DIR's name).")
@click.option("--map", "maps", multiple=True, metavar="FROM=TO",
              help="Prefix mapping, longest FROM wins (repeatable).")
@click.option("--flatten", is_flag=True, help="Keep only the last path component of each image.")
@click.option("--pull-secret", "secrets", multiple=True, metavar="NAME",
              help="Pull secret name to reference (repeatable).")
@click.option("--pull-policy", "policy", type=click.Choice(PULL_POLICIES), default=None)
@click.option("--service-accounts", is_flag=True,
              help="Also add the pull secrets to the ServiceAccounts of relocated pods.")
@click.option("--force", is_flag=True, help="Overwrite generated files edited by hand.")
@click.option("--profile", "profiles", multiple=True, metavar="NAME")
@click.option("--profile-file", "profile_files", multiple=True, metavar="FILE")
@click.option("--param", "params", multiple=True, metavar="PROFILE.NAME=VALUE")
@click.option("--renderer", default="auto", show_default=True,
              type=click.Choice(list(RENDERER_CHOICES)))
@_config_option
@handle_errors
def init(base: str, registry: str, output: str, name: str | None, maps: tuple[str, ...],
         flatten: bool, secrets: tuple[str, ...], policy: str | None, service_accounts: bool,
         force: bool, profiles: tuple[str, ...], profile_files: tuple[str, ...],
         params: tuple[str, ...], renderer: str, config_file: str | None) -> None:
    """Record an overlay in kpatch.yaml (creating it, commented) and write the overlay.

    Takes the options of `kpatch relocate`. kpatch.yaml is the nearest one in this
    folder or above, or --config FILE; without either, ./kpatch.yaml is created.
    """
    from pathlib import Path

    from kpatch.config import find_config
    from kpatch.sync import InitRequest, init_overlay

    if config_file is not None:
        path: Path | None = Path(config_file)
    else:
        try:
            path = find_config()
        except KpatchError:
            path = None
    request = InitRequest(base=base, output=output, registry=registry, name=name,
                          mappings=maps, flatten=flatten, pull_secrets=secrets,
                          pull_policy=policy, service_accounts=service_accounts,
                          params=_params(params), profiles=profiles,
                          profile_files=profile_files, renderer=renderer)
    outcome = init_overlay(request, path, force=force)
    verb = "created" if outcome.created else "added overlay to"
    click.echo(f"{verb} {outcome.config_path}")
    _echo_sync(outcome.sync)


def _echo_sync(outcome: Any) -> None:
    result = outcome.result
    # Plan notes (an operator restart) matter when files change; an overlay that
    # cannot be fully relocated is worth a warning every time.
    shown = outcome.warnings if result.written else [
        w for w in outcome.warnings if w.startswith("not relocated:")]
    for warning in shown:
        click.echo(f"kpatch: warning: {outcome.overlay.name}: {warning}", err=True)
    moved = len(result.plan.moves)
    if result.written:
        click.echo(f"{outcome.overlay.output_path}: {moved} image reference(s) relocated; "
                   f"wrote {len(result.written)} file(s)")
    else:
        click.echo(f"{outcome.overlay.output_path}: up to date ({moved} image reference(s) "
                   "relocated)")


@main.command()
@click.argument("overlays", nargs=-1, metavar="[OVERLAY...]")
@click.option("--force", is_flag=True, help="Overwrite generated files edited by hand.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@_config_option
@handle_errors
def sync(overlays: tuple[str, ...], force: bool, dry_run: bool,
         config_file: str | None) -> None:
    """Regenerate overlays (all, or the OVERLAYs named) from kpatch.yaml.

    The same guarantees as `kpatch relocate`: identical files on every run,
    atomic writes, and files edited by hand are not overwritten without --force.
    """
    from kpatch.config import config_path, load_config
    from kpatch.sync import sync_overlays

    config = load_config(config_path(config_file))
    if dry_run:
        from pathlib import Path

        from kpatch.overlay import plan_writes

        for outcome in sync_overlays(config, overlays, dry_run=True, force=force):
            writes, removals = plan_writes(outcome.result.overlay,
                                           Path(outcome.overlay.output_path), True)
            click.echo(f"{outcome.overlay.output_path}: would write {len(writes)} and remove "
                       f"{len(removals)} file(s) (dry run)")
        return
    for outcome in sync_overlays(config, overlays, force=force):
        _echo_sync(outcome)


@main.command()
@click.argument("overlays", nargs=-1, metavar="[OVERLAY...]")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True)
@click.option("--jobs", "-j", type=int, default=None, metavar="N",
              help="Overlays checked at once (default: one per CPU).")
@click.option("--rule", "only", multiple=True, metavar="RULE",
              help="Run only this rule (repeatable); default: all.")
@click.option("--no-cache", is_flag=True,
              help="Check every overlay, also those found clean before and unchanged since.")
@_config_option
@handle_errors
def check(overlays: tuple[str, ...], fmt: str, jobs: int | None, only: tuple[str, ...],
          no_cache: bool, config_file: str | None) -> None:
    """Check overlays (all, or the OVERLAYs named) against kpatch.yaml.

    In sync with what `kpatch sync` would write, building with their test
    guards, images only from allowed registries with their tags kept, pull
    secrets where policy needs them, and the operators' release rules.
    Exit status: 0 clean, 1 findings, 2 error.
    """
    from kpatch.check.report import render as render_check
    from kpatch.check.runner import check_overlays
    from kpatch.config import config_path, load_config

    config = load_config(config_path(config_file))
    reports = check_overlays(config.select(overlays), jobs, only, use_cache=not no_cache)
    click.echo(render_check(reports, fmt), nl=False)
    if any(r.error for r in reports):
        sys.exit(int(ExitCode.ERROR))
    sys.exit(int(ExitCode.DIFFERENCES) if any(r.findings for r in reports) else int(ExitCode.OK))
