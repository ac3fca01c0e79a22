"""Query paging, where the profile pages (`Profile.paging`): one page of a query's items and
the envelope fields that say where the next one starts.

What PingIDM 8.1's workflow providers do with paging is undocumented; the mock pages as IDM's
own repository does for every CREST query (docs/fidelity.md, "Paging"): `_pageSize` > 0
turns paging on; the page starts at the position the cookie names (the offset of the next
page as a decimal string, which the previous page handed out) or else at
`_pagedResultsOffset`; the cookie is null on the last page; `totalPagedResults` is the
exact count when `_totalPagedResultsPolicy=EXACT` is asked, -1 otherwise;
`remainingPagedResults` is -1.
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


def _start(request: CrestRequest) -> int:
    cookie = request.paged_results_cookie
    if not cookie:
        return max(request.paged_results_offset, 0)
    if not cookie.isascii() or not cookie.isdigit():
        # Only a cookie this server handed out is valid; the wording is mockidm's own.
        raise IdmError(400, f"The value '{cookie}' for parameter '_pagedResultsCookie' is not "
                            "a cookie this server handed out")
    return int(cookie)
