"""Timer events, jobs and boundary events in the engine, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mockidm.engine import Engine, EngineError
from mockidm.engine.jobs import DEFAULT_RETRIES, RETRY_WAIT
from mockidm.engine.snapshot import dump_engine, load_engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HEAD = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">')


def process(body: str, key: str = "p", declarations: str = "") -> str:
    return (f'{HEAD}{declarations}<process id="{key}" isExecutable="true">{body}</process>'
            "</definitions>")


def engine_with(text: str) -> Engine:
    engine = Engine()
    engine.clock.freeze(T0)
    engine.deploy_bpmn(text)
    return engine


def advance(engine: Engine, **delta: float) -> list[str]:
    engine.clock.advance(timedelta(**delta))
    return [run.job.activity for run in engine.fire_due_jobs()]


def active(engine: Engine, instance_id: str) -> list[str]:
    return sorted(t.key for t in engine.tasks_of(instance_id) if t.active)


def timer(kind: str, value: str) -> str:
    return f"<timerEventDefinition><{kind}>{value}</{kind}></timerEventDefinition>"


ESCALATION = process(f"""
  <startEvent id="start"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
  <userTask id="approve" name="Approve" activiti:assignee="manager"/>
  <boundaryEvent id="escalate" attachedToRef="approve" cancelActivity="true">
    {timer("timeDuration", "PT${hours}H")}</boundaryEvent>
  <sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  <sequenceFlow id="f3" sourceRef="escalate" targetRef="escalated"/>
  <userTask id="escalated" name="Escalated" activiti:assignee="admin"/>
  <sequenceFlow id="f4" sourceRef="escalated" targetRef="end"/>
  <endEvent id="end"/>""")


def test_an_interrupting_boundary_timer_cancels_the_task_when_due() -> None:
    engine = engine_with(ESCALATION)
    instance = engine.start(key="p", variables={"hours": 72})
    [job] = engine.jobs()
    assert (job.activity, job.instance_id, job.due_date) == (
        "escalate", instance.id, T0 + timedelta(hours=72))
    assert job.execution_id == instance.id and job.retries == DEFAULT_RETRIES
    assert advance(engine, hours=71) == []
    assert active(engine, instance.id) == ["approve"]
    assert advance(engine, hours=2) == ["escalate"]
    assert active(engine, instance.id) == ["escalated"]
    [approve] = [t for t in engine.tasks_of(instance.id) if t.key == "approve"]
    assert approve.delete_reason == "boundary event (escalate)"
    assert engine.jobs() == []


def test_completing_the_task_first_deletes_its_timer() -> None:
    engine = engine_with(ESCALATION)
    instance = engine.start(key="p", variables={"hours": 1})
    [task] = [t for t in engine.tasks_of(instance.id) if t.active]
    engine.complete(task.id)
    assert engine.jobs() == [] and instance.ended
    assert advance(engine, hours=5) == []


def test_a_timer_expression_that_fails_fails_the_start() -> None:
    engine = engine_with(ESCALATION)
    with pytest.raises(EngineError, match="hours"):
        engine.start(key="p")
    assert engine.jobs() == [] and not engine.store.running


def test_execute_job_fires_it_early() -> None:
    engine = engine_with(ESCALATION)
    instance = engine.start(key="p", variables={"hours": 72})
    [job] = engine.jobs()
    run = engine.execute_job(job.id)
    assert run.error is None and active(engine, instance.id) == ["escalated"]


NON_INTERRUPTING = process(f"""
  <startEvent id="start"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <userTask id="review"/>
  <boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
    {timer("timeCycle", "R2/PT1H")}</boundaryEvent>
  <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  <sequenceFlow id="f3" sourceRef="remind" targetRef="reminder"/>
  <userTask id="reminder"/>
  <sequenceFlow id="f4" sourceRef="reminder" targetRef="end2"/>
  <endEvent id="end"/><endEvent id="end2"/>""")


def test_a_non_interrupting_cycle_fires_its_repetitions_and_keeps_the_task() -> None:
    engine = engine_with(NON_INTERRUPTING)
    instance = engine.start(key="p")
    assert advance(engine, minutes=59) == []
    assert advance(engine, hours=5) == ["remind", "remind"]  # R2: two firings, no more
    assert active(engine, instance.id) == ["reminder", "reminder", "review"]
    assert engine.jobs() == []


def test_jobs_fire_in_due_order_each_in_its_own_transaction() -> None:
    engine = engine_with(ESCALATION)
    late = engine.start(key="p", variables={"hours": 3})
    early = engine.start(key="p", variables={"hours": 2})
    runs = engine.fire_due_jobs()
    assert runs == []
    engine.clock.advance(timedelta(hours=4))
    assert [r.job.instance_id for r in engine.fire_due_jobs()] == [early.id, late.id]


INTERMEDIATE = process(f"""
  <startEvent id="start"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
  <intermediateCatchEvent id="wait">{timer("timeDate", "${until}")}</intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
  <serviceTask id="after" activiti:expression="${{missing}}" activiti:resultVariable="r"/>
  <sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <endEvent id="end"/>""")


def test_an_intermediate_timer_waits_until_its_date() -> None:
    engine = engine_with(INTERMEDIATE)
    engine.set_outputs("after", {"r": 1})
    instance = engine.start(key="p", variables={"until": "2026-03-05T00:00:00"})
    [job] = engine.jobs()
    assert job.due_date == datetime(2026, 3, 5, tzinfo=UTC)
    assert advance(engine, days=2) == [] and not instance.ended
    assert advance(engine, days=1) == ["wait"] and instance.ended


def test_a_failing_timer_is_retried_then_dead_lettered() -> None:
    engine = engine_with(INTERMEDIATE)
    instance = engine.start(key="p", variables={"until": "2026-03-02T10:00:00Z"})
    engine.clock.advance(timedelta(hours=1))
    [run] = engine.fire_due_jobs()
    assert run.error is not None and "missing" in run.error
    [job] = engine.jobs()
    assert job.retries == DEFAULT_RETRIES - 1 and job.exception_message == run.error
    assert job.due_date == engine.clock.now() + RETRY_WAIT
    assert instance.executions == {instance.id: "wait"}  # rolled back: the token still waits
    engine.clock.advance(RETRY_WAIT)
    engine.fire_due_jobs()
    engine.clock.advance(RETRY_WAIT)
    engine.fire_due_jobs()
    assert engine.jobs() == []
    [dead] = engine.jobs(dead_letter=True)
    assert dead.retries == 0 and dead.exception_stacktrace
    engine.clock.advance(timedelta(days=1))
    assert engine.fire_due_jobs() == []  # a dead-letter job waits for an explicit execute
    engine.set_outputs("after", {"r": 1})
    assert engine.execute_job(dead.id, dead_letter=True).error is None and instance.ended


def test_a_dead_letter_job_can_be_deleted() -> None:
    engine = engine_with(INTERMEDIATE)
    engine.start(key="p", variables={"until": "2026-03-02T09:00:00Z"})
    for _ in range(DEFAULT_RETRIES):
        engine.fire_due_jobs()
        engine.clock.advance(RETRY_WAIT)
    [dead] = engine.jobs(dead_letter=True)
    engine.delete_dead_letter_job(dead.id)
    assert engine.jobs(dead_letter=True) == []


START = process(f"""
  <startEvent id="start">{timer("timeCycle", "R3/PT1H")}</startEvent>
  <sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
  <userTask id="task"/>
  <sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
  <endEvent id="end"/>""", key="nightly")


def test_a_timer_start_event_starts_instances_on_its_cycle() -> None:
    engine = engine_with(START)
    [job] = engine.jobs()
    assert job.instance_id is None and job.due_date == T0 + timedelta(hours=1)
    assert advance(engine, hours=10) == ["start", "start", "start"]
    assert len(engine.store.running) == 3 and engine.jobs() == []


def test_a_new_version_replaces_the_start_timer_of_the_previous_one() -> None:
    engine = engine_with(START)
    engine.deploy_bpmn(START.replace("R3/PT1H", "R/PT2H"), "v2.bpmn20.xml")
    [job] = engine.jobs()
    assert job.definition_id.startswith("nightly:2:") and job.repeat == "R/PT2H"


def test_a_cron_cycle_is_refused_loudly() -> None:
    with pytest.raises(EngineError, match="cron"):
        engine_with(START.replace("R3/PT1H", "0 0 * * * ?"))


MESSAGES = process("""
  <startEvent id="start"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
  <userTask id="approve"/>
  <boundaryEvent id="withdrawn" attachedToRef="approve">
    <messageEventDefinition messageRef="m"/></boundaryEvent>
  <boundaryEvent id="nudged" attachedToRef="approve" cancelActivity="false">
    <signalEventDefinition signalRef="s"/></boundaryEvent>
  <sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  <sequenceFlow id="f3" sourceRef="withdrawn" targetRef="cleanup"/>
  <userTask id="cleanup"/>
  <sequenceFlow id="f4" sourceRef="cleanup" targetRef="end"/>
  <sequenceFlow id="f5" sourceRef="nudged" targetRef="nudge"/>
  <userTask id="nudge"/>
  <sequenceFlow id="f6" sourceRef="nudge" targetRef="end2"/>
  <endEvent id="end"/><endEvent id="end2"/>""",
    declarations='<message id="m" name="withdraw"/><signal id="s" name="nudge"/>')


def test_message_and_signal_boundary_events_trigger_on_delivery() -> None:
    engine = engine_with(MESSAGES)
    instance = engine.start(key="p")
    assert engine.signal_received("nudge") == 1
    assert active(engine, instance.id) == ["approve", "nudge"]
    engine.message_received("withdraw", instance.id, {"why": "gone"})
    assert active(engine, instance.id) == ["cleanup", "nudge"]
    assert instance.variables["why"] == "gone"
    with pytest.raises(EngineError, match="does not have a subscription"):
        engine.message_received("withdraw", instance.id)


def test_a_pending_timer_survives_a_snapshot() -> None:
    engine = engine_with(ESCALATION)
    instance = engine.start(key="p", variables={"hours": 72})
    restored = load_engine(json.loads(json.dumps(dump_engine(engine))))
    [job] = restored.jobs()
    assert job.due_date == T0 + timedelta(hours=72)
    restored.clock.advance(timedelta(hours=73))
    assert [r.job.activity for r in restored.fire_due_jobs()] == ["escalate"]
    assert active(restored, instance.id) == ["escalated"]


def test_a_snapshot_without_jobs_has_no_jobs_key() -> None:
    engine = engine_with(INTERMEDIATE.replace("${until}", "2026-03-03T00:00:00Z"))
    assert "jobs" not in dump_engine(engine)


def test_a_start_that_fails_after_arming_a_timer_leaves_no_job() -> None:
    failing = ESCALATION.replace('activiti:assignee="manager"', 'activiti:assignee="${nobody}"')
    engine = engine_with(failing)
    with pytest.raises(EngineError, match="nobody"):
        engine.start(key="p", variables={"hours": 1})
    assert engine.jobs() == [] and engine.store.next_due(T0 + timedelta(days=9)) is None


def test_moving_the_clock_fires_each_timer_at_its_due_time() -> None:
    engine = engine_with(INTERMEDIATE.replace("${until}", "PT1H").replace(
        '<serviceTask id="after" activiti:expression="${missing}" activiti:resultVariable="r"/>',
        '<intermediateCatchEvent id="after"><timerEventDefinition><timeDuration>PT1H'
        "</timeDuration></timerEventDefinition></intermediateCatchEvent>"))
    instance = engine.start(key="p")
    runs = engine.move_clock(T0 + timedelta(hours=5))
    # The second timer counts from the first's due time, not from where the clock went.
    assert [r.job.due_date for r in runs] == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert instance.end_time == T0 + timedelta(hours=2)
    assert engine.clock.now() == T0 + timedelta(hours=5)


@pytest.mark.parametrize(("body", "problem"), [
    ("""<startEvent id="start"/><sequenceFlow id="f1" sourceRef="start" targetRef="b"/>
        <userTask id="t"/><boundaryEvent id="b" attachedToRef="t">
        <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
        </boundaryEvent>""",
     "boundary event 'b' is the target of sequence flow 'f1'; a boundary event has no "
     "incoming flow"),
    ("""<startEvent id="start"/><userTask id="t"/><boundaryEvent id="b" attachedToRef="nope">
        <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
        </boundaryEvent>""",
     "boundary event 'b' is attached to 'nope', which is no activity of its scope"),
    ("""<startEvent id="start"/><userTask id="t"/><boundaryEvent id="b" attachedToRef="t">
        <timerEventDefinition><timeDuration>PT1H</timeDuration><timeDate>2026-01-01</timeDate>
        </timerEventDefinition></boundaryEvent>""",
     "a timer needs exactly one of timeDate, timeDuration and timeCycle"),
    ("""<startEvent id="start"/><userTask id="t"/><boundaryEvent id="b" attachedToRef="t">
        <timerEventDefinition><timeDuration>PT${</timeDuration></timerEventDefinition>
        </boundaryEvent>""",
     "element 'b': Cannot compile expression"),
])
def test_boundary_events_the_mock_cannot_run_are_refused_at_deploy(body: str,
                                                                   problem: str) -> None:
    with pytest.raises(EngineError, match="line") as refused:
        Engine().deploy_bpmn(process(body))
    assert problem in str(refused.value)


def test_an_error_boundary_event_keeps_its_error_code() -> None:
    engine = Engine()
    [definition] = engine.deploy_bpmn(process("""
        <startEvent id="start"/><userTask id="t"/>
        <boundaryEvent id="b" attachedToRef="t" cancelActivity="false">
          <errorEventDefinition errorRef="noManager"/></boundaryEvent>
        <boundaryEvent id="any" attachedToRef="t"><errorEventDefinition/></boundaryEvent>""",
        declarations='<error id="noManager" errorCode="NO_MANAGER"/>'))
    nodes = definition.model.nodes
    assert (nodes["b"].event, nodes["b"].event_name, nodes["b"].cancel_activity) == (
        "error", "NO_MANAGER", True)
    assert (nodes["any"].event, nodes["any"].event_name) == ("error", None)
    assert [b.id for b in definition.model.boundary_events("t")] == ["b", "any"]


SUB_PROCESS_TIMER = process(f"""
  <startEvent id="start"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="stage"/>
  <subProcess id="stage">
    <startEvent id="inner"/>
    <sequenceFlow id="i1" sourceRef="inner" targetRef="work"/>
    <userTask id="work"/>
    <sequenceFlow id="i2" sourceRef="work" targetRef="innerEnd"/>
    <endEvent id="innerEnd"/>
  </subProcess>
  <boundaryEvent id="tooLong" attachedToRef="stage">{timer("timeDuration", "P1D")}
  </boundaryEvent>
  <sequenceFlow id="f2" sourceRef="stage" targetRef="review"/>
  <userTask id="review"/>
  <sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  <sequenceFlow id="f4" sourceRef="tooLong" targetRef="chase"/>
  <userTask id="chase"/>
  <sequenceFlow id="f5" sourceRef="chase" targetRef="end"/>
  <endEvent id="end"/>""")


def test_a_timer_on_a_sub_process_cancels_what_is_inside() -> None:
    engine = engine_with(SUB_PROCESS_TIMER)
    instance = engine.start(key="p")
    [job] = engine.jobs()
    assert job.activity == "tooLong" and job.execution_id == instance.id
    assert advance(engine, days=2) == ["tooLong"]
    assert active(engine, instance.id) == ["chase"]
    [work] = [t for t in engine.tasks_of(instance.id) if t.key == "work"]
    assert work.delete_reason == "boundary event (tooLong)"


def test_a_sub_process_that_ends_first_deletes_its_timer() -> None:
    engine = engine_with(SUB_PROCESS_TIMER)
    instance = engine.start(key="p")
    [work] = [t for t in engine.tasks_of(instance.id) if t.active]
    engine.complete(work.id)
    assert active(engine, instance.id) == ["review"] and engine.jobs() == []


def test_a_script_that_fails_after_a_timer_fails_the_job() -> None:
    engine = engine_with(INTERMEDIATE.replace(
        '<serviceTask id="after" activiti:expression="${missing}" activiti:resultVariable="r"/>',
        '<scriptTask id="after" scriptFormat="groovy"><script>'
        'throw new RuntimeException("no directory")</script></scriptTask>'))
    instance = engine.start(key="p", variables={"until": "PT1H"})
    [run] = engine.move_clock(T0 + timedelta(hours=1))
    assert run.error is not None and "no directory" in run.error
    assert instance.executions == {instance.id: "wait"}
    [job] = engine.jobs()
    assert job.retries == DEFAULT_RETRIES - 1
