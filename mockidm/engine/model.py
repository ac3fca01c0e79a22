"""What the engine knows: process models, definitions, instances and tasks.

A process model is a graph of nodes joined by sequence flows. Definitions declared in Python
build a straight line of user tasks; the BPMN loader builds richer graphs of the same kind.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from .codec import ADDED

# Node kinds the interpreter knows (the BPMN element names).
START_EVENT = "startEvent"
END_EVENT = "endEvent"
USER_TASK = "userTask"
SCRIPT_TASK = "scriptTask"
MANUAL_TASK = "manualTask"
SERVICE_TASK = "serviceTask"
RECEIVE_TASK = "receiveTask"
CATCH_EVENT = "intermediateCatchEvent"
EXCLUSIVE_GATEWAY = "exclusiveGateway"
PARALLEL_GATEWAY = "parallelGateway"
BOUNDARY_EVENT = "boundaryEvent"  # attached to an activity (`attached_to`)
SUB_PROCESS = "subProcess"  # an embedded sub-process: its nodes name it as their `parent`
CALL_ACTIVITY = "callActivity"  # starts another process (`called_element`) and waits for it

# The `activiti:type` of a service task the interpreter runs.
MAIL = "mail"

# What an intermediate catch event waits for.
MESSAGE = "message"
SIGNAL = "signal"
TIMER = "timer"  # `timer` holds its kind (TIME_DURATION, ...) and `timer_value` its text
ERROR = "error"  # an error boundary event: `event_name` holds the error code (None: any)

# A timer event definition's three kinds (the BPMN element names).
TIME_DURATION = "timeDuration"
TIME_DATE = "timeDate"
TIME_CYCLE = "timeCycle"


@dataclass(frozen=True)
class FormProperty:
    """A form field on a start event or user task (activiti:formProperty)."""

    id: str
    name: str | None = None
    # string, long, boolean, double, date or enum; None when the property names no type,
    # which Activiti keeps as no form type at all (not as a string).
    type: str | None = None
    values: dict[str, str] | None = None  # enum id -> label
    date_pattern: str | None = None
    readable: bool = True
    writable: bool = True
    required: bool = False
    default: str | None = None
    variable: str | None = None
    expression: str | None = None


# Task listener events (TaskListener.EVENTNAME_*; `all` is Flowable's ALL_EVENTS) and execution
# listener events (ExecutionListener.EVENTNAME_*).
TASK_EVENTS = ("create", "assignment", "complete", "delete", "all")
EXECUTION_EVENTS = ("start", "end", "take")


@dataclass(frozen=True)
class Listener:
    """A task or execution listener (activiti:taskListener / activiti:executionListener).

    Exactly one of `expression` (evaluated when the event fires), `delegate_expression` and
    `implementation` (a Java class, ScriptTaskListener's Groovy included) is set; the last
    two run Java code, which the mock cannot: they pass through (see Interpreter), except a
    script listener, whose `script` the mock runs."""

    event: str
    expression: str | None = None
    delegate_expression: str | None = None
    implementation: str | None = None
    script_language: str | None = None  # a script listener's `language` field
    script: ScriptText | None = field(default=None, metadata=ADDED)  # ... and its `script`


@dataclass(frozen=True)
class ScriptText:
    """The script of a script task (`scriptFormat`, `activiti:autoStoreVariables`,
    `activiti:resultVariable`) or a script listener (fields `script`, `language`,
    `resultVariable`): kept as text, compiled at deploy (engine/groovy), run by
    engine/scripting.py. `line` is where the script starts in its BPMN file."""

    text: str
    language: str | None = None
    line: int | None = None
    auto_store: bool = False
    result_variable: str | None = None


@dataclass(frozen=True)
class FieldValue:
    """An `activiti:field` of a task: literal text (`stringValue`, `activiti:string`) or an
    expression (`expression`, `activiti:expression`) evaluated when the task runs."""

    name: str
    text: str
    expression: bool = False


@dataclass(frozen=True)
class MultiInstance:
    """A `multiInstanceLoopCharacteristics` of a user task: how many instances of it run,
    one after the other (`sequential`) or all at once, and when the rest are cut short."""

    sequential: bool = False
    # `activiti:collection`: an expression (`${...}`), else the name of a variable holding it
    collection: str | None = None
    element_variable: str | None = None  # `activiti:elementVariable`: each instance's element
    loop_cardinality: str | None = None  # `loopCardinality`: a number or an expression
    completion_condition: str | None = None  # `completionCondition`: ends the rest when true


# The variables a multi-instance activity keeps: on its root execution, and each instance's
# index on the instance's own execution (MultiInstanceActivityBehavior).
NR_OF_INSTANCES = "nrOfInstances"
NR_OF_ACTIVE_INSTANCES = "nrOfActiveInstances"
NR_OF_COMPLETED_INSTANCES = "nrOfCompletedInstances"
LOOP_COUNTER = "loopCounter"


@dataclass(frozen=True)
class IOParameter:
    """A call activity's `activiti:in` / `activiti:out`: the value of `source` (a variable
    of the process it is copied from) or of `source_expression`, set as `target`."""

    target: str
    source: str | None = None
    source_expression: str | None = None


@dataclass(frozen=True)
class Node:
    """One BPMN flow node. Fields that a kind does not use stay empty."""

    id: str
    kind: str
    name: str | None = None
    documentation: str | None = None
    assignee: str | None = None
    candidate_users: tuple[str, ...] = ()
    candidate_groups: tuple[str, ...] = ()
    form_key: str | None = None
    form_properties: tuple[FormProperty, ...] = ()
    priority: int = 50
    default_flow: str | None = None  # gateways: the flow taken when no condition holds
    event: str | None = None  # catch events: MESSAGE or SIGNAL
    event_name: str | None = None  # the message or signal name it waits for
    line: int | None = None  # where the BPMN file declares it, for error messages
    # Added after snapshot format 1 was fixed: written only when set (see codec.ADDED).
    initiator: str | None = field(default=None, metadata=ADDED)  # start: the starter's variable
    due_date: str | None = field(default=None, metadata=ADDED)  # user tasks: an expression
    # user tasks: a priority that is an expression (`priority` holds a literal one)
    priority_expression: str | None = field(default=None, metadata=ADDED)
    expression: str | None = field(default=None, metadata=ADDED)  # service task: what it runs
    result_variable: str | None = field(default=None, metadata=ADDED)  # ... and where it goes
    task_listeners: tuple[Listener, ...] = field(default=(), metadata=ADDED)  # user tasks
    service_type: str | None = field(default=None, metadata=ADDED)  # `activiti:type`: "mail"
    fields: tuple[FieldValue, ...] = field(default=(), metadata=ADDED)  # a mail task's fields
    execution_listeners: tuple[Listener, ...] = field(default=(), metadata=ADDED)
    task_category: str | None = field(default=None, metadata=ADDED)  # user tasks: `category`
    script: ScriptText | None = field(default=None, metadata=ADDED)  # script tasks
    multi_instance: MultiInstance | None = field(default=None, metadata=ADDED)  # user tasks
    # Boundary events: the activity they are attached to, and whether they interrupt it.
    attached_to: str | None = field(default=None, metadata=ADDED)
    cancel_activity: bool = field(default=True, metadata=ADDED)
    # Timer events (event == TIMER): timeDuration, timeDate or timeCycle, and its text (an
    # ISO 8601 value, or an expression that gives one when the timer is created).
    timer: str | None = field(default=None, metadata=ADDED)
    timer_value: str | None = field(default=None, metadata=ADDED)
    # The sub-process the node lies in (None: the process itself).
    parent: str | None = field(default=None, metadata=ADDED)
    # Call activities: the key of the process they start (text or an expression), the
    # variables copied in and out, and the child's business key (an expression, or inherited).
    called_element: str | None = field(default=None, metadata=ADDED)
    in_parameters: tuple[IOParameter, ...] = field(default=(), metadata=ADDED)
    out_parameters: tuple[IOParameter, ...] = field(default=(), metadata=ADDED)
    call_business_key: str | None = field(default=None, metadata=ADDED)
    inherit_business_key: bool = field(default=False, metadata=ADDED)
    inherit_variables: bool = field(default=False, metadata=ADDED)


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    condition: str | None = None  # an EL expression such as `${decision == 'approve'}`
    listeners: tuple[Listener, ...] = field(default=(), metadata=ADDED)  # `take` listeners


@dataclass(frozen=True, eq=False)
class ProcessModel:
    """An executable process: the part of a BPMN `process` element the engine runs."""

    key: str
    name: str | None
    nodes: dict[str, Node]
    flows: tuple[Flow, ...]
    documentation: str | None = None
    category: str | None = None
    resource_name: str | None = None
    graphical_notation: bool = False  # the file has BPMN diagram interchange (bpmndi) data
    executable: bool = True
    line: int | None = None
    # The process's own execution listeners (start, end).
    listeners: tuple[Listener, ...] = field(default=(), metadata=ADDED)

    def outgoing(self, node_id: str) -> list[Flow]:
        return self._outgoing.get(node_id, [])

    def boundary_events(self, activity_id: str) -> list[Node]:
        """The boundary events attached to an activity, in document order."""
        return self.boundaries.get(activity_id, _NONE)

    @cached_property
    def boundaries(self) -> dict[str, list[Node]]:
        """Activity id -> its boundary events (no entry for an activity without any)."""
        table: dict[str, list[Node]] = {}
        for node in self.nodes.values():
            if node.attached_to is not None:
                table.setdefault(node.attached_to, []).append(node)
        return table

    def initial(self, scope: str | None) -> Node | None:
        """The start event of a sub-process (of the process itself for None)."""
        return self._starts.get(scope)

    @cached_property
    def _starts(self) -> dict[str | None, Node]:
        table: dict[str | None, Node] = {}
        for node in self.nodes.values():
            if node.kind == START_EVENT:
                table.setdefault(node.parent, node)
        return table

    @cached_property
    def calls(self) -> bool:
        """Whether the process has a call activity (so its instances may have children)."""
        return any(node.kind == CALL_ACTIVITY for node in self.nodes.values())

    def incoming_count(self, node_id: str) -> int:
        return sum(1 for flow in self.flows if flow.target == node_id)

    @cached_property
    def _outgoing(self) -> dict[str, list[Flow]]:
        table: dict[str, list[Flow]] = {}
        for flow in self.flows:
            table.setdefault(flow.source, []).append(flow)
        return table

    @cached_property
    def start(self) -> Node:
        return next(node for node in self.nodes.values()
                    if node.kind == START_EVENT and node.parent is None)

    @cached_property
    def user_tasks(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind == USER_TASK]


class _NoneYet(dict[str, Any]):
    """An empty dict that instances share as a default until they hold something of their
    own (hashable, so that a dataclass takes it as a plain default: creating an instance,
    which the request path measures, costs no dict for it). Never written: a writer gives
    the instance dicts of its own first (`scope.own_executions`)."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # dict is unhashable; this one must be
        return 0


