"""End-to-end workflow benchmark: deploy many definitions, drive instances through two tasks.

    /work/venv/bin/python benchmarks/bench_workflow.py        # 1,000 definitions, 10,000 instances
    /work/venv/bin/python benchmarks/bench_workflow.py --definitions 50 --instances 500
    /work/venv/bin/python benchmarks/bench_workflow.py --boundary-timer  # escalation armed

1. A mock server starts in its own process on 127.0.0.1 (this file, run with --serve). Before it
   listens it deploys --definitions distinct BPMN documents through `Engine.deploy_bpmn`, each a
   two-task approval with process id `approval0000`, `approval0001`..., and it reports the
   deploy time measured in that process.
2. --concurrency asyncio workers (aiohttp.ClientSession, one pooled connection each) drive
   --instances instances, spread round-robin over the keys. Each instance is seven requests:
   create -> find the task -> claim -> complete {"decision": "approve"} -> find the second task
   -> claim -> complete; every 100th instance also reads its history and checks its endTime.
   With --boundary-timer the manager approval carries an interrupting 72-hour escalation timer
   (a boundary event, as OpenIDM's accessRequest sample has): each instance arms it and its
   completion deletes it, so the figure includes the cost of timers that never fire.

The figure is instances per second end to end, not raw request throughput (bench_http.py
measures that with wrk): the client is Python, and on a small box it shares the CPUs with the
server. Exit status 1 on any non-2xx answer, failed check or server failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_http.py, when this file is imported rather than run

from bench_http import HEADERS, HOST, BenchError, _free_port, background  # noqa: E402

WORKFLOW = "/openidm/workflow"
USER = "openidm-admin"
FIRST_TASK, SECOND_TASK, APPROVED_END = "managerApproval", "hrSetup", "approved"
HISTORY_EVERY = 100  # check the history of every n-th instance
STARTUP_TIMEOUT = 300.0  # seconds: deploying is done before the port opens
REQUEST_TIMEOUT = 30.0  # seconds, per request
MAX_REPORTED_ERRORS = 10

# `@KEY@` and `@N@` are replaced; `${...}` is the gateway's expression, left alone.
APPROVAL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
             targetNamespace="https://mockidm.dev/bench">
  <process id="@KEY@" name="Approval @N@" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="toManager" sourceRef="start" targetRef="managerApproval"/>
    <userTask id="managerApproval" name="Manager approval @N@"
              activiti:candidateGroups="internal/role/openidm-admin,managers">
      <extensionElements>
        <activiti:formProperty id="decision" name="Decision" type="enum" required="true">
          <activiti:value id="approve" name="Approve"/>
          <activiti:value id="reject" name="Reject"/>
        </activiti:formProperty>
      </extensionElements>
    </userTask>@BOUNDARY@
    <sequenceFlow id="toDecision" sourceRef="managerApproval" targetRef="decided"/>
    <exclusiveGateway id="decided" name="Approved?" default="toRejected"/>
    <sequenceFlow id="toHr" sourceRef="decided" targetRef="hrSetup">
      <conditionExpression xsi:type="tFormalExpression"
          >${decision == 'approve'}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="toRejected" sourceRef="decided" targetRef="rejected"/>
    <userTask id="hrSetup" name="HR setup @N@" activiti:candidateGroups="hr"/>
    <sequenceFlow id="toApproved" sourceRef="hrSetup" targetRef="approved"/>
    <endEvent id="approved" name="Approved"/>
    <endEvent id="rejected" name="Rejected"/>
  </process>
</definitions>
"""


# The escalation --boundary-timer adds: it never fires within a run (72 hours).
BOUNDARY_TIMER = """
    <boundaryEvent id="escalate" attachedToRef="managerApproval" cancelActivity="true">
      <timerEventDefinition><timeDuration>PT72H</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="toEscalated" sourceRef="escalate" targetRef="rejected"/>"""


def process_key(index: int, definitions: int) -> str:
    """`approval0000`...: four digits, or more when there are more than 10,000 definitions."""
    return f"approval{index:0{max(4, len(str(definitions - 1)))}d}"


def approval_bpmn(key: str, index: int, boundary_timer: bool = False) -> str:
    return APPROVAL_BPMN.replace("@KEY@", key).replace("@N@", str(index)).replace(
        "@BOUNDARY@", BOUNDARY_TIMER if boundary_timer else "")


def rss_kib(pid: int | str) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found


# the server (its own process) ----------------------------------------------------------------

