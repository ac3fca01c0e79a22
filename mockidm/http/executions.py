"""`workflow/execution` (IDM 7+, docs/executions-and-jobs.md).

IDM documents these endpoints only in outline: the action bodies and the execution shape
are the mock's own choices, listed in docs/fidelity.md.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..engine import ObjectNotFound, ProcessInstance
from ..engine.model import MESSAGE, SIGNAL
from . import shapes
from .call import Call, Reply
from .errors import IdmError
from .operations import FILTERED_QUERY, like, operation, unknown_query_id
from .queryfilter import ALWAYS_TRUE

# One waiting token as the engine lists it: (instance, execution id, activity id).
Execution = tuple[ProcessInstance, str, str]
Check = Callable[[Execution], bool]


def only_true_filter(call: Call) -> None:
    if call.request.query_filter not in (None, ALWAYS_TRUE):
        raise IdmError(400, "Only _queryFilter=true is supported")


@operation("queryExecutions")
def query_executions(call: Call) -> Reply:
    only_true_filter(call)
    request = call.request
    executions = call.engine.executions()
    if request.query_filter is None:
        if request.query_id != FILTERED_QUERY:
            raise unknown_query_id()
        checks = execution_checks(request.params)
        if checks:
            executions = [e for e in executions if all(check(e) for check in checks)]
    return Reply(items=[shapes.execution(*e) for e in executions])


# filtered-query: each documented parameter as Flowable's ExecutionQuery reads it (the SQL of
# its Execution.xml mapping), over the mock's executions (one per waiting token; the root
# execution, whose id is the instance's, when the instance waits in one place only; an
# execution waiting in a sub-process is the parent of the executions inside it).

def _parent(e: Execution) -> str | None:
    return e[0].parent_of(e[1])


def _is_root(e: Execution) -> bool:
    return e[1] == e[0].id


def _subscribed(kind: str) -> Callable[[str], Check]:
    def check(name: str) -> Check:
        def subscribed(e: Execution) -> bool:
            model = e[0].definition.model
            node = model.nodes.get(e[2])
            if node is None:
                return False
            # The waiting activity's own event, or one of its boundary events' (mockidm
            # keeps a boundary event's subscription on the activity's execution).
            return any(n.event == kind and n.event_name == name
                       for n in (node, *model.boundary_events(node.id)))
        return subscribed
    return check


def _version(value: str) -> Check:
    try:
        version = int(value)
    except ValueError:  # Java's Integer parsing fails; IDM's catch-all answers 500
        raise IdmError(500, f'For input string: "{value}"') from None
    return lambda e: e[0].definition.version == version


def _date(name: str, value: str) -> datetime:
    try:  # RFC 3339 as fromisoformat reads it (lower-case separators, a leap second)
        at = datetime.fromisoformat(value.upper().replace(":60", ":59"))
    except ValueError:
        raise IdmError(400, f"The value '{value}' of {name} is not an ISO 8601 date "
                            "(mockidm reads no other form)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _started_before(value: str) -> Check:
    at = _date("startedBefore", value)
    return lambda e: e[0].start_time <= at  # Flowable: START_TIME_ <= the date


def _started_after(value: str) -> Check:
    at = _date("startedAfter", value)
    return lambda e: e[0].start_time >= at


_SIMPLE: dict[str, Callable[[str], Check]] = {
    "executionId": lambda v: lambda e: e[1] == v,
    "executionParentId": lambda v: lambda e: _parent(e) == v,
    "processDefinitionCategory": lambda v: lambda e: e[0].definition.model.category == v,
    "processDefinitionId": lambda v: lambda e: e[0].definition.id == v,
    "processDefinitionKey": lambda v: lambda e: e[0].definition.key == v,
    "processDefinitionName": lambda v: lambda e: e[0].definition.name == v,
    "processDefinitionVersion": _version,
    "processInstanceBusinessKey": lambda v: lambda e: e[0].business_key == v,
    "processInstanceId": lambda v: lambda e: e[0].id == v,
    "activityId": lambda v: lambda e: e[2] == v,
    "signalName": _subscribed(SIGNAL),
    "messageName": _subscribed(MESSAGE),
    "startedBefore": _started_before,
    "startedAfter": _started_after,
    # Flowable records the start user on the process instance's own execution only.
    "startedBy": lambda v: lambda e: _is_root(e) and e[0].start_user == v,
}

# Flowable's QueryOperator names. A value without a type is text: it is compared with string
# variables only (Flowable checks the variable's type), as `var-NAME` filters are.
_TEXT_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "EQUALS": operator.eq,
    "NOT_EQUALS": operator.ne,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUAL": operator.ge,
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUAL": operator.le,
    "LIKE": lambda actual, pattern: like(pattern).fullmatch(actual) is not None,
    "EQUALS_IGNORE_CASE": lambda actual, value: actual.lower() == value.lower(),
    "NOT_EQUALS_IGNORE_CASE": lambda actual, value: actual.lower() != value.lower(),
    "LIKE_IGNORE_CASE": lambda actual, pattern: like(pattern.lower()).fullmatch(
        actual.lower()) is not None,
}
_PRESENCE_OPERATORS = {"EXISTS": True, "NOT_EXISTS": False}


def _variable_check(params: Mapping[str, str], prefix: str,
                    variables_of: Callable[[Execution], Mapping[str, Any]]) -> Check | None:
    """`<prefix>Name`, `<prefix>Value`, `<prefix>ValueType`, `<prefix>Operator` as one
    variable comparison; None when none of them is given."""
    names = {part: prefix + part for part in ("Name", "Value", "ValueType", "Operator")}
    given = {part: params[name] for part, name in names.items() if name in params}
    if not given:
        return None
    if "ValueType" in given and given["ValueType"] != "string":
        raise IdmError(501, f"mockidm cannot honour {names['ValueType']}="
                            f"{given['ValueType']}: how IDM reads it is not public; leave it "
                            "out (or say string) to compare the value as text")
    if "Name" not in given:
        sent = ", ".join(names[part] for part in given)
        raise IdmError(501, f"mockidm needs {names['Name']} with {sent}: what IDM answers "
                            "without it is not public")
    name, value = given["Name"], given.get("Value")
    op = given.get("Operator", "EQUALS")
    if op in _PRESENCE_OPERATORS:
        present = _PRESENCE_OPERATORS[op]
        return lambda e: (name in variables_of(e)) == present
    compare = _TEXT_OPERATORS.get(op)
    if compare is None:
        raise IdmError(500, f"Unknown {names['Operator']} '{op}': one of "
                            f"{', '.join([*_TEXT_OPERATORS, *_PRESENCE_OPERATORS])}")
    if value is None:
        raise IdmError(501, f"mockidm needs {names['Value']} with {names['Operator']}={op}: "
                            "what IDM answers without it is not public")

    def matches(e: Execution) -> bool:
        actual = variables_of(e).get(name)
        return isinstance(actual, str) and compare(actual, value)
    return matches


def _process_variables(e: Execution) -> Mapping[str, Any]:
    return e[0].variables


def _local_variables(e: Execution) -> Mapping[str, Any]:
    # Every variable of the mock is the instance's, which Flowable keeps on the process
    # instance's own execution: a child execution (a parallel branch) has none of its own.
    return e[0].variables if _is_root(e) else {}


def execution_checks(params: Mapping[str, str]) -> list[Check]:
    """The checks a filtered-query's parameters ask for (parameters it does not know are
    ignored, as IDM's providers ignore them)."""
    checks = [make(params[name]) for name, make in _SIMPLE.items() if name in params]
    for prefix, variables_of in (("processVariable", _process_variables),
                                 ("variable", _local_variables)):
        check = _variable_check(params, prefix, variables_of)
        if check is not None:
            checks.append(check)
    return checks


@operation("actOnExecutions")
def act_on_executions(call: Call) -> Reply:
    only_true_filter(call)
    action = call.request.action
    body: dict[str, Any] = call.request.content if isinstance(call.request.content, dict) else {}
    variables = body.get("processVariables")
    execution_id = body.get("executionId")
    try:
        if action == "message":
            call.engine.message_received(body.get("messageName"), execution_id, variables)
        elif action == "signal":
            call.engine.signal_received(body.get("signalName"), execution_id, variables)
        elif action == "trigger":
            call.engine.trigger(execution_id, body.get("transientVariables") or variables)
        else:
            raise IdmError(400, "Unknown action")
    except ObjectNotFound as exc:
        raise IdmError(404, exc.message) from None
    return Reply({"Execution action performed": action})
