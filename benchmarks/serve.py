"""One benchmark server in its own process: `mockidm serve` (with preloaded instances), a
trivial aiohttp app, or the floor app.

    python benchmarks/serve.py --port 8123 --instances 1000
    python benchmarks/serve.py --port 8123 --trivial
    python benchmarks/serve.py --port 8123 --floor --instances 100
    python benchmarks/serve.py --port 8123 -- --journal-limit 1000   # flags for mockidm serve

The floor app answers the benchmark's two requests (create by key, query by business key)
with the mock's own engine and JSON shapes, and nothing else: no CREST parsing or checks, no
journal, no access rules, no spec, credentials by one dict lookup. It shows how much of the
gap to the trivial app the engine and aiohttp leave, before the mock's request layer.

Binds 127.0.0.1 only. The mock is preloaded (a fixture file) before the port opens, with
RUNNING `contractorOnboarding` instances whose business keys are `bench-000000`, `bench-000001`...
"""

from __future__ import annotations

import argparse
import gc
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


def floor_app(instances: int) -> web.Application:
    """The least Python that gives the mock's answers to the benchmark's two requests."""
    import orjson

    from mockidm.engine import Engine, InstanceQuery
    from mockidm.http import shapes
    from mockidm.http.render import query_envelope
    from mockidm.identity import Identity
    from mockidm.profile import get_profile
    from mockidm.samples import deploy_samples

    engine, users = Engine(), Identity.default(get_profile("8.1")).users
    deploy_samples(engine)
    for index in range(instances):
        engine.start(key="contractorOnboarding", business_key=business_key(index),
                     variables={"contractorName": f"Contractor {index}"}, user="openidm-admin")
    headers = {"Content-Type": "application/json; charset=UTF-8", "Cache-Control": "no-cache",
               "Content-API-Version": "protocol=2.1,resource=1.0"}

    async def answer(request: web.Request) -> web.Response:
        user = users.get(request.headers.get("X-OpenIDM-Username", ""))
        if user is None or user.password != request.headers.get("X-OpenIDM-Password"):
            return web.Response(status=401)
        if request.method == "POST":
            content = orjson.loads(await request.read())
            instance = engine.start(key=content.pop("_key"),
                                    business_key=content.pop("_businessKey", None),
                                    variables=content, user=user.name)
            return web.Response(body=orjson.dumps(shapes.created(instance)), status=201,
                                headers={**headers, "Location": f"{request.scheme}://"
                                                  f"{request.host}{request.path}/{instance.id}"})
        query = InstanceQuery(business_key=request.query["processInstanceBusinessKey"],
                              finished=False)
        items = [shapes.instance(i) for i in engine.query_instances(query)]
        return web.Response(body=orjson.dumps(query_envelope(items)), headers=headers)

    app = web.Application()
    app.router.add_route("*", "/openidm/workflow/processinstance", answer)
    return app


def serve_mock(port: int, instances: int, extra: list[str]) -> int:
    """`mockidm serve --quiet` (as a user runs it, with its journal limit and collector
    settings), preloaded through a fixture file of RUNNING instances; `extra` are more flags
    for it (to measure one, such as `--journal-limit 1000`)."""
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
                                  "--fixtures", str(fixtures), *extra], env=env)
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
    parser.add_argument("--floor", action="store_true",
                        help="serve the floor app (see above) instead of the mock")
    parser.add_argument("serve_args", nargs="*", metavar="-- FLAG",
                        help="after `--`: more flags for `mockidm serve`, to measure one "
                             "(e.g. -- --journal-limit 1000)")
    args = parser.parse_args(argv)
    if args.serve_args and (args.trivial or args.floor):
        parser.error("flags after -- are for `mockidm serve`: not with --trivial or --floor")
    if not (args.trivial or args.floor):
        return serve_mock(args.port, args.instances, args.serve_args)
    if args.floor:
        app = floor_app(args.instances)
        gc.freeze()  # as `mockidm serve` settles its collector
        gc.set_threshold(50_000, 20, 100)
    else:
        app = trivial_app(args.trivial_body_bytes)
    web.run_app(app, host=HOST, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
