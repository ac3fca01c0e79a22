"""Limits: a body too large, a URL or header too long, a client that stalls.

Each over-limit request gets a clean 4xx (IDM's envelope when the app sees it, aiohttp's plain
400 when its parser refuses it first), is journaled as unserved when the app saw it, and leaves
the server serving everyone else.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aiohttp import web

from mockidm import MockIDM
from mockidm.engine import InstanceQuery
from mockidm.http.app import (
    HEADER_SETS_KEPT,
    MAX_HEADER_BYTES,
    MAX_URL_BYTES,
    PARSER_MAX_BYTES,
    create_app,
)
from mockidm.server import ThreadedServer

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
MIB = 1024 * 1024
CREATE = "workflow/processinstance?_action=create"
ALL_IDS = "workflow/processinstance?_queryId=query-all-ids"
BODY_TIMEOUT = 1.0
IDLE_TIMEOUT = 1.0


class Server:
    def __init__(self, mock: MockIDM, threaded: ThreadedServer) -> None:
        self.mock, self.threaded = mock, threaded
        self.url, self.port = threaded.url, threaded.port
        self.http = requests.Session()
        self.http.headers.update(ADMIN)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(f"{self.url}/{path}", timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.http.post(f"{self.url}/{path}", timeout=10, **kwargs)

    def still_serves(self) -> None:
        response = self.get(ALL_IDS)
        assert response.status_code == 200, response.text

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@pytest.fixture
def server() -> Iterator[Server]:
    """The default limits, but short timeouts so that stalls end within the test."""
    mock = MockIDM()
    mock.deploy_samples()
    with ThreadedServer(lambda: create_app(state=mock.state, body_timeout=BODY_TIMEOUT,
                                           idle_timeout=IDLE_TIMEOUT)) as threaded:
        yield Server(mock, threaded)


def envelope(response: requests.Response, status: int, reason: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert body.keys() == {"code", "reason", "message"}
    assert (body["code"], body["reason"]) == (status, reason)
    return body["message"]


def create_body(size: int) -> bytes:
    """A valid create request of exactly `size` bytes (a padded variable)."""
    head, tail = b'{"_key":"contractorOnboarding","contractorName":"', b'"}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


def unserved(server: Server) -> list[tuple[int, str]]:
    return [(e.status, e.unserved or "") for e in server.mock.requests() if e.unserved]


# bodies ------------------------------------------------------------------------------------

def test_the_default_body_limit_is_one_mib():
    assert inspect.signature(create_app).parameters["client_max_size"].default == MIB


def test_a_body_of_one_mib_is_served_and_one_byte_more_is_413(server):
    response = server.post(CREATE, data=create_body(MIB),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text[:300]

    response = server.post(CREATE, data=create_body(MIB + 1),
                           headers={"Content-Type": "application/json"})
    message = envelope(response, 413, "Payload Too Large")
    assert message == f"The request body is larger than {MIB} bytes"
    # The refused one is journaled as addressed to the operation, and not served.
    assert [e.status for e in server.mock.requests("createProcessInstance")] == [201, 413]
    [(status, why)] = unserved(server)
    assert status == 413 and "larger than" in why
    server.still_serves()


def test_a_chunked_body_over_the_limit_is_413_too(server):
    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while reading
        yield create_body(MIB)[:-2]
        yield b"xx\"}"

    response = server.post(CREATE, data=chunks(), headers={"Content-Type": "application/json"})
    envelope(response, 413, "Payload Too Large")
    server.still_serves()


def test_the_body_limit_is_configurable():
    mock = MockIDM()
    mock.deploy_samples()
    with ThreadedServer(lambda: create_app(state=mock.state, client_max_size=200)) as threaded:
        http = requests.Session()
        http.headers.update({**ADMIN, "Content-Type": "application/json"})
        ok = http.post(f"{threaded.url}/{CREATE}", data=create_body(200), timeout=10)
        assert ok.status_code == 201, ok.text
        too_big = http.post(f"{threaded.url}/{CREATE}", data=create_body(201), timeout=10)
        assert too_big.status_code == 413
        assert too_big.json()["message"] == "The request body is larger than 200 bytes"


async def test_a_body_a_middleware_has_read_first_is_still_the_requests_body(aiohttp_client):
    # The pipeline takes a body that has all arrived straight from the stream; a middleware
    # that read it with `request.read()` has emptied the stream, and the body must not be lost.
    @web.middleware
    async def read_first(request: web.Request, handler):  # type: ignore[no-untyped-def]
        assert json.loads(await request.read())["_businessKey"] == "read-first"
        return await handler(request)

    mock = MockIDM()
    mock.deploy_samples()
    app = create_app(state=mock.state)
    app.middlewares.append(read_first)
    client = await aiohttp_client(app)
    body = {"_key": "contractorOnboarding", "_businessKey": "read-first", "note": "kept"}
    for _ in range(2):  # the second time, from the stream a middleware already read
        response = await client.post(f"/openidm/{CREATE}", json=body, headers=ADMIN)
        assert response.status == 201, await response.text()
        assert (await response.json())["businessKey"] == "read-first"
    instances = mock.engine.query_instances(InstanceQuery(business_key="read-first"))
    assert [i.variables for i in instances] == [{"note": "kept"}] * 2


async def test_each_header_set_is_read_as_sent_however_many_there_are(aiohttp_client):
    # Lower-cased header sets are kept (HEADER_SETS_KEPT of them) and shared by the requests
    # that send the same bytes: more distinct sets than that, and sets sent again, must each
    # be read and journaled as sent, with the credentials they carry.
    mock = MockIDM()
    mock.deploy_samples()
    client = await aiohttp_client(create_app(state=mock.state))
    query = "/openidm/workflow/processdefinition?_queryId=query-all-ids"
    sent = [f"client-{n % (HEADER_SETS_KEPT + 44)}" for n in range(2 * HEADER_SETS_KEPT)]
    for agent in sent:
        response = await client.get(query, headers={**ADMIN, "User-Agent": agent})
        assert response.status == 200
    wrong = await client.get(query, headers={**ADMIN, "X-OpenIDM-Password": "wrong",
                                            "User-Agent": sent[0]})
    assert wrong.status == 401
    journaled = [e.headers["user-agent"] for e in mock.requests()]
    assert journaled == [*sent, sent[0]]
    assert mock.requests()[-1].status == 401


# URLs and headers ---------------------------------------------------------------------------

def test_a_100_kb_url_is_414_in_idms_envelope(server):
    response = server.get(f"workflow/processinstance?_queryFilter={'a' * 100_000}")
    assert envelope(response, 414, "URI Too Long") == (
        f"The request URL is longer than {MAX_URL_BYTES} bytes")
    [(status, _)] = unserved(server)
    assert status == 414
    server.still_serves()


def test_the_url_limit_is_exact_and_applies_outside_openidm_too(server):
    at_limit = "/x" + "a" * (MAX_URL_BYTES - 2)
    response = server.http.get(server.threaded.origin + at_limit, timeout=10)
    envelope(response, 404, "Not Found")  # served: outside /openidm is IDM's 404
    response = server.http.get(server.threaded.origin + at_limit + "a", timeout=10)
    envelope(response, 414, "URI Too Long")


def test_a_url_past_the_parsers_limit_is_aiohttps_plain_400_and_the_server_goes_on(server):
    response = server.get(f"workflow/processinstance?_queryFilter="
                          f"{'a' * 2 * PARSER_MAX_BYTES}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")  # aiohttp's, not IDM's
    assert server.mock.requests() == []  # the app never saw it
    server.still_serves()


def test_a_100_kb_header_is_431_in_idms_envelope(server):
    response = server.get(ALL_IDS, headers={"X-Long": "b" * 100_000})
    assert envelope(response, 431, "Request Header Fields Too Large") == (
        f"The header X-Long is longer than {MAX_HEADER_BYTES} bytes")
    server.still_serves()
    response = server.get(ALL_IDS, headers={"X-Long": "b" * (MAX_HEADER_BYTES - 8)})
    assert response.status_code == 200  # name and value together at the limit: served


def test_a_header_past_the_parsers_limit_is_aiohttps_plain_400_and_the_server_goes_on(server):
    response = server.get(ALL_IDS, headers={"X-Long": "b" * 2 * PARSER_MAX_BYTES})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    server.still_serves()


# stalled clients ----------------------------------------------------------------------------

def read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, float]:
    """What the server sends until it closes the connection, and when it closed it."""
    sock.settimeout(deadline)
    started, data = time.monotonic(), b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


def others_are_served_promptly(server: Server, count: int = 20) -> None:
    """`count` requests from other clients while the stall lasts: each answered at once."""
    def one(_: int) -> float:
        started = time.monotonic()
        response = requests.get(f"{server.url}/{ALL_IDS}", headers=ADMIN, timeout=5)
        assert response.status_code == 200
        return time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        durations = list(pool.map(one, range(count)))
    assert max(durations) < BODY_TIMEOUT / 2, durations


HALF_A_BODY = (b"POST /openidm/" + CREATE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
               b"X-OpenIDM-Username: openidm-admin\r\nX-OpenIDM-Password: openidm-admin\r\n"
               b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
               b'{"_key":"contr')


def test_a_client_stalling_in_its_body_gets_408_and_is_closed_without_holding_others(server):
    stalled = [server.raw() for _ in range(5)]
    for sock in stalled:
        sock.sendall(HALF_A_BODY)
    started = time.monotonic()
    others_are_served_promptly(server)
    assert time.monotonic() - started < BODY_TIMEOUT  # served while the stalls last
    for sock in stalled:
        data, _ = read_until_closed(sock, 5)
        elapsed = time.monotonic() - started
        sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 Request Timeout"), data
        assert b"Connection: close" in head
        assert json.loads(body) == {
            "code": 408, "reason": "Request Timeout",
            "message": f"The request body did not arrive within {BODY_TIMEOUT:g} seconds"}
        assert elapsed < BODY_TIMEOUT + 1.5  # closed by the body timeout, not aiohttp's 10 s
    assert [s for s, _ in unserved(server)] == [408] * 5
    assert [e.status for e in server.mock.requests("createProcessInstance")] == [408] * 5
    server.still_serves()


HALF_THE_HEADERS = (b"GET /openidm/" + ALL_IDS.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                    b"X-OpenIDM-Username: openidm-")


def test_a_client_stalling_in_its_headers_is_closed_at_the_idle_timeout(server):
    """aiohttp's keepalive timeout also runs from the moment a connection opens: a request
    whose headers never end is dropped (no answer) when it runs out, and holds no one."""
    stalled = [server.raw() for _ in range(5)]
    for sock in stalled:
        sock.sendall(HALF_THE_HEADERS)
    started = time.monotonic()
    others_are_served_promptly(server)
    for sock in stalled:
        data, _ = read_until_closed(sock, 5)
        elapsed = time.monotonic() - started
        sock.close()
        assert data == b""
        assert IDLE_TIMEOUT - 0.2 < elapsed < IDLE_TIMEOUT + 1.5
    assert [e.status for e in server.mock.requests()] == [200] * 20  # the others' only
    server.still_serves()


def test_a_client_that_connects_and_sends_nothing_is_closed_at_the_idle_timeout(server):
    sock = server.raw()
    others_are_served_promptly(server, 4)
    data, elapsed = read_until_closed(sock, 5)
    sock.close()
    assert data == b"" and elapsed < IDLE_TIMEOUT + 1.5


def test_a_slow_but_steady_body_within_the_timeout_is_served(server):
    sock = server.raw()
    body = create_body(100)
    sock.sendall(HALF_A_BODY.split(b"\r\n\r\n")[0] + b"\r\n\r\n")
    for i in range(0, 100, 25):
        sock.sendall(body[i:i + 25])
        time.sleep(BODY_TIMEOUT / 8)
    sock.settimeout(5)
    head = sock.recv(65536)
    sock.close()
    assert head.startswith(b"HTTP/1.1 201 "), head


def test_timeouts_and_limits_are_checked():
    with pytest.raises(ValueError):
        create_app(body_timeout=0)
    with pytest.raises(ValueError):
        create_app(client_max_size=0)


def test_a_client_that_hangs_up_half_way_through_its_body_is_forgotten_quietly(server, caplog):
    for how in (socket.SHUT_RDWR, socket.SHUT_WR):
        sock = server.raw()
        sock.sendall(HALF_A_BODY)
        time.sleep(0.05)
        sock.shutdown(how)
        sock.close()
    time.sleep(0.2)
    server.still_serves()
    assert [(r.name, r.getMessage()) for r in caplog.records
            if r.levelno >= logging.WARNING] == []  # no "unhandled error", no traceback
    assert [e.status for e in server.mock.requests()] == [200]  # the hang-ups: not journaled
