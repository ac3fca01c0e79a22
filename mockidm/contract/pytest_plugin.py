"""The contract kit as pytest tests: `pytest -p mockidm.contract.pytest_plugin
--mockidm-contract-url URL` adds one test per rule (`mockidm-contract::<rule id>`) to the run.

Without `--mockidm-contract-url` the plugin adds nothing. The instances the rules start are
deleted when the session ends; the terminal summary lists any that could not be.
Results go wherever pytest sends them, so `--junitxml` works as for any test.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from .settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    PASSWORD_ENV,
    PROFILES,
    TOKEN_ENV,
    USER_ENV,
)

if TYPE_CHECKING:  # the plugin loads in every pytest run: the kit (and requests) only when used
    from .outcome import Result
    from .rules import Rule
    from .runner import Unusable
    from .target import CleanupReport, Target

SUITE = "mockidm-contract"
_TARGET = pytest.StashKey["Target | Unusable"]()
_CLEANUP: pytest.StashKey[CleanupReport] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockidm-contract", "mockidm contract kit (one test per rule)")
    group.addoption("--mockidm-contract-url", metavar="URL",
                    help="check the server at URL (ending with its context path, "
                         "e.g. http://127.0.0.1:8080/openidm)")
    group.addoption("--mockidm-contract-user", metavar="USER",
                    help=f"default: env {USER_ENV}, else {DEFAULT_USER}")
    group.addoption("--mockidm-contract-password", metavar="PASSWORD",
                    help=f"default: env {PASSWORD_ENV}, else openidm-admin")
    group.addoption("--mockidm-contract-token", metavar="TOKEN",
                    help=f"authenticate with this access token (Authorization: Bearer) "
                         f"instead of a password; default: env {TOKEN_ENV}")
    group.addoption("--mockidm-contract-profile", choices=sorted(PROFILES), default="8.1",
                    help="IDM release to expect (default 8.1)")
    group.addoption("--mockidm-contract-rules", metavar="IDS",
                    help="comma-separated rule ids or globs (default all)")
    group.addoption("--mockidm-contract-read-only", action="store_true",
                    help="only reads and negative checks")
    group.addoption("--mockidm-contract-process-key", action="append", default=[],
                    metavar="KEY", help="start only processes with this key (repeatable)")
    group.addoption("--mockidm-contract-max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                    metavar="N", help="examples per operation for the schema-driven checks")


class RuleFailure(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


class ContractSuite(pytest.Collector):
    def __init__(self, *, rules: list[Rule], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules = rules

    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=rule.id, rule=rule) for rule in self.rules]


class RuleItem(pytest.Item):
    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.user_properties += [("statement", rule.statement), ("section", rule.section)]

    def runtest(self) -> None:
        from .outcome import ERROR, FAILED, SKIPPED, Result
        from .runner import Unusable, run_rule

        target = _target(self.config)
        if isinstance(target, Unusable):
            raise RuleFailure(Result(self.rule.id, ERROR, str(target)))
        result = run_rule(target, self.rule)
        if result.status == SKIPPED:
            pytest.skip(result.message)
        if result.status in (FAILED, ERROR):
            raise RuleFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailure):
            return f"{self.rule.id}: {self.rule.statement}\n{excinfo.value.result.message}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{SUITE}::{self.rule.id}"


def _target(config: pytest.Config) -> Target | Unusable:
    """One target for the session, checked once (a wrong URL is one message per test)."""
    from .runner import Unusable, preflight
    from .target import Target

    if _TARGET not in config.stash:
        target = Target(
            config.getoption("mockidm_contract_url"),
            config.getoption("mockidm_contract_user") or os.environ.get(
                USER_ENV) or DEFAULT_USER,
            config.getoption("mockidm_contract_password") or os.environ.get(
                PASSWORD_ENV) or DEFAULT_PASSWORD,
            config.getoption("mockidm_contract_profile"),
            read_only=config.getoption("mockidm_contract_read_only"),
            max_examples=config.getoption("mockidm_contract_max_examples"),
            process_keys=config.getoption("mockidm_contract_process_key"),
            token=config.getoption("mockidm_contract_token") or os.environ.get(TOKEN_ENV))
        try:
            preflight(target)
            config.stash[_TARGET] = target
        except Unusable as exc:
            config.stash[_TARGET] = exc
    return config.stash[_TARGET]


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to the rules too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if not config.getoption("mockidm_contract_url"):
        return
    from .rules import select

    patterns = (config.getoption("mockidm_contract_rules") or "").split(",")
    try:
        rules = select(patterns)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    suite = ContractSuite.from_parent(session, name=SUITE, nodeid=SUITE, rules=rules)
    collected = suite.collect()
    result: list[pytest.Item | pytest.Collector] = [*collected]
    # Tell the reporters, as collection from a file would (`collected N items`).
    session.ihook.pytest_collectreport(report=pytest.CollectReport(
        suite.nodeid, "passed", None, result))
    items.extend(collected)


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.stash.get(_TARGET, None)
    if target is None:  # the kit did not run
        return
    from .target import Target

    if isinstance(target, Target):
        session.config.stash[_CLEANUP] = target.cleanup()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    cleanup = config.stash.get(_CLEANUP, None)
    if cleanup is None:
        return
    terminalreporter.write_line(
        f"mockidm contract cleanup: {cleanup.created} instances started, "
        f"{len(cleanup.deleted)} deleted, {len(cleanup.ended)} ended on their own, "
        f"{len(cleanup.leftovers)} could not be cleaned")
    for instance, why in cleanup.leftovers:
        terminalreporter.write_line(f"  could not clean instance {instance}: {why}", red=True)
