"""The `mockidm` command."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import logging
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from .admin.server import PREFIX as ADMIN_PREFIX
from .admin.server import add_admin_routes
from .contract import cli as contract_cli
from .engine import DefinitionError, FolderRefused
from .facade import MockIDM
from .http.app import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY
from .parity import cli as parity_cli
from .persistence import StateFile, StateFileError
from .profile import PROFILES
from .ticker import add_ticker
from .ui import PREFIX as UI_PREFIX
from .ui import add_ui_routes

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'
TOKEN_ENV = "MOCKIDM_ADMIN_TOKEN"
DEFAULT_JOURNAL_LIMIT = 10_000
DEFAULT_JOURNAL_MAX_MB = 256


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockidm",
        description="A mock of the PingIDM workflow REST API, and a kit to check real servers.")
    parser.add_argument("--version", action=_Version, help="print mockidm's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run the mock server",
        description="Serve the workflow API under /openidm with the built-in sample "
                    f"definitions, and the admin API under {ADMIN_PREFIX}/ (see "
                    "admin-openapi.yaml; mockidm.AdminClient is its client), and the "
                    f"inspector's web pages under {ADMIN_PREFIX}/ui/, protected as the admin "
                    "API is. Stops cleanly on Ctrl-C and SIGTERM.",
        epilog="The admin API can reset and rewrite the whole mock. Without a token it is open "
               "to whoever reaches the port, so a server bound to anything but loopback "
               "(127.0.0.1, ::1, localhost) refuses to start unless it has --admin-token or "
               "--no-admin.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else is reachable "
                            "from other machines and needs --admin-token or --no-admin)")
    serve.add_argument("--port", type=port, default=8080,
                       help="port to listen on (default 8080; 0: a free port, which the "
                            "ready line names)")
    serve.add_argument("--profile", choices=sorted(PROFILES), default="8.1",
                       help="IDM release to imitate where releases differ (default 8.1)")
    serve.add_argument("--paging", choices=("on", "off"),
                       help="whether queries honour _pageSize, _pagedResultsOffset, "
                            "_pagedResultsCookie and _totalPagedResultsPolicy (default: as the "
                            "profile does: on for 8.1, off for 6.5, the task history only "
                            "for wren)")
    serve.add_argument("--workflow-dir", metavar="DIR", type=Path,
                       help="deploy every BPMN file (*.bpmn20.xml, *.bpmn) and archive (*.bar, "
                            "*.zip) in DIR at start, in file-name order, each on its own as IDM "
                            "deploys its workflow directory: a file the mock cannot deploy is "
                            "skipped with one log line (file, line, why) and listed by "
                            f"{ADMIN_PREFIX}/problems; the built-in samples are then not "
                            "deployed")
    serve.add_argument("--strict", action="store_true",
                       help="refuse to start (exit 2, one line per file) if a file of "
                            "--workflow-dir cannot be deployed, instead of skipping it")
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
                       help=f"serve no admin API and no inspector: {ADMIN_PREFIX}/ is then an "
                            "unknown path")
    serve.add_argument("--journal-limit", metavar="N", type=int, default=DEFAULT_JOURNAL_LIMIT,
                       help="keep the last N requests in the journal (default "
                            f"{DEFAULT_JOURNAL_LIMIT}; 0 keeps them all)")
    serve.add_argument("--journal-max-mb", metavar="MB", type=int, default=DEFAULT_JOURNAL_MAX_MB,
                       help="at most MB mebibytes of request and answer bodies in the journal; "
                            "the oldest requests go first (default "
                            f"{DEFAULT_JOURNAL_MAX_MB}; 0: no limit)")
    serve.add_argument("--state", metavar="FILE", type=Path,
                       help="keep the mock's state in FILE across restarts: load it at start "
                            "if it exists, save it at most once a second while it changes "
                            "and once more on shutdown. Each save writes a temporary file "
                            "beside FILE and renames it into place, so a crash (even kill -9) "
                            "never leaves a broken file and loses only the last second or so "
                            "(one second plus the save in progress, which takes longer as the "
                            "state grows: some 0.1 s per 2,000 instances). A "
                            "FILE that cannot be read or restored stops the server (exit 2) "
                            "and is left as it is. A restored state takes the place of "
                            "--workflow-dir, --no-samples and --fixtures, and the admin reset "
                            "still returns to the first start's state. Not kept: the journal, "
                            "sessions, scripted failures. FILE holds the users' passwords "
                            "(created mode 0600)")
    serve.add_argument("--max-body", metavar="BYTES", type=int, default=DEFAULT_MAX_BODY,
                       help=f"refuse larger request bodies with 413 (default {DEFAULT_MAX_BODY})")
    serve.add_argument("--body-timeout", metavar="SECONDS", type=float,
                       default=DEFAULT_BODY_TIMEOUT,
                       help="answer 408 to a request whose body takes longer to arrive "
                            f"(default {DEFAULT_BODY_TIMEOUT:g})")
    serve.add_argument("--shutdown-timeout", metavar="SECONDS", type=float, default=5.0,
                       help="on SIGTERM or Ctrl-C, let requests in flight finish for at most "
                            "this long, then exit (default 5)")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    contract_cli.add_parser(commands)
    parity_cli.add_parsers(commands, port, sorted(PROFILES))
    return parser


class _Version(argparse.Action):
    """argparse's `version` action, with the version looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        import mockidm

        print(f"mockidm {mockidm.__version__}")  # on stdout, as argparse prints a version
        parser.exit()


