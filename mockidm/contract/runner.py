"""Running rules against a target: one at a time, with a progress line each, each after the
rules it waits for (`Rule.after`), then cleanup."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

import requests

from .outcome import ERROR, FAILED, PASSED, SKIPPED, Result, RuleFailed, Skip
from .progress import Progress
from .rules import RULES, Rule, select
from .target import CleanupReport, Target

_WORDS = {PASSED: "ok", FAILED: "FAILED", SKIPPED: "skipped", ERROR: "ERROR"}
_READ_ONLY = "read-only mode: this rule writes"


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
    if response.status_code == 401 and target.token is not None:
        raise Unusable(f"{target.base_url} refused the access token (401); check --token or "
                       "MOCKIDM_CONTRACT_TOKEN")
    if response.status_code == 401:
        raise Unusable(f"{target.base_url} refused the credentials of {target.user!r} (401); "
                       "check --user/--password or MOCKIDM_CONTRACT_USER/_PASSWORD")
    if response.status_code == 404 and "/openidm" not in target.base_url:
        raise Unusable(f"{target.base_url}/workflow/processdefinition is 404: the URL should "
                       "end with the context path, e.g. http://host:8080/openidm")


def run_rule(target: Target, rule: Rule) -> Result:
    started = time.perf_counter()
    result = _waiting(target, rule) or _run_rule(target, rule)
    # Its time includes what it waited for (prerequisites run for it).
    result = Result(result.rule_id, result.status, result.message,
                    time.perf_counter() - started)
    # The rules that wait for this one look here first.
    target.outcomes[rule.id] = result
    target.reported.setdefault(rule.id, rule.id)
    return result


def _waiting(target: Target, rule: Rule) -> Result | None:
    """The result of `rule` when a rule it waits for (`Rule.after`) is in the way, else None.

    A prerequisite this run has not run (not selected) is run now, unreported and in read-only
    mode: picking a rule must not start, claim or complete anything that was not picked. One
    that writes cannot be run so: `rule` is skipped, naming it. A prerequisite that fails makes
    `rule` skipped when that failure is reported already (by the prerequisite itself, or by
    another rule waiting for it); otherwise `rule` fails with it, so that a broken server never
    passes for want of selecting the rule it breaks."""
    results: dict[str, Result] = {}
    missing = []
    for prerequisite in rule.after:
        result = target.outcomes.get(prerequisite)
        if result is None and RULES[prerequisite].writes and target.writable:
            missing.append(prerequisite)
            continue
        if result is None:
            with _read_only(target):
                result = _run_rule(target, RULES[prerequisite])
            target.outcomes[prerequisite] = result
        results[prerequisite] = result
    broken = {i: r for i, r in results.items() if not r.ok}
    unreported = {i: r for i, r in broken.items() if i not in target.reported}
    if unreported:
        target.reported.update(dict.fromkeys(unreported, rule.id))
        status = FAILED if all(r.status == FAILED for r in unreported.values()) else ERROR
        return Result(rule.id, status, "\n".join(
            f"not run: the server breaks {i}, which this rule waits for ({i} was not "
            f"selected, so its {r.status} result is reported here)\n{i}: "
            f"{RULES[i].statement}\n{r.message}" for i, r in unreported.items()))
    if broken:
        where = ", ".join(i if target.reported[i] == i else f"{i} (reported under "
                          f"{target.reported[i]})" for i in broken)
        return Result(rule.id, SKIPPED, f"not run: the server breaks {where}, and this rule "
                                        "would report the same fault again; it runs once "
                                        f"{'that passes' if len(broken) == 1 else 'they pass'}")
    if missing:
        return Result(rule.id, SKIPPED, f"needs {', '.join(missing)}, not selected: this rule "
                                        f"waits for {'it' if len(missing) == 1 else 'them'}, "
                                        "and the kit runs no writing rule unasked (--rules "
                                        f"'{','.join([*missing, rule.id])}')")
    return None


@contextmanager
def _read_only(target: Target) -> Iterator[None]:
    saved, target.read_only = target.read_only, True
    try:
        yield
    finally:
        target.read_only = saved


def _run_rule(target: Target, rule: Rule) -> Result:
    if rule.writes and target.read_only:
        return Result(rule.id, SKIPPED, _READ_ONLY)
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
    target.progress = shown = Progress(progress)
    try:
        for number, rule in enumerate(rules, 1):
            shown.rule(f"[{number:>{width}}/{len(rules)}] {rule.id} ... ")
            result = run_rule(target, rule)
            report.results.append(result)
            detail = f": {_first_line(result.message)}" if result.status == SKIPPED else ""
            shown.result(f"{_WORDS[result.status]} ({result.seconds:.2f} s){detail}")
    finally:  # Ctrl-C too: what the run started is deleted
        if target.created:
            shown.say(f"cleanup: deleting the {len(target.created)} instances this run "
                      "started ... ")
        report.cleanup = target.cleanup()
        if target.created:
            shown.say(f"{len(report.cleanup.leftovers)} left\n")
        target.progress = Progress()
    report.seconds = time.perf_counter() - started
    return report


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""