NONE_YET: Any = _NoneYet()
_NONE: list[Node] = []


@dataclass(frozen=True)
class UserTask:
    """A user task declared in Python: `UserTask("approve", "Approve", candidate_groups=[...])`."""

    id: str
    name: str | None = None
    assignee: str | None = None
    candidate_users: tuple[str, ...] | list[str] = ()
    candidate_groups: tuple[str, ...] | list[str] = ()
    documentation: str | None = None
    form_key: str | None = None
    form_properties: tuple[FormProperty, ...] | list[FormProperty] = ()

    def node(self) -> Node:
        return Node(
            id=self.id,
            kind=USER_TASK,
            name=self.name,
            documentation=self.documentation,
            assignee=self.assignee,
            candidate_users=tuple(self.candidate_users),
            candidate_groups=tuple(self.candidate_groups),
            form_key=self.form_key,
            form_properties=tuple(self.form_properties),
        )


def linear_process(
    key: str,
    name: str | None = None,
    tasks: list[UserTask] | tuple[UserTask, ...] = (),
    *,
    category: str | None = None,
    documentation: str | None = None,
    start_form_properties: tuple[FormProperty, ...] | list[FormProperty] = (),
    start_form_key: str | None = None,
) -> ProcessModel:
    """start -> each user task in turn -> end: the shape most approval workflows have."""
    nodes = [Node("start", START_EVENT, form_key=start_form_key,
                  form_properties=tuple(start_form_properties))]
    nodes += [task.node() for task in tasks]
    nodes.append(Node("end", END_EVENT))
    flows = tuple(
        Flow(f"flow{i}", a.id, b.id) for i, (a, b) in enumerate(itertools.pairwise(nodes))
    )
    return ProcessModel(
        key=key,
        name=name,
        nodes={node.id: node for node in nodes},
        flows=flows,
        documentation=documentation,
        category=category,
        resource_name=f"{key}.bpmn20.xml",
    )


