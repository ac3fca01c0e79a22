"""A run's report as people read it (a table and the failures) and as CI reads it (JUnit XML)."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from .outcome import ERROR, FAILED, PASSED, SKIPPED, Result
from .rules import RULES
from .runner import Report

SUITE = "mockidm-contract"


def summary(report: Report) -> str:
    lines: list[str] = []
    width = max([len(r.rule_id) for r in report.results] + [4])
    lines.append(f"{'rule':<{width}}  {'result':<7}  {'time':>7}  section")
    for result in report.results:
        section = RULES[result.rule_id].section if result.rule_id in RULES else ""
        lines.append(f"{result.rule_id:<{width}}  {result.status:<7}  "
                     f"{result.seconds:>5.2f} s  {section}")
    for title, status in (("FAILED", FAILED), ("ERROR", ERROR), ("skipped", SKIPPED)):
        for result in (r for r in report.results if r.status == status):
            lines += ["", f"{title} {result.rule_id}: {_statement(result)}",
                      *_indent(result.message)]
    notes = [r for r in report.results if r.status == PASSED and r.message]
    if notes:
        lines += ["", "notes:", *(f"  {r.rule_id}: {r.message}" for r in notes)]
    lines += ["", _totals(report), _cleanup_line(report)]
    lines += [f"  could not clean instance {instance}: {why}"
              for instance, why in report.cleanup.leftovers]
    return "\n".join(lines)


def _statement(result: Result) -> str:
    rule = RULES.get(result.rule_id)
    return rule.statement if rule else ""


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()]


def _totals(report: Report) -> str:
    mode = ", read-only" if report.read_only else ""
    return (f"{len(report.results)} rules against {report.url} (profile {report.profile}"
            f"{mode}, run {report.run_id}): {report.count(PASSED)} passed, "
            f"{report.count(FAILED)} failed, {report.count(SKIPPED)} skipped, "
            f"{report.count(ERROR)} errors in {report.seconds:.2f} s")


def _cleanup_line(report: Report) -> str:
    c = report.cleanup
    return (f"cleanup: {c.created} instances started, {len(c.deleted)} deleted, "
            f"{len(c.ended)} ended on their own (kept in history), "
            f"{len(c.leftovers)} could not be cleaned")


def junit_xml(report: Report) -> str:
    """One testsuite, one testcase per rule: `failure`, `error` or `skipped` inside."""
    suite = ET.Element("testsuite", {
        "name": SUITE, "tests": str(len(report.results)),
        "failures": str(report.count(FAILED)), "errors": str(report.count(ERROR)),
        "skipped": str(report.count(SKIPPED)), "time": f"{report.seconds:.3f}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname()})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("url", report.url), ("profile", report.profile),
                        ("read_only", str(report.read_only).lower()),
                        ("run_id", report.run_id)):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for result in report.results:
        case = ET.SubElement(suite, "testcase", {
            "classname": SUITE, "name": result.rule_id, "time": f"{result.seconds:.3f}"})
        rule = RULES.get(result.rule_id)
        if rule is not None:
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", {"name": "statement", "value": rule.statement})
            ET.SubElement(props, "property", {"name": "section", "value": rule.section})
        first = result.message.splitlines()[0] if result.message else ""
        if result.status in (FAILED, ERROR):
            element = ET.SubElement(case, "failure" if result.status == FAILED else "error",
                                    {"message": first, "type": result.status})
            element.text = result.message
        elif result.status == SKIPPED:
            ET.SubElement(case, "skipped", {"message": first}).text = result.message
        elif result.message:
            ET.SubElement(case, "system-out").text = result.message
    ET.SubElement(suite, "system-out").text = _cleanup_line(report)
    if report.cleanup.leftovers:
        ET.SubElement(suite, "system-err").text = "\n".join(
            f"could not clean instance {i}: {why}" for i, why in report.cleanup.leftovers)
    root = ET.Element("testsuites", {
        "name": SUITE, "tests": suite.get("tests", "0"), "failures": suite.get("failures", "0"),
        "errors": suite.get("errors", "0"), "skipped": suite.get("skipped", "0"),
        "time": suite.get("time", "0")})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit_xml(report: Report, path: str | Path) -> None:
    Path(path).write_text(junit_xml(report), encoding="utf-8")
