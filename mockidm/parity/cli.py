"""The `mockidm record` and `mockidm compare` sub-commands: their flags, and the calls they make.
What they run is imported only when they run, so that `mockidm serve` pays nothing for them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RECORD_DESCRIPTION = (
    "A reverse proxy in front of a real IDM: point your client at it instead of IDM (only the "
    "scheme, host and port of its base URL change). Every request goes upstream unchanged and "
    "every answer comes back unchanged, and each exchange is appended to a HAR 1.2 file as "
    "it ends. Passwords, tokens, cookies and the Authorization header are redacted in the "
    "file unless --keep-secrets. Stops cleanly on Ctrl-C and SIGTERM; a recorder killed "
    "harder leaves a file that mockidm compare still reads.")
COMPARE_DESCRIPTION = (
    "Replay a recording, in order, against a fresh mock seeded as you say, and compare each "
    "answer with the recorded one: server-assigned ids are learned and mapped, values that "
    "legitimately differ are normalised (rules: docs/parity.md). Exit 0: no difference; 1: "
    "differences; 2: the run could not be made.")


def add_parsers(commands: Any, port: Any, profiles: list[str]) -> None:
    record = commands.add_parser("record", help="record a real IDM's traffic to a HAR file",
                                 description=RECORD_DESCRIPTION)
    record.add_argument("--upstream", required=True, metavar="URL",
                        help="the IDM to forward to (e.g. https://idm.example.com:8443/openidm; "
                             "its path is the one your client already uses, kept as sent)")
    record.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    record.add_argument("--port", type=port, default=8081,
                        help="port to listen on (default 8081; 0: a free port, which the "
                             "ready line names)")
    record.add_argument("--out", required=True, metavar="FILE.har", type=Path,
                        help="the HAR file to write (never overwritten: it must not exist)")
    record.add_argument("--keep-secrets", action="store_true",
                        help="write passwords, tokens and cookies as sent (the file is then a "
                             "secret itself)")
    compare = commands.add_parser("compare", help="replay a HAR recording against the mock "
                                                  "and report every difference",
                                  description=COMPARE_DESCRIPTION)
    compare.add_argument("har", metavar="FILE.har", type=Path, help="the recording")
    compare.add_argument("--workflow-dir", metavar="DIR", type=Path,
                         help="deploy these BPMN files and archives (as mockidm serve does); "
                              "default: the built-in samples")
    compare.add_argument("--fixtures", metavar="FILE", type=Path,
                         help="apply this scenario file first (users, instances, tokens...)")
    compare.add_argument("--profile", choices=profiles, default="8.1",
                         help="IDM release the mock imitates (default 8.1)")
    compare.add_argument("--rules", metavar="FILE", type=Path, action="append", default=[],
                         help="more normalisation rules (JSON or YAML; repeatable)")
    compare.add_argument("--html", metavar="FILE", type=Path, help="write an HTML report")
    compare.add_argument("--junit", metavar="FILE", type=Path,
                         help="write JUnit XML (one testcase per exchange)")
    compare.add_argument("--json", metavar="FILE", type=Path, help="write a JSON report")
    compare.add_argument("--quiet", action="store_true", help="no progress, only the summary")


def record(args: argparse.Namespace) -> int:
    from .record import run

    parts = urlsplit(args.upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _refuse("record", f"--upstream must be an http(s) URL, not {args.upstream!r}")
    if args.out.exists():
        return _refuse("record", f"{args.out} exists: not overwriting a recording")
    if not args.out.parent.is_dir():
        return _refuse("record", f"{args.out.parent} is not a directory")

    from ..cli import is_loopback

    if not is_loopback(args.host):
        print(f"mockidm record: warning: listening on {args.host}: whoever reaches the port "
              f"reaches {args.upstream} through it, and is recorded", file=sys.stderr,
              flush=True)

    def ready(port: int) -> None:
        secrets = "kept as sent" if args.keep_secrets else "redacted"
        print(f"mockidm record: forwarding http://{args.host}:{port}{parts.path} to "
              f"{args.upstream}, recording to {args.out} (secrets {secrets}; Ctrl-C to stop)",
              flush=True)

    try:
        return run(args.upstream, args.out, host=args.host, port=args.port,
                   keep_secrets=args.keep_secrets, ready=ready)
    except FileExistsError:
        return _refuse("record", f"{args.out} exists: not overwriting a recording")
    except OSError as exc:
        return _refuse("record", f"cannot listen on {args.host}:{args.port}: "
                                 f"{exc.strerror or exc}")


def compare(args: argparse.Namespace) -> int:
    from .compare import run

    return run(args)


def _refuse(command: str, message: str) -> int:
    print(f"mockidm {command}: error: {message}", file=sys.stderr, flush=True)
    return 2
