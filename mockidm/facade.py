"""MockIDM: the one object a test scripts.

It holds a mock IDM's whole state (definitions, instances, users, access rules, the clock,
scripted failures, the request journal) and reaches it three ways: from Python, from the
pytest plugin, and, for a server in another process, through the admin API. Every method
takes the state's lock, so a test can script the mock while its server thread serves.
"""

from __future__ import annotations

import copy
import difflib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from .engine import (
    Engine,
    InstanceQuery,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
    TaskQuery,
)
from .engine.jobs import Job, JobRun
from .engine.mail import SentMail
from .engine.snapshot import dump_engine, load_engine
from .http.access import may_update_task
from .http.app import create_app
from .http.auth import BearerToken, Sessions
from .http.faults import FAULT_FIELDS, AuthFaults, Fault
from .http.journal import Exchange, Journal
from .identity import AUTHORIZED, Identity, ProcessAccessRule, User, managed_user_object
from .idm_objects import MANAGED_USERS, describe_call
from .profile import Profile, get_profile
from .samples import deploy_samples
from .server import ThreadedServer
from .state import State
from .ticker import add_ticker

ADMIN = "openidm-admin"
_log = logging.getLogger("mockidm")


@dataclass(frozen=True)
class ClockReading:
    """The mock's clock at one moment: the time it tells, and whether a test froze it."""

    now: datetime
    frozen: bool


@dataclass(frozen=True)
class Checkpoint:
    """What `rollback` puts back: the IDM state (as `snapshot` has it) and the scripted
    failures (the route faults scripted then, the authentication failures as they were)."""

    snapshot: Mapping[str, Any]
    route_faults: tuple[Fault, ...]
    auth_faults: AuthFaults


