"""The workflow engine: pure Python, in memory, no HTTP."""

from .clock import Clock, IdGenerator
from .deployables import FolderDeployment, FolderRefused, Skipped
from .errors import (
    DefinitionError,
    EngineError,
    HasRunningInstances,
    IllegalArgument,
    ObjectNotFound,
    TaskAlreadyClaimed,
    TaskInRunningProcess,
)
from .jobs import Job, JobRun
from .model import (
    FormProperty,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
    UserTask,
    linear_process,
)
from .runtime import Engine
from .store import InstanceQuery, TaskQuery

__all__ = [
    "Clock",
    "DefinitionError",
    "Engine",
    "EngineError",
    "FolderDeployment",
    "FolderRefused",
    "FormProperty",
    "HasRunningInstances",
    "IdGenerator",
    "IllegalArgument",
    "InstanceQuery",
    "Job",
    "JobRun",
    "Node",
    "ObjectNotFound",
    "ProcessDefinition",
    "ProcessInstance",
    "ProcessModel",
    "Skipped",
    "Task",
    "TaskAlreadyClaimed",
    "TaskInRunningProcess",
    "TaskQuery",
    "UserTask",
    "linear_process",
]
