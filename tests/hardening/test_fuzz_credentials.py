"""Credentials fuzzed: whatever arrives in `X-OpenIDM-Username`, `X-OpenIDM-Password`,
`Authorization` or the `session-jwt` cookie (random bytes, text beyond Latin-1, RFC 5987 values,
Basic with random or broken base64, forged tokens, values of several kilobytes) is answered 401
Access Denied, or with the HTTP layer's own 4xx for a header it refuses (a control character,
a header over the size limit); never a 5xx, nothing unhandled in the log, and the server serves
on.

Requests go out through a raw socket: `requests` and `http.client` refuse some of these values.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockidm import MockIDM
from mockidm.http.auth import decode_header_value

ADMIN = b"openidm-admin"
TARGETS = (
    (b"GET", b"/openidm/workflow/processdefinition?_queryId=query-all-ids", b""),
    (b"POST", b"/openidm/workflow/processinstance?_action=create", b'{"_key":"roleRequest"}'),
    (b"GET", b"/openidm/workflow/taskinstance/1", b""),
)
# The default users (openidm-admin, anonymous), whose credentials are right.
USERS = {(u.name, u.password) for u in MockIDM().state.identity.users.values()}
DENIED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
# What the HTTP layer may answer for a header it will not read: aiohttp's parser (400, plain
# text) for a control character or a header past its limit, or the mock's own limit (431).
REFUSED = (400, 431)
LIMIT = 8190  # aiohttp's default per-header limit: under it, the app must see the header
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


class Errors(logging.Handler):
    """Unhandled exceptions, from the loggers it is on: a traceback of anything but aiohttp's
    parser refusing a request (which it logs as an error, and answers 400), and the mock's own
    errors ("unhandled error on ...")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if ((exc is not None and not isinstance(exc, HttpProcessingError))
                or (record.name.startswith("mockidm") and record.levelno >= logging.ERROR)
                or record.levelno >= logging.CRITICAL):
            self.records.append(record)

    def report(self) -> str:
        return "\n".join(f"{r.name} {r.levelname}: {r.getMessage()}"
                         + (f" ({r.exc_info[1]!r})" if r.exc_info else "")
                         for r in self.records)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[MockIDM, Errors]]:
    errors = Errors()
    loggers = [logging.getLogger(name) for name in ("mockidm", "aiohttp", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(errors)
        logger.setLevel(logging.DEBUG)
    mock = MockIDM()
    mock.deploy_samples()
    try:
        with mock.serve():
            yield mock, errors
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(errors)
            logger.setLevel(level)


@pytest.fixture
def idm(served: tuple[MockIDM, Errors]) -> Iterator[MockIDM]:
    """The module's server; each test ends with it serving, and with nothing unhandled."""
    mock, errors = served
    errors.records.clear()
    yield mock
    assert not errors.records, errors.report()
    status, body = send(mock, [(b"X-OpenIDM-Username", ADMIN), (b"X-OpenIDM-Password", ADMIN)])
    assert status == 200, body
    mock.clear_journal()


def send(mock: MockIDM, headers: list[tuple[bytes, bytes]], target: int = 0
         ) -> tuple[int, bytes]:
    """One request on a connection of its own: the status and the body."""
    method, path, body = TARGETS[target]
    port = int(mock.url.split(":")[2].split("/")[0])
    lines = [b"%s %s HTTP/1.1" % (method, path), b"Host: 127.0.0.1",
             b"Connection: close", b"X-OpenIDM-NoSession: true"]
    lines += [name + b": " + value for name, value in headers]
    if body:
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # Refused before it was all sent: the answer may still be there.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, f"no HTTP answer: {answer[:200]!r}"
    return int(match[1]), answer.partition(b"\r\n\r\n")[2]


def parser_accepts(value: bytes) -> bool:
    """A header value any HTTP parser takes: visible ASCII, space, tab and obs-text
    (0x80-0xFF), within the size limit, not padded with blanks."""
    return (len(value) < LIMIT - 64
            and all(b in b"\t" or 0x20 <= b <= 0x7E or b >= 0x80 for b in value))


def _texts(value: bytes) -> list[str]:
    """What the mock may read in a header: the value as IDM decodes it, around which HTTP
    trims blanks; and, for Basic, the decoded base64."""
    texts = [decode_header_value(value.strip(b" \t").decode("utf-8", "surrogateescape"))]
    if value.strip(b" \t")[:6].lower() == b"basic ":
        with contextlib.suppress(ValueError):
            decoded = base64.b64decode(value.strip(b" \t")[6:].strip(b" \t"))
            texts.append(decode_header_value(decoded.decode("utf-8", "surrogateescape")))
    return texts


def spells_a_password(values: tuple[bytes, ...]) -> bool:
    """Hypothesis finds the default users' passwords ("anonymous" is one): such an example
    may hold right credentials, and is held to "no 5xx" only."""
    return any(password in text for value in values for text in _texts(value)
               for _, password in USERS)


def check(status: int, body: bytes, *values: bytes) -> None:
    assert status < 500, (status, body[:300])
    if spells_a_password(values):
        return
    if all(parser_accepts(v) for v in values):
        assert status == 401, (status, body[:300])
    else:
        assert status in (401, *REFUSED), (status, body[:300])
    if status == 401:
        assert json.loads(body) == DENIED


# --- values -----------------------------------------------------------------------------------

def _no_line_breaks(value: bytes) -> bytes:
    return value.replace(b"\r", b"").replace(b"\n", b"")


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


_any_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
                    max_size=80)
_beyond_latin1 = st.text(st.characters(min_codepoint=0x100, exclude_categories=["Cs"]),
                         min_size=1, max_size=40)
_printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                     max_size=60).map(str.encode)
RAW_BYTES = st.binary(max_size=200).map(_no_line_breaks)
VALUES = st.one_of(
    RAW_BYTES,
    _any_text.map(lambda s: s.encode("utf-8")),
    _beyond_latin1.map(lambda s: s.encode("utf-8")),
    _printable,
    # RFC 5987, well-formed or not, in the charsets IDM reads and in others.
    st.tuples(st.sampled_from([b"UTF-8''", b"utf-8''", b"ISO-8859-1''", b"utf-16''", b"''"]),
              st.one_of(_any_text.map(lambda s: quote(s).encode()),
                        st.sampled_from([b"%", b"%Z", b"%ff%fe", b"%00", b"%C3%28"]),
                        _printable)).map(b"".join),
    # Almost the administrator: case, padding, a NUL, a second name.
    st.sampled_from([b"OpenIDM-Admin", b"openidm-admin\0", b"openidm -admin",
                     b"openidm-admin, openidm-admin", b"openidm-admi\xc3\xb1",
                     b"openidm\xe2\x80\x8b-admin", b"openidm-admin%20", b"UTF-8''openidm%2D",
                     b"anonymous", b""]),
)
BASIC = st.one_of(
    st.builds(lambda d: b"Basic " + _b64(d), st.binary(max_size=120)),
    st.builds(lambda u, p: b"Basic " + _b64(u.encode("utf-8", "surrogatepass") + b":"
                                            + p.encode("utf-8", "surrogatepass")),
              st.one_of(_any_text, st.just("openidm-admin")), _any_text),
    st.builds(lambda u, p: b"Basic " + _b64(u.encode("latin-1") + b":" + p.encode("latin-1")),
              st.text(st.characters(max_codepoint=0xFF), max_size=30),
              st.text(st.characters(max_codepoint=0xFF), max_size=30)),
    st.builds(lambda v: b"Basic " + v, VALUES),  # not base64 at all
    st.builds(lambda s, v: s + v,
              st.sampled_from([b"basic ", b"BASIC ", b"Basic", b"Basic  ", b"Bearer ",
                               b"Digest username=", b""]),
              st.one_of(VALUES, st.binary(max_size=60).map(_b64))),
    st.just(b"Basic " + _b64(ADMIN + b":wrong")),
    st.just(b"Basic " + _b64(ADMIN)),  # no colon
    st.just(b"Basic " + _b64(ADMIN + b":" + ADMIN)[:-2]),  # cut short
)
_segment = st.one_of(st.binary(max_size=80).map(lambda d: base64.urlsafe_b64encode(d)
                                                  .rstrip(b"=")),
                     VALUES)
