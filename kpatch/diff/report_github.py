"""GitHub Actions workflow commands: one annotation per changed resource."""

from __future__ import annotations

from kpatch.diff.model import DiffResult
from kpatch.diff.report_text import render_value

LEVEL = {"changed": "notice", "renamed": "notice", "added": "notice", "removed": "warning"}


def _escape(text: str) -> str:
    # Workflow command data: %, CR and LF must be escaped.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: DiffResult, summary_only: bool = False) -> str:
    lines = []
    for item in result.resources:
        title = f"kpatch diff: {item.title} {item.status}"
        body: list[str] = []
        if not summary_only:
            for change in item.changes[:50]:
                if change.kind == "added":
                    body.append(f"{change.path}: added {render_value(change.new)}")
                elif change.kind == "removed":
                    body.append(f"{change.path}: removed {render_value(change.old)}")
                else:
                    body.append(f"{change.path}: {render_value(change.old)} -> "
                                f"{render_value(change.new)}")
            if len(item.changes) > 50:
                body.append(f"... and {len(item.changes) - 50} more change(s)")
        message = "\n".join(body) or item.status
        lines.append(f"::{LEVEL[item.status]} title={_escape_property(title)}::{_escape(message)}")
    lines.append(f"::notice title=kpatch diff::{_escape(result.summary())}")
    return "\n".join(lines) + "\n"
