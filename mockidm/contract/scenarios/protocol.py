"""What every answer shares (docs/common-rest.md): the query envelope, string revisions, no
ETag, API versions."""

from __future__ import annotations

from typing import Any

import requests

from .. import expect, shapes
from ..rules import rule
from ..shapes import ENVELOPE
from ..target import Target, json_body

_DEFINITIONS = "workflow/processdefinition"


def _definitions(t: Target) -> requests.Response:
    response = t.get(_DEFINITIONS, _queryId="query-all-ids")
    if response.status_code != 200:
        response = t.get(_DEFINITIONS, _queryFilter="true")
    return response


def _check_envelope(t: Target, response: requests.Response, what: str,
                    empty: bool = False) -> list[dict[str, Any]]:
    expect.status(t, response, 200, what)
    body = expect.body(t, response, what)
    expect.no_problem(shapes.query_envelope(body), t, f"{what}: the envelope", response)
    result = body["result"]
    expect.that(body["pagedResultsCookie"] is None
                and body["totalPagedResultsPolicy"] in ("NONE", "EXACT", "ESTIMATE")
                and all(isinstance(body[k], int) and body[k] >= -1
                        for k in ("totalPagedResults", "remainingPagedResults")), t,
                f"{what}: paging fields (no paging asked)",
                "pagedResultsCookie null, a count policy, integer totals >= -1",
                {k: body[k] for k in ENVELOPE[2:]}, response)
    if empty:
        expect.that(result == [], t, f"{what}: result", "[]", result, response)
    return result


@rule("query-envelope",
      "Queries answer the six-key envelope; resultCount is the number of items; no match is "
      "`result: []`.", "docs/common-rest.md#queries")
def query_envelope(t: Target) -> None:
    _check_envelope(t, _definitions(t), "GET workflow/processdefinition (all)")
    nothing = t.unique("nothing")
    _check_envelope(t, t.get("workflow/processinstance", _queryId="filtered-query",
                              processDefinitionKey=nothing),
                    "GET workflow/processinstance?_queryId=filtered-query (no match)", empty=True)
    _check_envelope(t, t.get("workflow/taskinstance", _queryId="filtered-query",
                              processInstanceId=nothing),
                    "GET workflow/taskinstance?_queryId=filtered-query (no match)", empty=True)


def _rev_strings(t: Target, response: requests.Response, items: list[Any], what: str) -> None:
    expect.no_problem(shapes.string_revs(items, required=True), t, f"{what}: _rev", response)


@rule("rev-is-string",
      "`_rev` on process definitions and tasks is present and a JSON string.",
      "docs/common-rest.md#answers, docs/process-definitions.md#shape, "
      "docs/task-instances.md#read")
def rev_is_string(t: Target) -> str | None:
    response = _definitions(t)
    items = t.query_result(response, "list the process definitions")
    _rev_strings(t, response, items, "GET workflow/processdefinition items")
    definition = t.any_definition()
    read = t.get(f"{_DEFINITIONS}/{definition.id}")
    expect.status(t, read, 200, f"GET {_DEFINITIONS}/{definition.id}")
    _rev_strings(t, read, [json_body(read)], f"GET {_DEFINITIONS}/{definition.id}")
    if t.read_only:
        return "tasks not checked: read-only mode starts no process"
    instance_id, _, _ = t.instance_with_task()
    response = t.get("workflow/taskinstance", _queryId="filtered-query",
                     processInstanceId=instance_id)
    tasks = t.query_result(response, "query the instance's tasks")
    _rev_strings(t, response, tasks, "GET workflow/taskinstance items")
    read = t.get(f"workflow/taskinstance/{tasks[0]['_id']}")
    expect.status(t, read, 200, "GET workflow/taskinstance/<id>")
    _rev_strings(t, read, [json_body(read)], "GET workflow/taskinstance/<id>")
    return None


@rule("no-etag",
      "Workflow answers (queries, reads, creates, errors) carry no ETag header.",
      "docs/common-rest.md#answers")
def no_etag(t: Target) -> str | None:
    definition = t.any_definition()
    responses = [_definitions(t), t.get(f"{_DEFINITIONS}/{definition.id}"),
                 t.get(f"workflow/{t.unique('nope')}")]
    if t.writable:
        start = t.start({"_key": definition.key})
        t.started(start, "start")
        instance_id, task, _ = t.instance_with_task()
        responses += [start, t.get(f"workflow/taskinstance/{task['_id']}"),
                      t.get("workflow/taskinstance", _queryId="filtered-query",
                            processInstanceId=instance_id)]
    for response in responses:
        expect.no_problem(shapes.no_etag(response.headers.get("ETag")), t,
                          f"{response.request.method} {response.request.path_url}: headers",
                          response)
    return None if t.writable else "creates and tasks not checked: read-only mode"


@rule("content-api-version",
      "`Accept-API-Version: resource=1.0` is accepted; 7+ echoes it in `Content-API-Version`.",
      "docs/common-rest.md#answers, docs/common-rest.md#versions")
def content_api_version(t: Target) -> str | None:
    response = t.request("GET", _DEFINITIONS, params={"_queryId": "query-all-ids"},
                         headers={"Accept-API-Version": "resource=1.0"})
    what = "GET workflow/processdefinition with Accept-API-Version: resource=1.0"
    if response.status_code != 200:  # a server that only knows `_queryFilter`
        response = t.request("GET", _DEFINITIONS, params={"_queryFilter": "true"},
                             headers={"Accept-API-Version": "resource=1.0"})
    expect.status(t, response, 200, what)
    if not t.expect.resource_versioning:
        return f"profile {t.expect.name}: no Content-API-Version expected"
    header = response.headers.get("Content-API-Version")
    expect.that(header is not None and "resource=1.0" in header.replace(" ", ""), t,
                f"{what}: Content-API-Version", "protocol=2.1,resource=1.0", repr(header),
                response)
    return None


@rule("unsupported-resource-version",
      "7+: an unsupported `Accept-API-Version: resource=9.0` is 404; up to 6.5 it is ignored.",
      "docs/common-rest.md#versions")
def unsupported_resource_version(t: Target) -> None:
    response = t.request("GET", _DEFINITIONS, params={"_queryId": "query-all-ids"},
                         headers={"Accept-API-Version": "resource=9.0"})
    what = "GET workflow/processdefinition with Accept-API-Version: resource=9.0"
    if t.expect.resource_versioning:
        expect.error(t, response, 404, what)
    else:
        expect.status(t, response, 200, f"{what} (profile {t.expect.name} ignores it)")


@rule("malformed-api-version-400",
      "A malformed `Accept-API-Version` is 400 `Version string is in an invalid format: "
      "<value>`.", "docs/common-rest.md#request-checks, docs/common-rest.md#versions")
def malformed_api_version_400(t: Target) -> None:
    response = t.request("GET", _DEFINITIONS, params={"_queryId": "query-all-ids"},
                         headers={"Accept-API-Version": "mockidm"})
    expect.error(t, response, 400, "GET workflow/processdefinition with Accept-API-Version: "
                 "mockidm", "Version string is in an invalid format: mockidm")
