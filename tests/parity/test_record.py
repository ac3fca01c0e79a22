"""`mockidm record`: the proxy forwards unchanged, writes HAR 1.2 as it goes, redacts secrets
by default, and never overwrites a file."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from aiohttp import web
from recorder import ADMIN, recording

from mockidm import MockIDM
from mockidm.contract.har import HarWriter, read_har
from mockidm.redaction import REDACTED
from mockidm.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pa55"
TOKEN = "tok-4f9a1c"


@pytest.fixture
def mock() -> MockIDM:
    mock = MockIDM()
    mock.deploy_samples()
    mock.add_user("alice", PASSWORD, ["openidm-authorized", "openidm-admin"])
    mock.add_token(TOKEN, "alice", roles=["openidm-admin"])
    return mock


def test_requests_and_answers_pass_unchanged_and_are_recorded(mock: MockIDM,
                                                              tmp_path: Path) -> None:
    har = tmp_path / "a.har"
    body = b'{"_key": "contractorOnboarding",  "_businessKey": "order-1"}'  # odd spacing kept
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har) as proxy:
        base = proxy.url
        direct = requests.get(f"{mock.url}/workflow/processdefinition?_queryId=query-all-ids",
                              headers=ADMIN, timeout=10)
        proxied = requests.get(f"{base}/workflow/processdefinition?_queryId=query-all-ids",
                               headers=ADMIN, timeout=10)
        created = requests.post(f"{base}/workflow/processinstance?_action=create", data=body,
                                headers={**ADMIN, "Content-Type": "application/json"},
                                timeout=10)
        refused = requests.get(f"{base}/workflow/processinstance?_queryId=nope%20x",
                               headers=ADMIN, timeout=10)
        sent = mock.requests("createProcessInstance")[0]
    assert proxied.status_code == 200 and proxied.content == direct.content
    assert proxied.headers["Content-Type"] == direct.headers["Content-Type"]
    assert created.status_code == 201 and created.json()["businessKey"] == "order-1"
    assert sent.raw_body == body  # the bytes as the client sent them
    assert refused.status_code == 400
    entries = read_har(har)
    assert [(e.method, e.target, e.status) for e in entries] == [
        ("GET", "/openidm/workflow/processdefinition?_queryId=query-all-ids", 200),
        ("POST", "/openidm/workflow/processinstance?_action=create", 201),
        ("GET", "/openidm/workflow/processinstance?_queryId=nope%20x", 400)]
    assert entries[1].request_body == body
    assert entries[1].response_body == created.content
    assert entries[0].response_body == direct.content
    document = json.loads(har.read_text())
    assert document["log"]["version"] == "1.2"
    assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(
        document["log"]["entries"][0])


def test_a_default_recording_holds_no_secret_and_the_upstream_gets_them_all(
        mock: MockIDM, tmp_path: Path) -> None:
    har = tmp_path / "a.har"
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har) as proxy:
        base = proxy.url
        query = f"{base}/workflow/processinstance?_queryId=query-all-ids"
        by_headers = requests.get(query, headers={"X-OpenIDM-Username": "alice",
                                                  "X-OpenIDM-Password": PASSWORD}, timeout=10)
        cookie = by_headers.cookies["session-jwt"]
        by_cookie = requests.get(query, cookies={"session-jwt": cookie}, timeout=10,
                                 headers={"X-Requested-With": "test"})
        by_basic = requests.get(query, headers={"Authorization": f"Basic {basic}"}, timeout=10)
        by_token = requests.get(query, headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=10)
        in_body = requests.post(f"{base}/workflow/processinstance?_action=create",
                                json={"_key": "contractorOnboarding", "password": PASSWORD},
                                headers={"X-OpenIDM-Username": "alice",
                                         "X-OpenIDM-Password": PASSWORD,
                                         "X-OpenIDM-NoSession": "true"}, timeout=10)
        upstream = [e.headers_with_secrets() for e in mock.requests()]
        started = mock.requests("createProcessInstance")[0].body
    assert [r.status_code for r in (by_headers, by_cookie, by_basic, by_token, in_body)] == [
        200, 200, 200, 200, 201]
    # Upstream, everything arrived as sent.
    assert upstream[0]["x-openidm-password"] == PASSWORD
    assert upstream[1]["cookie"] == f"session-jwt={cookie}"
    assert upstream[2]["authorization"] == f"Basic {basic}"
    assert upstream[3]["authorization"] == f"Bearer {TOKEN}"
    assert started["password"] == PASSWORD
    # In the file, none of them.
    text = har.read_text()
    for secret in (PASSWORD, cookie, cookie[:40], basic, TOKEN):
        assert secret not in text
    assert REDACTED in text
    entries = read_har(har)
    assert entries[0].request_header("X-OpenIDM-Password") == REDACTED
    assert entries[0].response_header("Set-Cookie").startswith(f"session-jwt={REDACTED};")
    assert entries[1].request_header("Cookie") == f"session-jwt={REDACTED}"
    assert base64.b64decode(entries[2].request_header("Authorization").split()[1]) == \
        f"alice:{REDACTED}".encode()  # the user is kept: a comparison needs it
    assert entries[3].request_header("Authorization") == f"Bearer {REDACTED}"
    assert entries[4].request_json()["password"] == REDACTED


def test_keep_secrets_writes_them_as_sent(mock: MockIDM, tmp_path: Path) -> None:
    har = tmp_path / "a.har"
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har,
                                 keep_secrets=True) as proxy:
        requests.get(f"{proxy.url}/workflow/processinstance?_queryId=query-all-ids",
                     headers={"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": PASSWORD},
                     timeout=10)
    assert read_har(har)[0].request_header("X-OpenIDM-Password") == PASSWORD


def test_a_recording_cut_short_is_read_up_to_its_last_whole_entry(mock: MockIDM,
                                                                   tmp_path: Path) -> None:
    har = tmp_path / "a.har"
    writer = HarWriter(har, "t", "0")
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), tmp_path / "b.har") as p:
        for _ in range(3):
            requests.get(f"{p.url}/workflow/processdefinition?_queryId=query-all-ids",
                         headers=ADMIN, timeout=10)
    for entry in read_har(tmp_path / "b.har"):
        writer.write(entry)
    # As the stream stands before the recorder closes it (killed), and with a torn last line.
    text = har.read_text()
    assert len(read_har(har)) == 3
    har.write_text(text + ',{"startedDateTime": "2026-')
    assert len(read_har(har)) == 3
    with pytest.raises(FileExistsError):
        HarWriter(har, "t", "0")


@pytest.mark.slow
def test_the_command_refuses_an_existing_file_and_stops_cleanly(tmp_path: Path) -> None:
    existing = tmp_path / "old.har"
    existing.write_text("keep me")
    refused = subprocess.run([sys.executable, "-m", "mockidm", "record", "--upstream",
                              "http://127.0.0.1:9/openidm", "--out", str(existing)],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "exists" in refused.stderr
    assert existing.read_text() == "keep me"
    mock = MockIDM()
    mock.deploy_samples()
    out = tmp_path / "new.har"
    with mock.serve():
        process = subprocess.Popen(
            [sys.executable, "-m", "mockidm", "record", "--upstream", mock.url, "--port", "0",
             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "recording to" in line, process.stderr.read() if process.stderr else ""
            url = line.split("forwarding ")[1].split(" ")[0]
            answer = requests.get(f"{url}/workflow/processdefinition?_queryId=query-all-ids",
                                  headers=ADMIN, timeout=10)
            assert answer.status_code == 200
            time.sleep(0.1)
            assert len(read_har(out)) == 1  # on disk before the recorder stops
        finally:
            process.terminate()
            process.communicate(timeout=10)
    assert process.returncode == 0
    assert json.loads(out.read_text())["log"]["entries"][0]["response"]["status"] == 200


def _odd_upstream() -> web.Application:
    """Answers a proxy must pass on as they come: chunked, compressed, bodiless, closing."""
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"parts": [', b'"a", ', b'"b"]}'):
            await response.write(part)
        await response.write_eof()
        return response

    async def compressed(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"zipped": true}'),
                            headers={"Content-Encoding": "gzip",
                                     "Content-Type": "application/json"})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"target": request.raw_path, "body": (await request.text()),
                                  "x": request.headers.get("X-Odd")})

    async def closing(request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Connection": "close"})

    app = web.Application()
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/compressed", compressed)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/closing", closing)
    return app


def test_chunked_compressed_bodiless_and_closing_answers_pass_unchanged(tmp_path: Path) -> None:
    har = tmp_path / "odd.har"
    with ThreadedServer(_odd_upstream) as upstream, recording(upstream.origin, har) as proxy:
        origin = proxy.origin
        chunked = requests.get(f"{origin}/chunked", timeout=10)
        raw = requests.get(f"{origin}/compressed", timeout=10, stream=True)
        zipped = raw.raw.read(decode_content=False)
        echoed = requests.post(f"{origin}/echo?a=%2F%20b&c=%C3%A4", data=b"x=1",
                               headers={"X-Odd": "keep  this"}, timeout=10)
        head = requests.head(f"{origin}/echo", timeout=10)
        closed = [requests.get(f"{origin}/closing", timeout=10) for _ in range(3)]
    assert chunked.json() == {"parts": ["a", "b"]}
    assert gzip.decompress(zipped) == b'{"zipped": true}'  # passed on still compressed
    assert raw.headers["Content-Encoding"] == "gzip"
    assert echoed.json() == {"target": "/echo?a=%2F%20b&c=%C3%A4", "body": "x=1",
                             "x": "keep  this"}
    assert head.status_code == 200 and head.content == b""
    assert [c.status_code for c in closed] == [204, 204, 204]
    entries = read_har(har)
    assert entries[0].response_json() == {"parts": ["a", "b"]}
    assert entries[1].response_body == zipped
    assert entries[2].target == "/echo?a=%2F%20b&c=%C3%A4"
    assert len(entries) == 7


def test_an_upstream_that_does_not_answer_is_the_proxys_502_and_is_not_recorded(
        tmp_path: Path) -> None:
    har = tmp_path / "down.har"
    with ThreadedServer(_odd_upstream) as upstream:
        origin = upstream.origin
    with recording(origin, har) as proxy:  # the upstream has gone
        answer = requests.get(f"{proxy.url}/workflow/processdefinition", timeout=10)
    assert answer.status_code == 502
    assert answer.json()["reason"] == "Bad Gateway"
    assert "mockidm record" in answer.json()["message"]
    assert read_har(har) == []


def test_the_listener_reads_chunked_and_expecting_bodies_and_refuses_nonsense(
        tmp_path: Path) -> None:
    har = tmp_path / "raw.har"
    with ThreadedServer(_odd_upstream) as upstream, recording(upstream.origin, har) as proxy:
        chunked = requests.post(f"{proxy.origin}/echo", data=iter([b"ab", b"cd"]), timeout=10)
        port = int(proxy.origin.rsplit(":", 1)[1])

        def raw(data: bytes) -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(data)
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
                return received

        expecting = raw(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
        http10 = raw(b"GET /echo HTTP/1.0\r\nHost: x\r\n\r\n")  # closed after one answer
        nonsense = raw(b"NONSENSE\r\n\r\n")
        bad_header = raw(b"GET /echo HTTP/1.1\r\nno colon here\r\n\r\n")
    assert chunked.json()["body"] == "abcd"
    assert expecting.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert expecting.endswith(b'"body": "hi", "x": null}')
    assert http10.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in http10
    assert nonsense.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert bad_header.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert [e.request_body for e in read_har(har)] == [b"abcd", b"hi", b""]
