"""Fuzz every operation of openapi.yaml with schemathesis, negative and positive data, against a
live `mockidm serve`; then read the server's log for unhandled exceptions.

    python benchmarks/fuzz.py                     # 1,000 examples per operation and mode
    python benchmarks/fuzz.py --examples 200 --mode negative --seed 1
    python benchmarks/fuzz.py --url http://127.0.0.1:8080   # a server already running

The configuration is the contract test's (tests/contract/test_schemathesis.py: its CONFIG and
its `mend` of positive cases), so a failure here is one there, found with more examples: no
undocumented status, no 5xx but the documented ones, valid requests accepted, invalid ones
refused, every answer as the spec describes. Each mode is a run of its own, so that each
operation gets `--examples` NEGATIVE examples in the fuzzing phase (in one mixed run
hypothesis draws far fewer negative ones than positive), plus the examples and coverage
phases' cases.

The server is `mockidm serve --no-admin` (its built-in samples, which have the definition ids
the contract test's `mend` uses) in a child process whose log records of level ERROR and
above, and any with a traceback, go to a file: an exception in it is a failure, except
aiohttp's parser refusing a malformed request (a clean 400, counted apart).

Prints per operation the number of examples run in each mode (all phases; the fuzzing phase's
share in brackets) and the failures; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
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
PARSER_ERRORS = "parser"  # aiohttp refusing a malformed request: answered 400, not a bug


# --- the server's side: `mockidm serve` with its errors written to a file ----------------------

class _ErrorFile(logging.Handler):
    """One JSON line per record of level ERROR and above, or with a traceback."""

    def __init__(self, path: str) -> None:
        super().__init__(logging.DEBUG)
        self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and record.levelno < logging.ERROR:
            return
        # aiohttp logs a request its parser refused as an error, once it has answered 400.
        parser = isinstance(exc, HttpProcessingError) or (
            exc is None and record.name.startswith("aiohttp.server")
            and "BadHttpMessage" in record.getMessage())
        self.file.write(json.dumps({
            "logger": record.name, "level": record.levelname, "message": record.getMessage(),
            "exception": None if exc is None else f"{type(exc).__name__}: {exc}",
            "traceback": self.format(record) if record.exc_info else None,
            "kind": PARSER_ERRORS if parser else "unhandled"}) + "\n")


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

    def stop(self) -> list[dict[str, Any]]:
        """Stop it (SIGTERM); the error records of its log."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        records = []
        if self.errors.exists():
            records = [json.loads(line) for line in self.errors.read_text().splitlines()]
        if self.process.returncode != 0:
            records.append({"kind": "unhandled", "logger": "-", "level": "-", "exception": None,
                            "traceback": None, "message": f"the server exited "
                            f"{self.process.returncode}: {self.log.read_text()[-2000:]}"})
        self.directory.cleanup()
        return records


# --- the fuzzer's side -----------------------------------------------------------------------

def _contract() -> Any:
    """The contract test's module: its CONFIG, mend, SPEC and CREDENTIALS."""
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "contract")]
    import test_schemathesis

    return test_schemathesis