_claims = st.fixed_dictionaries({}, optional={
    "sub": st.one_of(st.just("openidm-admin"), st.integers(), st.none(), _any_text),
    "iat": st.one_of(st.floats(allow_nan=False), st.text(max_size=5), st.none()),
    "exp": st.one_of(st.integers(), st.just(2**70), st.text(max_size=5), st.none(),
                     st.lists(st.integers(), max_size=2)),
    "gen": st.one_of(st.integers(), st.text(max_size=5)),
})
TOKEN = st.one_of(
    VALUES,
    st.lists(_segment, min_size=1, max_size=5).map(b".".join),
    # A JWT of the mock's shape with claims of any type, and a signature that cannot match.
    st.builds(lambda claims, signature: b".".join([
        base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"="),
        base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"="), signature]),
              _claims, _segment),
    st.builds(lambda claims: b".".join([  # "alg": "none", no signature
        base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"="),
        base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"="), b""]), _claims),
)
COOKIE = st.one_of(
    TOKEN.map(lambda t: b"session-jwt=" + t),
    TOKEN.map(lambda t: b'session-jwt="' + t + b'"'),
    st.tuples(TOKEN, TOKEN).map(lambda t: b"session-jwt=" + t[0] + b"; session-jwt=" + t[1]),
    st.tuples(VALUES, TOKEN).map(lambda t: t[0] + b"; session-jwt=" + t[1]),
    VALUES,
)


