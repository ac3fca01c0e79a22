"""The server under test, reached over HTTP only: credentials, the workflow calls, discovery of
what is deployed, and a record of every process instance the kit starts so it can delete them.

Nothing here knows the mock: the same code runs against a real IDM.
"""

from __future__ import annotations

import http.cookiejar
import json as jsonlib
import shlex
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from .outcome import Result, RuleFailed, Skip, clip
from .progress import Progress
from .settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_PASSWORD,
    DEFAULT_TIMEOUT,
    DEFAULT_USER,
    PASSWORD_ENV,
    PROFILES,
    TOKEN_ENV,
)

# Every instance the kit starts carries this variable, valued with the run id, so that an
# operator can find them on a shared server (`var-mockidmContractRun=<run id>`).
RUN_VARIABLE = "mockidmContractRun"
API_VERSION = "resource=1.0"
_START = "workflow/processinstance"


@dataclass(frozen=True)
class Definition:
    id: str
    key: str
    version: int
    name: str | None = None


@dataclass
class Started:
    """An instance this run started (a rule or schemathesis), as the target's response hook saw
    it: what the checks and the cleanup know of it."""

    answer: dict[str, Any]  # the 2xx answer to the start
    business_key: Any = None  # the `_businessKey` the start sent (None: none sent)
    deleted: bool = False  # a DELETE of the run answered 2xx (either path)


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)  # finished on their own; IDM keeps history
    leftovers: list[tuple[str, str]] = field(default_factory=list)  # (instance id, why)

    @property
    def created(self) -> int:
        return len(self.deleted) + len(self.ended) + len(self.leftovers)


