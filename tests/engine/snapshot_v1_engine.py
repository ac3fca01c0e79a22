"""The busy engine behind `snapshots/v1-busy.json`, built the same way every time.

`v1-busy.json` was written by `dump_engine(busy_engine())` with the code of version 1 (commit
d3898d3) and is never rewritten: it is the proof that a snapshot saved then still loads, and
(while the format is still version 1) that today's code writes the very same data.

Everything the format carries is in it: several deployments (one of two processes, one with
resources of every byte value, one from a file), a removed definition with its history, two
versions of a key, running and ended instances, parallel executions (one half-joined), a token
waiting for a message and one in a receive task, tasks claimed, completed, reassigned and ended
by a deleted instance, variables of every JSON type, script outputs, a super instance, a due
date, local variables, a suspended definition and a frozen clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mockidm.engine import Engine, FormProperty, UserTask, linear_process
from mockidm.engine.model import (
    END_EVENT,
    MESSAGE,
    START_EVENT,
    USER_TASK,
    Flow,
    Node,
    ProcessModel,
    Task,
)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

# start -> fork -> legal | security -> join -> payment (message) -> decide:
#   amount > 100 -> ship (user task) -> shipped; otherwise (default) -> refused
ORDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
             targetNamespace="mockidm.tests.snapshot">
  <message id="paymentMessage" name="paymentReceived"/>
  <process id="order" name="Order" isExecutable="true">
    <documentation>An order: two reviews in parallel, a payment, then shipping.</documentation>
    <startEvent id="start"/>
    <sequenceFlow id="toPrepare" sourceRef="start" targetRef="prepare"/>
    <serviceTask id="prepare" activiti:expression="${orders.prepare(execution)}"/>
    <sequenceFlow id="toFork" sourceRef="prepare" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="toLegal" sourceRef="fork" targetRef="legal"/>
    <sequenceFlow id="toSecurity" sourceRef="fork" targetRef="security"/>
    <userTask id="legal" name="Legal review" activiti:candidateGroups="legal,lawyers"/>
    <userTask id="security" name="Security review" activiti:assignee="carol"/>
    <sequenceFlow id="legalDone" sourceRef="legal" targetRef="join"/>
    <sequenceFlow id="securityDone" sourceRef="security" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow id="toPayment" sourceRef="join" targetRef="payment"/>
    <intermediateCatchEvent id="payment" name="Payment received">
      <messageEventDefinition messageRef="paymentMessage"/>
    </intermediateCatchEvent>
    <sequenceFlow id="toDecide" sourceRef="payment" targetRef="decide"/>
    <exclusiveGateway id="decide" default="toRefused"/>
    <sequenceFlow id="toShip" sourceRef="decide" targetRef="ship">
      <conditionExpression xsi:type="tFormalExpression">${amount &gt; 100}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="toRefused" sourceRef="decide" targetRef="refused"/>
    <userTask id="ship" name="Ship" activiti:candidateUsers="dave"/>
    <sequenceFlow id="toShipped" sourceRef="ship" targetRef="shipped"/>
    <endEvent id="shipped"/>
    <endEvent id="refused"/>
  </process>
</definitions>
"""

FILED = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="filed">
  <process id="filed" name="From a file" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <receiveTask id="wait"/>
    <sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""

# Every JSON type, nested, with the awkward ones (unicode, big and negative numbers, empties).
EVERY_JSON_TYPE = {
    "text": "Grüße, 世界 \"quoted\" \\ \n", "empty": "", "int": 150, "negative": -7,
    "big": 2**62, "float": 0.5, "tiny": 1e-300, "whole float": 3.0, "true": True,
    "false": False, "null": None, "list": ["x", 1, 2.5, None, [], {}],
    "nested": {"ok": True, "ratio": 0.5, "no": None, "deeper": {"list": [{"a": [1]}]}},
}

EVERY_FORM_FIELD = FormProperty(
    id="when", name="When", type="date", values={"soon": "Soon", "later": "Later"},
    date_pattern="yyyy", readable=False, writable=False, required=True, default="soon",
    variable="whenVar", expression="${when}")


def approval_model() -> ProcessModel:
    return linear_process("approval", "Approval", [
        UserTask("approve", "Approve", candidate_groups=["managers"], candidate_users=["bob"],
                 documentation="Approve the request",
                 form_properties=[FormProperty("decision", "Decision", "enum",
                                               values={"yes": "Yes", "no": "No"})]),
        UserTask("setup", "Set up", assignee="hr")],
        category="approvals", start_form_key="start.html")


