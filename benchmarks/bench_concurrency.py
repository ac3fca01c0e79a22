"""Concurrency benchmark: many clients creating and querying at once, nothing lost.

    /work/venv/bin/python benchmarks/bench_concurrency.py                # 50 clients x 200 creates
    /work/venv/bin/python benchmarks/bench_concurrency.py --in-process   # server in a thread here
    /work/venv/bin/python benchmarks/bench_concurrency.py --clients 8 --creates 50

By default `mockidm serve --quiet --journal-limit 0` runs in its own process on 127.0.0.1 and
a free port; `--in-process` serves `MockIDM().serve()` in a thread of this process instead (what
tests/hardening/test_concurrency.py does: client and server then share one interpreter).

--clients asyncio clients (aiohttp, one connection each) each make --creates
`POST /openidm/workflow/processinstance?_action=create` of `contractorOnboarding` with a
business key of their own. After every --query-every-th create a client queries that business
key (`filtered-query`) and expects exactly its instance; every 10th client also lists all
instances (`query-all-ids`) half-way and at its end and expects all of its own.

At the end: every created id listed exactly once by `query-all-ids`, the ids unique, and the
journal (read through the admin API, or the facade in-process) holding exactly one
`createProcessInstance` per create and only 2xx answers.

Prints requests per second, the error count and latency percentiles. Exit status 0 when every
check passed, 1 when one failed or there was any error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
INSTANCES = "workflow/processinstance"
ALL_IDS_EVERY_CLIENT = 10
MAX_REPORTED_ERRORS = 10


@dataclass
class Tally:
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors.append(what)


async def timed(tally: Tally, request) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    async with request as response:
        body = await response.json(content_type=None)
    tally.latencies.append(time.perf_counter() - started)
    return response.status, body


async def client(url: str, n: int, creates: int, query_every: int, tally: Tally) -> None:
    mine: list[str] = []
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=ADMIN, connector=connector,
                                     timeout=timeout) as http:
        for i in range(creates):
            key = f"bench{n:03d}-{i:05d}"
            try:
                status, body = await timed(tally, http.post(
                    f"{url}/{INSTANCES}?_action=create",
                    json={"_key": "contractorOnboarding", "_businessKey": key,
                          "contractorName": key}))
                if status != 201:
                    tally.error(f"create {key}: {status} {str(body)[:200]}")
                    continue
                mine.append(body["_id"])  # type: ignore[index]
                if query_every and i % query_every == 0:
                    status, body = await timed(tally, http.get(
                        f"{url}/{INSTANCES}?_queryId=filtered-query"
                        f"&processInstanceBusinessKey={key}"))
                    found = [x["_id"] for x in body["result"]] if status == 200 else None  # type: ignore[index]
                    if found != mine[-1:]:
                        tally.error(f"query {key}: {status} found {found}")
                if n % ALL_IDS_EVERY_CLIENT == 0 and i in (creates // 2, creates - 1):
                    status, body = await timed(tally, http.get(
                        f"{url}/{INSTANCES}?_queryId=query-all-ids"))
                    seen = {x["_id"] for x in body["result"]} if status == 200 else set()  # type: ignore[index]
                    if status != 200 or not set(mine) <= seen:
                        tally.error(f"query-all-ids: {status}, "
                                    f"{len(set(mine) - seen)} of client {n}'s ids missing")
            except (TimeoutError, aiohttp.ClientError, KeyError, TypeError) as exc:
                tally.error(f"client {n}: {type(exc).__name__}: {exc}")
    tally.created.extend(mine)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def subprocess_server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MOCKIDM_ADMIN_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(port), "--quiet",
         "--journal-limit", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "serving" not in line:
            raise SystemExit(f"mockidm serve did not start: {line!r}")
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def final_checks(origin: str, tally: Tally, expected: int,
                       journal: list[dict] | None) -> list[str]:
    failures = []
    async with aiohttp.ClientSession(headers=ADMIN) as http:
        async with http.get(f"{origin}/openidm/{INSTANCES}?_queryId=query-all-ids") as r:
            listed = [x["_id"] for x in (await r.json())["result"]]
        if journal is None:
            async with http.get(f"{origin}/__mockidm/journal") as r:
                journal = await r.json()
    if len(tally.created) != expected:
        failures.append(f"{len(tally.created)} instances created, {expected} expected")
    if len(set(tally.created)) != len(tally.created):
        failures.append("an id was given twice")
    if len(set(listed)) != len(listed):
        failures.append("query-all-ids lists an instance twice")
    if sorted(listed) != sorted(tally.created):
        failures.append(f"query-all-ids lists {len(listed)} instances, "
                        f"{len(set(tally.created) - set(listed))} created ones missing")
    creates = [e for e in journal if e["operation"] == "createProcessInstance"]
    if len(creates) != expected:
        failures.append(f"the journal holds {len(creates)} creates, {expected} expected")
    bad = [e for e in journal if not 200 <= e["status"] < 300]
    if bad:
        failures.append(f"the journal holds {len(bad)} non-2xx answers")
    return failures


async def run(args: argparse.Namespace, origin: str, journal_of=None) -> int:  # type: ignore[no-untyped-def]
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(*(client(f"{origin}/openidm", n, args.creates, args.query_every, tally)
                           for n in range(args.clients)))
    elapsed = time.perf_counter() - started
    requests = len(tally.latencies)
    latencies = sorted(tally.latencies) or [0.0]
    print(f"{args.clients} clients x {args.creates} creates "
          f"({'in-process' if args.in_process else 'mockidm serve, own process'}): "
          f"{requests} requests in {elapsed:.2f} s")
    print(f"  requests/second  {requests / elapsed:,.0f}")
    print(f"  errors           {len(tally.errors)}")
    print(f"  latency          p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms")
    for error in tally.errors[:MAX_REPORTED_ERRORS]:
        print(f"  error: {error}")
    journal = journal_of() if journal_of else None
    failures = await final_checks(origin, tally, args.clients * args.creates, journal)
    for failure in failures:
        print(f"  FAILED: {failure}")
    if not failures:
        print("  checks           every instance listed once, ids unique, journal complete")
    return 1 if failures or tally.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--creates", type=int, default=200, help="creates per client (200)")
    parser.add_argument("--query-every", type=int, default=10,
                        help="a query by business key after every n-th create (10; 0: none)")
    parser.add_argument("--in-process", action="store_true",
                        help="serve MockIDM().serve() in a thread of this process")
    args = parser.parse_args(argv)
    if args.in_process:
        sys.path.insert(0, str(ROOT))
        from mockidm import MockIDM

        mock = MockIDM()
        mock.deploy_samples()
        with mock.serve():
            origin = mock.url[:-len("/openidm")]
            return asyncio.run(run(args, origin, lambda: [e.to_json() for e in mock.requests()]))
    with subprocess_server() as origin:
        return asyncio.run(run(args, origin))


if __name__ == "__main__":
    sys.exit(main())
