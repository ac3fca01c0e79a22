"""schemathesis over `openapi.yaml` against a `Target`, for the schema-driven rules in
`checks.py`: generated requests (valid and invalid) to every operation, and stateful runs along
the spec's OpenAPI links.

Every request goes out through the target, so the read-only guard, the credentials and the
record of created instances (`Target.created`, kept by the target's response hook; deleted at
the end of the run) apply as for the scenarios. (The one exception, the probes schemathesis's
ignored_auth check sends without credentials, is kept to reads.) Writes act only on instances
the run started. Nothing here knows the mock: the data the generators need (definition keys and
ids, a task definition) is read from the server over HTTP.

What any schemathesis run against IDM's API needs, whoever runs it, is public here:
`DOCUMENTED_STATUSES`, `schemathesis_config` and `make_valid` (the project's own
tests/contract/test_schemathesis.py can use them too).

Needs schemathesis (the `test` extra of mockidm); `checks.py` imports it only where installed.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, Verbosity
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, CheckFunction
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import BaseSchema

from ..spec_files import contracts_dir, spec_path
from .outcome import clip
from .target import RUN_VARIABLE, Definition, Target, json_body

SPEC_CONTEXT = "/openidm"  # the context path the spec's paths are written with
# Every workflow operation documents 500 (IDM's engine failures) and some document 501; and
# every one the size and time limits in front of IDM (a generator may well write a query
# string over 8 KiB). The documented 503 (the mock stopping mid-request) is left out: in a
# run, it is a failure.
LIMIT_STATUSES = ["408", "413", "414", "431"]
DOCUMENTED_STATUSES = ["200", "201", "400", "401", "403", "404", "409", "412", "500", "501",
                       *LIMIT_STATUSES]
CREATES = ("createProcessInstance", "createProcessInstanceHistory")
READS = ("readProcessInstance", "readProcessInstanceHistory")
DELETES = ("deleteProcessInstance", "deleteProcessInstanceHistory")
# A query by business key keeps only these parameters (valid requests), so that the business
# key alone decides what it answers: the property the business-key checks judge.
BUSINESS_KEY_QUERY = {"_queryId", "processInstanceBusinessKey", "_prettyPrint",
                      "_totalPagedResultsPolicy"}
# What the links of a create lead to (openapi.yaml, createProcessInstance 201 `links`).
LINKED = ("createProcessInstance", "readProcessInstance", "readProcessInstanceHistory",
          "queryProcessInstances", "deleteProcessInstance")
# The query id a valid query of these operations uses; the others take filtered-query.
QUERY_IDS = {"queryTaskDefinitions": "query-all-ids", "getTasksView": "gettasksview"}
# A sort key each of these queries accepts (docs/process-instances.md, task-instances.md;
# others give 500 or 501).
SORT_KEYS = {"queryProcessInstances": "-startTime", "queryProcessInstanceHistory": "endTime",
             "queryTaskInstances": "-createTime", "queryTaskInstanceHistory": "taskName"}
CONFORMANCE, STATEFUL = "conformance", "stateful"  # the two runs of a session
STARTS_WEIGHT = 3  # valid starts per example of the other operations, in the conformance run
STEPS = 5  # calls per stateful scenario: create, then up to four along its links
MAX_REPORTED = 8  # kinds of failure written out in full
_GENERIC = "the answer openapi.yaml documents for this request"


def schemathesis_config(max_examples: int) -> dict[str, Any]:
    """schemathesis's configuration (`schemathesis.Config.from_dict`) for IDM's workflow API:
    valid requests must succeed, a `$ref` that does not resolve fails, and the standard checks
    are told where IDM differs from what they assume."""
    return {
        "generation": {"max-examples": max_examples, "allow-extra-parameters": False},
        "warnings": {"fail-on": ["unresolvable_reference", "missing_auth"]},
        "checks": {
            # A valid request must succeed; 404 for the random ids a generator invents.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404"]},
            "not_a_server_error": {"expected-statuses": DOCUMENTED_STATUSES},
            # schemathesis' default list, and the limits: an invalid request may be too big too.
            "negative_data_rejection": {"expected-statuses": [
                "400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429",
                "5xx", *LIMIT_STATUSES]},
            # IDM answers an undeclared method with 501 or 400, never 405 (docs/common-rest.md).
            "unsupported_method": {"enabled": False},
            # IDM reads a deleted instance from its history: still 200 after DELETE (5.5).
            "use_after_free": {"enabled": False},
        },
        "operations": [
            # IDM routes this read but refuses it: 501 is the only answer to a valid request.
            {"include-operation-id": "readTaskInstanceHistory",
             "checks": {"positive_data_acceptance": {"expected-statuses": ["501"]}}},
            # mockidm answers 501 to an execution variable filter it cannot emulate (a value
            # type other than string, a value or operator without its name).
            {"include-operation-id": "queryExecutions",
             "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404",
                                                                           "501"]}}},
            # Every task belongs to a process, and IDM refuses to delete those (500).
            {"include-operation-id": "deleteTaskInstance",
             "checks": {"positive_data_acceptance": {"expected-statuses": ["404", "500"]}}},
        ],
    }


def _config(target: Target, origin: str) -> dict[str, Any]:
    config = schemathesis_config(target.max_examples)
    # No NUL in any generated string: a real server may store it, or choke on it.
    config["generation"]["allow-x00"] = False
    return {
        **config,
        "base-url": origin,
        "request-timeout": target.timeout,
        # Along the links: valid requests only, and only the links openapi.yaml declares.
        "phases": {"stateful": {"generation": {"mode": "positive"},
                                "inference": {"algorithms": []}}},
        "auth": {"openapi": {"bearerToken": {"bearer": target.token}}
                 if target.token is not None else
                 {"idmUsername": {"api_key": target.user},
                  "idmPassword": {"api_key": target.password}}},
    }


def make_valid(case: Any, *, user: str, definition_id: str | None = None,
               task_definition_id: str | None = None, start: Mapping[str, Any] | None = None,
               signal_name: str = "mockidm-nobody-waits-for-this") -> None:
    """Fit a case schemathesis generated to IDM, in place. Every case loses `_fields` and
    `_mimeType` (they make answers partial, which the full-object contracts do not describe).
    A valid one (positive, or an explicit example) is made valid for IDM's rules across
    parameters too, which openapi.yaml cannot express: one query id and a sort key the
    endpoint takes, `If-Match` on a task update, a claim by `user`, a signal named
    `signal_name`, the path ids of a deployed definition (`definition_id`, and one of its
    task definitions, `task_definition_id`), and a start naming what `start` names (`_key`
    and/or `_processDefinitionId`)."""
    op = case.operation.definition.raw["operationId"]
    query = case.query if isinstance(case.query, dict) else {}
    for name in ("_fields", "_mimeType"):
        query.pop(name, None)
    case.query = query
    if negative(case):
        return
    headers = case.headers if isinstance(case.headers, dict) else {}
    headers.pop("Accept-API-Version", None)  # a well-formed unknown version is refused
    if case.operation.definition.raw.get("x-crest-operation") == "query":
        for name in ("_queryFilter", "_pagedResultsCookie", "_sortKeys", "version",
                     "messagesOnly"):
            query.pop(name, None)
        query["_queryId"] = QUERY_IDS.get(op, "filtered-query")
        if op in SORT_KEYS:
            query["_sortKeys"] = SORT_KEYS[op]
        if "processInstanceBusinessKey" in query:  # the business key alone decides
            for name in set(query) - BUSINESS_KEY_QUERY:
                del query[name]
    path = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    if "processDefinitionId" in path and op != "deleteProcessDefinition" and definition_id:
        path["processDefinitionId"] = definition_id
        if "taskDefinitionId" in path and task_definition_id:
            path["taskDefinitionId"] = task_definition_id
    if op in CREATES:
        body = case.body if isinstance(case.body, dict) else {}
        body.pop("_key", None)
        body.pop("_processDefinitionId", None)
        case.body = {**body, **(start or {})}
        query["_action"] = "create"
    if op == "updateTaskInstance":
        headers["If-Match"] = "*"
        case.body = case.body if isinstance(case.body, dict) else {}
    if op == "actOnTaskInstance":
        query["_action"] = "claim"
        case.body = {"userId": user}
    if op == "actOnExecutions":
        query["_action"] = "signal"
        case.body = {"signalName": signal_name}
    if op in ("actOnJob", "actOnDeadLetterJob"):  # an unknown job id: 404, nothing fires
        query["_action"] = "execute"
    case.headers = headers


_SPEC_COPIES: dict[str, tempfile.TemporaryDirectory[str]] = {}


def _spec_for(context: str) -> Path:
    """openapi.yaml with its paths under `context` (IDM's `openidm.context.path`)."""
    if context == SPEC_CONTEXT:
        return spec_path()
    if context not in _SPEC_COPIES:
        copy = tempfile.TemporaryDirectory(prefix="mockidm-contract-spec-")
        document = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
        document["paths"] = {context + path.removeprefix(SPEC_CONTEXT): item
                             for path, item in document["paths"].items()}
        Path(copy.name, "openapi.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        shutil.copytree(contracts_dir(), Path(copy.name, "contracts"))
        _SPEC_COPIES[context] = copy
    return Path(_SPEC_COPIES[context].name, "openapi.yaml")


@dataclass
class Finding:
    """One kind of failure (a check, a title), with its first example."""

    phase: str  # "conformance" or "stateful"
    check: str
    code: str  # schemathesis's failure code, ST108...
    title: str
    message: str  # schemathesis's, for the first example
    response: requests.Response | None  # the first example's
    operations: list[str] = field(default_factory=list)  # "GET /openidm/workflow/..."


# Text a real IDM stores as it was sent: no NUL, no lone surrogate (not UTF-8), nothing beyond
# the Basic Multilingual Plane (MySQL's 3-byte `utf8` columns, for one, refuse it).
STORABLE = hypothesis.strategies.characters(codec="utf-8", min_codepoint=1,
                                            max_codepoint=0xFFFF)
# Generated business keys: mostly text beyond Latin-1, where encodings go wrong (Hypothesis
# favours the first alternative; it draws code points low first, so plain STORABLE text is
# seldom beyond Latin-1), else any STORABLE text (empty, ASCII...).
BUSINESS_KEYS = hypothesis.strategies.one_of(
    hypothesis.strategies.text(hypothesis.strategies.characters(
        codec="utf-8", min_codepoint=0x100, max_codepoint=0xFFFF), min_size=1),
    hypothesis.strategies.text(STORABLE))


def storable(value: Any) -> Any:
    """`value` (JSON) with every string, keys too, cut to STORABLE characters."""
    if isinstance(value, str):
        return "".join(c for c in value if 0 < ord(c) <= 0xFFFF and not 0xD800 <= ord(c)
                       <= 0xDFFF)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _flatmap_body(context: Any, body: Any) -> Any:
    """A start's body as a real server should store it (`storable`: the generated variables
    are any JSON). And a start's `_businessKey` is optional in the spec, so the generator leaves
    it out of most bodies: give most bodies without one a generated one, so that the
    business-key rules have keys to judge. (Hypothesis favours the first alternative; the name
    of this function is schemathesis's hook name.)"""
    operation = context.operation
    if operation is None or operation.definition.raw.get("operationId") not in CREATES:
        return hypothesis.strategies.just(body)
    if not isinstance(body, dict) or "_businessKey" in body:
        return hypothesis.strategies.just(storable(body))
    return hypothesis.strategies.one_of(
        BUSINESS_KEYS.map(lambda key: {**body, "_businessKey": key}),
        hypothesis.strategies.just(body)).map(storable)


_flatmap_body.__name__ = "flatmap_body"

_ACTIVE: contextvars.ContextVar[Run | None] = contextvars.ContextVar("mockidm_contract_run",
                                                                    default=None)


def active(case: Any) -> Run | None:
    """The kit run that generated `case`, or None: then the kit's checks do nothing (they are
    registered with schemathesis globally, and must not act in anyone else's run)."""
    run = _ACTIVE.get()
    if run is None or not any(case.operation.schema is schema for schema in run.schemas):
        return None
    return run


def negative(case: Any) -> bool:
    """Generated as invalid (explicit examples carry no metadata: they are valid)."""
    return case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE


def session(target: Target) -> Run:
    """The run's one schemathesis session, kept on the target (it lives as long as the run)."""
    if "fuzz" not in target.shared:
        target.shared["fuzz"] = Run(target)
    run: Run = target.shared["fuzz"]
    return run


class Run:
    """One schemathesis session against a target: a conformance run and a stateful run, each
    made once and judged by every check; the rules read the failures of their own checks."""

    def __init__(self, target: Target) -> None:
        self.target = target
        parts = urlsplit(target.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.context = parts.path.rstrip("/")
        config = schemathesis.Config.from_dict(_config(target, self.origin))
        # The API descriptors are documentation, not workflow behaviour: not generated for.
        # Nor are the IDM objects: against a real IDM they would write to its repository,
        # where its schema and policies answer what no generic spec describes.
        self.schema = schemathesis.openapi.from_path(
            _spec_for(self.context), config=config).exclude(tag="descriptor").exclude(
            tag="object")
        # Hooks on the schema, shared by its clones, and no one else's.
        self.schema.hook(self._after_validate_hook())
        self.schema.hook(_flatmap_body)
        self.schemas: list[BaseSchema] = [self.schema]
        self.findings: dict[tuple[str, str, str], Finding] = {}
        # What the checks really judged: per kit check, and per phase the answers judged.
        self.judged: Counter[str] = Counter()
        self.phase = ""  # the run under way
        self.calls: Counter[str] = Counter()  # phase -> requests
        self.scenarios = 0  # of the stateful run, ended
        self.sent: dict[str, Counter[str]] = {}  # phase -> operationId -> requests
        self._done: dict[str, BaseException | None] = {}  # phase -> what stopped it, if any
        self._auth_probed: set[str] = set()  # operations ignored_auth has already probed
        self._starts = 0
        self._last: requests.Response | None = None
        self._data_ready = False
        self._definitions: list[Definition] = []
        self._keys: list[str] = []
        self._definition_id: str | None = None
        self._task_definition: str | None = None

    @contextmanager
    def activated(self) -> Iterator[Run]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    # the server's data, for the generators -----------------------------------------------

    def _discover(self) -> None:
        if self._data_ready:
            return
        self._data_ready = True
        versions = self.target.versions()
        self._definitions = self.target.definitions()
        # Starts by key go to keys with several versions, when there are: only those tell "the
        # highest version" apart (the other keys are started by id).
        self._keys = sorted(k for k, v in versions.items() if len(v) > 1) or sorted(versions)
        if versions:
            definition = self.target.any_definition()
            self._definition_id = definition.id
            response = self.target.get(
                f"workflow/processdefinition/{definition.id}/taskdefinition",
                _queryId="query-all-ids")
            body = json_body(response)
            items = body.get("result") if response.status_code == 200 and isinstance(
                body, dict) else None
            if items and isinstance(items[0], dict) and isinstance(items[0].get("_id"), str):
                self._task_definition = items[0]["_id"]

    def mend(self, case: Any) -> bool:
        """Make a case the server can judge (`make_valid`), fed real definition keys and ids,
        marked with the run id, and writing only to what this run started. False: a valid
        request of this operation cannot be made here (it needs a deployed definition)."""
        self._discover()
        op = case.operation.definition.raw["operationId"]
        self._confine(case, op)
        make_valid(case, user=self.target.user, definition_id=self._definition_id,
                   task_definition_id=self._task_definition,
                   start=self._start() if op in CREATES and not negative(case) else None,
                   signal_name=self.target.unique("signal"))
        if op in CREATES and isinstance(case.body, dict):
            if negative(case) and self.target.read_only:
                self._defuse(case.body)
            # Should an invalid start create an instance after all, it says where it came from.
            case.body[RUN_VARIABLE] = self.target.run_id
        started = list(self.target.created)
        if op in READS + DELETES and not negative(case) and self.phase == CONFORMANCE \
                and started and self.calls[CONFORMANCE] % 2:
            # Every other read or delete is of an instance this run started (the links feed
            # the stateful run; here the generator's ids would all be 404).
            case.path_parameters["processInstanceId"] = started[
                self.calls[CONFORMANCE] % len(started)]
        # IDM answers a task definition query of an unknown definition with 500 (documented).
        return negative(case) or op != "queryTaskDefinitions" or bool(self._definition_id)

    def _confine(self, case: Any, op: str) -> None:
        """Writes act only on what this run started. On a shared server a generator's "7" may
        be someone's instance, task or execution: any other id a write names (in its path, or
        the target of an execution action) becomes one that does not exist, and a signal or
        message name one that nothing waits for."""
        if case.method.upper() == "GET" or op in CREATES:
            return
        path = case.path_parameters if isinstance(case.path_parameters, dict) else {}
        for name, value in path.items():
            if not (name == "processInstanceId" and value in self.target.created):
                path[name] = self.target.unique("noSuchId")
        if op == "actOnExecutions" and isinstance(case.body, dict):
            for name in ("executionId", "processInstanceId", "signalName", "messageName"):
                value = case.body.get(name)
                if isinstance(value, str) and not (name == "processInstanceId"
                                                   and value in self.target.created):
                    case.body[name] = self.target.unique("noSuchTarget")

    def _defuse(self, body: dict[str, Any]) -> None:
        """Read-only: an invalid start that names a real key or id is sent with one that does
        not exist, so that even a server that ignores what is invalid in it starts nothing."""
        if isinstance(body.get("_key"), str):
            body["_key"] = self.target.unique("noSuchKey")
        if isinstance(body.get("_processDefinitionId"), str):
            body["_processDefinitionId"] = f"{self.target.unique('noSuchKey')}:1:1"

    def _start(self) -> dict[str, str]:
        """What a valid start names: a definition the server has, in turn by `_key` alone, by
        `_processDefinitionId` with a `_key` that names another definition, and by
        `_processDefinitionId` alone."""
        turn, self._starts = self._starts, self._starts + 1
        if not self._definitions:  # nothing deployed: the start must be 404
            return {"_key": self.target.unique("noSuchKey")}
        if turn % 3 == 0:
            return {"_key": self._keys[turn // 3 % len(self._keys)]}
        definition = self._definitions[turn // 3 % len(self._definitions)]
        other = self._other_key(definition) if turn % 3 == 1 else None
        return {"_processDefinitionId": definition.id,
                **({"_key": other} if other is not None else {})}

    def _other_key(self, definition: Definition) -> str | None:
        """A key whose start would not be `definition`: another process, or its own key when
        a later version exists."""
        others = sorted(k for k in self.target.versions() if k != definition.key)
        if others:
            return others[0]
        latest = self.target.versions()[definition.key][-1]
        return definition.key if latest.id != definition.id else None

    # sending and judging ------------------------------------------------------------------

    def send(self, case: Any) -> requests.Response:
        """Send the case through the target (its guard, credentials and creation record)."""
        kwargs = case.as_transport_kwargs(base_url=self.origin)
        url = kwargs["url"]
        path = url[len(self.origin + self.context):]
        data: Any = None
        if "json" in kwargs:
            data = json.dumps(kwargs["json"])
        elif kwargs.get("data") is not None:
            data = kwargs["data"]
        headers = {name: value for name, value in kwargs["headers"].items()
                   if name.lower() not in ("user-agent", "accept-encoding", "accept",
                                           "connection", "x-schemathesis-testcaseid")}
        if kwargs.get("cookies"):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
        self.calls[self.phase] += 1
        self.sent.setdefault(self.phase, Counter())[
            case.operation.definition.raw["operationId"]] += 1
        response = self.target.request(case.method, path, params=kwargs.get("params"),
                                       data=data, headers=headers, negative=negative(case))
        self._last = response
        return response

    def running(self, instance_id: str) -> bool:
        """Not deleted by this run, and the server's read shows no end time."""
        started = self.target.created.get(instance_id)
        if started is not None and started.deleted:
            return False
        response = self.target.get(f"workflow/processinstance/{instance_id}")
        body = json_body(response)
        return response.status_code == 200 and isinstance(body, dict) \
            and body.get("endTime") is None

    def validate(self, case: Any, response: Any,
                 checks: list[CheckFunction], *, recorder: Any = None) -> None:
        """Run the checks; record failures instead of raising them."""
        self.judged[self.phase] += 1
        label = case.operation.label
        chosen = list(checks)
        ignored_auth = CHECKS.get_one("ignored_auth")
        # Its probes send the request again without credentials, past the target: only reads
        # (a write would act, untracked, on a server that ignores credentials), and once per
        # operation is proof enough.
        if ignored_auth in chosen and (label in self._auth_probed or case.method.upper() != "GET"
                                       or not 200 <= response.status_code < 300):
            chosen.remove(ignored_auth)
        elif ignored_auth in chosen:
            self._auth_probed.add(label)
        with contextlib.suppress(FailureGroup):  # recorded one by one by after_validate
            case.validate_response(response, checks=chosen, headers=self.target.credentials(),
                                   transport_kwargs={"base_url": self.origin},
                                   recorder=recorder)

    def _after_validate_hook(self) -> Callable[..., None]:
        def after_validate(context: Any, case: Any, response: Any, results: Any) -> None:
            for result in results:
                failure = result.failure
                if isinstance(failure, Failure):
                    self._record(case, result.name, failure)
        return after_validate

    def _record(self, case: Any, check: str, failure: Failure) -> None:
        """The first example of each kind of failure, and every operation it was seen on."""
        finding = self.findings.setdefault((self.phase, check, failure.title), Finding(
            self.phase, check, failure.code, failure.title, failure.message, self._last))
        if case.operation.label not in finding.operations:
            finding.operations.append(case.operation.label)

    def findings_of(self, checks: tuple[str, ...], phases: list[str]) -> list[Finding]:
        return [f for f in self.findings.values() if f.check in checks and f.phase in phases]

    # the two runs -------------------------------------------------------------------------

    def ensure(self, phase: str, checks: list[CheckFunction]) -> None:
        """Make the run `phase` (CONFORMANCE or STATEFUL) unless it was made already. Should
        it break off (the server went away...), every rule that needs it hears so."""
        if phase not in self._done:
            self.phase = phase
            try:
                (self.conformance if phase == CONFORMANCE else self.stateful)(checks)
                self._done[phase] = None
            except BaseException as exc:
                self._done[phase] = exc
                raise
            finally:
                self.phase = ""
        stopped = self._done[phase]
        if stopped is not None:
            raise stopped

    def operations(self) -> list[Any]:
        operations = []
        for result in self.schema.get_all_operations():
            if isinstance(result, Err):  # the kit's own spec: it loads, or nothing can run
                raise result.err()
            operations.append(result.ok())
        return operations

    def settings(self, **extra: Any) -> hypothesis.settings:
        extra.setdefault("max_examples", self.target.max_examples)
        return hypothesis.settings(
            deadline=None, database=None,
            derandomize=True, suppress_health_check=list(HealthCheck),
            phases=[Phase.generate], verbosity=Verbosity.quiet,
            print_blob=False, report_multiple_bugs=False, **extra)

    def conformance(self, checks: list[CheckFunction]) -> None:
        """Every operation, `max_examples` cases each, valid and invalid, and the starts
        `STARTS_WEIGHT` times as many valid ones more (four rules judge starts). Read-only: the
        reads, and the creates with invalid data only (a server must refuse those)."""
        plan: list[tuple[Any, list[GenerationMode], int]] = []
        for operation in self.operations():
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
            op = operation.definition.raw["operationId"]
            if self.target.read_only and operation.method.upper() != "GET":
                if op not in CREATES:
                    continue
                modes = [GenerationMode.NEGATIVE]
            plan.append((operation, modes, self.target.max_examples))
            if op in CREATES and self.target.writable:
                plan.append((operation, [GenerationMode.POSITIVE],
                             STARTS_WEIGHT * self.target.max_examples))
        total = sum(count for _, _, count in plan)
        last_part = {id(operation): part for part, (operation, _, _) in enumerate(plan)}
        finished = 0  # operations done
        done = 0  # examples of the parts of the plan done

        def show(examples: int = 0) -> None:  # `examples` of the part under way
            self.target.progress.update(
                CONFORMANCE + " run", done + examples, total, "examples",
                f"{finished} of {len(last_part)} operations, {self.calls[CONFORMANCE]} "
                "requests")

        with self.activated():
            show()
            for part, (operation, modes, count) in enumerate(plan):
                self._examples(operation, modes, count, checks, show)
                done += count
                finished += last_part[id(operation)] == part
                show()

    def _examples(self, operation: Any, modes: list[GenerationMode], count: int,
                  checks: list[CheckFunction], shown: Callable[[int], None]) -> None:
        strategy = hypothesis.strategies.one_of(
            [operation.as_strategy(generation_mode=mode) for mode in modes])
        examples = 0

        @hypothesis.given(case=strategy)
        @self.settings(max_examples=count)
        def example(case: Any) -> None:
            nonlocal examples
            shown(min(examples, count))  # those done (hypothesis may try more than asked)
            examples += 1
            if not self.mend(case) or (self.target.read_only and not negative(case)
                                       and case.method.upper() != "GET"):
                return  # (the negative strategy may draw a valid case too)
            self.validate(case, self.send(case), checks)

        example()

    def stateful(self, checks: list[CheckFunction]) -> None:
        """Scenarios along the links: a create, then what its links lead to (read, history
        read, query by business key, delete), and nothing else."""
        run = self
        # exclude, not include: the per-operation config is an include filter already, and
        # includes add up.
        others = [op.definition.raw["operationId"] for op in self.operations()]
        linked = self.schema.exclude(operation_id=[op for op in others if op not in LINKED])
        self.schemas.append(linked)

        class Links(linked.as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: Any) -> None:
                run.mend(case)

            def call(self, case: Any, **kwargs: Any) -> Any:
                return schemathesis.Response.from_any(run.send(case))

            def validate_response(self, response: Any, case: Any,
                                  additional_checks: Any = None, **kwargs: Any) -> None:
                run.validate(case, response, checks, recorder=self.recorder)

            def teardown(self) -> None:  # a scenario ends
                run.scenarios += 1
                show()
                super().teardown()

        def show() -> None:
            # hypothesis may stop short of max_examples scenarios (or try some more): "of"
            # is what was asked.
            self.target.progress.update(STATEFUL + " run", self.scenarios,
                                        self.target.max_examples, "scenarios",
                                        f"{self.calls[STATEFUL]} requests")

        with self.activated():
            show()
            Links.run(settings=self.settings(stateful_step_count=STEPS))

    def summary(self, phases: list[str]) -> str:
        """How many requests each run sent; along the links, to which operations."""
        parts = []
        if CONFORMANCE in phases:
            mode = " (read-only: reads, and invalid starts)" if self.target.read_only else ""
            parts.append(f"{self.calls[CONFORMANCE]} requests to "
                         f"{len(self.sent.get(CONFORMANCE, {}))} operations{mode}")
        if STATEFUL in phases:
            followed = ", ".join(f"{op} {count}" for op, count in sorted(
                self.sent.get(STATEFUL, Counter()).items(),
                key=lambda item: (item[0] not in CREATES, item[0])))
            parts.append(f"{self.calls[STATEFUL]} along links: {followed or 'none'}")
        return "; ".join(parts)

    # the report ---------------------------------------------------------------------------

    def report(self, findings: list[Finding], what: str, expected: Mapping[str, str]) -> str:
        """The failures, for a rule's message: `expected` says what each check expects."""
        requests_sent = sum(self.calls.values())
        lines = [f"{what}: {len(findings)} kind(s) of failure in {requests_sent} requests"]
        for number, finding in enumerate(findings[:MAX_REPORTED], 1):
            where = ", ".join(finding.operations[:4]) + (
                f" and {len(finding.operations) - 4} more" if len(finding.operations) > 4
                else "")
            lines.append(f"{number}. {finding.title} [{finding.code}, check {finding.check}, "
                         f"{finding.phase} run] on {where}")
            lines += [f"     {line}" for line in finding.message.strip().splitlines()[:12]
                      if line.strip()]
            lines.append(f"   expected: {expected.get(finding.check, _GENERIC)}")
            response = finding.response
            if response is not None:
                lines.append(f"   got:      HTTP {response.status_code} {response.reason} "
                             f"{clip(response.text)}")
                lines.append(f"   reproduce: {self.target.curl(response)}")
        if len(findings) > MAX_REPORTED:
            lines.append(f"... and {len(findings) - MAX_REPORTED} more")
        return "\n".join(lines)
