"""HTTP benchmark of mockidm with wrk: throughput against a trivial aiohttp app, and query latency.

    /work/venv/bin/python benchmarks/bench_http.py            # about 100 s with the defaults

1. Throughput (wrk -t1 -c32): the mock's `POST ...processinstance?_action=create` and its
   filtered query by business key, against a trivial aiohttp app hit with the same requests.
   Target: mock >= 50% of trivial, per request kind.
2. Latency of the filtered query by business key (wrk -c1 --latency) with 100, 10,000 and
   100,000 RUNNING instances preloaded. Target: p50(largest) / p50(smallest) <= 2.

Every server runs in its own process (benchmarks/serve.py) on 127.0.0.1. Each figure is the
median of --repeats wrk runs. PASS/FAIL lines are informative: the exit status is 0 whatever
they say, and non-zero only when the benchmark could not run (wrk missing, a server failing).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve.py"
LUA = HERE / "request.lua"
HOST = "127.0.0.1"
HEADERS = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
           "X-OpenIDM-NoSession": "true"}
THROUGHPUT_TARGET = 0.5  # mock rps / trivial rps, at least
LATENCY_TARGET = 2.0  # p50 at the largest preload / p50 at the smallest, at most
STARTUP_TIMEOUT = 120.0  # seconds; preloading 100,000 instances takes a few
THROUGHPUT_PRELOAD = 100


class BenchError(Exception):
    """The benchmark could not run (as opposed to a slow result)."""


@dataclass(frozen=True)
class Kind:
    """One kind of request, sent identically to the mock and to the trivial app."""

    name: str
    method: str
    path: str
    body: str = ""


INSTANCES = "/openidm/workflow/processinstance"


def create_kind() -> Kind:
    return Kind("POST _action=create", "POST", f"{INSTANCES}?_action=create",
                json.dumps({"_key": "contractorOnboarding", "_businessKey": "bench"}))


def query_kind(business_key: str) -> Kind:
    return Kind("GET filtered-query by business key", "GET",
                f"{INSTANCES}?_queryId=filtered-query&processInstanceBusinessKey={business_key}")


def business_key(index: int) -> str:
    return f"bench-{index:06d}"  # as benchmarks/serve.py names the preloaded instances


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float


# servers -------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def background(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server command in its own process until it listens on `port`; always stop it."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    log = stderr.read().decode(errors="replace").strip()
                    raise BenchError(f"server {' '.join(command[1:])} did not start "
                                     f"(exit {process.poll()}):\n{log}")
                time.sleep(0.02)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def server(*, trivial: bool = False, floor: bool = False, instances: int = 0,
           body_bytes: int = 0) -> Iterator[str]:
    """Run benchmarks/serve.py in its own process; yield its origin."""
    port = _free_port()
    command = [sys.executable, str(SERVE), "--port", str(port)]
    command += (["--trivial", "--trivial-body-bytes", str(body_bytes)] if trivial
                else ["--instances", str(instances)] + (["--floor"] if floor else []))
    with background(command, port):
        yield f"http://{HOST}:{port}"


def check(origin: str, kind: Kind, *, expect_results: int | None = None) -> int:
    """One request by hand first: a benchmark of error answers would measure nothing.
    Returns the size of the answer's body."""
    request = urllib.request.Request(origin + kind.path, method=kind.method, headers=HEADERS,
                                     data=kind.body.encode() if kind.body else None)
    if kind.body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            body = json.loads(raw)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        raise BenchError(f"{kind.method} {kind.path} failed: {error}") from None
    if expect_results is not None and len(body.get("result", [])) != expect_results:
        raise BenchError(f"{kind.method} {kind.path} returned {len(body.get('result', []))} "
                         f"results, expected {expect_results}")
    return len(raw)


# wrk -----------------------------------------------------------------------------------------

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise BenchError(f"unreadable wrk latency {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rps is None:
        raise BenchError(f"no Requests/sec in wrk output:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if bad or errors:
        raise BenchError(f"wrk saw failures ({bad[0] if bad else errors[0] if errors else ''}):"
                         f"\n{output}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    return WrkResult(float(rps[1]), _ms(percentiles.get("50", "0us")),
                     _ms(percentiles.get("99", "0us")))


def wrk(origin: str, kind: Kind, *, threads: int, connections: int, duration: int) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "-s", str(LUA), origin + kind.path]
    env = {**os.environ, "BENCH_METHOD": kind.method, "BENCH_BODY": kind.body}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              timeout=duration + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration + 60} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def median(results: list[WrkResult]) -> WrkResult:
    return WrkResult(statistics.median(r.rps for r in results),
                     statistics.median(r.p50_ms for r in results),
                     statistics.median(r.p99_ms for r in results))


# the two parts -------------------------------------------------------------------------------

TARGETS = ("mock", "same-size", "small")  # the trivial app answers as much JSON, or 11 bytes
FLOOR = "floor"  # serve.py's floor app, with --floor


