"""IDM's script endpoints for workflows, which its own user interfaces call
(docs/helper-endpoints.md)."""

from __future__ import annotations

from typing import Any

from ..engine import Task, TaskQuery
from . import shapes
from .access import processes_for_user
from .call import Call, Reply
from .operations import operation, unknown_query_id


@operation("getProcessesForUser")
def processes(call: Call) -> Reply:
    return Reply({"processes": processes_for_user(call.state, call.principal)})


@operation("getTasksView")
def tasks_view(call: Call) -> Reply:
    if call.request.query_id != "gettasksview":
        raise unknown_query_id()
    user, engine = call.principal.user, call.engine
    if call.request.params.get("viewType") == "assignee":
        tasks = engine.query_tasks(TaskQuery(assignee=user.name))
    else:
        unique = {t.id: t for t in engine.query_tasks(TaskQuery(candidate_user=user.name))}
        unique.update({t.id: t for t in engine.query_tasks(
            TaskQuery(candidate_groups=tuple(user.roles)))})
        tasks = list(unique.values())
    # The view is keyed by task id, a long-standing quirk of IDM's script.
    view = {task.id: {"name": task.name, "tasks": [_view_task(call, task)]} for task in tasks}
    return Reply(items=[view])


def _view_task(call: Call, task: Task) -> dict[str, Any]:
    instance = call.engine.instance(task.instance_id)
    body = shapes.task_read(task, instance.variables, call.engine.form_values(task))
    body.update({
        "businessKey": instance.business_key,
        "startTime": shapes.iso(instance.start_time),
        "startUserId": instance.start_user,
        "startUserDisplayable": instance.start_user,  # no given/family names: the user name
        "processDefinitionId": instance.definition.id,
        "taskDefinition": shapes.task_definition(instance.definition, task.node),
        "usersToAssign": {"users": []},  # filled only for the tasks-manager role in IDM
    })
    return body
