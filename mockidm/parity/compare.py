"""`mockidm compare`: replay a recording against a fresh mock and compare every answer.

A host: it makes a `MockIDM` (seeded as `mockidm serve` seeds one: `cli.startup_state`),
serves it, and replays each recorded request over HTTP in the recording's order, as the
recorded client sent it, but for what only the mock can know:

- ids the server assigned: learned from the answers that introduced them (the fields the
  `id` rules name, and `Location`), then put in place of the recorded ones in later requests
  (path steps, query values, JSON string values that equal one) and answers;
- credentials: a redacted password becomes the mock's password for that user, and a cookie
  the value the mock last set under that name, unless the recorded answer refused them (401:
  the client sent wrong ones, and so does the replay); a redacted bearer token cannot be
  replayed (not comparable).

Each exchange is then `same`, `different` (status, the headers clients read, the body field by
field) or `not comparable` (the reason).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import quote, unquote, unquote_plus, urlsplit

import requests

from ..contract.har import HarEntry, HarError, Headers, read_har
from ..facade import MockIDM
from ..redaction import REDACTED
from .normalise import ANY_VALUE, COMPARE, ID, IGNORE, Rules, RulesError, load_rules, pointer
from .redact import basic_user, basic_with_password

SAME, DIFFERENT, NOT_COMPARABLE = "same", "different", "not comparable"
# Not the message's own: each hop writes them (see record.HOP_BY_HOP), and requests sets
# Host and Content-Length for the mock.
_NOT_REPLAYED = frozenset({"host", "content-length", "connection", "keep-alive", "te",
                           "transfer-encoding", "upgrade", "proxy-connection", "trailer"})
_CREDENTIALS = ("x-openidm-password", "x-openidm-reauth-password")


@dataclass(frozen=True)
class Difference:
    where: str  # "status", "header" or "body"
    at: str  # the header's name or the body's JSON pointer ("" for the whole)
    kind: str  # "missing" (recorded, not in the mock's), "extra" (the reverse), "different"
    recorded: Any = None
    mock: Any = None

    def __str__(self) -> str:
        name = {"status": "status", "header": f"header {self.at}",
                "body": f"body {self.at or '(whole)'}"}[self.where]
        if self.kind == "missing":
            return f"{name}: missing in the mock's answer (recorded {_short(self.recorded)})"
        if self.kind == "extra":
            return f"{name}: only in the mock's answer ({_short(self.mock)})"
        return f"{name}: recorded {_short(self.recorded)}, mock {_short(self.mock)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass
class Exchange:
    """One recorded exchange and what the mock answered to its replay."""

    index: int  # 1-based, in the recording's order
    recorded: HarEntry
    verdict: str = NOT_COMPARABLE
    reason: str = ""  # why it is not comparable
    sent: str = ""  # the replayed request's target (ids mapped)
    differences: list[Difference] = field(default_factory=list)
    mock_status: int = 0
    mock_headers: Headers = field(default_factory=list)
    mock_body: bytes = b""

    @property
    def title(self) -> str:
        return f"#{self.index} {self.recorded.method} {self.recorded.target}"


@dataclass
class Comparison:
    har: str
    profile: str
    exchanges: list[Exchange]
    seconds: float = 0.0
    ids: dict[str, str] = field(default_factory=dict)  # recorded id -> the mock's

    def count(self, verdict: str) -> int:
        return sum(1 for e in self.exchanges if e.verdict == verdict)

    @property
    def ok(self) -> bool:
        return self.count(DIFFERENT) == 0


class IdMap:
    """Recorded ids and the mock's ids for the same objects."""

    def __init__(self) -> None:
        self.to_mock: dict[str, str] = {}

    def learn(self, recorded: Any, mock: Any) -> None:
        if isinstance(recorded, str) and isinstance(mock, str) and recorded:
            self.to_mock.setdefault(recorded, mock)

    def map(self, value: str) -> str:
        return self.to_mock.get(value, value)

    def changes(self, value: str) -> bool:
        return self.to_mock.get(value, value) != value


# Walking two answers ---------------------------------------------------------------------------