class MockIDM:
    def __init__(self, profile: str | Profile = "8.1", *, paging: bool | None = None,
                 journal_limit: int | None = None, journal_max_bytes: int | None = None) -> None:
        self.profile = get_profile(profile, paging=paging)
        self._initial_profile = self.profile  # what `reset` returns to (`paging` may change)
        engine = Engine()
        self.state = State(engine=engine, identity=Identity.default(self.profile),
                           profile=self.profile, sessions=Sessions(engine.clock),
                           journal=Journal(journal_limit, journal_max_bytes))
        self._server: ThreadedServer | None = None
        self._baseline: dict[str, Any] | None = None
        self._skipped: list[str] = []  # workflow files deploy_folder left out, as problems
        self._baseline_skipped: list[str] = []

    # hosting -------------------------------------------------------------------------------

    def app(self, *, validate_responses: bool = False, **limits: Any) -> web.Application:
        """An aiohttp application serving this mock (several may share it). `limits`:
        `client_max_size`, `body_timeout`, `idle_timeout` (see `create_app`)."""
        return create_app(state=self.state, validate_responses=validate_responses, **limits)

    @contextmanager
    def serve(self, *, validate_responses: bool = False) -> Iterator[MockIDM]:
        """Serve on a free 127.0.0.1 port in a thread of its own; `url` is then set, and
        `inspector_url` the inspector's pages (open: the port is loopback's)."""
        def app() -> web.Application:
            from .ui import add_ui_routes

            served = self.app(validate_responses=validate_responses)
            # With the real clock, timers fire on their own.
            add_ticker(served, self.fire_due_timers, lambda: self.clock().frozen)
            add_ui_routes(served, self, token=None)
            return served

        with ThreadedServer(app) as server:
            self._server = server
            try:
                yield self
            finally:
                self._server = None

    @property
    def url(self) -> str:
        """The base URL of the API, ending in /openidm."""
        if self._server is None:
            raise RuntimeError("the mock is not serving: use `with mock.serve():`")
        return self._server.url

    @property
    def inspector_url(self) -> str:
        """The inspector's pages (`mockidm.ui`) of the serving mock."""
        from .ui import PREFIX

        return self.url.removesuffix("/openidm") + PREFIX + "/"

    @property
    def admin_headers(self) -> dict[str, str]:
        """The default administrator's credential headers."""
        return {"X-OpenIDM-Username": ADMIN, "X-OpenIDM-Password": ADMIN}

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def lock(self) -> threading.RLock:
        """The state's lock, which every method takes. Hold it to read several things at once,
        or the objects a method answered (tasks, instances), while a server may change them."""
        return self.state.lock

    @property
    def paging(self) -> bool:
        """Whether queries honour `_pageSize` and the other paging parameters (the 8.1
        profile does, 6.5 ignores them). Set it to switch; `reset()` puts back the choice the
        mock was made with."""
        return self.profile.paging

    @paging.setter
    def paging(self, on: bool) -> None:
        with self.state.lock:
            self.profile = self.state.profile = get_profile(self.profile, paging=on)

    # definitions ---------------------------------------------------------------------------

    def definitions(self) -> list[ProcessDefinition]:
        """Every deployed process definition, every version, in the order deployed."""
        with self.state.lock:
            return self.engine.definitions()

    def deploy(self, *models: ProcessModel, name: str | None = None,
               resources: Mapping[str, bytes] | None = None) -> list[ProcessDefinition]:
        """Deploy process models (declared in Python with `linear_process(...)`, or parsed
        BPMN) as one deployment, with the files that came with them."""
        with self.state.lock:
            return self.engine.deploy(models, name=name, resources=resources)

    def deploy_bpmn(self, text: str | bytes, name: str = "process.bpmn20.xml"
                    ) -> list[ProcessDefinition]:
        with self.state.lock:
            return self.engine.deploy_bpmn(text, name)

    def deploy_file(self, path: str | Path) -> list[ProcessDefinition]:
        with self.state.lock:
            return self.engine.deploy_file(path)

    def deploy_folder(self, path: str | Path, *, strict: bool = False
                      ) -> list[ProcessDefinition]:
        """Deploy each BPMN file and archive of a folder on its own, in file-name order, as
        IDM deploys its workflow directory, and answer what deployed. A file the mock cannot
        deploy is skipped: one warning on the `mockidm` logger and one entry in `problems()`
        (so the pytest fixture fails the test at teardown) name the file, the line and why.
        strict=True: any such file deploys nothing and raises FolderRefused instead."""
        with self.state.lock:
            done = self.engine.deploy_folder(path, strict=strict)
            for skipped in done.skipped:
                _log.warning("skipped %s", skipped.reason)
                self._skipped.append(f"workflow file not deployed: {skipped.reason}")
            return done.definitions

    def deploy_samples(self) -> list[ProcessDefinition]:
        """The built-in sample workflows (see mockidm/samples)."""
        with self.state.lock:
            return deploy_samples(self.engine)

    def set_outputs(self, activity_id: str, variables: Mapping[str, Any], *,
                    key: str | None = None) -> None:
        """The variables a script or service task would set, declared in place of running
        it; for a Java or script listener, `activity_id` is '<element id>:<event>' (e.g.
        'approve:complete')."""
        with self.state.lock:
            self.engine.set_outputs(activity_id, variables, key=key)

    # users and access ----------------------------------------------------------------------

    def add_user(self, name: str, password: str, roles: Iterable[str] = (AUTHORIZED,)) -> None:
        """An internal user with these roles (bare names get the profile's role prefix)."""
        with self.state.lock:
            self.state.identity.add_user(name, password, roles)

    def add_managed_user(self, user_name: str, password: str,
                         authz_roles: Iterable[str] = ()) -> None:
        """A managed user: the `managed/user` object `managed/user/<user_name>` (userName,
        password, `authzRoles` referring to these roles, active), which logs in with
        `openidm-authorized` plus its `authzRoles`, as IDM grants them, and which workflow
        scripts find. Added again, it replaces the first; a name of an internal user or of
        another managed user is a ValueError (IDM's valid-username policy)."""
        if not user_name or "/" in user_name:
            raise ValueError(f"a managed user's name is not empty and holds no '/': "
                             f"{user_name!r}")
        with self.state.lock:
            if user_name in self.state.identity.users:
                raise ValueError(f"{user_name!r} is an internal user: IDM refuses a managed "
                                 "user of the same name")
            self.state.idm.seed(MANAGED_USERS,
                                [managed_user_object(user_name, password, authz_roles)])

    def set_process_access(self, rules: Iterable[ProcessAccessRule] | Mapping[str, Any]
                           | str | Path) -> None:
        """IDM's process-access rules: a list of rules, the JSON of a process-access.json,
        or the path of such a file."""
        given = (json.loads(Path(rules).read_text(encoding="utf-8"))
                 if isinstance(rules, str | Path) else rules)
        parsed = (Identity.parse_process_access(given) if isinstance(given, Mapping)
                  else list(given))
        with self.state.lock:
            self.state.identity.process_access = parsed

    def process_access(self) -> list[ProcessAccessRule]:
        """IDM's process-access rules in force, in their order."""
        with self.state.lock:
            return list(self.state.identity.process_access)

    def users(self) -> list[User]:
        """The users who can log in: the internal ones in the order added, then the managed
        ones (the active `managed/user` objects with a password)."""
        with self.state.lock:
            return self.state.identity.all_users()

    def add_token(self, token: str, subject: str, roles: Iterable[str] = (AUTHORIZED,), *,
                  expires_in: timedelta | float | None = None) -> BearerToken:
        """An access token, as PingAM would issue it, that requests may send as
        `Authorization: Bearer <token>`: it authenticates as `subject` with `roles` (bare names
        get the profile's role prefix; the default is what IDM's platform subject mapping grants
        every subject), and the access rules and process-access judge it by those roles.
        `expires_in` (a number is seconds) counts on the mock's clock, so `advance_time`
        expires it; None: it never expires. The same token scripted again replaces the first."""
        if not token or any(c.isspace() for c in token):
            raise ValueError(f"a bearer token is one word, not {token!r}")
        with self.state.lock:
            expires = None
            if expires_in is not None:
                lifetime = (expires_in if isinstance(expires_in, timedelta)
                            else timedelta(seconds=expires_in))
                expires = self.engine.clock.now() + lifetime
            return self.state.tokens.add(token, subject, map(self.profile.role, roles), expires)

    def revoke_token(self, token: str) -> None:
        """The token stops being accepted, as if PingAM revoked it (KeyError if unknown)."""
        with self.state.lock:
            if not self.state.tokens.revoke(token):
                raise KeyError(token)

    def user(self, name: str) -> User:
        """The user who logs in as `name`: internal, else managed (KeyError if none)."""
        with self.state.lock:
            found = self.state.identity.user(name)
        if found is None:
            raise KeyError(name)
        return found

    # state mid-flow ------------------------------------------------------------------------

    def start_process(self, key: str | None = None, *, definition_id: str | None = None,
                      business_key: str | None = None,
                      variables: Mapping[str, Any] | None = None,
                      user: str = ADMIN) -> ProcessInstance:
        with self.state.lock:
            return self.engine.start(key=key, definition_id=definition_id,
                                     business_key=business_key, variables=variables, user=user)

    def instances(self, key: str | None = None, *, business_key: str | None = None,
                  ended: bool | None = None) -> list[ProcessInstance]:
        """The process instances, running and ended, in the order they started: of the
        definition `key`, with this business key, ended (True) or running (False) only."""
        with self.state.lock:
            return self.engine.query_instances(InstanceQuery(
                definition_key=key, business_key=business_key, finished=ended))

    def instance(self, instance_id: str) -> ProcessInstance:
        """A running or ended instance (ObjectNotFound if there is none)."""
        with self.state.lock:
            return self.engine.instance(instance_id)

    def task_history(self, instance_id: str) -> list[Task]:
        """Every task an instance ever had, ended and active, in the order created."""
        with self.state.lock:
            return self.engine.tasks_of(instance_id)

    def bpmn_source(self, definition: ProcessDefinition) -> bytes | None:
        """The BPMN file a definition was deployed from (None for a model declared in
        Python, which has none)."""
        name = definition.model.resource_name
        with self.state.lock:
            return None if name is None else self.engine.resource(definition.deployment_id,
                                                                  name)

    def tasks(self, instance_id: str | None = None) -> list[Task]:
        """Active tasks, of one instance or of all."""
        with self.state.lock:
            return self.engine.query_tasks(TaskQuery(instance_id=instance_id))

    def may_update(self, task: Task) -> list[str]:
        """The users of this mock whom IDM's default access rules let read and update `task`
        (so take it, as IDM's UIs claim for a user who is not an admin): the administrators,
        and authorized users who are its assignee or one of its candidates (by name, or by a
        role among its candidate groups). `_action=claim` is the administrators' only."""
        with self.state.lock:
            return [user.name for user in self.state.identity.all_users()
                    if may_update_task(self.state, user, task)]

    def claim(self, task_id: str, user: str | None) -> Task:
        """Claim for `user` (None gives the task back)."""
        with self.state.lock:
            return self.engine.claim(task_id, user)

    def complete(self, task_id: str, variables: Mapping[str, Any] | None = None) -> Task:
        """Complete as a client's `_action=complete` would (the variables on the task where
        the profile's release keeps them there)."""
        with self.state.lock:
            return self.engine.complete(task_id, variables,
                                        local=self.profile.complete_variables_local)

    # time ----------------------------------------------------------------------------------

    def freeze_time(self, at: datetime | None = None) -> list[JobRun]:
        """Freeze the clock (at now, or at `at`) and fire every timer then due, earliest first,
        before returning them."""
        with self.state.lock:
            return self.engine.move_clock((at or datetime.now(UTC)).astimezone(UTC))

    def unfreeze_time(self) -> None:
        """Let the clock run again; a served mock's timers then fire on their own."""
        with self.state.lock:
            self.engine.clock.unfreeze()

    def advance_time(self, by: timedelta | float) -> list[JobRun]:
        """Move a frozen (or, from now, frozen) clock forward, a number being seconds, and
        fire every timer that falls due on the way, earliest first, each at its due time and
        in its own transaction, before returning them: what fired, and what failed (then
        retried or dead-lettered, as the engine does)."""
        with self.state.lock:
            delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
            return self.engine.move_clock(self.engine.clock.now() + delta)

    def fire_due_timers(self) -> list[JobRun]:
        """Fire every timer due at the clock's now (a served mock's ticker calls this while
        the clock runs)."""
        with self.state.lock:
            return self.engine.fire_due_jobs()

    def jobs(self, *, dead_letter: bool = False) -> list[Job]:
        """The timers waiting to fire (or, with `dead_letter`, the dead-letter jobs)."""
        with self.state.lock:
            return self.engine.jobs(dead_letter=dead_letter)

    def execute_job(self, job_id: str, *, dead_letter: bool = False) -> JobRun:
        """Fire one timer now, whatever its due date (a dead-letter job: moved back with one
        retry first). ObjectNotFound when there is no such job."""
        with self.state.lock:
            return self.engine.execute_job(job_id, dead_letter=dead_letter)

    def clock(self) -> ClockReading:
        """What the clock says now, and whether it is frozen."""
        with self.state.lock:
            clock = self.engine.clock
            return ClockReading(now=clock.now(), frozen=clock.frozen is not None)

    def state_mark(self) -> tuple[object, ...]:
        """A value that differs once an instance, a task or a deployment is created, an
        instance or a task ends, the clock is frozen, moved or let run, or the state is reset
        or restored: for pages that follow the mock. It copies nothing (a task claimed from
        Python does not change it)."""
        with self.state.lock:
            engine, store = self.engine, self.engine.store
            return (id(engine), engine.ids.next_value, len(store.running),
                    len(store.active_tasks), engine.clock.frozen)

    # scripted failures ---------------------------------------------------------------------

    def fail_auth(self, times: int = 1) -> None:
        """The next `times` requests get 401, whatever their credentials."""
        with self.state.lock:
            self.state.faults.auth.refuse_next += times

    def reject_password(self, user: str) -> None:
        """Credentials of `user` are refused (401) as if the password were wrong."""
        with self.state.lock:
            self.state.faults.auth.rejected_passwords.setdefault(user, 0)

    def lock_out(self, user: str) -> None:
        """`user` is refused (401) however it authenticates, session cookie included."""
        with self.state.lock:
            self.state.faults.auth.locked_out.setdefault(user, 0)

    def expire_sessions(self) -> None:
        """Every session cookie issued until now is refused from now on."""
        with self.state.lock:
            self.state.faults.auth.sessions_expired = True
            self.state.sessions.expire_all()

    def fault(self, *, method: str | None = None, path: str | None = None,
              operation: str | None = None, query: Mapping[str, str] | None = None,
              status: int | None = None, message: str | None = None, detail: Any = None,
              latency: float = 0.0, drop: bool = False, nth: int | None = None,
              times: int | None = None, seconds: float | None = None) -> Fault:
        """A route fault: see `mockidm.http.faults.Fault` for each field."""
        # The keywords are Fault's FAULT_FIELDS, spelt out to type them for the caller
        # (tests/test_faults.py keeps the two lists equal); they go to Fault as they came.
        __tracebackhide__ = True
        given = locals()
        try:
            fault = Fault(**{name: given[name] for name in FAULT_FIELDS})
        except ValueError as exc:  # the caller's mistake: its message, without Fault's frames
            raise ValueError(str(exc)) from None
        with self.state.lock:
            return self.state.faults.add(fault)

    def route_faults(self) -> list[Fault]:
        """The route faults scripted, fired or not, in the order they match: copies, with
        their counts as they are now."""
        with self.state.lock:
            return [copy.copy(fault) for fault in self.state.faults.routes]

    def auth_faults(self) -> AuthFaults:
        """The authentication failures scripted and how often each refused: a copy."""
        with self.state.lock:
            return copy.deepcopy(self.state.faults.auth)

    def clear_faults(self) -> None:
        """Forget every scripted failure, fired or not."""
        with self.state.lock:
            self.state.faults.clear()

    # the journal ---------------------------------------------------------------------------

    def requests(self, operation: str | None = None, *, method: str | None = None,
                 path: str | None = None, status: int | None = None,
                 user: str | None = None) -> list[Exchange]:
        """The requests received so far that match every given criterion."""
        with self.state.lock:
            entries = self.state.journal.entries()
        return [e for e in entries
                if (operation is None or e.operation == operation)
                and (method is None or e.method == method.upper())
                and (path is None or e.path.rstrip("/").endswith(path.strip("/")))
                and (status is None or e.status == status)
                and (user is None or e.user == user)]

    def assert_called(self, operation: str | None = None, *, times: int | None = None,
                      body: Mapping[str, Any] | None = None,
                      query: Mapping[str, str] | None = None, **criteria: Any) -> list[Exchange]:
        """The matching requests; an AssertionError that explains near misses if there are
        none (or not `times` of them)."""
        __tracebackhide__ = True  # pytest shows the test's line, not mockidm's source
        candidates = self.requests(operation, **criteria)
        found = [e for e in candidates if _contains(e.body, body) and _contains(e.params, query)]
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = " ".join(f"{k}={v!r}" for k, v in (("operation", operation), ("body", body),
                                                     ("query", query), *criteria.items())
                          if v is not None)
        expected = f"{times} time(s)" if times is not None else "at least once"
        raise AssertionError(f"expected a request {wanted} {expected}, found {len(found)}.\n"
                             + self.explain(operation, body=body, query=query))

    def assert_not_called(self, operation: str | None = None, **criteria: Any) -> None:
        __tracebackhide__ = True
        found = self.requests(operation, **criteria)
        if found:
            raise AssertionError(f"expected no {operation or 'request'}, found {len(found)}:\n"
                                 + self.state.journal.render(found))

    def explain(self, operation: str | None = None, *, body: Mapping[str, Any] | None = None,
                query: Mapping[str, str] | None = None) -> str:
        """Why no request matched, in IDM's terms: what was sent instead, and what exists."""
        lines = []
        with self.state.lock:
            entries = self.state.journal.entries()
            keys = sorted({d.key for d in self.engine.definitions()})
            definition_ids = sorted(d.id for d in self.engine.definitions())
        operations = sorted({e.operation for e in entries if e.operation})
        if operation is not None and operation not in operations:
            close = difflib.get_close_matches(operation, operations, n=3)
            lines.append(f"no {operation} was received"
                         + (f"; did you mean {', '.join(close)}?" if close else ""))
        similar = [e for e in entries if operation is None or e.operation == operation]
        for entry in similar[-5:]:
            lines.append("received: " + entry.render())
            sent = entry.body if isinstance(entry.body, dict) else {}
            key = sent.get("_key")
            if isinstance(key, str) and key not in keys:
                close = difflib.get_close_matches(key, keys, n=3)
                lines.append(f"  you started `_key={key}`; the deployed keys are "
                             + ", ".join(f"`{k}`" for k in (close or keys)))
            definition_id = sent.get("_processDefinitionId")
            if isinstance(definition_id, str) and definition_id not in definition_ids:
                lines.append(f"  `_processDefinitionId={definition_id}` is not deployed; "
                             "deployed: " + ", ".join(definition_ids))
            if body:
                for name, value in body.items():
                    if sent.get(name) != value:
                        lines.append(f"  body {name}: sent {sent.get(name)!r}, "
                                     f"expected {value!r}")
            if query:
                for name, value in query.items():
                    if entry.params.get(name) != value:
                        lines.append(f"  query {name}: sent {entry.params.get(name)!r}, "
                                     f"expected {value!r}")
        if not entries:
            lines.append("the mock received no request at all")
        return "\n".join(lines)

    @property
    def journal(self) -> Journal:
        return self.state.journal

    def clear_journal(self) -> None:
        with self.state.lock:
            self.state.journal.clear()

    # fail loud -----------------------------------------------------------------------------

    def unserved(self) -> list[str]:
        """Requests the mock could not serve: outside /openidm, outside the spec, or
        rejected by it."""
        with self.state.lock:
            return [f"request not served ({e.unserved}): {e.method} {e.target}"
                    for e in self.state.journal.entries() if e.unserved]

    def unused_failures(self) -> list[str]:
        """Scripted failures that never fired."""
        with self.state.lock:
            return [f"scripted failure never used: {u}" for u in self.state.faults.unused()]

    def skipped_files(self) -> list[str]:
        """Workflow files `deploy_folder` did not deploy, each with its line and why."""
        with self.state.lock:
            return list(self._skipped)

    def sent_mails(self) -> list[SentMail]:
        """The mails the workflows' mail tasks sent (the mock sends none), oldest first; kept
        until `reset()`, not in snapshots."""
        with self.state.lock:
            return list(self.engine.interpreter.mails)

    def unrun_listeners(self) -> list[str]:
        """Java and script listeners that passed through without running (each once), for
        which the test declared nothing with `set_outputs('<element>:<event>', ...)`."""
        with self.state.lock:
            return [m for m in self.engine.interpreter.unrun_listeners.values() if m]

    def unrunnable_scripts(self) -> list[str]:
        """Scripts of deployed workflows that use Groovy the mock does not run (named at
        deploy, with the file, line and construct), unless the test declared what they set
        (`set_outputs`)."""
        with self.state.lock:
            outputs = self.engine.interpreter.outputs
            return [message for (key, element), message
                    in self.engine.interpreter.scripting.problems.items()
                    if (None, element) not in outputs and (key, element) not in outputs]

    def idm_call_lines(self) -> list[str]:
        """The IDM journal, one line a call (for reports)."""
        with self.state.lock:
            return [describe_call(c) for c in self.state.idm.journal]

    def problems(self) -> list[str]:
        """All five: what a test should hear about when it ends."""
        return (self.unserved() + self.unused_failures() + self.skipped_files()
                + self.unrun_listeners() + self.unrunnable_scripts())

    # lifecycle -----------------------------------------------------------------------------

    def keep_as_initial(self) -> None:
        """Make the present state what `reset()` returns to (a server's startup state, with
        the workflow files it skipped and whether it pages)."""
        with self.state.lock:
            self._baseline = self.snapshot()
            self._baseline_skipped = list(self._skipped)
            self._initial_profile = self.profile

    def reset(self) -> None:
        """Back to the initial state: a new mock's (no definitions or instances, the default
        users and access rules, a running clock, ids from 1) or the one `keep_as_initial`
        kept; and always no sessions or access tokens, no failures, an empty journal."""
        with self.state.lock:
            self.profile = self.state.profile = self._initial_profile
            self._skipped = list(self._baseline_skipped)
            if self._baseline is not None:
                self.restore(self._baseline)
            else:
                engine = Engine()
                self.state.engine = engine
                self.state.identity = Identity.default(self.profile)
                self.state.sessions.clock = engine.clock
                self.state.idm.clear_objects()
                self.state.wire_scripts()
                self.state.wire_identity()
            self.state.idm.answers.clear()
            self.state.idm.journal.clear()
            self.state.sessions.expire_all()  # a new mock knows no session
            self.state.tokens.clear()  # nor any access token
            self.state.faults.clear()
            self.state.journal.clear()

    def checkpoint(self) -> Checkpoint:
        """The state and the scripted failures, for `rollback` (the sessions, the access tokens
        and the journal are not in it). Raises ValueError if the state cannot be saved (see
        `snapshot`)."""
        with self.state.lock:
            return Checkpoint(self.snapshot(), tuple(self.state.faults.routes),
                              copy.deepcopy(self.state.faults.auth))

    def rollback(self, checkpoint: Checkpoint) -> None:
        """Back to a checkpoint: its state and its scripted failures."""
        with self.state.lock:
            self.restore(checkpoint.snapshot)
            self.state.faults.routes[:] = checkpoint.route_faults
            self.state.faults.auth = copy.deepcopy(checkpoint.auth_faults)

    def snapshot(self) -> dict[str, Any]:
        """The whole IDM state as JSON-able data: engine, users, access rules."""
        with self.state.lock:
            found = {"profile": self.profile.name, "engine": dump_engine(self.engine),
                     "identity": self.state.identity.to_json()}
            if self.state.idm.objects:  # written only when there are some: older readers
                found["idmObjects"] = self.state.idm.containers(private=True)
            return found

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot.get("profile") != self.profile.name:
            raise ValueError(f"a snapshot of a {snapshot.get('profile')} mock cannot be "
                             f"restored into a {self.profile.name} one")
        engine = load_engine(snapshot["engine"])
        identity = Identity.from_json(self.profile, snapshot["identity"])
        with self.state.lock:
            self.state.engine = engine
            self.state.identity = identity
            self.state.sessions.clock = engine.clock
            self.state.idm.load(snapshot.get("idmObjects") or {})
            self.state.wire_scripts()
            self.state.wire_identity()

    # the IDM objects scripts call ------------------------------------------------------------

    def seed_objects(self, container: str, objects: list[Mapping[str, Any]]) -> None:
        """Put IDM objects in the store (`managed/user`, `managed/role`, `internal/...`);
        each needs an `_id`. A `managed/user` with a userName and a password logs in (unless
        its `accountStatus` is not active); its userName must be no other user's."""
        with self.state.lock:
            if container.strip("/") == MANAGED_USERS:
                for item in objects:
                    name = item.get("userName") if isinstance(item, Mapping) else None
                    if isinstance(name, str) and name in self.state.identity.users:
                        raise ValueError(f"managed/user/{item.get('_id')} has the userName "
                                         f"{name!r} of an internal user: IDM refuses it")
            self.state.idm.seed(container, objects)

    def idm_object(self, path: str) -> dict[str, Any] | None:
        """One object of the store (`managed/user/bjensen`) as a read shows it (no password),
        None if there is none."""
        with self.state.lock:
            return self.state.idm.get(path)

    def idm_objects(self) -> dict[str, list[dict[str, Any]]]:
        """Every object of the store, by container, as a read shows them (no password)."""
        with self.state.lock:
            return self.state.idm.containers()

    def idm_answer(self, resource: str, answer: Any = None, *, method: str | None = None,
                   action: str | None = None, error: tuple[int, str] | None = None) -> None:
        """Script what IDM answers a workflow's call the store does not answer: an `action`
        (by name), an `endpoint/...`, a `system/...` object; `resource` may end in `*`.
        `error` (status, message) makes the call fail instead."""
        with self.state.lock:
            self.state.idm.answer(resource, answer, method=method, action=action, error=error)

    def idm_answers(self) -> list[Any]:
        """The scripted answers, latest first (for a scenario to put back on failure)."""
        with self.state.lock:
            return list(self.state.idm.answers)

    def restore_idm_answers(self, answers: list[Any]) -> None:
        with self.state.lock:
            self.state.idm.answers[:] = answers

    def idm_calls(self, method: str | None = None, resource: str | None = None
                  ) -> list[dict[str, Any]]:
        """The calls workflows made to IDM, oldest first, as JSON (method, resource,
        arguments, answer, error, processInstanceId, activityId)."""
        with self.state.lock:
            return [c.to_json() for c in self.state.idm.calls(method, resource)]

    def assert_idm_called(self, method: str | None = None, resource: str | None = None, *,
                          times: int | None = None,
                          arguments: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The matching IDM calls; an AssertionError listing every call if there are none
        (or not `times` of them)."""
        __tracebackhide__ = True
        found = [c for c in self.idm_calls(method, resource)
                 if _contains(c["arguments"], arguments)]
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = " ".join(f"{k}={v!r}" for k, v in (("method", method), ("resource", resource),
                                                     ("arguments", arguments)) if v is not None)
        expected = f"{times} time(s)" if times is not None else "at least once"
        with self.state.lock:
            made = "\n".join(f"  {describe_call(c)}" for c in self.state.idm.journal) or "  none"
        raise AssertionError(f"expected an IDM call {wanted} {expected}, found {len(found)}."
                             f"\nThe workflows' IDM calls:\n{made}")


def _contains(actual: Any, expected: Mapping[str, Any] | None) -> bool:
    """Every expected key is there with that value (the rest of `actual` is free)."""
    if expected is None:
        return True
    return isinstance(actual, Mapping) and all(
        k in actual and actual[k] == v for k, v in expected.items())
