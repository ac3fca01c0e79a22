"""The admin API's server side: the MockIDM facade over HTTP, under the reserved prefix
`/__mockidm/`. A host: each handler calls facade methods, and shapes what they answer.

Its routes come from `admin-openapi.yaml` as the IDM routes come from `openapi.yaml`: one
handler per operationId (the server refuses to start if the two lists disagree), and every
request is checked against the spec before its handler runs. When a token is configured each
request must carry `Authorization: Bearer <token>`, compared in constant time.

Admin requests bypass the IDM pipeline: they are not journaled and meet no scripted failure.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..engine import EngineError, ObjectNotFound, ProcessDefinition, ProcessInstance, Task
from ..engine.errors import DefinitionError, IllegalArgument
from ..engine.jobs import JobRun
from ..engine.mail import SentMail
from ..http.errors import IdmError
from ..http.faults import FAULT_FIELDS, AuthFaults, Fault
from ..http.pipeline import BASE_PATH
from ..identity import AUTHORIZED, Identity, User
from ..spec import Operation, SpecError, load_spec
from ..spec_files import admin_spec_path

if TYPE_CHECKING:
    from ..facade import MockIDM

log = logging.getLogger("mockidm.admin")

PREFIX = "/__mockidm"
# Snapshots and BPMN documents can be large: admin bodies have their own, larger cap.
MAX_BODY = 64 * 1024 * 1024
DONE = {"status": "ok"}
JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class AdminRequest:
    mock: MockIDM
    body: Any  # the JSON body, None when there is none
    params: dict[str, str]  # query parameters
    path_params: dict[str, str]


@dataclass
class Answer:
    content: Any
    status: int = 200


Handler = Callable[[AdminRequest], Answer]


# handlers ----------------------------------------------------------------------------------

def _index(r: AdminRequest) -> Answer:
    spec = load_spec(admin_spec_path())
    paths = spec.document["paths"]
    return Answer({
        "name": "mockidm admin API", "spec": f"{PREFIX}/openapi.json",
        "profile": r.mock.profile.name, "idm": BASE_PATH,
        "operations": [{"method": op.method.upper(), "path": op.path,
                        "operationId": op.operation_id,
                        "summary": paths[op.path][op.method.lower()].get("summary", "")}
                       for op in spec.operations]})


def _admin_spec(r: AdminRequest) -> Answer:
    return Answer(load_spec(admin_spec_path()).document)


def _reset(r: AdminRequest) -> Answer:
    r.mock.reset()
    return Answer(DONE)


def _list_definitions(r: AdminRequest) -> Answer:
    with r.mock.lock:
        return Answer([definition_json(d) for d in r.mock.definitions()])


def _deploy_bpmn(r: AdminRequest) -> Answer:
    deployed = r.mock.deploy_bpmn(r.body["bpmn"], r.body.get("name", "process.bpmn20.xml"))
    return Answer([definition_json(d) for d in deployed], 201)


def _list_users(r: AdminRequest) -> Answer:
    return Answer([_user_json(user) for user in r.mock.users()])


def _add_user(r: AdminRequest) -> Answer:
    body = r.body
    r.mock.add_user(body["name"], body["password"], body.get("roles", [AUTHORIZED]))
    return Answer(_user_json(r.mock.user(body["name"])), 201)


def _add_managed_user(r: AdminRequest) -> Answer:
    body = r.body
    r.mock.add_managed_user(body["userName"], body["password"], body.get("authzRoles", []))
    return Answer(_user_json(r.mock.user(body["userName"])), 201)


def _add_token(r: AdminRequest) -> Answer:
    body = r.body
    added = r.mock.add_token(body["token"], body["subject"], body.get("roles", [AUTHORIZED]),
                             expires_in=body.get("expiresIn"))
    return Answer({"subject": added.subject, "roles": list(added.roles),
                   "expires": _iso(added.expires)}, 201)


def _revoke_token(r: AdminRequest) -> Answer:
    try:
        r.mock.revoke_token(r.path_params["token"])
    except KeyError:
        raise IdmError(404, "no such token") from None
    return Answer(DONE)


def _set_process_access(r: AdminRequest) -> Answer:
    r.mock.set_process_access(Identity.parse_process_access(r.body))
    return Answer(Identity.process_access_json(r.mock.process_access()))


def _start_process(r: AdminRequest) -> Answer:
    body = r.body
    instance = r.mock.start_process(body.get("key"), definition_id=body.get("definitionId"),
                                    business_key=body.get("businessKey"),
                                    variables=body.get("variables"),
                                    user=body.get("user", "openidm-admin"))
    with r.mock.lock:
        return Answer(instance_json(instance), 201)


def _list_instances(r: AdminRequest) -> Answer:
    params = r.params
    ended = params.get("ended")
    instances = r.mock.instances(params.get("key"), business_key=params.get("businessKey"),
                                 ended=None if ended is None else ended == "true")
    with r.mock.lock:
        return Answer([instance_json(i) for i in instances])


def _list_tasks(r: AdminRequest) -> Answer:
    tasks = r.mock.tasks(r.params.get("instanceId"))
    with r.mock.lock:
        return Answer([task_json(t) for t in tasks])


def _claim_task(r: AdminRequest) -> Answer:
    task = r.mock.claim(r.path_params["taskId"], r.body["user"])
    with r.mock.lock:
        return Answer(task_json(task))


def _complete_task(r: AdminRequest) -> Answer:
    task = r.mock.complete(r.path_params["taskId"], (r.body or {}).get("variables"))
    with r.mock.lock:
        return Answer(task_json(task))


def _set_outputs(r: AdminRequest) -> Answer:
    r.mock.set_outputs(r.body["activityId"], r.body["variables"], key=r.body.get("key"))
    return Answer(DONE)


def _list_faults(r: AdminRequest) -> Answer:
    with r.mock.lock:  # the route faults and the auth failures as of one moment
        routes, auth = r.mock.route_faults(), r.mock.auth_faults()
    return Answer({"faults": [fault_json(f) for f in routes], "auth": auth_faults_json(auth)})


def _add_fault(r: AdminRequest) -> Answer:
    fault = r.mock.fault(**{name: r.body[name] for name in FAULT_FIELDS if name in r.body})
    with r.mock.lock:
        return Answer(fault_json(fault), 201)


def _clear_faults(r: AdminRequest) -> Answer:
    r.mock.clear_faults()
    return Answer(DONE)


def _add_auth_faults(r: AdminRequest) -> Answer:
    body, mock = r.body, r.mock
    if "failNext" in body:
        mock.fail_auth(body["failNext"])
    for user in _names(body.get("rejectPassword")):
        mock.reject_password(user)
    for user in _names(body.get("lockOut")):
        mock.lock_out(user)
    if body.get("expireSessions"):
        mock.expire_sessions()
    return Answer(auth_faults_json(mock.auth_faults()))


def _read_journal(r: AdminRequest) -> Answer:
    params = r.params
    status = params.get("status")
    entries = r.mock.requests(params.get("operation"), method=params.get("method"),
                              path=params.get("path"),
                              status=int(status) if status is not None else None,
                              user=params.get("user"))
    return Answer([e.to_json() for e in entries])


def _clear_journal(r: AdminRequest) -> Answer:
    r.mock.clear_journal()
    return Answer(DONE)


def _snapshot(r: AdminRequest) -> Answer:
    return Answer(r.mock.snapshot())


def _restore(r: AdminRequest) -> Answer:
    profile = r.body.get("profile")
    if profile is not None and profile != r.mock.profile.name:
        raise IdmError(400, f"the snapshot was taken with profile {profile}; this server "
                            f"imitates {r.mock.profile.name}")
    r.mock.restore(r.body)
    return Answer(DONE)


def _clock_json(r: AdminRequest, fired: list[JobRun] | None = None) -> dict[str, Any]:
    clock = r.mock.clock()
    answer: dict[str, Any] = {"now": clock.now.isoformat(), "frozen": clock.frozen}
    if fired is not None:
        answer["fired"] = [{"id": run.job.id, "processDefinitionId": run.job.definition_id,
                            "processInstanceId": run.job.instance_id,
                            "activityId": run.job.activity, "dueDate": _iso(run.job.due_date),
                            "error": run.error} for run in fired]
    return answer


def _read_clock(r: AdminRequest) -> Answer:
    return Answer(_clock_json(r))


def _set_clock(r: AdminRequest) -> Answer:
    body, mock = r.body, r.mock
    if body.get("unfreeze") and ("freeze" in body or body.get("advance")):
        raise IdmError(400, "unfreeze cannot go with freeze or advance")
    if body.get("unfreeze"):
        mock.unfreeze_time()
    fired: list[JobRun] = []
    if "freeze" in body:
        at = body["freeze"]
        moment = None
        if at is not None:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                raise IdmError(400, "body /freeze: a date-time needs an offset (Z or +hh:mm)")
        fired += mock.freeze_time(moment)
    if body.get("advance"):
        fired += mock.advance_time(float(body["advance"]))
    return Answer(_clock_json(r, fired))


def _load_fixtures(r: AdminRequest) -> Answer:
    from ..scenario import ScenarioError, parse_scenario

    _refuse_server_files(r.body)
    try:
        started = parse_scenario(r.body).apply(r.mock)
    except ScenarioError as exc:
        raise IdmError(400, f"invalid scenario: {exc}") from None
    with r.mock.lock:
        return Answer({**DONE, "instances": [instance_json(i) for i in started]})


def _refuse_server_files(document: Mapping[str, Any]) -> None:
    """A scenario names files by path; over HTTP that would read the server's files."""
    named = [f"definitions[{i}].{kind}" for i, item in enumerate(document.get("definitions", []))
             for kind in ("file", "folder") if isinstance(item, Mapping) and kind in item]
    if isinstance(document.get("processAccess"), str):
        named.append("processAccess")
    if named:
        raise IdmError(400, f"invalid scenario: {', '.join(named)} name files, and the admin "
                            "API reads no file of the server: send their content inline "
                            "(AdminClient.load_fixtures does it)")


