"""The inspector's pages and actions (see `mockidm.ui`).

Pages are rendered on the server with Jinja2, every value escaped; `static/ui.js` makes them
live: it listens to `events` (server-sent, with aiohttp-sse) and re-renders the page's live
parts when the mock receives a request. Forms post here and are answered with a redirect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import jinja2
from aiohttp import web
from aiohttp_sse import sse_response
from yarl import URL

from ..engine import EngineError, ObjectNotFound, ProcessDefinition, Task
from ..engine.diagram_geometry import diagram, is_event, is_gateway
from ..engine.jobs import JobRun
from ..engine.model import FormProperty
from ..http.faults import FAULT_FIELDS
from ..http.journal import Exchange
from . import PREFIX
from .path import progress

if TYPE_CHECKING:
    from ..facade import MockIDM

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
JOURNAL_SHOWN = 100  # the newest requests the journal page lists (it is re-rendered live)
USER_AGENT = "mockidm-inspector"  # how its requests as a user show in the journal
POLL_SECONDS = 0.5  # how often the live stream looks at the journal
SECURITY_HEADERS = {
    # Nothing but this server's own files; no page may frame the inspector.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Page = Callable[[web.Request, re.Match[str]], Awaitable[web.StreamResponse]]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["ui"] = PREFIX
    env.filters["json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False,
                                                   default=str, sort_keys=True)
    env.filters["when"] = _when
    env.tests["event"] = is_event
    env.tests["gateway"] = is_gateway
    env.filters["points"] = lambda points: " ".join(f"{x:g},{y:g}" for x, y in points)
    return env


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Acted:
    """What the mock's API answered to a request the inspector sent as a user."""

    status: int
    message: str
    content: Any = None  # the answer's JSON


