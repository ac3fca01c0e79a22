"""What running workflow scripts costs: the same walk with two Groovy script tasks run by the
mock, and with the variables they set declared instead (`set_outputs`), in walks per second.

    /work/venv/bin/python benchmarks/bench_scripts.py            # 2,000 walks each, 5 rounds
    /work/venv/bin/python benchmarks/bench_scripts.py --walks 200 --rounds 3 --http

A walk: start (the first script reads the requester with openidm.read and queries their manager with
openidm.query, sets two variables) -> the manager's task -> complete with "approve" -> the
second script patches the user's roles and sends an email through openidm.action.
The declared walk sets the same variables with set_outputs and calls IDM not at all. By
default a walk goes through the facade (the engine's and the scripts' cost alone); with
--http it is what a client meets: three requests over one kept-alive connection (create,
find the task, complete) to a mock served in this process. Rounds
alternate between the two so that drift hits both alike; the figure is the median round.
The issue's goal: the scripted walk at least 0.5x the declared walk's rate.
"""
from __future__ import annotations

import argparse
import statistics
import time

import requests

from mockidm.facade import MockIDM

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="bench">
  <process id="bench" isExecutable="true">
    <startEvent id="start" activiti:initiator="startUserId"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <scriptTask id="prepare" scriptFormat="groovy">
      <script><![CDATA[
def user = openidm.read('managed/user/' + startUserId)
def managers = openidm.query('managed/user', [_queryFilter: '_id eq "' + user.manager + '"'])
execution.setVariable('managerId', managers.result ? managers.result[0]._id : 'openidm-admin')
execution.setVariable('displayName', "${user.givenName} ${user.sn}".toString())
]]></script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="approve"/>
    <userTask id="approve" name="Approve ${displayName}" activiti:assignee="${managerId}"/>
    <sequenceFlow id="f3" sourceRef="approve" targetRef="grant"/>
    <scriptTask id="grant" scriptFormat="groovy">
      <script><![CDATA[
openidm.patch('managed/user/' + startUserId, null,
              [[operation: 'replace', field: '/roles', value: [[_ref: 'managed/role/auditor']]]])
openidm.action('external/email', 'send', [to: 'user@example.com', subject: 'Granted'])
]]></script>
    </scriptTask>
    <sequenceFlow id="f4" sourceRef="grant" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def mock(declared: bool) -> MockIDM:
    found = MockIDM()
    found.seed_objects("managed/user", [
        {"_id": "bjensen", "givenName": "Barbara", "sn": "Jensen", "manager": "jdoe",
         "roles": []},
        {"_id": "jdoe", "givenName": "John", "sn": "Doe"}])
    found.deploy_bpmn(BPMN, "bench.bpmn20.xml")
    if declared:
        found.set_outputs("prepare", {"managerId": "jdoe", "displayName": "Barbara Jensen"})
        found.set_outputs("grant", {})
    return found


def walks_per_second(declared: bool, walks: int, http: bool = False) -> float:
    target = mock(declared)
    if not http:
        began = time.perf_counter()
        for _ in range(walks):
            instance = target.start_process("bench", user="bjensen")
            [task] = target.tasks(instance.id)
            target.complete(task.id, {"decision": "approve"})
        return walks / (time.perf_counter() - began)
    target.add_user("bjensen", "Passw0rd!", ["openidm-admin", "openidm-authorized"])
    headers = {"X-OpenIDM-Username": "bjensen", "X-OpenIDM-Password": "Passw0rd!",
               "X-OpenIDM-NoSession": "true"}
    with target.serve(), requests.Session() as session:
        base = target.url
        began = time.perf_counter()
        for _ in range(walks):
            created = session.post(f"{base}/workflow/processinstance?_action=create",
                                   json={"_key": "bench"}, headers=headers)
            created.raise_for_status()
            found = session.get(f"{base}/workflow/taskinstance", headers=headers, params={
                "_queryId": "filtered-query", "processInstanceId": created.json()["_id"]})
            [task] = found.json()["result"]
            done = session.post(f"{base}/workflow/taskinstance/{task['_id']}?_action=complete",
                                json={"decision": "approve"}, headers=headers)
            done.raise_for_status()
        return walks / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--walks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http", action="store_true", help="walk over HTTP")
    args = parser.parse_args()
    walks_per_second(False, 50, args.http)  # warm the caches (compiled scripts, spec)
    scripted, declared = [], []
    for _ in range(args.rounds):
        scripted.append(walks_per_second(False, args.walks, args.http))
        declared.append(walks_per_second(True, args.walks, args.http))
    s, d = statistics.median(scripted), statistics.median(declared)
    print(f"{'HTTP' if args.http else 'facade'} walks, {args.walks} per round")
    print(f"scripted walk  {s:8.0f} walks/s (median of {args.rounds})")
    print(f"declared walk  {d:8.0f} walks/s")
    print(f"scripted / declared = {s / d:.2f} (goal: at least 0.50)")


if __name__ == "__main__":
    main()
