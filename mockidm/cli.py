"""The `mockidm` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from .engine import DefinitionError, Engine
from .http.app import create_app
from .profile import PROFILES
from .samples import deploy_samples

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockidm",
        description="A mock of the PingIDM workflow REST API, and a kit to check real servers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run the mock server",
        description="Serve the workflow API under /openidm with the built-in sample "
                    "definitions. Stops cleanly on Ctrl-C and SIGTERM.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else is reachable "
                            "from other machines)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--profile", choices=sorted(PROFILES), default="8.1",
                       help="IDM release to imitate where releases differ (default 8.1)")
    serve.add_argument("--workflow-dir", metavar="DIR", type=Path,
                       help="deploy every BPMN file (*.bpmn20.xml, *.bpmn) and archive (*.bar, "
                            "*.zip) in DIR at start, in file-name order, as IDM deploys its "
                            "workflow directory; the built-in samples are then not deployed")
    serve.add_argument("--no-samples", action="store_true",
                       help="start with no process definitions deployed")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log = logging.getLogger("mockidm")
    engine = Engine()
    try:
        if args.workflow_dir is not None:
            deployed = engine.deploy_folder(args.workflow_dir)
        else:
            deployed = [] if args.no_samples else deploy_samples(engine)
    except (OSError, DefinitionError) as exc:
        log.error("cannot deploy: %s", exc)
        return 2
    log.info("deployed %s", ", ".join(d.id for d in deployed) or "nothing")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "listening on %s: the mock is reachable from other machines", args.host)
    app = create_app(engine, profile=args.profile)
    # web.run_app handles SIGINT and SIGTERM: it stops accepting, lets requests finish, exits.
    web.run_app(app, host=args.host, port=args.port, print=_ready(args),
                access_log=None if args.quiet else logging.getLogger("aiohttp.access"),
                access_log_format=ACCESS_LOG_FORMAT)
    return 0


def _ready(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    def say(_: str) -> None:
        print(f"mockidm {args.profile} serving http://{args.host}:{args.port}/openidm "
              "(Ctrl-C to stop)", flush=True)
    return say


if __name__ == "__main__":
    sys.exit(main())
