"""The recorder's cost: requests per second through `mockidm record` against the same requests
sent directly to the server it records, in the same run.

The upstream is `mockidm serve --quiet` (the samples), the recorder `mockidm record` in front of
it writing a HAR file in a temporary directory, each in its own process as a user runs them.
The client is an aiohttp session in this process keeping `--connections` requests in flight for
`--duration` seconds: a query (`GET processinstance?_queryId=filtered-query&
processInstanceBusinessKey=...`, answering one instance) and a read of a definition. Direct and
proxied runs take turns, `--repeats` times each, so that a busy machine slows both alike; the
figure is the median. Target: through the proxy at least 0.5x the direct rate. Where the
system tells (Linux's /proc), the CPU each server process spent per request is printed too:
a figure a busy machine changes less than the rates.

    python benchmarks/proxy.py [--duration 3] [--repeats 3] [--connections 8]

Exit status 0 whatever the figures are; 1 if a server fails to start or a request fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5
HEADERS = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
           "X-OpenIDM-NoSession": "true"}
PATHS = ("/workflow/processinstance?_queryId=filtered-query&processInstanceBusinessKey=bench",
         "/workflow/processdefinition/contractorOnboarding:2:4")


def start(*args: str, pattern: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "mockidm", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(pattern, line)
    if not found:
        process.kill()
        raise SystemExit(f"mockidm {args[0]} did not start: {line}"
                         f"{process.stderr.read() if process.stderr else ''}")
    return process, found.group(1)


def cpu_seconds(process: subprocess.Popen[str]) -> float | None:
    """User and system CPU time the process has used so far, where Linux tells."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def rate(base: str, seconds: float, connections: int) -> float:
    """Requests answered per second, `connections` at a time."""
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as http:
        async def worker(offset: int) -> None:
            nonlocal done
            turn = offset
            while time.perf_counter() < deadline:
                async with http.get(base + PATHS[turn % len(PATHS)]) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise SystemExit(f"{answer.url}: {answer.status}")
                done += 1
                turn += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    processes = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            server, direct = start("serve", "--port", "0", "--quiet",
                                   pattern=r"serving (\S+/openidm)")
            processes.append(server)
            recorder, proxied = start("record", "--upstream", direct, "--port", "0", "--out",
                                      str(Path(tmp, "bench.har")),
                                      pattern=r"forwarding (\S+/openidm)")
            processes.append(recorder)
            import requests

            requests.post(f"{direct}/workflow/processinstance?_action=create", timeout=10,
                          json={"_key": "contractorOnboarding", "_businessKey": "bench"},
                          headers=HEADERS).raise_for_status()
            asyncio.run(rate(direct, 0.5, args.connections))  # warm both up, untimed
            asyncio.run(rate(proxied, 0.5, args.connections))
            rates: dict[str, list[float]] = {"direct": [], "through the recorder": []}
            spent = {"mock": 0.0, "recorder": 0.0}
            answered = 0.0
            for _ in range(args.repeats):
                rates["direct"].append(asyncio.run(rate(direct, args.duration,
                                                        args.connections)))
                before = [cpu_seconds(server), cpu_seconds(recorder)]
                proxied_rate = asyncio.run(rate(proxied, args.duration, args.connections))
                after = [cpu_seconds(server), cpu_seconds(recorder)]
                rates["through the recorder"].append(proxied_rate)
                answered += proxied_rate * args.duration
                for name, was, now in zip(spent, before, after, strict=True):
                    if was is not None and now is not None:
                        spent[name] += now - was
            recorded = Path(tmp, "bench.har").stat().st_size
        finally:
            for process in reversed(processes):
                process.terminate()
                process.communicate(timeout=10)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["through the recorder"] / medians["direct"]
    print(f"{args.connections} connections, {args.duration:g} s x {args.repeats} each, "
          "medians:")
    for name, value in medians.items():
        runs = ", ".join(f"{v:.0f}" for v in rates[name])
        print(f"  {name:<22} {value:8.0f} requests/s  ({runs})")
    print(f"  ratio {ratio:.2f} (target >= {TARGET_RATIO}: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}); HAR written: "
          f"{recorded / 1e6:.1f} MB")
    if all(spent.values()):
        print("  CPU per request through the recorder: "
              + ", ".join(f"{name} {seconds / answered * 1e6:.0f} us"
                          for name, seconds in spent.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
