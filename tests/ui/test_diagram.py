"""The diagram's geometry (mockidm/engine/diagram_geometry.py) and the path an instance took
(mockidm/ui/path.py), without HTTP."""

from __future__ import annotations

from pathlib import Path

from mockidm import MockIDM
from mockidm.engine.diagram_geometry import diagram, layered
from mockidm.ui.path import progress

ROOT = Path(__file__).resolve().parents[2]
WITH_DI = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:omgdc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:omgdi="http://www.omg.org/spec/DD/20100524/DI" targetNamespace="t">
  <process id="drawn" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <userTask id="t" name="Review"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="p" bpmnElement="drawn">
      <bpmndi:BPMNShape id="s_di" bpmnElement="s">
        <omgdc:Bounds x="100" y="200" width="30" height="30"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="t_di" bpmnElement="t">
        <omgdc:Bounds x="180" y="185" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="e_di" bpmnElement="e">
        <omgdc:Bounds x="330" y="400" width="28" height="28"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <omgdi:waypoint x="130" y="215"/>
        <omgdi:waypoint x="180" y="215"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <omgdi:waypoint x="280" y="225"/>
        <omgdi:waypoint x="344" y="225"/>
        <omgdi:waypoint x="344" y="400"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</definitions>"""
SKIP = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="skip" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
    <userTask id="first"/>
    <sequenceFlow id="f2" sourceRef="first" targetRef="middle"/>
    <userTask id="middle"/>
    <sequenceFlow id="f3" sourceRef="middle" targetRef="last"/>
    <sequenceFlow id="skip" sourceRef="first" targetRef="last"/>
    <userTask id="last"/>
    <sequenceFlow id="f4" sourceRef="last" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""
LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="loop" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <userTask id="review"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="again"/>
    <exclusiveGateway id="again" default="done"/>
    <sequenceFlow id="back" sourceRef="again" targetRef="review">
      <conditionExpression>${again == true}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="done" sourceRef="again" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def test_the_files_diagram_interchange_is_used_shifted_to_the_margin() -> None:
    mock = MockIDM()
    definition = mock.deploy_bpmn(WITH_DI, "drawn.bpmn20.xml")[0]
    drawn = diagram(definition.model, mock.bpmn_source(definition))
    assert not drawn.automatic
    start, task, end = (drawn.shapes[n] for n in ("s", "t", "e"))
    # the file's geometry, moved so that the leftmost and topmost shapes sit at the margin
    assert (start.x, start.y, start.width) == (20, 35, 30)
    assert (task.x, task.y, task.width, task.height) == (100, 20, 100, 80)
    assert (end.x, end.y) == (250, 235)
    assert drawn.edges[1].points == ((200, 60), (264, 60), (264, 235))
    assert drawn.width == 250 + 28 + 20 + 40 and drawn.height == 235 + 28 + 20 + 20


def test_a_file_that_places_not_every_node_is_laid_out_and_says_why() -> None:
    mock = MockIDM()
    definition = mock.deploy_file(ROOT / "tests/engine/bpmn_files/approval.bpmn20.xml")[0]
    drawn = diagram(definition.model, mock.bpmn_source(definition))
    assert drawn.automatic and drawn.note is not None
    assert "does not place approve" in drawn.note


def test_the_automatic_layout_puts_each_node_after_those_before_it() -> None:
    mock = MockIDM()
    definitions = mock.deploy_samples()
    role_request = next(d for d in definitions if d.key == "roleRequest")
    drawn = layered(role_request.model)
    for edge in drawn.edges:  # no loop here: every flow goes left to right
        assert drawn.shapes[edge.source].x < drawn.shapes[edge.target].x, edge.id
    # the two parallel reviews share a column, one above the other
    security, manager = drawn.shapes["securityReview"], drawn.shapes["managerReview"]
    assert security.x == manager.x and security.y + security.height < manager.y
    # no two shapes overlap
    boxes = list(drawn.shapes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert (a.x + a.width <= b.x or b.x + b.width <= a.x
                    or a.y + a.height <= b.y or b.y + b.height <= a.y), (a.id, b.id)


def test_a_loop_goes_back_below_the_diagram() -> None:
    mock = MockIDM()
    definition = mock.deploy_bpmn(LOOP, "loop.bpmn20.xml")[0]
    drawn = layered(definition.model)
    back = next(e for e in drawn.edges if e.id == "back")
    lowest = max(s.y + s.height for s in drawn.shapes.values())
    assert all(y > lowest for _, y in back.points[1:3])
    assert drawn.shapes["review"].x < drawn.shapes["again"].x < drawn.shapes["e"].x


def test_the_path_taken_is_the_certain_nodes_and_the_shortest_way_between_them() -> None:
    mock = MockIDM()
    mock.deploy_samples()
    instance = mock.start_process("contractorOnboarding", variables={"contractorName": "A"})
    waiting = progress(instance, mock.task_history(instance.id))
    assert waiting.active == {"managerApproval"}
    assert waiting.visited == {"start", "managerApproval"} and waiting.taken == {"toApproval"}
    mock.complete(mock.tasks(instance.id)[0].id, {"decision": "reject"})
    ended = progress(mock.instance(instance.id), mock.task_history(instance.id))
    assert ended.active == frozenset()
    assert ended.visited == {"start", "managerApproval", "decisionMade", "contractorRejected"}
    assert ended.taken == {"toApproval", "toDecision", "rejected"}


def test_a_flow_that_would_cross_a_shape_goes_below() -> None:
    mock = MockIDM()
    definition = mock.deploy_bpmn(SKIP, "skip.bpmn20.xml")[0]
    drawn = layered(definition.model)
    middle = drawn.shapes["middle"]
    skip = next(e for e in drawn.edges if e.id == "skip")
    assert all(y > middle.y + middle.height for _, y in skip.points[1:3])
    direct = next(e for e in drawn.edges if e.id == "f1")
    assert len(direct.points) == 2  # a straight line where nothing is in the way


REVIEW = ROOT / "tests/http/scope_workflows/contractor_review.bpmn20.xml"


def _inside(inner, outer) -> bool:
    return (outer.x < inner.x and inner.x + inner.width < outer.x + outer.width
            and outer.y < inner.y and inner.y + inner.height < outer.y + outer.height)


def test_a_sub_process_is_a_box_around_its_own_layout() -> None:
    mock = MockIDM()
    definition = mock.deploy_file(REVIEW)[0]
    drawn = layered(definition.model)
    nodes = definition.model.nodes
    for node in nodes.values():
        if node.parent is not None:
            assert _inside(drawn.shapes[node.id], drawn.shapes[node.parent]), node.id
        else:
            assert not _inside(drawn.shapes[node.id], drawn.shapes["reviewStage"]), node.id
    # the box comes before what it holds, so that it is drawn under it
    order = list(drawn.shapes)
    assert order.index("reviewStage") < order.index("securityStage") < order.index("fork")
    # inside a scope, flows still run left to right
    fork, join = drawn.shapes["fork"], drawn.shapes["join"]
    assert fork.x < drawn.shapes["securityReview"].x < join.x


def test_a_boundary_event_sits_on_its_activitys_lower_edge() -> None:
    mock = MockIDM()
    drawn = layered(mock.deploy_file(REVIEW)[0].model)
    stage = drawn.shapes["reviewStage"]
    for boundary in ("anyError", "rejectedCatch"):
        event = drawn.shapes[boundary]
        assert stage.x < event.center[0] < stage.x + stage.width
        assert event.center[1] == stage.y + stage.height
    assert drawn.shapes["anyError"].x != drawn.shapes["rejectedCatch"].x  # side by side
    notify = drawn.shapes["notifyRequester"]
    assert notify.x > stage.x + stage.width  # what a boundary event leads to comes after


def test_the_path_enters_a_sub_process_and_leaves_by_a_boundary_event() -> None:
    mock = MockIDM()
    key = mock.deploy_file(REVIEW)[0].key
    instance = mock.start_process(key, variables={"manager": "bob", "contractorName": "x"})
    waiting = progress(instance, mock.task_history(instance.id))
    assert waiting.active == {"reviewStage", "managerReview"}
    assert waiting.visited == {"request", "reviewStage", "reviewStart", "managerReview"}
    assert waiting.taken == {"toReview", "toManager"}
    mock.complete(mock.tasks(instance.id)[0].id, {"decision": "reject"})
    caught = progress(mock.instance(instance.id), mock.task_history(instance.id))
    assert caught.active == {"notifyRequester"}
    assert {"rejectedCatch", "notifyRequester"} <= caught.visited
    assert "toNotify" in caught.taken and "toProvision" not in caught.taken


def test_a_boundary_event_sits_on_its_activity_and_its_flow_goes_round_shapes() -> None:
    mock = MockIDM()
    definition = mock.deploy_file(
        ROOT / "tests/http/timer_workflows/access_escalation.bpmn20.xml")[0]
    drawn = layered(definition.model)
    task, timer = drawn.shapes["managerApproval"], drawn.shapes["approvalOverdue"]
    assert task.x < timer.center[0] < task.x + task.width
    assert timer.center[1] == task.y + task.height  # on the lower edge
    escalation = drawn.shapes["escalatedApproval"]
    assert task.x < escalation.x  # after the activity the timer interrupts
    # the manager's flow to the gateway would cross the escalation task: it goes below
    decided = next(e for e in drawn.edges if e.id == "managerDecided")
    assert all(y > escalation.y + escalation.height for _, y in decided.points[1:3])


def test_the_path_through_a_boundary_event_follows_its_activity() -> None:
    mock = MockIDM()
    mock.deploy_file(ROOT / "tests/http/timer_workflows/access_escalation.bpmn20.xml")
    instance = mock.start_process("accessEscalation", variables={"manager": "bob"})
    mock.freeze_time()
    assert [run.job.activity for run in mock.advance_time(73 * 3600)] == ["approvalOverdue"]
    escalated = progress(mock.instance(instance.id), mock.task_history(instance.id))
    assert escalated.active == {"escalatedApproval"}
    assert escalated.visited == {"requested", "managerApproval", "approvalOverdue",
                                 "escalatedApproval"}
    assert escalated.taken == {"toApproval", "toEscalation"}
