"""The renderer seam: turning a kustomization directory into a YAML stream.

For now the backends are external programs (``kustomize build``, ``kubectl
kustomize``); a built-in renderer plugs in behind the same interface later.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kpatch.errors import KpatchError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_kustomization_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


class Renderer(Protocol):
    @property
    def name(self) -> str: ...

    def render(self, path: Path) -> str: ...


@dataclass(frozen=True)
class CommandRenderer:
    name: str
    command: tuple[str, ...]

    def render(self, path: Path) -> str:
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


def find_renderer(name: str = "auto") -> Renderer:
    """The named backend, or with ``auto`` the first external one on PATH."""
    if name != "auto":
        renderer = RENDERERS.get(name)
        if renderer is None:
            raise KpatchError(
                f"unknown renderer {name!r}; choose auto, {', '.join(RENDERERS)}"
            )
        if shutil.which(renderer.command[0]) is None:
            raise KpatchError(f"renderer {name!r} not found: {renderer.command[0]} is not on PATH")
        return renderer
    for renderer in RENDERERS.values():
        if shutil.which(renderer.command[0]) is not None:
            return renderer
    raise KpatchError("no renderer found: install kustomize or kubectl to read kustomizations")
