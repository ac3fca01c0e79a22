"""`workflow/execution?_queryId=filtered-query`: every documented filter, each with a decoy
that must not match (Flowable's ExecutionQuery semantics; docs/fidelity.md, "Execution
filters").

Four executions wait: `msg` (a message catch named "go"), `sig` (a signal catch also named
"go", on version 2 of its definition), and `forkA` / `forkB`, the two branches of a parallel
gateway (children of their instance's execution).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from mockidm import MockIDM
from mockidm.http.errors import html_escape

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="https://mockidm.dev/t"'


def _catch(key: str, name: str, kind: str) -> str:
    return f"""<definitions {NS}>
  <{kind} id="event" name="go"/>
  <process id="{key}" name="{name}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <intermediateCatchEvent id="wait">
      <{kind}EventDefinition {kind}Ref="event"/>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


FORK = f"""<definitions {NS}>
  <process id="fork" name="Fork" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <parallelGateway id="split"/>
    <sequenceFlow id="fa" sourceRef="split" targetRef="a"/>
    <sequenceFlow id="fb" sourceRef="split" targetRef="b"/>
    <userTask id="a" name="A"/>
    <userTask id="b" name="B"/>
    <sequenceFlow id="fa2" sourceRef="a" targetRef="join"/>
    <sequenceFlow id="fb2" sourceRef="b" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow id="f2" sourceRef="join" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _with_category(text: str, category: str) -> str:
    return text.replace('targetNamespace="https://mockidm.dev/t"',
                        f'targetNamespace="{category}"')


@pytest.fixture(scope="module")
def served():
    with MockIDM().serve() as mock:
        # BPMN's targetNamespace is the definition's category (Activiti and Flowable alike).
        mock.deploy_bpmn(_with_category(_catch("waitMessage", "Wait for a message", "message"),
                                        "catA"), "m.bpmn20.xml")
        for _ in range(2):  # `sig` runs on version 2
            mock.deploy_bpmn(_with_category(_catch("waitSignal", "Wait for a signal", "signal"),
                                            "catB"), "s.bpmn20.xml")
        mock.deploy_bpmn(_with_category(FORK, "catC"), "f.bpmn20.xml")
        mock.freeze_time(datetime(2026, 1, 1, tzinfo=UTC))
        msg = mock.start_process("waitMessage", business_key="k1", user="alice",
                                 variables={"color": "red", "n": 5})
        mock.freeze_time(datetime(2026, 1, 2, tzinfo=UTC))
        sig = mock.start_process("waitSignal", business_key="k2",
                                 variables={"color": "blue"})
        mock.freeze_time(datetime(2026, 1, 3, tzinfo=UTC))
        fork = mock.start_process("fork", business_key="k3", variables={"color": "red"})
        branches = {activity: execution for execution, activity in fork.executions.items()}
        yield mock, {"msg": msg.id, "sig": sig.id, "fork": fork.id,
                     "forkA": branches["a"], "forkB": branches["b"],
                     "sigDefinition": sig.definition.id}


def get(mock: MockIDM, params: str) -> requests.Response:
    return requests.get(f"{mock.url}/workflow/execution?_queryId=filtered-query&{params}",
                        headers=mock.admin_headers, timeout=10)


def found(served, params: str) -> list[str]:
    mock, named = served
    response = get(mock, params.format(**named))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resultCount"] == len(body["result"])
    by_id = {v: k for k, v in named.items() if k not in ("fork", "sigDefinition")}
    return sorted(by_id[item["_id"]] for item in body["result"])


def test_the_setup_waits_in_four_executions(served):
    assert found(served, "") == ["forkA", "forkB", "msg", "sig"]


@pytest.mark.parametrize(("params", "expected"), [
    ("executionId={forkA}", ["forkA"]),
    ("executionParentId={fork}", ["forkA", "forkB"]),
    ("processDefinitionCategory=catA", ["msg"]),
    ("processDefinitionId={sigDefinition}", ["sig"]),
    ("processDefinitionKey=waitSignal", ["sig"]),
    ("processDefinitionName=Wait for a message", ["msg"]),
    ("processDefinitionVersion=2", ["sig"]),
    ("processInstanceBusinessKey=k1", ["msg"]),
    ("processInstanceId={fork}", ["forkA", "forkB"]),
    ("activityId=a", ["forkA"]),
    ("signalName=go", ["sig"]),  # the message named "go" is the decoy
    ("messageName=go", ["msg"]),  # and the signal named "go" here
    ("startedBefore=2026-01-01T12:00:00Z", ["msg"]),
    ("startedAfter=2026-01-02T12:00:00Z", ["forkA", "forkB"]),
    ("startedBy=alice", ["msg"]),
    ("processVariableName=color&processVariableValue=red", ["forkA", "forkB", "msg"]),
    ("processVariableName=color&processVariableValue=blue", ["sig"]),
    ("processVariableName=color&processVariableValue=red&processVariableValueType=string",
     ["forkA", "forkB", "msg"]),
    ("processVariableName=color&processVariableValue=red&processVariableOperator=NOT_EQUALS",
     ["sig"]),
    ("variableName=color&variableValue=red", ["msg"]),  # the branches have no local variable
    ("variableName=color&variableValue=blue", ["sig"]),
    ("variableName=color&variableValue=red&variableValueType=string", ["msg"]),
    ("variableName=color&variableOperator=EXISTS", ["msg", "sig"]),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_filter_keeps_only_what_it_names(served, params, expected):
    assert found(served, params) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ("messageName=doesNotExist", []),
    ("signalName=doesNotExist", []),
    ("processDefinitionVersion=3", []),
    ("executionParentId={msg}", []),  # a root execution is nobody's child here
    ("startedBy=openidm-admin", ["sig"]),  # the fork's branches carry no start user
    ("processVariableName=n&processVariableValue=5", []),  # a number is not the text "5"
    ("processVariableName=color&processVariableValue=R%&processVariableOperator=LIKE", []),
    ("processVariableName=color&processVariableValue=R%"
     "&processVariableOperator=LIKE_IGNORE_CASE", ["forkA", "forkB", "msg"]),
    ("processVariableName=color&processVariableValue=RED"
     "&processVariableOperator=EQUALS_IGNORE_CASE", ["forkA", "forkB", "msg"]),
    ("processVariableName=color&processVariableValue=c&processVariableOperator=GREATER_THAN",
     ["forkA", "forkB", "msg"]),  # text order: "red" > "c" > "blue"
    ("processVariableName=n&processVariableOperator=NOT_EXISTS", ["forkA", "forkB", "sig"]),
    ("startedAfter=2026-01-02T00:00:00Z", ["forkA", "forkB", "sig"]),  # inclusive
    ("messageName=go&processInstanceBusinessKey=k2", []),  # filters combine with AND
    ("bogus=1", ["forkA", "forkB", "msg", "sig"]),  # unknown parameters are ignored
])
def test_filter_edges(served, params, expected):
    assert found(served, params) == expected


def assert_error(response: requests.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == status
    assert response.json()["message"] == html_escape(message)  # IDM escapes its messages


def test_a_version_that_is_no_number_fails_as_java_parsing_does(served):
    response = get(served[0], "processDefinitionVersion=two")
    assert response.status_code == 500
    assert "processDefinitionVersion" in response.json()["message"]


@pytest.mark.parametrize("name", ["startedBefore", "startedAfter"])
def test_a_date_the_mock_cannot_read_is_refused_naming_the_parameter(served, name):
    assert_error(get(served[0], f"{name}=yesterday"), 400,
                 f"The value 'yesterday' of {name} is not an ISO 8601 date "
                 "(mockidm reads no other form)")


@pytest.mark.parametrize("prefix", ["processVariable", "variable"])
def test_an_operator_flowable_does_not_know_fails(served, prefix):
    response = get(served[0], f"{prefix}Name=color&{prefix}Value=red&{prefix}Operator=eq")
    assert response.status_code == 500  # QueryOperator has no such name
    assert f"{prefix}Operator" in response.json()["message"]


@pytest.mark.parametrize("prefix", ["processVariable", "variable"])
def test_what_the_mock_cannot_know_is_refused_naming_it(served, prefix):
    mock = served[0]
    response = get(mock, f"{prefix}Name=n&{prefix}Value=5&{prefix}ValueType=long")
    assert_error(response, 501, f"mockidm cannot honour {prefix}ValueType=long: how IDM reads "
                                "it is not public; leave it out (or say string) to compare the "
                                "value as text")
    assert_error(get(mock, f"{prefix}Value=red"), 501,
                 f"mockidm needs {prefix}Name with {prefix}Value: what IDM answers without it "
                 "is not public")
    assert_error(get(mock, f"{prefix}Name=color&{prefix}Operator=LIKE"), 501,
                 f"mockidm needs {prefix}Value with {prefix}Operator=LIKE: what IDM answers "
                 "without it is not public")
