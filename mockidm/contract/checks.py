"""The schema-driven rules of the catalogue (`fuzz-*`): schemathesis over `openapi.yaml` against
the target, judged by schemathesis's standard checks and by the checks below, which encode rules
of the catalogue for any generated input (`fuzz.py` is the machinery).

One schemathesis session per target serves every `fuzz-*` rule: a conformance run (every
operation, valid and invalid requests) and, unless read-only, a stateful run along the spec's
OpenAPI links (create -> read / history read / query by business key / delete). Each rule
reports the failures of its own checks, so a fault fails one rule.

Each rule waits for the targeted (example-based) rules whose faults it would report again
(`after`; the runner enforces it). Everything schemathesis creates goes through the target,
whose response hook records it for the checks and the cleanup.

The checks are registered with schemathesis (`schemathesis.check`), which is global: their
names start with `mockidm_` so as not to take a name of yours, and they act only on cases of a
kit run (`fuzz.active`), doing nothing in anyone else's schemathesis run. They read the target
over HTTP only.

schemathesis and hypothesis take a fifth of a second and more to import, which a run of the
example-based rules alone, `--list` or the pytest plugin should not pay: `fuzz.py` (which
imports them) is imported where a check or a rule first needs it, and the checks are
registered with schemathesis when a `fuzz-*` rule first runs (`register_checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from . import shapes
from .outcome import RuleFailed, Skip, clip
from .rules import rule
from .target import Target, json_body

if TYPE_CHECKING:
    from .fuzz import Run

CheckFunction = Callable[[Any, Any, Any], "bool | None"]
PREFIX = "fuzz-"  # the ids of the rules defined here: `--rules 'fuzz-*'`
_INSTALL = "needs schemathesis: pip install 'mockidm[test]'"
# The queries whose items are process instances, with their businessKey (an execution's can be
# null on a real IDM whatever it was queried by).
INSTANCE_QUERIES = ("queryProcessInstances", "queryProcessInstanceHistory")


def _register(check: CheckFunction) -> CheckFunction:
    """`schemathesis.check`. A name taken by another module is an error (schemathesis's): the
    `mockidm_` prefix keeps it from happening."""
    import schemathesis

    schemathesis.check(check)
    return check


_registered = False


def register_checks() -> None:
    """Register the kit's checks with schemathesis, once (ImportError without schemathesis,
    which comes with the `test` extra of mockidm)."""
    global _registered
    if not _registered:
        for check in KIT_CHECKS:
            _register(check)
        _registered = True


def _active(case: Any) -> Run | None:
    """The kit run that generated `case`, if any (a case of yours: None)."""
    from . import fuzz

    return fuzz.active(case)


# Helpers for the checks ---------------------------------------------------------------------

def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def _sent(case: Any) -> dict[str, Any]:
    return case.body if isinstance(case.body, dict) else {}


def _query(case: Any) -> dict[str, Any]:
    return case.query if isinstance(case.query, dict) else {}


def _header(response: Any, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower():
            return values[0] if isinstance(values, list) and values else str(values)
    return None


def _shown(value: Any) -> str:
    return clip(repr(value), 200)


def _is_start(case: Any, response: Any) -> bool:
    from . import fuzz

    return _operation_id(case) in fuzz.CREATES and response.status_code == 201


def _start(case: Any, response: Any) -> tuple[Any, dict[str, Any], Any] | None:
    """(the kit run, the body sent, the processDefinitionId answered) of a 201 start of a kit
    run, else None."""
    run = _active(case)
    if run is None or not _is_start(case, response):
        return None
    answer = json_body(response)
    return run, _sent(case), answer.get("processDefinitionId") if isinstance(answer,
                                                                              dict) else None


def _business_key_query(case: Any) -> str | None:
    """K of a `filtered-query` of process instances by `processInstanceBusinessKey=K` and no
    other filter (the business key alone decides what it answers), else None."""
    from . import fuzz

    query = _query(case)
    wanted = query.get("processInstanceBusinessKey")
    query_id = next((v for k, v in query.items() if k.lower() == "_queryid"), None)
    if _operation_id(case) not in INSTANCE_QUERIES or not isinstance(wanted, str) \
            or str(query_id).lower() != "filtered-query" \
            or not set(query) <= fuzz.BUSINESS_KEY_QUERY:
        return None
    return wanted


def _items(response: Any) -> list[dict[str, Any]] | None:
    answer = json_body(response)
    items = answer.get("result") if isinstance(answer, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None


def _strays(items: list[dict[str, Any]], wanted: str) -> list[tuple[Any, Any]]:
    """(_id, businessKey) of the items whose business key is not `wanted`."""
    return [(item.get("_id"), item.get("businessKey")) for item in items
            if item.get("businessKey") != wanted]


# The checks ---------------------------------------------------------------------------------

def mockidm_latest_version_for_key(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 201 start by `_key` (without `_processDefinitionId`) started the highest version the
    server lists for that key."""
    start = _start(case, response)
    if start is None:
        return None
    run, sent, got = start
    key = sent.get("_key")
    if not isinstance(key, str) or sent.get("_processDefinitionId") is not None:
        return None
    deployed = run.target.versions().get(key)  # listed once per run (the target caches it)
    if not deployed:
        if run.target.process_keys:  # the listing leaves this key out: nothing to compare
            return None
        raise AssertionError(f"a start with _key {key!r} answered 201, but the server lists "
                             "no process definition with that key")
    if len(deployed) > 1:  # only then does "the highest" tell versions apart
        run.judged["latest_version_for_key"] += 1
    latest = deployed[-1]
    if got != latest.id:
        raise AssertionError(
            f"_key {key!r} must start the highest version the server lists: expected "
            f"processDefinitionId {latest.id!r} (version {latest.version} of "
            f"{[d.version for d in deployed]}), got {got!r}; the start's body was "
            f"{_shown(sent)}")
    return None


