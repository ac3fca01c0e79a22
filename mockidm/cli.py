"""The `mockidm` command."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from .contract import cli as contract_cli
from .engine import DefinitionError
from .facade import MockIDM
from .http.admin import PREFIX as ADMIN_PREFIX
from .http.admin import add_admin_routes
from .profile import PROFILES

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'
TOKEN_ENV = "MOCKIDM_ADMIN_TOKEN"
DEFAULT_JOURNAL_LIMIT = 10_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockidm",
        description="A mock of the PingIDM workflow REST API, and a kit to check real servers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run the mock server",
        description="Serve the workflow API under /openidm with the built-in sample "
                    f"definitions, and the admin API under {ADMIN_PREFIX}/ (see "
                    "admin-openapi.yaml; mockidm.AdminClient is its client). Stops cleanly on "
                    "Ctrl-C and SIGTERM.",
        epilog="The admin API can reset and rewrite the whole mock. Without a token it is open "
               "to whoever reaches the port, so a server bound to anything but loopback "
               "(127.0.0.1, ::1, localhost) refuses to start unless it has --admin-token or "
               "--no-admin.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else is reachable "
                            "from other machines and needs --admin-token or --no-admin)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--profile", choices=sorted(PROFILES), default="8.1",
                       help="IDM release to imitate where releases differ (default 8.1)")
    serve.add_argument("--workflow-dir", metavar="DIR", type=Path,
                       help="deploy every BPMN file (*.bpmn20.xml, *.bpmn) and archive (*.bar, "
                            "*.zip) in DIR at start, in file-name order, as IDM deploys its "
                            "workflow directory; the built-in samples are then not deployed")
    serve.add_argument("--no-samples", action="store_true",
                       help="start with no process definitions deployed")
    serve.add_argument("--fixtures", metavar="FILE", type=Path,
                       help="apply this fixture scenario (mockidm.scenario) at start, after the "
                            "definitions are deployed")
    serve.add_argument("--admin-token", metavar="TOKEN", default=os.environ.get(TOKEN_ENV) or None,
                       help=f"require `Authorization: Bearer TOKEN` on every {ADMIN_PREFIX}/ "
                            f"request (default: ${TOKEN_ENV}, which keeps the token out of "
                            "the process list); without a token the admin API is open, which "
                            "only a loopback address allows")
    serve.add_argument("--no-admin", action="store_true",
                       help=f"serve no admin API: {ADMIN_PREFIX}/ is then an unknown path")
    serve.add_argument("--journal-limit", metavar="N", type=int, default=DEFAULT_JOURNAL_LIMIT,
                       help="keep the last N requests in the journal (default "
                            f"{DEFAULT_JOURNAL_LIMIT}; 0 keeps them all)")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    contract_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "contract":
        return contract_cli.run(args)
    return 2


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _refuse(message: str) -> int:
    print(f"mockidm serve: error: {message}", file=sys.stderr, flush=True)
    return 2


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log = logging.getLogger("mockidm")
    token = None if args.no_admin else args.admin_token
    loopback = is_loopback(args.host)
    # Checked before anything else: a refusal is immediate and costs nothing.
    if token is not None and not token.strip():
        return _refuse("the admin token is empty")
    if not loopback and not args.no_admin and token is None:
        return _refuse(
            f"refusing to serve the admin API on {args.host} without a token: anyone who "
            f"reaches the port could reset or rewrite the mock. Pass --admin-token TOKEN (or "
            f"set {TOKEN_ENV}), use --no-admin, or bind to 127.0.0.1.")
    if args.journal_limit < 0:
        return _refuse("--journal-limit must be 0 or more")
    mock = MockIDM(args.profile, journal_limit=args.journal_limit or None)
    try:
        if args.workflow_dir is not None:
            deployed = mock.deploy_folder(args.workflow_dir)
        else:
            deployed = [] if args.no_samples else mock.deploy_samples()
    except (OSError, DefinitionError) as exc:
        log.error("cannot deploy: %s", exc)
        return 2
    log.info("deployed %s", ", ".join(d.id for d in deployed) or "nothing")
    if args.fixtures is not None:
        error = _apply_fixtures(mock, args.fixtures)
        if error is not None:
            log.error("cannot apply the fixtures %s: %s", args.fixtures, error)
            return 2
        log.info("applied the fixtures %s", args.fixtures)
    mock.keep_as_initial()  # the admin API's reset returns here, not to an empty mock
    if not loopback:
        log.warning(
            "listening on %s: the mock is reachable from other machines", args.host)
    app = mock.app()
    if args.no_admin:
        log.info("no admin API")
    else:
        add_admin_routes(app, mock, token=token)
        log.info("admin API under %s/ %s", ADMIN_PREFIX,
                 "(bearer token required)" if token else "(open: loopback only, no token)")
    # web.run_app handles SIGINT and SIGTERM: it stops accepting, lets requests finish, exits.
    web.run_app(app, host=args.host, port=args.port, print=_ready(args),
                access_log=None if args.quiet else logging.getLogger("aiohttp.access"),
                access_log_format=ACCESS_LOG_FORMAT)
    return 0


def _apply_fixtures(mock: MockIDM, path: Path) -> str | None:
    """Apply a scenario file; the reason it failed, if it did."""
    from .scenario import ScenarioError, parse_scenario

    try:
        parse_scenario(path).apply(mock)
    except (OSError, ScenarioError, DefinitionError) as exc:
        return str(exc)
    return None


def _ready(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    def say(_: str) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        admin = "" if args.no_admin else f", admin API at http://{host}:{args.port}{ADMIN_PREFIX}/"
        print(f"mockidm {args.profile} serving http://{host}:{args.port}/openidm{admin} "
              "(Ctrl-C to stop)", flush=True)
    return say


if __name__ == "__main__":
    sys.exit(main())
