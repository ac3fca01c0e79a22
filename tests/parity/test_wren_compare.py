"""`mockidm compare --profile wren`: a walk recorded against a wren mock (tests/wren_walk.py,
every field the wren profile adds) replays the same on a fresh wren mock, and differs on an 8.1
one exactly where the profiles do."""

from __future__ import annotations

import json
from pathlib import Path

from recorder import recording
from wren_walk import WORKFLOWS, assert_answers_as_wren

from mockidm import MockIDM
from mockidm.cli import main


def test_a_walk_recorded_against_wren_compares_same_on_wren_and_differs_on_8_1(
        tmp_path: Path) -> None:
    har = tmp_path / "wren.har"
    mock = MockIDM("wren")
    mock.deploy_folder(WORKFLOWS)
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har) as proxy:
        assert_answers_as_wren(proxy.url)
    report = tmp_path / "report.json"
    seeded = ["--workflow-dir", str(WORKFLOWS), "--quiet", "--json", str(report)]
    assert main(["compare", str(har), "--profile", "wren", *seeded]) == 0
    assert main(["compare", str(har), "--profile", "8.1", *seeded]) == 1
    differing = {d["at"] for e in json.loads(report.read_text())["exchanges"]
                 for d in e.get("differences", [])}
    # instance_variables, complete_variables_local, instance_delete_reason,
    # unknown_query_messages (a 400 on wren, answered on 8.1), resource versioning (6.5's)
    assert {"/processVariables/userName", "/processVariables/decision",
            "/tasks/0/taskLocalVariables/result", "/deleteReason", "/code",
            "content-api-version"} <= differing
