"""The renderer seam: turning a kustomization directory into a YAML stream.

For now the backends are external programs (``kustomize build``, ``kubectl
kustomize``); a built-in renderer plugs in behind the same interface later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kpatch.errors import KpatchError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_kustomization_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


class Renderer(Protocol):
    """What every backend offers: a name, and a kustomization rendered to a stream.
    (The built-in one also builds resources in process; see render_tree.)"""

    @property
    def name(self) -> str: ...

    def render(self, path: Path) -> str: ...


@dataclass(frozen=True)
class CommandRenderer:
    name: str
    command: tuple[str, ...]

    def render(self, path: Path) -> str:
        import subprocess  # here: most commands never start a renderer

        try:
            done = subprocess.run(
                [*self.command, str(path)], capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise KpatchError(f"cannot run {self.command[0]}: {exc.strerror}",
                              file=str(path)) from None
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
            detail = lines[-1] if lines else f"exit code {done.returncode}"
            if detail.lower().startswith("error: "):
                detail = detail[len("error: "):]
            raise KpatchError(f"{self.name} failed: {detail}", file=str(path))
        return done.stdout


RENDERERS: dict[str, CommandRenderer] = {
    "kustomize": CommandRenderer("kustomize", ("kustomize", "build")),
    "kubectl": CommandRenderer("kubectl", ("kubectl", "kustomize")),
}


RENDERER_CHOICES = ("auto", "builtin", "kustomize", "kubectl")
_RENDERER_WORDS = {"builtin": "the built-in renderer", "kustomize": "kustomize build",
                   "kubectl": "kubectl kustomize"}


def rendered_message(source: str, renderer: str, fallback_reason: str | None = None) -> str:
    """The one wording every command uses on stderr for a rendered tree."""
    # A name may come with a qualifier ("builtin (on the rendered base)"), or be
    # several joined by "+" (the bases of an overlay, rendered apart).
    names, _, qualifier = renderer.partition(" ")
    how = " and ".join(_RENDERER_WORDS.get(name, name) for name in names.split("+"))
    if qualifier:
        how += f" {qualifier}"
    why = f" (the built-in renderer does not support {fallback_reason})" \
        if fallback_reason else ""
    return f"rendered {source} with {how}{why}"


@dataclass
class Rendered:
    """A rendered tree: resources (built in process) or text (from a program)."""

    renderer: str
    resources: list[dict[str, Any]] | None = None
    text: str | None = None
    fallback_reason: str | None = None  # why auto did not use the built-in renderer
    # With track_sources: the documents of the resource files the built-in
    # renderer read, positions kept (see kpatch.sourcemap).
    sources: list[Any] | None = None

    def as_text(self) -> str:
        if self.text is None:
            from kpatch.yamlwrite import dump_stream

            self.text = dump_stream(self.resources or [])
        return self.text


def render_tree(path: Path, name: str = "auto", limits: Any = None,
                track_sources: bool = False, exact_text: bool = False) -> Rendered:
    """Render a kustomization with the named backend. ``auto`` uses the built-in
    renderer when it supports every field of the tree, else the first of
    kustomize and kubectl on PATH (and says why). ``track_sources`` keeps the
    source documents when the built-in renderer runs; ``exact_text`` (for
    `kpatch build`) also leaves to kubectl a tree whose YAML kpatch would read
    differently (see kpatch.yaml12)."""
    from kpatch.kustomize.builtin import BuiltinRenderer, Unsupported
    from kpatch.yamlio import LoadLimits

    if name not in RENDERER_CHOICES:
        raise KpatchError(f"unknown renderer {name!r}; choose {', '.join(RENDERER_CHOICES)}")
    reason = None
    if name in ("auto", "builtin"):
        builtin = BuiltinRenderer(limits or LoadLimits(),
                                  track_sources=track_sources or exact_text)
        try:
            builtin.check(path)
            resources = builtin.build(path)
            if exact_text and name == "auto":
                _check_same_reading(path, builtin.sources)
            return Rendered("builtin", resources=resources,
                            sources=builtin.sources if track_sources else None)
        except Unsupported as exc:
            if name == "builtin":
                raise
            reason = exc.what
        external: Renderer | None = first_external()
        if external is None:
            raise KpatchError(f"the built-in renderer does not support {reason}, and neither "
                              "kustomize nor kubectl is installed", file=str(path))
        return Rendered(external.name, text=external.render(path), fallback_reason=reason)
    chosen: Renderer = find_renderer(name)
    return Rendered(chosen.name, text=chosen.render(path))


def _check_same_reading(root: Path, sources: list[Any]) -> None:
    """Unsupported if a YAML file of the tree holds a plain scalar YAML 1.1 and
    1.2 read differently: every YAML file below the kustomization (patches and
    resources alike; a file the tree does not use only costs a fallback), and
    the resource files it read from elsewhere."""
    from kpatch.kustomize.builtin import Unsupported
    from kpatch.yaml12 import ambiguous_scalars

    texts: dict[str, str] = {}
    for candidate in sorted(root.rglob("*")):
        if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            try:
                texts[str(candidate)] = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    for doc in sources:
        if doc.file and doc.file not in texts:
            texts[doc.file] = doc.source.text
    for file, text in texts.items():
        found = next(ambiguous_scalars(text), None)
        if found is not None:
            raise Unsupported(f"the plain value {found.value!r} at {file}:{found.line}, which "
                              "YAML 1.1 and kustomize's YAML 1.2 read differently (quote it)",
                              Path(file))


def first_external() -> CommandRenderer | None:
    """The first of kustomize and kubectl on PATH."""
    import shutil

    return next((r for r in RENDERERS.values() if shutil.which(r.command[0])), None)


def find_renderer(name: str) -> CommandRenderer:
    """The named external backend, checked to be on PATH."""
    renderer = RENDERERS.get(name)
    import shutil

    if renderer is None:
        raise KpatchError(f"unknown renderer {name!r}; choose {', '.join(RENDERER_CHOICES)}")
    if shutil.which(renderer.command[0]) is None:
        raise KpatchError(f"renderer {name!r} not found: {renderer.command[0]} is not on PATH")
    return renderer
