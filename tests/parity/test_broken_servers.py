"""Each of the contract kit's broken servers behind the recorder: the kit's own rule for the
break runs through the proxy (and still fails: the proxy hides nothing), and the comparison
of that recording with an unbroken mock reports differences. The same traffic against the
unbroken mock compares as the same, so what is reported is the break, not noise.

Recorded with the secrets kept: a recording with redacted passwords cannot tell a wrong password
a broken server let in from a right one (docs/parity.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from recorder import recording

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kit"))
from broken_servers import BROKEN, EXAMPLES_TO_SHOW_EVERY_BREAK, Broken, mock_app

from mockidm import MockIDM
from mockidm.contract import FAILED, Target, catalogue, run, select
from mockidm.contract.har import read_har
from mockidm.contract.passive import Judge
from mockidm.contract.rules import RULES
from mockidm.contract.settings import PROFILES
from mockidm.parity.compare import DIFFERENT, Comparison, compare
from mockidm.parity.normalise import Rules
from mockidm.server import ThreadedServer

# Breaks a recorded answer shows by itself, which `mockidm contract --har` must find too.
SEEN_PASSIVELY = {"create-answers-200", "error-reason-renamed", "envelope-without-totals",
                  "numeric-rev", "etag-added", "no-content-api-version"}


def record_kit(factory, rule_ids: list[str], har: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The kit's rules run against `factory`'s server through the recorder; their results."""
    with ThreadedServer(factory) as server, \
            recording(server.origin, har, keep_secrets=True) as proxy:
        report = run(Target(proxy.url, max_examples=EXAMPLES_TO_SHOW_EVERY_BREAK), select(rule_ids))
    return {r.rule_id: r.status for r in report.results}


def unbroken() -> MockIDM:
    mock = MockIDM("8.1")
    mock.deploy_samples()
    return mock


def different(comparison: Comparison) -> list[str]:
    return [f"{e.title}: " + "; ".join(str(d) for d in e.differences)
            for e in comparison.exchanges if e.verdict == DIFFERENT]


@pytest.mark.slow
def test_the_kit_through_the_recorder_against_the_unbroken_mock_compares_the_same(
        tmp_path: Path) -> None:
    har = tmp_path / "unbroken.har"
    results = record_kit(mock_app, [r.id for r in catalogue()], har)
    assert FAILED not in results.values(), results
    comparison = compare(read_har(har), unbroken(), Rules(), har=str(har))
    assert len(comparison.exchanges) > 100
    assert different(comparison) == []


@pytest.mark.slow
@pytest.mark.parametrize("broken", BROKEN, ids=str)
def test_each_break_behind_the_recorder_is_reported(broken: Broken, tmp_path: Path) -> None:
    har = tmp_path / f"{broken.name}.har"
    catalogue()  # the rules are registered when first listed
    # With the rules it waits for: the kit skips a rule whose prerequisites were not selected.
    results = record_kit(broken.app, [broken.rule, *RULES[broken.rule].after], har)
    assert results[broken.rule] == FAILED, results  # the proxy passed the break on
    comparison = compare(read_har(har), unbroken(), Rules(), har=str(har))
    found = different(comparison)
    print(f"\n{broken.name}: {len(found)} of {len(comparison.exchanges)} exchanges differ; "
          f"first: {found[:1]}")
    assert found, f"{broken.name} ({broken.what}) not reported"
    if broken.name in SEEN_PASSIVELY:
        judge = Judge(PROFILES["8.1"])
        failed = [j for j in (judge.judge(i, e) for i, e in enumerate(read_har(har), 1))
                  if j.problems]
        assert failed, f"{broken.name}: mockidm contract --har found nothing"
