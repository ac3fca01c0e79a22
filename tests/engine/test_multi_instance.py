"""Multi-instance user tasks in the engine, without HTTP: what the loader and the validator
refuse, where the loop variables live, how a failing command is undone, snapshots mid-loop.
The walks over HTTP are in tests/http/test_workflow_multi_instance.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mockidm import Engine
from mockidm.engine import EngineError
from mockidm.engine.bpmn import BpmnError
from mockidm.engine.interpreter import BOUNDARY_INTERRUPTING
from mockidm.engine.model import (
    END_EVENT,
    SERVICE_TASK,
    START_EVENT,
    Flow,
    MultiInstance,
    Node,
    ProcessInstance,
    ProcessModel,
    Task,
)
from mockidm.engine.scope import Execution
from mockidm.engine.snapshot import dump_engine, load_engine
from mockidm.engine.validation import InvalidModel


def bpmn(loop: str, task: str = 'name="Task ${loopCounter}" activiti:assignee="${who}"',
         after: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="mi" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <userTask id="task" {task}>
      {loop}
    </userTask>
    <sequenceFlow id="f2" sourceRef="task" targetRef="next"/>
    <userTask id="next" name="Next"{after}/>
    <sequenceFlow id="f3" sourceRef="next" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


PARALLEL = ('<multiInstanceLoopCharacteristics activiti:collection="people" '
            'activiti:elementVariable="who">{extra}</multiInstanceLoopCharacteristics>')
SEQUENTIAL = ('<multiInstanceLoopCharacteristics isSequential="true" activiti:collection="people" '
              'activiti:elementVariable="who">{extra}</multiInstanceLoopCharacteristics>')


def engine_with(loop: str, **kwargs: Any) -> Engine:
    engine = Engine()
    engine.deploy_bpmn(bpmn(loop, **kwargs), "mi.bpmn20.xml")
    return engine


def active(engine: Engine, instance: ProcessInstance) -> list[Task]:
    return sorted((t for t in engine.tasks_of(instance.id) if t.active), key=lambda t: int(t.id))


# --- loading and checking -----------------------------------------------------------------------


def test_the_loader_reads_every_part_of_the_loop() -> None:
    engine = engine_with(
        '<multiInstanceLoopCharacteristics isSequential="TRUE" activiti:collection="${a.b}" '
        'activiti:elementVariable="who"><loopCardinality> ${n} </loopCardinality>'
        "<completionCondition>${done}</completionCondition>"
        "</multiInstanceLoopCharacteristics>")
    [definition] = engine.definitions()
    assert definition.model.nodes["task"].multi_instance == MultiInstance(
        sequential=True, collection="${a.b}", element_variable="who", loop_cardinality="${n}",
        completion_condition="${done}")
    assert definition.model.nodes["next"].multi_instance is None


def test_the_standard_bpmn_spelling_of_the_collection_and_element_is_read() -> None:
    engine = engine_with(
        "<multiInstanceLoopCharacteristics><loopDataInputRef>people</loopDataInputRef>"
        '<inputDataItem name="who"/></multiInstanceLoopCharacteristics>')
    loop = engine.definitions()[0].model.nodes["task"].multi_instance
    assert loop == MultiInstance(collection="people", element_variable="who")


@pytest.mark.parametrize(("loop", "problem"), [
    ("<multiInstanceLoopCharacteristics/>",
     "element 'task': Either loopCardinality or loopDataInputRef/activiti:collection must been "
     "set."),
    ('<multiInstanceLoopCharacteristics activiti:elementVariable="who">'
     "<loopCardinality>2</loopCardinality></multiInstanceLoopCharacteristics>",
     "element 'task': LoopDataInputRef/activiti:collection must be set when using "
     "inputDataItem or activiti:elementVariable."),
    ("<multiInstanceLoopCharacteristics><loopCardinality>${n +}</loopCardinality>"
     "</multiInstanceLoopCharacteristics>", "Cannot compile expression '${n +}'"),
    ('<multiInstanceLoopCharacteristics activiti:collection="${people[}"/>',
     "Cannot compile expression '${people[}'"),
    ("<multiInstanceLoopCharacteristics><loopCardinality>2</loopCardinality>"
     "<completionCondition>${a = 1}</completionCondition></multiInstanceLoopCharacteristics>",
     "Cannot compile expression '${a = 1}'"),
])
def test_a_loop_the_engine_would_refuse_fails_the_deployment_at_its_line(loop: str,
                                                                         problem: str) -> None:
    with pytest.raises(BpmnError) as refused:
        Engine().deploy_bpmn(bpmn(loop), "mi.bpmn20.xml")
    assert problem in str(refused.value)
    assert refused.value.line == 7  # the user task's


def test_the_validator_refuses_a_multi_instance_node_that_is_not_a_user_task() -> None:
    nodes = [Node("start", START_EVENT),
             Node("call", SERVICE_TASK, multi_instance=MultiInstance(loop_cardinality="2")),
             Node("end", END_EVENT)]
    model = ProcessModel("m", None, {n.id: n for n in nodes},
                         (Flow("a", "start", "call"), Flow("b", "call", "end")))
    with pytest.raises(InvalidModel, match="mockidm runs multi-instance user tasks only"):
        Engine().deploy(model)


# --- where the variables live -------------------------------------------------------------------


def test_each_instance_sees_its_own_element_and_the_counters_but_the_process_does_not() -> None:
    engine = engine_with(PARALLEL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    first, second = active(engine, instance)
    assert (first.name, first.assignee, second.name, second.assignee) == (
        "Task 0", "ann", "Task 1", "ben")
    assert engine.task_variables(second) == {
        "people": ["ann", "ben"], "nrOfInstances": 2, "nrOfCompletedInstances": 0,
        "nrOfActiveInstances": 2, "who": "ben", "loopCounter": 1}
    assert instance.variables == {"people": ["ann", "ben"]}
    root = instance.loop_parents[first.execution_id]
    assert instance.loop_parents[root] == instance.id
    assert instance.locals[root] == {"nrOfInstances": 2, "nrOfCompletedInstances": 0,
                                     "nrOfActiveInstances": 2}
    # the execution that arrived waits in the activity while its instances run
    assert instance.executions == {instance.id: "task", first.execution_id: "task",
                                   second.execution_id: "task"}


def test_the_element_is_visible_to_execution_methods_and_local_ones_see_only_their_own() -> None:
    engine = engine_with(
        PARALLEL.format(extra=""),
        task='activiti:assignee="${execution.getVariable(\'who\')}" '
             'name="${execution.getVariableLocal(\'nrOfInstances\')} '
             '${execution.getVariableLocal(\'who\')}"')
    instance = engine.start(key="mi", variables={"people": ["ann"]})
    [task] = active(engine, instance)
    assert (task.assignee, task.name) == ("ann", " ann")  # null writes as '' in text


def test_an_instances_execution_knows_its_parent_and_removes_its_own_variable_first() -> None:
    engine = engine_with(PARALLEL.format(extra=""),
                         task='activiti:assignee="${who}" name="${execution.parentId}"')
    instance = engine.start(key="mi", variables={"people": ["ann"], "who": "outer"})
    [task] = active(engine, instance)
    assert task.name == instance.loop_parents[task.execution_id]  # the loop's root
    execution = Execution(instance, task.execution_id, "task")
    execution.remove_variable("who")  # the instance's own, not the process's
    assert "who" not in instance.locals[task.execution_id]
    assert instance.variables["who"] == "outer"
    execution.remove_variable("people")
    assert "people" not in instance.variables


def test_completing_with_a_variable_an_instance_holds_sets_the_instances_own() -> None:
    """VariableScopeImpl.setVariable: where the execution (or one above it) has the name."""
    engine = engine_with(PARALLEL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    first, second = active(engine, instance)
    engine.complete(first.id, {"who": "changed", "nrOfInstances": 2, "verdict": "ok"})
    assert instance.variables == {"people": ["ann", "ben"], "verdict": "ok"}
    assert engine.task_variables(second)["who"] == "ben"


def test_when_the_loop_ends_its_executions_and_their_variables_are_gone() -> None:
    engine = engine_with(SEQUENTIAL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    for _ in range(2):
        [task] = active(engine, instance)
        engine.complete(task.id)
    [after] = active(engine, instance)
    assert after.key == "next" and after.execution_id == instance.id
    assert instance.locals == {} and instance.loop_parents == {}
    assert engine.task_variables(after) == {"people": ["ann", "ben"]}


def test_a_sequential_loop_reads_the_collection_again_for_each_instance() -> None:
    """Flowable resolves the collection each time it runs an instance."""
    engine = engine_with(SEQUENTIAL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    [task] = active(engine, instance)
    engine.complete(task.id, {"people": ["ann", "zed"]})
    [task] = active(engine, instance)
    assert task.assignee == "zed"


def test_a_collection_shorter_than_the_loop_fails_the_complete_that_reaches_the_gap() -> None:
    engine = engine_with(SEQUENTIAL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    [task] = active(engine, instance)
    with pytest.raises(EngineError, match="has no element 1 any more"):
        engine.complete(task.id, {"people": ["ann"]})
    assert task.active and instance.variables["people"] == ["ann", "ben"]


def test_a_sequential_completion_condition_stops_before_the_next_instance() -> None:
    engine = engine_with(SEQUENTIAL.format(
        extra="<completionCondition>${veto}</completionCondition>"))
    instance = engine.start(key="mi", variables={"people": ["a", "b", "c"], "veto": False})
    [task] = active(engine, instance)
    engine.complete(task.id, {"veto": True})
    assert [t.key for t in active(engine, instance)] == ["next"]
    assert [t.assignee for t in engine.tasks_of(instance.id) if t.key == "task"] == ["a"]


COUNTING = ('<extensionElements>'
            '<activiti:executionListener event="start" '
            'expression="${execution.setVariable(\'starts\', starts + 1)}"/>'
            '<activiti:executionListener event="end" '
            'expression="${execution.setVariable(\'ends\', ends + 1)}"/>'
            '</extensionElements>')


@pytest.mark.parametrize(("loop", "ends"), [(PARALLEL, 3 + 1), (SEQUENTIAL, 2 + 1)])
def test_execution_listeners_fire_per_instance_and_for_the_activity(loop: str, ends: int) -> None:
    """start: as the token arrives, then for each instance after the first; end: after each
    instance (a sequential loop's last excepted), then as the token leaves."""
    engine = engine_with(COUNTING + loop.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["a", "b", "c"], "starts": 0,
                                                 "ends": 0})
    assert instance.variables["starts"] == (3 if loop is PARALLEL else 1)
    while [t for t in active(engine, instance) if t.key == "task"]:
        engine.complete(active(engine, instance)[0].id)
    assert (instance.variables["starts"], instance.variables["ends"]) == (3, ends)


