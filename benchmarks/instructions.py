"""Instructions the mock's request pipeline executes per request, counted by valgrind.

    python benchmarks/instructions.py            # create and query, ~1 minute each
    python benchmarks/instructions.py --bytecodes   # Python bytecodes, by function; seconds

Wall-clock figures on a shared machine move by a quarter from one run to the next; this count
does not, so it tells whether a change to the request path made it cheaper. It covers the
pipeline alone (authentication to rendered response, with the journal), without sockets, and
not aiohttp's parser or writer, which a trivial app pays too.

Each kind runs twice under `valgrind --tool=cachegrind`: once building N requests, once
building and handling them; the difference over N is the cost of handling one.
Needs valgrind (a Debian package).

`--bytecodes` counts instead the Python bytecodes each request executes, per function (with
`sys.settrace`, after a few untraced requests so that caches are warm). It is as
deterministic, needs no valgrind, and says where the Python work is; but a bytecode can be
a dict lookup or an allocation, so only the instruction count says what a change is worth.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CREATE = ("POST", "/openidm/workflow/processinstance?_action=create",
          b'{"_key":"contractorOnboarding","_businessKey":"bench"}')
QUERY = ("GET", "/openidm/workflow/processinstance?_queryId=filtered-query"
                "&processInstanceBusinessKey=bench-000005", b"")
KINDS = {"create": CREATE, "query": QUERY}
HEADERS = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
           "X-OpenIDM-NoSession": "true", "Host": "127.0.0.1:8080", "User-Agent": "wrk"}


Tracer = Callable[[FrameType, str, Any], Any]

WARM_UP = 10  # requests handled before tracing: first-use caches are not the usual cost


def run_requests(kind: str, count: int, handle: bool, tracer: Tracer | None = None) -> None:
    """Build `count` requests of `kind` and, if `handle`, pass them through the pipeline
    (the requests after the first WARM_UP under `tracer`, if given)."""
    sys.path.insert(0, str(ROOT))
    from aiohttp import streams
    from aiohttp.test_utils import make_mocked_request

    from mockidm import Engine, create_app
    from mockidm.samples import deploy_samples

    engine = Engine()
    deploy_samples(engine)
    for index in range(100):
        engine.start(key="contractorOnboarding", business_key=f"bench-{index:06d}",
                     variables={}, user="openidm-admin")
    app = create_app(engine)
    handler = next(iter(app.router.routes())).handler
    method, path, body = KINDS[kind]

    class Protocol:  # what a StreamReader needs from its connection
        _reading_paused = False

        def pause_reading(self, **_: object) -> None: ...

        def resume_reading(self, **_: object) -> None: ...

    async def main() -> None:
        requests = []
        for _ in range(count):
            headers = dict(HEADERS)
            payload: streams.StreamReader = streams.EmptyStreamReader()
            if body:
                headers.update({"Content-Type": "application/json",
                                "Content-Length": str(len(body))})
                payload = streams.StreamReader(Protocol(), 2**16,  # type: ignore[arg-type]
                                               loop=asyncio.get_running_loop())
                payload.feed_data(body)
                payload.feed_eof()
            requests.append(make_mocked_request(method, path, headers=headers, payload=payload,
                                                app=app))
        for number, request in enumerate(requests if handle else ()):
            if tracer is not None and number == WARM_UP:
                sys.settrace(tracer)
            response = await handler(request)
            assert response.status in (200, 201), response.body
        sys.settrace(None)

    asyncio.run(main())


def count_instructions(kind: str, count: int, handle: bool) -> int:
    result = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--inner", kind, str(count), "1" if handle else "0"],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if result.returncode != 0:
        raise SystemExit(f"the {kind} run failed:\n{result.stderr[-3000:]}")
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{result.stderr}")
    return int(found.group(1).replace(",", ""))


def count_bytecodes(kind: str, count: int, top: int) -> None:
    """Print the bytecodes and Python calls per request, and the functions that run most."""
    bytecodes: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, _arg: Any) -> Tracer:
        code = frame.f_code
        where = f"{Path(code.co_filename).name}:{code.co_name}"
        if event == "call":
            calls[where] += 1
            frame.f_trace_opcodes = True
        elif event == "opcode":
            bytecodes[where] += 1
        return tracer

    run_requests(kind, count + WARM_UP, handle=True, tracer=tracer)
    print(f"{kind:7s} {bytecodes.total() / count:9,.0f} bytecodes/request in "
          f"{calls.total() / count:.0f} Python calls")
    for where, number in bytecodes.most_common(top):
        print(f"        {number / count:7.0f}  {calls[where] / count:4.1f} calls  {where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per kind (300)")
    parser.add_argument("--kind", choices=sorted(KINDS), action="append",
                        help="only this kind (repeatable; default both)")
    parser.add_argument("--bytecodes", action="store_true",
                        help="count Python bytecodes per function instead (no valgrind)")
    parser.add_argument("--top", type=int, default=15,
                        help="functions listed with --bytecodes (15)")
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bytecodes:
        for kind in args.kind or sorted(KINDS):
            count_bytecodes(kind, args.requests, args.top)
        return 0
    if args.inner:
        kind, count, handle = args.inner
        run_requests(kind, int(count), handle == "1")
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    for kind in args.kind or sorted(KINDS):
        built = count_instructions(kind, args.requests, handle=False)
        handled = count_instructions(kind, args.requests, handle=True)
        print(f"{kind:7s} {(handled - built) // args.requests:>9,} instructions/request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
