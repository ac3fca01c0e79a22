"""`mockidm contract --har FILE`: every recorded answer judged, with no server.

Each exchange of the recording whose request is one of the spec's operations is checked as
schemathesis checks a live answer (the status is documented, the content type, the body
against its schema in `contracts/`), and by the kit's shape rules (`shapes.py`): no ETag,
`_rev` a string, a query's six-key envelope, IDM's error envelope, and on 7+ the
`Content-API-Version` echo. A request the spec does not describe is not judged (said so).
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import shapes
from .har import HarEntry, read_har
from .outcome import clip
from .settings import Expectations

JUDGED, CLEAN, NOT_JUDGED = "judged", "ok", "not judged"
SUITE = "mockidm-contract-har"


@dataclass
class Judgement:
    index: int
    entry: HarEntry
    operation: str | None = None  # "POST /openidm/workflow/processinstance", when the spec has it
    problems: list[str] = field(default_factory=list)
    note: str = ""  # why it was not judged

    @property
    def title(self) -> str:
        return f"#{self.index} {self.entry.method} {self.entry.target} -> {self.entry.status}"


class Judge:
    """The spec loaded once (by schemathesis), then one recorded exchange at a time."""

    def __init__(self, expect: Expectations) -> None:
        import schemathesis

        from ..spec_files import spec_path

        self.expect = expect
        self.schema = schemathesis.openapi.from_path(spec_path())

    def judge(self, index: int, entry: HarEntry) -> Judgement:
        judgement = Judgement(index, entry)
        if entry.status == 0:
            judgement.note = "the recording holds no answer"
            return judgement
        operation = self.schema.find_operation_by_path(entry.method, entry.path)
        if operation is None:
            if entry.status >= 400 and entry.path.startswith("/openidm/"):
                # No operation, but still IDM's error, as the kit's rule of that name says.
                problem = shapes.error_envelope(entry.response_json(), entry.status)
                judgement.problems += [f"error-envelope: {problem}"] if problem else []
                return judgement
            judgement.note = "not an operation of the spec"
            return judgement
        judgement.operation = operation.label
        problems = judgement.problems
        documented = operation.definition.raw.get("responses", {})
        if str(entry.status) not in documented and "default" not in documented:
            problems.append(f"spec: status {entry.status} is not one the spec documents for "
                            f"{operation.label} ({', '.join(sorted(documented))})")
        problems += self._schema_failures(operation, entry)
        body = entry.response_json()
        # Each as the kit's rule of that name judges it.
        shaped = [("no-etag", shapes.no_etag(entry.response_header("etag")))]
        if entry.status >= 400:
            shaped.append(("error-envelope", shapes.error_envelope(body, entry.status)))
        else:
            if operation.definition.raw.get("x-crest-operation") == "query" \
                    and entry.status == 200:
                shaped.append(("query-envelope", shapes.query_envelope(body)))
            result = body.get("result") if isinstance(body, dict) else None
            items: list[Any] = result if isinstance(result, list) else [body]
            shaped.append(("rev-is-string", shapes.string_revs(items, required=False)))
            shaped.append(("content-api-version", self._content_api_version(entry)))
        problems += [f"{rule}: {problem}" for rule, problem in shaped if problem is not None]
        return judgement

    def _content_api_version(self, entry: HarEntry) -> shapes.Problem | None:
        """7+ echoes the resource version a client asked for (rule `content-api-version`)."""
        asked = (entry.request_header("accept-api-version") or "").replace(" ", "")
        if not self.expect.resource_versioning or "resource=1.0" not in asked:
            return None
        header = entry.response_header("content-api-version")
        if header is None or "resource=1.0" not in header.replace(" ", ""):
            return shapes.Problem("Content-API-Version: protocol=2.1,resource=1.0",
                                  repr(header))
        return None

    def _schema_failures(self, operation: Any, entry: HarEntry) -> list[str]:
        import requests
        import schemathesis
        from schemathesis.core.failures import Failure, FailureGroup

        headers: dict[str, list[str]] = {}
        for name, value in entry.response_headers:
            headers.setdefault(name.lower(), []).append(value)
        request = requests.Request(entry.method, entry.url,
                                   headers=dict(entry.request_headers),
                                   data=entry.request_body or None).prepare()
        response = schemathesis.Response(entry.status, headers, entry.response_body, request,
                                         entry.seconds, verify=True, message=entry.reason)
        try:
            self.schema.validate_response(operation, response)
        except FailureGroup as group:
            return [_failure(f) for f in group.exceptions if isinstance(f, Failure)]
        except Failure as failure:
            return [_failure(failure)]
        return []


def _failure(failure: Any) -> str:
    lines = [line for line in str(failure.message).splitlines() if line.strip()]
    detail = "; ".join(lines[:2])
    return clip(f"{failure.title}: {detail}", 400)


@dataclass
class Verdict:
    har: str
    profile: str
    judgements: list[Judgement]
    seconds: float

    @property
    def failed(self) -> list[Judgement]:
        return [j for j in self.judgements if j.problems]

    @property
    def ok(self) -> bool:
        return not self.failed


def check(path: str | Path, expect: Expectations) -> Verdict:
    started = time.perf_counter()
    entries = read_har(path)
    judge = Judge(expect)
    judgements = [judge.judge(index, entry) for index, entry in enumerate(entries, 1)]
    return Verdict(str(path), expect.name, judgements, time.perf_counter() - started)


def summary(verdict: Verdict) -> str:
    lines = []
    for judgement in verdict.failed:
        lines += ["", f"FAILED {judgement.title}", *(f"  {p}" for p in judgement.problems)]
    skipped: dict[str, int] = {}
    for judgement in verdict.judgements:
        if judgement.note:
            skipped[judgement.note] = skipped.get(judgement.note, 0) + 1
    if skipped:
        lines += ["", "not judged: " + ", ".join(f"{n} {why}" for why, n in skipped.items())]
    judged = sum(1 for j in verdict.judgements if not j.note)
    lines += ["", f"{len(verdict.judgements)} recorded answers of {verdict.har} (profile "
                  f"{verdict.profile}): {judged - len(verdict.failed)} passed, "
                  f"{len(verdict.failed)} failed, {len(verdict.judgements) - judged} not "
                  f"judged in {verdict.seconds:.2f} s"]
    return "\n".join(lines).lstrip("\n")


def junit_xml(verdict: Verdict) -> str:
    """One testcase per recorded exchange."""
    counts = {"tests": str(len(verdict.judgements)), "failures": str(len(verdict.failed)),
              "errors": "0", "skipped": str(sum(1 for j in verdict.judgements if j.note)),
              "time": f"{verdict.seconds:.3f}"}
    suite = ET.Element("testsuite", {"name": SUITE, **counts,
                                     "timestamp": datetime.now(UTC).isoformat(
                                         timespec="seconds"),
                                     "hostname": socket.gethostname()})
    for judgement in verdict.judgements:
        case = ET.SubElement(suite, "testcase", {"classname": SUITE, "name": judgement.title})
        if judgement.problems:
            failure = ET.SubElement(case, "failure", {"message": judgement.problems[0],
                                                      "type": "failed"})
            failure.text = "\n".join(judgement.problems)
        elif judgement.note:
            ET.SubElement(case, "skipped", {"message": judgement.note})
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
