"""`workflow/execution` and `workflow/job` (IDM 7+, reference 5.10-5.11).

IDM documents these endpoints only in outline: the action bodies and the execution shape
are the mock's own choices, listed in docs/fidelity.md.
"""

from __future__ import annotations

from typing import Any

from ..engine import ObjectNotFound
from . import shapes
from .call import Call, Reply
from .errors import IdmError
from .operations import FILTERED_QUERY, operation, unknown_query_id
from .queryfilter import ALWAYS_TRUE

_EXECUTION_FILTERS = {
    "executionId": "_id",
    "processInstanceId": "processInstanceId",
    "processDefinitionId": "processDefinitionId",
    "processInstanceBusinessKey": "businessKey",
    "activityId": "activityId",
}


def _only_true_filter(call: Call) -> None:
    if call.request.query_filter not in (None, ALWAYS_TRUE):
        raise IdmError(400, "Only _queryFilter=true is supported")


@operation("queryExecutions")
def query_executions(call: Call) -> Reply:
    _only_true_filter(call)
    request = call.request
    items = [shapes.execution(i, e, a) for i, e, a in call.engine.executions()]
    if request.query_filter is not None:
        return Reply(items=items)
    if request.query_id != FILTERED_QUERY:
        raise unknown_query_id()
    params = request.params
    key = params.get("processDefinitionKey")
    wanted = {field: params[name] for name, field in _EXECUTION_FILTERS.items() if name in params}
    return Reply(items=[
        item for item in items
        if all(item.get(field) == value for field, value in wanted.items())
        and (key is None or item["processDefinitionId"].split(":")[0] == key)])


@operation("actOnExecutions")
def act_on_executions(call: Call) -> Reply:
    _only_true_filter(call)
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


@operation("queryJobs")
def query_jobs(call: Call) -> Reply:
    _only_true_filter(call)
    if call.request.query_filter is None and call.request.query_id != FILTERED_QUERY:
        raise unknown_query_id()
    if call.request.params.get("timersOnly") == "true" == call.request.params.get("messagesOnly"):
        raise IdmError(500, "Cannot combine onlyTimers() with onlyMessages() in the same query")
    return Reply(items=[])  # the mock runs no timers and no asynchronous continuations
