"""Security: where the server listens, the admin API's place and token, no password in logs
or in the journal. (Hostile BPMN XML and archives are covered by the BPMN tests.)"""

from __future__ import annotations

import base64
import hmac
import inspect
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from aiohttp import web

from mockidm import MockIDM, cli
from mockidm.admin.server import PREFIX, add_admin_routes
from mockidm.http.app import BASE_PATH
from mockidm.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
DEFINITIONS = "/openidm/workflow/processdefinition?_queryId=query-all-ids"
TOKEN = "Tok-5ecret-admin-9d41"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port` (Linux /proc)."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, _, port_hex = local.partition(":")
                if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                    raw = bytes.fromhex(address)
                    # /proc prints each 32-bit word in host (little-endian) order
                    words = [raw[i:i + 4][::-1] for i in range(0, size, 4)]
                    found.add(socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6,
                                               b"".join(words)))
    return found


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux /proc only")


# where the server listens ---------------------------------------------------------------------

def test_serve_binds_to_loopback_unless_told_otherwise(capsys):
    assert cli._parser().parse_args(["serve"]).host == "127.0.0.1"
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    assert "default 127.0.0.1" in " ".join(capsys.readouterr().out.split())


@needs_proc
def test_the_threaded_server_listens_on_loopback_only():
    mock = MockIDM()
    with mock.serve():
        port = int(mock.url.split(":")[2].split("/")[0])
        assert listening_addresses(port) == {"127.0.0.1"}


class FakeRunApp:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, app: web.Application, **kwargs) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def run_app(monkeypatch) -> FakeRunApp:
    """`mockidm serve` in this process, up to the point where it would listen."""
    # Were `serve` to listen some other way, these tests would serve forever: fail instead.
    assert "web.run_app(" in inspect.getsource(cli.serve), "cli.serve no longer uses run_app"
    fake = FakeRunApp()
    monkeypatch.setattr(web, "run_app", fake)
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    monkeypatch.delenv(cli.TOKEN_ENV, raising=False)
    return fake


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "mock.example.com"])
def test_a_bind_other_than_loopback_logs_a_warning(run_app, caplog, host):
    with caplog.at_level(logging.INFO, logger="mockidm"):
        assert cli.main(["serve", "--host", host, "--admin-token", TOKEN, "--quiet"]) == 0
    assert [call["host"] for call in run_app.calls] == [host]
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "mockidm" and r.levelno == logging.WARNING]
    assert any(host in w and "reachable from other machines" in w for w in warnings), warnings
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_a_loopback_bind_logs_no_warning(run_app, caplog, host):
    with caplog.at_level(logging.INFO, logger="mockidm"):
        assert cli.main(["serve", "--host", host, "--quiet"]) == 0
    assert [call["host"] for call in run_app.calls] == [host]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_an_open_admin_api_on_a_reachable_address_is_refused(run_app, capsys):
    assert cli.main(["serve", "--host", "0.0.0.0", "--quiet"]) == 2
    assert run_app.calls == []
    assert "refusing to serve the admin API" in capsys.readouterr().err


# the admin API is not under /openidm ----------------------------------------------------------

@pytest.fixture
def admin_server() -> Iterator[tuple[MockIDM, ThreadedServer]]:
    mock = MockIDM()
    mock.deploy_samples()

    def app() -> web.Application:
        app = mock.app()
        add_admin_routes(app, mock, token=TOKEN)
        return app

    with ThreadedServer(app) as server:
        yield mock, server


def test_no_admin_route_is_under_openidm(admin_server):
    _, server = admin_server
    routes = [r.canonical for r in server.app.router.resources()]
    admin = [r for r in routes if PREFIX in r]
    assert admin and all(r.startswith(PREFIX + "/") for r in admin)
    assert not [r for r in routes if r.startswith(BASE_PATH + PREFIX)]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "reset"), ("GET", "journal"), ("DELETE", "journal"), ("DELETE", "faults"),
    ("GET", "snapshot"), ("POST", "users"), ("PUT", "snapshot")])
def test_admin_paths_under_openidm_are_idms_404_and_do_nothing(admin_server, method, path):
    mock, server = admin_server
    instance = mock.start_process("contractorOnboarding", variables={"contractorName": "x"})
    mock.fault(operation="readProcessInstance", status=503)
    before = mock.snapshot()
    headers = {**ADMIN, "Authorization": f"Bearer {TOKEN}"}  # even with the token
    body = {"name": "mallory", "password": "x"} if method in ("POST", "PUT") else None
    response = requests.request(method, f"{server.url}{PREFIX}/{path}", headers=headers,
                                json=body, timeout=10)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == 404 and response.json()["reason"] == "Not Found"
    assert mock.snapshot() == before
    assert "mallory" not in mock.state.identity.users
    assert [t.instance_id for t in mock.tasks()] == [instance.id]
    assert mock.state.faults.routes  # not cleared
    assert [e.status for e in mock.requests()] == [404]  # journaled, not cleared
    # The same request at the admin prefix does act: the 404 above is not a dead admin API.
    if (method, path) == ("POST", "reset"):
        done = requests.post(f"{server.origin}{PREFIX}/reset",
                             headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert done.status_code == 200
        assert mock.tasks() == []


# the admin token: compared in constant time ---------------------------------------------------

async def test_the_admin_token_is_compared_with_compare_digest(aiohttp_client, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    mock = MockIDM()
    app = mock.app()
    add_admin_routes(app, mock, token=TOKEN)
    client = await aiohttp_client(app)
    token = TOKEN.encode()
    for guess in ("x", "y" * len(TOKEN), TOKEN[:-1] + "0", TOKEN + "0"):
        compared.clear()
        response = await client.get(f"{PREFIX}/clock",
                                    headers={"Authorization": f"Bearer {guess}"})
        assert response.status == 401
        # Every guess, whatever its length, goes through compare_digest and nothing else.
        assert compared == [(guess.encode(), token)]
    compared.clear()
    response = await client.get(f"{PREFIX}/clock", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    assert compared == [(token, token)]


async def test_passwords_are_compared_with_compare_digest(aiohttp_client, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or real(a, b))
    mock = MockIDM()
    mock.add_user("alice", "Pw-alice-7f3a")
    client = await aiohttp_client(mock.app())
    response = await client.get("/openidm/endpoint/getprocessesforuser", headers={
        "X-OpenIDM-Username": "alice", "X-OpenIDM-Password": "wrong"})
    assert response.status == 401
    assert (b"Pw-alice-7f3a", b"wrong") in compared


# no password in the logs or in the journal ----------------------------------------------------

SECRETS = {
    "alice": "Pw-alice-7f3a",
    "bob": "Pw-bob-c0ffee",
    "zoë": "Pw-zoë-ünïcode-22",
}
WRONG = "Pw-wrong-91c2"
REAUTH = "Pw-reauth-5e5e"
MALFORMED = "Pw-malformed-a1b2"
OVERSIZED = "Pw-oversized-77aa"
LONG = "Pw-long-3c3c"


def rfc5987(value: str) -> str:
    return "UTF-8''" + quote(value.encode("utf-8"), safe="")


def secret_forms() -> list[str]:
    """Every password, as sent and as decoded: raw, RFC 5987, and inside Basic credentials."""
    forms = []
    for user, password in [*SECRETS.items(), ("alice", WRONG), ("alice", REAUTH),
                           ("alice", MALFORMED), ("alice", OVERSIZED), ("alice", LONG)]:
        forms += [password, rfc5987(password), quote(password),
                  base64.b64encode(f"{user}:{password}".encode()).decode()]
    return forms


def credential_requests(origin: str) -> list[requests.Response]:
    """Requests that carry passwords in every way IDM reads them, right and wrong."""
    get = lambda headers, **kw: requests.get(origin + DEFINITIONS, timeout=10,  # noqa: E731
                                             headers={"X-OpenIDM-NoSession": "true", **headers},
                                             **kw)
    basic = lambda user, pw: "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()  # noqa: E731
    return [
        get({"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": SECRETS["alice"]}),
        get({"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": WRONG}),
        get({"Authorization": basic("bob", SECRETS["bob"])}),
        get({"Authorization": basic("bob", WRONG)}),
        get({"X-OpenIDM-Username": rfc5987("zoë"),
             "X-OpenIDM-Password": rfc5987(SECRETS["zoë"])}),
        get({"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": SECRETS["alice"],
             "X-OpenIDM-Reauth-Password": REAUTH}),
        # over the mock's header limit: 431, journaled with its headers
        get({"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": LONG + "z" * 10_000}),
        # POST with credentials and a body (journaled with its body)
        requests.post(origin + "/openidm/workflow/processinstance?_action=create", timeout=10,
                      headers={"X-OpenIDM-Username": "alice",
                               "X-OpenIDM-Password": SECRETS["alice"]},
                      json={"_key": "contractorOnboarding", "contractorName": "x"}),
    ]


def raw_malformed_requests(port: int) -> None:
    """Requests aiohttp's parser refuses itself (plain 400), a password in their bytes."""
    for header in (f"X-OpenIDM-Password: {MALFORMED}\x01".encode(),  # a control character
                   f"X-OpenIDM-Password {MALFORMED}".encode(),  # no colon
                   f"X-OpenIDM-Password: {OVERSIZED}".encode() + b"z" * 300_000):  # too long
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /openidm/info/ping HTTP/1.1\r\nHost: x\r\n"
                         b"X-OpenIDM-Username: alice\r\n" + header + b"\r\n\r\n")
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]


def test_no_password_reaches_the_log_of_mockidm_serve():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), cli.TOKEN_ENV: TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in process.stdout.readline()
        if os.path.exists("/proc/net/tcp"):  # the default bind, seen from the system
            assert listening_addresses(port) == {"127.0.0.1"}
        origin = f"http://127.0.0.1:{port}"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for name, password in SECRETS.items():
            response = requests.post(f"{origin}{PREFIX}/users", headers=bearer, timeout=10,
                                     json={"name": name, "password": password,
                                           "roles": ["openidm-authorized", "openidm-admin"]})
            assert response.status_code == 201, response.text
        refused = requests.get(f"{origin}{PREFIX}/clock", timeout=10,
                               headers={"Authorization": f"Bearer {WRONG}"})
        assert refused.status_code == 401
        statuses = [r.status_code for r in credential_requests(origin)]
        assert statuses == [200, 401, 200, 401, 200, 200, 431, 201]
        raw_malformed_requests(port)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    log = out + err
    assert DEFINITIONS in log  # request logging was on
    assert "Error handling request" in log  # and aiohttp logged the malformed requests
    leaked = [form for form in [*secret_forms(), TOKEN] if form in log]
    assert leaked == [], log


def test_no_password_reaches_the_journal():
    mock = MockIDM()
    mock.deploy_samples()
    for name, password in SECRETS.items():
        mock.add_user(name, password, ["openidm-authorized", "openidm-admin"])
    with mock.serve():
        origin = mock.url[:-len(BASE_PATH)]
        statuses = [r.status_code for r in credential_requests(origin)]
        assert statuses == [200, 401, 200, 401, 200, 200, 431, 201]
        raw_malformed_requests(int(origin.rsplit(":", 1)[1]))
    entries = mock.requests()
    assert len(entries) == len(statuses)
    texts = {
        "render": mock.journal.render(),
        "to_json": json.dumps([e.to_json() for e in entries], ensure_ascii=False),
        "to_json (ascii)": json.dumps([e.to_json() for e in entries]),
        "explain": mock.explain(),
        "problems": "\n".join(mock.problems()),
        "assert_called": _failure_of(lambda: mock.assert_called("createProcessInstance",
                                                                body={"contractorName": "y"})),
    }
    for what, text in texts.items():
        leaked = [form for form in secret_forms() if form in text]
        assert leaked == [], f"{what}: {leaked}"
    assert all(e.headers.get("x-openidm-password", "********") == "********" for e in entries)


def _failure_of(call) -> str:
    with pytest.raises(AssertionError) as failure:
        call()
    return str(failure.value)
