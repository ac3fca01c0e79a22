"""Refusals (docs/common-rest.md, docs/authentication.md): negative checks, safe on a
production server.

None of these requests can start a process even on a server that wrongly accepts them: every
create names a key or id that does not exist, or none at all.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import requests

from .. import expect, shapes
from ..rules import rule
from ..target import Target, json_body

_START = "workflow/processinstance"
_NOT_NULL = "processDefinitionKey and processDefinitionId are null"
# What Guava's HtmlEscapers leaves: no raw ' " < >, and & only in the five entities.
_ESCAPED = re.compile(r"^(?:[^'\"<>&]|&(?:#39|quot|amp|lt|gt);)*$")
UNAUTHORIZED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}


def _create(t: Target, body: Any = None, *, data: str | None = None,
            headers: dict[str, str | None] | None = None,
            action: str = "create") -> requests.Response:
    return t.attempt("POST", _START, params={"_action": action}, json=body, data=data,
                     headers=headers)


@rule("unknown-key-404",
      "Starting an unknown `_key` is 404 `no processes deployed with key '<key>'`.",
      "docs/process-instances.md#start")
def unknown_key_404(t: Target) -> None:
    key = t.unique("noSuchKey")
    expect.error(t, _create(t, {"_key": key}), 404, f"POST {_START}?_action=create, unknown _key",
                 f"no processes deployed with key '{key}'")


@rule("unknown-definition-id-404",
      "An unknown `_processDefinitionId` (start or read) is 404 `no deployed process "
      "definition found with id '<id>'`.",
      "docs/process-definitions.md#read, docs/process-instances.md#start")
def unknown_definition_id_404(t: Target) -> None:
    definition_id = f"{t.unique('noSuchKey')}:1:1"
    message = f"no deployed process definition found with id '{definition_id}'"
    expect.error(t, _create(t, {"_processDefinitionId": definition_id}), 404,
                 f"POST {_START}?_action=create, unknown _processDefinitionId", message)
    expect.error(t, t.get(f"workflow/processdefinition/{definition_id}"), 404,
                 "GET workflow/processdefinition/<unknown id>", message)


@rule("neither-key-nor-id-500",
      "A start with neither `_key` nor `_processDefinitionId` (`{}`, other fields, `null`) is "
      f"500 `{_NOT_NULL}`.", "docs/process-instances.md#start")
def neither_key_nor_id_500(t: Target) -> None:
    for label, body, data in (("{}", {}, None),
                              ("only a variable", {"mockidmContractVariable": "x"}, None),
                              ("null", None, "null")):
        expect.error(t, _create(t, body, data=data), 500,
                     f"POST {_START}?_action=create with body {label}", _NOT_NULL)


@rule("malformed-body-400",
      "A start whose body is not JSON, not a JSON object, or has no Content-Type is 400 with "
      "Common REST's message.",
      "docs/common-rest.md#request-checks, docs/process-instances.md#start")
def malformed_body_400(t: Target) -> None:
    prefix = "The request could not be processed because "
    key = t.unique("noSuchKey")
    cases: tuple[tuple[str, str, dict[str, str | None], str], ...] = (
        ("malformed JSON", '{"_key":', {}, prefix + "the provided content is not valid JSON"),
        ("a JSON array", f'[{{"_key": "{key}"}}]', {},
         prefix + "the provided content is not a JSON object"),
        ("no Content-Type", f'{{"_key": "{key}"}}', {"Content-Type": None},
         prefix + "the  content-type was not specified and is required"),
    )
    for label, data, headers, message in cases:
        expect.error(t, _create(t, data=data, headers=headers), 400,
                     f"POST {_START}?_action=create with {label}", message)


@rule("action-not-create-501",
      "POST processinstance with an `_action` other than create is 501 `The ACTION operations "
      "are not supported`.", "docs/process-instances.md#start")
def action_not_create_501(t: Target) -> None:
    response = _create(t, {"_key": t.unique("noSuchKey")}, action="mockidmContractBogus")
    expect.error(t, response, 501, f"POST {_START}?_action=mockidmContractBogus",
                 "The ACTION operations are not supported")


@rule("unknown-query-id-400",
      "An unknown `_queryId` on processinstance or taskinstance is 400 `Unknown query-id`.",
      "docs/common-rest.md#queries")
def unknown_query_id_400(t: Target) -> None:
    for path in (_START, "workflow/taskinstance"):
        response = t.get(path, _queryId="mockidm-contract-nope")
        expect.error(t, response, 400, f"GET {path}?_queryId=mockidm-contract-nope",
                     "Unknown query-id")


def _exactly_unauthorized(t: Target, response: requests.Response, what: str) -> None:
    expect.status(t, response, 401, what)
    body = expect.body(t, response, what)
    core = {k: body.get(k) for k in shapes.ERROR_KEYS} if isinstance(body, dict) else body
    extra = set(body) - {*shapes.ERROR_KEYS, "detail"} if isinstance(body, dict) else set()
    expect.that(core == UNAUTHORIZED and not extra, t, f"{what}: the body", UNAUTHORIZED
                | {"(optional)": "detail"}, response.text[:300], response)


@rule("missing-credentials-401",
      'A request without credentials is 401 {"code":401,"reason":"Unauthorized",'
      '"message":"Access Denied"}.', "docs/authentication.md#failures")
def missing_credentials_401(t: Target) -> None:
    response = t.request("GET", "workflow/processdefinition",
                         params={"_queryId": "query-all-ids"}, auth=False)
    _exactly_unauthorized(t, response, "GET workflow/processdefinition without credentials")
    response = t.attempt("POST", _START, params={"_action": "create"}, auth=False,
                         json={"_key": t.unique("noSuchKey")})
    _exactly_unauthorized(t, response, f"POST {_START}?_action=create without credentials")


@rule("bad-password-401",
      "A wrong password or an unknown user (headers or Basic) is 401 with the same body.",
      "docs/authentication.md#credentials, docs/authentication.md#failures")
def bad_password_401(t: Target) -> None:
    wrong = t.password + "-not"
    basic = base64.b64encode(f"{t.user}:{wrong}".encode()).decode("ascii")
    for label, headers in (
            ("a wrong password", {"X-OpenIDM-Username": t.user, "X-OpenIDM-Password": wrong}),
            ("an unknown user", {"X-OpenIDM-Username": t.unique("nobody"),
                                 "X-OpenIDM-Password": t.password}),
            ("Basic with a wrong password", {"Authorization": f"Basic {basic}"})):
        response = t.request("GET", "workflow/processdefinition",
                             params={"_queryId": "query-all-ids"}, headers=headers, auth=False)
        _exactly_unauthorized(t, response, f"GET workflow/processdefinition with {label}")


def _check_envelope(t: Target, response: requests.Response, status: int, reason: str,
                    what: str) -> dict[str, Any]:
    expect.status(t, response, status, what)
    content_type = response.headers.get("Content-Type", "")
    expect.that(content_type.startswith("application/json"), t, f"{what}: Content-Type",
                "application/json; charset=UTF-8", repr(content_type), response)
    body = json_body(response)
    expect.no_problem(shapes.error_envelope(body, status, reason), t, f"{what}: the envelope",
                      response)
    message = body["message"]
    expect.that(isinstance(message, str) and _ESCAPED.match(message) is not None
                and "&#39;" in message, t, f"{what}: the message, HTML-escaped as IDM does",
                "quotes written &#39; and no raw ' \" < >", repr(message), response)
    return body


@rule("error-envelope",
      "Errors are JSON {code, reason, message[, detail]}: code = the status, reason its phrase, "
      "message HTML-escaped.", "docs/common-rest.md#errors")
def error_envelope(t: Target) -> None:
    name = t.unique("nope")
    _check_envelope(t, t.get(f"workflow/{name}"), 404, "Not Found",
                    f"GET workflow/{name} (an unknown resource)")
    response = t.get(_START, _queryId="filtered-query", _pageSize="mockidm")
    _check_envelope(t, response, 400, "Bad Request",
                    f"GET {_START}?_queryId=filtered-query&_pageSize=mockidm")
