"""Deliberately broken servers: the mock with the samples deployed, broken in ONE way each.

Each entry names the rule of the contract kit it must break (and only that rule). They are
how we know a rule can fail: a check that passes against every server checks nothing.
Breakages are made the way a real server could get them wrong: an engine that picks another
definition, a provider that maps an error to the wrong status, a filter in front of the API
that rewrites headers or bodies.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from mockidm import Engine, Identity, create_app, get_profile
from mockidm.engine import EngineError, InstanceQuery, ObjectNotFound
from mockidm.samples import deploy_samples

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Broken:
    name: str
    rule: str  # the one rule of the kit this server breaks
    what: str
    app: Callable[[], web.Application]

    def __str__(self) -> str:
        return self.name


BROKEN: list[Broken] = []


def broken(name: str, rule: str, what: str) -> Callable[[Callable[[], web.Application]],
                                                        Callable[[], web.Application]]:
    def register(factory: Callable[[], web.Application]) -> Callable[[], web.Application]:
        BROKEN.append(Broken(name, rule, what, factory))
        return factory
    return register


def mock_app(engine: Engine | None = None, *, middleware: Middleware | None = None,
             identity: Identity | None = None, profile: str = "8.1",
             samples: bool = True) -> web.Application:
    """The mock as `mockidm serve` runs it (the samples deployed), optionally with a filter."""
    if engine is None:
        engine = Engine()
    if samples:
        deploy_samples(engine)
    app = create_app(engine, identity=identity, profile=profile)
    if middleware is not None:
        app.middlewares.append(web.middleware(middleware))
    return app


Journal = list[tuple[str, str, int]]


def recording(journal: Journal) -> Middleware:
    """A filter that notes every request it passes: (method, path with query, status)."""
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        journal.append((request.method, request.path_qs, response.status))
        return response
    return record


def _json_rewrite(transform: Callable[[web.Request, web.Response, Any], Any]) -> Middleware:
    """A filter in front of the API that edits JSON answers."""
    async def rewrite(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if isinstance(response, web.Response) and response.content_type == "application/json" \
                and isinstance(response.body, bytes) and response.body:
            response.body = json.dumps(transform(request, response, json.loads(response.body)))
        return response
    return rewrite


def _is_start(request: web.Request) -> bool:
    return request.method == "POST" and request.path.rstrip("/").endswith(
        "/workflow/processinstance")


def _with_headers(request: web.Request, **changes: str | None) -> web.Request:
    headers = CIMultiDict(request.headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        headers.popall(name, None)
        if value is not None:
            headers[name] = value
    return request.clone(headers=headers)


def _error_body(status: int, reason: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps({"code": status, "reason": reason, "message": message}))


# Starting processes ---------------------------------------------------------------------------

class _OldestVersion(Engine):
    def latest_definition(self, key: str) -> Any:
        found = self.store.versions.get(key)
        if not found:
            raise ObjectNotFound(f"no processes deployed with key '{key}'")
        return found[0]


@broken("latest-is-oldest", "key-starts-latest", "`_key` starts the oldest version")
def latest_is_oldest() -> web.Application:
    return mock_app(_OldestVersion())


class _KeyFirst(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              **kwargs: Any) -> Any:
        if key is not None:
            definition_id = None
        return super().start(key=key, definition_id=definition_id, **kwargs)


@broken("key-beats-definition-id", "definition-id-wins",
        "`_key` is preferred over `_processDefinitionId`")
def key_beats_definition_id() -> web.Application:
    return mock_app(_KeyFirst())


@broken("create-answers-200", "create-response-shape", "a start answers 200, not 201")
def create_answers_200() -> web.Application:
    async def ok(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if _is_start(request) and response.status == 201:
            response.set_status(200)
        return response
    return mock_app(middleware=ok)


class _NoBusinessKey(Engine):
    def start(self, **kwargs: Any) -> Any:
        return super().start(**{**kwargs, "business_key": None})


@broken("business-key-dropped", "business-key-returned", "`_businessKey` is dropped")
def business_key_dropped() -> web.Application:
    return mock_app(_NoBusinessKey())


class _BusinessKeyFilterIgnored(Engine):
    def query_instances(self, query: InstanceQuery) -> Any:
        return super().query_instances(dataclasses.replace(query, business_key=None))


@broken("business-key-filter-ignored", "business-key-query",
        "the `processInstanceBusinessKey` filter is ignored")
def business_key_filter_ignored() -> web.Application:
    return mock_app(_BusinessKeyFilterIgnored())


class _NoVariables(Engine):
    def start(self, **kwargs: Any) -> Any:
        return super().start(**{**kwargs, "variables": {}})


@broken("variables-dropped", "extra-fields-are-variables",
        "extra body fields do not become variables")
def variables_dropped() -> web.Application:
    return mock_app(_NoVariables())


class _DeleteDoesNothing(Engine):
    def delete_instance(self, instance_id: str, reason: str = "") -> Any:
        return self.running_instance(instance_id)


@broken("delete-keeps-running", "delete-instance", "DELETE answers 200 and deletes nothing")
def delete_keeps_running() -> web.Application:
    return mock_app(_DeleteDoesNothing())


# Refusals ---------------------------------------------------------------------------------------

class _UnknownKey500(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              **kwargs: Any) -> Any:
        if definition_id is None and key is not None and self.store.latest(key) is None:
            raise EngineError(f"no processes deployed with key '{key}'")
        return super().start(key=key, definition_id=definition_id, **kwargs)


@broken("unknown-key-500", "unknown-key-404", "an unknown `_key` is 500, not 404")
def unknown_key_500() -> web.Application:
    return mock_app(_UnknownKey500())


class _UnknownDefinition500(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              **kwargs: Any) -> Any:
        if definition_id is not None and definition_id not in self.store.definitions:
            raise EngineError(f"no deployed process definition found with id '{definition_id}'")
        return super().start(key=key, definition_id=definition_id, **kwargs)


@broken("unknown-definition-id-500", "unknown-definition-id-404",
        "an unknown `_processDefinitionId` start is 500, not 404")
def unknown_definition_id_500() -> web.Application:
    return mock_app(_UnknownDefinition500())


class _Neither404(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              **kwargs: Any) -> Any:
        if key is None and definition_id is None:
            raise ObjectNotFound("processDefinitionKey and processDefinitionId are null")
        return super().start(key=key, definition_id=definition_id, **kwargs)


@broken("neither-is-404", "neither-key-nor-id-500",
        "a start without `_key` and `_processDefinitionId` is 404, not 500")
def neither_is_404() -> web.Application:
    return mock_app(_Neither404())


@broken("malformed-json-500", "malformed-body-400", "a body that is not JSON is 500, not 400")
def malformed_json_500() -> web.Application:
    async def parse_first(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _is_start(request) and "X-OpenIDM-Username" in request.headers:
            try:
                json.loads(await request.read())
            except ValueError as exc:
                return _error_body(500, "Internal Server Error", html.escape(str(exc)))
        return await handler(request)
    return mock_app(middleware=parse_first)


@broken("any-action-creates", "action-not-create-501",
        "POST processinstance with any `_action` is a create")
def any_action_creates() -> web.Application:
    async def create(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _is_start(request) and request.query.get("_action", "create") != "create":
            request = request.clone(rel_url=request.rel_url.update_query(_action="create"))
        return await handler(request)
    return mock_app(middleware=create)


@broken("unknown-query-id-answered", "unknown-query-id-400",
        "an unknown `_queryId` answers as query-all-ids")
def unknown_query_id_answered() -> web.Application:
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.query.get("_queryId", "query-all-ids") not in (
                "query-all-ids", "filtered-query", "gettasksview"):
            request = request.clone(
                rel_url=request.rel_url.update_query(_queryId="query-all-ids"))
        return await handler(request)
    return mock_app(middleware=answer)


@broken("no-credentials-403", "missing-credentials-401",
        "a request without credentials is 403, not 401")
def no_credentials_403() -> web.Application:
    async def forbid(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not ({"X-OpenIDM-Username", "Authorization", "Cookie"} & set(request.headers)):
            return _error_body(403, "Forbidden", "Access denied")
        return await handler(request)
    return mock_app(middleware=forbid)


class _AnyPassword(Identity):
    def authenticate(self, name: str, password: str) -> Any:
        return self.users.get(name)


@broken("any-password", "bad-password-401", "a known user gets in with any password")
def any_password() -> web.Application:
    profile = get_profile("8.1")
    identity = _AnyPassword(profile)
    identity.users = Identity.default(profile).users
    identity.process_access = Identity.default(profile).process_access
    return mock_app(identity=identity)


def _rename_reason(request: web.Request, response: web.Response, body: Any) -> Any:
    if response.status >= 400 and response.status != 401 and isinstance(body, dict):
        return {("error" if k == "reason" else k): v for k, v in body.items()}
    return body


@broken("error-reason-renamed", "error-envelope",
        "errors (other than the auth filter's 401) say `error` instead of `reason`")
def error_reason_renamed() -> web.Application:
    return mock_app(middleware=_json_rewrite(_rename_reason))


def _unescape(request: web.Request, response: web.Response, body: Any) -> Any:
    if response.status >= 400 and isinstance(body, dict) and "message" in body:
        return {**body, "message": html.unescape(body["message"])}
    return body


@broken("error-message-unescaped", "error-envelope", "error messages are not HTML-escaped")
def error_message_unescaped() -> web.Application:
    return mock_app(middleware=_json_rewrite(_unescape))


# What every answer shares -----------------------------------------------------------------------

def _old_envelope(request: web.Request, response: web.Response, body: Any) -> Any:
    if isinstance(body, dict) and "resultCount" in body:
        return {k: v for k, v in body.items()
                if k not in ("totalPagedResults", "remainingPagedResults")}
    return body


@broken("envelope-without-totals", "query-envelope",
        "queries answer OpenIDM 4's envelope, without the totals")
def envelope_without_totals() -> web.Application:
    return mock_app(middleware=_json_rewrite(_old_envelope))


def _numeric(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: int(v) if k == "_rev" and isinstance(v, str) else _numeric(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_numeric(v) for v in value]
    return value


@broken("numeric-rev", "rev-is-string", "`_rev` is written as a number")
def numeric_rev() -> web.Application:
    return mock_app(middleware=_json_rewrite(lambda request, response, body: _numeric(body)))


@broken("etag-added", "no-etag", "every answer carries an ETag")
def etag_added() -> web.Application:
    async def etag(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers["ETag"] = '"1"'
        return response
    return mock_app(middleware=etag)


@broken("no-content-api-version", "content-api-version",
        "an 8.1 server that writes no Content-API-Version")
def no_content_api_version() -> web.Application:
    async def strip(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.popall("Content-API-Version", None)
        return response
    return mock_app(middleware=strip)


@broken("resource-version-ignored", "unsupported-resource-version",
        "an 8.1 server that serves any resource version")
def resource_version_ignored() -> web.Application:
    async def ignore(request: web.Request, handler: Handler) -> web.StreamResponse:
        if "resource=" in request.headers.get("Accept-API-Version", ""):
            request = _with_headers(request, Accept_API_Version="resource=1.0")
        return await handler(request)
    return mock_app(middleware=ignore)


@broken("malformed-api-version-ignored", "malformed-api-version-400",
        "a malformed Accept-API-Version is ignored")
def malformed_api_version_ignored() -> web.Application:
    async def ignore(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = request.headers.get("Accept-API-Version")
        if value is not None and not value.replace(" ", "").startswith(
                ("resource=", "protocol=")):
            request = _with_headers(request, Accept_API_Version=None)
        return await handler(request)
    return mock_app(middleware=ignore)


# Tasks ------------------------------------------------------------------------------------------

class _ClaimDoesNothing(Engine):
    def claim(self, task_id: str, user: str | None) -> Any:
        return self.task(task_id)


@broken("claim-does-not-assign", "claim-and-complete", "claim answers 200 and assigns nobody")
def claim_does_not_assign() -> web.Application:
    return mock_app(_ClaimDoesNothing())


class _CompleteKeepsTask(Engine):
    def complete(self, task_id: str, variables: Any = None) -> Any:
        task = self.task(task_id)
        self.store.instances[task.instance_id].variables.update(variables or {})
        return task


@broken("complete-keeps-task", "claim-and-complete",
        "complete answers 200 and the task stays active")
def complete_keeps_task() -> web.Application:
    return mock_app(_CompleteKeepsTask())


# The schema-driven rules (mockidm.contract.checks) ---------------------------------------------
# Schemathesis examples per operation a run needs to meet every break below for sure: a fault
# that shows only for some generated inputs (a start by `_key` of a key in two versions with a
# variable that is not a string) is met with 3 or 4 only if the answers the run meets on its
# way lead the generator there.
EXAMPLES_TO_SHOW_EVERY_BREAK = 6
# Each breaks only for inputs that the example-based rules never send but generated ones do, so
# the targeted rules all pass and the fault is the schema-driven rule's alone.

class _OldestForTypedVariables(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              variables: Any = None, **kwargs: Any) -> Any:
        # A start whose variables are not all strings takes another path (typed variables),
        # which resolves the key to the first version deployed.
        typed = any(not isinstance(v, str) for v in (variables or {}).values())
        if key is not None and definition_id is None and typed and self.store.versions.get(key):
            definition_id = self.store.versions[key][0].id
        return super().start(key=key, definition_id=definition_id, variables=variables,
                             **kwargs)


@broken("oldest-for-typed-variables", "fuzz-key-starts-latest",
        "a start by `_key` with a variable that is not a string starts the oldest version")
def oldest_for_typed_variables() -> web.Application:
    return mock_app(_OldestForTypedVariables())


class _KeyWinsWithBusinessKey(Engine):
    def start(self, *, key: str | None = None, definition_id: str | None = None,
              business_key: str | None = None, **kwargs: Any) -> Any:
        if business_key is not None and key is not None:
            definition_id = None  # the "by key and business key" path ignores the id
        return super().start(key=key, definition_id=definition_id, business_key=business_key,
                             **kwargs)


@broken("key-wins-with-business-key", "fuzz-definition-id-wins",
        "with a `_businessKey`, `_key` is preferred over `_processDefinitionId`")
def key_wins_with_business_key() -> web.Application:
    return mock_app(_KeyWinsWithBusinessKey())


_PLAIN = re.compile(r"[A-Za-z0-9._-]*")


@broken("business-key-filter-dropped-if-unusual", "fuzz-business-key-query",
        "a filter in front of the API drops a `processInstanceBusinessKey` with a character "
        "outside [A-Za-z0-9._-], so the query answers every instance")
def business_key_filter_dropped_if_unusual() -> web.Application:
    async def drop(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = request.query.get("processInstanceBusinessKey")
        if value is not None and not _PLAIN.fullmatch(value):
            query = request.rel_url.query.copy()
            query.popall("processInstanceBusinessKey")
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return await handler(request)
    return mock_app(middleware=drop)


def _latin1_business_key(request: web.Request, response: web.Response, body: Any) -> Any:
    parts = request.path.rstrip("/").split("/")
    read = request.method == "GET" and "processinstance" in parts[-3:-1]
    if read and isinstance(body, dict) and isinstance(body.get("businessKey"), str):
        key = body["businessKey"].encode("latin-1", "replace").decode("latin-1")
        return {**body, "businessKey": key}
    return body


@broken("business-key-read-as-latin-1", "fuzz-business-key-read",
        "instance reads send the business key through latin-1: other characters come back "
        "as `?`")
def business_key_read_as_latin_1() -> web.Application:
    return mock_app(middleware=_json_rewrite(_latin1_business_key))


def _without_start_form(request: web.Request, response: web.Response, body: Any) -> Any:
    parts = request.path.rstrip("/").split("/")
    if request.method == "GET" and parts[-2:-1] == ["processdefinition"] \
            and response.status == 200 and isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "startFormHandler"}
    return body


@broken("definition-read-without-start-form", "fuzz-conformance",
        "a process definition read leaves out `startFormHandler`, which its contract requires")
def definition_read_without_start_form() -> web.Application:
    return mock_app(middleware=_json_rewrite(_without_start_form))


@broken("history-knows-finished-only", "fuzz-stateful-links",
        "the history read of a running instance is 404: it knows finished instances only")
def history_knows_finished_only() -> web.Application:
    async def finished_only(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        parts = request.path.rstrip("/").split("/")
        if request.method == "GET" and parts[-3:-1] == ["processinstance", "history"] \
                and response.status == 200 and isinstance(response, web.Response) \
                and isinstance(response.body, bytes):
            body = json.loads(response.body)
            if isinstance(body, dict) and body.get("endTime") is None:
                return _error_body(404, "Not Found", "Not Found")
        return response
    return mock_app(middleware=finished_only)


# Queries ------------------------------------------------------------------------------------

@broken("cookie-ignored", "paging-when-paged",
        "the server pages but a filter in front of the API drops `_pagedResultsCookie`: every "
        "page is the first")
def cookie_ignored() -> web.Application:
    async def drop(request: web.Request, handler: Handler) -> web.StreamResponse:
        if "_pagedResultsCookie" in request.query:
            query = request.rel_url.query.copy()
            query.popall("_pagedResultsCookie")
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return await handler(request)
    return mock_app(middleware=drop)


@broken("execution-event-filters-ignored", "execution-event-filters",
        "`workflow/execution` ignores `messageName` and `signalName` (the mock before issue 18): "
        "a query for a message nothing waits for lists every execution")
def execution_event_filters_ignored() -> web.Application:
    async def drop(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.rstrip("/").endswith("/workflow/execution") and (
                "messageName" in request.query or "signalName" in request.query):
            query = request.rel_url.query.copy()
            query.popall("messageName", None)
            query.popall("signalName", None)
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return await handler(request)
    return mock_app(middleware=drop)
