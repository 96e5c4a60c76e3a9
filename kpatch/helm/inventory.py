"""Chart values files as inputs of ``kpatch images``: one ImageUse per image the
chart pulls, at its values path."""

from __future__ import annotations

from collections.abc import Sequence

from kpatch.helm.chart import chart_images, is_chart_values, load_chart
from kpatch.model import ImageUse, ResourceId, pointer


def chart_values_uses(paths: Sequence[str]) -> tuple[list[str], list[ImageUse]]:
    """(the paths that are not chart values, the image uses of those that are)."""
    rest: list[str] = []
    uses: list[ImageUse] = []
    for path in paths:
        if not is_chart_values(path):
            rest.append(path)
            continue
        chart = load_chart([path])
        resource = ResourceId("v2", "Chart", None, chart.profile.chart)
        for image in chart_images(chart, chart.defaults):
            derived = image.block.build in ("version-map", "computed") and \
                not image.source.endswith("(bypasses the version lookup)")
            reason = image.reason or (f"derived by the chart from {image.source}"
                                      if derived else None)
            uses.append(ImageUse(
                image=image.image, reference=image.reference, resource=resource,
                path=pointer(image.block.path), file=image.file, line=image.line,
                shape="values", profile=f"helm:{chart.profile.chart}", implicit=derived,
                reason=reason, component=image.block.component, pulled=image.pulled,
                tokens=image.block.path))
    return rest, uses
