"""Snapshots saved by mockidm's first snapshot format (version 1) load, whole and unchanged.

`snapshots/v1-busy.json` was written once, by `dump_engine(busy_engine())` with the code of
commit d3898d3 (see `snapshot_v1_engine.py`), and is never rewritten.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from snapshot_v1_engine import EVERY_FORM_FIELD, EVERY_JSON_TYPE, FILED, T0, busy_engine

from mockidm.engine import Engine, InstanceQuery, TaskQuery
from mockidm.engine.model import MESSAGE, USER_TASK, Task
from mockidm.engine.snapshot import dump_engine, load_engine

V1 = Path(__file__).parent / "snapshots" / "v1-busy.json"
TICK = timedelta(seconds=61, microseconds=1234)


@pytest.fixture
def saved() -> dict[str, Any]:
    return json.loads(V1.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def engine(saved: dict[str, Any]) -> Engine:
    return load_engine(saved)


def tasks(engine: Engine, instance_id: str) -> dict[str, Task]:
    return {t.key: t for t in engine.tasks_of(instance_id)}


def test_a_v1_snapshot_loads_and_dumps_back_to_the_same_data(saved: dict[str, Any]) -> None:
    assert saved["version"] == 1
    assert dump_engine(load_engine(copy.deepcopy(saved))) == saved


def test_todays_code_still_writes_a_v1_snapshot_of_the_same_engine(saved: dict[str, Any]
                                                                      ) -> None:
    """So that a snapshot written now loads into the version that wrote the file, as long as
    its models use nothing that version did not read. The busy engine's one service task has
    an `activiti:expression`, which the loader keeps since (Node.expression, written only when
    set): that key, and only it, is new. And a fork now creates all its executions before
    any moves, as both engines do: in each of the three forks, the second path's execution
    id and its task's id trade places (the file keeps the old order)."""
    dumped = dump_engine(busy_engine())
    prepared = [node for definition in dumped["definitions"]
                for node in definition["model"]["nodes"] if "expression" in node]
    assert [(n["id"], n.pop("expression")) for n in prepared] == [
        ("prepare", "${orders.prepare(execution)}")]
    traded = {"31": "32", "32": "31", "36": "37", "37": "36", "41": "42", "42": "41"}
    for task in saved["tasks"]:
        task["id"], task["execution_id"] = (traded.get(task["id"], task["id"]),
                                            traded.get(task["execution_id"],
                                                       task["execution_id"]))
    for instance in saved["instances"]:
        instance["executions"] = {traded.get(execution, execution): activity
                                  for execution, activity in instance["executions"].items()}
    assert dumped == saved


def test_the_clock_the_counter_and_the_deployments_come_back(engine: Engine) -> None:
    assert engine.clock.frozen == engine.clock.now() == T0 + 7 * TICK
    assert engine.ids.next_value == 48
    store = engine.store
    assert [(d.id, d.name, d.definition_ids) for d in store.deployments.values()] == [
        ("1", None, ["approval:1:2"]), ("3", "approval again", ["approval:2:4"]),
        ("5", "a pair", ["pair-a:1:6", "pair-b:1:7"]),
        ("8", "order.bpmn20.xml", ["order:1:9"]), ("10", "everything", ["everything:1:11"]),
        ("12", "filed.bpmn20.xml", ["filed:1:13"])]
    assert store.deployments["1"].time == T0 and store.deployments["3"].time == T0 + TICK
    resources = store.deployments["10"].resources
    assert resources == {"everything.bpmn20.xml": b"<definitions/>",
                         "everything.png": bytes(range(256)), "empty.txt": b""}
    assert store.deployments["12"].resources == {"filed.bpmn20.xml": FILED}
    assert engine.resource("10", "everything.png") == bytes(range(256))
    assert engine._deployed_files == {"filed.bpmn20.xml": (
        "26144ec335a562219117fbbd11e6ec715b7d940f89599d0f500d2a78829d11cb", ["filed:1:13"])}
    assert engine.interpreter.outputs == {("order", "prepare"): {"prepared": True,
                                                                 "steps": ["a", "b"]},
                                          (None, "prepare"): {"anywhere": 1}}


def test_definitions_and_their_models_come_back_field_for_field(engine: Engine) -> None:
    assert [(d.id, d.version, d.suspended) for d in engine.definitions()] == [
        ("approval:1:2", 1, False), ("approval:2:4", 2, False), ("pair-a:1:6", 1, False),
        ("pair-b:1:7", 1, False), ("order:1:9", 1, False), ("everything:1:11", 1, True),
        ("filed:1:13", 1, False)]
    assert engine.latest_definition("approval").id == "approval:2:4"
    order = engine.definition("order:1:9")
    assert order.diagram_resource_name is None
    assert order.model.documentation == (
        "An order: two reviews in parallel, a payment, then shipping.")
    assert [(n.id, n.kind) for n in order.model.nodes.values()] == [
        ("start", "startEvent"), ("prepare", "serviceTask"), ("fork", "parallelGateway"),
        ("legal", "userTask"), ("security", "userTask"), ("join", "parallelGateway"),
        ("payment", "intermediateCatchEvent"), ("decide", "exclusiveGateway"),
        ("ship", "userTask"), ("shipped", "endEvent"), ("refused", "endEvent")]
    nodes = order.model.nodes
    assert nodes["legal"].candidate_groups == ("legal", "lawyers")
    assert (nodes["payment"].event, nodes["payment"].event_name) == (MESSAGE, "paymentReceived")
    assert nodes["decide"].default_flow == "toRefused"
    assert [(f.id, f.condition) for f in order.model.flows if f.condition] == [
        ("toShip", "${amount > 100}")]
    assert order.model.outgoing("fork")[1].target == "security"

    model = engine.definition("everything:1:11").model
    every = model.nodes["every"]
    assert every.form_properties == (EVERY_FORM_FIELD,)
    assert isinstance(every.form_properties, tuple)
    assert (every.candidate_users, every.priority, every.line) == (("ursula", "uma"), 7, 12)
    assert (model.graphical_notation, model.executable, model.line) == (True, False, 3)
    approval = engine.definition("approval:2:4").model
    assert approval.nodes["start"].form_key == "start.html"
    assert approval.nodes["approve"].form_properties[0].values == {"yes": "Yes", "no": "No"}


