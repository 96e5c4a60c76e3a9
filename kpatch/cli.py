"""Command line: click parsing only. Each command turns options into plain
values, calls the library, prints what it returns, and maps KpatchError to its
exit code with one line on stderr.

Startup matters (kpatch runs as a pre-commit hook): each command imports the
library modules it uses inside its own function, never at the top of this file
(bench/startup.py measures it).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kpatch import __version__
from kpatch.errors import ExitCode, KpatchError

if TYPE_CHECKING:
    from kpatch.inventory import InventoryOptions

F = TypeVar("F", bound=Callable[..., Any])

# Option choices, spelled here so that parsing needs no library module;
# tests/test_cli_output.py checks them against the modules that own them.
RENDERER_CHOICES = ("auto", "builtin", "kustomize", "kubectl")
IMAGE_FORMATS = ("table", "json", "yaml", "csv")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")
RENDERER_HELP = ("How kustomization directories are rendered: auto uses the built-in "
                 "renderer when it supports the tree, else kustomize or kubectl.")


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
            if exc.detail:
                click.echo(f"kpatch: error: {exc}", err=True)
                for line in exc.detail.splitlines():
                    click.echo(f"    {line}", err=True)
                sys.exit(int(exc.exit_code))
            _fail(str(exc), int(exc.exit_code))
        except (KeyboardInterrupt, BrokenPipeError):
            sys.exit(int(ExitCode.ERROR))
        except RecursionError:
            _fail("input nests too deeply to process (lower KPATCH_MAX_DEPTH, or flatten "
                  "the input)", int(ExitCode.ERROR))
        except OSError as exc:
            # Ordinary failures of the machine (a read-only folder, a full disk).
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}", int(ExitCode.ERROR))
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
                     type=click.Choice(list(RENDERER_CHOICES)), help=RENDERER_HELP),
        click.option("--max-input-bytes", type=int, default=None, metavar="N",
                     help="Refuse inputs larger than N bytes (default 64 MiB)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_options(profiles: tuple[str, ...], profile_files: tuple[str, ...],
                  params: tuple[str, ...], renderer: str,
                  max_input_bytes: int | None) -> InventoryOptions:
    from kpatch.inventory import InventoryOptions
    from kpatch.yamlio import LoadLimits

    return InventoryOptions(
        profiles=profiles,
        profile_files=profile_files,
        params=_params(params),
        renderer=renderer,
        limits=LoadLimits.from_environment(max_input_bytes=max_input_bytes),
    )


def skopeo_options(func: F) -> F:
    """Options of every command that talks to registries through skopeo."""
    options = [
        click.option("--authfile", metavar="FILE", type=click.Path(dir_okay=False),
                     help="Registry credentials (containers-auth.json). Default: skopeo's "
                          "standard auth files."),
        click.option("--no-src-tls-verify", is_flag=True,
                     help="Do not verify TLS of source registries (loopback test registries)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _digest_resolver(authfile: str | None, no_src_tls_verify: bool,
                     ) -> Callable[[list[ImageReference]], Mapping[str, str]]:
    """--pin-digests: resolve tags at the source registries (kpatch.mirror.pin)."""

    def resolve(refs: list[ImageReference]) -> Mapping[str, str]:
        from kpatch.mirror.pin import resolve_digests
        from kpatch.mirror.skopeo import SkopeoOptions

        options = SkopeoOptions(authfile=authfile, src_tls_verify=not no_src_tls_verify)
        return resolve_digests(refs, options)

    return resolve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kpatch")
def main() -> None:
    """Find, relocate and review the container images a Kubernetes install pulls."""
    # A short-lived command: reference counting frees what it drops, and the
    # cyclic collector would only re-walk the manifests it keeps (measured: a
    # fifth of `kpatch images` on 5,000 resources). The library leaves GC alone.
    gc.disable()
    # Documents may nest up to KPATCH_MAX_DEPTH (at most 1,000) levels; walking
    # them recursively needs a few frames per level.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))


def _write_data(text: str) -> None:
    """JSON or YAML to stdout as UTF-8 whatever the locale (RFC 8259 asks for it;
    a Latin-1 terminal would refuse, or have click replace, what orjson writes
    unescaped). They escape control characters, so there is no styling for
    click.echo to strip either: its regular expression over megabytes of JSON
    costs time."""
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    stream.flush()
    if binary is None:
        stream.write(text)  # a text-only stream (io.StringIO)
        stream.flush()
    else:
        binary.write(text.encode("utf-8"))
        binary.flush()


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(IMAGE_FORMATS), default="table",
              show_default=True,
              help="table fits a terminal's width (full values when piped); json, yaml "
                   "and csv carry every field (docs/images-output.md).")
@click.option("--unique", is_flag=True, help="One row per image instead of one per reference.")
@inventory_options
@handle_errors
def images(paths: tuple[str, ...], fmt: str, unique: bool, profiles: tuple[str, ...],
           profile_files: tuple[str, ...], params: tuple[str, ...], renderer: str,
           max_input_bytes: int | None) -> None:
    """List every image the manifests at PATH will make the cluster pull.

    PATH is a file, a directory of manifests, a kustomization directory
    (rendered in process when the built-in renderer supports it, else with
    kustomize build or kubectl kustomize), or - for standard input. All PATHs
    together are one install.
    """
    from kpatch.inventory import find_images
    from kpatch.report import render

    options = build_options(profiles, profile_files, params, renderer, max_input_bytes)
    inventory = find_images(list(paths), options)
    for note in (inventory.renderer_note or "").splitlines():
        click.echo(f"kpatch: {note}", err=True)
    text = render(inventory, fmt, unique, width=_table_width())
    if fmt in ("json", "yaml"):
        _write_data(text)
    else:
        click.echo(text, nl=False)
    for warning in inventory.warnings:
        click.echo(f"kpatch: warning: {warning}", err=True)
    for use in inventory.unresolved:
        click.echo(f"kpatch: warning: {use.resource} {use.path}: {use.reason}", err=True)


# Options that change nothing in the files written (only whether or how they are).
# --authfile is where this machine keeps credentials: never written into files.
_NOT_RECORDED = frozenset({"dry_run", "force", "max_input_bytes", "authfile"})


def _recorded_command() -> str:
    """The command recorded in generated files: every argument and option of this
    run that shapes the output, in the order the command declares them, shell-quoted,
    so that running the recorded line gives byte-identical files."""
    import shlex

    context = click.get_current_context()
    words = ["kpatch", context.info_name or "relocate"]
    for param in context.command.params:
        name = param.name or ""
        value = context.params.get(name)
        if name in _NOT_RECORDED or value is None or value == () or value is False:
            continue
        if isinstance(param, click.Argument):
            words += list(value) if isinstance(value, tuple) else [str(value)]
            continue
        flag = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.is_flag:
            words.append(flag)
        elif isinstance(value, tuple):
            for item in value:
                words += [flag, str(item)]
        elif value != param.default:
            words += [flag, str(value)]
    return shlex.join(words)


@main.command()
@click.argument("base", metavar="BASE")
@click.option("--registry", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its path under it.")
@click.option("--output", "-o", required=True, metavar="DIR",
              help="Overlay directory to write (kustomization.yaml and patch files).")
@click.option("--map", "maps", multiple=True, metavar="FROM=TO",
              help="Prefix mapping, longest FROM wins (repeatable).")
@click.option("--flatten", is_flag=True, help="Keep only the last path component of each image.")
@click.option("--keep-registry-host", is_flag=True,
              help="Put the source registry's host first in each target path "
                   "(quay.io/a/b -> REGISTRY/quay.io/a/b), keeping apart images that "
                   "differ only in their registry.")
@click.option("--pull-secret", "secrets", multiple=True, metavar="NAME",
              help="Pull secret name to reference (repeatable). kpatch never reads credentials.")
@click.option("--pull-policy", "policy", type=click.Choice(PULL_POLICIES), default=None,
              help="Set the pull policy of relocated images.")
@click.option("--service-accounts", is_flag=True,
              help="Also add the pull secrets to the ServiceAccounts of relocated pods.")
@click.option("--dry-run", is_flag=True,
              help="Print each reference, old -> new, and whether the overlay is up to date; "
                   "write nothing.")
@click.option("--force", is_flag=True, help="Overwrite generated files edited by hand.")
@click.option("--allow-unrelocated", is_flag=True,
              help="Write the overlay even if some images cannot be relocated.")
@click.option("--write-base-kustomization", is_flag=True,
              help="For a BASE of plain manifests: write BASE/kustomization.yaml listing them.")
@click.option("--pin-digests", is_flag=True,
              help="Resolve each tag to its digest at the source (skopeo) and write tag@digest.")
@skopeo_options
@inventory_options
@handle_errors
def relocate(base: str, registry: str, output: str, maps: tuple[str, ...], flatten: bool,
             keep_registry_host: bool, secrets: tuple[str, ...], policy: str | None,
             service_accounts: bool,
             dry_run: bool, force: bool, allow_unrelocated: bool,
             write_base_kustomization: bool, pin_digests: bool, authfile: str | None,
             no_src_tls_verify: bool, profiles: tuple[str, ...],
             profile_files: tuple[str, ...], params: tuple[str, ...], renderer: str,
             max_input_bytes: int | None) -> None:
    """Write a kustomize overlay at DIR that moves every image BASE pulls to REGISTRY.

    BASE is a kustomization directory, or a folder of plain manifests (see
    --write-base-kustomization). Each patched resource gets one JSON6902 patch
    file whose `test` operations make a drifted base fail to build.
    """
    from kpatch.overlay import relocate_to_overlay
    from kpatch.relocate import RelocateOptions
    from kpatch.relocation import RelocationRules
    from kpatch.render import rendered_message
    from kpatch.report import plan_table

    rules = RelocationRules.parse(registry, maps, flatten=flatten,
                                  keep_host=keep_registry_host)
    options = RelocateOptions(rules, pull_secrets=secrets, pull_policy=policy,
                              service_accounts=service_accounts)
    inventory = build_options(profiles, profile_files, params, renderer, max_input_bytes)
    command = _recorded_command()
    result = relocate_to_overlay(
        base, output, options, inventory, command, dry_run=dry_run, force=force,
        allow_unrelocated=allow_unrelocated, write_base_kustomization=write_base_kustomization,
        pin_digests=_digest_resolver(authfile, no_src_tls_verify) if pin_digests else None)
    plan = result.plan
    if result.renderer:
        click.echo(f"kpatch: {rendered_message(base, result.renderer)}", err=True)
    for warning in plan.warnings:
        click.echo(f"kpatch: warning: {warning}", err=True)
    for item in plan.unrelocated:
        click.echo(f"kpatch: warning: not relocated: {item.resource} {item.path}: {item.reason}",
                   err=True)
    if dry_run:
        click.echo(plan_table(plan, width=_table_width()), nl=False)
        if result.base_kustomization is not None:
            click.echo(f"\n{base} has no kustomization.yaml: --write-base-kustomization would "
                       f"write {base}/kustomization.yaml:\n{result.base_kustomization}", nl=False)
        from pathlib import Path

        from kpatch.pending import pending_files

        pending = pending_files(result.overlay.files, Path(output))
        if pending:
            click.echo(f"\n{len(pending)} of {len(result.overlay.files)} file(s) in {output} "
                       "would be written or removed (dry run: nothing written)")
        else:
            click.echo(f"\n{output} is up to date: a run would change nothing "
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
              type=click.Choice(list(RENDERER_CHOICES)), help=RENDERER_HELP)
@handle_errors
def build(path: str, renderer: str) -> None:
    """Print the rendered stream of the kustomization at PATH.

    With --renderer auto, the built-in renderer is used when it supports every
    field of the tree, otherwise kustomize or kubectl; stderr says which. The
    built-in renderer prints the bytes kubectl kustomize prints.
    """
    from pathlib import Path

    from kpatch.render import is_kustomization_dir, render_tree, rendered_message
    from kpatch.yamlio import LoadLimits

    if not is_kustomization_dir(Path(path)):
        raise KpatchError("not a kustomization directory", file=path)
    rendered = render_tree(Path(path), renderer, LoadLimits.from_environment(),
                           exact_text=True)
    click.echo(f"kpatch: {rendered_message(path, rendered.renderer, rendered.fallback_reason)}",
               err=True)
    click.echo(rendered.as_text(), nl=False)


DIFF_FORMATS = ("text", "markdown", "json", "github")


def _table_width() -> int | None:
    """Columns to fit tables into: the terminal's width when stdout is one (or
    COLUMNS when set), else None: piped output keeps every value whole."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


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
@click.option("--summary", "summary_only", is_flag=True,
              help="Only which resources changed (and how many images move).")