# --- failures undo the command ------------------------------------------------------------------


def test_a_completion_condition_that_is_not_a_boolean_fails_the_complete_and_changes_nothing(
        ) -> None:
    engine = engine_with(PARALLEL.format(
        extra="<completionCondition>${verdict}</completionCondition>"))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    first, _ = active(engine, instance)
    before = (dict(instance.variables), {k: dict(v) for k, v in instance.locals.items()},
              dict(instance.executions))
    with pytest.raises(EngineError, match=r"^completionCondition '\$\{verdict\}' does not "
                                          r"evaluate to a boolean value$"):
        engine.complete(first.id, {"verdict": "yes"})
    assert (instance.variables, instance.locals, instance.executions) == before
    assert first.active
    engine.complete(first.id, {"verdict": False})
    assert instance.locals[instance.loop_parents[first.execution_id]][
        "nrOfCompletedInstances"] == 1


def test_an_instance_that_fails_fails_the_start_and_leaves_no_task() -> None:
    engine = engine_with(PARALLEL.format(extra=""), task='activiti:assignee="${who.id}"')
    with pytest.raises(EngineError, match=r"^Unknown property used in expression: \$\{who\.id\}$"):
        engine.start(key="mi", variables={"people": [{"id": "ann"}, "ben"]})
    assert engine.store.instances == {}
    assert engine.store.tasks == {}


