"""HAR 1.2 files (http://www.softwareishard.com/blog/har-12-spec/): recorded HTTP exchanges,
the format browsers, WireMock and schemathesis read.

Written as a stream (`HarWriter`): the header, then one entry per line as each exchange
ends, flushed at once, and the closing brackets when the recording stops. A recorder killed
before it could close leaves a file with every finished entry but no closing brackets;
`read_har` reads it all the same. No mockidm import: `mockidm record` writes with it,
`mockidm compare` and `mockidm contract --har` read with it, and the contract kit must not
need the mock.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

VERSION = "1.2"
_HEAD = '{"log": {"version": "1.2", "creator": %s, "entries": [\n'
_TAIL = "\n]}}\n"

Headers = list[tuple[str, str]]


class HarError(ValueError):
    """The file is not a HAR file this module can read; the message says where and why."""


@dataclass
class HarEntry:
    """One exchange: the request as sent and the answer as received (bodies as bytes)."""

    started: datetime
    method: str
    url: str  # absolute, as the client asked for it
    request_headers: Headers
    request_body: bytes
    status: int  # 0: no answer was received
    reason: str
    response_headers: Headers
    response_body: bytes
    seconds: float = 0.0  # from the request's start to the answer's end
    http_version: str = "HTTP/1.1"
    comment: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def target(self) -> str:
        """Path and query, as on the request line."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _header(self.response_headers, name)

    def response_json(self) -> Any:
        """The answer's body parsed as JSON; None when it is empty or not JSON."""
        return _json(self.response_body)

    def request_json(self) -> Any:
        return _json(self.request_body)


def _header(headers: Headers, name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


# Writing ----------------------------------------------------------------------------------------

class HarWriter:
    """Appends entries to a new HAR file, each flushed as it comes. Refuses to write over an
    existing file (`FileExistsError`)."""

    def __init__(self, path: str | Path, creator: str, version: str) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = open(self.path, "x", encoding="utf-8")  # noqa: SIM115
        self._file.write(_HEAD % json.dumps({"name": creator, "version": version}))
        self._file.flush()
        self.count = 0

    def write(self, entry: HarEntry) -> None:
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        line = orjson.dumps(to_har(entry)).decode("utf-8")  # 4-5x json's speed: a proxy's cost
        self._file.write(("," if self.count else "") + line + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.write(_TAIL)
            self._file.close()
            self._file = None


def _pairs(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _content(body: bytes, mime: str) -> dict[str, Any]:
    """HAR's `content` (and `postData`): text when it is UTF-8, else base64."""
    try:
        return {"mimeType": mime, "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"mimeType": mime, "text": base64.b64encode(body).decode("ascii"),
                "encoding": "base64"}


def _cookies(header: str | None) -> list[dict[str, str]]:
    cookies = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies.append({"name": name, "value": value})
    return cookies


def to_har(entry: HarEntry) -> dict[str, Any]:
    """The entry as HAR 1.2 has it."""
    request: dict[str, Any] = {
        "method": entry.method, "url": entry.url, "httpVersion": entry.http_version,
        "cookies": _cookies(entry.request_header("cookie")),
        "headers": _pairs(entry.request_headers),
        "queryString": [{"name": k, "value": v} for k, v in entry.query],
        "headersSize": -1, "bodySize": len(entry.request_body)}
    if entry.request_body:
        request["postData"] = {**_content(entry.request_body,
                                          entry.request_header("content-type") or ""),
                               "params": []}
    response_cookies = [c for value in (v for k, v in entry.response_headers
                                        if k.lower() == "set-cookie")
                        for c in _cookies(value.split(";", 1)[0])]
    response = {
        "status": entry.status, "statusText": entry.reason, "httpVersion": entry.http_version,
        "cookies": response_cookies, "headers": _pairs(entry.response_headers),
        "content": {"size": len(entry.response_body),
                    **_content(entry.response_body,
                               entry.response_header("content-type") or "")},
        "redirectURL": entry.response_header("location") or "",
        "headersSize": -1, "bodySize": len(entry.response_body)}
    milliseconds = round(entry.seconds * 1000, 3)
    har: dict[str, Any] = {
        "startedDateTime": entry.started.isoformat(), "time": milliseconds,
        "request": request, "response": response, "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0}}
    if entry.comment:
        har["comment"] = entry.comment
    return har


# Reading ----------------------------------------------------------------------------------------

def read_har(path: str | Path) -> list[HarEntry]:
    """Every entry of a HAR file, in the file's order; a stream cut short (no closing
    brackets) is read up to its last whole entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarError(f"cannot read {path}: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError:
        document = _cut_short(path, text)
    if not isinstance(document, dict) or not isinstance(document.get("log"), dict) \
            or not isinstance(document["log"].get("entries"), list):
        raise HarError(f"{path} is not a HAR file: no log.entries")
    entries = []
    for index, item in enumerate(document["log"]["entries"]):
        try:
            entries.append(from_har(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise HarError(f"{path}: entry {index} is not a HAR 1.2 entry ({exc!r})") from exc
    return entries


def _cut_short(path: Path, text: str) -> dict[str, Any]:
    """A file `HarWriter` did not close: its header line, then one entry per line."""
    lines = text.split("\n")
    if not lines[0].startswith('{"log"') or not lines[0].rstrip().endswith("["):
        raise HarError(f"{path} is not JSON, nor a HAR recording cut short")
    entries = []
    for line in lines[1:]:
        line = line.strip().lstrip(",")
        if not line or line.startswith("]"):
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            break  # the last line, half written when the recorder stopped
    return {"log": {"entries": entries}}


def _body(content: dict[str, Any] | None) -> bytes:
    if not content or content.get("text") is None:
        return b""
    if content.get("encoding") == "base64":
        return base64.b64decode(content["text"])
    return str(content["text"]).encode("utf-8")


def _headers(items: Sequence[dict[str, Any]]) -> Headers:
    return [(str(item["name"]), str(item["value"])) for item in items]


def from_har(item: dict[str, Any]) -> HarEntry:
    request, response = item["request"], item.get("response") or {}
    started = item.get("startedDateTime")
    return HarEntry(
        started=datetime.fromisoformat(started) if started else datetime.min,
        method=str(request["method"]).upper(), url=str(request["url"]),
        request_headers=_headers(request.get("headers", [])),
        request_body=_body(request.get("postData")),
        status=int(response.get("status") or 0), reason=str(response.get("statusText", "")),
        response_headers=_headers(response.get("headers", [])),
        response_body=_body(response.get("content")),
        seconds=float(item.get("time") or 0) / 1000,
        http_version=str(request.get("httpVersion", "HTTP/1.1")),
        comment=str(item.get("comment", "")))

