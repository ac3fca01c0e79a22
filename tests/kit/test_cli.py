"""`mockidm contract` in-process (`mockidm.contract.cli.main`) against a live mock."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from broken_servers import BROKEN, mock_app

from mockidm import Identity, MockIDM, get_profile
from mockidm.contract import catalogue
from mockidm.contract.cli import main
from mockidm.contract.target import Target
from mockidm.server import ThreadedServer


def _testcases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()  # raises if the file is not well-formed
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases))
    return {case.get("name", ""): case for case in cases}


def test_all_rules_pass_against_the_mock(mock: ThreadedServer, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    xml = tmp_path / "contract.xml"
    # One example per operation: the schema-driven rules at their defaults are timed in
    # test_end_to_end.py.
    assert main(["--url", mock.url, "--junit-xml", str(xml), "--max-examples", "1"]) == 0
    out = capsys.readouterr().out
    rules = catalogue()
    assert re.search(rf"\[ 1/{len(rules)}\] {rules[0].id} \.\.\. ok \(\d+\.\d\d s\)", out)
    # Not a terminal: the schema-driven rules' work in plain lines, a fifth at a time, then
    # the rule's line again with its result.
    number = next(n for n, r in enumerate(rules, 1) if r.id == "fuzz-conformance")
    line = f"[{number}/{len(rules)}] fuzz-conformance ... "
    work = out[out.index(line):].splitlines()
    assert work[0] == line
    progress = [re.fullmatch(r"  conformance run: (\d+)/(\d+) examples, (\d+) of (\d+) "
                             r"operations, (\d+) requests", text) for text in work[1:7]]
    assert all(progress), work[:8]
    counts = [tuple(int(n) for n in found.groups()) for found in progress if found]
    total, operations = counts[0][1], counts[0][3]
    assert [done for done, *_ in counts][::5] == [0, total] and operations == 33
    assert [done for done, *_ in counts] == sorted(done for done, *_ in counts)
    assert counts[-1][2] == operations and counts[-1][4] > 0
    assert re.fullmatch(rf"{re.escape(line)}ok \(\d+\.\d\d s\)", work[7])
    assert f"{len(rules)} passed, 0 failed, 0 skipped, 0 errors" in out
    assert "0 could not be cleaned" in out
    cases = _testcases(xml)
    assert list(cases) == [r.id for r in rules]
    assert not any(case.find(tag) is not None for case in cases.values()
                   for tag in ("failure", "error", "skipped"))


def test_a_broken_server_exits_1_and_names_the_rule(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    broken = next(b for b in BROKEN if b.name == "latest-is-oldest")
    xml = tmp_path / "contract.xml"
    with ThreadedServer(broken.app) as server:
        # One example per operation: the schema-driven rules that do not wait for
        # key-starts-latest run.
        assert main(["--url", server.url, "--junit-xml", str(xml), "--quiet",
                     "--max-examples", "1"]) == 1
    out = capsys.readouterr().out
    assert "key-starts-latest ... " not in out  # --quiet: no progress lines
    assert "conformance run: " not in out  # nor the schema-driven rules' progress
    assert f"FAILED {broken.rule}: " in out
    assert "1 failed" in out
    cases = _testcases(xml)
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {broken.rule}
    failure = cases[broken.rule].find("failure")
    assert failure is not None and "contractorOnboarding:2:4" in (failure.text or "")


def test_what_could_not_be_cleaned_is_listed(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    broken = next(b for b in BROKEN if b.name == "delete-keeps-running")
    xml = tmp_path / "contract.xml"
    with ThreadedServer(broken.app) as server:
        assert main(["--url", server.url, "--junit-xml", str(xml), "--quiet",
                     "--max-examples", "1"]) == 1
    out = capsys.readouterr().out
    leftovers = re.findall(r"could not clean instance (\d+): DELETE answered 200", out)
    assert len(leftovers) > 1
    (suite,) = ET.parse(xml).getroot().findall("testsuite")
    errors = suite.find("system-err")
    assert errors is not None and all(f"instance {i}:" in (errors.text or "")
                                      for i in leftovers)


def test_rules_are_chosen_by_id_or_glob(mock: ThreadedServer, tmp_path: Path) -> None:
    xml = tmp_path / "contract.xml"
    assert main(["--url", mock.url, "--rules", "business-key-*,no-etag", "--rules",
                 "unknown-key-404", "--junit-xml", str(xml), "--quiet"]) == 0
    assert list(_testcases(xml)) == ["business-key-returned", "business-key-query",
                                     "unknown-key-404", "no-etag"]


def test_a_rule_pattern_that_matches_nothing_is_an_error(
        mock: ThreadedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", mock.url, "--rules", "bussiness-*"]) == 2
    assert "no rule matches 'bussiness-*'" in capsys.readouterr().err


def test_read_only_skips_the_writing_rules(mock: ThreadedServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    xml = tmp_path / "contract.xml"
    assert main(["--url", mock.url, "--read-only", "--junit-xml", str(xml),
                 "--max-examples", "1"]) == 0
    assert "read-only" in capsys.readouterr().out
    cases = _testcases(xml)
    skipped = {name for name, case in cases.items() if case.find("skipped") is not None}
    writes = {r.id for r in catalogue() if r.writes}
    # With one example per operation, no query by business key may come up to be judged.
    assert writes <= skipped and skipped - writes <= {"fuzz-business-key-query"}


def test_credentials_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    identity = Identity.default(get_profile("8.1"))
    identity.add_user("ci-bot", "s3cret!", ["openidm-admin", "openidm-authorized"])
    with ThreadedServer(lambda: mock_app(identity=identity)) as server:
        monkeypatch.setenv("MOCKIDM_CONTRACT_USER", "ci-bot")
        monkeypatch.setenv("MOCKIDM_CONTRACT_PASSWORD", "s3cret!")
        assert main(["--url", server.url, "--quiet", "--max-examples", "1"]) == 0
        monkeypatch.setenv("MOCKIDM_CONTRACT_PASSWORD", "wrong")
        assert main(["--url", server.url]) == 2
        assert "refused the credentials of 'ci-bot' (401)" in capsys.readouterr().err
        # The command line wins over the environment.
        assert main(["--url", server.url, "--password", "s3cret!", "--quiet",
                     "--rules", "bad-password-401"]) == 0


def test_the_kit_authenticates_with_a_bearer_token(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Every rule passes with only a token (a platform deployment): the journal shows each
    authenticated request made as the token's subject, none with a password."""
    served = MockIDM()
    served.deploy_samples()
    with served.serve():
        served.add_token("platform-access-token", "amAdmin",
                         ["openidm-admin", "openidm-authorized"])
        monkeypatch.setenv("MOCKIDM_CONTRACT_TOKEN", "platform-access-token")
        assert main(["--url", served.url, "--user", "amAdmin", "--quiet",
                     "--max-examples", "1"]) == 0
        out = capsys.readouterr().out
        assert f"{len(catalogue())} passed, 0 failed" in out
        authenticated = {e.user for e in served.requests() if e.user is not None}
        assert authenticated == {"amAdmin"}
        assert not any("x-openidm-password" in e.headers and e.user is not None
                       for e in served.requests())
        # A failure's curl line names the token by its variable, never by its value.
        target = Target(served.url, "amAdmin", token="platform-access-token")
        line = target.curl(target.get("workflow/processdefinition", _queryId="query-all-ids"))
        assert '-H "Authorization: Bearer $MOCKIDM_CONTRACT_TOKEN"' in line
        assert "platform-access-token" not in line and "X-OpenIDM-Password" not in line
        # A token the server does not know: one clear message, exit 2; the option wins over
        # the environment.
        assert main(["--url", served.url, "--token", "revoked-token"]) == 2
        assert "refused the access token (401)" in capsys.readouterr().err


def test_an_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", "http://127.0.0.1:9/openidm", "--timeout", "2"]) == 2
    assert "cannot reach http://127.0.0.1:9/openidm" in capsys.readouterr().err


def test_a_url_without_the_context_path_is_explained(
        mock: ThreadedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", mock.origin]) == 2
    assert "should end with the context path" in capsys.readouterr().err


def test_list_prints_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for r in catalogue():
        assert re.search(rf"^{re.escape(r.id)} +{'writes' if r.writes else 'reads'} ", out,
                         re.MULTILINE)


def test_the_parser_needs_no_http_client() -> None:
    """`mockidm serve` must work without the test extra: building the `contract` sub-command
    imports no `requests`; running it says what to install."""
    code = (
        "import argparse, sys\n"
        "sys.modules['requests'] = None  # any import of it fails\n"
        "from mockidm.contract import cli\n"
        "parser = argparse.ArgumentParser(prog='mockidm')\n"
        "cli.add_parser(parser.add_subparsers(dest='command'))\n"
        "sys.exit(cli.run(parser.parse_args(['contract', '--max-examples', '7'])))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], check=False)
    assert done.returncode == 2, done.stderr
    assert "mockidm contract needs requests: pip install 'mockidm[test]'" in done.stderr
