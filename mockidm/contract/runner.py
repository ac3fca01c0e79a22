"""Running rules against a target: one at a time, with a progress line each, then cleanup."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

import requests

from .outcome import ERROR, FAILED, PASSED, SKIPPED, Result, RuleFailed, Skip
from .rules import Rule, select
from .target import CleanupReport, Target

_WORDS = {PASSED: "ok", FAILED: "FAILED", SKIPPED: "skipped", ERROR: "ERROR"}


@dataclass
class Report:
    url: str
    profile: str
    read_only: bool
    run_id: str
    results: list[Result] = field(default_factory=list)
    cleanup: CleanupReport = field(default_factory=CleanupReport)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """Every selected rule passed or could not run here (skipped)."""
        return not self.failed


class Unusable(Exception):
    """The server cannot be checked at all: unreachable, or it refuses the credentials."""


def preflight(target: Target) -> None:
    """One authenticated read, so that a wrong URL or password is one clear message and not
    every rule failing."""
    try:
        response = target.get("workflow/processdefinition", _queryId="query-all-ids")
    except requests.RequestException as exc:
        raise Unusable(f"cannot reach {target.base_url}: {exc}") from None
    if response.status_code == 401:
        raise Unusable(f"{target.base_url} refused the credentials of {target.user!r} (401); "
                       "check --user/--password or MOCKIDM_CONTRACT_USER/_PASSWORD")
    if response.status_code == 404 and "/openidm" not in target.base_url:
        raise Unusable(f"{target.base_url}/workflow/processdefinition is 404: the URL should "
                       "end with the context path, e.g. http://host:8080/openidm")


def run_rule(target: Target, rule: Rule) -> Result:
    result = _run_rule(target, rule)
    # The schema-driven rules look here first to learn whether a targeted rule already failed.
    target.outcomes[rule.id] = result.status
    return result


def _run_rule(target: Target, rule: Rule) -> Result:
    if rule.writes and target.read_only:
        return Result(rule.id, SKIPPED, "read-only mode: this rule writes")
    started = time.perf_counter()
    try:
        note = rule.run(target)
        status, message = PASSED, note or ""
    except Skip as exc:
        status, message = SKIPPED, str(exc)
    except RuleFailed as exc:
        status, message = FAILED, str(exc)
    except requests.RequestException as exc:
        status, message = ERROR, f"could not talk to the server: {type(exc).__name__}: {exc}"
    except Exception:
        status, message = ERROR, "the rule itself failed:\n" + traceback.format_exc()
    return Result(rule.id, status, message, time.perf_counter() - started)


def run(target: Target, rules: Iterable[Rule] | None = None,
        progress: TextIO | None = None) -> Report:
    """Run the rules (all by default) in catalogue order, then delete what they created."""
    rules = list(select() if rules is None else rules)
    report = Report(target.base_url, target.expect.name, target.read_only, target.run_id)
    started = time.perf_counter()
    width = len(str(len(rules)))
    for number, rule in enumerate(rules, 1):
        _say(progress, f"[{number:>{width}}/{len(rules)}] {rule.id} ... ")
        result = run_rule(target, rule)
        report.results.append(result)
        detail = f": {_first_line(result.message)}" if result.status == SKIPPED else ""
        _say(progress, f"{_WORDS[result.status]} ({result.seconds:.2f} s){detail}\n")
    if target.created:
        _say(progress, f"cleanup: deleting the {len(target.created)} instances this run "
                       "started ... ")
    report.cleanup = target.cleanup()
    if target.created:
        _say(progress, f"{len(report.cleanup.leftovers)} left\n")
    report.seconds = time.perf_counter() - started
    return report


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _say(stream: TextIO | None, text: str) -> None:
    if stream is not None:
        stream.write(text)
        stream.flush()
