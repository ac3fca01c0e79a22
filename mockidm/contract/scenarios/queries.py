"""What clients of a query depend on beyond its envelope (docs/common-rest.md,
docs/executions-and-jobs.md): paging where the server pages, and execution filters that
filter."""

from __future__ import annotations

from typing import Any

from .. import expect
from ..outcome import Skip
from ..rules import rule
from ..target import Target, json_body

_DEFINITIONS = "workflow/processdefinition"
_EXECUTIONS = "workflow/execution"


def _listing(t: Target, **paging: str) -> tuple[Any, Any]:
    """Every process definition, as `query-all-ids` (or `_queryFilter=true`) lists them:
    (response, body)."""
    response = t.get(_DEFINITIONS, _queryId="query-all-ids", **paging)
    if response.status_code != 200:
        response = t.get(_DEFINITIONS, _queryFilter="true", **paging)
    return response, json_body(response)


@rule("paging-when-paged",
      "A server that pages (`_pageSize=1` answers one item and a cookie) hands out, cookie "
      "after cookie, every item of the unpaged query exactly once and in its order, ends with "
      "a null cookie, and asked `_totalPagedResultsPolicy=EXACT` counts them all. Skipped "
      "where the server ignores paging (as IDM 6.5's workflow providers do).",
      "docs/common-rest.md#paging",
      after=("query-envelope",))
def paging_when_paged(t: Target) -> str | None:
    response, body = _listing(t)
    everything = t.query_result(response, "list the process definitions")
    wanted = [item.get("_id") for item in everything]
    if len(wanted) < 2:
        raise Skip("fewer than two process definitions: nothing to page through")
    what = "GET workflow/processdefinition?_pageSize=1&_totalPagedResultsPolicy=EXACT"
    response, body = _listing(t, _pageSize="1", _totalPagedResultsPolicy="EXACT")
    page = t.query_result(response, "ask for the first page of the process definitions")
    cookie = body.get("pagedResultsCookie")
    if len(page) == len(wanted) and cookie is None:
        raise Skip("the server does not page: `_pageSize=1` answered every item")
    seen: list[Any] = []
    for _ in range(len(wanted) + 1):  # a server whose cookie never ends the loop fails
        expect.that(len(page) <= 1, t, f"{what}: one page", "at most 1 item", len(page),
                    response)
        expect.that(body.get("totalPagedResultsPolicy") == "EXACT"
                    and body.get("totalPagedResults") == len(wanted), t,
                    f"{what}: the totals", f"EXACT, {len(wanted)}",
                    f"{body.get('totalPagedResultsPolicy')}, {body.get('totalPagedResults')}",
                    response)
        seen += [item.get("_id") for item in page]
        if cookie is None:
            break
        what = f"GET workflow/processdefinition?_pageSize=1&_pagedResultsCookie={cookie}"
        response, body = _listing(t, _pageSize="1", _totalPagedResultsPolicy="EXACT",
                                  _pagedResultsCookie=str(cookie))
        page = t.query_result(response, f"follow the cookie {cookie!r}")
        cookie = body.get("pagedResultsCookie")
    expect.that(seen == wanted, t, "the pages' items, cookie after cookie, then a null cookie",
                wanted, seen, response)
    return f"{len(wanted)} definitions in {len(wanted)} pages"


@rule("execution-event-filters",
      "`workflow/execution?_queryId=filtered-query` filters: `messageName` and `signalName` "
      "keep only executions that wait for that message or signal, so a name nothing waits for "
      "finds nothing even where executions wait.",
      "docs/executions-and-jobs.md#executions", writes=True,
      needs="a process whose start opens a user task")
def execution_event_filters(t: Target) -> str | None:
    instance_id, _, _ = t.instance_with_task()
    response = t.get(_EXECUTIONS, _queryId="filtered-query", processInstanceId=instance_id)
    if response.status_code == 404:
        raise Skip("no workflow/execution endpoint (IDM 6 and earlier have none)")
    waiting = t.query_result(response, "list the started instance's executions")
    if not waiting:
        raise Skip(f"no execution of instance {instance_id} is listed: nothing to filter")
    for name in ("messageName", "signalName"):
        nothing = t.unique(name)
        params = {"_queryId": "filtered-query", "processInstanceId": instance_id, name: nothing}
        response = t.get(_EXECUTIONS, **params)
        found = t.query_result(response, f"query executions by {name}")
        expect.that(found == [], t, f"GET {_EXECUTIONS}?{name}={nothing}&processInstanceId="
                    f"{instance_id}", "no execution (nothing waits for it)",
                    [item.get("_id") for item in found], response)
    return None
