"""One benchmark server in its own process: the mock (with preloaded instances) or a trivial app.

    python benchmarks/serve.py --port 8123 --instances 1000
    python benchmarks/serve.py --port 8123 --trivial

Binds 127.0.0.1 only. The mock is preloaded through its engine before the port opens, with
RUNNING `contractorOnboarding` instances whose business keys are `bench-000000`, `bench-000001`...
"""

from __future__ import annotations

import argparse
import sys
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


def mock_app(instances: int) -> web.Application:
    # Imported here so that the trivial server does not pay for (or depend on) mockidm.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mockidm import Engine, create_app
    from mockidm.samples import deploy_samples

    engine = Engine()
    deploy_samples(engine)
    for index in range(instances):
        engine.start(key="contractorOnboarding", business_key=business_key(index),
                     variables={"contractorName": f"Contractor {index}"}, user="openidm-admin")
    return create_app(engine, profile="8.1", validate_responses=False)


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
    app = trivial_app(args.trivial_body_bytes) if args.trivial else mock_app(args.instances)
    web.run_app(app, host=HOST, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
