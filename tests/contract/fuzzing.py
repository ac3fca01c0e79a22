"""schemathesis' engine (what its CLI runs) over openapi.yaml with the contract test's
configuration, counting what it really sends.

Shared by the contract test (tests/contract/test_schemathesis.py: 100 examples per operation and
mode, in CI) and by benchmarks/fuzz.py (1,000 and more).

What counts as a negative example: a request that schemathesis generated as negative (coverage
or fuzzing phase) and that was still invalid when it was sent. The contract test's `mend` runs
before each call, and schemathesis re-checks a case after such a hook, so a case whose only fault
`mend` removed counts as positive. Negative examples are counted once per distinct request
(method, URL, headers, body): hypothesis draws the simplest invalid request of an operation
(often `Accept-API-Version: ""` and nothing else) dozens of times per hundred.

Where schemathesis cannot make part of an operation invalid (a free string in a query), its
negative runs waste draws on requests that come out valid or repeat; `run(..., target=N)` then
tops each operation up, with more examples and another seed, until it has N distinct negative
requests or the rounds are spent. The server's log is read after every request: a record of
level ERROR or with a traceback is a failure of the operation whose request it followed.
"""

from __future__ import annotations

import collections
import copy
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("negative", "positive")
# mockidm's filter on aiohttp's connection logger puts this in place of a malformed request's
# bytes (mockidm/http/transport.py): aiohttp's parser refused the request with a 400, not a bug.
PARSER_REFUSAL = "the request's bytes are not logged"


def describe(record: logging.LogRecord) -> dict[str, Any] | None:
    """A record that reports a failure (level ERROR and above, or any with a traceback) as a
    dict; None for any other record. `parser` marks aiohttp refusing a malformed request."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None and record.levelno < logging.ERROR:
        return None
    from aiohttp.http_exceptions import HttpProcessingError

    message = record.getMessage()
    return {
        "logger": record.name, "level": record.levelname, "message": message,
        "exception": None if exc is None else f"{type(exc).__name__}: {exc}",
        "traceback": (logging.Formatter().formatException(record.exc_info)
                      if record.exc_info else None),
        "parser": record.name.startswith("aiohttp.server") and (
            isinstance(exc, HttpProcessingError) or PARSER_REFUSAL in message)}


def format_record(record: dict[str, Any]) -> str:
    return (f"{record['level']} {record['logger']}: {record['message']}"
            + (f"\n{record['traceback']}" if record["traceback"] else ""))


class ErrorLog(logging.Handler):
    """The failure records of an in-process server, kept until `take` hands them over."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        described = describe(record)
        if described is not None:
            self._records.append(described)

    def take(self) -> list[dict[str, Any]]:
        self.acquire()  # emit runs in the server's thread
        try:
            records, self._records = self._records, []
        finally:
            self.release()
        return records


@dataclass
class Tally:
    """What one operation was sent, and what went wrong."""

    sent: collections.Counter[str] = field(default_factory=collections.Counter)  # "mode/phase"
    negative: set[int] = field(default_factory=set)  # distinct negative requests
    negative_by_phase: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    drawn: list[int] = field(default_factory=list)  # fuzzing examples asked for, per round
    fuzzed: list[int] = field(default_factory=list)  # new distinct negative ones, per round

    def count(self, mode: str) -> int:
        return sum(n for key, n in self.sent.items() if key.startswith(mode + "/"))


