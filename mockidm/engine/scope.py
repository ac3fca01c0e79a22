"""What an expression sees: the process variables and the objects the engine puts before them.

Flowable's (and Activiti's) VariableScopeElResolver answers `execution` (the execution the
expression runs in) and `authenticatedUserId` (the user of the command, null when none)
before any process variable; `task` only where the scope is a task (task listeners, which
the mock does not run yet), so here it is looked up as a variable like any other name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .expressions import EngineObject, EvaluationError
from .model import ProcessInstance


class Execution(EngineObject):
    """`execution` in an expression: the token's execution and its process instance. The mock
    keeps every variable on the process instance (it has no local variables), so the variable
    methods read and write the instance's."""

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
                "getVariableLocal": self.get_variable,
                "getVariables": self.get_variables,
                "getVariablesLocal": self.get_variables,
                "getVariableNames": self.get_variable_names,
                "hasVariable": self.has_variable,
                "hasVariables": self.has_variables,
                "setVariable": self.set_variable,
                "setVariableLocal": self.set_variable,
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
        return None if self._id == self._instance.id else self._instance.id

    def get_variable(self, name: Any) -> Any:
        return self._instance.variables.get(name) if isinstance(name, str) else None

    def get_variables(self) -> dict[str, Any]:
        return dict(self._instance.variables)

    def get_variable_names(self) -> list[str]:
        return list(self._instance.variables)

    def has_variable(self, name: Any) -> bool:
        return isinstance(name, str) and name in self._instance.variables

    def has_variables(self) -> bool:
        return bool(self._instance.variables)

    def set_variable(self, name: Any, value: Any) -> None:
        if not isinstance(name, str):
            raise EvaluationError("variableName is null" if name is None
                                  else f"variable name {name!r} is not a String")
        self._instance.variables[name] = value

    def remove_variable(self, name: Any) -> None:
        if isinstance(name, str):
            self._instance.variables.pop(name, None)


def scope(instance: ProcessInstance, execution_id: str, activity_id: str, user: str | None,
          variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The names an expression running in this execution resolves, engine objects first:
    the instance's variables, or `variables` (a task's, with its local ones) when given."""
    return {**(instance.variables if variables is None else variables),
            "execution": Execution(instance, execution_id, activity_id),
            "authenticatedUserId": user}