def serve_main(argv: list[str]) -> int:
    """Deploy the definitions, write the deploy report, then serve on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="bench_workflow.py --serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--definitions", type=int, required=True)
    parser.add_argument("--report", type=Path, required=True,
                        help="where to write the deploy report (JSON) before listening")
    parser.add_argument("--boundary-timer", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from aiohttp import web

    from mockidm import Engine, create_app

    engine = Engine()
    documents = [(process_key(i, args.definitions), approval_bpmn(
        process_key(i, args.definitions), i, args.boundary_timer))
        for i in range(args.definitions)]
    started = time.perf_counter()
    for key, text in documents:
        (definition,) = engine.deploy_bpmn(text, name=f"{key}.bpmn20.xml")
        if definition.key != key:
            raise SystemExit(f"deployed {definition.key!r}, expected {key!r}")
    seconds = time.perf_counter() - started
    app = create_app(engine, profile="8.1", validate_responses=False)
    report = {"definitions": len(engine.definitions()), "deploy_seconds": seconds,
              "rss_kib_after_deploy": rss_kib("self").get("VmRSS", 0)}
    args.report.write_text(json.dumps(report), encoding="utf-8")
    web.run_app(app, host=HOST, port=args.port, access_log=None, print=None)
    return 0


@dataclass(frozen=True)
class Server:
    origin: str
    pid: int
    deploy: dict[str, Any]


@contextmanager
def server(definitions: int, boundary_timer: bool = False) -> Iterator[Server]:
    """Run this file with --serve in its own process; yield it once it listens."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "deploy.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port),
                   "--definitions", str(definitions), "--report", str(report)]
        if boundary_timer:
            command.append("--boundary-timer")
        with background(command, port) as process:
            deploy = json.loads(report.read_text(encoding="utf-8"))
            yield Server(f"http://{HOST}:{port}", process.pid, deploy)


# the client ----------------------------------------------------------------------------------

class Failed(Exception):
    """This instance cannot go on: a non-2xx answer, a transport error or a failed check."""


@dataclass
class Tally:
    requests: int = 0
    http_errors: int = 0  # non-2xx answers and transport errors
    check_errors: int = 0  # 2xx answers that say the wrong thing
    finished: int = 0
    histories_checked: int = 0
    messages: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # per finished instance

    def fail(self, message: str, *, http: bool) -> Failed:
        if http:
            self.http_errors += 1
        else:
            self.check_errors += 1
        if len(self.messages) < MAX_REPORTED_ERRORS:
            self.messages.append(message)
        return Failed(message)


class Driver:
    def __init__(self, session: aiohttp.ClientSession, origin: str, definitions: int) -> None:
        self.session, self.origin, self.definitions = session, origin, definitions
        self.tally = Tally()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.tally.requests += 1
        try:
            async with self.session.request(method, self.origin + WORKFLOW + path,
                                            json=body) as response:
                raw = await response.read()
                if not 200 <= response.status < 300:
                    text = raw[:200].decode(errors="replace")
                    raise self.tally.fail(f"{method} {path}: {response.status} {text}", http=True)
                return json.loads(raw)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise self.tally.fail(f"{method} {path}: {type(error).__name__} {error}",
                                  http=True) from None

    async def only_task(self, instance_id: str, key: str) -> str:
        found = await self.call(
            "GET", f"/taskinstance?_queryId=filtered-query&processInstanceId={instance_id}")
        tasks = found.get("result", [])
        if len(tasks) != 1 or tasks[0].get("taskDefinitionKey") != key:
            names = [t.get("taskDefinitionKey") for t in tasks]
            raise self.tally.fail(f"instance {instance_id}: tasks {names}, expected [{key!r}]",
                                  http=False)
        return str(tasks[0]["_id"])

    async def finish_task(self, instance_id: str, key: str, variables: dict[str, Any]) -> None:
        task = await self.only_task(instance_id, key)
        await self.call("POST", f"/taskinstance/{task}?_action=claim", {"userId": USER})
        await self.call("POST", f"/taskinstance/{task}?_action=complete", variables)

    async def instance(self, index: int) -> None:
        started = time.perf_counter()
        key = process_key(index % self.definitions, self.definitions)
        created = await self.call("POST", "/processinstance?_action=create", {"_key": key})
        instance_id = str(created["_id"])
        await self.finish_task(instance_id, FIRST_TASK, {"decision": "approve"})
        await self.finish_task(instance_id, SECOND_TASK, {})
        if index % HISTORY_EVERY == 0:
            history = await self.call("GET", f"/processinstance/history/{instance_id}")
            if not history.get("endTime") or history.get("endActivityId") != APPROVED_END:
                raise self.tally.fail(
                    f"instance {instance_id}: history endTime={history.get('endTime')!r} "
                    f"endActivityId={history.get('endActivityId')!r}", http=False)
            self.tally.histories_checked += 1
        self.tally.finished += 1
        self.tally.seconds.append(time.perf_counter() - started)

    async def worker(self, indexes: Iterator[int]) -> None:
        for index in indexes:  # one shared, finite iterator: every index is taken once
            with contextlib.suppress(Failed):  # counted; the next instance goes on
                await self.instance(index)


