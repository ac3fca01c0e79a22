"""The BPMN 2.0 loader: files and .bar archives into process models, and everything refused."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from mockidm.engine import Engine, bpmn
from mockidm.engine.bpmn import (
    Archive,
    BpmnError,
    diagram_resource_name,
    is_deployable,
    load_archive,
    load_bpmn,
)
from mockidm.engine.errors import DefinitionError
from mockidm.engine.expressions import ExpressionError, compile_expression
from mockidm.engine.model import (
    CATCH_EVENT,
    END_EVENT,
    EXCLUSIVE_GATEWAY,
    MANUAL_TASK,
    MESSAGE,
    PARALLEL_GATEWAY,
    RECEIVE_TASK,
    SCRIPT_TASK,
    SERVICE_TASK,
    SIGNAL,
    START_EVENT,
    USER_TASK,
    Flow,
    FormProperty,
    Listener,
    Node,
    ProcessModel,
)

FILES = Path(__file__).parent / "bpmn_files"


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def line_of(text: str | bytes, marker: str) -> int:
    """The line on which `marker` first appears."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    assert marker in text, marker
    return text[: text.index(marker)].count("\n") + 1


def load_one(name: str) -> ProcessModel:
    models = load_bpmn(read(name), name)
    assert len(models) == 1
    return models[0]


HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn"
             targetNamespace="tests">
  <message id="m1" name="go"/>
  <signal id="s1" name="stop"/>
  <process id="p" name="P">
"""
TAIL = """
  </process>
