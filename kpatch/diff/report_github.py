"""GitHub Actions workflow commands: annotations for the changed resources.

GitHub shows at most 10 annotations of each level per step and 50 per run, and
drops the rest without a word. So the report annotates at most
``ANNOTATIONS_MAX`` resources (removed ones first: they are warnings), and one
closing notice carries the summary and says how many were not annotated;
every resource, annotated or not, is also listed in the step's log.
"""

from __future__ import annotations

from kpatch.diff.model import DiffResult, ResourceDiff, count
from kpatch.diff.report_text import move_text, moves_heading, render_value

LEVEL = {"changed": "notice", "renamed": "notice", "added": "notice", "removed": "warning"}
# Nine resources and the summary: ten annotations, within one step's limit for
# any mix of levels, leaving most of the run's 50 to other steps.
ANNOTATIONS_MAX = 9
_CHANGES_MAX = 50


def _escape(text: str) -> str:
    # Workflow command data: %, CR and LF must be escaped.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def _body(item: ResourceDiff) -> str:
    body: list[str] = []
    for change in item.changes[:_CHANGES_MAX]:
        if change.kind == "added":
            body.append(f"{change.path}: added {render_value(change.new)}")
        elif change.kind == "removed":
            body.append(f"{change.path}: removed {render_value(change.old)}")
        else:
            body.append(f"{change.path}: {render_value(change.old)} -> "
                        f"{render_value(change.new)}")
    if len(item.changes) > _CHANGES_MAX:
        body.append(f"... and {len(item.changes) - _CHANGES_MAX} more change(s)")
    return "\n".join(body) or item.status


def render_github(result: DiffResult, summary_only: bool = False) -> str:
    annotated = sorted(result.resources, key=lambda r: r.status != "removed")[:ANNOTATIONS_MAX]
    chosen = {id(item) for item in annotated}
    lines = []
    # The log: every resource, one line each (a plain line, not an annotation).
    for item in result.resources:
        lines.append(f"kpatch diff: {item.title} ({item.summary})")
    if result.image_moves:
        lines.append(f"kpatch diff: {moves_heading(result.image_moves)}")
        lines += [f"kpatch diff:   {move.title}: {move_text(move)}"
                  for move in result.image_moves]
    for item in result.resources:
        if id(item) not in chosen:
            continue
        title = f"kpatch diff: {item.title} {item.status}"
        message = item.summary if summary_only else _body(item)
        lines.append(f"::{LEVEL[item.status]} title={_escape_property(title)}::{_escape(message)}")
    summary = result.summary()
    if result.image_moves:
        summary += f"; {count(len(result.image_moves), 'image')} move"
    left_out = len(result.resources) - len(annotated)
    if left_out:
        summary += (f"; {count(left_out, 'more resource')} not annotated (GitHub shows 10 "
                    "annotations per step): see this step's log, or run kpatch diff locally")
    lines.append(f"::notice title=kpatch diff::{_escape(summary)}")
    return "\n".join(lines) + "\n"