@click.option("--ignore", "ignore", multiple=True, metavar="POINTER",
              help="Ignore changes at or below this JSON pointer (repeatable), "
                   "e.g. /metadata/annotations or /data/config.yaml#/log.")
@click.option("--show-secrets", is_flag=True, help="Show Secret data instead of masking it.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour text output (auto: on a terminal, unless NO_COLOR).")
@click.option("--renderer", default="auto", show_default=True,
              type=click.Choice(list(RENDERER_CHOICES)), help=RENDERER_HELP)
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
    from kpatch.diff.engine import DiffOptions, diff_documents
    from kpatch.diff.inputs import load_git, load_overlay, load_side
    from kpatch.render import rendered_message
    from kpatch.yamlio import LoadLimits

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
    from kpatch.diff.effects import image_moves

    result = diff_documents(left.documents, right.documents,
                            DiffOptions(show_secrets=show_secrets, ignore=ignore),
                            left.side, right.side)
    moves = image_moves(left.documents, right.documents, result)
    result.image_moves = moves.moves
    if moves.note:
        click.echo(f"kpatch: warning: {moves.note}", err=True)
    for pattern in result.unused_ignores:
        click.echo(f"kpatch: warning: --ignore {pattern} matched no change (a typo? pointers "
                   "look like /metadata/annotations or /data/config.yaml#/log)", err=True)
    for side in (left.side, right.side):
        if side.renderer:
            message = rendered_message(side.source, side.renderer, side.fallback_reason)
            click.echo(f"kpatch: {message}", err=True)
    if fmt == "json":
        from kpatch.diff.report_json import render_json

        text = render_json(result, summary_only)
    elif fmt == "markdown":
        from kpatch.diff.report_markdown import render_markdown

        text = render_markdown(result, summary_only)
    elif fmt == "github":
        from kpatch.diff.report_github import render_github

        text = render_github(result, summary_only)
    else:
        from kpatch.diff.report_text import render_text

        text = render_text(result, color=_use_color(color), summary_only=summary_only)
    # click strips ANSI codes off a non-terminal unless told the colour is wanted.
    click.echo(text, nl=False, color=fmt == "text" and _use_color(color))
    sys.exit(int(ExitCode.DIFFERENCES) if result.has_differences else int(ExitCode.OK))


