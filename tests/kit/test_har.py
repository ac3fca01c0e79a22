"""`mockidm contract --har`: the recorded answers judged with no server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from broken_servers import mock_app

from mockidm.contract.cli import main
from mockidm.contract.har import HarEntry, HarWriter, read_har
from mockidm.server import ThreadedServer

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true", "Accept-API-Version": "resource=1.0"}


def recorded(tmp_path: Path, profile: str = "8.1") -> Path:
    """A few of the mock's exchanges, written as the recorder writes them (requests' own
    record of what it sent and got)."""
    har = tmp_path / f"{profile}.har"
    writer = HarWriter(har, "test", "0")
    with ThreadedServer(lambda: mock_app(profile=profile)) as server:
        base = server.url
        answers = [
            requests.get(f"{base}/workflow/processdefinition?_queryId=query-all-ids",
                         headers=ADMIN, timeout=10),
            requests.post(f"{base}/workflow/processinstance?_action=create", headers=ADMIN,
                          json={"_key": "contractorOnboarding"}, timeout=10),
            requests.get(f"{base}/workflow/processinstance/nope", headers=ADMIN, timeout=10),
            requests.get(f"{base}/workflow/nowhere", headers=ADMIN, timeout=10),
            requests.get(f"{server.origin}/admin/index.html", timeout=10),
        ]
    for answer in answers:
        request = answer.request
        writer.write(HarEntry(
            __import__("datetime").datetime.now(), str(request.method), str(request.url),
            list(request.headers.items()), bytes(request.body or b""), answer.status_code,
            answer.reason, list(answer.headers.items()), answer.content))
    writer.close()
    return har


def rewrite(har: Path, index: int, change: dict[str, object], *, status: int | None = None,
            headers: dict[str, str] | None = None) -> None:
    entries = read_har(har)
    body = entries[index].response_json()
    target = body if set(change) <= set(body) or "result" not in body else body["result"][0]
    target.update(change)
    entries[index].response_body = json.dumps(body).encode()
    if status is not None:
        entries[index].status = status
    entries[index].response_headers += list((headers or {}).items())
    har.unlink()
    writer = HarWriter(har, "test", "0")
    for entry in entries:
        writer.write(entry)
    writer.close()


def test_the_mocks_own_answers_pass_and_what_the_spec_lacks_is_not_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    har = recorded(tmp_path)
    junit = tmp_path / "r.xml"
    assert main(["--har", str(har), "--junit-xml", str(junit)]) == 0
    out = capsys.readouterr().out
    assert "5 recorded answers" in out and "4 passed, 0 failed, 1 not judged" in out
    assert "1 not an operation of the spec" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("skipped") == "1"


def test_the_release_recorded_matters(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    har = recorded(tmp_path, "6.5")
    assert main(["--har", str(har), "--profile", "6.5"]) == 0
    assert main(["--har", str(har), "--profile", "8.1"]) == 1
    assert "content-api-version: expected Content-API-Version" in capsys.readouterr().out


@pytest.mark.parametrize(("index", "change", "status", "headers", "found"), [
    (0, {"_rev": 1}, None, None, "rev-is-string"),
    (0, {"resultCount": 9}, None, None, "query-envelope"),
    (1, {}, 200, None, "status 200 is not one the spec documents"),
    (1, {"status": "running"}, None, None, "Response violates schema"),
    (1, {}, None, {"ETag": '"1"'}, "no-etag"),
    (2, {"error": "x"}, None, None, "error-envelope"),
    (3, {"error": "x"}, None, None, "error-envelope"),  # no operation: still IDM's error
], ids=["numeric-rev", "resultCount", "create-200", "schema", "etag", "error", "unknown-path"])
def test_each_break_in_a_recorded_answer_is_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], index: int,
        change: dict[str, object], status: int | None, headers: dict[str, str] | None,
        found: str) -> None:
    har = recorded(tmp_path)
    rewrite(har, index, change, status=status, headers=headers)
    assert main(["--har", str(har)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED #{index + 1} " in out and found in out
    assert out.count("FAILED") == 1


def test_a_file_that_cannot_be_read_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--har", str(tmp_path / "none.har")]) == 2
    (tmp_path / "bad.har").write_text("{not json")
    assert main(["--har", str(tmp_path / "bad.har")]) == 2
    (tmp_path / "empty.har").write_text('{"log": {"entries": []}}')
    assert main(["--har", str(tmp_path / "empty.har")]) == 2
    assert "cannot read" in capsys.readouterr().err