def _pairs(recorded: list[Any], mock: list[Any]) -> Iterator[tuple[int, int]]:
    """Which item of the mock's list stands for which recorded one: definitions by key and
    version (their ids differ between servers), anything else by position."""
    def natural(items: list[Any]) -> list[tuple[Any, Any]] | None:
        if all(isinstance(i, dict) and "key" in i and "version" in i for i in items):
            return [(i["key"], i["version"]) for i in items]
        return None

    keys_r, keys_m = natural(recorded), natural(mock)
    if keys_r is not None and keys_m is not None and recorded and mock:
        where = {key: index for index, key in enumerate(keys_m)}
        for index, key in enumerate(keys_r):
            if key in where:
                yield index, where[key]
        return
    yield from ((i, i) for i in range(min(len(recorded), len(mock))))


def learn_ids(recorded: Any, mock: Any, rules: Rules, request: str, ids: IdMap,
              steps: tuple[str | int, ...] = ()) -> None:
    if steps and rules.body_rule(request, steps) == ID:
        ids.learn(recorded, mock)
    if isinstance(recorded, dict) and isinstance(mock, dict):
        for key in recorded.keys() & mock.keys():
            learn_ids(recorded[key], mock[key], rules, request, ids, (*steps, key))
    elif isinstance(recorded, list) and isinstance(mock, list):
        for i, j in _pairs(recorded, mock):
            learn_ids(recorded[i], mock[j], rules, request, ids, (*steps, i))


def diff_json(recorded: Any, mock: Any, rules: Rules, request: str, ids: IdMap,
              steps: tuple[str | int, ...] = ()) -> list[Difference]:
    rule = rules.body_rule(request, steps) if steps else None
    if rule == IGNORE:
        return []
    if rule == ANY_VALUE:  # any value, but of the same JSON type: a client parses it
        if json_type(recorded) != json_type(mock):
            return [Difference("body", pointer(steps), "different", recorded, mock)]
        return []
    here = pointer(steps)
    if rule == ID and isinstance(recorded, str):
        recorded = ids.map(recorded)
    if isinstance(recorded, dict) and isinstance(mock, dict):
        found: list[Difference] = []
        for key, value in recorded.items():
            if key in mock:
                found += diff_json(value, mock[key], rules, request, ids, (*steps, key))
            elif rules.body_rule(request, (*steps, key)) != IGNORE:
                found.append(Difference("body", pointer((*steps, key)), "missing", value))
        for key, value in mock.items():
            if key not in recorded and rules.body_rule(request, (*steps, key)) != IGNORE:
                found.append(Difference("body", pointer((*steps, key)), "extra", mock=value))
        return found
    if isinstance(recorded, list) and isinstance(mock, list):
        found = []
        paired = dict(_pairs(recorded, mock))
        for i, value in enumerate(recorded):
            if i in paired:
                found += diff_json(value, mock[paired[i]], rules, request, ids, (*steps, i))
            else:
                found.append(Difference("body", pointer((*steps, i)), "missing", value))
        for j in sorted(set(range(len(mock))) - set(paired.values())):
            found.append(Difference("body", pointer((*steps, j)), "extra", mock=mock[j]))
        return found
    # JSON's types are told apart: 1 is not true, nor 1.0 "1".
    if type(recorded) is not type(mock) or recorded != mock:
        return [Difference("body", here, "different", recorded, mock)]
    return []


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _parse(body: bytes) -> tuple[bool, Any]:
    if not body:
        return True, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


def _header_values(headers: Headers, name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name]


def _normal_header(name: str, value: str, ids: IdMap | None) -> str:
    if name == "content-type":
        return value.replace(" ", "").lower()
    if name == "location":  # the server's own origin differs; the path names the object
        path = urlsplit(value).path
        return "/".join(quote(ids.map(unquote(s)), safe="") if ids else s
                        for s in path.split("/"))
    return value


def diff_headers(recorded: Headers, mock: Headers, rules: Rules, request: str,
                 ids: IdMap) -> list[Difference]:
    found = []
    names = [k for k, _ in recorded] + [k for k, _ in mock]
    for name in rules.compared_headers(request, names):
        mine, theirs = _header_values(recorded, name), _header_values(mock, name)
        if mine and not theirs:
            found.append(Difference("header", name, "missing", ", ".join(mine)))
        elif theirs and not mine:
            found.append(Difference("header", name, "extra", mock=", ".join(theirs)))
        elif mine and rules.header_rule(request, name) == COMPARE:
            want = [_normal_header(name, v, ids) for v in mine]
            got = [_normal_header(name, v, None) for v in theirs]
            if want != got:
                found.append(Difference("header", name, "different", ", ".join(mine),
                                        ", ".join(theirs)))
    return found


# Replaying -------------------------------------------------------------------------------------