# --- kpatch values: Helm chart overrides ----------------------------------------------


def _values_command(chart_values: tuple[str, ...], registry: str, maps: tuple[str, ...],
                    flatten: bool, secrets: tuple[str, ...], accounts: tuple[str, ...],
                    existing: str | None, output: str | None) -> str:
    """The command recorded in a new overrides file: canonical, so re-runs are identical."""
    words = ["kpatch values", *chart_values, "--registry", registry]
    for item in maps:
        words += ["--map", item]
    if flatten:
        words.append("--flatten")
    for secret in secrets:
        words += ["--pull-secret", secret]
    for account in accounts:
        words += ["--service-account", account]
    if existing:
        words += ["--values", existing]
    if output:
        words += ["--output", output]
    return " ".join(words)


@main.command("values")
@click.argument("chart_values", nargs=-1, required=True, metavar="CHART_VALUES...")
@click.option("--registry", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its path under it.")
@click.option("--map", "maps", multiple=True, metavar="FROM=TO",
              help="Prefix mapping, longest FROM wins (repeatable).")
@click.option("--flatten", is_flag=True, help="Keep only the last path component of each image.")
@click.option("--pull-secret", "secrets", multiple=True, metavar="NAME",
              help="Pull secret name for the chart's pull-secret keys (repeatable).")
@click.option("--service-account", "accounts", multiple=True, metavar="COMPONENT=NAME",
              help="ServiceAccount name for a component, e.g. cassandra=cassandra (repeatable).")
@click.option("--values", "existing", metavar="EXISTING", type=click.Path(dir_okay=False),
              help="Your values file: edited in place (only image coordinates, pull-secret "
                   "and ServiceAccount keys change), or read and written to --output.")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write here instead of standard output (or instead of EXISTING).")
@click.option("--force", is_flag=True,
              help="Overwrite an --output file kpatch did not write, or that was edited since.")
@handle_errors
def values(chart_values: tuple[str, ...], registry: str, maps: tuple[str, ...], flatten: bool,
           secrets: tuple[str, ...], accounts: tuple[str, ...], existing: str | None,
           output: str | None, force: bool) -> None:
    """Write Helm values that move every image of a chart to REGISTRY.

    CHART_VALUES is the chart's own values.yaml (with its Chart.yaml beside it,
    subcharts are found through it), plus subcharts' values as FILE or SUBCHART=FILE.
    """
    from kpatch.helm.chart import load_chart
    from kpatch.helm.overrides import OverridesOptions, parse_service_accounts, write_values
    from kpatch.relocation import RelocationRules

    rules = RelocationRules.parse(registry, maps, flatten=flatten)
    options = OverridesOptions(rules, pull_secrets=secrets,
                               service_accounts=parse_service_accounts(accounts))
    chart = load_chart(chart_values)
    command = _values_command(chart_values, registry, maps, flatten, secrets, accounts,
                              existing, output)
    result = write_values(chart, options, command, existing=existing, output=output,
                          force=force)
    if result.written is None:
        click.echo(result.text, nl=False)
        return
    moved = len(result.plan.moves)
    click.echo(f"{result.written}: {moved} image block(s) relocated to {rules.target}",
               err=True)


# --- kpatch mirror ------------------------------------------------------------------

MIRROR_FORMATS = ("plan", "json", "docker", "skopeo", "idms")

if TYPE_CHECKING:  # imported for real inside the commands, to keep startup fast
    from kpatch.mirror.execute import CopyTask, RunOptions, TaskResult, VerifyTask
    from kpatch.mirror.skopeo import SkopeoOptions
    from kpatch.reference import ImageReference


@main.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--registry", metavar="HOST[:PORT][/PREFIX]",
              help="Target registry, as for kpatch relocate.")