def everything_model() -> ProcessModel:
    every = Node(
        id="every", kind=USER_TASK, name="Every field", documentation="All of them",
        assignee="erin", candidate_users=("ursula", "uma"), candidate_groups=("gardeners",),
        form_key="every.html", form_properties=(EVERY_FORM_FIELD,), priority=7,
        default_flow="toEnd", event=MESSAGE, event_name="ping", line=12)
    nodes = [Node("start", START_EVENT, line=10), every, Node("end", END_EVENT, line=14)]
    return ProcessModel(
        key="everything", name="Everything", nodes={n.id: n for n in nodes},
        flows=(Flow("toEvery", "start", "every", condition="${true}"),
               Flow("toEnd", "every", "end")),
        documentation="A process that sets every field", category="fields",
        resource_name="everything.bpmn20.xml", graphical_notation=True, executable=False,
        line=3)


def _active(engine: Engine, instance_id: str, key: str) -> Task:
    [task] = [t for t in engine.tasks_of(instance_id) if t.active and t.key == key]
    return task


def busy_engine() -> Engine:
    engine = Engine()
    engine.clock.freeze(T0)

    def tick() -> None:
        engine.clock.advance(timedelta(seconds=61, microseconds=1234))

    engine.deploy(approval_model())
    tick()
    engine.deploy(approval_model(), name="approval again")
    engine.deploy([linear_process("pair-a", "Pair A", [UserTask("a")]),
                   linear_process("pair-b", "Pair B", [UserTask("b", candidate_users=["x"])])],
                  name="a pair")
    engine.deploy_bpmn(ORDER, "order.bpmn20.xml")
    engine.set_outputs("prepare", {"prepared": True, "steps": ["a", "b"]}, key="order")
    engine.set_outputs("prepare", {"anywhere": 1})
    [everything] = engine.deploy(
        everything_model(), name="everything",
        resources={"everything.bpmn20.xml": b"<definitions/>",
                   "everything.png": bytes(range(256)), "empty.txt": b""})
    engine.deploy_data("filed.bpmn20.xml", FILED)

    # A definition deployed, used, then removed: its history stays.
    [retired] = engine.deploy(linear_process("retired", "Retired", [UserTask("only")]),
                              name="retired")
    gone = engine.start(key="retired", business_key="gone", user="zoe").id
    engine.complete(_active(engine, gone, "only").id, {"outcome": "done"})
    engine.delete_definition(retired.id)

    tick()
    a1 = engine.start(key="approval", business_key="Order-1", user="alice",
                      variables=EVERY_JSON_TYPE).id
    a2 = engine.start(key="approval", business_key="ORDER-1", user="bob").id
    a3 = engine.start(key="approval", business_key="old", user="alice",
                      definition_id=engine.definitions()[0].id).id
    tick()
    approve = _active(engine, a1, "approve")
    engine.claim(approve.id, "bob")
    engine.update_task(approve.id, {"owner": "olga", "description": "Look closely"})
    tick()
    engine.complete(approve.id, {"decision": "yes"})
    engine.update_task(_active(engine, a1, "setup").id, {"assignee": "henry", "name": "Set up!"})
    engine.claim(_active(engine, a2, "approve").id, "bob")
    engine.delete_instance(a3, "no longer needed")
    engine.start(key="pair-a", business_key="pair")
    done = engine.start(key="pair-b")
    engine.complete(_active(engine, done.id, "b").id)

    # A parallel join that one branch has reached, one waiting for a message, and one that
    # went all the way through.
    o1 = engine.start(key="order", business_key="O-1", user="carol", variables={"amount": 150}).id
    tick()
    engine.complete(_active(engine, o1, "legal").id)
    o2 = engine.start(key="order", business_key="O-2", variables={"amount": 50}).id
    engine.complete(_active(engine, o2, "legal").id)
    engine.complete(_active(engine, o2, "security").id, {"reviewed": True})
    o3 = engine.start(key="order", business_key="O-3", variables={"amount": 500}).id
    engine.complete(_active(engine, o3, "security").id)
    engine.complete(_active(engine, o3, "legal").id)
    [(_, payment, _)] = [e for e in engine.executions() if e[0].id == o3]
    engine.message_received("paymentReceived", payment)
    engine.claim(_active(engine, o3, "ship").id, "dave")
    tick()
    engine.complete(_active(engine, o3, "ship").id)

    # Fields no engine command sets.
    e1 = engine.start(key="everything", business_key="E-1", user="erin").id
    every = _active(engine, e1, "every")
    every.due_date = T0 + timedelta(days=3)
    every.local_variables = {"local": [1, 2.5, "three"], "none": None}
    every.priority = 80
    engine.instance(e1).super_instance_id = a1
    everything.suspended = True
    engine.start(key="filed", business_key="F-1")
    tick()
    return engine
