"""Domain errors raised by the engine.

They mirror the engine exceptions a real IDM's workflow providers see (Activiti/Flowable), with
the same messages. Which HTTP status each becomes is the HTTP layer's decision, endpoint by
endpoint, as it is in IDM's providers.
"""


class EngineError(Exception):
    """Any engine failure; IDM's providers turn an unexpected one into a 500."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ObjectNotFound(EngineError):
    """A definition, instance or task does not exist (ActivitiObjectNotFoundException)."""


class IllegalArgument(EngineError):
    """The engine refused its arguments (ActivitiIllegalArgumentException)."""


class TaskAlreadyClaimed(EngineError):
    """Someone else holds the task (ActivitiTaskAlreadyClaimedException)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task '{task_id}' is already claimed by someone else.")


class HasRunningInstances(EngineError):
    """A definition cannot be removed while instances of it run."""

    def __init__(self) -> None:
        super().__init__("The process definition has running instances, can not be deleted")


class TaskInRunningProcess(EngineError):
    """Tasks of a running process can only end by completion."""

    def __init__(self) -> None:
        super().__init__("The task cannot be deleted because is part of a running process")


class DefinitionError(EngineError):
    """A process definition cannot be deployed (bad model, unsupported construct)."""