@click.option("--map", "maps", multiple=True, metavar="FROM=TO",
              help="Prefix mapping, longest FROM wins (repeatable).")
@click.option("--flatten", is_flag=True, help="Keep only the last path component of each image.")
@click.option("--format", "fmt", type=click.Choice(MIRROR_FORMATS), default="plan",
              show_default=True, help="How to print the plan (without --execute/--to-dir...).")
@click.option("--execute", is_flag=True, help="Copy every image with skopeo.")
@click.option("--to-dir", "to_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Pull every image into DIR (one OCI layout each, plus a manifest).")
@click.option("--from-dir", "from_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Push the images held in DIR (written by --to-dir) to the registry.")
@click.option("--verify", is_flag=True,
              help="Check that every destination holds the source digest; exit 1 if not.")
@click.option("--pin-digests", is_flag=True,
              help="Resolve each tag to its digest at the source and use tag@digest.")
@click.option("--jobs", "-j", type=int, default=4, show_default=True,
              help="Images copied in parallel.")
@click.option("--retries", type=int, default=3, show_default=True,
              help="Retries of a transient failure, with exponential backoff.")
@click.option("--retry-delay", type=float, default=1.0, show_default=True, metavar="SECONDS",
              help="Delay before the first retry; doubles for each next one.")
