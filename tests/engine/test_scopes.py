"""Sub-processes, error events and call activities in the engine, without HTTP: what the loader
and the validator refuse, errors nothing catches, failed commands across a parent and its child,
and snapshots taken inside a sub-process and while a parent waits on its child."""

from __future__ import annotations

import json

import pytest

from mockidm.engine import Engine, EngineError, ObjectNotFound
from mockidm.engine.bpmn import BpmnError
from mockidm.engine.model import ProcessInstance, Task
from mockidm.engine.snapshot import dump_engine, load_engine


def document(body: str, errors: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  {errors}
  <process id="p" isExecutable="true">
    {body}
  </process>
</definitions>
"""


def sub_process(inside: str, after: str = "") -> str:
    """start -> stage (a sub-process holding `inside`) -> done, and `after`."""
    return f"""
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="stage"/>
    <subProcess id="stage">{inside}</subProcess>
    <sequenceFlow id="f9" sourceRef="stage" targetRef="done"/>
    <endEvent id="done"/>
    {after}"""


WAIT_INSIDE = """
      <startEvent id="in"/>
      <sequenceFlow id="f1" sourceRef="in" targetRef="work"/>
      <userTask id="work"/>
      <sequenceFlow id="f2" sourceRef="work" targetRef="out"/>
      <endEvent id="out"/>"""


def active(engine: Engine, instance: ProcessInstance) -> dict[str, Task]:
    return {t.key: t for t in engine.tasks_of(instance.id) if t.active}


# what deploys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body, problem", [
    (sub_process('<userTask id="work"/>'), "sub-process 'stage' has no start event"),
    (sub_process('<startEvent id="a"/><startEvent id="b"/>'),
     "sub-process 'stage' has more than one start event ('a', 'b'): multiple start events are "
     "not supported for a sub-process"),
    (sub_process(WAIT_INSIDE.replace('targetRef="out"', 'targetRef="done"')),
     "sequence flow 'f2': its target 'done' isn't defined in the same scope as its source "
     "'work'"),
    (sub_process(WAIT_INSIDE, '<boundaryEvent id="b" attachedToRef="work">'
                              '<errorEventDefinition/></boundaryEvent>'),
     "boundary event 'b' is attached to 'work', which is no activity of its scope"),
    (sub_process(WAIT_INSIDE, '<boundaryEvent id="b" attachedToRef="stage">'
                              '<timerEventDefinition/></boundaryEvent>'),
     "element 'boundaryEvent' (id 'b'): a timer needs exactly one of timeDate, timeDuration "
     "and timeCycle"),
    ('<startEvent id="start"/><callActivity id="call"/>',
     "element 'callActivity' (id 'call'): attribute 'calledElement' is required"),
    ('<startEvent id="start"/><callActivity id="call" calledElement="x">'
     '<extensionElements><activiti:in source="a"/></extensionElements></callActivity>',
     "activiti:in needs a target and exactly one of source and sourceExpression"),
    ('<startEvent id="start"/><callActivity id="call" calledElement="${a +}"/>',
     "Cannot compile expression"),
])
def test_what_the_loader_and_the_validator_refuse(body: str, problem: str) -> None:
    with pytest.raises(BpmnError) as caught:
        Engine().deploy_bpmn(document(body))
    assert problem in str(caught.value)
    assert caught.value.line is not None


# errors ----------------------------------------------------------------------------------------


def test_an_error_nothing_catches_fails_the_command_and_changes_nothing() -> None:
    engine = Engine()
    engine.deploy_bpmn(document(sub_process("""
      <startEvent id="in"/>
      <sequenceFlow id="f1" sourceRef="in" targetRef="work"/>
      <userTask id="work"/>
      <sequenceFlow id="f2" sourceRef="work" targetRef="fail"/>
      <endEvent id="fail"><errorEventDefinition errorRef="oops"/></endEvent>""")))
    instance = engine.start(key="p")
    work = active(engine, instance)["work"]
    with pytest.raises(EngineError) as caught:
        engine.complete(work.id, {"seen": True})
    assert caught.value.message == (
        "No catching boundary event found for error with errorCode 'oops', neither in same "
        "process nor in parent process")  # the errorRef is the code: no <error> declares it
    assert work.active and "seen" not in instance.variables
    assert instance.executions == {instance.id: "stage", work.execution_id: "work"}
    assert instance.parents == {work.execution_id: instance.id}


def test_a_catcher_elsewhere_gives_flowables_other_message() -> None:
    engine = Engine()
    engine.deploy_bpmn(document(f"""
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="g1" sourceRef="fork" targetRef="stage"/>
    <sequenceFlow id="g2" sourceRef="fork" targetRef="fail"/>
    <subProcess id="stage">{WAIT_INSIDE}</subProcess>
    <boundaryEvent id="caught" attachedToRef="stage"><errorEventDefinition/></boundaryEvent>
    <endEvent id="fail"><errorEventDefinition errorRef="e"/></endEvent>""",
                                errors='<error id="e" errorCode="E1"/>'))
    with pytest.raises(EngineError, match=r"^No matching parent execution for error code E1 "
                                          r"found$"):
        engine.start(key="p")
    assert engine.store.instances == {}  # the start left nothing behind


# call activities -------------------------------------------------------------------------------

CALLER = """
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="call"/>
    <callActivity id="call" calledElement="{called}" activiti:businessKey="{business_key}">
      <extensionElements><activiti:out sourceExpression="${{size}}" target="size"/>
      </extensionElements>
    </callActivity>
    <sequenceFlow id="f1" sourceRef="call" targetRef="after"/>
    <userTask id="after"/>
    <sequenceFlow id="f2" sourceRef="after" targetRef="end"/>
    <endEvent id="end"/>"""

CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="callee" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="step"/>
    <userTask id="step"/>
    <sequenceFlow id="f1" sourceRef="step" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def caller(called: str = "callee", business_key: str = "${order}") -> str:
    return document(CALLER.format(called=called, business_key=business_key))


def child_of(engine: Engine, parent: ProcessInstance) -> ProcessInstance:
    [child] = [i for i in engine.store.running.values() if i.super_instance_id == parent.id]
    return child


def test_the_called_key_may_be_an_expression_and_takes_the_latest_version() -> None:
    engine = Engine()
    engine.deploy_bpmn(caller("${which}"))
    engine.deploy_bpmn(CALLEE)
    [latest] = engine.deploy_bpmn(CALLEE.replace('id="step"', 'id="step" name="v2"'))
    parent = engine.start(key="p", variables={"which": "callee", "order": 42}, user="ann")
    child = child_of(engine, parent)
    assert (child.definition.id, child.business_key, child.start_user) == (latest.id, "42",
                                                                         "ann")
    assert child.variables == {}  # no initiator, no in mappings: nothing
    assert child.super_execution == parent.id and parent.executions == {parent.id: "call"}


def test_a_called_key_nobody_deployed_fails_the_start() -> None:
    engine = Engine()
    engine.deploy_bpmn(caller("nowhere"))
    with pytest.raises(ObjectNotFound, match=r"^Process definition nowhere was not found in "):
        engine.start(key="p", variables={"order": 1})
    assert engine.store.instances == {}


def test_a_failure_in_the_parent_after_the_child_ends_rolls_both_back() -> None:
    engine = Engine()
    engine.deploy_bpmn(caller())
    engine.deploy_bpmn(CALLEE)
    parent = engine.start(key="p", variables={"order": 1})
    child = child_of(engine, parent)
    step = active(engine, child)["step"]
    # The out mapping reads `size`, which the child does not have: the command fails there.
    with pytest.raises(EngineError, match="size"):
        engine.complete(step.id, {"note": "x"})
    assert step.active and not child.ended and "note" not in child.variables
    assert parent.executions == {parent.id: "call"} and not active(engine, parent)
    engine.complete(step.id, {"size": 3})
    assert child.ended and parent.variables["size"] == 3
    assert set(active(engine, parent)) == {"after"}


# snapshots -------------------------------------------------------------------------------------


def round_trip(engine: Engine) -> Engine:
    return load_engine(json.loads(json.dumps(dump_engine(engine))))


def test_an_instance_inside_a_sub_process_goes_on_after_a_restore() -> None:
    engine = Engine()
    engine.deploy_bpmn(document(sub_process(WAIT_INSIDE)))
    instance = engine.start(key="p")
    restored = round_trip(engine)
    again = restored.instance(instance.id)
    assert again.parents == instance.parents and again.executions == instance.executions
    restored.complete(active(restored, again)["work"].id)
    assert again.ended and again.end_activity == "done"


def test_a_parent_waiting_on_its_child_goes_on_after_a_restore() -> None:
    engine = Engine()
    engine.deploy_bpmn(caller())
    engine.deploy_bpmn(CALLEE)
    parent = engine.start(key="p", variables={"order": 7})
    restored = round_trip(engine)
    child = child_of(restored, restored.instance(parent.id))
    assert (child.super_instance_id, child.super_execution) == (parent.id, parent.id)
    restored.complete(active(restored, child)["step"].id, {"size": 1})
    assert set(active(restored, restored.instance(parent.id))) == {"after"}


def test_a_null_business_key_expression_fails_loudly() -> None:
    engine = Engine()
    engine.deploy_bpmn(caller())
    engine.deploy_bpmn(CALLEE)
    with pytest.raises(EngineError, match=r"businessKey expression \$\{order\} of call activity "
                                          r"'call' is null"):
        engine.start(key="p", variables={"order": None})
    assert engine.store.instances == {}


def test_an_error_beside_a_call_activity_deletes_the_child_it_waits_for() -> None:
    """In a sub-process, one branch waits on a called instance while the other throws: the
    boundary event on the sub-process interrupts both, the child is deleted."""
    engine = Engine()
    engine.deploy_bpmn(CALLEE)
    engine.deploy_bpmn(document(sub_process("""
      <startEvent id="in"/>
      <sequenceFlow id="f1" sourceRef="in" targetRef="fork"/>
      <parallelGateway id="fork"/>
      <sequenceFlow id="f2" sourceRef="fork" targetRef="call"/>
      <sequenceFlow id="f3" sourceRef="fork" targetRef="check"/>
      <callActivity id="call" calledElement="callee"/>
      <userTask id="check"/>
      <sequenceFlow id="f4" sourceRef="check" targetRef="fail"/>
      <endEvent id="fail"><errorEventDefinition errorRef="e"/></endEvent>""",
                                                  """
    <boundaryEvent id="caught" attachedToRef="stage"><errorEventDefinition/></boundaryEvent>
    <sequenceFlow id="f8" sourceRef="caught" targetRef="handle"/>
    <userTask id="handle"/>""")))
    parent = engine.start(key="p")
    child = child_of(engine, parent)
    step = active(engine, child)["step"]
    engine.complete(active(engine, parent)["check"].id)
    assert child.ended and child.delete_reason == "boundary event (caught)"
    assert not step.active and step.delete_reason == "boundary event (caught)"
    assert set(active(engine, parent)) == {"handle"}
    assert parent.executions == {parent.id: "handle"} and parent.parents == {}


def test_a_sub_process_fires_its_execution_listeners_as_it_is_entered_and_left() -> None:
    engine = Engine()
    listeners = """<extensionElements>
        <activiti:executionListener event="start"
                                    expression="${execution.setVariable('in', true)}"/>
        <activiti:executionListener event="end"
                                    expression="${execution.setVariable('out', true)}"/>
      </extensionElements>"""
    engine.deploy_bpmn(document(sub_process(listeners + WAIT_INSIDE)))
    instance = engine.start(key="p")
    assert instance.variables == {"in": True}
    engine.complete(active(engine, instance)["work"].id)
    assert instance.variables == {"in": True, "out": True} and instance.ended
