"""``--pin-digests``: resolve each tag to its digest at the source, so that what
was reviewed is what runs. ``kpatch mirror`` and ``kpatch relocate`` both call
``resolve_digests``; ``kpatch.mirror.plan.pinned`` writes ``tag@digest``.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from kpatch.errors import KpatchError
from kpatch.mirror.execute import Attempts, RunOptions
from kpatch.mirror.skopeo import Skopeo, SkopeoError, SkopeoOptions
from kpatch.reference import ImageReference


def resolve_digests(refs: Iterable[ImageReference], options: SkopeoOptions,
                    run: RunOptions | None = None) -> dict[str, str]:
    """Normalized reference -> digest, for every reference given by tag only.
    All or nothing: one that cannot be resolved fails the whole call."""
    run = run or RunOptions()
    wanted = list({r.normalized: r for r in refs if r.digest is None}.values())
    skopeo = Skopeo(options)

    def resolve(ref: ImageReference) -> tuple[str, str | None, str | None]:
        try:
            digest = Attempts(run).run(
                lambda: skopeo.digest(f"docker://{ref.normalized}", options.src_tls_verify))
        except SkopeoError as error:
            return ref.normalized, None, error.message
        return ref.normalized, digest, None if digest else "not found at the source"

    with ThreadPoolExecutor(max_workers=run.jobs) as pool:
        answers = list(pool.map(resolve, wanted))
    failed = [f"{name}: {why}" for name, _, why in answers if why]
    if failed:
        raise KpatchError(f"--pin-digests: cannot resolve {len(failed)} image(s): "
                          + "; ".join(failed))
    return {name: digest for name, digest, _ in answers if digest}