@skopeo_options
@click.option("--no-dest-tls-verify", is_flag=True,
              help="Do not verify TLS of the destination registry.")
@inventory_options
@click.option("--overlay", "overlays", multiple=True, metavar="NAME",
              help="With kpatch.yaml: only these overlays (repeatable). Default: all.")
@click.option("--config", "config_file", metavar="FILE", default=None,
              help="kpatch.yaml to plan from when no PATH is given (default: the nearest "
                   "one in this folder or above).")
@handle_errors
def mirror(paths: tuple[str, ...], registry: str | None, maps: tuple[str, ...], flatten: bool,
           fmt: str, execute: bool, to_dir: str | None, from_dir: str | None, verify: bool,
           pin_digests: bool, jobs: int, retries: int, retry_delay: float,
           authfile: str | None, no_src_tls_verify: bool, no_dest_tls_verify: bool,
           profiles: tuple[str, ...], profile_files: tuple[str, ...], params: tuple[str, ...],
           renderer: str, max_input_bytes: int | None, overlays: tuple[str, ...],
           config_file: str | None) -> None:
    """Copy every image the install at PATH pulls into the private registry.

    \b
    kpatch mirror PATH... --registry R               print the copy plan
    kpatch mirror PATH... --registry R --execute     copy with skopeo
    kpatch mirror PATH... --registry R --verify      check the registry; exit 1 if incomplete
    kpatch mirror PATH... --registry R --to-dir DIR  connected side of an air gap
    kpatch mirror --from-dir DIR [--registry R]      disconnected side: check, then push
    kpatch mirror [--overlay NAME...] [...]          every overlay of kpatch.yaml, its settings
    """
    from pathlib import Path

    from kpatch.mirror import archive, service
    from kpatch.mirror import execute as executor
    from kpatch.mirror.formats import render_plan
    from kpatch.mirror.skopeo import SkopeoOptions
    from kpatch.relocation import RelocationRules

    actions = [name for name, on in (("--execute", execute), ("--to-dir", to_dir is not None),
                                     ("--from-dir", from_dir is not None)) if on]
    if len(actions) > 1:
        raise KpatchError(f"{' and '.join(actions)} cannot be combined")
    if verify and (execute or to_dir is not None):
        raise KpatchError("--verify checks a registry; run it after --execute or --from-dir")
    if from_dir is not None:
        if paths:
            raise KpatchError("--from-dir reads the plan from DIR: give no PATH")
        if pin_digests:
            raise KpatchError("--pin-digests applies when the plan is made (with --to-dir)")
    elif not paths:
        if registry is not None or maps or flatten:
            raise KpatchError("give the install's PATH... (with kpatch.yaml, its overlays' "
                              "settings apply: --registry, --map and --flatten are not used)")
    elif overlays or config_file is not None:
        raise KpatchError("--overlay and --config plan from kpatch.yaml: give no PATH")
    elif registry is None:
        raise KpatchError("--registry is required")
    rules = RelocationRules.parse(registry, maps, flatten=flatten) if registry else None
    skopeo_opts = SkopeoOptions(authfile=authfile, src_tls_verify=not no_src_tls_verify,
                                dest_tls_verify=not no_dest_tls_verify)
    run_opts = executor.RunOptions(jobs=jobs, retries=retries, retry_delay=retry_delay)
    live = execute or to_dir is not None or from_dir is not None or verify

    if from_dir is not None:
        directory = Path(from_dir)
        images = archive.read_manifest(directory)
        if verify:
            _mirror_verify(service.verify_archive_tasks(images, rules), skopeo_opts, run_opts)
            return
        archive.check_archive(directory, images)
        click.echo(f"kpatch: {directory}: {len(images)} image(s), every blob matches its "
                   "digest", err=True)
        tasks = archive.from_dir_tasks(directory, images, rules)
        _mirror_copy(tasks, skopeo_opts, run_opts)
        return

    if paths:
        assert rules is not None
        inventory = build_options(profiles, profile_files, params, renderer, max_input_bytes)
        plan = service.plan_from_inputs(paths, rules, inventory,
                                        skopeo_opts if pin_digests else None, run_opts)
    else:
        from kpatch.config import config_path, load_config

        try:
            found = config_path(config_file)
        except KpatchError as exc:
            raise KpatchError(f"{exc.message}; or give the install's PATH... and --registry",
                              file=exc.location.file) from None
        config = load_config(found)
        plan = service.plan_from_config(config.select(overlays),
                                        skopeo_opts if pin_digests else None, run_opts)
    for missing in plan.unresolved:
        click.echo(f"kpatch: warning: {missing.where}: {missing.reason}", err=True)
    if not live:
        click.echo(render_plan(plan, fmt), nl=False)
        return
    if fmt != "plan":
        raise KpatchError("--format chooses how the plan is printed; it does not combine "
                          "with --execute, --to-dir or --verify")
    if verify:
        _mirror_verify(service.verify_plan_tasks(plan.items), skopeo_opts, run_opts)
        return
    if to_dir is not None:
        directory = Path(to_dir)
        tasks = archive.to_dir_tasks(plan.items, directory)
        results = _mirror_copy(tasks, skopeo_opts, run_opts, exit_on_failure=False)
        written = archive.write_manifest(directory, plan.items, results)
        size = sum(image.size for image in written)
        click.echo(f"kpatch: {directory}: {len(written)} image(s), {size} bytes; "
                   f"manifest {archive.MANIFEST_NAME}", err=True)
        _mirror_exit(results)
        return
    _mirror_copy(service.registry_tasks(plan.items), skopeo_opts, run_opts)


