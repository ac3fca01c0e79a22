"""`pytest -p mockidm.contract.pytest_plugin --mockidm-contract-url URL`: one test per rule."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from broken_servers import BROKEN

from mockidm import MockIDM
from mockidm.contract import catalogue
from mockidm.server import ThreadedServer

pytest_plugins = ["pytester"]
PLUGIN = ("-p", "mockidm.contract.pytest_plugin", "-p", "no:cacheprovider")
FEW = ("--mockidm-contract-max-examples", "1")  # the schema-driven rules: one example each


@pytest.fixture(autouse=True)
def only_the_plugin_under_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs load no installed plugin but ours: what else is installed (and its
    entry points) is not this test's business."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_one_passing_test_per_rule(pytester: pytest.Pytester, mock: ThreadedServer) -> None:
    result = pytester.runpytest(*PLUGIN, *FEW, "--mockidm-contract-url", mock.url,
                                "--junitxml", "out.xml", "-v")
    result.assert_outcomes(passed=len(catalogue()))
    result.stdout.fnmatch_lines(["*mockidm-contract::key-starts-latest PASSED*",
                                 "*mockidm contract cleanup: * 0 could not be cleaned"])
    cases = ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(r.id for r in catalogue())


def test_a_broken_rule_is_one_failed_test(pytester: pytest.Pytester) -> None:
    """One failure; the schema-driven rule that would report it again is skipped (not
    passed), and says why."""
    broken = next(b for b in BROKEN if b.name == "etag-added")
    with ThreadedServer(broken.app) as server:
        result = pytester.runpytest(*PLUGIN, *FEW, "--mockidm-contract-url", server.url,
                                    "-rsf")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, outcomes
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == len(catalogue()) - 1
    result.stdout.fnmatch_lines(["*no-etag: Workflow answers*", "*expected: no ETag*",
                                 "*not run: the server breaks no-etag,*",
                                 "FAILED mockidm-contract::no-etag*"])


def test_options_select_rules_and_read_only(pytester: pytest.Pytester,
                                            mock: ThreadedServer) -> None:
    result = pytester.runpytest(*PLUGIN, "--mockidm-contract-url", mock.url,
                                "--mockidm-contract-rules", "business-key-*,no-etag",
                                "--mockidm-contract-read-only", "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*read-only mode: this rule writes*"])


def test_k_selects_rules_too(pytester: pytest.Pytester, mock: ThreadedServer) -> None:
    result = pytester.runpytest(*PLUGIN, "--mockidm-contract-url", mock.url, "-k", "401")
    result.assert_outcomes(passed=2)


def test_wrong_credentials_fail_every_test_with_one_clear_message(
        pytester: pytest.Pytester, mock: ThreadedServer) -> None:
    result = pytester.runpytest(*PLUGIN, "--mockidm-contract-url", mock.url,
                                "--mockidm-contract-password", "nope",
                                "--mockidm-contract-rules", "no-etag")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*refused the credentials of 'openidm-admin' (401)*"])


def test_a_token_authenticates_the_rules(pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    served = MockIDM()
    served.deploy_samples()
    with served.serve():
        served.add_token("platform-token", "amAdmin", ["openidm-admin", "openidm-authorized"])
        result = pytester.runpytest(*PLUGIN, "--mockidm-contract-url", served.url,
                                    "--mockidm-contract-token", "platform-token",
                                    "--mockidm-contract-rules", "no-etag,key-starts-latest")
        result.assert_outcomes(passed=2)
        assert {e.user for e in served.requests() if e.user is not None} == {"amAdmin"}
        # From the environment; an unknown token fails every test with one message.
        monkeypatch.setenv("MOCKIDM_CONTRACT_TOKEN", "unknown-token")
        result = pytester.runpytest(*PLUGIN, "--mockidm-contract-url", served.url,
                                    "--mockidm-contract-rules", "no-etag")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*refused the access token (401)*"])


def test_without_a_url_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_alone(): pass")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
