"""A `--state` file written by mockidm's first state format (version 1) still loads.

`states/v1.json` was written once, by the code of commit d3898d3: a mock with the samples and
a user kept as the startup state, then a frozen clock, a managed user, process-access rules,
script outputs, a finished role request, a half-reviewed one and an account activation.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from mockidm import MockIDM
from mockidm.persistence import StateFile

V1 = Path(__file__).parent / "states" / "v1.json"
T0 = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def test_a_v1_state_file_restores_the_state_and_the_startup_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    shutil.copyfile(V1, path)
    document = json.loads(V1.read_bytes())
    mock = MockIDM()
    assert StateFile(path, mock).load()
    assert mock.snapshot() == document["state"]

    engine = mock.engine
    assert engine.clock.frozen == T0 + timedelta(seconds=125)
    finished = engine.instance("9")
    assert (finished.ended, finished.end_activity, finished.business_key) == (
        True, "roleGranted", "role-1")
    assert finished.variables == {"role": "auditor", "justification": "audit", "n": 3,
                                  "ok": True, "x": None, "list": [1.5, "a"],
                                  "securityDecision": "approve", "managerDecision": "approve",
                                  "granted": True}
    assert engine.instance("14").executions == {"15": "securityReview", "17": "managerReview"}
    assert {t.key: t.assignee for t in mock.tasks("14")} == {"securityReview": None,
                                                              "managerReview": "carol"}
    assert engine.instance("19").executions == {"19": "waitForConfirmation"}
    assert engine.interpreter.outputs == {(None, "grantRole"): {"granted": True}}

    with mock.serve():
        read = requests.get(f"{mock.url}/workflow/processinstance/14",
                            headers=mock.admin_headers, timeout=10)
        assert read.status_code == 200 and read.json()["businessKey"] == "role-2"
        # carol's password and roles, and the process-access rules, came back.
        carol = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"}
        startable = requests.get(f"{mock.url}/endpoint/getprocessesforuser", headers=carol,
                                 timeout=10)
        assert startable.status_code == 200
        assert [p["key"] for p in startable.json()["processes"]] == ["roleRequest"]
        created = requests.post(f"{mock.url}/workflow/processinstance?_action=create",
                                json={"_key": "roleRequest"}, headers=mock.admin_headers,
                                timeout=10)
        assert created.status_code == 201 and created.json()["_id"] == "20"

    mock.reset()  # back to the startup state the file kept
    assert mock.snapshot() == document["initial"]
    assert engine is not mock.engine and mock.engine.clock.frozen is None
    assert [i.id for i in mock.engine.store.instances.values()] == []
    assert {u["name"] for u in mock.snapshot()["identity"]["users"]} == {
        "openidm-admin", "anonymous", "carol"}
