"""`workflow/taskinstance` and `workflow/taskinstance/history` (docs/task-instances.md)."""

from __future__ import annotations

from typing import Any

from ..engine import ObjectNotFound, Task, TaskQuery
from . import shapes
from .call import Call, Reply
from .errors import IdmError, not_supported
from .operations import (
    FILTERED_QUERY,
    QUERY_ALL_IDS,
    SortPolicy,
    filtered,
    is_true,
    operation,
    query_filter_allowed,
    sort_items,
    unknown_query_id,
    variables_filter,
)

# This provider rethrows the engine's refusal of a sort key: 501, not 500.
_SORT = SortPolicy({name: name for name in (
    "_id", "name", "description", "priority", "assignee", "createTime", "processInstanceId",
    "executionId", "dueDate", "tenantId")}, 501)

_HISTORY_SORT = SortPolicy({
    **{name: name for name in (
        "description", "priority", "assignee", "processInstanceId", "executionId", "tenantId",
        "_id", "processDefinitionId", "durationInMillis", "startTime", "endTime", "owner",
        "dueDate", "deleteReason", "taskDefinitionKey")},
    "taskId": "_id",
    "taskName": "name",
}, 500)

UPDATABLE = ("assignee", "description", "name", "owner")


def _groups(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(g for g in value.split(",") if g)


def _priority(value: str | None) -> int | None:
    return None if value is None else int(value)  # the spec has already checked it


def _task_query(call: Call, *, history: bool) -> TaskQuery:
    """The filters of a filtered-query. The history provider names two of them differently
    (`taskId`, `taskName`) and adds those about ending; only active tasks can be unassigned.
    `deleteReason` is applied to the answer (`_delete_reason`), not here."""
    params = call.request.params
    query = TaskQuery(
        history=history,
        task_id=params.get("taskId" if history else "_id"),
        name=params.get("taskName" if history else "name"),
        instance_id=params.get("processInstanceId"),
        execution_id=params.get("executionId"),
        definition_id=params.get("processDefinitionId"),
        definition_key=params.get("processDefinitionKey"),
        assignee=params.get("assignee"),
        candidate_user=params.get("taskCandidateUser"),
        candidate_groups=_groups(params.get("taskCandidateGroup")),
        owner=params.get("owner"),
        description=params.get("description"),
        priority=_priority(params.get("priority")),
        tenant_id=params.get("tenantId"),
        variables=variables_filter(params),
    )
    if (query.candidate_user is not None and query.candidate_groups is None
            and call.profile.candidate_user_groups):
        query.candidate_user_groups = call.state.identity.groups_of(query.candidate_user)
    if history:
        query.finished = _either(params, "finished", "unfinished")
        query.process_finished = _either(params, "processFinished", "processUnfinished")
    else:
        query.unassigned = is_true(params.get("unassigned"))
    return query


def _delete_reason(items: list[dict[str, Any]], wanted: str | None) -> list[dict[str, Any]]:
    """The `deleteReason` filter compares what the release records, so under Flowable
    `completed` finds no completed task (their reason is null)."""
    return items if wanted is None else [i for i in items if i["deleteReason"] == wanted]


def _either(params: dict[str, str], yes: str, no: str) -> bool | None:
    """True for `yes=true`, False for `no=true`, None (either) otherwise."""
    if is_true(params.get(yes)):
        return True
    return False if is_true(params.get(no)) else None


@operation("queryTaskInstances")
def query_tasks(call: Call) -> Reply:
    query_filter_allowed(call, "taskinstance")
    request = call.request
    if request.query_filter is not None or request.query_id == QUERY_ALL_IDS:
        items = filtered((shapes.task(t) for t in call.engine.query_tasks(TaskQuery())), call)
    elif request.query_id == FILTERED_QUERY:
        query = _task_query(call, history=False)
        items = [shapes.task(t) for t in call.engine.query_tasks(query)]
    else:
        raise unknown_query_id(call, "taskinstance")
    return Reply(items=sort_items(items, request.sort_keys, _SORT))


@operation("queryTaskInstanceHistory")
def query_task_history(call: Call) -> Reply:
    query_filter_allowed(call, "taskinstance/history")
    request = call.request
    if request.query_filter is not None or request.query_id == QUERY_ALL_IDS:
        tasks = call.engine.query_tasks(TaskQuery(history=True))
        items = filtered((shapes.task_history(t, call.profile) for t in tasks), call)
        if request.query_filter is None:
            return Reply(items=items)  # this provider ignores sort keys for query-all-ids
    elif request.query_id == FILTERED_QUERY:
        tasks = call.engine.query_tasks(_task_query(call, history=True))
        items = _delete_reason([shapes.task_history(t, call.profile) for t in tasks],
                               request.params.get("deleteReason"))
    else:
        raise unknown_query_id(call, "taskinstance/history")
    return Reply(items=sort_items(items, request.sort_keys, _HISTORY_SORT))


def _task(call: Call) -> Task:
    try:
        return call.engine.task(call.path_params["taskInstanceId"])
    except ObjectNotFound:
        raise IdmError(404) from None


@operation("readTaskInstance")
def read_task(call: Call) -> Reply:
    task = _task(call)
    return Reply(shapes.task_read(task, call.engine.task_variables(task),
                                  call.engine.form_values(task)))


@operation("updateTaskInstance")
def update_task(call: Call) -> Reply:
    task = _task(call)
    content: dict[str, Any] = call.request.content or {}
    call.engine.update_task(task.id, {k: content[k] for k in UPDATABLE if k in content})
    return Reply({"_id": task.id, "Task updated": task.id})


@operation("actOnTaskInstance")
def act_on_task(call: Call) -> Reply:
    task = _task(call)  # an unknown task is 404 before the action name is looked at
    action, content = call.request.action, call.request.content
    if action == "claim":
        user = content.get("userId") if isinstance(content, dict) else None
        if user is None:
            # IDM dereferences the missing user id: a NullPointerException, message-less.
            raise IdmError(500)
        call.engine.claim(task.id, user)
    elif action == "complete":
        call.engine.complete(task.id, content if isinstance(content, dict) else {},
                             local=call.profile.complete_variables_local)
    else:
        raise IdmError(400, call.profile.unknown_task_action_message.replace("{}", action or ""))
    return Reply({"Task action performed": action})


@operation("deleteTaskInstance")
def delete_task(call: Call) -> Reply:
    try:
        call.engine.delete_task(call.path_params["taskInstanceId"])
    except ObjectNotFound as exc:
        raise IdmError(404, exc.message) from None
    raise AssertionError("unreachable: the engine refuses to delete process tasks")


@operation("readTaskInstanceHistory")
def read_task_history(call: Call) -> Reply:
    raise not_supported("read")  # IDM's task history answers queries only
