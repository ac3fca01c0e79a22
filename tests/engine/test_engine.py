"""The workflow engine on its own (no HTTP): ids, versions, lifecycle, history, queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from mockidm.engine import (
    DefinitionError,
    Engine,
    EngineError,
    HasRunningInstances,
    IllegalArgument,
    InstanceQuery,
    ObjectNotFound,
    TaskAlreadyClaimed,
    TaskInRunningProcess,
    TaskQuery,
    UserTask,
    linear_process,
)
from mockidm.engine.model import END_EVENT, START_EVENT, Flow, Node, ProcessModel

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def exactly(message):
    return f"^{re.escape(message)}$"


def one_task(key="approval", **task):
    task.setdefault("candidate_groups", ["managers"])
    return linear_process(key, f"{key} process", [UserTask("approve", "Approve", **task)])


def two_tasks(key="onboarding"):
    return linear_process(key, "Onboarding", [
        UserTask("approve", "Approve", candidate_users=["carol"]),
        UserTask("setup", "Set up", assignee="hr")])


@pytest.fixture
def engine():
    return Engine()


def active_tasks(engine, instance_id):
    return engine.query_tasks(TaskQuery(instance_id=instance_id))


# ids and versions ----------------------------------------------------------------------------


def test_deployments_definitions_instances_and_tasks_share_one_counter(engine):
    [definition] = engine.deploy(one_task())
    instance = engine.start(key="approval")
    [task] = active_tasks(engine, instance.id)
    assert definition.deployment_id == "1"
    assert definition.id == "approval:1:2"
    assert instance.id == "3"
    assert task.id == "4"
    [again] = engine.deploy(one_task())
    assert (again.deployment_id, again.id) == ("5", "approval:2:6")


def test_each_key_counts_its_own_versions(engine):
    engine.deploy([one_task("a"), one_task("b")])
    [a2] = engine.deploy(one_task("a"))
    [b2, c1] = engine.deploy([one_task("b"), one_task("c")])
    assert (a2.version, b2.version, c1.version) == (2, 2, 1)
    assert a2.id.startswith("a:2:") and b2.id.startswith("b:2:") and c1.id.startswith("c:1:")


def test_models_deployed_together_share_a_deployment(engine):
    first, second = engine.deploy([one_task("a"), one_task("b")], name="bundle")
    assert first.deployment_id == second.deployment_id
    assert first.id != second.id


def test_a_definition_id_longer_than_64_characters_is_just_the_counter(engine):
    [definition] = engine.deploy(one_task("k" * 70))
    assert definition.id.isdigit()
    assert definition.key == "k" * 70
    assert engine.definition(definition.id) is definition


def test_latest_definition_is_the_highest_version(engine):
    engine.deploy(one_task())
    engine.deploy(one_task())
    [third] = engine.deploy(one_task())
    assert engine.latest_definition("approval") is third
    assert engine.start(key="approval").definition is third


def test_unknown_key_and_id_raise_not_found_with_the_engines_messages(engine):
    with pytest.raises(ObjectNotFound, match=exactly("no processes deployed with key 'nope'")):
        engine.start(key="nope")
    with pytest.raises(ObjectNotFound,
                       match=exactly("no deployed process definition found with id 'nope:1:1'")):
        engine.start(definition_id="nope:1:1")


def test_a_deployment_needs_a_process(engine):
    with pytest.raises(DefinitionError):
        engine.deploy([])


def test_a_flow_to_an_unknown_element_is_refused(engine):
    model = ProcessModel("broken", None, {"start": Node("start", START_EVENT),
                                          "end": Node("end", END_EVENT)},
                         (Flow("f", "start", "nowhere"),))
    with pytest.raises(DefinitionError, match="nowhere"):
        engine.deploy(model)
    assert engine.definitions() == []


# starting ------------------------------------------------------------------------------------


def test_definition_id_wins_over_a_key_naming_another_process(engine):
    [approval] = engine.deploy(one_task("approval"))
    engine.deploy(one_task("other"))
    instance = engine.start(key="other", definition_id=approval.id)
    assert instance.definition is approval


def test_definition_id_starts_an_older_version(engine):
    [v1] = engine.deploy(one_task())
    engine.deploy(one_task())
    assert engine.start(definition_id=v1.id).definition is v1


def test_start_without_key_or_id_is_an_illegal_argument(engine):
    engine.deploy(one_task())
    with pytest.raises(IllegalArgument,
                       match=exactly("processDefinitionKey and processDefinitionId are null")):
        engine.start(business_key="bk")


def test_a_suspended_definition_cannot_be_started(engine):
    [definition] = engine.deploy(one_task())
    definition.suspended = True
    with pytest.raises(EngineError, match=exactly(
            "Cannot start process instance. Process definition approval process "
            "(id = approval:1:2) is suspended")):
        engine.start(key="approval")


def test_start_records_business_key_user_variables_and_first_task(engine):
    engine.clock.freeze(T0)
    engine.deploy(one_task())
    instance = engine.start(key="approval", business_key="bk-1", variables={"x": 1},
                            user="alice")
    assert (instance.business_key, instance.start_user, instance.variables) == (
        "bk-1", "alice", {"x": 1})
    assert instance.start_time == T0
    assert instance.start_activity == "start"
    assert not instance.ended
    [task] = active_tasks(engine, instance.id)
    assert (task.key, task.name, task.assignee) == ("approve", "Approve", None)
    assert task.candidate_groups == ["managers"]
    assert task.create_time == T0
    assert instance.active_activities == ["approve"]


def test_a_process_without_tasks_ends_during_start(engine):
    engine.deploy(linear_process("instant", "Instant"))
    instance = engine.start(key="instant")
    assert instance.ended
    assert instance.end_activity == "end"
    assert instance.delete_reason is None
    assert instance.id not in engine.store.running


# the task lifecycle --------------------------------------------------------------------------


def test_claim_assigns_the_task_and_records_the_claim_time(engine):
    engine.clock.freeze(T0)
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    engine.clock.advance(timedelta(seconds=5))
    engine.claim(task.id, "bob")
    assert task.assignee == "bob"
    assert task.claim_time == T0 + timedelta(seconds=5)


def test_claim_by_someone_else_is_refused(engine):
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    engine.claim(task.id, "bob")
    with pytest.raises(TaskAlreadyClaimed,
                       match=exactly(f"Task '{task.id}' is already claimed by someone else.")):
        engine.claim(task.id, "carol")
    assert task.assignee == "bob"


def test_claim_by_the_assignee_again_is_accepted(engine):
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    engine.claim(task.id, "bob")
    engine.claim(task.id, "bob")
    assert task.assignee == "bob"


def test_an_unknown_task_is_not_found(engine):
    with pytest.raises(ObjectNotFound):
        engine.claim("999", "bob")
    with pytest.raises(ObjectNotFound):
        engine.complete("999")


def test_complete_stores_variables_and_moves_to_the_next_task(engine):
    engine.deploy(two_tasks())
    instance = engine.start(key="onboarding", variables={"a": "1"})
    [first] = active_tasks(engine, instance.id)
    engine.complete(first.id, {"decision": "approve"})
    assert instance.variables == {"a": "1", "decision": "approve"}
    assert not first.active
    assert first.delete_reason == "completed"
    [second] = active_tasks(engine, instance.id)
    assert (second.key, second.assignee) == ("setup", "hr")
    assert instance.active_activities == ["setup"]
    assert not instance.ended
    with pytest.raises(ObjectNotFound):
        engine.task(first.id)


def test_completing_the_last_task_ends_the_instance(engine):
    engine.clock.freeze(T0)
    engine.deploy(one_task())
    instance = engine.start(key="approval")
    [task] = active_tasks(engine, instance.id)
    engine.clock.advance(timedelta(seconds=3))
    engine.complete(task.id)
    assert instance.ended
    assert (instance.end_activity, instance.delete_reason) == ("end", None)
    assert instance.end_time == T0 + timedelta(seconds=3)
    assert instance.duration_ms == 3000
    assert task.duration_ms == 3000
    assert instance.active_activities == []
    gone = exactly(f"No process instance found for id '{instance.id}'")
    with pytest.raises(ObjectNotFound, match=gone):
        engine.running_instance(instance.id)
    assert engine.instance(instance.id) is instance


def test_update_task_changes_only_the_keys_given(engine):
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    engine.update_task(task.id, {"assignee": "bob", "owner": "olga"})
    assert (task.assignee, task.owner, task.name, task.description) == (
        "bob", "olga", "Approve", None)
    engine.update_task(task.id, {"name": "Renamed", "description": "Now with text"})
    assert (task.assignee, task.name, task.description) == ("bob", "Renamed", "Now with text")


def test_update_task_with_a_null_assignee_unassigns_it(engine):
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    engine.claim(task.id, "bob")
    engine.update_task(task.id, {"assignee": None})
    assert task.assignee is None
    assert engine.query_tasks(TaskQuery(assignee="bob")) == []
    assert engine.query_tasks(TaskQuery(unassigned=True)) == [task]


def test_a_task_of_a_running_process_cannot_be_deleted(engine):
    engine.deploy(one_task())
    [task] = active_tasks(engine, engine.start(key="approval").id)
    with pytest.raises(TaskInRunningProcess,
                       match=exactly("The task cannot be deleted because is part of a "
                                     "running process")):
        engine.delete_task(task.id)
    assert task.active
    with pytest.raises(ObjectNotFound, match=exactly("Task 999 not found.")):
        engine.delete_task("999")


# deleting instances and definitions ----------------------------------------------------------


def test_delete_instance_ends_it_and_its_tasks_with_the_reason(engine):
    engine.deploy(one_task())
    instance = engine.start(key="approval")
    [task] = active_tasks(engine, instance.id)
    engine.delete_instance(instance.id)
    assert instance.ended
    assert (instance.delete_reason, instance.end_activity) == ("Deleted by Openidm", None)
    assert not task.active
    assert task.delete_reason == "Deleted by Openidm"
    assert engine.query_tasks(TaskQuery()) == []


def test_an_ended_instance_cannot_be_deleted_again(engine):
    engine.deploy(one_task())
    instance = engine.start(key="approval")
    engine.delete_instance(instance.id, reason="first")
    gone = exactly(f"No process instance found for id '{instance.id}'")
    with pytest.raises(ObjectNotFound, match=gone):
        engine.delete_instance(instance.id)
    assert instance.delete_reason == "first"


def test_delete_definition_refuses_while_instances_run(engine):
    [definition] = engine.deploy(one_task())
    instance = engine.start(key="approval")
    with pytest.raises(HasRunningInstances,
                       match=exactly("The process definition has running instances, "
                                     "can not be deleted")):
        engine.delete_definition(definition.id)
    assert engine.definition(definition.id) is definition
    engine.delete_instance(instance.id)
    assert engine.delete_definition(definition.id) is definition
    with pytest.raises(ObjectNotFound):
        engine.definition(definition.id)


def test_delete_definition_removes_its_whole_deployment(engine):
    [kept] = engine.deploy(one_task("a"))
    [a2, b1] = engine.deploy([one_task("a"), one_task("b")])
    engine.delete_definition(a2.id)
    assert engine.definitions() == [kept]
    assert engine.latest_definition("a") is kept
    with pytest.raises(ObjectNotFound):
        engine.latest_definition("b")
    assert b1.deployment_id not in engine.store.deployments


def test_after_deleting_the_latest_version_a_new_deployment_gets_a_fresh_version(engine):
    engine.deploy(one_task())
    [v2] = engine.deploy(one_task())
    engine.delete_definition(v2.id)
    [again] = engine.deploy(one_task())
    assert again.version == 2
    assert again.id != v2.id


# history ---------------------------------------------------------------------------------------


def test_history_keeps_finished_instances_and_ended_tasks(engine):
    engine.deploy(one_task())
    done = engine.start(key="approval")
    running = engine.start(key="approval")
    [done_task] = active_tasks(engine, done.id)
    engine.complete(done_task.id)
    assert engine.query_instances(InstanceQuery(finished=False)) == [running]
    assert engine.query_instances(InstanceQuery(finished=True)) == [done]
    assert engine.query_instances(InstanceQuery()) == [done, running]
    history = engine.query_tasks(TaskQuery(history=True))
    assert [t.instance_id for t in history] == [done.id, running.id]
    assert engine.query_tasks(TaskQuery(history=True, finished=True)) == [done_task]
    assert engine.query_tasks(TaskQuery(history=True, process_finished=True)) == [done_task]
    assert [t.id for t in engine.tasks_of(done.id)] == [done_task.id]


def test_active_task_queries_never_return_ended_tasks(engine):
    engine.deploy(one_task())
    instance = engine.start(key="approval")
    [task] = active_tasks(engine, instance.id)
    engine.claim(task.id, "bob")
    engine.complete(task.id)
    assert engine.query_tasks(TaskQuery(assignee="bob")) == []
    assert engine.query_tasks(TaskQuery(task_id=task.id)) == []
    assert engine.query_tasks(TaskQuery(history=True, assignee="bob")) == [task]


# queries and their indexes ---------------------------------------------------------------------


def test_business_key_query_among_20000_instances_returns_the_right_one():
    engine = Engine()
    engine.clock.freeze(T0)
    engine.deploy([linear_process("bulk", "Bulk", [UserTask("t")]), one_task("other")])
    for i in range(20_000):
        engine.start(key="bulk" if i % 2 else "other", business_key=f"bk-{i}",
                     user=f"user-{i % 7}")
    [found] = engine.query_instances(InstanceQuery(business_key="bk-12345", finished=False))
    assert found.business_key == "bk-12345"
    assert found.definition.key == "bulk"
    assert found.start_user == f"user-{12345 % 7}"
    assert engine.query_instances(InstanceQuery(business_key="bk-20000")) == []
    combined = engine.query_instances(InstanceQuery(business_key="bk-12344", definition_key="bulk"))
    assert combined == []  # bk-12344 is an `other` instance


def test_queries_by_key_definition_and_start_user_combine(engine):
    [a1] = engine.deploy(one_task("a"))
    [a2] = engine.deploy(one_task("a"))
    engine.deploy(one_task("b"))
    x = engine.start(definition_id=a1.id, user="alice")
    y = engine.start(key="a", user="bob")
    z = engine.start(key="b", user="alice")
    assert engine.query_instances(InstanceQuery(definition_key="a")) == [x, y]
    assert engine.query_instances(InstanceQuery(definition_id=a2.id)) == [y]
    assert engine.query_instances(InstanceQuery(start_user="alice")) == [x, z]
    assert engine.query_instances(InstanceQuery(start_user="alice", definition_key="a")) == [x]
    assert engine.query_instances(InstanceQuery(instance_id=z.id)) == [z]


def test_involved_users_are_the_starter_candidate_users_assignee_and_owner(engine):
    engine.deploy(two_tasks())
    instance = engine.start(key="onboarding", user="alice")
    [approve] = active_tasks(engine, instance.id)
    engine.update_task(approve.id, {"owner": "olga"})
    engine.claim(approve.id, "dave")

    def involved(user):
        return engine.query_instances(InstanceQuery(involved_user=user)) == [instance]

    assert involved("alice")  # started it
    assert involved("carol")  # candidate user
    assert involved("dave")  # assignee
    assert involved("olga")  # owner
    assert not involved("mallory")
    engine.complete(approve.id)
    assert involved("hr")  # assignee of the next task
    assert involved("dave")  # still involved through the finished task


def test_variable_filters_compare_strings_only(engine):
    engine.deploy(one_task())
    instance = engine.start(key="approval", variables={"s": "1", "n": 1, "b": True})
    assert engine.query_instances(InstanceQuery(variables={"s": "1"})) == [instance]
    assert engine.query_instances(InstanceQuery(variables={"n": "1"})) == []
    assert engine.query_instances(InstanceQuery(variables={"b": "true"})) == []
    assert engine.query_instances(InstanceQuery(variables={"s": "1", "missing": "x"})) == []
    [task] = active_tasks(engine, instance.id)
    assert engine.query_tasks(TaskQuery(variables={"s": "1"})) == [task]
    assert engine.query_tasks(TaskQuery(variables={"n": "1"})) == []


def test_candidate_queries_on_active_tasks_skip_claimed_tasks(engine):
    engine.deploy(one_task(candidate_users=["carol"], candidate_groups=["g1", "g2"]))
    claimed = active_tasks(engine, engine.start(key="approval").id)[0]
    free = active_tasks(engine, engine.start(key="approval").id)[0]
    engine.claim(claimed.id, "carol")
    assert engine.query_tasks(TaskQuery(candidate_user="carol")) == [free]
    assert engine.query_tasks(TaskQuery(candidate_groups=("g2", "zzz"))) == [free]
    assert engine.query_tasks(TaskQuery(candidate_groups=("zzz",))) == []
    assert engine.query_tasks(TaskQuery(history=True, candidate_user="carol")) == [claimed, free]


def test_task_queries_by_assignee_and_unassigned(engine):
    engine.deploy(one_task())
    first = active_tasks(engine, engine.start(key="approval").id)[0]
    second = active_tasks(engine, engine.start(key="approval").id)[0]
    engine.claim(first.id, "bob")
    assert engine.query_tasks(TaskQuery(assignee="bob")) == [first]
    assert engine.query_tasks(TaskQuery(unassigned=True)) == [second]
    engine.update_task(first.id, {"assignee": "carol"})
    assert engine.query_tasks(TaskQuery(assignee="bob")) == []
    assert engine.query_tasks(TaskQuery(assignee="carol")) == [first]


def test_executions_are_the_waiting_tokens_of_running_instances(engine):
    engine.deploy(two_tasks())
    instance = engine.start(key="onboarding")
    finished = engine.start(key="onboarding")
    engine.delete_instance(finished.id)
    assert engine.executions() == [(instance, instance.id, "approve")]
    engine.complete(active_tasks(engine, instance.id)[0].id)
    assert engine.executions() == [(instance, instance.id, "setup")]


FORK_TO_AN_END = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="notifyAndReview" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="toNotice" sourceRef="fork" targetRef="noticeSent"/>
    <sequenceFlow id="toReview" sourceRef="fork" targetRef="review"/>
    <endEvent id="noticeSent"/>
    <userTask id="review" activiti:assignee="ada" xmlns:activiti="http://activiti.org/bpmn"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <endEvent id="done"/>
  </process>
</definitions>
"""


def test_a_fork_whose_first_path_ends_at_once_keeps_the_instance_running(engine):
    """Both engines create every child of a fork before any moves: a path that ends at once
    leaves the others running (the instance ends with the last one), and the children's ids
    come before the ids of what they create."""
    engine.deploy_bpmn(FORK_TO_AN_END, "notify.bpmn20.xml")
    instance = engine.start(key="notifyAndReview")
    assert not instance.ended
    [task] = engine.tasks_of(instance.id)
    first_child = int(instance.id) + 1
    assert (task.execution_id, task.id) == (str(first_child + 1), str(first_child + 2))
    assert instance.active_activities == ["review"]
    engine.complete(task.id)
    assert instance.ended and instance.end_activity == "done"
