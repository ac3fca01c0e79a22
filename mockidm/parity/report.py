"""A comparison as people read it (progress lines, a summary, an HTML page with the differing
exchanges side by side) and as tools read it (JUnit XML, one testcase per exchange; JSON).

The HTML page is built with the standard library's `html.escape`: one page, one table and a
section per difference, too small to be worth a template engine as a new dependency.
"""

from __future__ import annotations

import html
import json
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from .compare import DIFFERENT, NOT_COMPARABLE, SAME, Comparison, Exchange

SUITE = "mockidm-compare"
_MARK = {SAME: "same", DIFFERENT: "DIFFERENT", NOT_COMPARABLE: "not comparable"}


class Progress:
    """One line per exchange: `[3/12] POST /openidm/workflow/processinstance ... same`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, exchange: Exchange, total: int) -> None:
        entry = exchange.recorded
        line = f"[{exchange.index}/{total}] {entry.method} {entry.target} ... " \
               f"{_MARK[exchange.verdict]}"
        if exchange.verdict == NOT_COMPARABLE:
            line += f" ({exchange.reason})"
        print(line, file=self.stream, flush=True)


def summary(comparison: Comparison) -> str:
    lines: list[str] = []
    for exchange in comparison.exchanges:
        if exchange.verdict == DIFFERENT:
            lines += ["", f"DIFFERENT {exchange.title}"]
            lines += [f"  {difference}" for difference in exchange.differences]
    lines += ["", totals(comparison)]
    return "\n".join(lines)


def totals(comparison: Comparison) -> str:
    return (f"{len(comparison.exchanges)} exchanges of {comparison.har} against the mock "
            f"(profile {comparison.profile}): {comparison.count(SAME)} same, "
            f"{comparison.count(DIFFERENT)} different, {comparison.count(NOT_COMPARABLE)} not "
            f"comparable in {comparison.seconds:.2f} s")


# JSON ------------------------------------------------------------------------------------------

def _body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def to_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "har": comparison.har, "profile": comparison.profile,
        "seconds": round(comparison.seconds, 3),
        "summary": {verdict: comparison.count(verdict)
                    for verdict in (SAME, DIFFERENT, NOT_COMPARABLE)},
        "ids": comparison.ids,
        "exchanges": [{
            "index": e.index, "method": e.recorded.method, "target": e.recorded.target,
            "sent": e.sent, "verdict": e.verdict, "reason": e.reason or None,
            "differences": [{"where": d.where, "at": d.at, "kind": d.kind,
                             "recorded": d.recorded, "mock": d.mock} for d in e.differences],
            "recorded": {"status": e.recorded.status,
                         "headers": e.recorded.response_headers,
                         "body": _body(e.recorded.response_body)},
            "mock": {"status": e.mock_status, "headers": e.mock_headers,
                     "body": _body(e.mock_body)} if e.mock_status else None,
        } for e in comparison.exchanges]}


def write_json(comparison: Comparison, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_json(comparison), indent=2, ensure_ascii=False,
                                     default=str) + "\n", encoding="utf-8")


# JUnit XML -------------------------------------------------------------------------------------

def junit_xml(comparison: Comparison) -> str:
    failures, skipped = comparison.count(DIFFERENT), comparison.count(NOT_COMPARABLE)
    counts = {"tests": str(len(comparison.exchanges)), "failures": str(failures),
              "errors": "0", "skipped": str(skipped), "time": f"{comparison.seconds:.3f}"}
    suite = ET.Element("testsuite", {"name": SUITE, **counts,
                                     "timestamp": datetime.now(UTC).isoformat(
                                         timespec="seconds"),
                                     "hostname": socket.gethostname()})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("har", comparison.har), ("profile", comparison.profile)):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for exchange in comparison.exchanges:
        case = ET.SubElement(suite, "testcase", {
            "classname": SUITE, "name": exchange.title,
            "time": f"{exchange.recorded.seconds:.3f}"})
        if exchange.verdict == DIFFERENT:
            text = "\n".join(str(d) for d in exchange.differences)
            failure = ET.SubElement(case, "failure", {
                "message": str(exchange.differences[0]), "type": "different"})
            failure.text = text
        elif exchange.verdict == NOT_COMPARABLE:
            ET.SubElement(case, "skipped", {"message": exchange.reason})
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(comparison: Comparison, path: str | Path) -> None:
    Path(path).write_text(junit_xml(comparison), encoding="utf-8")


# HTML ------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}
.same{color:#2a7a2a}.different{color:#b00020;font-weight:bold}.not{color:#8a6d00}
pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:.85em}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
section{margin:2em 0;border-top:2px solid #b00020;padding-top:.5em}
"""


def _pretty(body: bytes) -> str:
    value = _body(body)
    return value if isinstance(value, str) else json.dumps(value, indent=2,
                                                           ensure_ascii=False)


def _headers(headers: list[tuple[str, str]]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers)


def html_report(comparison: Comparison) -> str:
    e = html.escape
    rows = []
    for exchange in comparison.exchanges:
        css = {SAME: "same", DIFFERENT: "different", NOT_COMPARABLE: "not"}[exchange.verdict]
        link = (f'<a href="#x{exchange.index}">{e(exchange.verdict)}</a>'
                if exchange.verdict == DIFFERENT else e(exchange.verdict))
        note = e(exchange.reason) if exchange.reason else \
            f"{len(exchange.differences)} difference(s)" if exchange.differences else ""
        rows.append(f"<tr><td>{exchange.index}</td><td>{e(exchange.recorded.method)}</td>"
                    f"<td>{e(exchange.recorded.target)}</td><td>{exchange.recorded.status}</td>"
                    f"<td>{exchange.mock_status or ''}</td><td class={css}>{link}</td>"
                    f"<td>{note}</td></tr>")
    sections = []
    for exchange in comparison.exchanges:
        if exchange.verdict != DIFFERENT:
            continue
        items = "".join(f"<li>{e(str(d))}</li>" for d in exchange.differences)
        sent = (f"<p>replayed as <code>{e(exchange.sent)}</code></p>"
                if exchange.sent != exchange.recorded.target else "")
        sections.append(
            f'<section id="x{exchange.index}"><h2>{e(exchange.title)}</h2>{sent}'
            f"<ul>{items}</ul><div class=side>"
            f"<div><h3>recorded: {exchange.recorded.status}</h3>"
            f"<pre>{e(_headers(exchange.recorded.response_headers))}</pre><hr>"
            f"<pre>{e(_pretty(exchange.recorded.response_body))}</pre></div>"
            f"<div><h3>mock: {exchange.mock_status}</h3>"
            f"<pre>{e(_headers(exchange.mock_headers))}</pre><hr>"
            f"<pre>{e(_pretty(exchange.mock_body))}</pre></div></div></section>")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>mockidm compare: "
            f"{e(comparison.har)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>mockidm compare</h1><p>{e(totals(comparison))}</p>"
            f"<table><tr><th>#</th><th>method</th><th>request</th><th>recorded</th>"
            f"<th>mock</th><th>verdict</th><th></th></tr>{''.join(rows)}</table>"
            f"{''.join(sections)}</body></html>\n")


def write_html(comparison: Comparison, path: str | Path) -> None:
    Path(path).write_text(html_report(comparison), encoding="utf-8")
