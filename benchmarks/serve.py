"""One benchmark server in its own process: `mockidm serve` (with preloaded instances) or a
trivial aiohttp app.

    python benchmarks/serve.py --port 8123 --instances 1000
    python benchmarks/serve.py --port 8123 --trivial

Binds 127.0.0.1 only. The mock is preloaded (a fixture file) before the port opens, with
RUNNING `contractorOnboarding` instances whose business keys are `bench-000000`, `bench-000001`...
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from aiohttp import web

HOST = "127.0.0.1"
TRIVIAL_BODY = b'{"ok":true}'


def business_key(index: int) -> str:
    """The business key of the `index`-th preloaded instance (bench_http.py agrees)."""
    return f"bench-{index:06d}"


def trivial_app(body_bytes: int = len(TRIVIAL_BODY)) -> web.Application:
    """Answers every request with the same fixed JSON, padded to `body_bytes` if larger."""
    padding = max(0, body_bytes - len(b'{"ok":true,"pad":""}'))
    body = TRIVIAL_BODY if not padding else b'{"ok":true,"pad":"' + b"x" * padding + b'"}'

    async def answer(request: web.Request) -> web.Response:
        await request.read()  # consume the body, as the mock does
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def serve_mock(port: int, instances: int) -> int:
    """`mockidm serve --quiet` (as a user runs it, with its journal limit and collector
    settings), preloaded through a fixture file of RUNNING instances."""
    with tempfile.TemporaryDirectory() as folder:
        fixtures = Path(folder) / "preload.json"
        fixtures.write_text(json.dumps({"instances": [
            {"key": "contractorOnboarding", "businessKey": business_key(index),
             "variables": {"contractorName": f"Contractor {index}"}}
            for index in range(instances)]}))
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, (root, os.environ.get("PYTHONPATH"))))}
        child = subprocess.Popen([sys.executable, "-m", "mockidm", "serve", "--quiet",
                                  "--host", HOST, "--port", str(port),
                                  "--fixtures", str(fixtures)], env=env)
        # bench_http.py stops this process: pass the signal on, then clean up.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, _frame: child.send_signal(number))
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="port to bind on 127.0.0.1")
    parser.add_argument("--instances", type=int, default=0,
                        help="RUNNING instances to preload into the mock (default 0)")
    parser.add_argument("--trivial-body-bytes", type=int, default=len(TRIVIAL_BODY),
                        help="size of the trivial app's fixed JSON answer")
    parser.add_argument("--trivial", action="store_true",
                        help="serve a fixed small JSON body on every path instead of the mock")
    args = parser.parse_args(argv)
    if not args.trivial:
        return serve_mock(args.port, args.instances)
    web.run_app(trivial_app(args.trivial_body_bytes), host=HOST, port=args.port,
                access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