@dataclass
class Deployment:
    id: str
    name: str | None
    time: datetime
    definition_ids: list[str] = field(default_factory=list)
    resources: dict[str, bytes] = field(default_factory=dict)


@dataclass
class ProcessDefinition:
    id: str
    key: str
    version: int
    deployment_id: str
    model: ProcessModel
    diagram_resource_name: str | None = None
    suspended: bool = False

    @property
    def name(self) -> str | None:
        return self.model.name


@dataclass(slots=True)
class ProcessInstance:
    id: str
    definition: ProcessDefinition
    business_key: str | None
    start_user: str | None
    start_time: datetime
    variables: dict[str, Any]
    start_activity: str
    super_instance_id: str | None = None
    end_time: datetime | None = None
    end_activity: str | None = None
    delete_reason: str | None = None
    # The tokens: execution id -> the activity it waits in (empty once ended). An execution
    # that entered a sub-process or a call activity waits there while the inside runs.
    executions: dict[str, str] = field(default_factory=dict)
    # Executions inside a sub-process -> the execution waiting in that sub-process (the
    # scope's own execution), for every execution alive inside one, waiting or moving.
    parents: dict[str, str] = field(default_factory=dict, metadata=ADDED)
    # A called instance: the execution of the parent instance that waits in the call activity.
    super_execution: str | None = field(default=None, metadata=ADDED)
    # Execution-local variables: execution id -> its variables, which an expression running in
    # that execution (or one below it) sees before the instance's (a multi-instance's counters
    # and each of its instances' element and loopCounter).
    locals: dict[str, dict[str, Any]] = field(default=NONE_YET, metadata=ADDED)
    # A multi-instance's executions -> their parent: the loop's root -> the execution that
    # arrived (which waits in the activity meanwhile), each instance's execution -> the root.
    loop_parents: dict[str, str] = field(default=NONE_YET, metadata=ADDED)

    def parent_of(self, execution_id: str) -> str | None:
        """An execution's parent as the mock shows it: a multi-instance's root or the execution
        that arrived in it; the execution waiting in the enclosing sub-process; else, for a
        branch of a fork, the instance's own execution."""
        parent = self.loop_parents.get(execution_id) or self.parents.get(execution_id)
        if parent is not None:
            return parent
        return None if execution_id == self.id else self.id

    @property
    def active_activities(self) -> list[str]:
        return list(self.executions.values())

    @property
    def ended(self) -> bool:
        return self.end_time is not None

    @property
    def duration_ms(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds() * 1000)


