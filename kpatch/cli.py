"""Command line: click parsing only. Each command turns options into plain
values, calls the library, prints what it returns, and maps KpatchError to its
exit code with one line on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from kpatch import __version__
from kpatch.errors import ExitCode, KpatchError
from kpatch.inventory import InventoryOptions, find_images
from kpatch.overlay import relocate_to_overlay
from kpatch.relocate import PULL_POLICIES, RelocateOptions
from kpatch.relocation import RelocationRules
from kpatch.render import RENDERER_CHOICES
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
    if inventory.renderer:
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