def mockidm_definition_id_wins(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 201 start with `_processDefinitionId` started exactly that definition, whatever
    `_key` says. Judged (counted) only where `_key` alone would start another definition."""
    start = _start(case, response)
    if start is None:
        return None
    run, sent, got = start
    wanted = sent.get("_processDefinitionId")
    if not isinstance(wanted, str):
        return None
    key = sent.get("_key")
    by_key = run.target.versions().get(key) if isinstance(key, str) else None
    if by_key and by_key[-1].id != wanted:  # `_key` alone would start another definition
        run.judged["definition_id_wins"] += 1
    if got != wanted:
        raise AssertionError(
            f"_processDefinitionId {wanted!r} must win over _key {sent.get('_key')!r}: expected "
            f"processDefinitionId {wanted!r}, got {got!r}; the start's body was {_shown(sent)}")
    return None


def mockidm_business_key_query_only_matches(ctx: Any, response: Any, case: Any) -> bool | None:
    """A filtered-query of process instances by `processInstanceBusinessKey=K` alone answers
    only instances whose businessKey is K. Judged (counted) only when it answered some."""
    run = _active(case)
    if run is None or response.status_code != 200:
        return None
    wanted = _business_key_query(case)
    items = _items(response)
    if wanted is None or not items:
        return None
    run.judged["business_key_query"] += 1
    strays = _strays(items, wanted)
    if strays:
        raise AssertionError(
            f"processInstanceBusinessKey={wanted!r} must answer only instances with that "
            f"businessKey; got {len(strays)} of {len(items)} with another: "
            f"{_shown(strays)} (as (_id, businessKey))")
    return None


def mockidm_business_key_query_finds_start(ctx: Any, response: Any, case: Any) -> bool | None:
    """A running instance started with business key K is found by a filtered-query by
    `processInstanceBusinessKey=K`, among instances with K only: asked right after each 201
    start with a business key, and of every such query the run makes along the links."""
    run = _active(case)
    if run is None:
        return None
    if _is_start(case, response):
        answer = json_body(response)
        wanted = _sent(case).get("_businessKey")
        if not isinstance(wanted, str) or not isinstance(answer, dict) \
                or answer.get("status") == "ended":
            return None
        response = run.target.get("workflow/processinstance", _queryId="filtered-query",
                                  processInstanceBusinessKey=wanted)
        if response.status_code != 200:
            raise AssertionError(f"a query by the business key {wanted!r} of the instance just "
                                 f"started answered {response.status_code}: "
                                 f"{clip(response.text)}; reproduce: "
                                 f"{run.target.curl(response)}")
        items = _items(response)
        where = f"; reproduce: {run.target.curl(response)}"
    elif _operation_id(case) == "queryProcessInstances" and response.status_code == 200:
        wanted = _business_key_query(case)
        items = _items(response)
        where = ""
    else:
        return None
    started = [i for i, s in run.target.created.items() if s.business_key == wanted]
    if wanted is None or items is None or not started:
        return None
    strays = _strays(items, wanted)
    found = {item.get("_id") for item in items}
    missing = [i for i in started if i not in found and run.running(i)]
    if not items and not missing:  # nothing there, and nothing to find: nothing judged
        return None
    run.judged["business_key_query"] += 1
    if missing or strays:
        raise AssertionError(
            f"processInstanceBusinessKey={wanted!r} must list the running instances this run "
            f"started with it, and only instances with it; missing: {missing}, with another "
            f"business key: {_shown(strays)} (as (_id, businessKey)){where}")
    return None


def mockidm_business_key_kept(ctx: Any, response: Any, case: Any) -> bool | None:
    """The business key a start was given comes back: in the 201 answer, when the new instance
    is read right after, and on every read of it (or of its history) along the links. (The
    history is not read here: whether it knows a running instance is fuzz-stateful-links'
    question.)"""
    from . import fuzz

    run = _active(case)
    if run is None:
        return None
    if _is_start(case, response):
        wanted = _sent(case).get("_businessKey")
        answer = json_body(response)
        if not isinstance(wanted, str) or not isinstance(answer, dict):
            return None
        instance = str(answer.get("_id"))
        run.judged["business_key_kept"] += 1
        _same_business_key(wanted, answer, f"the 201 answer to a start with _businessKey "
                                           f"{wanted!r}")
        path = f"workflow/processinstance/{instance}"
        read = run.target.get(path)
        what = f"GET {path}, the instance just started with _businessKey {wanted!r}"
        if read.status_code != 200:
            raise AssertionError(f"{what}: expected 200, got {read.status_code} "
                                 f"{clip(read.text)}; reproduce: {run.target.curl(read)}")
        _same_business_key(wanted, json_body(read),
                           f"{what} (reproduce: {run.target.curl(read)})")
    elif _operation_id(case) in fuzz.READS and response.status_code == 200:
        instance = str((case.path_parameters or {}).get("processInstanceId"))
        started = run.target.created.get(instance)
        wanted = started.business_key if started is not None else None
        if isinstance(wanted, str):
            run.judged["business_key_kept"] += 1
            _same_business_key(wanted, json_body(response), (
                f"{case.method.upper()} {case.formatted_path} (instance {instance!r}, started by "
                f"this run with _businessKey {wanted!r})"))
    return None


def _same_business_key(wanted: str, answer: Any, where: str) -> None:
    got = answer.get("businessKey") if isinstance(answer, dict) else None
    if got != wanted:
        raise AssertionError(f"{where}: expected businessKey {wanted!r}, got {got!r}")


def _shape(problem: shapes.Problem | None, what: str) -> None:
    if problem is not None:
        raise AssertionError(f"{what}: {problem}")


def mockidm_idm_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx/5xx JSON answer is IDM's error envelope (`shapes.error_envelope`)."""
    if _active(case) is None or response.status_code < 400 \
            or "json" not in (_header(response, "Content-Type") or ""):
        return None
    _shape(shapes.error_envelope(json_body(response), response.status_code),
           f"an error answer ({response.status_code})")
    return None


def mockidm_query_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 200 query answers the six-key envelope (`shapes.query_envelope`)."""
    if _active(case) is None or response.status_code != 200 \
            or case.operation.definition.raw.get("x-crest-operation") != "query":
        return None
    _shape(shapes.query_envelope(json_body(response)), "a query's answer")
    return None


def mockidm_no_etag(ctx: Any, response: Any, case: Any) -> bool | None:
    """Workflow answers carry no ETag header (`shapes.no_etag`)."""
    if _active(case) is None:
        return None
    _shape(shapes.no_etag(_header(response, "ETag")), "a workflow answer's headers")
    return None


def mockidm_rev_is_string(ctx: Any, response: Any, case: Any) -> bool | None:
    """`_rev`, where an answered object or an item of a query has one, is a JSON string
    (`shapes.string_revs`)."""
    if _active(case) is None or not 200 <= response.status_code < 300:
        return None
    answer = json_body(response)
    objects = [answer] if isinstance(answer, dict) else []
    if isinstance(answer, dict) and isinstance(answer.get("result"), list):
        objects += answer["result"]
    _shape(shapes.string_revs([o for o in objects if isinstance(o, dict)], required=False),
           "an answer's _rev")
    return None


def mockidm_created_instance_is_reachable(ctx: Any, response: Any, case: Any) -> bool | None:
    """An instance this run created is there: reading it, or its history, answers 200 (IDM
    reads finished instances too), deleting it while it runs 200."""
    from . import fuzz

    run = _active(case)
    op = _operation_id(case)
    if run is None or op not in fuzz.READS + fuzz.DELETES:
        return None
    instance = str((case.path_parameters or {}).get("processInstanceId"))
    started = run.target.created.get(instance)
    if started is None:
        return None
    run.judged["created_instance_is_reachable"] += 1
    if response.status_code == 404 and (op in fuzz.READS or run.running(instance)):
        raise AssertionError(
            f"instance {instance!r}, which this run created (201 "
            f"{_shown(started.answer)}), must be there: {case.method.upper()} "
            f"{case.formatted_path} answered 404")
    return None


# What each check expects, for the failure report: schemathesis's standard checks, and ours.
EXPECTED = {
    "not_a_server_error": "no 5xx that openapi.yaml does not document",
    "status_code_conformance": "a status openapi.yaml documents for the operation",
    "content_type_conformance": "a documented content type",
    "response_headers_conformance": "the headers openapi.yaml requires (Cache-Control...)",
    "response_schema_conformance": "a body that validates against the operation's contract",
    "negative_data_rejection": "a request that breaks the spec is refused (4xx/5xx)",
    "positive_data_acceptance": "a valid request is accepted (2xx, or 404 for an id that "
                                "does not exist)",
    "missing_required_header": "a request without a required header is refused",
    "ignored_auth": "401 or 403 without credentials and with wrong ones",
    "mockidm_latest_version_for_key": "a start by _key alone starts the highest version the "
                                      "server lists for the key",
    "mockidm_definition_id_wins": "a start with _processDefinitionId starts that definition",
    "mockidm_business_key_query_only_matches": "a query by processInstanceBusinessKey answers "
                                               "only instances with that business key",
    "mockidm_business_key_query_finds_start": "a query by processInstanceBusinessKey lists "
                                              "the running instances started with it, and "
                                              "only those",
    "mockidm_business_key_kept": "the business key of a start comes back in its answer and "
                                 "its reads",
    "mockidm_idm_error_envelope": "errors are {code, reason, message[, detail, cause]} with "
                                  "code == the HTTP status",
    "mockidm_query_envelope": "queries answer the six-key envelope, resultCount == "
                              "len(result)",
    "mockidm_no_etag": "no ETag header",
    "mockidm_rev_is_string": "_rev is a JSON string",
    "mockidm_created_instance_is_reachable": "an instance just created can be read, read "
                                             "from the history, and deleted while it runs",
}
# schemathesis's own checks. use_after_free and unsupported_method are off (IDM serves a deleted
# instance from its history, and answers an undeclared method with 501 or 400, never 405).
STANDARD = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "response_schema_conformance",
            "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
            "ignored_auth"]
# Along the links the question is whether the created instance is there (the answers' shapes
# are fuzz-conformance's business). schemathesis's ensure_resource_availability asks it only
# of requests whose every parameter comes from a link, which no IDM operation has (they all
# take _prettyPrint, Accept-API-Version...): created_instance_is_reachable asks it instead.
STATEFUL = ["positive_data_acceptance", "not_a_server_error"]
_SHAPES: list[CheckFunction] = [mockidm_idm_error_envelope, mockidm_query_envelope, mockidm_no_etag,
           mockidm_rev_is_string]
_STARTS: list[CheckFunction] = [mockidm_latest_version_for_key, mockidm_definition_id_wins,
           mockidm_business_key_query_only_matches, mockidm_business_key_query_finds_start,
           mockidm_business_key_kept]
KIT_CHECKS: list[CheckFunction] = [*_SHAPES, *_STARTS, mockidm_created_instance_is_reachable]


def _names(checks: list[CheckFunction]) -> tuple[str, ...]:
    return tuple(check.__name__ for check in checks)


def phase_checks(phase: str) -> list[CheckFunction]:
    """What judges the answers of a run: every check, each rule reading its own failures."""
    if phase == "conformance":
        return [_standard(name) for name in STANDARD] + _SHAPES + _STARTS
    return [_standard(name) for name in STATEFUL] + _STARTS + [
        mockidm_created_instance_is_reachable]


# The rules ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Judges:
    """What a rule reads from the shared session."""

    checks: tuple[str, ...]  # the checks whose failures are this rule's
    phases: tuple[str, ...]  # the runs it needs ("conformance", "stateful")
    evidence: str  # the `judged` counter that says it checked something
    unit: str  # what that counter counts
    nothing: str  # the reason for SKIPPED when it judged nothing


_JUDGES: dict[str, _Judges] = {}


def _judge(t: Target, rule_id: str) -> str:
    judges = _JUDGES[rule_id]
    try:
        from . import fuzz

        register_checks()
    except ImportError:
        raise Skip(f"{rule_id} {_INSTALL}") from None
    run = fuzz.session(t)
    phases = [p for p in judges.phases if p == "conformance" or t.writable]
    for phase in phases:
        run.ensure(phase, phase_checks(phase))
    findings = run.findings_of(judges.checks, phases)
    what = f"schemathesis, {t.max_examples} examples per operation"
    if findings:
        raise RuleFailed(run.report(findings, what, EXPECTED))
    judged = run.judged[judges.evidence]
    if not judged:
        raise Skip(f"{judges.nothing} ({what}: {run.summary(phases)})")
    if judges.evidence == "conformance":  # the session's size is this rule's note
        return f"{what}: {run.summary(phases)}"
    return f"{judged} {judges.unit} judged" + (
        f" ({run.summary(phases)})" if phases == ["stateful"] else "")


def _fuzz_rule(id: str, statement: str, section: str, judges: _Judges, *,
               after: tuple[str, ...], writes: bool = False, needs: str = "") -> None:
    _JUDGES[id] = judges

    def scenario(t: Target) -> str:
        return _judge(t, id)

    # One function per rule, named after it, so that re-importing this module replaces it.
    scenario.__name__ = scenario.__qualname__ = id.replace("-", "_")
    rule(id, statement, section, writes=writes, needs=needs, after=after)(scenario)


# `after`: the targeted rules whose faults a fuzz rule would report again, found by running the
# fuzz rules against every targeted rule's broken server (tests/kit/broken_servers.py). Beyond
# the rule each restates, create-answers-200 and malformed-api-version-ignored fail
# fuzz-conformance too, and business-key-dropped both business-key rules; the other broken
# servers fail no fuzz rule.
_fuzz_rule(
    "fuzz-conformance",
    "Generated requests to every operation, valid and invalid, are answered as openapi.yaml "
    "documents (status, headers, body), with IDM's error envelope, the six-key query "
    "envelope, a string _rev and no ETag.",
    "docs/common-rest.md",
    _Judges(tuple(STANDARD) + _names(_SHAPES), ("conformance",), "conformance", "answers",
            "no generated request was answered"),
    after=("create-response-shape", "malformed-api-version-400", "error-envelope",
           "query-envelope", "rev-is-string", "no-etag"),
    needs="nothing (with definitions deployed, starts are fed real keys and ids)")
_fuzz_rule(
    "fuzz-key-starts-latest",
    "Any generated start by `_key` alone, whatever else its body holds, starts the highest "
    "version the server lists for that key.",
    "docs/process-instances.md#start",
    _Judges(("mockidm_latest_version_for_key",), ("conformance", "stateful"),
            "latest_version_for_key", "starts of a key with several versions",
            "no generated start by _key of a key deployed in two or more versions succeeded"),
    after=("key-starts-latest",), writes=True,
    needs="a process key deployed in two or more versions")
_fuzz_rule(
    "fuzz-definition-id-wins",
    "Any generated start with `_processDefinitionId` starts exactly that definition, "
    "whatever `_key` and the rest of its body say.",
    "docs/process-instances.md#start",
    _Judges(("mockidm_definition_id_wins",), ("conformance", "stateful"),
            "definition_id_wins", "starts by _processDefinitionId with another's _key",
            "no generated start with _processDefinitionId and a _key naming "
            "another definition succeeded (it needs two keys, or two versions of one)"),
    after=("definition-id-wins",), writes=True,
    needs="two deployed keys, or a key in two versions")
_fuzz_rule(
    "fuzz-business-key-query",
    "A filtered-query by any generated `processInstanceBusinessKey=K` answers only instances "
    "whose businessKey is K, and lists the running ones this run started with K.",
    "docs/process-instances.md#query, docs/process-instances.md#history",
    _Judges(("mockidm_business_key_query_only_matches",
             "mockidm_business_key_query_finds_start"),
            ("conformance", "stateful"), "business_key_query", "queries by business key",
            "no query by business key alone answered an instance, or had one to find"),
    after=("business-key-returned", "business-key-query"),
    needs="nothing (read-only: instances on the server, and only that strays are not listed)")
_fuzz_rule(
    "fuzz-business-key-read",
    "Any generated `_businessKey` comes back unchanged: in the 201 answer, and when the new "
    "instance and its history are read.",
    "docs/process-instances.md#start, docs/process-instances.md#read",
    _Judges(("mockidm_business_key_kept",), ("conformance", "stateful"), "business_key_kept",
            "answers about a start with a business key",
            "no generated start with a _businessKey succeeded"),
    after=("business-key-returned",), writes=True, needs="one deployed definition")
_fuzz_rule(
    "fuzz-stateful-links",
    "Along the spec's OpenAPI links, an instance just created can be read, read from the "
    "history and deleted, and valid requests along the way succeed.",
    "docs/process-instances.md",
    _Judges((*STATEFUL, "mockidm_created_instance_is_reachable"), ("stateful",),
            "created_instance_is_reachable", "calls along links",
            "no link was followed (no create succeeded)"),
    after=(), writes=True, needs="one deployed definition")


def _standard(name: str) -> CheckFunction:
    """One of schemathesis's own checks (all take the same three arguments as ours)."""
    from schemathesis.checks import CHECKS

    return cast(CheckFunction, CHECKS.get_one(name))