def test_the_removed_definition_stays_removed_and_its_history_stays(engine: Engine) -> None:
    assert "retired" not in {d.key for d in engine.definitions()}
    gone = engine.instance("16")
    assert gone.definition.id == "retired:1:15" and gone.definition.version == 1
    assert (gone.ended, gone.end_activity, gone.business_key, gone.start_user) == (
        True, "end", "gone", "zoe")
    assert gone.variables == {"outcome": "done"}
    assert [(t.key, t.delete_reason) for t in engine.tasks_of("16")] == [("only", "completed")]
    assert [i.id for i in engine.query_instances(InstanceQuery(definition_key="retired"))] == [
        "16"]


def test_instances_come_back_with_their_tokens_and_variables(engine: Engine) -> None:
    running = {i.id: i.executions for i in engine.query_instances(InstanceQuery(finished=False))}
    assert running == {"18": {"18": "setup"}, "20": {"20": "approve"}, "25": {"25": "a"},
                       "29": {"32": "security", "30": "join"}, "34": {"34": "payment"},
                       "45": {"45": "every"}, "47": {"47": "wait"}}
    ended = {i.id: (i.end_activity, i.delete_reason)
             for i in engine.query_instances(InstanceQuery(finished=True))}
    assert ended == {"16": ("end", None), "22": (None, "no longer needed"), "27": ("end", None),
                     "39": ("shipped", None)}
    a1 = engine.instance("18")
    assert a1.variables == {**EVERY_JSON_TYPE, "decision": "yes"}
    # Each JSON type as it was: no int turned float, no float turned int.
    assert [type(a1.variables[k]) for k in ("int", "big", "float", "whole float", "true")] == [
        int, int, float, float, bool]
    assert a1.variables["big"] == 2**62 and a1.variables["tiny"] == 1e-300
    assert (a1.business_key, a1.start_user, a1.start_time) == ("Order-1", "alice", T0 + 2 * TICK)
    assert engine.instance("45").super_instance_id == "18"
    assert engine.instance("39").duration_ms == 61001
    assert [i.id for i in engine.query_instances(InstanceQuery(business_key_folded="order-1"))
            ] == ["18", "20"]


def test_tasks_come_back_claimed_completed_and_deleted(engine: Engine) -> None:
    a1 = tasks(engine, "18")
    approve = a1["approve"]
    assert (approve.assignee, approve.owner, approve.description, approve.delete_reason) == (
        "bob", "olga", "Look closely", "completed")
    assert approve.claim_time == T0 + 3 * TICK and approve.end_time == T0 + 4 * TICK
    assert (a1["setup"].assignee, a1["setup"].name, a1["setup"].active) == (
        "henry", "Set up!", True)
    assert tasks(engine, "20")["approve"].assignee == "bob"
    assert tasks(engine, "22")["approve"].delete_reason == "no longer needed"
    every = tasks(engine, "45")["every"]
    assert (every.due_date, every.priority, every.local_variables) == (
        T0 + timedelta(days=3), 80, {"local": [1, 2.5, "three"], "none": None})
    assert every.candidate_users == ["ursula", "uma"]
    # A task shares its node with its definition, as in the running engine.
    assert every.node is engine.definition("everything:1:11").model.nodes["every"]
    assert every.node.kind == USER_TASK
    assert [t.id for t in engine.query_tasks(TaskQuery(assignee="bob"))] == [
        tasks(engine, "20")["approve"].id]
    assert [t.key for t in engine.query_tasks(TaskQuery(candidate_user="dave", history=True))
            ] == ["ship"]


def test_the_restored_engine_carries_on(engine: Engine) -> None:
    engine.complete(tasks(engine, "29")["security"].id)
    assert engine.instance("29").active_activities == ["payment"]
    [payment] = [e for i, e, _ in engine.executions() if i.id == "29"]
    engine.message_received("paymentReceived", payment)
    [ship] = [t for t in engine.tasks_of("29") if t.key == "ship"]
    assert ship.id == "48"  # ids go on from the saved counter
    engine.complete(ship.id)
    assert engine.instance("29").end_activity == "shipped"
    engine.trigger("47")
    assert engine.instance("47").ended
    assert engine.deploy_data("filed.bpmn20.xml", FILED)[0].id == "filed:1:13"  # unchanged


def test_resources_are_the_base64_of_their_bytes(saved: dict[str, Any]) -> None:
    [everything] = [d for d in saved["deployments"] if d["id"] == "10"]
    assert everything["resources"]["everything.png"] == base64.b64encode(
        bytes(range(256))).decode()
