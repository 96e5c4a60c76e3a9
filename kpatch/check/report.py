"""The formats of `kpatch check`: text, json, github (workflow annotations)."""

from __future__ import annotations

import json

from kpatch.check.runner import OverlayReport
from kpatch.errors import Location

FORMATS = ("text", "json", "github")


def summary(reports: list[OverlayReport]) -> str:
    findings = sum(len(r.findings) for r in reports)
    errors = sum(1 for r in reports if r.error)
    dirty = sum(1 for r in reports if r.findings)
    if not findings and not errors:
        return f"kpatch check: {len(reports)} overlay(s) clean"
    parts = []
    if findings:
        parts.append(f"{findings} finding(s) in {dirty} of {len(reports)} overlay(s)")
    if errors:
        parts.append(f"{errors} overlay(s) could not be checked")
    return "kpatch check: " + "; ".join(parts)


def render_text(reports: list[OverlayReport], show_diff: bool = True) -> str:
    lines = []
    for report in reports:
        if report.error:
            lines.append(f"{report.output}: error: {report.error}")
        for f in report.findings:
            where = Location(f.file, f.line, f.resource, f.pointer).describe()
            lines.append(f"{where}: [{f.rule}] {f.message}")
            if show_diff and f.detail:
                lines += ["    " + line for line in f.detail.rstrip("\n").splitlines()]
    lines.append(summary(reports))
    return "\n".join(lines) + "\n"


def render_json(reports: list[OverlayReport]) -> str:
    data = {
        "overlays": [{
            "name": r.name, "output": r.output, "clean": r.clean, "cached": r.cached,
            "error": r.error,
            "findings": [f.to_json() for f in r.findings],
        } for r in reports],
        "findings": sum(len(r.findings) for r in reports),
        "errors": sum(1 for r in reports if r.error),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports: list[OverlayReport]) -> str:
    lines = []
    for report in reports:
        if report.error:
            lines.append(f"::error title={_escape_property('kpatch check: ' + report.name)}::"
                         f"{_escape(report.error)}")
        for f in report.findings:
            props = []
            if f.file:
                props.append(f"file={_escape_property(f.file)}")
            if f.line:
                props.append(f"line={f.line}")
            props.append(f"title={_escape_property(f'kpatch check: {f.rule}')}")
            place = " ".join(p for p in (f.resource, f.pointer) if p)
            message = f"{place}: {f.message}" if place else f.message
            if f.detail:
                message += "\n" + f.detail
            lines.append(f"::error {','.join(props)}::{_escape(message)}")
    lines.append(f"::notice title=kpatch check::{_escape(summary(reports))}")
    return "\n".join(lines) + "\n"


def render(reports: list[OverlayReport], fmt: str) -> str:
    if fmt == "json":
        return render_json(reports)
    if fmt == "github":
        return render_github(reports)
    return render_text(reports)