@dataclass(slots=True)
class Task:
    """A user task instance; kept after it ends, as the history store keeps it."""

    id: str
    instance_id: str
    execution_id: str
    definition_id: str
    node: Node
    name: str | None
    description: str | None
    assignee: str | None
    candidate_users: list[str]
    candidate_groups: list[str]
    create_time: datetime
    priority: int = 50
    owner: str | None = None
    due_date: datetime | None = None
    claim_time: datetime | None = None
    end_time: datetime | None = None
    delete_reason: str | None = None
    local_variables: dict[str, Any] = field(default_factory=dict)
    # Added after snapshot format 1: the evaluated `category`, and the evaluated form key of a
    # node whose form key is an expression (a literal one is the node's: `form_key`).
    category: str | None = field(default=None, metadata=ADDED)
    evaluated_form_key: str | None = field(default=None, metadata=ADDED)

    @property
    def key(self) -> str:
        return self.node.id

    @property
    def form_key(self) -> str | None:
        """The task's form key: what its expression gave at creation, else the node's text."""
        written = self.node.form_key
        if written is not None and "{" in written:
            return self.evaluated_form_key
        return written

    @property
    def active(self) -> bool:
        return self.end_time is None

    @property
    def duration_ms(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.create_time).total_seconds() * 1000)