def throughput(args: argparse.Namespace) -> None:
    kinds = [create_kind(), query_kind(business_key(THROUGHPUT_PRELOAD // 2))]
    sizes = {}
    with server(instances=THROUGHPUT_PRELOAD) as origin:
        for kind in kinds:
            sizes[kind.name] = check(origin, kind, expect_results=1 if kind.method == "GET"
                                     else None)
    targets = TARGETS + ((FLOOR,) if args.floor else ())
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    for _ in range(args.repeats):  # interleaved, so that drift hits every target alike
        for kind in kinds:
            for target in targets:
                # A fresh server each run: creates pile up instances otherwise.
                body_bytes = sizes[kind.name] if target == "same-size" else 0
                with server(trivial=target in ("same-size", "small"), floor=target == FLOOR,
                            instances=THROUGHPUT_PRELOAD, body_bytes=body_bytes) as origin:
                    size = check(origin, kind, expect_results=1 if target in ("mock", FLOOR)
                                 and kind.method == "GET" else None)
                    if target == FLOOR and size != sizes[kind.name]:
                        raise BenchError(f"the floor app answers {size} bytes to "
                                         f"{kind.name}, the mock {sizes[kind.name]}")
                    result = wrk(origin, kind, threads=args.threads,
                                 connections=args.connections, duration=args.duration)
                runs.setdefault((kind.name, target), []).append(result)
    print(f"\n1. Throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
          f"median of {args.repeats} (mock preloaded with {THROUGHPUT_PRELOAD} instances)")
    print("   trivial app: fixed JSON of the same size as the mock's answer (the target's "
          "baseline), and an 11-byte fixed JSON")
    print(f"   {'request':<36} {'bytes':>6} {'mock rps':>9} {'same-size':>10} {'ratio':>6} "
          f"{'11-byte':>9} {'ratio':>6}  target >= {THROUGHPUT_TARGET:.0%} of same-size")
    for kind in kinds:
        mock, same, small = (median(runs[(kind.name, t)]).rps for t in TARGETS)
        print(f"   {kind.name:<36} {sizes[kind.name]:>6} {mock:>9,.0f} {same:>10,.0f} "
              f"{mock / same:>6.2f} {small:>9,.0f} {mock / small:>6.2f}  "
              f"{'PASS' if mock / same >= THROUGHPUT_TARGET else 'FAIL'}")
    if args.floor:
        print("   floor app (serve.py): the same answers from the mock's engine, without its "
              "request layer")
        print(f"   {'request':<36} {'floor rps':>9} {'/ same-size':>12} {'mock / floor':>13}")
        for kind in kinds:
            mock, same, floor = (median(runs[(kind.name, t)]).rps
                                 for t in ("mock", "same-size", FLOOR))
            print(f"   {kind.name:<36} {floor:>9,.0f} {floor / same:>12.2f} "
                  f"{mock / floor:>13.2f}")


def latency(args: argparse.Namespace) -> None:
    rows: list[tuple[int, WrkResult]] = []
    for count in args.instances:
        kind = query_kind(business_key(count // 2))
        with server(instances=count) as origin:
            check(origin, kind, expect_results=1)
            results = [wrk(origin, kind, threads=1, connections=1, duration=args.latency_duration)
                       for _ in range(args.repeats)]
        rows.append((count, median(results)))
    print(f"\n2. Query by business key: wrk -t1 -c1 -d{args.latency_duration}s --latency, "
          f"median of {args.repeats}")
    print(f"   {'RUNNING instances':>17} {'p50 ms':>8} {'p99 ms':>8} {'rps':>8}")
    for count, result in rows:
        print(f"   {count:>17,} {result.p50_ms:>8.3f} {result.p99_ms:>8.3f} {result.rps:>8,.0f}")
    (small, first), (large, last) = rows[0], rows[-1]
    ratio = last.p50_ms / first.p50_ms
    print(f"   p50({large:,}) / p50({small:,}) = {ratio:.2f}  target <= {LATENCY_TARGET:g}  "
          f"{'PASS' if ratio <= LATENCY_TARGET else 'FAIL'}")


def _counts(text: str) -> list[int]:
    counts = sorted(int(part) for part in text.split(","))
    if len(counts) < 2 or counts[0] < 1:
        raise argparse.ArgumentTypeError("give at least two positive counts, e.g. 100,100000")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=32,
                        help="wrk connections for throughput (default 32)")
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds per throughput run (default 5)")
    parser.add_argument("--latency-duration", type=int, default=3,
                        help="seconds per latency run (default 3)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per measurement; the median is reported (default 3)")
    parser.add_argument("--instances", type=_counts, default=[100, 10_000, 100_000],
                        help="preloads for the latency part (default 100,10000,100000)")
    parser.add_argument("--floor", action="store_true",
                        help="also measure serve.py's floor app: the engine and aiohttp "
                             "without the mock's request layer")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_http: wrk is not installed (on Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        if not args.skip_throughput:
            throughput(args)
        if not args.skip_latency:
            latency(args)
    except BenchError as error:
        print(f"bench_http: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_http: interrupted", file=sys.stderr)
        return 130
    print(f"\n(total {time.monotonic() - started:.0f} s; PASS/FAIL is informative, exit 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
