"""Timers, jobs and boundary events as a client meets them: requests only, to IDM's API and
to the admin API (deploy, clock), against a live mock; and a real `mockidm serve`, whose
timers fire on their own."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mockidm.admin.server import add_admin_routes
from mockidm.facade import MockIDM
from mockidm.server import ThreadedServer

HERE = Path(__file__).parent / "timer_workflows"
ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
T0 = "2026-03-02T09:00:00+00:00"
JOB = "workflow/job"
DEAD = "workflow/job/deadletter"


@dataclass
class Live:
    url: str  # .../openidm
    origin: str

    def idm(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/{path}", headers=ADMIN, timeout=10,
                                **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.idm(method, path, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, f"{self.origin}/__mockidm/{path}", json=body,
                                  timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def deploy(self, name: str) -> str:
        [definition] = self.admin("POST", "definitions", {
            "bpmn": (HERE / name).read_text(), "name": name})
        return str(definition["id"])

    def start(self, key: str, **variables: Any) -> str:
        created = self.ok("POST", "workflow/processinstance?_action=create", 201,
                          json={"_key": key, **variables})
        return str(created["_id"])

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        fired: list[dict[str, Any]] = self.admin("POST", "clock", {"advance": seconds})["fired"]
        return fired

    def jobs(self, params: str = "_queryFilter=true", path: str = JOB) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok("GET", f"{path}?{params}")["result"]
        return result

    def tasks(self, instance: str) -> list[tuple[str, str | None]]:
        found = self.ok("GET", "workflow/taskinstance?_queryId=filtered-query"
                               f"&processInstanceId={instance}")["result"]
        return sorted((t["taskDefinitionKey"], t["assignee"]) for t in found)

    def history(self, instance: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok(
            "GET", "workflow/taskinstance/history?_queryId=filtered-query"
                   f"&processInstanceId={instance}")["result"]
        return result


@pytest.fixture
def live() -> Iterator[Live]:
    mock = MockIDM()

    def factory():  # type: ignore[no-untyped-def]
        app = mock.app(validate_responses=True)
        add_admin_routes(app, mock, token=None, validate_responses=True)
        return app

    with ThreadedServer(factory) as server:
        served = Live(server.url, server.origin)
        served.admin("POST", "clock", {"freeze": T0})
        yield served


def test_an_approval_escalates_after_72_hours(live: Live) -> None:
    """THE timer test: an approval with a 72-hour interrupting escalation, the clock moved
    through the admin API."""
    definition = live.deploy("access_escalation.bpmn20.xml")
    instance = live.start("accessEscalation", manager="manager1")
    assert live.tasks(instance) == [("managerApproval", "manager1")]
    [job] = live.jobs()
    assert job["processInstanceId"] == instance and job["processDefinitionId"] == definition
    assert job["dueDate"] == "2026-03-05T09:00:00.000Z" and job["retries"] == 3
    assert job["exceptionMessage"] is None and job["jobType"] == "timer"
    assert live.ok("GET", f"{JOB}/{job['_id']}") == job
    assert [j["_id"] for j in live.jobs(f"_queryId=filtered-query&processInstanceId={instance}"
                                        "&timersOnly=true")] == [job["_id"]]

    assert live.advance(71 * 3600) == []  # 71 hours: nothing
    assert live.tasks(instance) == [("managerApproval", "manager1")]
    assert [j["_id"] for j in live.jobs()] == [job["_id"]]

    fired = live.advance(2 * 3600)  # 2 more: the escalation
    assert [(f["id"], f["activityId"], f["processInstanceId"], f["error"]) for f in fired] == [
        (job["_id"], "approvalOverdue", instance, None)]
    assert live.tasks(instance) == [("escalatedApproval", "openidm-admin")]
    assert live.jobs() == []
    [approval] = [t for t in live.history(instance) if t["taskDefinitionKey"] == "managerApproval"]
    assert approval["deleteReason"] == "boundary event (approvalOverdue)"  # why it is gone
    assert approval["endTime"] == "2026-03-05T09:00:00.000Z"
    assert live.idm("GET", f"{JOB}/{job['_id']}").status_code == 404

    # The administrator decides; the gateway both tasks join takes the approved path.
    [escalated] = live.ok("GET", "workflow/taskinstance?_queryId=filtered-query"
                                 f"&processInstanceId={instance}")["result"]
    live.ok("POST", f"workflow/taskinstance/{escalated['_id']}?_action=complete",
            json={"decision": "approve"})
    [done] = live.ok("GET", "workflow/processinstance/history?_queryId=filtered-query"
                            f"&processInstanceId={instance}")["result"]
    assert done["endActivityId"] == "granted"


def test_execute_fires_a_timer_early_and_a_decision_in_time_deletes_it(live: Live) -> None:
    live.deploy("access_escalation.bpmn20.xml")
    early = live.start("accessEscalation", manager="manager1")
    in_time = live.start("accessEscalation", manager="manager2")
    [job] = live.jobs(f"_queryId=filtered-query&processInstanceId={early}")
    assert live.ok("POST", f"{JOB}/{job['_id']}?_action=execute", json={}) == {"_id": job["_id"]}
    assert live.tasks(early) == [("escalatedApproval", "openidm-admin")]

    [task] = live.ok("GET", "workflow/taskinstance?_queryId=filtered-query"
                            f"&processInstanceId={in_time}")["result"]
    live.ok("POST", f"workflow/taskinstance/{task['_id']}?_action=complete",
            json={"decision": "reject"})
    assert live.jobs() == []
    assert live.advance(100 * 3600) == []
    [done] = live.ok("GET", "workflow/processinstance/history?_queryId=filtered-query"
                            f"&processInstanceId={in_time}")["result"]
    assert done["endActivityId"] == "refused"


def test_job_queries_and_reads_answer_as_the_spec_says(live: Live) -> None:
    live.deploy("access_escalation.bpmn20.xml")
    instance = live.start("accessEscalation", manager="m")
    assert live.jobs("_queryId=filtered-query&messagesOnly=true") == []
    both = live.idm("GET", f"{JOB}?_queryId=filtered-query&timersOnly=true&messagesOnly=true")
    assert both.status_code == 500
    assert both.json()["message"] == ("Cannot combine onlyTimers() with onlyMessages() in the "
                                      "same query")
    assert live.jobs(f"_queryId=filtered-query&processInstanceId={instance}x") == []
    assert live.idm("GET", f"{JOB}/nope").status_code == 404
    assert live.idm("POST", f"{JOB}/nope?_action=execute", json={}).status_code == 404
    [job] = live.jobs()
    assert live.idm("POST", f"{JOB}/{job['_id']}?_action=nudge", json={}).status_code == 400
    assert live.idm("GET", f"{DEAD}/{job['_id']}").status_code == 404  # not a dead letter


def test_a_password_reminder_waits_on_intermediate_timers(live: Live) -> None:
    live.deploy("password_reminder.bpmn20.xml")
    changed = live.start("passwordReminder", reminderMinutes=30, passwordChanged=True,
                         userMail="ada@example.com")
    forgot = live.start("passwordReminder", reminderMinutes=45, passwordChanged=False,
                        userMail="bob@example.com")
    assert sorted((j["processInstanceId"], j["dueDate"]) for j in live.jobs()) == sorted([
        (changed, "2026-03-02T09:30:00.000Z"), (forgot, "2026-03-02T09:45:00.000Z")])
    assert [f["processInstanceId"] for f in live.advance(3600)] == [changed, forgot]
    assert live.admin("GET", "mails")[0]["to"] == ["bob@example.com"]
    [waiting] = live.jobs()
    assert waiting["processInstanceId"] == forgot
    assert waiting["dueDate"] == "2026-03-02T10:30:00.000Z"  # 45 minutes after it fired
    live.advance(3600)
    ended = {i["_id"]: i["endActivityId"] for i in live.ok(
        "GET", "workflow/processinstance/history?_queryId=filtered-query&finished=true")["result"]}
    assert ended == {changed: "done", forgot: "deactivated"}


def test_a_non_interrupting_cycle_a_message_and_a_failing_deadline(live: Live) -> None:
    live.deploy("review_reminders.bpmn20.xml")
    instance = live.start("reviewReminders", deadline="2026-03-02T12:30:00Z")
    assert len(live.jobs()) == 2  # the reminder cycle and the deadline
    live.advance(3.5 * 3600)  # two reminders (R2), and the deadline fails: no such service
    assert live.tasks(instance) == [("nagged", None), ("nagged", None), ("review", None)]
    [deadline] = live.jobs()
    assert deadline["retries"] == 2
    assert "escalationService" in deadline["exceptionMessage"]
    live.advance(10)
    live.advance(10)  # the third failure: a dead letter
    assert live.jobs() == []
    [dead] = live.jobs(path=DEAD)
    assert dead["_id"] == deadline["_id"] and dead["retries"] == 0
    assert live.jobs("_queryId=query-all-ids", path=DEAD) == [dead]
    assert live.ok("GET", f"{DEAD}/{dead['_id']}") == dead
    trace = live.ok("POST", f"{DEAD}/{dead['_id']}?_action=stacktrace", json={})
    assert trace["_id"] == dead["_id"] and "escalationService" in trace["stacktrace"]
    again = live.idm("POST", f"{DEAD}/{dead['_id']}?_action=execute", json={})
    assert again.status_code == 500 and "escalationService" in again.json()["message"]
    assert [d["_id"] for d in live.jobs(path=DEAD)] == [dead["_id"]]  # dead again

    # The review waits for a message on its boundary event: the execution query finds it.
    [execution] = live.ok("GET", "workflow/execution?_queryId=filtered-query"
                                 f"&messageName=withdraw&processInstanceId={instance}")["result"]
    live.ok("POST", "workflow/execution?_action=message",
            json={"messageName": "withdraw", "executionId": execution["_id"],
                  "processVariables": {"reason": "no longer needed"}})
    assert live.tasks(instance) == [("nagged", None), ("nagged", None)]
    [review] = [t for t in live.history(instance) if t["taskDefinitionKey"] == "review"]
    assert review["deleteReason"] == "boundary event (withdrawn)"
    assert live.jobs(path=DEAD) == []  # its execution left: its dead letter went with it
    assert live.idm("DELETE", f"{DEAD}/{dead['_id']}").status_code == 404


def test_a_dead_letter_job_is_deleted(live: Live) -> None:
    live.deploy("review_reminders.bpmn20.xml")
    live.start("reviewReminders", deadline="2026-03-02T09:00:00Z")
    for _ in range(3):
        live.advance(10)
    [dead] = live.jobs(path=DEAD)
    assert live.ok("DELETE", f"{DEAD}/{dead['_id']}") == dead
    assert live.jobs(path=DEAD) == []


@pytest.mark.slow
def test_under_mockidm_serve_a_timer_fires_on_its_own() -> None:
    """The real clock: a 2-second timer fires with no request moving the clock."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockidm", "serve", "--port", "0", "--quiet", "--no-samples"],
        cwd=ROOT, env={"PATH": "", "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r"serving (http://\S+/openidm), admin API at (http://\S+)/__mockidm/",
                          process.stdout.readline())
        assert found, "no ready line"
        served = Live(found[1], found[2])
        served.admin("POST", "definitions", {"bpmn": (HERE / "password_reminder.bpmn20.xml")
                                             .read_text().replace("PT${reminderMinutes}M",
                                                                  "PT2S"),
                                             "name": "quick.bpmn20.xml"})
        instance = served.start("passwordReminder", passwordChanged=True)
        assert len(served.jobs()) == 1
        deadline = time.monotonic() + 10
        while served.jobs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert served.jobs() == []
        [done] = served.ok("GET", "workflow/processinstance/history?_queryId=filtered-query"
                                  f"&processInstanceId={instance}")["result"]
        assert done["endActivityId"] == "done"
    finally:
        process.kill()
        process.communicate(timeout=10)
