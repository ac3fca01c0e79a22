"""Fuzz every operation of openapi.yaml with schemathesis, negative and positive data, against a
live `mockidm serve`, and read the server's log for unhandled exceptions.

    python benchmarks/fuzz.py                     # 1,000 examples per operation and mode
    python benchmarks/fuzz.py --examples 200 --mode negative --seed 1
    python benchmarks/fuzz.py --url http://127.0.0.1:8080   # a server already running

It is the contract test's run (tests/contract/test_schemathesis.py, which runs 100 per operation
in CI) with more examples: the same configuration and `mend` of positive cases, the same engine
driver (tests/contract/fuzzing.py, which says what counts). So: no undocumented status, no 5xx
but the documented ones, valid requests accepted, invalid ones refused, every answer as the spec
describes, nothing of level ERROR or with a traceback in the server's log.

Each mode is a run of its own. The negative one runs the coverage phase, then fuzzing rounds
until every operation has had `--examples` DISTINCT invalid requests: hypothesis repeats the
simplest invalid request of an operation many times, and where schemathesis cannot make a
parameter invalid (a free string in a query) part of its cases come out valid, so an operation
takes more examples than that. The positive run has the examples and coverage phases and
`--examples` fuzzing examples per operation. The fuzzing phase generates path parameters
rather than take ids from earlier answers, as the coverage phase does (`--feedback` takes them
there too: operations on the few ids seen then run out of new cases after some 10-30).

The server is `mockidm serve --no-admin` (its built-in samples, which have the definition ids
the contract test's `mend` uses) in a child process whose failure records go to a file, read
after every request: a record is blamed on the request before it. aiohttp's parser refusing a
malformed request (a clean 400) is counted apart.

Prints per operation the distinct invalid requests (coverage + fuzzing phase), the requests of
each run, and the failures; exit 1 on any failure, or any operation short of its examples.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "contract")]
from fuzzing import Fuzzer, describe, format_record  # noqa: E402 (the contract test's driver)

# --- the server's side: `mockidm serve` with its failure records written to a file -----------

class _ErrorFile(logging.Handler):
    """One JSON line per failure record (see `fuzzing.describe`)."""

    def __init__(self, path: str) -> None:
        super().__init__(logging.DEBUG)
        self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        described = describe(record)
        if described is not None:  # written before the answer goes out: read after it
            self.file.write(json.dumps(described) + "\n")


def _serve(port: int, errors: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().addHandler(_ErrorFile(errors))
    from mockidm.cli import main

    return main(["serve", "--port", str(port), "--no-admin", "--quiet"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`mockidm serve` in a child process, its log in a temporary directory."""

    def __init__(self) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="mockidm-fuzz-")
        self.errors = Path(self.directory.name) / "errors.jsonl"
        self.log = Path(self.directory.name) / "server.log"
        self.port = _free_port()
        self._read = 0  # how far `new_errors` has read the file
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        environment.pop("MOCKIDM_ADMIN_TOKEN", None)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(self.port), str(self.errors)],
                cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited {self.process.returncode}:\n"
                                 + self.log.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.process.kill()
                    raise SystemExit("the server did not start listening") from None
                time.sleep(0.05)

    def new_errors(self) -> list[dict[str, Any]]:
        """The failure records written since the last call."""
        if not self.errors.exists():
            return []
        with self.errors.open("rb") as file:
            file.seek(self._read)
            data = file.read()
        complete = data[:data.rfind(b"\n") + 1]  # a line still being written waits
        self._read += len(complete)
        return [json.loads(line) for line in complete.decode().splitlines()]

    def stop(self) -> list[dict[str, Any]]:
        """Stop it (SIGTERM); the failure records of its log not read yet."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        records = self.new_errors()
        if self.process.returncode != 0:
            records.append({"parser": False, "logger": "-", "level": "-", "exception": None,
                            "traceback": None, "message": f"the server exited "
                            f"{self.process.returncode}: {self.log.read_text()[-2000:]}"})
        self.directory.cleanup()
        return records


# --- the fuzzer's side -----------------------------------------------------------------------

def _contract() -> Any:
    """The contract test's module: its SETTINGS, mend, SPEC, CREDENTIALS and OPERATIONS."""
    import test_schemathesis

    return test_schemathesis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, metavar="N",
                        help="distinct invalid requests per operation, and fuzzing examples of "
                             "valid data (default 1000)")
    parser.add_argument("--mode", choices=["both", "negative", "positive"], default="both",
                        help="negative data, positive data, or both one after the other "
                             "(default)")
    parser.add_argument("--seed", type=int, help="hypothesis seed, for a run to repeat")
    parser.add_argument("--rounds", type=int, default=6,
                        help="fuzzing rounds at most for an operation short of its invalid "
                             "requests (default 6)")
    parser.add_argument("--feedback", action="store_true",
                        help="fill path parameters with ids from earlier answers too (real "
                             "ids, but operations on them run out of new cases early)")
    parser.add_argument("--url", help="fuzz a server already running at this origin (its log "
                                      "is not read)")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "ERRORS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(int(args.serve[0]), args.serve[1])
    modes = ["negative", "positive"] if args.mode == "both" else [args.mode]
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    print(f"seed {seed} (--seed {seed} repeats this run)", flush=True)
    server = None if args.url else Server()
    contract = _contract()
    started = time.monotonic()
    try:
        fuzzer = Fuzzer(contract.SETTINGS, contract.SPEC,
                        base_url=server.url if server else args.url,
                        headers=contract.CREDENTIALS, mend=contract.mend, seed=seed,
                        errors=server.new_errors if server else None, feedback=args.feedback,
                        only=contract.OPERATIONS,
                        progress=lambda line: print(line, flush=True))
        for mode in modes:
            began = time.monotonic()
            print(f"{mode}: {args.examples} per operation ...", flush=True)
            fuzzer.run(mode, args.examples, rounds=args.rounds)
            print(f"{mode}: done in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        records = server.stop() if server is not None else []
    print("\n" + fuzzer.table())
    short = [op for op, tally in fuzzer.results["negative"].items()
             if len(tally.negative) < args.examples]
    if short:
        print(f"\nshort of {args.examples} distinct invalid requests: "
              + ", ".join(f"{op} ({len(fuzzer.results['negative'][op].negative)}, "
                          f"{fuzzer.results['negative'][op].fuzzed} new of "
                          f"{fuzzer.results['negative'][op].drawn} examples per round)"
                          for op in short))
    for mode in modes:
        for op, tally in fuzzer.results[mode].items():
            if tally.failures:
                print(f"\n{op} [{mode}]: {len(tally.failures)} failure(s)")
                for line in tally.failures[:10]:
                    print("  " + line)
    unhandled = [*fuzzer.unattributed, *(format_record(r) for r in records if not r["parser"])]
    if server is not None:
        refusals = fuzzer.parser_refusals + sum(1 for r in records if r["parser"])
        print(f"\nserver log: {len(unhandled)} record(s) no request is blamed for; "
              f"{refusals} request(s) refused by aiohttp's parser (400)")
        for line in unhandled[:20]:
            print("  " + line)
    failed = fuzzer.failures() - len(fuzzer.unattributed)
    print(f"\n{time.monotonic() - started:.0f} s; {failed} failure(s)")
    return 1 if failed or unhandled or short else 0


if __name__ == "__main__":
    sys.exit(main())