async def drive(origin: str, args: argparse.Namespace) -> tuple[Tally, float]:
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS,
                                     timeout=timeout) as session:
        driver = Driver(session, origin, args.definitions)
        # One instance first, off the clock: a benchmark of error answers would measure nothing.
        await driver.instance(0)
        driver.tally = Tally()
        indexes = iter(range(args.instances))
        started = time.perf_counter()
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*(driver.worker(indexes) for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        tally, requests = driver.tally, driver.tally.requests
        # Off the clock too: the warm-up instance has finished, so nothing should still run.
        try:
            running = await driver.call("GET", "/processinstance?_queryId=query-all-ids")
            if running.get("result"):
                tally.fail(f"{len(running['result'])} instances still RUNNING after the run",
                           http=False)
        except Failed:
            pass  # counted
        tally.requests = requests
    return tally, elapsed


# the report ----------------------------------------------------------------------------------

def report(args: argparse.Namespace, deploy: dict[str, Any], tally: Tally, elapsed: float,
           rss: dict[str, int]) -> None:
    rate = deploy["definitions"] / deploy["deploy_seconds"]
    print(f"bench_workflow: {args.definitions:,} definitions, {args.instances:,} instances, "
          f"{args.concurrency} concurrent workers, 127.0.0.1"
          + (", a 72-hour boundary timer on the approval" if args.boundary_timer else ""))
    print("  End-to-end instances per second from a Python asyncio client (aiohttp, pooled"
          " connections),\n  not raw request throughput: client and server share this"
          " machine's CPUs.")
    print(f"  deploy         {deploy['definitions']:,} definitions in "
          f"{deploy['deploy_seconds']:.2f} s = {rate:,.0f} definitions/s "
          f"(Engine.deploy_bpmn, in the server process)")
    print(f"  wall time      {elapsed:.2f} s (instances only; server start and warm-up excluded)")
    print(f"  instances      {tally.finished:,} finished = {tally.finished / elapsed:,.1f} "
          "instances/s (create, 2 x [query, claim, complete])")
    if tally.seconds:
        ordered = sorted(tally.seconds)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  per instance   p50 {statistics.median(ordered) * 1e3:.1f} ms, "
              f"p99 {p99 * 1e3:.1f} ms")
    print(f"  requests       {tally.requests:,} = {tally.requests / elapsed:,.0f} requests/s "
          f"(7 per instance, + history read of every {HISTORY_EVERY}th: "
          f"{tally.histories_checked:,} checked)")
    print(f"  errors         {tally.http_errors} non-2xx or transport, "
          f"{tally.check_errors} failed checks")
    for message in tally.messages:
        print(f"    {message}")
    print(f"  server RSS     {rss.get('VmRSS', 0) / 1024:,.1f} MiB at the end "
          f"(peak {rss.get('VmHWM', 0) / 1024:,.1f} MiB; "
          f"{deploy['rss_kib_after_deploy'] / 1024:,.1f} MiB after deploying)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return serve_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--definitions", type=_positive, default=1000,
                        help="definitions deployed before the server listens (default 1000)")
    parser.add_argument("--instances", type=_positive, default=10_000,
                        help="instances driven to their end (default 10000)")
    parser.add_argument("--concurrency", type=_positive, default=32,
                        help="concurrent client workers and pooled connections (default 32)")
    parser.add_argument("--boundary-timer", action="store_true",
                        help="put an interrupting 72-hour escalation timer on the approval")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="give up on the instances after this many seconds (default 900)")
    args = parser.parse_args(argv)
    try:
        with server(args.definitions, args.boundary_timer) as mock:
            tally, elapsed = asyncio.run(drive(mock.origin, args))
            rss = rss_kib(mock.pid)
    except Failed as error:
        print(f"bench_workflow: the warm-up instance failed: {error}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"bench_workflow: the instances took longer than {args.timeout:g} s",
              file=sys.stderr)
        return 1
    except BenchError as error:
        print(f"bench_workflow: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_workflow: interrupted", file=sys.stderr)
        return 130
    report(args, mock.deploy, tally, elapsed, rss)
    return 1 if tally.http_errors or tally.check_errors else 0


if __name__ == "__main__":
    sys.exit(main())