def fuzz(base_url: str, examples: int, modes: list[str], seed: int
         ) -> tuple[dict[str, collections.Counter[str]], dict[str, list[str]], int]:
    """Run the engine once per mode; examples run per operation (by "mode" and "mode/phase"),
    failures per operation, and the number of failing checks."""
    import schemathesis
    from schemathesis.config import OperationConfig
    from schemathesis.engine import Status, events, from_schema

    contract = _contract()
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failures: dict[str, list[str]] = collections.defaultdict(list)
    failed_checks = 0

    def operation_id(case: Any) -> str:
        return str(case.operation.definition.raw.get("operationId", case.operation.label))

    generated: dict[int, str] = {}  # id(case) -> its mode as generated, before `mend`

    def mode_of(case: Any) -> str:
        return case.meta.generation.mode.value if case.meta else "positive"

    @schemathesis.hook
    def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
        generated[id(case)] = mode_of(case)
        # As the contract test does before each call. It drops `_fields` and `_mimeType` from
        # every case (a negative case the mock rightly accepts would answer a partial object),
        # which makes valid a negative case whose one fault was there: schemathesis then
        # counts it positive, and so does the table ("sent").
        contract.mend(case)

    @schemathesis.hook
    def after_call(ctx: Any, case: Any, response: Any) -> None:
        mode = generated.pop(id(case), mode_of(case))
        phase = case.meta.phase.name.value if case.meta else "examples"
        counts[operation_id(case)][mode] += 1
        counts[operation_id(case)][f"{mode}/{phase}"] += 1
        counts[operation_id(case)][f"{mode}/sent as {mode_of(case)}"] += 1

    config = contract.CONFIG
    # A long run starts instances of the definitions it also deletes: IDM then refuses the
    # delete with its documented 409 (the contract test deletes before it creates).
    config.projects.default.operations.operations.append(OperationConfig.from_dict({
        "include-operation-id": "deleteProcessDefinition",
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409"]}}}))
    project = config.projects.override
    project.update(base_url=base_url, headers=dict(contract.CREDENTIALS),
                   continue_on_failure=True)
    project.phases.update(phases=["examples", "coverage", "fuzzing"])
    config.update(seed=seed, max_failures=None)
    labels: dict[str, str] = {}
    for mode in modes:
        project.generation.update(modes=[mode], max_examples=examples, database="none")
        schema = schemathesis.openapi.from_path(contract.SPEC, config=config)
        for result in schema.get_all_operations():
            operation = result.ok()
            labels[operation.label] = operation.definition.raw.get("operationId",
                                                                   operation.label)
        started = time.monotonic()
        print(f"{mode}: fuzzing {len(labels)} operations, {examples} examples each ...",
              flush=True)
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                op = labels.get(event.recorder.label, event.recorder.label)
                for checks in event.recorder.checks.values():
                    for check in checks:
                        if check.status != Status.FAILURE or check.failure_info is None:
                            continue
                        failed_checks += 1
                        failure = check.failure_info.failure
                        line = (f"[{mode}] {check.name}: {failure.title}"
                                f"{': ' + failure.message if failure.message else ''}"
                                f"\n      {check.failure_info.code_sample}")
                        if line not in failures[op]:
                            failures[op].append(line)
            elif isinstance(event, events.NonFatalError):
                op = labels.get(event.label, event.label)
                failed_checks += 1
                failures[op].append(f"[{mode}] error: {event.info.title}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                failed_checks += 1
                failures["(engine)"].append(f"[{mode}] fatal: {event.exception!r}")
        print(f"{mode}: done in {time.monotonic() - started:.0f} s", flush=True)
    for op in labels.values():
        counts.setdefault(op, collections.Counter())
    return counts, failures, failed_checks


def report(counts: dict[str, collections.Counter[str]], failures: dict[str, list[str]],
           modes: list[str]) -> None:
    """Per operation and mode: cases run in all phases, those of the fuzzing phase, and for
    negative ones how many were still invalid once mended; then the failures."""
    columns = [(f"{mode} (fuzzing)", mode) for mode in modes]
    if "negative" in modes:
        columns.append(("still negative when sent", "negative/sent as negative"))
    print("\n" + f"{'operation':<30}" + "".join(f"{title:>26}" for title, _ in columns)
          + f"{'failures':>10}")
    totals: collections.Counter[str] = collections.Counter()

    def cell(op: str, key: str) -> str:
        if key in modes:
            return f"{counts[op][key]} ({counts[op][key + '/fuzzing']})"
        return str(counts[op][key])

    for op in sorted(counts):
        for counter_key in list(counts[op]):
            totals[counter_key] += counts[op][counter_key]
        print(f"{op:<30}" + "".join(f"{cell(op, key):>26}" for _, key in columns)
              + f"{len(failures.get(op, [])):>10}")
    counts["total"] = totals
    print(f"{'total':<30}" + "".join(f"{cell('total', key):>26}" for _, key in columns)
          + f"{sum(len(f) for f in failures.values()):>10}")
    del counts["total"]
    fewest = {mode: min(counts[op][mode + "/fuzzing"] for op in counts) for mode in modes}
    print("fewest fuzzing-phase cases of one operation: "
          + ", ".join(f"{m} {n}" for m, n in fewest.items()))
    for op, lines in sorted(failures.items()):
        print(f"\n{op}: {len(lines)} failure(s)")
        for line in lines[:10]:
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, metavar="N",
                        help="examples per operation in the fuzzing phase, in each mode "
                             "(default 1000)")
    parser.add_argument("--mode", choices=["both", "negative", "positive"], default="both",
                        help="negative data, positive data, or both one after the other "
                             "(default)")
    parser.add_argument("--seed", type=int, help="hypothesis seed, for a run to repeat")
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
    started = time.monotonic()
    try:
        counts, failures, failed = fuzz(args.url or server.url,  # type: ignore[union-attr]
                                        args.examples, modes, seed)
    finally:
        records = server.stop() if server is not None else []
    report(counts, failures, modes)
    unhandled = [r for r in records if r["kind"] != PARSER_ERRORS]
    parser_refusals = len(records) - len(unhandled)
    if server is not None:
        print(f"\nserver log: {len(unhandled)} unhandled exception(s) or error(s); "
              f"{parser_refusals} request(s) refused by aiohttp's parser (400)")
        for record in unhandled[:20]:
            print(f"  {record['level']} {record['logger']}: {record['message']}"
                  + (f"\n{record['traceback']}" if record["traceback"] else ""))
    print(f"\n{time.monotonic() - started:.0f} s; {failed} failing check(s)")
    return 1 if failed or unhandled else 0


if __name__ == "__main__":
    sys.exit(main())
