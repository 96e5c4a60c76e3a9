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
from kpatch.report import FORMATS, render
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
                     type=click.Choice(["auto", "kustomize", "kubectl"]),
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
