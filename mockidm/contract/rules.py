"""The catalogue: rules a workflow server must honour, each with an executable scenario.

A rule is data (id, one-line statement, the docs pages it comes from, what it needs) plus a
function that takes a `Target` and raises `RuleFailed` or `Skip`; it may return a note.
Scenarios live in `scenarios/`, one module per theme, and register themselves with `@rule`.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .target import Target

Scenario = Callable[[Target], "str | None"]

# The modules that register rules, in the order their rules run: the schema-driven rules
# (checks.py) last, since they wait for the others (`Rule.after`).
_MODULES = ("scenarios.start", "scenarios.errors", "scenarios.protocol", "scenarios.tasks",
            "scenarios.queries", "checks")


@dataclass(frozen=True)
class Rule:
    id: str
    statement: str
    section: str  # the docs pages that explain it, with their public sources (docs/*.md#anchor)
    run: Scenario
    writes: bool  # starts, claims, completes or deletes: never run in read-only mode
    needs: str = ""  # what the server must have deployed for the rule to run
    # Rules that must pass first: a server that breaks one of them would have the same fault
    # reported again by this rule (the runner runs or skips it accordingly).
    after: tuple[str, ...] = ()


RULES: dict[str, Rule] = {}


def rule(id: str, statement: str, section: str, *, writes: bool = False, needs: str = "",
         after: tuple[str, ...] = ()) -> Callable[[Scenario], Scenario]:
    """Register a scenario as a rule of the catalogue."""
    def register(run: Scenario) -> Scenario:
        known = RULES.get(id)
        # The same scenario imported again (a test runner that reloads modules) replaces
        # itself; two scenarios claiming one id is a mistake.
        if known is not None and (known.run.__module__, known.run.__qualname__) != (
                run.__module__, run.__qualname__):
            raise ValueError(f"rule {id!r} is registered twice")
        RULES[id] = Rule(id, statement, section, run, writes, needs, after)
        return run
    return register


def catalogue() -> list[Rule]:
    """Every rule, in the order they run: module by module as listed above (the schema-driven
    rules last, whoever imported them first), each module's in its order."""
    modules = [f"{__package__}.{name}" for name in _MODULES]
    for name in modules:
        importlib.import_module(name)
    rank = {name: n for n, name in enumerate(modules)}
    return sorted(RULES.values(), key=lambda r: rank.get(r.run.__module__, len(rank)))


class UnknownRule(ValueError):
    pass


def select(patterns: Iterable[str] | None = None) -> list[Rule]:
    """The rules whose id matches one of the globs (`business-key-*`), in catalogue order; all
    of them without patterns. A pattern that matches nothing is an error (a typo in CI should
    not pass by running nothing)."""
    rules = catalogue()
    patterns = [p.strip() for p in patterns or () if p.strip()]
    if not patterns:
        return rules
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(r.id, pattern) for r in rules):
            raise UnknownRule(f"no rule matches {pattern!r}; the rules are: "
                              + ", ".join(r.id for r in rules))
    return [r for r in rules if any(fnmatch.fnmatchcase(r.id, p) for p in patterns)]
