"""Query paging, where the profile pages (`Profile.paging`, or `Profile.own_paging` for one
provider's own way): one page of a query's items and the envelope fields that say where the
next one starts.

What PingIDM 8.1's workflow providers do with paging is not public; this is the mock's choice,
an offset cookie and an exact count on request (docs/fidelity.md, "paging, 8.1 profile", says
why and what exactly): `_pageSize` > 0 turns paging on, and a client's paging loop then meets
a server that pages.
"""

from __future__ import annotations

from typing import Any

from .crest import CrestRequest
from .errors import IdmError
from .render import query_envelope

EXACT = "EXACT"


def paged_envelope(items: list[dict[str, Any]], request: CrestRequest) -> dict[str, Any]:
    """The envelope of one page of `items` (already filtered and sorted), for a request whose
    `page_size` is above 0."""
    start = _start(request)
    end = start + request.page_size
    cookie = str(end) if end < len(items) else None
    if request.count_policy == EXACT:
        return query_envelope(items[start:end], cookie=cookie, policy=EXACT, total=len(items))
    return query_envelope(items[start:end], cookie=cookie)


def offset_paged_envelope(items: list[dict[str, Any]], request: CrestRequest
                          ) -> dict[str, Any]:
    """One page as a provider that pages by offset alone does (`Profile.own_paging`: Wren:IDM's
    task history): from `_pagedResultsOffset`, a cookie sent back being ignored; the cookie
    handed out is the next offset; any policy but NONE counts every match (as EXACT), and
    without a count the cookie is given whenever the page is full."""
    start = max(request.paged_results_offset, 0)
    page = items[start:start + request.page_size]
    following = start + len(page)
    if request.count_policy != "NONE":
        return query_envelope(page, cookie=str(following) if len(items) > following else None,
                              policy=EXACT, total=len(items))
    return query_envelope(page, cookie=str(following) if len(page) >= request.page_size
                          else None)


def _start(request: CrestRequest) -> int:
    cookie = request.paged_results_cookie
    if not cookie:
        return max(request.paged_results_offset, 0)
    if not cookie.isascii() or not cookie.isdigit():
        # Only a cookie this server handed out is valid; the wording is mockidm's own.
        raise IdmError(400, f"The value '{cookie}' for parameter '_pagedResultsCookie' is not "
                            "a cookie this server handed out")
    return int(cookie)