class Inspector:
    def __init__(self, mock: MockIDM, closing: asyncio.Event) -> None:
        self.mock, self.closing = mock, closing
        self.env = _environment()
        get: list[tuple[str, Page]] = [
            (r"/?", self.definitions_page),
            (r"/definitions/(?P<id>[^/]+)", self.definition_page),
            (r"/instances", self.instances_page),
            (r"/instances/(?P<id>[^/]+)", self.instance_page),
            (r"/tasks", self.tasks_page),
            (r"/journal", self.journal_page),
            (r"/journal/(?P<seq>\d+)", self.exchange_page),
            (r"/controls", self.controls_page),
            (r"/snapshot", self.snapshot_download),
            (r"/events", self.events),
            (r"/static/(?P<name>[\w.-]+)", self.static),
        ]
        post: list[tuple[str, Page]] = [
            (r"/tasks/(?P<id>[^/]+)/(?P<action>claim|assign|complete)", self.act_on_task),
            (r"/definitions/(?P<id>[^/]+)/start", self.start_instance),
            (r"/controls/clock", self.set_clock),
            (r"/controls/faults", self.add_fault),
            (r"/controls/faults/clear", self.clear_faults),
            (r"/controls/reset", self.reset),
            (r"/controls/restore", self.restore),
        ]
        self.routes = {"GET": [(re.compile(p + "$"), page) for p, page in get],
                       "POST": [(re.compile(p + "$"), page) for p, page in post]}

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(PREFIX):]
        method = "GET" if request.method == "HEAD" else request.method
        if path == "":
            raise web.HTTPFound(PREFIX + "/")
        for pattern, page in self.routes.get(method, []):
            match = pattern.match(path)
            if match:
                try:
                    return await page(request, match)
                except ObjectNotFound as exc:
                    return self._render("missing.html", {"message": exc.message}, status=404)
        allowed = [m for m, routes in self.routes.items()
                   if any(p.match(path) for p, _ in routes)]
        if allowed:
            return web.Response(status=405, text=f"use {', '.join(allowed)}",
                                headers={"Allow": ", ".join(allowed)})
        return self._render("missing.html", {"message": f"no inspector page at {request.path}"},
                            status=404)

    # rendering -----------------------------------------------------------------------------

    def _render(self, template: str, context: dict[str, Any], status: int = 200,
                request: web.Request | None = None) -> web.Response:
        clock = self.mock.clock()
        text = self.env.get_template(template).render(
            clock=clock, profile=self.mock.profile.name,
            note=request.query.get("note") if request is not None else None,
            note_ok=request.query.get("ok") == "1" if request is not None else True,
            **context)
        return web.Response(text=text, status=status, content_type="text/html",
                            charset="utf-8", headers=SECURITY_HEADERS)

    def _diagram(self, definition: ProcessDefinition) -> Any:
        return diagram(definition.model, self.mock.bpmn_source(definition))

    # definitions ---------------------------------------------------------------------------

    async def definitions_page(self, request: web.Request, match: re.Match[str]
                               ) -> web.Response:
        with self.mock.lock:
            definitions = self.mock.definitions()
            running = {d.id: 0 for d in definitions}
            for instance in self.mock.instances(ended=False):
                running[instance.definition.id] = running.get(instance.definition.id, 0) + 1
            return self._render("definitions.html", {"definitions": definitions,
                                                     "running": running}, request=request)

    async def definition_page(self, request: web.Request, match: re.Match[str]
                              ) -> web.Response:
        definition = self._definition(match["id"])
        with self.mock.lock:
            model = definition.model
            forms = [(node, node.form_properties) for node in model.nodes.values()
                     if node.form_properties or node.form_key]
            start_form = [_field(p) for p in model.start.form_properties if p.readable]
            return self._render("definition.html", {
                "definition": definition, "model": model, "diagram": self._diagram(definition),
                "progress": None, "forms": forms, "start_form": start_form,
                "users": self._user_names(), "back": request.path_qs}, request=request)

    async def start_instance(self, request: web.Request, match: re.Match[str]
                             ) -> web.Response:
        """Start an instance of this exact definition, as the chosen user, with the start
        form's values and a business key, through the mock's API."""
        form = await request.post()
        with self.mock.lock:
            definition = self._definition(match["id"])
            properties = definition.model.start.form_properties
        try:
            body = {"_processDefinitionId": definition.id, **_variables(properties, form)}
        except ValueError as exc:
            return _back(request, form, f"not sent: {exc}", ok=False)
        business_key = str(form.get("businessKey") or "")
        if business_key:
            body["_businessKey"] = business_key
        acted = await self._as_user(request, str(form.get("as") or ""), "POST",
                                    "/openidm/workflow/processinstance",
                                    {"_action": "create"}, body)
        back: Any = form
        if acted.status == 201 and isinstance(acted.content, dict):
            back = {"back": f"{PREFIX}/instances/{acted.content.get('_id')}"}
        return _back(request, back, acted.message, ok=acted.status < 400)

    def _definition(self, definition_id: str) -> ProcessDefinition:
        for definition in self.mock.definitions():
            if definition.id == definition_id:
                return definition
        raise ObjectNotFound(f"no deployed process definition {definition_id}")

    # instances -----------------------------------------------------------------------------

    async def instances_page(self, request: web.Request, match: re.Match[str]
                             ) -> web.Response:
        query = request.query
        key, business_key = query.get("key") or None, query.get("businessKey") or None
        state, starter = query.get("state", "running"), query.get("starter") or None
        ended = {"running": False, "ended": True}.get(state)
        with self.mock.lock:
            instances = [i for i in self.mock.instances(key, business_key=business_key,
                                                        ended=ended)
                         if starter is None or i.start_user == starter]
            keys = sorted({d.key for d in self.mock.definitions()})
            return self._render("instances.html", {
                "instances": instances[-500:][::-1], "total": len(instances), "keys": keys,
                "filters": {"key": key or "", "businessKey": business_key or "",
                            "state": state, "starter": starter or ""}}, request=request)

    async def instance_page(self, request: web.Request, match: re.Match[str]
                            ) -> web.Response:
        mock = self.mock
        with mock.lock:
            instance = mock.instance(match["id"])
            history = mock.task_history(instance.id)
            active = [t for t in history if t.active]
            called = [i for i in mock.instances() if i.super_instance_id == instance.id]
            idm_calls = [c for c in mock.idm_calls() if c["processInstanceId"] == instance.id]
            timers = [job for dead in (False, True) for job in mock.jobs(dead_letter=dead)
                      if job.instance_id == instance.id]
            return self._render("instance.html", {
                "instance": instance, "definition": instance.definition,
                "diagram": self._diagram(instance.definition),
                "progress": progress(instance, history), "history": history,
                "tasks": [self._task_view(t) for t in active], "users": self._user_names(),
                "called": called, "idm_calls": idm_calls, "timers": timers,
                "back": request.path_qs}, request=request)

    # tasks ---------------------------------------------------------------------------------

    async def tasks_page(self, request: web.Request, match: re.Match[str]) -> web.Response:
        with self.mock.lock:
            tasks = [self._task_view(t) for t in self.mock.tasks()]
            return self._render("tasks.html", {"tasks": tasks, "users": self._user_names(),
                                               "back": request.path_qs}, request=request)

    def _user_names(self) -> list[str]:
        return [user.name for user in self.mock.users()]

    def _task_view(self, task: Task) -> dict[str, Any]:
        """A task with who may act on it and the form to complete it."""
        return {"task": task, "may_update": self.mock.may_update(task),
                "form": [_field(p) for p in task.node.form_properties if p.readable]}

    async def act_on_task(self, request: web.Request, match: re.Match[str]
                          ) -> web.StreamResponse:
        form = await request.post()
        user = str(form.get("as") or "")
        task_id, action = match["id"], match["action"]
        if task_id in (".", ".."):  # a URL would climb out of the task's resource
            raise ObjectNotFound(f"no task {task_id}")
        target = f"/openidm/workflow/taskinstance/{quote(task_id, safe='')}"
        if action == "claim":
            acted = await self._as_user(request, user, "POST", target, {"_action": "claim"},
                                        {"userId": str(form.get("userId") or user)})
        elif action == "assign":
            assignee = str(form.get("assignee") or "") or None
            acted = await self._as_user(request, user, "PUT", target, {},
                                        {"assignee": assignee}, {"If-Match": "*"})
        else:
            with self.mock.lock:
                properties = next((t.node.form_properties for t in self.mock.tasks()
                                   if t.id == task_id), ())
            try:
                variables = _variables(properties, form)
            except ValueError as exc:
                return _back(request, form, f"not sent: {exc}", ok=False)
            acted = await self._as_user(request, user, "POST", target,
                                        {"_action": "complete"}, variables)
        return _back(request, form, acted.message, ok=acted.status < 400)

    async def _as_user(self, request: web.Request, user: str, method: str, path: str,
                       query: dict[str, str], body: Any,
                       headers: dict[str, str] | None = None) -> Acted:
        """Send a request to this server's IDM API as `user` (with the password the mock
        holds for it): the access rules judge it and the journal records it."""
        try:
            password = self.mock.user(user).password
        except KeyError:
            return Acted(400, f"no user {user!r} in the mock")
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        if not sock:
            return Acted(500, "the inspector cannot tell this server's address")
        host = f"[{sock[0]}]" if ":" in sock[0] else sock[0]
        url = URL(f"http://{host}:{sock[1]}{path}").with_query(query)
        sent = {"X-OpenIDM-Username": user, "X-OpenIDM-Password": password,
                "X-OpenIDM-NoSession": "true", "User-Agent": USER_AGENT, **(headers or {})}
        what = f"{method} {path}{'?' + url.query_string if query else ''} as {user}"
        try:
            async with aiohttp.ClientSession() as session, session.request(
                    method, url, json=body, headers=sent) as answer:
                raw = await answer.read()
        except aiohttp.ClientError as exc:  # a scripted fault may drop the connection
            return Acted(502, f"{what}: no answer ({type(exc).__name__}: {exc})")
        try:
            content = json.loads(raw) if raw else None
        except ValueError:
            content = raw.decode("utf-8", "replace")
        if answer.status >= 400:
            message = content.get("message") if isinstance(content, dict) else content
            return Acted(answer.status, f"{what}: {answer.status} {message}")
        return Acted(answer.status, f"{what}: {answer.status}", content)

    # journal -------------------------------------------------------------------------------

    async def journal_page(self, request: web.Request, match: re.Match[str]) -> web.Response:
        query = request.query
        operation = query.get("operation") or None
        user = query.get("user") or None
        status_text = query.get("status") or ""
        status = int(status_text) if status_text.isdigit() else None
        entries = self.mock.requests(operation, status=status, user=user)
        explanation = None
        if not entries and (operation or status or user):
            explanation = self.mock.explain(operation)
        return self._render("journal.html", {
            "entries": entries[-JOURNAL_SHOWN:][::-1], "total": len(entries),
            "explanation": explanation,
            "operations": sorted({e.operation for e in self.mock.requests() if e.operation}),
            "filters": {"operation": operation or "", "status": status_text,
                        "user": user or ""}}, request=request)

    async def exchange_page(self, request: web.Request, match: re.Match[str]) -> web.Response:
        seq = int(match["seq"])
        found = [e for e in self.mock.requests() if e.seq == seq]
        if not found:
            raise ObjectNotFound(f"request #{seq} is not in the journal (any more)")
        return self._render("exchange.html", {"exchange": found[0].to_json()}, request=request)

    async def events(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        """Server-sent events, looked for every POLL_SECONDS: `requests` (the new journal
        entries, oldest first, the last 100 of them), `cleared` (the journal was emptied) and
        `changed` (the state changed without a request: from Python or the admin API)."""
        last = _last_seq(self.mock.journal.entries())  # before the client hears of the stream
        mark = self.mock.state_mark()
        async with sse_response(request, headers=SECURITY_HEADERS) as stream:
            while stream.is_connected() and not self.closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), POLL_SECONDS)
                now = self.mock.state_mark()
                entries = self.mock.journal.entries()
                if now != mark and _last_seq(entries) == last:
                    await stream.send("{}", event="changed")
                mark = now
                newest = entries[-1].seq if entries else 0
                if newest < last:
                    await stream.send("{}", event="cleared")
                    last = newest
                    continue
                fresh = _after(entries, last)
                if fresh:
                    last = fresh[-1].seq
                    await stream.send(json.dumps([_summary(e) for e in fresh[-100:]]),
                                      event="requests")
        return stream

    # controls ------------------------------------------------------------------------------

    async def controls_page(self, request: web.Request, match: re.Match[str]) -> web.Response:
        mock = self.mock
        with mock.lock:
            faults, auth = mock.route_faults(), mock.auth_faults()
            timers = mock.jobs() + mock.jobs(dead_letter=True)
        return self._render("controls.html", {
            "faults": faults, "auth": auth, "problems": mock.problems(), "timers": timers,
            "fields": FAULT_FIELDS, "back": request.path_qs}, request=request)

    async def set_clock(self, request: web.Request, match: re.Match[str]) -> web.Response:
        form = await request.post()
        action = form.get("action")
        try:
            fired: list[JobRun] = []
            if action == "freeze":
                at = str(form.get("at") or "").strip()
                moment = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None
                if moment is not None and moment.tzinfo is None:
                    raise ValueError("a date-time needs an offset (Z or +hh:mm)")
                fired = self.mock.freeze_time(moment)
            elif action == "advance":
                fired = self.mock.advance_time(float(str(form.get("seconds") or "0")))
            elif action == "unfreeze":
                self.mock.unfreeze_time()
            else:
                raise ValueError(f"no clock action {action!r}")
        except ValueError as exc:
            return _back(request, form, f"clock not changed: {exc}", ok=False)
        clock = self.mock.clock()
        ran = "; ".join(f"{run.job.activity} of instance {run.job.instance_id or '(none)'}"
                        + (f" failed: {run.error}" if run.error else "") for run in fired)
        return _back(request, form, f"the clock says {_when(clock.now)}"
                     + (" (frozen)" if clock.frozen else " (running)")
                     + (f"; {len(fired)} timer(s) fired: {ran}" if fired else
                        "; no timer fell due"))

    async def add_fault(self, request: web.Request, match: re.Match[str]) -> web.Response:
        form = await request.post()
        given: dict[str, Any] = {}
        for name in ("method", "path", "operation", "message"):
            if form.get(name):
                given[name] = str(form[name])
        try:
            for name in ("status", "nth", "times"):
                if form.get(name):
                    given[name] = int(str(form[name]))
            for name in ("latency", "seconds"):
                if form.get(name):
                    given[name] = float(str(form[name]))
            if form.get("drop"):
                given["drop"] = True
            fault = self.mock.fault(**given)
        except ValueError as exc:
            return _back(request, form, f"no fault added: {exc}", ok=False)
        return _back(request, form, f"fault added: {fault.describe()}")

    async def clear_faults(self, request: web.Request, match: re.Match[str]) -> web.Response:
        form = await request.post()
        self.mock.clear_faults()
        return _back(request, form, "every scripted failure cleared")

    async def reset(self, request: web.Request, match: re.Match[str]) -> web.Response:
        form = await request.post()
        self.mock.reset()
        return _back(request, form, "the mock is back to its initial state")

    async def snapshot_download(self, request: web.Request, match: re.Match[str]
                                ) -> web.Response:
        body = json.dumps(self.mock.snapshot(), default=str, ensure_ascii=False)
        name = f"mockidm-snapshot-{time.strftime('%Y%m%d-%H%M%S')}.json"
        return web.Response(text=body, content_type="application/json", headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    async def restore(self, request: web.Request, match: re.Match[str]) -> web.Response:
        form = await request.post()
        upload = form.get("snapshot")
        if not isinstance(upload, web.FileField):
            return _back(request, form, "choose a snapshot file first", ok=False)
        try:
            self.mock.restore(json.loads(upload.file.read()))
        except (ValueError, KeyError, TypeError, EngineError) as exc:
            return _back(request, form, f"not restored: {exc}", ok=False)
        return _back(request, form, f"restored {upload.filename}")

    # files ---------------------------------------------------------------------------------

    async def static(self, request: web.Request, match: re.Match[str]) -> web.StreamResponse:
        path = STATIC / match["name"]
        if path.suffix not in STATIC_TYPES or not path.is_file():
            raise ObjectNotFound(f"no file {match['name']}")
        return web.Response(body=path.read_bytes(), content_type=STATIC_TYPES[path.suffix],
                            headers={**SECURITY_HEADERS, "Cache-Control": "max-age=60"})


# helpers ---------------------------------------------------------------------------------

def _field(prop: FormProperty) -> dict[str, Any]:
    return {"id": prop.id, "name": prop.name or prop.id, "type": prop.type or "string",
            "values": prop.values or {}, "required": prop.required,
            "writable": prop.writable, "default": prop.default or "",
            "pattern": prop.date_pattern}


def _variables(properties: tuple[FormProperty, ...], form: Any) -> dict[str, Any]:
    """The body of a complete: each writable form property typed as its form type says
    (empty ones left out), then the extra variables given as a JSON object."""
    variables: dict[str, Any] = {}
    for prop in properties:
        raw = str(form.get(f"var.{prop.id}") or "").strip()
        if not prop.writable or (not raw and prop.type != "boolean"):
            continue
        if prop.type == "long":
            variables[prop.id] = int(raw)
        elif prop.type == "double":
            variables[prop.id] = float(raw)
        elif prop.type == "boolean":
            if raw:
                variables[prop.id] = raw == "true"
        else:
            variables[prop.id] = raw
    extra = str(form.get("extra") or "").strip()
    if extra:
        more = json.loads(extra)
        if not isinstance(more, dict):
            raise ValueError("the extra variables are a JSON object")
        variables.update(more)
    return variables


def _back(request: web.Request, form: Any, note: str, *, ok: bool = True) -> web.Response:
    """Back to the page the form was on (one of the inspector's), with a note."""
    back = str(form.get("back") or "") if form is not None else ""
    if not back.startswith(PREFIX + "/") or "//" in back or "\\" in back:
        back = PREFIX + "/"
    url = URL(back).update_query(note=note, ok="1" if ok else "0")
    return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": str(url)})


def _last_seq(entries: list[Exchange]) -> int:
    return entries[-1].seq if entries else 0


def _after(entries: list[Exchange], seq: int) -> list[Exchange]:
    fresh = []
    for entry in reversed(entries):
        if entry.seq <= seq:
            break
        fresh.append(entry)
    return fresh[::-1]


def _summary(e: Exchange) -> dict[str, Any]:
    return {"seq": e.seq, "time": e.time.isoformat(), "method": e.method, "target": e.target,
            "status": e.status, "operation": e.operation, "user": e.user}