def _problems(r: AdminRequest) -> Answer:
    return Answer(r.mock.problems())


def _list_idm_objects(r: AdminRequest) -> Answer:
    return Answer(r.mock.idm_objects())


def _seed_idm_objects(r: AdminRequest) -> Answer:
    r.mock.seed_objects(r.body["container"], r.body["objects"])
    return Answer(DONE)


def _read_idm_object(r: AdminRequest) -> Answer:
    path = "/".join(r.path_params[k] for k in ("kind", "type", "id"))
    found = r.mock.idm_object(path)
    if found is None:
        raise IdmError(404, f"no IDM object {path}")
    return Answer(found)


def _add_idm_answer(r: AdminRequest) -> Answer:
    error = r.body.get("error")
    r.mock.idm_answer(r.body["resource"], r.body.get("answer"), method=r.body.get("method"),
                      action=r.body.get("action"),
                      error=None if error is None else (error["status"], error["message"]))
    return Answer(DONE)


def _read_idm_calls(r: AdminRequest) -> Answer:
    return Answer(r.mock.idm_calls(r.params.get("method"), r.params.get("resource")))


def _list_mails(r: AdminRequest) -> Answer:
    return Answer([mail_json(m) for m in r.mock.sent_mails()])


HANDLERS: dict[str, Handler] = {
    "index": _index,
    "adminSpec": _admin_spec,
    "reset": _reset,
    "listDefinitions": _list_definitions,
    "deployBpmn": _deploy_bpmn,
    "listUsers": _list_users,
    "addUser": _add_user,
    "addManagedUser": _add_managed_user,
    "setProcessAccess": _set_process_access,
    "listInstances": _list_instances,
    "addToken": _add_token,
    "revokeToken": _revoke_token,
    "startProcess": _start_process,
    "listTasks": _list_tasks,
    "claimTask": _claim_task,
    "completeTask": _complete_task,
    "setOutputs": _set_outputs,
    "listFaults": _list_faults,
    "addFault": _add_fault,
    "clearFaults": _clear_faults,
    "addAuthFaults": _add_auth_faults,
    "readJournal": _read_journal,
    "clearJournal": _clear_journal,
    "snapshot": _snapshot,
    "restore": _restore,
    "readClock": _read_clock,
    "setClock": _set_clock,
    "loadFixtures": _load_fixtures,
    "problems": _problems,
    "listMails": _list_mails,
    "listIdmObjects": _list_idm_objects,
    "seedIdmObjects": _seed_idm_objects,
    "readIdmObject": _read_idm_object,
    "addIdmAnswer": _add_idm_answer,
    "readIdmCalls": _read_idm_calls,
}