def test_deleting_the_instance_ends_every_waiting_instance() -> None:
    engine = engine_with(PARALLEL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    engine.delete_instance(instance.id, "gone")
    assert [t.delete_reason for t in engine.tasks_of(instance.id)] == ["gone", "gone"]
    assert instance.ended


def test_a_loop_can_be_cancelled_as_a_boundary_event_would_cancel_it() -> None:
    engine = engine_with(PARALLEL.format(extra=""))
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    assert engine.interpreter.cancel_instances(instance, "nobody", "x") is False
    assert engine.interpreter.cancel_instances(instance, instance.id, "boundary") is True
    assert [t.delete_reason for t in engine.tasks_of(instance.id)] == ["boundary", "boundary"]
    assert (instance.executions, instance.locals, instance.loop_parents) == ({}, {}, {})


# --- snapshots ----------------------------------------------------------------------------------


def test_a_loop_under_way_survives_a_snapshot_and_carries_on() -> None:
    engine = engine_with(PARALLEL.format(
        extra="<completionCondition>${nrOfCompletedInstances >= 2}</completionCondition>"))
    instance = engine.start(key="mi", variables={"people": ["a", "b", "c"]})
    first, _, _ = active(engine, instance)
    engine.complete(first.id)
    restored = load_engine(dump_engine(engine))
    again = restored.instance(instance.id)
    assert again.locals == instance.locals and again.loop_parents == instance.loop_parents
    _, third = active(restored, again)
    restored.complete(third.id)
    assert [(t.assignee, t.delete_reason) for t in restored.tasks_of(instance.id)
            if t.key == "task"] == [("a", "completed"), ("b", "MI_END"), ("c", "completed")]
    assert [t.key for t in active(restored, again)] == ["next"]


# --- inside a sub-process -----------------------------------------------------------------------


def scoped(inside_after_loop: str = "", errors: str = "", boundary: str = "") -> str:
    """start -> stage (sub-process: a fork to a parallel loop `review` and to `check`, which
    may throw) -> done; `boundary` on the stage."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  {errors}
  <process id="mi" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="stage"/>
    <subProcess id="stage">
      <startEvent id="in"/>
      <sequenceFlow id="f1" sourceRef="in" targetRef="fork"/>
      <parallelGateway id="fork"/>
      <sequenceFlow id="f2" sourceRef="fork" targetRef="review"/>
      <sequenceFlow id="f3" sourceRef="fork" targetRef="check"/>
      <userTask id="review" activiti:assignee="${{who}}">
        <multiInstanceLoopCharacteristics activiti:collection="people"
            activiti:elementVariable="who"/>
      </userTask>
      <sequenceFlow id="f4" sourceRef="review" targetRef="reviewed"/>
      <endEvent id="reviewed"/>
      <userTask id="check"/>
      <sequenceFlow id="f5" sourceRef="check" targetRef="checked"/>
      {inside_after_loop or '<endEvent id="checked"/>'}
    </subProcess>
    {boundary}
    <sequenceFlow id="f9" sourceRef="stage" targetRef="done"/>
    <userTask id="done"/>
  </process>
</definitions>
"""


def test_a_loop_inside_a_sub_process_ends_it_with_its_last_instance() -> None:
    engine = Engine()
    engine.deploy_bpmn(scoped(), "mi.bpmn20.xml")
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    tasks = active(engine, instance)
    assert [t.key for t in tasks] == ["review", "review", "check"]
    engine.complete(tasks[2].id)
    engine.complete(tasks[0].id)
    assert [t.key for t in active(engine, instance)] == ["review"]
    engine.complete(tasks[1].id)
    assert [t.key for t in active(engine, instance)] == ["done"]
    assert instance.locals == {} and instance.loop_parents == {}


def test_an_error_that_leaves_the_sub_process_deletes_the_loops_open_tasks() -> None:
    """The boundary event cancels the sub-process, and with it the loop running inside."""
    engine = Engine()
    engine.deploy_bpmn(scoped(
        inside_after_loop='<endEvent id="checked"><errorEventDefinition errorRef="bad"/>'
                          '</endEvent>',
        errors='<error id="bad" errorCode="BAD"/>',
        boundary='<boundaryEvent id="failed" attachedToRef="stage"><errorEventDefinition '
                 'errorRef="bad"/></boundaryEvent>'
                 '<sequenceFlow id="f8" sourceRef="failed" targetRef="fallback"/>'
                 '<userTask id="fallback"/>'), "mi.bpmn20.xml")
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    review, _, check = active(engine, instance)
    engine.complete(review.id)
    engine.complete(check.id)
    assert [t.key for t in active(engine, instance)] == ["fallback"]
    reasons = {t.assignee: t.delete_reason for t in engine.tasks_of(instance.id)
               if t.key == "review"}
    assert reasons == {"ann": "completed", "ben": f"{BOUNDARY_INTERRUPTING} (failed)"}
    assert instance.locals == {} and instance.loop_parents == {}
    assert list(instance.executions.values()) == ["fallback"]


# --- a timer on the loop's activity -------------------------------------------------------------

TIMER = ('<boundaryEvent id="late" attachedToRef="task"><timerEventDefinition>'
         '<timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>'
         '<sequenceFlow id="f9" sourceRef="late" targetRef="escalate"/>'
         '<userTask id="escalate"/>')


def timed_engine() -> Engine:
    engine = Engine()
    engine.deploy_bpmn(bpmn(PARALLEL.format(extra="")).replace(
        '<endEvent id="end"/>', '<endEvent id="end"/>' + TIMER), "mi.bpmn20.xml")
    engine.clock.freeze(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    return engine


def test_a_boundary_timer_on_the_loop_ends_every_open_instance() -> None:
    engine = timed_engine()
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    assert len(engine.jobs()) == 1  # armed once, for the execution that arrived
    first, _ = active(engine, instance)
    engine.complete(first.id)
    engine.move_clock(engine.clock.now() + timedelta(hours=1))
    assert [t.key for t in active(engine, instance)] == ["escalate"]
    assert [t.delete_reason for t in engine.tasks_of(instance.id) if t.key == "task"] == [
        "completed", f"{BOUNDARY_INTERRUPTING} (late)"]
    assert instance.locals == {} and instance.loop_parents == {}


def test_a_loop_that_completes_takes_its_timer_with_it() -> None:
    engine = timed_engine()
    instance = engine.start(key="mi", variables={"people": ["ann", "ben"]})
    for task in active(engine, instance):
        engine.complete(task.id)
    assert [t.key for t in active(engine, instance)] == ["next"]
    assert engine.jobs() == []