def _map_path(path: str, ids: IdMap) -> str:
    return "/".join(quote(ids.map(unquote(step)), safe="") if ids.changes(unquote(step))
                    else step for step in path.split("/"))


def _map_query(query: str, ids: IdMap) -> str:
    parts = []
    for part in query.split("&") if query else []:
        name, sep, value = part.partition("=")
        plain = unquote_plus(value)
        parts.append(f"{name}{sep}{quote(ids.map(plain), safe='')}" if ids.changes(plain)
                     else part)
    return "&".join(parts)


def _map_json(value: Any, ids: IdMap) -> Any:
    if isinstance(value, str):
        return ids.map(value)
    if isinstance(value, dict):
        return {k: _map_json(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_json(v, ids) for v in value]
    return value


def _map_body(body: bytes, ids: IdMap) -> bytes:
    if not body or not ids.to_mock:
        return body
    parsed, value = _parse(body)
    if not parsed:
        return body
    mapped = _map_json(value, ids)
    return body if mapped == value else json.dumps(mapped).encode("utf-8")


class Unreplayable(Exception):
    """The request cannot be sent as recorded; the message says why."""


class Replayer:
    """Sends recorded requests to the mock as the recorded client would have."""

    def __init__(self, mock: MockIDM, ids: IdMap) -> None:
        self.mock, self.ids = mock, ids
        self.origin = mock.url.removesuffix("/openidm")
        self.cookies: dict[str, str] = {}  # the mock's, by name, as it last set them
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy of the environment between us and the mock

    def target(self, entry: HarEntry) -> str:
        parts = urlsplit(entry.url)
        query = _map_query(parts.query, self.ids)
        return _map_path(parts.path, self.ids) + (f"?{query}" if query else "")

    def headers(self, entry: HarEntry) -> dict[str, str]:
        refused = entry.status == 401  # the recorded credentials were wrong: keep them wrong
        headers: dict[str, str] = {}
        for name, value in entry.request_headers:
            lower = name.lower()
            if lower in _NOT_REPLAYED:
                continue
            if lower in _CREDENTIALS and value == REDACTED and not refused:
                value = self._password(entry.request_header("x-openidm-username"))
            elif lower == "authorization":
                value = self._authorization(value, refused)
            elif lower == "cookie" and not refused:
                value = self._cookie(value)
                if not value:
                    continue
            headers[name] = value
        return headers

    def _password(self, user: str | None) -> str:
        try:
            return self.mock.user(user or "").password
        except KeyError:
            return REDACTED  # a user the mock does not know: refused, as IDM would

    def _authorization(self, value: str, refused: bool) -> str:
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "basic":
            user = basic_user(credentials)
            if user is not None and not refused and \
                    basic_with_password(credentials, REDACTED) == credentials:
                return f"{scheme} {basic_with_password(credentials, self._password(user))}"
            return value
        if credentials == REDACTED:
            raise Unreplayable(
                "its bearer token was redacted (record with --keep-secrets and give the mock "
                "the token: tokens in --fixtures)")
        return value

    def _cookie(self, value: str) -> str:
        """The cookies the recorded client sent, each with the mock's value for that name
        (a cookie the mock never set is sent as recorded, unless it was redacted)."""
        kept = []
        for part in value.split(";"):
            name, sep, recorded = part.strip().partition("=")
            if not sep:
                continue
            if name in self.cookies:
                kept.append(f"{name}={self.cookies[name]}")
            elif recorded != REDACTED:
                kept.append(f"{name}={recorded}")
        return "; ".join(kept)

    def send(self, entry: HarEntry, target: str) -> requests.Response:
        request = requests.Request(entry.method, self.origin + target,
                                   headers=self.headers(entry),
                                   data=_map_body(entry.request_body, self.ids) or None)
        self.http.cookies.clear()  # cookies are the recorded client's, sent in `headers`
        prepared = self.http.prepare_request(request)
        prepared.url = self.origin + target  # as recorded: requests must not re-quote it
        response = self.http.send(prepared, allow_redirects=False, timeout=30)
        for cookie in response.cookies:
            if cookie.value is not None:
                self.cookies[cookie.name] = cookie.value
        return response


# The run ---------------------------------------------------------------------------------------

def request_line(entry: HarEntry) -> str:
    """What a rule's `where` is matched against: `METHOD path`."""
    return f"{entry.method} {entry.path}"


def compare_one(exchange: Exchange, replayer: Replayer, rules: Rules) -> None:
    entry, ids = exchange.recorded, replayer.ids
    if entry.status == 0:
        exchange.reason = "the recording holds no answer"
        return
    exchange.sent = replayer.target(entry)
    try:
        response = replayer.send(entry, exchange.sent)
    except Unreplayable as exc:
        exchange.reason = str(exc)
        return
    except requests.RequestException as exc:
        exchange.reason = f"the mock did not answer: {exc}"
        return
    exchange.mock_status = response.status_code
    exchange.mock_headers = list(response.headers.items())
    exchange.mock_body = response.content
    served = replayer.mock.requests()
    unserved = served[-1].unserved if served else None
    replayer.mock.clear_journal()  # so that the next look is at one entry, not all of them
    # The mock's 404 for a path it does not serve is IDM's for a path IDM does not have:
    # comparable when IDM said 404 too; else IDM has something the mock cannot judge.
    if unserved is not None and not unserved.startswith("the spec rejects") \
            and entry.status != 404:
        exchange.reason = f"the mock does not serve this request ({unserved})"
        return
    request = request_line(entry)
    parsed_r, recorded = _parse(entry.response_body)
    parsed_m, mock = _parse(response.content)
    both_ok = entry.status < 400 and response.status_code < 400
    if both_ok and parsed_r and parsed_m:
        learn_ids(recorded, mock, rules, request, ids)
    location_r, location_m = entry.response_header("location"), response.headers.get("location")
    if both_ok and location_r and location_m:
        for step_r, step_m in zip(urlsplit(location_r).path.split("/"),
                                  urlsplit(location_m).path.split("/"), strict=False):
            if step_r != step_m:
                ids.learn(unquote(step_r), unquote(step_m))
    found = []
    if entry.status != response.status_code:
        found.append(Difference("status", "", "different", entry.status, response.status_code))
    found += diff_headers(entry.response_headers, exchange.mock_headers, rules, request, ids)
    if parsed_r and parsed_m:
        found += diff_json(recorded, mock, rules, request, ids)
    elif entry.response_body != response.content:
        found.append(Difference("body", "", "different",
                                entry.response_body.decode("utf-8", "replace"),
                                response.content.decode("utf-8", "replace")))
    exchange.differences = found
    exchange.verdict = DIFFERENT if found else SAME


def compare(entries: list[HarEntry], mock: MockIDM, rules: Rules, *, har: str = "",
            progress: Callable[[Exchange, int], None] | None = None) -> Comparison:
    """Replay `entries` against `mock` (seeded, not yet serving) and compare each answer."""
    started = time.perf_counter()
    ids = IdMap()
    exchanges = [Exchange(index, entry) for index, entry in enumerate(entries, 1)]
    with mock.serve():
        replayer = Replayer(mock, ids)
        for exchange in exchanges:
            compare_one(exchange, replayer, rules)
            if progress is not None:
                progress(exchange, len(exchanges))
    return Comparison(har, mock.profile.name, exchanges, time.perf_counter() - started,
                      dict(ids.to_mock))


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Deploying logs a line per definition: noise in a comparison's output."""
    logger = logging.getLogger("mockidm")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..cli import startup_state
    from .report import Progress, summary, write_html, write_json, write_junit

    out, err = out or sys.stdout, err or sys.stderr

    def refuse(message: str) -> int:
        print(f"mockidm compare: error: {message}", file=err, flush=True)
        return 2

    try:
        entries = read_har(args.har)
        rules = load_rules(args.rules)
    except (HarError, RulesError) as exc:
        return refuse(str(exc))
    if not entries:
        return refuse(f"{args.har} holds no exchange")
    mock = MockIDM(args.profile)
    seed = argparse.Namespace(workflow_dir=args.workflow_dir, strict=False, no_samples=False,
                              fixtures=args.fixtures)
    logging.basicConfig(level=logging.WARNING, format="mockidm compare: %(message)s",
                        stream=err)
    with _quiet_logs():
        if startup_state(mock, seed, logging.getLogger("mockidm")):
            return refuse("the mock could not be seeded (above)")
    print(f"mockidm compare: {len(entries)} exchanges of {args.har} against a fresh mock "
          f"(profile {args.profile})", file=out, flush=True)
    comparison = compare(entries, mock, rules, har=str(args.har),
                         progress=None if args.quiet else Progress(out))
    print(summary(comparison), file=out, flush=True)
    for path, write in ((args.html, write_html), (args.junit, write_junit),
                        (args.json, write_json)):
        if path is not None:
            write(comparison, path)
            print(f"wrote {path}", file=out)
    return 0 if comparison.ok else 1

