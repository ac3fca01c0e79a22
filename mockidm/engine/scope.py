"""What an expression sees: the process variables and the objects the engine puts before them.

An execution may hold variables of its own (`ProcessInstance.locals`: a multi-instance's
counters, each instance's element): an expression running in it sees its own, then its
parents' (`ProcessInstance.loop_parents`), then the instance's, as Activiti's
VariableScopeImpl looks a name up through the scopes.

Flowable's (and Activiti's) VariableScopeElResolver answers `execution` (the execution the
expression runs in) and `authenticatedUserId` (the user of the command, null when none)
before any process variable; `task` only where the scope is a task (task listeners:
`listener_scope`); elsewhere it is looked up as a variable like any other name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .expressions import EngineObject, EvaluationError, storable
from .model import NONE_YET, ProcessInstance, Task


def own_executions(instance: ProcessInstance) -> None:
    """Give `instance` dicts of its own for execution variables and parents, before writing
    them (both start as the shared, empty NONE_YET)."""
    if instance.locals is NONE_YET:
        instance.locals = {}
    if instance.loop_parents is NONE_YET:
        instance.loop_parents = {}


def execution_scopes(instance: ProcessInstance, execution_id: str) -> list[dict[str, Any]]:
    """The variables of `execution_id` and of each execution above it (in a loop, in a
    sub-process) that hold any, the nearest first (the instance's own not among them)."""
    found = []
    execution: str | None = execution_id
    while execution is not None:
        own = instance.locals.get(execution)
        if own is not None:
            found.append(own)
        execution = instance.loop_parents.get(execution) or instance.parents.get(execution)
    return found


def execution_variables(instance: ProcessInstance, execution_id: str) -> Mapping[str, Any]:
    """Every variable an execution sees: its own and its parents' over the instance's."""
    if not instance.locals:
        return instance.variables  # the usual case: no execution holds variables of its own
    scopes = execution_scopes(instance, execution_id)
    if not scopes:
        return instance.variables
    merged = dict(instance.variables)
    for own in reversed(scopes):
        merged.update(own)
    return merged


def set_variable(instance: ProcessInstance, execution_id: str, name: str, value: Any) -> None:
    """VariableScopeImpl.setVariable: where an execution (or one above it) holds `name`,
    there; else on the process instance."""
    if instance.locals:
        for own in execution_scopes(instance, execution_id):
            if name in own:
                own[name] = value
                return
    instance.variables[name] = value


class Execution(EngineObject):
    """`execution` in an expression: the token's execution and its process instance. Its
    variable methods see the execution's own variables over the instance's; `...Local`
    ones the execution's own (the instance's, for the instance's root execution)."""

    java_class = "org.flowable.engine.impl.persistence.entity.ExecutionEntityImpl"

    def __init__(self, instance: ProcessInstance, execution_id: str, activity_id: str) -> None:
        self._instance, self._id, self._activity = instance, execution_id, activity_id
        self._methods: dict[str, Callable[..., Any]] | None = None

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        if self._methods is None:
            self._methods = {
                "getId": self.get_id,
                "getProcessInstanceId": self.get_process_instance_id,
                "getRootProcessInstanceId": self.get_process_instance_id,
                "getProcessInstanceBusinessKey": self.get_business_key,
                "getProcessBusinessKey": self.get_business_key,
                "getProcessDefinitionId": self.get_definition_id,
                "getCurrentActivityId": self.get_activity_id,
                "getActivityId": self.get_activity_id,
                "getParentId": self.get_parent_id,
                "getVariable": self.get_variable,
                "getVariableLocal": self.get_variable_local,
                "getVariables": self.get_variables,
                "getVariablesLocal": self.get_variables_local,
                "getVariableNames": self.get_variable_names,
                "hasVariable": self.has_variable,
                "hasVariables": self.has_variables,
                "setVariable": self.set_variable,
                "setVariableLocal": self.set_variable_local,
                "removeVariable": self.remove_variable,
            }
        return self._methods

    def get_id(self) -> str:
        return self._id

    def get_process_instance_id(self) -> str:
        return self._instance.id

    def get_business_key(self) -> str | None:
        return self._instance.business_key

    def get_definition_id(self) -> str:
        return self._instance.definition.id

    def get_activity_id(self) -> str:
        return self._activity

    def get_parent_id(self) -> str | None:
        return self._instance.parent_of(self._id)

    def _visible(self) -> Mapping[str, Any]:
        return execution_variables(self._instance, self._id)

    def _own(self) -> dict[str, Any]:
        if self._id == self._instance.id:
            return self._instance.variables
        return self._instance.locals.get(self._id, {})

    def get_variable(self, name: Any) -> Any:
        return self._visible().get(name) if isinstance(name, str) else None

    def get_variable_local(self, name: Any) -> Any:
        return self._own().get(name) if isinstance(name, str) else None

    def get_variables(self) -> dict[str, Any]:
        return dict(self._visible())

    def get_variables_local(self) -> dict[str, Any]:
        return dict(self._own())

    def get_variable_names(self) -> list[str]:
        return list(self._visible())

    def has_variable(self, name: Any) -> bool:
        return isinstance(name, str) and name in self._visible()

    def has_variables(self) -> bool:
        return bool(self._visible())

    def set_variable(self, name: Any, value: Any) -> None:
        _check_name(name)
        set_variable(self._instance, self._id, name, storable(value))

    def set_variable_local(self, name: Any, value: Any) -> None:
        _check_name(name)
        if self._id == self._instance.id:
            self._instance.variables[name] = storable(value)
        else:
            own_executions(self._instance)
            self._instance.locals.setdefault(self._id, {})[name] = storable(value)

    def remove_variable(self, name: Any) -> None:
        """Where the execution (or one above it) holds it, else on the instance."""
        if not isinstance(name, str):
            return
        for own in execution_scopes(self._instance, self._id) if self._instance.locals else ():
            if name in own:
                del own[name]
                return
        self._instance.variables.pop(name, None)


def scope(instance: ProcessInstance, execution_id: str, activity_id: str, user: str | None,
          variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The names an expression running in this execution resolves, engine objects first:
    the execution's variables, or `variables` (a task's, with its local ones) when given."""
    return {**(execution_variables(instance, execution_id) if variables is None else variables),
            "execution": Execution(instance, execution_id, activity_id),
            "authenticatedUserId": user}


class DelegateTask(EngineObject):
    """`task` in a task listener's expression (Activiti's DelegateTask, a TaskEntity): the task
    as it stands when the event fires. Its variable methods read the task's local variables
    over the process's, and set on the process unless told Local (as TaskEntity does when the
    task has no local variable of that name)."""

    java_class = "org.activiti.engine.impl.persistence.entity.TaskEntity"

    def __init__(self, task: Task, instance: ProcessInstance, event: str) -> None:
        self._task, self._instance, self._event = task, instance, event
        self._methods: dict[str, Callable[..., Any]] | None = None

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        if self._methods is None:
            self._methods = {
                "getId": self.get_id,
                "getName": self.get_name,
                "getDescription": self.get_description,
                "getAssignee": self.get_assignee,
                "getOwner": self.get_owner,
                "getPriority": self.get_priority,
                "getTaskDefinitionKey": self.get_task_definition_key,
                "getProcessInstanceId": self.get_process_instance_id,
                "getExecutionId": self.get_execution_id,
                "getProcessDefinitionId": self.get_process_definition_id,
                "getEventName": self.get_event_name,
                "getExecution": self.get_execution,
                "getVariable": self.get_variable,
                "getVariableLocal": self.get_variable_local,
                "getVariables": self.get_variables,
                "getVariablesLocal": self.get_variables_local,
                "hasVariable": self.has_variable,
                "setVariable": self.set_variable,
                "setVariableLocal": self.set_variable_local,
            }
        return self._methods

    # A method's arity is how JUEL picks it (EngineObject.invoke): each is a plain method.
    def get_id(self) -> str:
        return self._task.id

    def get_name(self) -> str | None:
        return self._task.name

    def get_description(self) -> str | None:
        return self._task.description

    def get_assignee(self) -> str | None:
        return self._task.assignee

    def get_owner(self) -> str | None:
        return self._task.owner

    def get_priority(self) -> int:
        return self._task.priority

    def get_task_definition_key(self) -> str:
        return self._task.key

    def get_process_instance_id(self) -> str:
        return self._task.instance_id

    def get_execution_id(self) -> str:
        return self._task.execution_id

    def get_process_definition_id(self) -> str:
        return self._task.definition_id

    def get_event_name(self) -> str:
        return self._event

    def get_variables_local(self) -> dict[str, Any]:
        return dict(self._task.local_variables)

    def has_variable(self, name: Any) -> bool:
        return isinstance(name, str) and name in self.get_variables()

    def get_execution(self) -> Execution:
        return Execution(self._instance, self._task.execution_id, self._task.key)

    def get_variables(self) -> dict[str, Any]:
        return {**execution_variables(self._instance, self._task.execution_id),
                **self._task.local_variables}

    def get_variable(self, name: Any) -> Any:
        return self.get_variables().get(name) if isinstance(name, str) else None

    def get_variable_local(self, name: Any) -> Any:
        return self._task.local_variables.get(name) if isinstance(name, str) else None

    def set_variable(self, name: Any, value: Any) -> None:
        _check_name(name)
        if name in self._task.local_variables:
            self._task.local_variables[name] = storable(value)
        else:
            set_variable(self._instance, self._task.execution_id, name, storable(value))

    def set_variable_local(self, name: Any, value: Any) -> None:
        _check_name(name)
        self._task.local_variables[name] = storable(value)


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise EvaluationError("variableName is null" if name is None
                              else f"variable name {name!r} is not a String")


def listener_scope(instance: ProcessInstance, execution_id: str, activity_id: str,
                   user: str | None, task: Task | None = None, event: str = ""
                   ) -> dict[str, Any]:
    """What a listener's expression sees: for a task listener, the task's variables and
    `task` besides `execution` (VariableScopeElResolver with a TaskEntity as scope)."""
    if task is None:
        return scope(instance, execution_id, activity_id, user)
    found = scope(instance, execution_id, activity_id, user,
                  {**execution_variables(instance, execution_id), **task.local_variables})
    found["task"] = DelegateTask(task, instance, event)
    return found
