"""Start-up pays only for what is used (benchmarks/startup.py times it): `mockidm serve` and a
test using the fixture import neither what they do not use nor what only some paths need
(jsonschema and its format checkers, the contract kit, schemathesis, requests), and a warm start
reads the spec's parse instead of parsing its YAML."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from mockidm import spec
from mockidm.spec_files import parsed_copy

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin"}
# Needed by some paths only: a fixture file's explanation of its errors (jsonschema, whose
# format checkers import rfc3987_syntax: about a second), the contract kit, the inspector.
SOME_PATHS = ("jsonschema", "rfc3987_syntax", "schemathesis", "hypothesis", "requests",
              "mockidm.contract.target",
              # the inspector's pages: imported when one is first asked for
              "jinja2", "aiohttp_sse", "mockidm.ui.views")
# ... and, to serve without a fixture file, its reader; with the spec's parse, PyYAML.
NOT_SERVING = (*SOME_PATHS, "mockidm.scenario", "yaml")


def _env() -> dict[str, str]:
    """As a user runs it: Python (and mockidm) free to keep their caches."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _serve_imports() -> set[str]:
    """The modules `mockidm serve` imported by the time it answered its first request."""
    process = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "mockidm", "serve",
                                "--port", "0", "--quiet"], cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = re.search(r"serving (\S+/openidm)", process.stdout.readline())
        assert url, process.stderr.read() if process.stderr else ""
        answer = requests.get(f"{url.group(1)}/workflow/processdefinition?_queryId="
                              "query-all-ids", headers=ADMIN, timeout=10)
        assert answer.status_code == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    return {line.split("|")[-1].strip() for line in err.splitlines()
            if line.startswith("import time:")}


def test_serve_imports_only_what_serving_uses() -> None:
    _serve_imports()  # the first start of a checkout writes the spec's parse
    imported = _serve_imports()
    assert {"aiohttp.web", "jsonschema_rs", "mockidm.http.pipeline"} <= imported
    assert [name for name in NOT_SERVING if name in imported] == []


def test_a_fixture_file_test_imports_neither_jsonschema_nor_the_kit(
        pytester: pytest.Pytester) -> None:
    """A test whose marker loads a valid fixture file, in a project where mockidm is the only
    plugin: the native schema check passes it, and nothing explains errors it has not got."""
    pytester.makefile(".yaml", scenario="users: [{name: alice, password: secret, roles: "
                                        "[openidm-authorized]}]\n"
                                        "definitions: [{samples: true}]\n"
                                        "instances: [{key: contractorOnboarding, "
                                        "businessKey: order-1}]\n")
    pytester.makepyfile(test_first=f"""
        import sys, json, urllib.request
        import pytest

        @pytest.mark.mockidm(fixtures="scenario.yaml")
        def test_first(mockidm):
            url = (mockidm.url + "/workflow/processinstance?_queryId=filtered-query"
                   "&processInstanceBusinessKey=order-1")
            request = urllib.request.Request(url, headers=mockidm.admin_headers)
            with urllib.request.urlopen(request) as answer:
                assert json.load(answer)["resultCount"] == 1
            assert [name for name in {SOME_PATHS!r} if name in sys.modules] == []
    """)
    env = _env()
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the project's own plugins only: mockidm's
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "mockidm.pytest_plugin",
                           "-p", "mockidm.contract.pytest_plugin", "-p", "no:cacheprovider",
                           "-q", "test_first.py"], cwd=pytester.path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.fixture
def writable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def test_the_spec_parse_is_kept_and_follows_the_file(tmp_path: Path, writable: None) -> None:
    source = tmp_path / "openapi.yaml"
    source.write_text("openapi: 3.1.0\npaths: {}\nx-answer: 42\n")
    assert spec.read_document(source) == {"openapi": "3.1.0", "paths": {}, "x-answer": 42}
    kept = parsed_copy(source, source.read_bytes())
    assert json.loads(kept.read_text()) == {"openapi": "3.1.0", "paths": {}, "x-answer": 42}

    kept.write_text('{"openapi": "3.1.0", "paths": {}, "x-answer": "from the copy"}')
    assert spec.read_document(source)["x-answer"] == "from the copy"  # read, not parsed

    source.write_text("openapi: 3.1.0\npaths: {}\nx-answer: 43\n")  # an edit: parsed anew
    assert spec.read_document(source)["x-answer"] == 43
    assert not kept.exists()  # the earlier version's copy is gone
    assert [p.name for p in kept.parent.iterdir()] == [
        parsed_copy(source, source.read_bytes()).name]

    parsed_copy(source, source.read_bytes()).write_text("{broken")
    assert spec.read_document(source)["x-answer"] == 43  # a broken copy is parsed again


def test_a_parse_json_cannot_hold_is_not_kept(tmp_path: Path, writable: None) -> None:
    source = tmp_path / "openapi.yaml"
    source.write_text("released: 2024-01-02\n200: ok\n")  # a date, an integer key
    assert spec.read_document(source) == yaml.safe_load(source.read_text())
    assert not parsed_copy(source, source.read_bytes()).exists()


def test_nothing_is_kept_under_pythondontwritebytecode(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source = tmp_path / "openapi.yaml"
    source.write_text("openapi: 3.1.0\n")
    assert spec.read_document(source) == {"openapi": "3.1.0"}
    assert not (tmp_path / "__pycache__").exists()
