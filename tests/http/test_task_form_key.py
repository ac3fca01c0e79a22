"""A user task's form key and category, evaluated when the task is created as Flowable's
UserTaskActivityBehavior evaluates them, walked over HTTP with form_choice.bpmn20.xml
(tests/http/workflows/): `activiti:formKey="${formName}"` and `activiti:category="#{department}"`
chosen by start variables. Like a task's name, a failing expression keeps the text as written
(the engine logs a warning); null sets none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idm_client import Idm, ok, start, tasks

from mockidm import Engine

WORKFLOWS = Path(__file__).parent / "workflows"
PD = "workflow/processdefinition"
TI = "workflow/taskinstance"


def DEFINITIONS(engine: Engine) -> None:  # conftest's `idm` deploys what this deploys
    engine.deploy_bpmn((WORKFLOWS / "form_choice.bpmn20.xml").read_text(),
                       "form_choice.bpmn20.xml")


def started_task(idm: Idm, **variables: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Starts formChoice: its task as read, and as the task history shows it."""
    instance = start(idm, "formChoice", **variables)
    [task] = tasks(idm, processInstanceId=instance)
    [past] = ok(idm.request("GET", f"{TI}/history?_queryId=filtered-query"
                                   f"&processInstanceId={instance}"))["result"]
    return ok(idm.request("GET", f"{TI}/{task['_id']}")), past


def test_the_start_variables_choose_the_form_key_and_category(idm: Idm) -> None:
    task, past = started_task(idm, formName="forms/finance.xhtml", department="finance")
    assert task["category"] == "finance"
    assert (past["formKey"], past["category"]) == ("forms/finance.xhtml", "finance")
    # Each task is evaluated on its own variables.
    task, past = started_task(idm, formName="forms/legal.xhtml", department=7)
    assert task["category"] == "7"  # toString()
    assert (past["formKey"], past["category"]) == ("forms/legal.xhtml", "7")


def test_null_sets_no_form_key_or_category(idm: Idm) -> None:
    task, past = started_task(idm, formName=None, department=None)
    assert task["category"] is None
    assert (past["formKey"], past["category"]) == (None, None)


def test_a_failing_expression_keeps_the_text_as_written(idm: Idm) -> None:
    """Flowable catches the evaluation's error for these two, as for a name: the task is
    created all the same (no 500) with the expression's text."""
    task, past = started_task(idm)  # neither variable set
    assert task["category"] == "#{department}"
    assert (past["formKey"], past["category"]) == ("${formName}", "#{department}")
    assert task["name"] == "Fill in the form"


def test_the_task_definition_shows_the_expressions(idm: Idm) -> None:
    [definition] = ok(idm.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
    [node] = ok(idm.request("GET", f"{PD}/{definition['_id']}/taskdefinition"
                                   "?_queryId=query-all-ids"))["result"]
    assert node["categoryExpression"] == {"expressionText": "#{department}"}
    assert node["formProperties"]["formKey"] == "${formName}"
    assert node["formResourceKey"] == "${formName}"