# shapes ------------------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def mail_json(m: SentMail) -> dict[str, Any]:
    return {"processInstanceId": m.instance_id, "activityId": m.activity_id,
            "time": _iso(m.time), "to": list(m.to), "from": m.sender, "cc": list(m.cc),
            "bcc": list(m.bcc), "subject": m.subject, "text": m.text, "html": m.html,
            "charset": m.charset}


def definition_json(d: ProcessDefinition) -> dict[str, Any]:
    return {"id": d.id, "key": d.key, "name": d.name, "version": d.version,
            "deploymentId": d.deployment_id, "suspended": d.suspended}


def instance_json(i: ProcessInstance) -> dict[str, Any]:
    return {"id": i.id, "definitionId": i.definition.id, "key": i.definition.key,
            "businessKey": i.business_key, "startUser": i.start_user,
            "startTime": _iso(i.start_time), "ended": i.ended,
            "activities": i.active_activities, "variables": i.variables}


def task_json(t: Task) -> dict[str, Any]:
    return {"id": t.id, "instanceId": t.instance_id, "definitionId": t.definition_id,
            "key": t.key, "name": t.name, "assignee": t.assignee,
            "candidateUsers": list(t.candidate_users),
            "candidateGroups": list(t.candidate_groups), "createTime": _iso(t.create_time),
            "active": t.active}


