"""`mockidm contract`: check a running server (the mock or a real IDM) against the catalogue.

With `--har FILE`, no server: the recorded answers are judged (`passive.py`); exit 0 when
none breaks a rule, 1 when one does, 2 when the file cannot be read.

Exit codes: 0 every selected rule passed (or could not run here and was skipped), 1 a rule
failed, 2 the kit could not start (bad arguments, server unreachable, credentials refused),
130 interrupted (Ctrl-C; what the run started is deleted all the same).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_PASSWORD,
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    DEFAULT_USER,
    PASSWORD_ENV,
    PROFILES,
    TOKEN_ENV,
    URL_ENV,
    USER_ENV,
)

DESCRIPTION = (
    "Check that a PingIDM workflow server (mockidm serve, or a real IDM) honours the rules "
    "clients depend on. Each rule runs one scenario over HTTP; rules that start processes "
    "delete every instance they started at the end (--read-only runs none of them).")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `contract` sub-command to the `mockidm` command's sub-parsers."""
    parser = subparsers.add_parser("contract", help="check a server against the contract kit",
                                   description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=f"base URL of the server, with its context path (env "
                                      f"{URL_ENV}; default {DEFAULT_URL})")
    parser.add_argument("--user", help=f"user to authenticate as (env {USER_ENV}; default "
                                       f"{DEFAULT_USER})")
    parser.add_argument("--password", help=f"its password (env {PASSWORD_ENV}, better than "
                                           "the command line; default openidm-admin)")
    parser.add_argument("--token", help=f"authenticate with this access token instead, as "
                                        f"`Authorization: Bearer` (a platform deployment "
                                        f"behind PingAM; env {TOKEN_ENV}, better than the "
                                        f"command line); --user then names its subject")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="8.1",
                        help="IDM release whose behaviour to expect where releases differ "
                             "(default 8.1)")
    parser.add_argument("--rules", action="append", metavar="IDS",
                        help="rules to run: ids or globs, comma-separated, repeatable "
                             "(e.g. 'business-key-*,no-etag'; default all; see --list)")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, metavar="N",
                        help="examples per operation for the schema-driven checks "
                             f"(default {DEFAULT_MAX_EXAMPLES})")
    parser.add_argument("--read-only", action="store_true",
                        help="run only reads and negative checks: start, claim, complete "
                             "and delete nothing (for production servers)")
    parser.add_argument("--process-key", action="append", default=[], metavar="KEY",
                        help="start only processes with this key (repeatable; default any "
                             "deployed key)")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write the results as JUnit XML (one testcase per rule)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"per request (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the "
                                                            "summary")
    parser.add_argument("--har", metavar="FILE.har",
                        help="judge the answers recorded in this HAR file (mockidm record, a "
                             "browser, any proxy) instead of a server: each answer of an "
                             "operation of the spec against its schema in contracts/ and the "
                             "kit's shape rules (use --profile for the release recorded)")
    parser.add_argument("--list", action="store_true",
                        help="list the rules (id, writes or not, the docs page that "
                             "explains it, statement) and exit")


def run(args: argparse.Namespace) -> int:
    if args.har:
        return run_har(args)
    try:  # the kit's HTTP client is an optional dependency of mockidm (the `test` extra)
        from . import runner
        from .report import summary, write_junit_xml
        from .rules import UnknownRule, select
        from .target import Target
    except ImportError as exc:
        print(f"mockidm contract needs {exc.name}: pip install 'mockidm[test]'",
              file=sys.stderr)
        return 2
    patterns = [p for value in args.rules or () for p in value.split(",")]
    try:
        rules = select(patterns)
    except UnknownRule as exc:
        print(f"mockidm contract: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print(listing(rules))
        return 0
    target = Target(
        args.url or os.environ.get(URL_ENV) or DEFAULT_URL,
        args.user or os.environ.get(USER_ENV) or DEFAULT_USER,
        args.password or os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD,
        args.profile, read_only=args.read_only, max_examples=args.max_examples,
        process_keys=args.process_key, timeout=args.timeout,
        token=args.token or os.environ.get(TOKEN_ENV))
    try:
        runner.preflight(target)
    except runner.Unusable as exc:
        print(f"mockidm contract: {exc}", file=sys.stderr)
        return 2
    mode = ", read-only" if target.read_only else ""
    print(f"mockidm contract: {len(rules)} rules against {target.base_url} "
          f"(profile {target.expect.name}{mode}, run {target.run_id})", flush=True)
    try:
        report = runner.run(target, rules, progress=None if args.quiet else sys.stdout)
    except KeyboardInterrupt:  # the runner has cleaned up; no traceback for a Ctrl-C
        print("\nmockidm contract: interrupted", file=sys.stderr)
        return 130
    print()
    print(summary(report))
    if args.junit_xml:
        write_junit_xml(report, args.junit_xml)
        print(f"JUnit XML: {args.junit_xml}")
    return 0 if report.ok else 1


def run_har(args: argparse.Namespace) -> int:
    """The passive check: no server, the recorded answers judged."""
    try:
        from .har import HarError
        from .passive import check, junit_xml, summary
    except ImportError as exc:
        print(f"mockidm contract needs {exc.name}: pip install 'mockidm[test]'",
              file=sys.stderr)
        return 2
    try:
        verdict = check(args.har, PROFILES[args.profile])
    except HarError as exc:
        print(f"mockidm contract: {exc}", file=sys.stderr)
        return 2
    if not verdict.judgements:
        print(f"mockidm contract: {args.har} holds no exchange", file=sys.stderr)
        return 2
    print(summary(verdict))
    if args.junit_xml:
        Path(args.junit_xml).write_text(junit_xml(verdict), encoding="utf-8")
        print(f"JUnit XML: {args.junit_xml}")
    return 0 if verdict.ok else 1


def listing(rules: list[Any]) -> str:
    width = max(len(r.id) for r in rules)
    return "\n".join(f"{r.id:<{width}}  {'writes' if r.writes else 'reads ':<6}  "
                     f"{r.statement}\n{'':<{width}}  {'':<6}  see {r.section}" for r in rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mockidm contract", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
