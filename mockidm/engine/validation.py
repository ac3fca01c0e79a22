"""Whether a process model can run: the one check every way into the engine goes through.

The BPMN loader, `Engine.deploy` (behind `MockIDM.deploy`), the reader of deployable files
(behind fixture files and the pytest plugin) and snapshot restore all call `check_model`. It
raises `InvalidModel` for the first problem it finds, in this order: node kinds and the
expressions of each node (assignee, name, form properties, listeners, ...: they compile),
then scopes (each node's sub-process exists, one start event per sub-process, boundary events
on an activity of their own scope), then each sequence flow (its ends, that they lie in one
scope, its condition, its listeners), the process's listeners,
the start event, the exclusive gateways. A problem names the node or flow at fault by id, so
that each caller can say where in its own terms: the loader gives the line, a snapshot the
key.

Checks that only make sense on XML (unknown elements, missing attributes, ids used twice)
stay in the loader.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .errors import DefinitionError
from .expressions import ExpressionError, compile_expression, compile_text
from .interpreter import ARMED_KINDS, KINDS
from .model import (
    BOUNDARY_EVENT,
    ERROR,
    EXCLUSIVE_GATEWAY,
    START_EVENT,
    SUB_PROCESS,
    TIMER,
    USER_TASK,
    Listener,
    MultiInstance,
    Node,
    ProcessModel,
)


class Code(enum.Enum):
    """What kind of problem a model has."""

    UNSUPPORTED_KIND = enum.auto()  # a node of a kind the interpreter cannot run
    UNKNOWN_ELEMENT = enum.auto()  # a flow's source or target names no node
    BAD_CONDITION = enum.auto()  # a flow's condition does not compile
    BAD_EXPRESSION = enum.auto()  # a node's expression (assignee, name, ...) does not compile
    START_EVENTS = enum.auto()  # not exactly one start event
    GATEWAY = enum.auto()  # an exclusive gateway Activiti would refuse
    SCOPE = enum.auto()  # a flow across a sub-process's boundary, a misplaced node
    BOUNDARY = enum.auto()  # a boundary event on nothing it can be armed on, or flowed into
    MULTI_INSTANCE = enum.auto()  # a multi-instance activity the engine would refuse


@dataclass(frozen=True)
class Problem:
    """One reason a model cannot run.

    `message` says it as the BPMN loader does, naming the element; `detail` says it as seen
    from the element's own `field` (the expression's error, the unknown reference, ...)."""

    code: Code
    message: str
    detail: str
    element: str | None = None  # the node or flow at fault; None: the process as a whole
    field: str | None = None  # the node's or flow's field that is wrong, if one is


class InvalidModel(DefinitionError):
    """A model that cannot run, worded as `Engine.deploy` words it; `problem` says what and
    where, for a caller that words it otherwise."""

    def __init__(self, model: ProcessModel, problem: Problem) -> None:
        if problem.code is Code.START_EVENTS:
            text = f"process '{model.key}' must have exactly one start event"
        elif problem.code in (Code.BAD_CONDITION, Code.BAD_EXPRESSION):
            text = f"process '{model.key}': {problem.detail}"
        else:
            text = f"process '{model.key}': {problem.message}"
        super().__init__(text)
        self.model, self.problem = model, problem


def check_model(model: ProcessModel) -> None:
    """Raise InvalidModel for the first problem of `model`, if it has one."""
    if model in _SOUND:
        return  # a model cannot change: one that passed passes again (the loader, then deploy)
    problem = next(problems(model), None)
    if problem is not None:
        raise InvalidModel(model, problem)
    _SOUND.add(model)


# The models that passed check_model, for as long as something holds them.
_SOUND: weakref.WeakSet[ProcessModel] = weakref.WeakSet()


def check_deployment(models: Sequence[ProcessModel]) -> None:
    """What deploying checks: at least one process, and each one can run."""
    if not models:
        raise DefinitionError("a deployment needs at least one process")
    for model in models:
        check_model(model)


def problems(model: ProcessModel) -> Iterator[Problem]:
    """Every problem of `model`, in the order `check_model` reports them."""
    for node in model.nodes.values():
        if node.kind not in KINDS:
            yield Problem(Code.UNSUPPORTED_KIND,
                          f"element '{node.id}' of type {node.kind} is not supported",
                          f"unsupported node kind {node.kind!r}", node.id, "kind")
        yield from _expressions(node)
        if node.multi_instance is not None:
            yield from _multi_instance(node, node.multi_instance)
    yield from _scopes(model)
    for flow in model.flows:
        for field, end in (("source", flow.source), ("target", flow.target)):
            if end not in model.nodes:
                yield Problem(Code.UNKNOWN_ELEMENT,
                              f"sequence flow '{flow.id}' refers to unknown element '{end}'",
                              f"unknown node {end!r}", flow.id, field)
        source, target = model.nodes.get(flow.source), model.nodes.get(flow.target)
        if source is not None and target is not None and source.parent != target.parent:
            # Flowable's SequenceflowValidator: a flow cannot cross a sub-process's boundary.
            message = (f"sequence flow '{flow.id}': its target '{flow.target}' isn't defined "
                       f"in the same scope as its source '{flow.source}'")
            yield Problem(Code.SCOPE, message, message, flow.id, "target")
        if flow.condition is not None:
            try:
                compile_expression(flow.condition)  # cached: cheap for a known condition
            except ExpressionError as exc:
                yield Problem(Code.BAD_CONDITION, f"sequence flow '{flow.id}': {exc}", str(exc),
                              flow.id, "condition")
        yield from _listeners(flow.listeners, flow.id, "listeners")
    yield from _listeners(model.listeners, None, "listeners")
    yield from _start_events(model)
    yield from _gateways(model)
    yield from _boundary_events(model)


# The Node fields that hold one expression each, and those that hold several.
_EXPRESSION_FIELDS = ("name", "documentation", "assignee", "due_date", "priority_expression",
                      "task_category", "form_key", "expression", "called_element",
                      "call_business_key", "timer_value")
_EXPRESSION_LISTS = ("candidate_users", "candidate_groups")


def _expressions(node: Node) -> Iterator[Problem]:
    """Every attribute the engine evaluates compiles, as Activiti parses them when deploying
    (the interpreter evaluates them when the engine does). Plain text cannot fail."""
    for field in _EXPRESSION_FIELDS:
        text = getattr(node, field)
        if text is not None and "{" in text:
            yield from _compiles(node, field, text)
    for field in _EXPRESSION_LISTS:
        for text in getattr(node, field):
            if "{" in text:
                yield from _compiles(node, field, text)
    for prop in node.form_properties:
        for text in (prop.default, prop.expression):
            if text is not None and "{" in text:
                yield from _compiles(node, "form_properties", text)
    for value in node.fields:
        if value.expression and "{" in value.text:
            yield from _compiles(node, "fields", value.text)
    for field in ("in_parameters", "out_parameters"):
        for parameter in getattr(node, field):
            if parameter.source_expression is not None:
                yield from _compiles(node, field, parameter.source_expression)
    for field in ("task_listeners", "execution_listeners"):
        yield from _listeners(getattr(node, field), node.id, field)


def _multi_instance(node: Node, loop: MultiInstance) -> Iterator[Problem]:
    """What Activiti's parse handler refuses of a multi-instance activity, and that what it
    evaluates compiles (a collection with `{` is an expression, else a variable's name)."""
    if node.kind != USER_TASK:
        yield Problem(Code.MULTI_INSTANCE, f"element '{node.id}' of type {node.kind} is "
                      "multi-instance; mockidm runs multi-instance user tasks only",
                      f"multi-instance on a {node.kind}", node.id, "multi_instance")
    if loop.loop_cardinality is None and loop.collection is None:
        message = "Either loopCardinality or loopDataInputRef/activiti:collection must been set."
        yield Problem(Code.MULTI_INSTANCE, f"element '{node.id}': {message}", message, node.id,
                      "multi_instance")
    if loop.collection is None and loop.element_variable is not None:
        message = ("LoopDataInputRef/activiti:collection must be set when using inputDataItem "
                   "or activiti:elementVariable.")
        yield Problem(Code.MULTI_INSTANCE, f"element '{node.id}': {message}", message, node.id,
                      "multi_instance")
    for text in (loop.loop_cardinality, loop.completion_condition, loop.collection):
        if text is not None and "{" in text:
            yield from _compiles(node, "multi_instance", text)


def _listeners(listeners: tuple[Listener, ...], element: str | None, field: str
               ) -> Iterator[Problem]:
    """A listener's expression compiles, as Activiti's parser creates it at deploy."""
    for listener in listeners:
        for text in (listener.expression, listener.delegate_expression):
            if text is not None and "{" in text:
                yield from _compiles_in(element, field, text)


def _compiles(node: Node, field: str, text: str) -> Iterator[Problem]:
    yield from _compiles_in(node.id, field, text)


def _compiles_in(element: str | None, field: str, text: str) -> Iterator[Problem]:
    try:
        compile_text(text)  # cached: cheap for a known text
    except ExpressionError as exc:
        where = f"element '{element}'" if element is not None else "the process"
        yield Problem(Code.BAD_EXPRESSION, f"{where}: {exc}", str(exc), element, field)


def _scopes(model: ProcessModel) -> Iterator[Problem]:
    """Each node's `parent` is a sub-process, each sub-process has exactly one start event
    (Flowable's SubprocessValidator refuses several; with none, its SubProcessActivityBehavior
    fails when a token arrives: the mock refuses it at deploy), a boundary event is attached
    to an activity of its own scope."""
    starts: dict[str, list[str]] = {}
    for node in model.nodes.values():
        if node.parent is not None:
            parent = model.nodes.get(node.parent)
            if parent is None or parent.kind != SUB_PROCESS:
                message = f"element '{node.id}' lies in '{node.parent}', which is no sub-process"
                yield Problem(Code.SCOPE, message, message, node.id, "parent")
            elif node.kind == START_EVENT:
                starts.setdefault(node.parent, []).append(node.id)
        if node.attached_to is not None:
            host = model.nodes.get(node.attached_to)
            if host is None or host.parent != node.parent or host.kind == BOUNDARY_EVENT:
                message = (f"boundary event '{node.id}' is attached to '{node.attached_to}', "
                           "which is no activity of its scope")
                yield Problem(Code.SCOPE, message, message, node.id, "attached_to")
    for node in model.nodes.values():
        if node.kind != SUB_PROCESS:
            continue
        found = starts.get(node.id, [])
        if len(found) != 1:
            message = (f"sub-process '{node.id}' has no start event" if not found else
                       f"sub-process '{node.id}' has more than one start event "
                       f"({', '.join(map(repr, found))}): multiple start events are not "
                       "supported for a sub-process")
            yield Problem(Code.SCOPE, message, message, found[1] if found else node.id)


def _start_events(model: ProcessModel) -> Iterator[Problem]:
    starts = [node.id for node in model.nodes.values()
              if node.kind == START_EVENT and node.parent is None]
    if len(starts) == 1:
        return
    detail = f"a process has exactly one {START_EVENT}, this one {len(starts)}"
    if not starts:
        yield Problem(Code.START_EVENTS, f"process '{model.key}' has no start event", detail)
        return
    yield Problem(Code.START_EVENTS,
                  f"process '{model.key}' has more than one start event "
                  f"({', '.join(map(repr, starts))}); mockidm runs processes with exactly one "
                  "none start event", detail, starts[1])


def _gateways(model: ProcessModel) -> Iterator[Problem]:
    """Activiti's ExclusiveGatewayValidator, and that the default flow exists."""
    flows = {flow.id: flow for flow in model.flows}
    for node in model.nodes.values():
        if node.kind != EXCLUSIVE_GATEWAY:
            continue
        outgoing = model.outgoing(node.id)
        gateway = f"exclusive gateway '{node.id}'"
        if not outgoing:
            yield _gateway(f"{gateway} has no outgoing sequence flow", node.id)
        elif len(outgoing) == 1 and outgoing[0].condition is not None:
            yield _gateway(f"{gateway} has only one outgoing sequence flow, which may not have "
                           "a condition", outgoing[0].id, "condition")
        if node.default_flow is None:
            continue
        default = flows.get(node.default_flow)
        if default is None:
            yield _gateway(f"{gateway}: its default flow '{node.default_flow}' does not exist",
                           node.id, "default_flow")
        elif default.source != node.id:
            yield _gateway(f"{gateway}: its default flow '{default.id}' is not one of its "
                           "outgoing sequence flows", node.id, "default_flow")
        elif default.condition is not None:
            yield _gateway(f"{gateway}: its default flow '{default.id}' has a condition, which "
                           "is not allowed", default.id, "condition")


def _gateway(message: str, element: str, field: str | None = None) -> Problem:
    return Problem(Code.GATEWAY, message, message, element, field)


def _boundary_events(model: ProcessModel) -> Iterator[Problem]:
    """A boundary event is attached to an activity the mock arms boundary events on (where it
    is attached is `_scopes`'s), has no incoming sequence flow (Flowable's validator refuses
    one) and its event; a timer start event starts a process, not a sub-process."""
    targets = {flow.target: flow for flow in model.flows}
    for node in model.nodes.values():
        if node.kind == START_EVENT and node.event == TIMER and node.parent is not None:
            yield _boundary(f"start event '{node.id}' of sub-process '{node.parent}' has a "
                            "timer; a sub-process starts with a none start event", node.id,
                            "event")
        if node.kind != BOUNDARY_EVENT:
            if node.attached_to is not None:
                yield _boundary(f"element '{node.id}' is a {node.kind}, which is attached to "
                                "nothing", node.id, "attached_to")
            continue
        attached = model.nodes.get(node.attached_to or "")
        if attached is not None and attached.kind not in ARMED_KINDS:
            yield _boundary(f"boundary event '{node.id}' is attached to the {attached.kind} "
                            f"'{attached.id}'; mockidm arms boundary events on "
                            f"{', '.join(sorted(ARMED_KINDS))} only", node.id, "attached_to")
        if node.id in targets:
            yield _boundary(f"boundary event '{node.id}' is the target of sequence flow "
                            f"'{targets[node.id].id}'; a boundary event has no incoming flow",
                            targets[node.id].id, "target")
        if node.event is None or (node.event == TIMER) != (node.timer_value is not None):
            yield _boundary(f"boundary event '{node.id}' has no event it waits for",
                            node.id, "event")
        elif node.event == ERROR and not node.cancel_activity:
            yield _boundary(f"error boundary event '{node.id}' cannot be non-interrupting",
                            node.id, "cancel_activity")


def _boundary(message: str, element: str, field: str) -> Problem:
    return Problem(Code.BOUNDARY, message, message, element, field)