def _mirror_copy(tasks: list[CopyTask], skopeo_opts: SkopeoOptions, run_opts: RunOptions,
                 exit_on_failure: bool = True) -> list[TaskResult]:
    """Preflight, copy with progress on stderr, summary table on stdout."""
    from kpatch.mirror import execute as executor
    from kpatch.mirror import report, service
    from kpatch.mirror.skopeo import Skopeo

    skopeo = Skopeo(skopeo_opts)
    executor.preflight(service.registry_checks(tasks, skopeo_opts), skopeo, run_opts.jobs)
    on_terminal = sys.stderr.isatty()
    finished: list[TaskResult] = []

    def progress(result: TaskResult, done: int, total: int) -> None:
        finished.append(result)
        if on_terminal:
            end = "\n" if done == total else ""
            click.echo(f"\r{report.progress_bar(finished, total)}", err=True, nl=False)
            if end:
                click.echo("", err=True)
        else:
            click.echo(f"kpatch: {report.progress_line(result, done, total)}", err=True)

    results = executor.run_copies(tasks, skopeo, run_opts, progress)
    if results:
        click.echo(report.summary_table(results), nl=False)
    else:
        click.echo("no images to copy")
    if exit_on_failure:
        _mirror_exit(results)
    return results


def _mirror_exit(results: list[TaskResult]) -> None:
    from kpatch.mirror import report

    failed = report.failures(results)
    if failed:
        click.echo(f"kpatch: error: {len(failed)} image(s) failed:", err=True)
        for line in failed:
            click.echo(f"  {line}", err=True)
        sys.exit(int(ExitCode.DIFFERENCES))


def _mirror_verify(tasks: list[VerifyTask], skopeo_opts: SkopeoOptions,
                   run_opts: RunOptions) -> None:
    from kpatch.mirror import execute as executor
    from kpatch.mirror import report
    from kpatch.mirror.skopeo import Skopeo

    results = executor.verify(tasks, Skopeo(skopeo_opts), run_opts)
    click.echo(report.verify_table(results), nl=False)
    problems = report.verify_problems(results)
    if problems:
        click.echo(f"kpatch: error: {len(problems)} image(s) missing from the registry:",
                   err=True)
        for line in problems:
            click.echo(f"  {line}", err=True)
        sys.exit(int(ExitCode.DIFFERENCES))


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