def port(text: str) -> int:
    """A TCP port number, for argparse (which names it in its error: "invalid port value")."""
    number = int(text)
    if not 0 <= number <= 65535:
        raise ValueError(text)
    return number


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "contract":
        return contract_cli.run(args)
    if args.command == "record":
        return parity_cli.record(args)
    if args.command == "compare":
        return parity_cli.compare(args)
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
    if args.journal_max_mb < 0:
        return _refuse("--journal-max-mb must be 0 or more")
    paging = None if args.paging is None else args.paging == "on"
    mock = MockIDM(args.profile, paging=paging, journal_limit=args.journal_limit or None,
                   journal_max_bytes=args.journal_max_mb * 1024 * 1024 or None)
    state_file, restored = None, False
    if args.state is not None:
        state_file = StateFile(args.state, mock)
        try:
            restored = state_file.load()
        except StateFileError as exc:
            return _refuse(str(exc))
        if restored:
            log.info("restored the state saved in %s: %s (next id %s)", state_file.path,
                     ", ".join(d.id for d in mock.definitions()) or "no definitions",
                     mock.engine.ids.next_value)
            ignored = [flag for flag, given in (("--workflow-dir", args.workflow_dir),
                                                ("--no-samples", args.no_samples),
                                                ("--fixtures", args.fixtures)) if given]
            if ignored:
                log.warning("%s not applied: the state file %s holds the state (remove it "
                            "to start afresh)", ", ".join(ignored), state_file.path)
    if not restored:
        error = startup_state(mock, args, log)
        if error:
            return error
        mock.keep_as_initial()  # the admin API's reset returns here, not to an empty mock
    if state_file is not None:
        try:
            state_file.start()
        except StateFileError as exc:
            return _refuse(str(exc))
        log.info("keeping the state in %s", state_file.path)
    if not loopback:
        log.warning(
            "listening on %s: the mock is reachable from other machines", args.host)
    app = mock.app(client_max_size=args.max_body, body_timeout=args.body_timeout)

    def fire_due_timers() -> None:  # with the real clock, timers fire on their own
        if mock.fire_due_timers() and state_file is not None:
            state_file.mark_changed()  # a change no request made: saved all the same

    add_ticker(app, fire_due_timers, lambda: mock.clock().frozen)
    if state_file is not None:
        state_file.install(app)
    if args.no_admin:
        log.info("no admin API")
    else:
        add_ui_routes(app, mock, token=token)  # first: the admin API's catch-all is under it
        add_admin_routes(app, mock, token=token)
        log.info("admin API under %s/, inspector under %s/ %s", ADMIN_PREFIX, UI_PREFIX,
                 "(bearer token required)" if token else "(open: loopback only, no token)")
    _settle_collector()
    ready = _Ready(args)
    try:
        # web.run_app handles SIGINT and SIGTERM: it stops accepting, lets requests finish,
        # exits.
        web.run_app(app, host=args.host, port=args.port, print=ready,
                    access_log=None if args.quiet else logging.getLogger("aiohttp.access"),
                    access_log_format=ACCESS_LOG_FORMAT, shutdown_timeout=args.shutdown_timeout)
    except OSError as exc:
        if ready.said:  # not a failure to listen: the server ran
            raise
        # asyncio words a failed bind at length; the system's message says it (a host that
        # does not resolve has no errno of the system's).
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror
        return _refuse(f"cannot listen on {_host(args.host)}:{args.port}: {reason or exc}")
    return 1 if state_file is not None and state_file.failed else 0


def _settle_collector() -> None:
    """The mock keeps every instance, task and journal entry in memory, and CPython's default
    collector walks them all again and again as they pile up (some 14 us a create). Objects
    alive after start-up are frozen out of its walks, and it runs less often: a request
    makes little cyclic garbage."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def startup_state(mock: MockIDM, args: argparse.Namespace, log: logging.Logger) -> int:
    """Deploy and apply the fixtures as the flags say; 2 if that failed, else 0."""
    try:
        if args.workflow_dir is not None:
            deployed = mock.deploy_folder(args.workflow_dir, strict=args.strict)
        else:
            deployed = [] if args.no_samples else mock.deploy_samples()
    except FolderRefused as exc:
        for skipped in exc.skipped:
            log.error("cannot deploy %s (--strict: not starting)", skipped.reason)
        return 2
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
    return 0


def _apply_fixtures(mock: MockIDM, path: Path) -> str | None:
    """Apply a scenario file; the reason it failed, if it did."""
    from .scenario import ScenarioError, parse_scenario

    try:
        parse_scenario(path).apply(mock)
    except (OSError, ScenarioError, DefinitionError) as exc:
        return str(exc)
    return None


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Ready:
    """aiohttp's `print` once it listens: the line that says where, with the port it bound
    (aiohttp's own line names it: with --port 0 the system chose it)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.said = False

    def __call__(self, listening: str) -> None:
        urls = re.findall(r"https?://\S+", listening)
        bound = (urlsplit(urls[0]).port if urls else None) or self.args.port
        base = f"http://{_host(self.args.host)}:{bound}"
        admin = ("" if self.args.no_admin else
                 f", admin API at {base}{ADMIN_PREFIX}/, inspector at {base}{UI_PREFIX}/")
        print(f"mockidm {self.args.profile} serving {base}/openidm{admin} (Ctrl-C to stop)",
              flush=True)
        self.said = True


if __name__ == "__main__":
    sys.exit(main())