def fault_json(f: Fault) -> dict[str, Any]:
    scripted = {name: getattr(f, name) for name in FAULT_FIELDS}
    if f.query is not None:
        scripted["query"] = dict(f.query)
    return {"id": f.id, "description": f.describe(), "matched": f.matched, "fired": f.fired,
            **scripted}


def auth_faults_json(a: AuthFaults) -> dict[str, Any]:
    return {"failNext": a.refuse_next, "refused": a.refused,
            "rejectPassword": dict(a.rejected_passwords), "lockOut": dict(a.locked_out),
            "sessionsExpired": a.sessions_expired,
            "expiredCookiesRefused": a.expired_cookies_refused}


def _user_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "roles": list(user.roles)}


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# wiring ------------------------------------------------------------------------------------

def _json_response(content: Any, status: int = 200) -> web.Response:
    text = json.dumps(content, ensure_ascii=False, default=str)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate a client sent (JSON allows it): escape it
        body = json.dumps(content, default=str).encode("ascii")
    return web.Response(body=body, status=status,
                        headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"})


def error_response(error: IdmError) -> web.Response:
    # IDM's envelope, but the message in plain text: it is mockidm's own, not IDM's.
    response = _json_response({**error.body(), "message": str(error)}, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mockidm-admin"'
    return response


def _engine_error(exc: EngineError) -> IdmError:
    if isinstance(exc, ObjectNotFound):
        return IdmError(404, exc.message)
    if isinstance(exc, DefinitionError | IllegalArgument):
        return IdmError(400, exc.message)
    return IdmError(409, exc.message)  # a claimed task, a suspended definition...


class Guard:
    """The bearer-token check (nothing to check when no token is configured): the admin
    API's, and the inspector page's (`mockidm.ui`), which is protected exactly as it is."""

    def __init__(self, token: str | None) -> None:
        self._token = None if token is None else token.encode("utf-8")

    def check(self, request: web.Request) -> None:
        if self._token is None:
            return
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest on bytes: constant time whatever the length of the guess.
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), self._token)
        if not ok:
            raise IdmError(401, "the admin API needs `Authorization: Bearer <admin token>`")


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise IdmError(413, f"an admin request body is limited to {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise IdmError(413, f"an admin request body is limited to {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _Route:
    def __init__(self, mock: MockIDM, guard: Guard, op: Operation, handler: Handler,
                 body_required: bool, validate_responses: bool) -> None:
        self.mock, self.guard, self.op, self.handler = mock, guard, op, handler
        self.body_required = body_required
        self.validate_responses = validate_responses

    async def handle(self, request: web.Request) -> web.StreamResponse:
        op = self.op
        try:
            self.guard.check(request)
            raw = await _read_body(request)
            body: Any = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, RecursionError) as exc:  # too deeply nested is not JSON to us
                    raise IdmError(400, f"the body is not JSON: {exc}") from None
            elif self.body_required:
                raise IdmError(400, f"{op.operation_id} needs a JSON body")
            params = dict(request.query)
            violation = op.check_request(params, body)
            if violation is not None:
                raise IdmError(400, f"Invalid request for {op.operation_id}, {violation}")
            try:
                answer = self.handler(AdminRequest(self.mock, body, params,
                                                   dict(request.match_info)))
            except EngineError as exc:
                raise _engine_error(exc) from None
            except (ValueError, KeyError, TypeError) as exc:
                # The facade's own checks (a fault without an effect, a bad snapshot...).
                raise IdmError(400, f"{op.operation_id}: {exc}") from None
            if self.validate_responses:
                # Round-trip through JSON: the validators see what the client will.
                content = json.loads(json.dumps(answer.content, default=str))
                broken = op.check_response(answer.status, content)
                if broken is not None:
                    raise IdmError(500, f"mockidm broke its admin spec: {broken}")
            return _json_response(answer.content, answer.status)
        except IdmError as error:
            return error_response(error)
        except Exception as exc:
            log.exception("admin %s failed", op.operation_id)
            return error_response(IdmError(500, f"{type(exc).__name__}: {exc}"))


def _not_allowed(guard: Guard, methods: list[str]
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(request: web.Request) -> web.Response:
        try:
            guard.check(request)
        except IdmError as error:
            return error_response(error)
        response = error_response(IdmError(
            405, f"{request.method} is not allowed on {request.path}; "
                 f"use {', '.join(methods)}"))
        response.headers["Allow"] = ", ".join(methods)
        return response
    return answer


def _unknown(guard: Guard) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(request: web.Request) -> web.Response:
        try:
            guard.check(request)
        except IdmError as error:
            return error_response(error)
        return error_response(IdmError(404, f"no admin operation at {request.path}"))
    return answer


def add_admin_routes(app: web.Application, mock: MockIDM, *, token: str | None,
                     validate_responses: bool = False,
                     handlers: Mapping[str, Handler] | None = None) -> None:
    """Register the admin API of `mock` on `app` (an application serving that mock).

    token: required as `Authorization: Bearer <token>` on every admin request; None leaves
    the API open (only for a server bound to loopback: `mockidm serve` enforces it).
    validate_responses: check every successful answer against the admin spec (for tests).
    """
    if token is not None and not token:
        raise ValueError("an empty admin token protects nothing")
    handlers = HANDLERS if handlers is None else handlers
    spec = load_spec(admin_spec_path(), validate_responses=validate_responses)
    declared = {op.operation_id for op in spec.operations}
    missing, extra = declared - handlers.keys(), handlers.keys() - declared
    if missing or extra:
        raise SpecError(f"admin operations without a handler: {sorted(missing)}; "
                        f"admin handlers without an operation: {sorted(extra)}")
    guard = Guard(token)
    by_path: dict[str, list[Operation]] = {}
    for op in spec.operations:
        if not op.path.startswith(PREFIX + "/"):
            raise SpecError(f"admin operation {op.operation_id} is outside {PREFIX}/")
        by_path.setdefault(op.path, []).append(op)
    for path, operations in by_path.items():
        resource = app.router.add_resource(path)
        for op in operations:
            raw = spec.document["paths"][path][op.method.lower()]
            required = bool(raw.get("requestBody", {}).get("required", False))
            route = _Route(mock, guard, op, handlers[op.operation_id], required,
                           validate_responses)
            resource.add_route(op.method, route.handle)
        resource.add_route("*", _not_allowed(guard, [op.method for op in operations]))
    # Indexed under /__mockidm, so it wins over the application's catch-all for "/".
    app.router.add_route("*", PREFIX + r"/{tail:[\s\S]*}", _unknown(guard))