</definitions>
"""
LINEAR = """    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
    <endEvent id="end"/>"""


def document(body: str) -> str:
    return HEAD + body + TAIL


def refused(text: str | bytes, name: str = "onboarding.bpmn20.xml") -> BpmnError:
    with pytest.raises(BpmnError) as caught:
        load_bpmn(text, name)
    return caught.value


# files into models ---------------------------------------------------------------------------


def test_approval_process_and_its_start_form() -> None:
    text = read("approval.bpmn20.xml")
    model = load_one("approval.bpmn20.xml")
    assert model.key == "accessApproval"
    assert model.name == "Access approval"
    assert model.documentation == "A user asks for access; a manager decides."
    assert model.category == "mockidm.tests.approvals"
    assert model.resource_name == "approval.bpmn20.xml"
    assert model.graphical_notation is True
    assert model.executable is True
    assert model.line == line_of(text, '<process id="accessApproval"')
    # Lanes, annotations, associations and data objects are not nodes.
    assert list(model.nodes) == ["request", "approve", "decision", "grant", "granted", "rejected"]
    assert model.start.id == "request"
    assert model.start == Node(
        id="request", kind=START_EVENT, name="Request access", form_key="requestForm.xhtml",
        line=line_of(text, '<startEvent id="request"'), initiator="requester",
        form_properties=(
            FormProperty("resource", "Resource", "string", required=True),
            FormProperty("until", "Until", "date", date_pattern="yyyy-MM-dd"),
            # The engine's registered date type when the file names no pattern.
            FormProperty("from", "From", "date", date_pattern="dd/MM/yyyy"),
            FormProperty("days", None, "long", default="30", variable="durationDays"),
            # No type: no form type at all (Activiti's FormTypes), not a string; "TRUE" is
            # true (Boolean.valueOf).
            FormProperty("requester", "Requester", None, readable=True, writable=False,
                         expression="${initiator}"),
            # "yes" is not "true": false, as Activiti reads it.
            FormProperty("urgent", "Urgent", "boolean", required=False),
        ))


def test_approval_user_task_gateway_and_conditions() -> None:
    text = read("approval.bpmn20.xml")
    model = load_one("approval.bpmn20.xml")
    assert model.nodes["approve"] == Node(
        id="approve", kind=USER_TASK, name="Approve the request",
        documentation="Check the request, then approve or reject it.",
        assignee="${manager}",
        # A comma inside ${...} does not split.
        candidate_users=("alice", "${execution.getVariable('x,y')}", "bob"),
        candidate_groups=("managers",), form_key="approveForm.xhtml", priority=70,
        form_properties=(
            FormProperty("decision", "Decision", "enum",
                         values={"approve": "Approve", "reject": "Reject"}, required=True),
            FormProperty("comment", "Comment", "string"),
        ),
        # Listeners are kept as written, in document order; the interpreter runs them.
        task_listeners=(Listener("create", "${execution.setVariable('approvalTask', task.id)}"),),
        line=line_of(text, '<userTask id="approve"'))
    assert model.nodes["decision"].kind == EXCLUSIVE_GATEWAY
    assert model.nodes["decision"].default_flow == "toRejected"
    assert model.nodes["grant"].kind == SCRIPT_TASK
    assert [n.kind for n in model.nodes.values()].count(END_EVENT) == 2
    assert model.flows == (
        Flow("toApprove", "request", "approve"),
        Flow("toDecision", "approve", "decision"),
        Flow("toGrant", "decision", "grant", "${decision == 'approve'}"),  # CDATA, trimmed
        Flow("toRejected", "decision", "rejected"),
        Flow("toGranted", "grant", "granted"),
    )
    assert [f.id for f in model.outgoing("decision")] == ["toGrant", "toRejected"]


def test_non_executable_processes_are_left_out() -> None:
    # The second process is isExecutable="false" and holds a callActivity: not even checked.
    models = load_bpmn(read("approval.bpmn20.xml"), "approval.bpmn20.xml")
    assert [m.key for m in models] == ["accessApproval"]


def test_parallel_review_with_candidate_groups() -> None:
    model = load_one("parallel_review.bpmn20.xml")
    assert model.category == "mockidm.tests.reviews"
    assert model.graphical_notation is False  # no BPMN DI in the file
    assert model.documentation is None
    kinds = {n.id: n.kind for n in model.nodes.values()}
    assert kinds == {"start": START_EVENT, "fork": PARALLEL_GATEWAY, "legalReview": USER_TASK,
                     "securityReview": USER_TASK, "join": PARALLEL_GATEWAY,
                     "archive": RECEIVE_TASK, "end": END_EVENT}
    legal = model.nodes["legalReview"]
    assert legal.candidate_groups == ("legal", "finance", "internal/role/openidm-admin")
    assert legal.assignee is None and legal.candidate_users == ()
    assert legal.priority == 50
    # The standard BPMN assignment elements, as Activiti reads them.
    security = model.nodes["securityReview"]
    assert security.assignee == "carol"
    assert security.candidate_users == ("dave",)
    assert security.candidate_groups == ("security", "auditors")
    assert [f.target for f in model.outgoing("fork")] == ["legalReview", "securityReview"]
    assert model.incoming_count("join") == 2


def test_message_and_signal_waits_resolve_to_names() -> None:
    text = read("message_wait.bpmn20.xml")
    model = load_one("message_wait.bpmn20.xml")
    assert model.nodes["prepare"].kind == SERVICE_TASK
    payment = model.nodes["waitPayment"]
    assert (payment.kind, payment.event, payment.event_name) == (
        CATCH_EVENT, MESSAGE, "paymentReceived")  # messageRef "tns:paymentMessage"
    assert payment.name == "Payment received"
    assert payment.line == line_of(text, '<intermediateCatchEvent id="waitPayment"')
    audit = model.nodes["waitAudit"]
    assert (audit.event, audit.event_name) == (SIGNAL, "auditDone")
    assert model.nodes["waitOther"].event_name == "unnamedSignal"  # a nameless signal: its id


def test_a_manual_task_is_passed_through() -> None:
    text = document("""    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="sign"/>
    <manualTask id="sign" name="Sign the contract"><documentation>On paper</documentation>
    </manualTask>
    <sequenceFlow id="f2" sourceRef="sign" targetRef="file"/>
    <userTask id="file" name="File it"/>
    <sequenceFlow id="f3" sourceRef="file" targetRef="end"/>
    <endEvent id="end"/>""")
    (model,) = load_bpmn(text, "manual.bpmn20.xml")
    assert model.nodes["sign"] == Node(
        "sign", MANUAL_TASK, name="Sign the contract", documentation="On paper",
        line=line_of(text, '<manualTask id="sign"'))
    engine = Engine()
    engine.deploy(model)
    instance = engine.start(key="p")
    assert instance.active_activities == ["file"]  # the token did not stop at "sign"
    [task] = engine.tasks_of(instance.id)
    engine.complete(task.id)
    assert (instance.ended, instance.end_activity) == (True, "end")


def test_flows_without_ids_get_unique_generated_ids() -> None:
    model = load_one("message_wait.bpmn20.xml")
    ids = [flow.id for flow in model.flows]
    assert len(set(ids)) == len(ids) == 5
    assert not set(ids) & set(model.nodes)
    assert [(f.source, f.target) for f in model.flows][:2] == [
        ("start", "prepare"), ("prepare", "waitPayment")]


def test_flowable_namespace() -> None:
    model = load_one("flowable_review.bpmn20.xml")
    assert model.key == "roleReview"
    assert model.category == "mockidm.tests.flowable"
    assert model.start.form_key == "roleForm.xhtml"
    assert model.start.form_properties == (
        FormProperty("role", "Role", "enum", values={"admin": "Administrator", "user": "User"}),)
    review = model.nodes["review"]
    # flowable: wins over activiti: when both are present; activiti: is the fallback.
    assert review.candidate_groups == ("reviewers",)
    assert review.assignee == "fallback"
    assert review.priority == 50  # an expression priority keeps the default


def test_text_input_and_declared_encodings() -> None:
    latin = document(LINEAR).replace('name="P"', 'name="Café"').replace(
        'encoding="UTF-8"', 'encoding="ISO-8859-1"')
    assert load_bpmn(latin.encode("iso-8859-1"), "a.bpmn20.xml")[0].name == "Café"
    assert load_bpmn(latin, "a.bpmn20.xml")[0].name == "Café"  # str: the declaration is moot


def test_no_bpmn_namespace_is_read_like_activiti_does() -> None:
    text = ('<definitions><process id="bare"><startEvent id="s"/>'
            '<sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/>'
            "</process></definitions>")
    (model,) = load_bpmn(text, "bare.bpmn20.xml")
    assert model.key == "bare" and model.category is None and len(model.nodes) == 2


def test_is_executable_is_read_like_java_booleans() -> None:
    for value, kept in (("TRUE", True), ("", True), ("False", False), ("no", False)):
        second = ('  </process>\n  <process id="q" isExecutable="' + value + '">\n'
                  + LINEAR.replace('"start"', '"qs"').replace('"end"', '"qe"')
                  .replace('"f1"', '"qf"'))
        keys = [m.key for m in load_bpmn(document(LINEAR + "\n" + second), "x.bpmn20.xml")]
        assert keys == (["p", "q"] if kept else ["p"]), value


# hostile XML -----------------------------------------------------------------------------------

XXE = """<?xml version="1.0"?>
<!DOCTYPE definitions [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p" name="&secret;"/>
</definitions>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p" name="&lol9;"/>
</definitions>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>
"""

BARE_DTD = """<?xml version="1.0"?>
<!DOCTYPE definitions>
""" + document(LINEAR)[len('<?xml version="1.0" encoding="UTF-8"?>\n'):]


@pytest.mark.parametrize("text", [XXE, BILLION_LAUGHS, PARAMETER_ENTITY, BARE_DTD],
                         ids=["xxe", "billion-laughs", "parameter-entity", "dtd"])
def test_document_type_declarations_are_refused(text: str) -> None:
    started = time.perf_counter()
    error = refused(text.encode("utf-8"))
    assert time.perf_counter() - started < 1
    assert str(error) == ("onboarding.bpmn20.xml, line 2: a document type declaration "
                          "(<!DOCTYPE ...>) is not allowed in a BPMN file")
    assert isinstance(error, DefinitionError)
    assert (error.resource, error.line) == ("onboarding.bpmn20.xml", 2)
    refused(text)  # the same from text


def test_malformed_xml_names_the_line() -> None:
    text = document(LINEAR).replace('<endEvent id="end"/>', '<endEvent id="end">')
    error = refused(text)
    assert error.line == line_of(text, "</process>")
    assert str(error).startswith(f"onboarding.bpmn20.xml, line {error.line}: malformed XML: ")
    assert "mismatched tag" in str(error)


@pytest.mark.parametrize("text, problem", [
    ("", "malformed XML: no element found"),
    ("<definitions", "malformed XML: unclosed token"),
    ("<definitions>&undefined;</definitions>", "malformed XML: undefined entity"),
    ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><x:y/></definitions>',
     "malformed XML: unbound prefix"),
    ('<process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p"/>',
     "not a BPMN 2.0 document: the root element is 'process', not 'definitions'"),
])
def test_not_a_bpmn_document(text: str, problem: str) -> None:
    assert str(refused(text)) == f"onboarding.bpmn20.xml, line 1: {problem}"


# unsupported constructs ------------------------------------------------------------------------

UNSUPPORTED = {
    "transaction": ('<transaction id="x"><startEvent id="inner"/></transaction>',
                    "element 'transaction' (id 'x') is not supported by mockidm"),
    "event subProcess": ('<subProcess id="x" triggeredByEvent="true"><startEvent id="inner"/>'
                         "</subProcess>",
                         "element 'subProcess' (id 'x') is an event sub-process, which mockidm "
                         "does not support"),
    "complexGateway": ('<complexGateway id="x"/>',
                       "element 'complexGateway' (id 'x') is not supported by mockidm"),
    "boundary on an end event": (
        '<boundaryEvent id="x" attachedToRef="end"><timerEventDefinition>'
        "<timeDuration>PT5M</timeDuration></timerEventDefinition></boundaryEvent>",
        "boundary event 'x' is attached to the endEvent 'end'; mockidm arms boundary events on "
        "callActivity, intermediateCatchEvent, receiveTask, subProcess, userTask only"),
    "escalation boundary": (
        '<boundaryEvent id="x" attachedToRef="approve"><escalationEventDefinition/>'
        "</boundaryEvent>",
        "element 'boundaryEvent' (id 'x') with a escalationEventDefinition is not supported by "
        "mockidm (only timer, message, signal and error boundary events)"),
    "boundary on nothing": ('<boundaryEvent id="x"><timerEventDefinition><timeDuration>PT5M'
                            "</timeDuration></timerEventDefinition></boundaryEvent>",
                            "element 'boundaryEvent' (id 'x'): attribute 'attachedToRef' is "
                            "required"),
    "inclusiveGateway": ('<inclusiveGateway id="x"/>',
                         "element 'inclusiveGateway' (id 'x') is not supported by mockidm"),
    "eventBasedGateway": ('<eventBasedGateway id="x"/>',
                          "element 'eventBasedGateway' (id 'x') is not supported by mockidm"),
    "throwEvent": ('<intermediateThrowEvent id="x"/>',
                   "element 'intermediateThrowEvent' (id 'x') is not supported by mockidm"),
    "sendTask": ('<sendTask id="x"/>', "element 'sendTask' (id 'x') is not supported by mockidm"),
    "task": ('<task id="x"/>', "element 'task' (id 'x') is not supported by mockidm"),
    "businessRuleTask": ('<businessRuleTask id="x"/>',
                         "element 'businessRuleTask' (id 'x') is not supported by mockidm"),
    "no id": ("<transaction/>", "element 'transaction' is not supported by mockidm"),
    "timer without a time": ('<intermediateCatchEvent id="x"><timerEventDefinition/>'
                             "</intermediateCatchEvent>",
                             "element 'intermediateCatchEvent' (id 'x'): a timer needs exactly "
                             "one of timeDate, timeDuration and timeCycle"),
    "conditional catch": ('<intermediateCatchEvent id="x"><conditionalEventDefinition/>'
                          "</intermediateCatchEvent>",
                          "element 'intermediateCatchEvent' (id 'x') with a "
                          "conditionalEventDefinition is not supported by mockidm (only "
                          "timer, message and signal events)"),
    "empty catch": ('<intermediateCatchEvent id="x"/>',
                    "element 'intermediateCatchEvent' (id 'x') has no event definition; "
                    "mockidm supports message and signal catch events"),
    "two definitions": ('<intermediateCatchEvent id="x"><messageEventDefinition messageRef="m1"/>'
                        '<signalEventDefinition signalRef="s1"/></intermediateCatchEvent>',
                        "element 'intermediateCatchEvent' (id 'x') has 2 event definitions; "
                        "mockidm supports one"),
    "message start": ('<startEvent id="x"><messageEventDefinition messageRef="m1"/></startEvent>',
                      "element 'startEvent' (id 'x') with a messageEventDefinition is not "
                      "supported by mockidm (only none and timer start events)"),
    "terminate end": ('<endEvent id="x"><terminateEventDefinition/></endEvent>',
                      "element 'endEvent' (id 'x') with a terminateEventDefinition is not "
                      "supported by mockidm (only none and error end events)"),
    "multi-instance": ('<serviceTask id="x"><multiInstanceLoopCharacteristics '
                       'isSequential="false"/></serviceTask>',
                       "element 'serviceTask' (id 'x') has multiInstanceLoopCharacteristics, "
                       "which mockidm supports on user tasks only"),
    "standard loop": ('<userTask id="x"><standardLoopCharacteristics/></userTask>',
                      "element 'userTask' (id 'x') has standardLoopCharacteristics, which "
                      "mockidm does not support"),
    "activity default": ('<userTask id="x" default="f1"/>',
                         "element 'userTask' (id 'x') has a default flow; mockidm supports "
                         "default flows on exclusive gateways only"),
}


@pytest.mark.parametrize("snippet, problem", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_flow_nodes_are_refused_by_name_and_line(snippet: str, problem: str) -> None:
    text = document(LINEAR + "\n    " + snippet)
    error = refused(text)
    assert error.line == line_of(text, snippet)
    assert str(error) == f"onboarding.bpmn20.xml, line {error.line}: {problem}"


def test_things_that_route_no_token_are_ignored() -> None:
    extras = """
    <laneSet id="ls"><lane id="l"><flowNodeRef>start</flowNodeRef></lane></laneSet>
    <textAnnotation id="t"><text>note</text></textAnnotation>
    <association id="a" sourceRef="t" targetRef="start"/>
    <dataObject id="d"/>
    <dataObjectReference id="dr" dataObjectRef="d"/>
    <ioSpecification id="io"/>
    <extensionElements><activiti:executionListener event="end" class="x.Y"/></extensionElements>
    <other:thing xmlns:other="urn:other" id="o"/>"""
    (model,) = load_bpmn(document(LINEAR + extras), "x.bpmn20.xml")
    assert list(model.nodes) == ["start", "end"]
    # The process's execution listener is kept (it runs nothing: a Java class).
    assert model.listeners == (Listener("end", implementation="x.Y"),)


# structural errors -----------------------------------------------------------------------------


def gateway(default: str = ' default="toNo"', flows: str | None = None) -> str:
    if flows is None:
        flows = """
    <sequenceFlow id="toYes" sourceRef="gw" targetRef="end">
      <conditionExpression>${ok}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="toNo" sourceRef="gw" targetRef="end"/>"""
    return f"""    <startEvent id="start"/>
    <sequenceFlow id="in" sourceRef="start" targetRef="gw"/>
    <exclusiveGateway id="gw"{default}/>{flows}
    <endEvent id="end"/>"""


STRUCTURE = {
    "unknown target": (
        LINEAR.replace('targetRef="end"', 'targetRef="nowhere"'), 'id="f1"',
        "sequence flow 'f1' refers to unknown element 'nowhere'"),
    "unknown source": (
        LINEAR.replace('sourceRef="start"', 'sourceRef="ghost"'), 'id="f1"',
        "sequence flow 'f1' refers to unknown element 'ghost'"),
    "no source": (
        LINEAR.replace('sourceRef="start" ', ""), 'id="f1"',
        "sequence flow 'f1' has no sourceRef"),
    "no start": (
        LINEAR.replace('<startEvent id="start"/>', '<scriptTask id="start"/>'),
        '<process id="p"', "process 'p' has no start event"),
    "two starts": (
        LINEAR + '\n    <startEvent id="again"/>', '<startEvent id="again"',
        "process 'p' has more than one start event ('start', 'again'); mockidm runs "
        "processes with exactly one none start event"),
    "missing default": (
        gateway(' default="gone"'), '<exclusiveGateway',
        "exclusive gateway 'gw': its default flow 'gone' does not exist"),
    "foreign default": (
        gateway(' default="in"'), '<exclusiveGateway',
        "exclusive gateway 'gw': its default flow 'in' is not one of its outgoing sequence "
        "flows"),
    "conditional default": (
        gateway(' default="toYes"'), '<sequenceFlow id="toYes"',
        "exclusive gateway 'gw': its default flow 'toYes' has a condition, which is not "
        "allowed"),
    "dead-end gateway": (
        gateway("", "") , '<exclusiveGateway',
        "exclusive gateway 'gw' has no outgoing sequence flow"),
    "lone conditional flow": (
        gateway("", """
    <sequenceFlow id="only" sourceRef="gw" targetRef="end">
      <conditionExpression>${ok}</conditionExpression>
    </sequenceFlow>"""), '<sequenceFlow id="only"',
        "exclusive gateway 'gw' has only one outgoing sequence flow, which may not have a "
        "condition"),
    "duplicate id": (
        LINEAR + '\n    <userTask id="f1"/>', '<userTask id="f1"', None),
    "unknown message": (
        LINEAR + '\n    <intermediateCatchEvent id="x"><messageEventDefinition messageRef="nope"/>'
        "</intermediateCatchEvent>", "<messageEventDefinition",
        "element 'intermediateCatchEvent' (id 'x'): messageRef 'nope' names no message "
        "declared in this file"),
    "no signalRef": (
        LINEAR + '\n    <intermediateCatchEvent id="x"><signalEventDefinition/>'
        "</intermediateCatchEvent>", "<signalEventDefinition",
        "element 'intermediateCatchEvent' (id 'x'): attribute 'signalRef' is required"),
    "node without id": (
        LINEAR + "\n    <userTask/>", "<userTask/>", "element 'userTask' has no id"),
    "form property without id": (
        LINEAR.replace('<startEvent id="start"/>', '<startEvent id="start"><extensionElements>'
                       '<activiti:formProperty name="n"/></extensionElements></startEvent>'),
        "<activiti:formProperty", "a formProperty needs an id"),
    "unknown form type": (
        LINEAR.replace('<startEvent id="start"/>', '<startEvent id="start"><extensionElements>'
                       '<activiti:formProperty id="a" type="color"/></extensionElements>'
                       "</startEvent>"),
        "<activiti:formProperty",
        "form property 'a' has the unknown type 'color' (known: boolean, date, double, enum, "
        "long, string)"),
}


@pytest.mark.parametrize("body, marker, problem", STRUCTURE.values(), ids=STRUCTURE.keys())
def test_structural_errors_name_the_line(body: str, marker: str, problem: str | None) -> None:
    text = document(body)
    error = refused(text)
    assert error.line == line_of(text, marker)
    if problem is None:  # duplicate id
        first = line_of(text, 'id="f1"')
        problem = f"id 'f1' is used twice in one process (first on line {first})"
    assert str(error) == f"onboarding.bpmn20.xml, line {error.line}: {problem}"


def test_the_gateway_fixture_itself_loads() -> None:
    (model,) = load_bpmn(document(gateway()), "x.bpmn20.xml")
    assert model.nodes["gw"].default_flow == "toNo"


@pytest.mark.parametrize("condition", [
    "${size(decision) > 2}",
    "${count = 1}",
    "decision == 'approve'",
])
def test_an_expression_outside_the_subset_fails_at_load_time(condition: str) -> None:
    with pytest.raises(ExpressionError) as expected:
        compile_expression(condition)
    text = document(gateway(flows=f"""
    <sequenceFlow id="toYes" sourceRef="gw" targetRef="end">
      <conditionExpression><![CDATA[{condition}]]></conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="toNo" sourceRef="gw" targetRef="end"/>"""))
    error = refused(text)
    assert error.line == line_of(text, "<conditionExpression>")
    assert str(error) == (f"onboarding.bpmn20.xml, line {error.line}: sequence flow 'toYes': "
                          f"{expected.value}")


def test_processes_and_executability() -> None:
    empty = HEAD.split("  <process")[0] + "</definitions>\n"
    assert str(refused(empty)) == "onboarding.bpmn20.xml, line 2: the file defines no process"
    drafts = document(LINEAR).replace('<process id="p"', '<process id="p" isExecutable="false"')
    assert str(refused(drafts)) == (
        'onboarding.bpmn20.xml, line 2: every process of the file is non-executable '
        '(isExecutable="false"); at least one must be executable')
    nameless = document(LINEAR).replace('<process id="p"', "<process")
    assert str(refused(nameless)) == (
        f"onboarding.bpmn20.xml, line {line_of(nameless, '<process')}: a process needs an id "
        "(its key)")
    twice = document(LINEAR + "\n  </process>\n  <process id=\"p\">\n" + LINEAR)
    error = refused(twice)
    assert error.line == twice.count("\n", 0, twice.rindex('<process id="p"')) + 1
    assert error.problem == "process 'p' is defined twice in this file"


# archives --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def make_zip(entries: dict[str, bytes] | list[tuple[str, bytes]],
             method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in (entries.items() if isinstance(entries, dict) else entries):
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_bar_with_diagrams_and_forms() -> None:
    entries = {
        "approval.bpmn20.xml": read("approval.bpmn20.xml"),
        "approval.accessApproval.png": PNG,
        "approval.png": b"generic",
        "forms/approveForm.xhtml": b"<form>approve</form>",
        "reviews/parallel_review.bpmn20.xml": read("parallel_review.bpmn20.xml"),
        "reviews/parallel_review.jpg": b"jpeg",
        "reviews/": b"",
    }
    archive = load_archive(make_zip(entries), "approvals.bar")
    assert isinstance(archive, Archive)
    del entries["reviews/"]  # directories are not resources
    assert archive.resources == entries
    assert [(m.key, m.resource_name) for m in archive.models] == [
        ("accessApproval", "approval.bpmn20.xml"),
        ("parallelReview", "reviews/parallel_review.bpmn20.xml")]
    approval, review = archive.models
    assert diagram_resource_name(approval, "approval.bpmn20.xml", archive.resources) == \
        "approval.accessApproval.png"
    assert diagram_resource_name(review, review.resource_name or "", archive.resources) == \
        "reviews/parallel_review.jpg"


def test_diagram_resource_name_follows_bpmn_deployer() -> None:
    model = load_one("parallel_review.bpmn20.xml")  # key parallelReview

    def find(resource: str, *names: str) -> str | None:
        return diagram_resource_name(model, resource, names)

    assert find("a.bpmn20.xml", "a.parallelReview.png", "a.png") == "a.parallelReview.png"
    assert find("a.bpmn20.xml", "a.png", "a.parallelReview.jpg") == "a.png"  # png before jpg
    assert find("a.bpmn20.xml", "a.parallelReview.svg", "a.gif") == "a.gif"
    assert find("a.bpmn20.xml", "a.parallelReview.svg") == "a.parallelReview.svg"
    assert find("a.bpmn", "a.png") == "a.png"
    assert find("a.bpmn20.xml", "a.bpmn20.png", "a.parallelReview.PNG", "b.png") is None
    assert find("dir/a.bpmn20.xml", "a.png", "dir/a.png") == "dir/a.png"
    assert find("a.xml", "a.xmlparallelReview.png") == "a.xmlparallelReview.png"  # no suffix cut


def test_deployable_names() -> None:
    assert all(map(is_deployable, ["a.bpmn20.xml", "a.bpmn", "a.bar", "A.BAR", "a.zip"]))
    assert not any(map(is_deployable, ["a.xml", "a.png", "a.bpmn20.xml.bak", "a.BPMN"]))


def test_bpmn_errors_inside_an_archive_name_both() -> None:
    text = document(LINEAR + '\n    <complexGateway id="x"/>')
    data = make_zip({"forms/a.xhtml": b"", "processes/p.bpmn20.xml": text.encode()})
    with pytest.raises(BpmnError) as caught:
        load_archive(data, "onboarding.bar")
    line = line_of(text, "<complexGateway")
    assert str(caught.value) == (f"onboarding.bar: processes/p.bpmn20.xml, line {line}: "
                                 "element 'complexGateway' (id 'x') is not supported by mockidm")
    assert (caught.value.archive, caught.value.resource, caught.value.line) == (
        "onboarding.bar", "processes/p.bpmn20.xml", line)


def test_one_key_twice_in_an_archive() -> None:
    one = document(LINEAR).encode()
    with pytest.raises(BpmnError) as caught:
        load_archive(make_zip({"a.bpmn20.xml": one, "b.bpmn": one}), "x.bar")
    assert str(caught.value) == ("x.bar: process 'p' is defined both in 'a.bpmn20.xml' and in "
                                 "'b.bpmn'; a deployment cannot hold two processes with the same "
                                 "key")


def archive_refused(data: bytes, name: str = "bomb.bar") -> str:
    with pytest.raises(BpmnError) as caught:
        load_archive(data, name)
    assert caught.value.line is None
    return str(caught.value)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", read("approval.bpmn20.xml"),
                                  make_zip({"a.txt": b"x"})[:-10]],
                         ids=["empty", "text", "bpmn", "truncated"])
def test_not_a_zip(data: bytes) -> None:
    assert archive_refused(data, "x.bar").startswith("x.bar: not a valid zip archive: ")


def test_zip_bomb_refused_from_declared_sizes() -> None:
    size = bpmn.MAX_UNCOMPRESSED_BYTES + 1
    data = make_zip({"bomb.bpmn20.xml": bytes(size)})
    assert len(data) < 100_000  # small on disk
    assert archive_refused(data).startswith("bomb.bar: entry 'bomb.bpmn20.xml' expands "
                                            f"{size} bytes from")


def test_total_expanded_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bpmn, "MAX_COMPRESSION_RATIO", 10**9)
    data = make_zip({f"{n}.bin": bytes(20 * 1024 * 1024) for n in range(3)})
    assert archive_refused(data) == (
        f"bomb.bar: the archive expands to more than {bpmn.MAX_UNCOMPRESSED_BYTES} bytes")


def test_compression_ratio_is_limited() -> None:
    data = make_zip({"zeros.png": bytes(2 * 1024 * 1024)})
    assert "(more than 100:1); refused as a zip bomb" in archive_refused(data)
    # The same bytes stored, not compressed, are fine.
    stored = make_zip({"zeros.png": bytes(2 * 1024 * 1024)}, zipfile.ZIP_STORED)
    assert len(load_archive(stored, "ok.bar").resources["zeros.png"]) == 2 * 1024 * 1024


def lying_zip(real: bytes, declared: int, crc: int) -> bytes:
    """An archive whose headers (local and central) declare `declared` bytes and `crc` for an
    entry that really inflates to `real`."""
    data = bytearray(make_zip({"liar.bpmn20.xml": real}))
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 14, crc)
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_a_lying_header_is_caught_while_reading() -> None:
    real = bytes(8 * 1024 * 1024)
    # Headers claim 1000 bytes, with the CRC of the first 1000: zipfile alone would hand out
    # those 1000 bytes and never notice the other 8 MiB.
    data = lying_zip(real, 1000, zlib.crc32(real[:1000]))
    with zipfile.ZipFile(io.BytesIO(data)) as naive:
        assert len(naive.read("liar.bpmn20.xml")) == 1000
    message = archive_refused(data)
    assert message.startswith("bomb.bar: entry 'liar.bpmn20.xml' is corrupt or larger than "
                              "its header declares")
    # With a CRC that matches what the entry really holds past its declared size, it is the
    # byte count that stops it.
    data = lying_zip(real, 1000, zlib.crc32(real[:1001]))
    assert archive_refused(data) == ("bomb.bar: entry 'liar.bpmn20.xml' expands beyond the "
                                     "1000 bytes its header declares")


def test_too_many_entries() -> None:
    at_limit = make_zip({f"f{n}.txt": b"x" for n in range(bpmn.MAX_ENTRIES)})
    assert len(load_archive(at_limit, "ok.bar").resources) == bpmn.MAX_ENTRIES
    over = make_zip({f"f{n}.txt": b"x" for n in range(bpmn.MAX_ENTRIES + 1)})
    assert archive_refused(over) == (f"bomb.bar: the archive has {bpmn.MAX_ENTRIES + 1} "
                                     f"entries; mockidm accepts up to {bpmn.MAX_ENTRIES}")


def test_archive_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"a.txt": b"x" * 2000}, zipfile.ZIP_STORED)
    monkeypatch.setattr(bpmn, "MAX_ARCHIVE_BYTES", len(data) - 1)
    assert archive_refused(data) == (f"bomb.bar: the archive is {len(data)} bytes; mockidm "
                                     f"accepts archives up to {len(data) - 1} bytes")


@pytest.mark.parametrize("entry, problem", [
    ("../x.bpmn20.xml", "leaves the archive ('..')"),
    ("forms/../../x.bpmn20.xml", "leaves the archive ('..')"),
    ("/etc/x.bpmn20.xml", "has an absolute path"),
    ("C:/x.bpmn20.xml", "has an absolute path"),
    ("c:x.bpmn20.xml", "has an absolute path"),
    ("forms\\x.xhtml", "has a backslash in its name"),
    ("..\\x.bpmn20.xml", "has a backslash in its name"),
    ("a\x01b.png", "has an invalid name"),
])
def test_entry_names_that_leave_the_archive(entry: str, problem: str) -> None:
    data = make_zip({"ok.png": PNG, entry: b"x"})
    assert archive_refused(data) == f"bomb.bar: entry {entry!r} {problem}"


def test_duplicate_entries_and_other_methods() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = make_zip([("a.png", PNG), ("a.png", b"other")])
    assert archive_refused(twice) == "bomb.bar: entry 'a.png' appears twice"
    bzip = make_zip({"a.png": PNG}, zipfile.ZIP_BZIP2)
    assert archive_refused(bzip) == ("bomb.bar: entry 'a.png' uses compression method 12; "
                                     "only stored and deflated are supported")