# --- the tests --------------------------------------------------------------------------------

@FUZZ
@given(value=VALUES, other=st.one_of(VALUES, st.just(ADMIN)), fuzzed=st.booleans(),
       target=st.integers(0, len(TARGETS) - 1))
def test_fuzzed_credential_headers_are_denied(idm, value, other, fuzzed, target):
    """One of the pair fuzzed, the other fuzzed too or the administrator's own name or
    password, so that the other one is the only thing wrong."""
    username, password = (value, other) if fuzzed else (other, value)
    status, body = send(idm, [(b"X-OpenIDM-Username", username),
                              (b"X-OpenIDM-Password", password)], target)
    check(status, body, username, password)


@FUZZ
@given(value=VALUES, name=st.sampled_from([b"X-OpenIDM-Username", b"X-OpenIDM-Password"]))
def test_a_lone_credential_header_is_denied(idm, value, name):
    status, body = send(idm, [(name, value)])
    check(status, body, value)


@FUZZ
@given(value=BASIC, target=st.integers(0, len(TARGETS) - 1))
def test_fuzzed_basic_authorization_is_denied(idm, value, target):
    status, body = send(idm, [(b"Authorization", value)], target)
    check(status, body, value)


@FUZZ
@given(cookie=COOKIE, authorization=st.one_of(st.none(), BASIC),
       target=st.integers(0, len(TARGETS) - 1))
# Found by this test: a token's bytes beyond ASCII, in the signature (compared as text) or
# elsewhere (signed as text), were a 500.
@example(cookie=b"session-jwt=e30.e30.\x80", authorization=None, target=0)
@example(cookie=b"session-jwt=\xe3[R.\x99.", authorization=None, target=0)
def test_fuzzed_session_cookies_are_denied(idm, cookie, authorization, target):
    headers = [(b"Cookie", cookie)]
    if authorization is not None:
        headers.append((b"Authorization", authorization))
    status, body = send(idm, headers, target)
    check(status, body, cookie, *([authorization] if authorization is not None else []))


@FUZZ
@given(headers=st.lists(st.tuples(st.sampled_from([b"X-OpenIDM-Username",
                                                   b"X-OpenIDM-Password", b"Authorization",
                                                   b"Cookie"]),
                                  st.one_of(VALUES, BASIC, COOKIE)),
                        min_size=2, max_size=6))
def test_repeated_and_mixed_credential_headers_are_denied(idm, headers):
    status, body = send(idm, headers)
    check(status, body, *(value for _, value in headers))


ALPHABETS = {
    "ascii": (b"aZ09-_.~!", 1),
    "latin-1": (bytes(range(0xA0, 0x100)), 1),
    "utf-8": ("é€𝄞".encode(), 9),
}


def _big(alphabet: str, size: int) -> bytes:
    chars, _ = ALPHABETS[alphabet]
    return (chars * (size // len(chars) + 1))[:size]


@pytest.mark.parametrize("alphabet", sorted(ALPHABETS))
@pytest.mark.parametrize("header", ["X-OpenIDM-Username", "X-OpenIDM-Password",
                                    "Authorization", "Cookie"])
def test_enormous_credentials(idm, header, alphabet):
    """6 KB (under the parser's 8 KB limit per header): the app reads it, 401. Past the
    limit (9 KB, 100 KB, 200 KB): 401 or the HTTP layer's clean refusal."""
    prefix = {"Authorization": b"Basic ", "Cookie": b"session-jwt="}.get(header, b"")
    pair = {"X-OpenIDM-Username": b"X-OpenIDM-Password",
            "X-OpenIDM-Password": b"X-OpenIDM-Username"}.get(header)
    for size in (6 * 1024, 9 * 1024, 100 * 1024, 200 * 1024):
        value = prefix + (_b64(_big(alphabet, size))[:size] if prefix == b"Basic "
                          else _big(alphabet, size))
        headers = [(header.encode(), value)] + ([(pair, ADMIN)] if pair else [])
        status, body = send(idm, headers)
        if size < LIMIT:
            assert status == 401, (size, status, body[:300])
            assert json.loads(body) == DENIED
        else:
            assert status in (401, *REFUSED), (size, status, body[:300])


def test_enormous_credentials_everywhere_at_once(idm):
    value = _big("utf-8", 6 * 1024)
    status, body = send(idm, [(b"X-OpenIDM-Username", value), (b"X-OpenIDM-Password", value),
                              (b"Authorization", b"Basic " + _b64(value)[:6000]),
                              (b"Cookie", b"session-jwt=" + value)])
    assert status == 401, (status, body[:300])