class Target:
    """One IDM (or mock) at `base_url`, which ends with the context path: `.../openidm`."""

    def __init__(self, base_url: str, user: str = DEFAULT_USER,
                 password: str = DEFAULT_PASSWORD, profile: str = "8.1", *,
                 read_only: bool = False, max_examples: int = DEFAULT_MAX_EXAMPLES,
                 process_keys: Iterable[str] = (), timeout: float = DEFAULT_TIMEOUT,
                 run_id: str | None = None, token: str | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        self.base_url = base_url.rstrip("/")
        self.user, self.password = user, password
        # An access token (a platform deployment, behind PingAM) replaces the password: every
        # request then sends it as `Authorization: Bearer`, and `user` names its subject.
        self.token = token or None
        self.expect = PROFILES[profile]
        self.read_only = read_only
        self.max_examples = max_examples  # for the schemathesis checks
        self.process_keys = tuple(process_keys)
        self.timeout = timeout
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.http = requests.Session()
        # Every call authenticates afresh: a session cookie would outrank the credentials the
        # authentication rules send.
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # Every answer passes this hook, whoever sent the request (a scenario or schemathesis),
        # so no instance the kit starts escapes the cleanup.
        self.http.hooks["response"].append(self._on_response)
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        # Every instance the run started, in creation order: the one record of them.
        self.created: dict[str, Started] = {}
        self._handled: set[str] = set()  # deleted by a rule itself
        # rule id -> its result in this run (selected, or run as a prerequisite), and the rule
        # whose result reports a failure of it (itself when selected): see runner.
        self.outcomes: dict[str, Result] = {}
        self.reported: dict[str, str] = {}
        self.shared: dict[str, Any] = {}  # what rules keep for the run (the fuzz session)
        self.progress = Progress()  # how far a long rule has got: the runner's lines show it
        self._definitions: list[Definition] | None = None
        self._task_start: Definition | None = None  # a definition known to open a task at once
        self._counter = 0

    # HTTP --------------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        return not self.read_only

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def credentials(self) -> dict[str, str]:
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token}"}
        return {"X-OpenIDM-Username": self.user, "X-OpenIDM-Password": self.password}

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                json: Any = None, data: bytes | str | None = None,
                headers: Mapping[str, str | None] | None = None,
                auth: bool = True, negative: bool = False) -> requests.Response:
        """`path` is relative to the base URL. A header valued None is not sent.

        In read-only mode only reads go out, and requests marked `negative`: those built so
        that the server must refuse them (see `attempt`)."""
        if self.read_only and method.upper() != "GET" and not negative:
            raise Skip(f"read-only mode: the kit sends no {method.upper()} {path}")
        return self._send(method, path, params=params, json=json, data=data, headers=headers,
                          auth=auth)

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json: Any = None, data: bytes | str | None = None,
              headers: Mapping[str, str | None] | None = None,
              auth: bool = True) -> requests.Response:
        merged: dict[str, str | None] = {"X-OpenIDM-NoSession": "true",
                                         "Accept-API-Version": API_VERSION,
                                         **(self.credentials() if auth else {})}
        if json is not None or data is not None:
            merged["Content-Type"] = "application/json"
        merged.update(headers or {})
        body = data if json is None else jsonlib.dumps(json)
        return self.http.request(
            method, self.url(path), params=params, data=body, timeout=self.timeout,
            headers={k: v for k, v in merged.items() if v is not None})

    def get(self, path: str, **params: str) -> requests.Response:
        return self.request("GET", path, params=params or None)

    def query(self, path: str, **params: str) -> list[dict[str, Any]]:
        """The `result` of a query that must succeed."""
        return self.query_result(self.get(path, **params), f"query {path}")

    def curl(self, response: requests.Response) -> str:
        """A shell line that sends the same request again (the password or the token as a
        variable)."""
        sent = response.request
        parts = ["curl", "-i", "-X", sent.method or "GET", shlex.quote(sent.url or "")]
        for name, value in sent.headers.items():
            if name.lower() in _CLIENT_HEADERS:
                continue
            if name.lower() == "x-openidm-password" and value == self.password:
                parts += ["-H", f'"{name}: ${PASSWORD_ENV}"']
            elif self.token is not None and value == f"Bearer {self.token}":
                parts += ["-H", f'"{name}: Bearer ${TOKEN_ENV}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if sent.body is not None:
            body = sent.body.decode("utf-8", "replace") if isinstance(sent.body, bytes) \
                else str(sent.body)
            parts += ["--data-raw", shlex.quote(body)]
        return " ".join(parts)

    # starting processes --------------------------------------------------------------------

    def unique(self, label: str) -> str:
        """A value no other run and no other call of this run uses."""
        self._counter += 1
        return f"mockidm-contract-{self.run_id}-{label}-{self._counter}"

    def require_writes(self, what: str = "starts process instances") -> None:
        if self.read_only:
            raise Skip(f"read-only mode: this rule {what}")

    def start(self, body: Mapping[str, Any]) -> requests.Response:
        """Start a process (a write: refused in read-only mode). The run id goes in as a
        variable so that what the kit leaves can be found."""
        self.require_writes()
        return self.request("POST", _START, params={"_action": "create"},
                            json={**body, RUN_VARIABLE: self.run_id})

    def attempt(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request the server must refuse, built so that it cannot change anything even on a
        server that wrongly accepts it (a start of a key that does not exist...): allowed in
        read-only mode. Should an instance be created after all, cleanup deletes it."""
        return self.request(method, path, negative=True, **kwargs)

    def started(self, response: requests.Response, what: str) -> dict[str, Any]:
        """The body of a start that must have created an instance (any 2xx with an `_id`)."""
        body = json_body(response)
        if not (200 <= response.status_code < 300 and isinstance(body, dict)
                and isinstance(body.get("_id"), str)):
            raise RuleFailed(f"{what}: the process did not start\n"
                             f"  expected: 201 with the new instance's _id\n"
                             f"  got:      {response.status_code} {clip(response.text)}\n"
                             f"  reproduce: {self.curl(response)}")
        return body

    def _on_response(self, response: requests.Response, *args: Any,
                     **kwargs: Any) -> None:
        """Record the instance a 2xx start created, and the instances a DELETE removed."""
        sent = response.request
        path = urlsplit(sent.url or "").path
        if not path.startswith(self._base_path + "/") or not 200 <= response.status_code < 300:
            return
        parts = path[len(self._base_path):].strip("/").split("/")
        # POST processinstance and POST processinstance/history both start a process; DELETE
        # processinstance/<id> and processinstance/history/<id> both cancel one.
        if parts[:2] != _START.split("/"):
            return
        if sent.method == "POST":
            body = json_body(response)
            if isinstance(body, dict) and isinstance(body.get("_id"), str) \
                    and "processInstanceId" in body and body["_id"] not in self.created:
                self.created[body["_id"]] = Started(body, _sent_json(sent).get("_businessKey"))
        elif sent.method == "DELETE" and len(parts) in (3, 4) \
                and parts[2:-1] in ([], ["history"]):
            started = self.created.get(unquote(parts[-1]))
            if started is not None:
                started.deleted = True

    def forget(self, instance_id: str) -> None:
        """A rule deleted this instance itself."""
        self._handled.add(instance_id)

    # discovery ---------------------------------------------------------------------------

    def definitions(self) -> list[Definition]:
        """Every deployed definition (every version), restricted to `process_keys` if set."""
        if self._definitions is None:
            response = self.get("workflow/processdefinition", _queryId="query-all-ids")
            if response.status_code != 200:  # a server that only knows `_queryFilter`
                response = self.get("workflow/processdefinition", _queryFilter="true")
            items = self.query_result(response, "list the deployed process definitions")
            found = [d for d in map(_definition, items) if d is not None]
            if self.process_keys:
                found = [d for d in found if d.key in self.process_keys]
            self._definitions = sorted(found, key=lambda d: (d.key, d.version))
        return self._definitions

    def query_result(self, response: requests.Response, what: str) -> list[dict[str, Any]]:
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict) \
                or not isinstance(body.get("result"), list):
            raise RuleFailed(f"cannot {what}\n  expected: 200 with a query envelope\n"
                             f"  got:      {response.status_code} {clip(response.text)}\n"
                             f"  reproduce: {self.curl(response)}")
        return body["result"]

    def versions(self) -> dict[str, list[Definition]]:
        """key -> its definitions, oldest version first."""
        by_key: dict[str, list[Definition]] = {}
        for d in self.definitions():
            by_key.setdefault(d.key, []).append(d)
        return by_key

    def any_definition(self) -> Definition:
        latest = [versions[-1] for versions in self.versions().values()]
        if not latest:
            raise Skip("no process definition is deployed"
                       + (f" with key {', '.join(self.process_keys)}" if self.process_keys
                          else ""))
        return latest[0]

    def tasks_of(self, instance_id: str) -> list[dict[str, Any]]:
        return self.query("workflow/taskinstance", _queryId="filtered-query",
                          processInstanceId=instance_id)

    def instance_with_task(self) -> tuple[str, dict[str, Any], Definition]:
        """Start an instance that waits in a user task: (instance id, task, definition).

        Tries the latest version of each key that declares user tasks, and remembers the
        first whose start opens a task."""
        self.require_writes()
        candidates = [self._task_start] if self._task_start else self._task_candidates()
        tried = []
        for definition in candidates[:3]:
            body = self.started(self.start({"_processDefinitionId": definition.id}),
                                f"start {definition.id}")
            tasks = self.tasks_of(body["_id"])
            if tasks:
                self._task_start = definition
                return body["_id"], tasks[0], definition
            tried.append(definition.id)
        raise Skip("needs a process whose start opens a user task; "
                   + (f"none of {', '.join(tried)} did" if tried
                      else "no deployed definition declares a user task"))

    def _task_candidates(self) -> list[Definition]:
        found = []
        for versions in self.versions().values():
            latest = versions[-1]
            response = self.get(f"workflow/processdefinition/{latest.id}/taskdefinition",
                                _queryId="query-all-ids")
            body = json_body(response)
            if response.status_code == 200 and isinstance(body, dict) and body.get("result"):
                found.append(latest)
        return found

    # cleanup -----------------------------------------------------------------------------

    def cleanup(self) -> CleanupReport:
        """Delete every instance the kit started; list those it could not delete."""
        report = CleanupReport()
        for instance_id in self.created:
            if instance_id in self._handled:
                report.deleted.append(instance_id)
                continue
            try:
                self._delete(instance_id, report)
            except requests.RequestException as exc:
                report.leftovers.append((instance_id, f"{type(exc).__name__}: {exc}"))
        return report

    def _delete(self, instance_id: str, report: CleanupReport) -> None:
        path = f"{_START}/{instance_id}"
        deleted = self._send("DELETE", path)  # even in read-only mode: the kit made it
        # Read it back: the read serves finished instances too, with their end time.
        after = self._send("GET", path)
        body = json_body(after)
        ended = after.status_code == 404 or (
            after.status_code == 200 and isinstance(body, dict) and body.get("endTime"))
        if deleted.status_code == 200 and ended:
            report.deleted.append(instance_id)
        elif deleted.status_code == 404 and ended:
            # Gone already: deleted earlier in the run (schemathesis follows DELETE links, on
            # either path), or it finished on its own.
            (report.deleted if self.created[instance_id].deleted else report.ended).append(
                instance_id)
        else:
            report.leftovers.append(
                (instance_id, f"DELETE answered {deleted.status_code} "
                              f"{clip(deleted.text, 120)}; the instance still runs"))


def _sent_json(sent: requests.PreparedRequest) -> dict[str, Any]:
    """The JSON object a request sent, or {}."""
    try:
        body = jsonlib.loads(sent.body or b"")
    except ValueError:  # not JSON, or not UTF-8
        return {}
    return body if isinstance(body, dict) else {}


_CLIENT_HEADERS = {"user-agent", "accept-encoding", "accept", "connection", "content-length"}


def json_body(response: Any) -> Any:
    """The JSON of an answer (requests' or schemathesis's), or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _definition(item: Any) -> Definition | None:
    if not isinstance(item, dict) or not isinstance(item.get("_id"), str):
        return None
    parts = item["_id"].split(":")
    key = item.get("key")
    if not isinstance(key, str):
        key = parts[0]
    version = item.get("version")
    if not isinstance(version, int):
        try:
            version = int(parts[1])
        except (IndexError, ValueError):
            return None
    return Definition(item["_id"], key, version, item.get("name"))
