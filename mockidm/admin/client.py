"""AdminClient: script a mockidm server that runs in another process, through its admin API.

HTTP with the standard library only (urllib), so that any test suite can use it:

    admin = AdminClient("http://127.0.0.1:8080/openidm", token=os.environ.get("ADMIN_TOKEN"))
    admin.reset()
    admin.deploy_bpmn(Path("onboarding.bpmn20.xml").read_text())
    admin.fault(operation="createProcessInstance", status=503, times=1)
    ...
    assert admin.problems() == []

The methods mirror `mockidm.MockIDM`; they answer plain JSON data (dicts and lists).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PREFIX = "/__mockidm"


class AdminError(Exception):
    """The admin API answered something other than 2xx."""

    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {url} -> {status}: {message}")


class AdminClient:
    """A client of the admin API of the mockidm server at `url`.

    url: the server's origin (`http://host:port`) or the IDM base URL that ends in /openidm.
    token: the server's `--admin-token`, sent as `Authorization: Bearer <token>`.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        base = url.rstrip("/")
        for suffix in ("/openidm", PREFIX):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.origin = base
        self.url = base + PREFIX
        self.timeout = timeout
        self._token = token

    def __repr__(self) -> str:  # never show the token
        return f"AdminClient({self.url!r})"

    # transport -----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                params: Mapping[str, Any] | None = None) -> Any:
        """One admin call; `path` below /__mockidm, e.g. "journal". Answers the JSON body."""
        url = f"{self.url}/{path.lstrip('/')}"
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, default=_encode).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                answer: Any = json.loads(raw)
            except ValueError:
                answer = raw.decode("utf-8", "replace")
            raise AdminError(method, url, error.code, answer) from None
        return json.loads(raw) if raw else None

    # lifecycle -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a new mock's state (see MockIDM.reset)."""
        self.request("POST", "reset")

    def snapshot(self) -> dict[str, Any]:
        """The whole IDM state (engine, users, access rules), for `restore`."""
        return self.request("GET", "snapshot")

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        self.request("PUT", "snapshot", dict(snapshot))

    def load_fixtures(self, document: Mapping[str, Any] | str | Path, *,
                      base_dir: str | Path | None = None) -> list[dict[str, Any]]:
        """Apply a fixture scenario (see `mockidm.scenario`): a YAML or JSON file, or the
        document itself. It is checked here first, and the files it names (BPMN files,
        folders, a process-access.json) are read here, relative to the file (or `base_dir`),
        and sent inline: the server reads none of its own files. Archives (.bar, .zip) cannot
        be sent. Answers the instances the scenario started."""
        answer = self.request("POST", "fixtures", inline_scenario(document, base_dir=base_dir))
        return answer["instances"]

    def problems(self) -> list[str]:
        """Requests the mock could not serve and scripted failures that never fired."""
        return self.request("GET", "problems")

    def mails(self) -> list[dict[str, Any]]:
        """The mails the workflows' mail tasks sent, oldest first (the mock sends none)."""
        return self.request("GET", "mails")

    # the IDM objects workflow scripts call ---------------------------------------------------

    def seed_objects(self, container: str, objects: list[dict[str, Any]]) -> None:
        self.request("POST", "objects", {"container": container, "objects": objects})

    def idm_objects(self) -> dict[str, list[dict[str, Any]]]:
        return self.request("GET", "objects")

    def idm_object(self, path: str) -> dict[str, Any]:
        """One object (`managed/user/bjensen`); an AdminError (404) if there is none."""
        return self.request("GET", f"objects/{path.strip('/')}")

    def idm_answer(self, resource: str, answer: Any = None, *, method: str | None = None,
                   action: str | None = None, error: tuple[int, str] | None = None) -> None:
        body: dict[str, Any] = {"resource": resource, "answer": answer, "method": method,
                                "action": action}
        if error is not None:
            body["error"] = {"status": error[0], "message": error[1]}
        self.request("POST", "idm-answers", body)

    def idm_calls(self, method: str | None = None, resource: str | None = None
                  ) -> list[dict[str, Any]]:
        return self.request("GET", "idm-calls", params={"method": method, "resource": resource})

    # definitions ---------------------------------------------------------------------------

    def deploy_bpmn(self, text: str | bytes, name: str = "process.bpmn20.xml"
                    ) -> list[dict[str, Any]]:
        """Deploy one BPMN 2.0 document; answers the definitions it declared."""
        bpmn = text.decode("utf-8") if isinstance(text, bytes) else text
        return self.request("POST", "definitions",
                            {"bpmn": bpmn, "name": name})

    def deploy_file(self, path: str | Path) -> list[dict[str, Any]]:
        path = Path(path)
        return self.deploy_bpmn(path.read_bytes(), path.name)

    def definitions(self) -> list[dict[str, Any]]:
        return self.request("GET", "definitions")

    # users and access ----------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        """The users who can log in (internal, then managed): names and roles, no passwords."""
        return self.request("GET", "users")

    def add_user(self, name: str, password: str, roles: Iterable[str] | None = None
                 ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "password": password}
        if roles is not None:
            body["roles"] = list(roles)
        return self.request("POST", "users", body)

    def add_managed_user(self, user_name: str, password: str,
                         authz_roles: Iterable[str] = ()) -> dict[str, Any]:
        return self.request("POST", "managed-users",
                            {"userName": user_name, "password": password,
                             "authzRoles": list(authz_roles)})

    def add_token(self, token: str, subject: str, roles: Iterable[str] | None = None, *,
                  expires_in: float | None = None) -> dict[str, Any]:
        """A bearer access token for `subject` (see MockIDM.add_token); its subject, roles and
        expiry (ISO 8601, or None)."""
        body: dict[str, Any] = {"token": token, "subject": subject}
        if roles is not None:
            body["roles"] = list(roles)
        if expires_in is not None:
            body["expiresIn"] = expires_in
        return self.request("POST", "tokens", body)

    def revoke_token(self, token: str) -> None:
        """The token stops being accepted (an AdminError 404 if there is none)."""
        self.request("DELETE", f"tokens/{_segment(token)}")

    def set_process_access(self, rules: Mapping[str, Any] | Iterable[Any] | str | Path
                           ) -> dict[str, Any]:
        """The content of a process-access.json, the path of one, or a list of rules
        (`ProcessAccessRule`s or {property, matches, requiresRole} dicts)."""
        if isinstance(rules, str | Path):
            document: Any = json.loads(Path(rules).read_text(encoding="utf-8"))
        elif isinstance(rules, Mapping):
            document = dict(rules)
        else:
            document = {"workflowAccess": [{"propertiesCheck": _rule(r)} for r in rules]}
        return self.request("PUT", "process-access", document)

    # state mid-flow ------------------------------------------------------------------------

    def start_process(self, key: str | None = None, *, definition_id: str | None = None,
                      business_key: str | None = None,
                      variables: Mapping[str, Any] | None = None,
                      user: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in (("key", key), ("definitionId", definition_id),
                            ("businessKey", business_key), ("user", user)):
            if value is not None:
                body[name] = value
        if variables is not None:
            body["variables"] = dict(variables)
        return self.request("POST", "instances", body)

    def instances(self, key: str | None = None, *, business_key: str | None = None,
                  ended: bool | None = None) -> list[dict[str, Any]]:
        """The process instances, running and ended (see MockIDM.instances)."""
        return self.request("GET", "instances", params={
            "key": key, "businessKey": business_key,
            "ended": None if ended is None else str(ended).lower()})

    def tasks(self, instance_id: str | None = None) -> list[dict[str, Any]]:
        """Active tasks, of one instance or of all."""
        return self.request("GET", "tasks",
                            params={"instanceId": instance_id})

    def claim(self, task_id: str, user: str | None) -> dict[str, Any]:
        return self.request("POST", f"tasks/{_segment(task_id)}/claim",
                            {"user": user})

    def complete(self, task_id: str, variables: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
        return self.request("POST", f"tasks/{_segment(task_id)}/complete",
                            {"variables": dict(variables or {})})

    def set_outputs(self, activity_id: str, variables: Mapping[str, Any], *,
                    key: str | None = None) -> None:
        self.request("POST", "outputs", {"activityId": activity_id,
                                         "variables": dict(variables), "key": key})

    # time ----------------------------------------------------------------------------------

    def freeze_time(self, at: datetime | str | None = None) -> dict[str, Any]:
        """Freeze the clock at `at` (an aware datetime or ISO string) or at now."""
        value = at.isoformat() if isinstance(at, datetime) else at
        return self.request("POST", "clock", {"freeze": value})

    def advance_time(self, by: timedelta | float) -> dict[str, Any]:
        """Move the clock forward; a number is seconds."""
        seconds = by.total_seconds() if isinstance(by, timedelta) else float(by)
        return self.request("POST", "clock", {"advance": seconds})

    def unfreeze_time(self) -> dict[str, Any]:
        return self.request("POST", "clock", {"unfreeze": True})

    def clock(self) -> dict[str, Any]:
        """{now, frozen}."""
        return self.request("GET", "clock")

    # scripted failures ---------------------------------------------------------------------

    def fault(self, **fields: Any) -> dict[str, Any]:
        """A route fault, its fields those of `mockidm.MockIDM.fault` (`FAULT_FIELDS` in
        `mockidm.http.faults`); answers it with its id."""
        return self.request("POST", "faults", fields)

    def faults(self) -> dict[str, Any]:
        """{faults: [...with matched and fired counts], auth: {...}}."""
        return self.request("GET", "faults")

    def clear_faults(self) -> None:
        self.request("DELETE", "faults")

    def fail_auth(self, times: int = 1) -> None:
        """The next `times` requests get 401, whatever their credentials."""
        self.request("POST", "auth-faults", {"failNext": times})

    def reject_password(self, user: str) -> None:
        self.request("POST", "auth-faults", {"rejectPassword": user})

    def lock_out(self, user: str) -> None:
        self.request("POST", "auth-faults", {"lockOut": user})

    def expire_sessions(self) -> None:
        self.request("POST", "auth-faults", {"expireSessions": True})

    # the journal ---------------------------------------------------------------------------

    def journal(self, operation: str | None = None, *, method: str | None = None,
                path: str | None = None, status: int | None = None,
                user: str | None = None) -> list[dict[str, Any]]:
        """The requests received under /openidm that match every given criterion."""
        return self.request("GET", "journal", params={
            "operation": operation, "method": method, "path": path, "status": status,
            "user": user})

    def clear_journal(self) -> None:
        self.request("DELETE", "journal")


def inline_scenario(document: Mapping[str, Any] | str | Path, *,
                    base_dir: str | Path | None = None) -> dict[str, Any]:
    """The scenario as one self-contained document: `file` and `folder` definitions become
    inline BPMN, a process-access path its rules. Raises ScenarioError if it is not valid."""
    from ..engine.bpmn import is_archive
    from ..engine.deployables import deployable_paths
    from ..scenario import ScenarioError, parse_scenario

    scenario = parse_scenario(document, base_dir=base_dir)
    if base_dir is not None:
        base = Path(base_dir)
    elif isinstance(document, Mapping):
        base = Path.cwd()
    else:
        base = Path(document).parent
    data = dict(scenario.data)
    if isinstance(data.get("processAccess"), str) and scenario.process_access is not None:
        data["processAccess"] = {"workflowAccess": [{"propertiesCheck": _rule(r)}
                                                    for r in scenario.process_access]}
    definitions = []
    for i, item in enumerate(data.get("definitions", [])):
        if "file" in item:
            paths = [base / item["file"]]
        elif "folder" in item:
            paths = deployable_paths(base / item["folder"])
        else:
            definitions.append(item)
            continue
        for path in paths:
            if is_archive(path.name):
                raise ScenarioError(f"{path.name}: an archive cannot be sent over the admin "
                                    "API; deploy its BPMN files instead",
                                    file=scenario.source, path=f"definitions[{i}]")
            definitions.append({"bpmn": path.read_text(encoding="utf-8"), "name": path.name})
    if "definitions" in data:
        data["definitions"] = definitions
    return data


def _rule(rule: Any) -> dict[str, Any]:
    if isinstance(rule, Mapping):
        return dict(rule)
    return {"property": rule.property, "matches": rule.matches,
            "requiresRole": rule.requires_role}


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
