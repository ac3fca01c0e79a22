"""Authorization: IDM's default router rules for the workflow endpoints (docs/authentication.md).

Rules are tried in order and the first that passes wins; none passing is 403 `Access denied`.
Admins pass everything but `_queryExpression`; authorized users get the narrow rights below.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..engine import ObjectNotFound, Task
from ..identity import AUTHORIZED, User
from ..state import State
from . import shapes
from .auth import Principal
from .crest import (
    ACTION,
    CREATE,
    DELETE,
    DESCRIPTOR_OPERATIONS,
    PATCH,
    QUERY,
    READ,
    UPDATE,
    CrestRequest,
)
from .errors import IdmError, forbidden


def processes_for_user(state: State, principal: Principal) -> list[dict[str, Any]]:
    """What `endpoint/getprocessesforuser` lists: the definitions process-access lets them see."""
    definitions = state.engine.definitions()
    if state.profile.latest_processes_only:
        latest: dict[str, Any] = {}
        for d in definitions:
            if d.key not in latest or d.version > latest[d.key].version:
                latest[d.key] = d
        definitions = list(latest.values())
    visible = [body for body in map(shapes.definition, definitions)
               if state.identity.may_see_process(principal.user, body)]
    if state.profile.latest_processes_only:  # IDM 7's script also sorts by name
        visible.sort(key=lambda body: body["name"] or "")
    return visible


# A cross-site form cannot send any of these, so their presence proves an AJAX client.
_AJAX_HEADERS = frozenset({"x-requested-with", "authorization", "x-openidm-username"})


def authorize(state: State, principal: Principal, request: CrestRequest,
              headers: Mapping[str, str]) -> None:
    if (request.op != READ and headers.keys().isdisjoint(_AJAX_HEADERS)
            and request.op not in DESCRIPTOR_OPERATIONS):  # which change nothing
        raise forbidden()  # CSRF guard: only a session cookie, on a request that changes things
    identity = state.identity
    if identity.is_admin(principal.user):
        if request.query_expression is not None:
            raise forbidden()  # disallowQueryExpression()
        return
    if request.op in DESCRIPTOR_OPERATIONS:
        if state.profile.descriptors_need_authorization:
            raise forbidden()  # 7.3.2+: a rule with checkIfApiRequest() is needed beyond admins
        return
    if request.path[:1] == ("info",) and request.op == READ:
        return  # IDM's first default rule: `info/*` is readable by every role, anonymous too
    if state.profile.role(AUTHORIZED) not in principal.user.roles:
        raise forbidden()
    path = request.path + ((request.new_resource_id,) if request.new_resource_id else ())
    if not _authorized_user_may(state, principal, request, path):
        raise forbidden()


def _authorized_user_may(state: State, principal: Principal, request: CrestRequest,
                         path: tuple[str, ...]) -> bool:
    if path[:1] in (("managed",), ("internal",)):
        return request.op in (READ, UPDATE, PATCH, DELETE) and _own_data(state, principal, path)
    if path == ("endpoint", "getprocessesforuser"):
        return request.op == READ
    if path == ("endpoint", "gettasksview"):
        return request.op == QUERY
    if len(path) >= 3 and path[:2] == ("workflow", "taskinstance"):
        if request.op == ACTION and request.action == "complete":
            return _is_my_task(state, principal, path[2])
        if request.op in (READ, UPDATE):
            return _can_update_task(state, principal, path[2])
        return False
    if path == ("workflow", "processinstance") and request.op == CREATE:
        return _may_start(state, principal, request.content or {})
    if len(path) >= 3 and path[:2] == ("workflow", "processdefinition"):
        if request.op == ACTION and request.action != "read":
            return False
        return any(p["_id"] == path[2] for p in processes_for_user(state, principal))
    return False


def _own_data(state: State, principal: Principal, path: tuple[str, ...]) -> bool:
    """IDM's `ownDataOnly()`: the request's path is exactly the caller's own object
    (`internal/user/<name>` for an internal user, `managed/user/<_id>` for a managed one);
    a relationship below it, or a query of the collection, is not."""
    if len(path) != 3:
        return False
    container, object_id = f"{path[0]}/{path[1]}", path[2]
    internal = principal.name in state.identity.users
    if container == "internal/user":
        return internal and object_id == principal.name
    if container == "managed/user" and not internal:
        return any(u.get("_id") == object_id
                   for u in state.idm.managed_users_named(principal.name))
    return False


def _is_my_task(state: State, principal: Principal, task_id: str) -> bool:
    try:
        task = state.engine.task(task_id)
    except ObjectNotFound:
        raise IdmError(state.profile.task_not_found_status, "Task Not Found") from None
    return task.assignee == principal.name


def _can_update_task(state: State, principal: Principal, task_id: str) -> bool:
    try:
        task = state.engine.task(task_id)
    except ObjectNotFound:
        return False
    return is_involved(task, principal.name, principal.user.roles)


def is_involved(task: Task, name: str, roles: Collection[str]) -> bool:
    """What lets an authorized user (not an admin) read or update a task: being its assignee,
    one of its candidate users, or holding one of its candidate groups."""
    return (task.assignee == name or name in task.candidate_users
            or any(g in roles for g in task.candidate_groups))


def may_update_task(state: State, user: User, task: Task) -> bool:
    """Whether the default router rules let `user` (by name and roles, however they
    authenticate) read and update `task`: `authorize` for a task's READ or UPDATE, asked
    without a request (the inspector's list of who may take a task)."""
    if state.identity.is_admin(user):
        return True
    return (state.profile.role(AUTHORIZED) in user.roles
            and is_involved(task, user.name, user.roles))


def _may_start(state: State, principal: Principal, content: dict[str, Any]) -> bool:
    processes = processes_for_user(state, principal)
    definition_id, key = content.get("_processDefinitionId"), content.get("_key")
    return any(p["_id"] == definition_id or (key is not None and p["key"] == key)
               for p in processes)