class Fuzzer:
    """Runs the engine against `base_url` with `config` (the contract test's, as a dict);
    `mend` edits each case before it is sent; `errors` returns the server's failure records
    that arrived since it was last called (None: the log is not read); `only` names the
    operations to run (default: all); `progress` gets a line per round."""

    def __init__(self, config: dict[str, Any], spec: Path, *, base_url: str,
                 headers: dict[str, str], mend: Callable[[Any], None], seed: int,
                 errors: Callable[[], list[dict[str, Any]]] | None = None,
                 feedback: bool = False, only: Iterable[str] = (),
                 progress: Callable[[str], None] | None = None) -> None:
        import schemathesis

        self.config, self.spec, self.base_url, self.headers = config, spec, base_url, headers
        self.mend, self.seed, self.errors, self.feedback = mend, seed, errors, feedback
        self.progress = progress or (lambda line: None)
        schema = schemathesis.openapi.from_path(spec, config=schemathesis.Config.from_dict(config))
        self.labels = {op.label: op.definition.raw["operationId"]
                       for op in (result.ok() for result in schema.get_all_operations())}
        self.operations = sorted(only) or sorted(self.labels.values())  # those to run, by id
        self.results: dict[str, dict[str, Tally]] = {mode: {} for mode in MODES}
        self.parser_refusals = 0
        self.unattributed: list[str] = []  # log records no request can be blamed for
        self._last: tuple[Tally, Any, int] | None = None  # the last case sent, its status

    def run(self, mode: str, examples: int, *, rounds: int = 5) -> None:
        """A positive run: the examples and coverage phases, and `examples` fuzzing examples
        per operation. A negative run: the coverage phase, then fuzzing rounds until each
        operation has `examples` distinct negative requests (or `rounds` are spent), each
        round sized on the operation's yield so far."""
        tallies = self.results[mode]
        for op in self.operations:
            tallies.setdefault(op, Tally())
        if mode == "positive":
            self._round(mode, ["examples", "coverage", "fuzzing"],
                        dict.fromkeys(self.operations, examples), self.seed)
            return
        self._round(mode, ["coverage"], dict.fromkeys(self.operations, 1), self.seed)
        for round_ in range(1, rounds + 1):
            short = {op: examples - len(t.negative) for op, t in tallies.items()
                     if len(t.negative) < examples}
            if not short:
                break
            budget = {}
            for op, missing in short.items():
                tally = tallies[op]
                # New distinct requests per example: 0.4-0.95 in a first round (hypothesis
                # repeats the simplest ones), less in later rounds, which start over with the
                # simplest. A round too small costs a round more (about a second), one too big
                # costs examples (some 20 ms each): the last round's yield, and a small margin.
                share = (tally.fuzzed[-1] / tally.drawn[-1]) if tally.drawn else 0.8
                budget[op] = min(20 * examples,
                                 max(10, math.ceil(missing / max(share, 0.05) * 1.05)))
            self.progress(f"  round {round_}: {len(budget)} operation(s) short, "
                          f"{sum(budget.values())} examples")
            self._round(mode, ["fuzzing"], budget, self.seed + round_)

    def _round(self, mode: str, phases: list[str], budget: dict[str, int], seed: int) -> None:
        import schemathesis
        from schemathesis.engine import from_schema
        from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

        document = copy.deepcopy(self.config)
        document.update({"base-url": self.base_url, "headers": dict(self.headers), "seed": seed,
                         "continue-on-failure": True, "suppress-health-check": ["all"]})
        # A repeated negative request is not sent again (the engine replays its outcome): it
        # would not count, and the calls are a good part of a long run's time.
        document.setdefault("generation", {}).update(
            {"mode": mode, "database": "none", "max-examples": max(budget.values()),
             "unique-inputs": mode == "negative"})
        document["phases"] = {name: {"enabled": name in phases}
                              for name in ("examples", "coverage", "fuzzing", "stateful")}
        # Ids taken from earlier answers narrow a path parameter to the few ids seen, and
        # hypothesis runs out of new cases for it after some 10-30.
        document["phases"]["fuzzing"]["extra-data-sources"] = {"responses": self.feedback}
        operations = document.setdefault("operations", [])
        operations.extend({"include-operation-id": op, "generation": {"max-examples": n}}
                          for op, n in budget.items())
        others = [op for op in self.labels.values() if op not in budget]
        if others:
            operations.append({"include-operation-id": others, "enabled": False})
        schema = schemathesis.openapi.from_path(
            self.spec, config=schemathesis.Config.from_dict(document))
        tallies = self.results[mode]

        def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
            self._blame(self._last)  # what the last request's checks made the server log
            self.mend(case)

        def after_call(ctx: Any, case: Any, response: Any) -> None:
            tally = tallies[self.labels[case.operation.label]]
            # `meta` is read after `mend` and the re-check that followed it: the mode as sent.
            sent_as = case.meta.generation.mode.value if case.meta else "positive"
            phase = case.meta.phase.name.value if case.meta else "examples"
            tally.sent[f"{sent_as}/{phase}"] += 1
            identity = hash(case)  # the request as sent, with a fixed test-case id header
            if sent_as == "negative" and identity not in tally.negative:
                tally.negative.add(identity)
                tally.negative_by_phase[phase] += 1
            self._last = (tally, case, response.status_code)
            self._blame(self._last)

        schemathesis.hook(before_call)
        schemathesis.hook(after_call)
        try:
            before = {op: tallies[op].negative_by_phase["fuzzing"] for op in budget}
            for event in from_schema(schema).execute():
                self._record(mode, event)
            self._blame(self._last)  # the last request's checks
            if phases == ["fuzzing"]:
                for op, n in budget.items():
                    tallies[op].drawn.append(n)
                    tallies[op].fuzzed.append(tallies[op].negative_by_phase["fuzzing"]
                                              - before[op])
        finally:
            GLOBAL_HOOK_DISPATCHER.unregister(before_call)
            GLOBAL_HOOK_DISPATCHER.unregister(after_call)

    def _blame(self, last: tuple[Tally, Any, int] | None) -> None:
        """The server's new failure records go to the operation of the request before them
        (the request itself, or a probe that a check of it sent)."""
        if self.errors is None:
            return
        for record in self.errors():
            if record["parser"]:
                self.parser_refusals += 1
            elif last is None:
                self.unattributed.append(format_record(record))
            else:
                tally, case, status = last
                curl = case.as_curl_command(headers=self.headers, base_url=self.base_url)
                tally.failures.append(
                    f"server log after {case.method} {case.formatted_path} -> {status}"
                    f"\n      {curl}\n    " + format_record(record).replace("\n", "\n    "))

    def _record(self, mode: str, event: Any) -> None:
        from schemathesis.engine import Status, events

        if isinstance(event, events.ScenarioFinished):
            op = self.labels.get(event.recorder.label, event.recorder.label)
            tally = self.results[mode].setdefault(op, Tally())
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    line = (f"[{mode}] {check.name}: {failure.title}"
                            f"{': ' + failure.message if failure.message else ''}"
                            f"\n      {check.failure_info.code_sample}")
                    if line not in tally.failures:
                        tally.failures.append(line)
        elif isinstance(event, events.NonFatalError):
            op = self.labels.get(event.label, event.label)
            self.results[mode].setdefault(op, Tally()).failures.append(
                f"[{mode}] error: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            self.unattributed.append(f"[{mode}] fatal: {event.exception!r}")

    def failures(self) -> int:
        return (sum(len(t.failures) for tallies in self.results.values()
                    for t in tallies.values()) + len(self.unattributed))

    def table(self) -> str:
        """Per operation: distinct negative requests (coverage + fuzzing phase); the negative
        run's fuzzing examples (all rounds, repeats included) and requests sent (those still
        invalid; valid ones); requests of the positive run (all phases; the fuzzing phase's);
        failures."""
        negative, positive = self.results["negative"], self.results["positive"]
        columns = ["operation".ljust(30)]
        if negative:
            columns += ["distinct negative (cov+fuzz)".rjust(30),
                        "examples".rjust(10), "sent: invalid/valid".rjust(21)]
        if positive:
            columns += ["positive run (fuzzing)".rjust(24)]
        lines = ["".join(columns) + "failures".rjust(10)]
        sums: collections.Counter[str] = collections.Counter()
        for op in self.operations:
            row = collections.Counter[str]()
            if negative:
                t = negative[op]
                row.update({"distinct": len(t.negative),
                            "coverage": t.negative_by_phase["coverage"],
                            "fuzzing": t.negative_by_phase["fuzzing"],
                            "examples": sum(t.drawn),
                            "invalid": t.count("negative"), "valid": t.count("positive")})
            if positive:
                t = positive[op]
                row.update({"positive": t.count("positive"),
                            "positive fuzzing": t.sent["positive/fuzzing"]})
            row["failures"] = sum(len(self.results[m][op].failures) for m in MODES
                                  if op in self.results[m])
            sums.update(row)
            lines.append(self._row(op, row, bool(negative), bool(positive)))
        lines.append(self._row("total", sums, bool(negative), bool(positive)))
        return "\n".join(lines)

    @staticmethod
    def _row(op: str, n: collections.Counter[str], negative: bool, positive: bool) -> str:
        row = op.ljust(30)
        if negative:
            row += f"{n['distinct']} ({n['coverage']}+{n['fuzzing']})".rjust(30)
            row += str(n["examples"]).rjust(10) + f"{n['invalid']}/{n['valid']}".rjust(21)
        if positive:
            row += f"{n['positive']} ({n['positive fuzzing']})".rjust(24)
        return row + str(n["failures"]).rjust(10)
