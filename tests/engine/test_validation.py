"""The one check of a process model: the BPMN loader and `Engine.deploy` refuse the same models."""

from __future__ import annotations

import re

import pytest

from mockidm.engine import DefinitionError, Engine, linear_process
from mockidm.engine.bpmn import BpmnError, load_bpmn
from mockidm.engine.interpreter import KINDS, Interpreter
from mockidm.engine.model import (
    END_EVENT,
    EXCLUSIVE_GATEWAY,
    START_EVENT,
    Flow,
    Node,
    ProcessModel,
)
from mockidm.engine.validation import Code, InvalidModel, check_model, problems


def line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


def gateway_model(default: str | None, *flows: Flow) -> ProcessModel:
    """start -> gw -> (flows) -> end, as the loader builds it from BPMN."""
    nodes = [Node("start", START_EVENT), Node("gw", EXCLUSIVE_GATEWAY, default_flow=default),
             Node("end", END_EVENT)]
    return ProcessModel("p", None, {node.id: node for node in nodes},
                        (Flow("in", "start", "gw"), *flows))


def bpmn_of(model: ProcessModel) -> str:
    """The same model written as a BPMN file."""
    nodes = "".join(
        f'<{n.kind} id="{n.id}"' + (f' default="{n.default_flow}"' if n.default_flow else "")
        + "/>\n" for n in model.nodes.values())
    flows = "".join(
        f'<sequenceFlow id="{f.id}" sourceRef="{f.source}" targetRef="{f.target}">'
        + (f"<conditionExpression>{f.condition}</conditionExpression>" if f.condition else "")
        + "</sequenceFlow>\n" for f in model.flows)
    return ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">\n'
            f'<process id="{model.key}">\n{nodes}{flows}</process>\n</definitions>\n')


YES = Flow("yes", "gw", "end", "${ok}")
NO = Flow("no", "gw", "end")
GATEWAYS = {
    "lone conditional flow": (
        gateway_model(None, YES),
        "exclusive gateway 'gw' has only one outgoing sequence flow, which may not have a "
        "condition"),
    "dead end": (gateway_model(None), "exclusive gateway 'gw' has no outgoing sequence flow"),
    "missing default": (
        gateway_model("gone", YES, NO),
        "exclusive gateway 'gw': its default flow 'gone' does not exist"),
    "foreign default": (
        gateway_model("in", YES, NO),
        "exclusive gateway 'gw': its default flow 'in' is not one of its outgoing sequence "
        "flows"),
    "conditional default": (
        gateway_model("yes", YES, NO),
        "exclusive gateway 'gw': its default flow 'yes' has a condition, which is not allowed"),
}


@pytest.mark.parametrize("model, problem", GATEWAYS.values(), ids=GATEWAYS.keys())
def test_a_gateway_the_loader_refuses_is_refused_by_deploy(model: ProcessModel,
                                                          problem: str) -> None:
    # Engine.deploy once accepted these: the first instance then failed with "No outgoing
    # sequence flow".
    with pytest.raises(BpmnError, match=f": {re.escape(problem)}$"):
        load_bpmn(bpmn_of(model), "p.bpmn20.xml")
    engine = Engine()
    engine.deploy(linear_process("fine"))
    before = (engine.ids.next_value, list(engine.store.deployments),
              list(engine.store.definitions))
    with pytest.raises(DefinitionError, match=f"^process 'p': {re.escape(problem)}$"):
        engine.deploy([linear_process("other"), model], name="both")
    # Nothing of the deployment is left: no deployment, no definition, no id taken.
    assert (engine.ids.next_value, list(engine.store.deployments),
            list(engine.store.definitions)) == before
    assert [d.key for d in engine.definitions()] == ["fine"]


def test_the_loader_reports_a_gateway_problem_at_the_line_of_the_flow_it_names() -> None:
    text = bpmn_of(gateway_model(None, YES))
    with pytest.raises(BpmnError) as refused:
        load_bpmn(text, "p.bpmn20.xml")
    assert refused.value.line == line_of(text, '<sequenceFlow id="yes"')
    # A flow without an id is not named: the gateway's line, which the message names.
    text = text.replace('<sequenceFlow id="yes" ', "<sequenceFlow ")
    with pytest.raises(BpmnError) as refused:
        load_bpmn(text, "p.bpmn20.xml")
    assert refused.value.line == line_of(text, '<exclusiveGateway id="gw"')


def test_the_gateway_models_are_sound_once_mended() -> None:
    check_model(gateway_model("no", YES, NO))
    (loaded,) = load_bpmn(bpmn_of(gateway_model("no", YES, NO)), "p.bpmn20.xml")
    assert loaded.nodes["gw"].default_flow == "no"


def model_of(*nodes: Node, flows: tuple[Flow, ...] = ()) -> ProcessModel:
    return ProcessModel("p", None, {node.id: node for node in nodes}, flows)


START, END = Node("start", START_EVENT), Node("end", END_EVENT)
DEPLOY = {  # what Engine.deploy has always said
    "no start": (model_of(END), "process 'p' must have exactly one start event"),
    "two starts": (model_of(START, Node("again", START_EVENT), END,
                            flows=(Flow("f", "start", "end"),)),
                   "process 'p' must have exactly one start event"),
    "unknown target": (model_of(START, END, flows=(Flow("f", "start", "nowhere"),)),
                       "process 'p': sequence flow 'f' refers to unknown element 'nowhere'"),
    "unsupported kind": (model_of(START, Node("gate", "complexGateway"), END),
                         "process 'p': element 'gate' of type complexGateway is not supported"),
    "bad condition": (model_of(START, END, flows=(Flow("f", "start", "end", "${a ==}"),)),
                      "process 'p': Cannot compile"),
}


@pytest.mark.parametrize("model, message", DEPLOY.values(), ids=DEPLOY.keys())
def test_deploy_words_problems_as_it_always_did(model: ProcessModel, message: str) -> None:
    with pytest.raises(DefinitionError, match=f"^{re.escape(message)}"):
        Engine().deploy(model)


def test_a_problem_names_its_element_and_field() -> None:
    model = model_of(START, END, flows=(Flow("f", "start", "end", "${a ==}"),
                                        Flow("g", "ghost", "end")))
    found = list(problems(model))
    assert [(p.code, p.element, p.field) for p in found] == [
        (Code.BAD_CONDITION, "f", "condition"), (Code.UNKNOWN_ELEMENT, "g", "source")]
    assert found[0].message == f"sequence flow 'f': {found[0].detail}"
    assert found[1].detail == "unknown node 'ghost'"
    with pytest.raises(InvalidModel) as refused:
        check_model(model)
    assert refused.value.problem == found[0]


def test_the_supported_kinds_are_the_interpreters_behaviours() -> None:
    assert set(Interpreter.behaviours) == KINDS
    for kind in KINDS:
        found = problems(model_of(START, Node("n", kind)))
        assert Code.UNSUPPORTED_KIND not in {p.code for p in found}
