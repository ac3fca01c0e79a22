"""Every request example in openapi.yaml, sent to a fresh mock with the sample definitions,
is answered with success: the spec shows only requests the mock really serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from idm_client import Idm, ok, start

from mockidm.engine import TaskQuery
from mockidm.samples import deploy_samples

DEFINITIONS = deploy_samples
SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def _request_examples() -> list[tuple[str, str, Any]]:
    found = []
    for item in SPEC["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            media = op["requestBody"]["content"]["application/json"]
            for name, example in media.get("examples", {}).items():
                found.append((op["operationId"], name, example["value"]))
    return found


EXAMPLES = _request_examples()
SENT = {"createProcessInstance", "createProcessInstanceHistory", "updateTaskInstance",
        "actOnTaskInstance", "actOnExecutions"}


def test_every_operation_with_request_examples_is_exercised() -> None:
    assert {operation for operation, _, _ in EXAMPLES} == SENT


def _approval_task(idm: Idm) -> str:
    start(idm, "contractorOnboarding")
    [task] = idm.server.call(lambda: idm.engine.query_tasks(TaskQuery()))
    return task.id


@pytest.mark.parametrize(("operation", "name", "body"), EXAMPLES,
                         ids=[f"{o}-{n}" for o, n, _ in EXAMPLES])
def test_request_example_is_served(idm: Idm, operation: str, name: str, body: Any) -> None:
    if operation in ("createProcessInstance", "createProcessInstanceHistory"):
        path = "workflow/processinstance" + ("/history" if "History" in operation else "")
        created = ok(idm.request("POST", f"{path}?_action=create", json=body), 201)
        assert created["processDefinitionId"].startswith("contractorOnboarding:2:")
        assert created["businessKey"] == body.get("_businessKey")
    elif operation == "updateTaskInstance":
        task = _approval_task(idm)
        ok(idm.request("PUT", f"workflow/taskinstance/{task}", json=body,
                       headers={"If-Match": "*"}))
        read = ok(idm.request("GET", f"workflow/taskinstance/{task}"))
        assert read["assignee"] == body["assignee"]
    elif operation == "actOnTaskInstance":
        task = _approval_task(idm)
        answer = ok(idm.request("POST", f"workflow/taskinstance/{task}?_action={name}",
                                json=body))
        assert answer == {"Task action performed": name}
    else:
        # The example names execution '9': the first instance a fresh sample mock starts.
        assert start(idm, "accountActivation") == body["executionId"]
        answer = ok(idm.request("POST", f"workflow/execution?_action={name}", json=body))
        assert answer == {"Execution action performed": name}
        waiting = idm.query("workflow/execution", "_queryFilter=true")
        assert [e["activityId"] for e in waiting] != ["waitForConfirmation"]
