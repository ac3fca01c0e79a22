"""User tasks (docs/task-instances.md): claim, complete, and what the history keeps."""

from __future__ import annotations

from typing import Any

from .. import expect
from ..rules import rule
from ..target import Definition, Target, json_body

_TEXT = "mockidm-contract"


def _form_value(handler: dict[str, Any]) -> Any:
    """A value the form property accepts: the first choice of an enum, else a plain one."""
    kind: dict[str, Any] = handler["type"] if isinstance(handler.get("type"), dict) else {}
    name, values = kind.get("name"), kind.get("values")
    if name == "enum" and values:
        return next(iter(values)) if isinstance(values, dict) else values[0]
    if name == "boolean":
        return "true"
    if name == "long":
        return "1"
    if name == "date":
        pattern = kind.get("datePattern") or "dd/MM/yyyy"
        return pattern.replace("yyyy", "2030").replace("MM", "01").replace("dd", "01")
    return _TEXT


def completion(t: Target, definition: Definition, task: dict[str, Any]) -> dict[str, Any]:
    """Variables to complete a task with: a value for each writable form property, so that
    gateways after it can decide."""
    response = t.get(f"workflow/processdefinition/{definition.id}/taskdefinition/"
                     f"{task.get('taskDefinitionKey')}")
    form = (json_body(response) or {}).get("formProperties") if response.ok else None
    handlers = form.get("formPropertyHandlers") if isinstance(form, dict) else form
    values = {}
    for handler in handlers if isinstance(handlers, list) else []:
        if not isinstance(handler, dict):
            continue
        name = handler.get("_id") or handler.get("id")
        if isinstance(name, str) and handler.get("writable", True):
            values[name] = _form_value(handler)
    return values


@rule("claim-and-complete",
      "Claim answers 200 {\"Task action performed\":\"claim\"} and assigns the task; complete "
      "answers 200, removes it, and its history gets an endTime.",
      "docs/task-instances.md#claim-and-complete, docs/task-instances.md#history",
      writes=True, needs="a process whose start opens a user task")
def claim_and_complete(t: Target) -> None:
    instance_id, task, definition = t.instance_with_task()
    path = f"workflow/taskinstance/{task['_id']}"

    response = t.request("POST", path, params={"_action": "claim"}, json={"userId": t.user})
    what = f"POST {path}?_action=claim"
    expect.status(t, response, 200, what)
    expect.that(json_body(response) == {"Task action performed": "claim"}, t, what,
                {"Task action performed": "claim"}, response.text[:300], response)
    read = t.get(path)
    expect.status(t, read, 200, f"GET {path} after the claim")
    assignee = (json_body(read) or {}).get("assignee")
    expect.that(assignee == t.user, t, f"GET {path} after the claim: assignee", repr(t.user),
                repr(assignee), read)

    response = t.request("POST", path, params={"_action": "complete"},
                         json=completion(t, definition, task))
    what = f"POST {path}?_action=complete"
    expect.status(t, response, 200, what)
    expect.that(json_body(response) == {"Task action performed": "complete"}, t, what,
                {"Task action performed": "complete"}, response.text[:300], response)
    read = t.get(path)
    expect.status(t, read, 404, f"GET {path} after the completion (the task is gone)")

    response = t.get("workflow/taskinstance/history", _queryId="filtered-query",
                     processInstanceId=instance_id)
    history = t.query_result(response, "query the task history")
    ended = [item for item in history if item.get("_id") == task["_id"]]
    expect.that(bool(ended) and bool(ended[0].get("endTime")), t,
                f"task history of instance {instance_id}: task {task['_id']}",
                "present with an endTime", ended[0] if ended else "absent", response)
