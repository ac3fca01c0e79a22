"""The engine: deploys process models, runs instances token by token, keeps their history.

Pure Python and synchronous: no HTTP, no asyncio. Every public method is one engine command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .clock import Clock, IdGenerator
from .errors import (
    DefinitionError,
    EngineError,
    HasRunningInstances,
    IllegalArgument,
    ObjectNotFound,
    TaskAlreadyClaimed,
    TaskInRunningProcess,
)
from .model import (
    END_EVENT,
    START_EVENT,
    USER_TASK,
    Deployment,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
)
from .store import InstanceQuery, Store, TaskQuery

# The engine builds `key:version:n` ids unless they would be longer than its id column.
_MAX_DEFINITION_ID = 64
DEFAULT_DELETE_REASON = "Deleted by Openidm"
COMPLETED = "completed"


class Engine:
    def __init__(self, clock: Clock | None = None, ids: IdGenerator | None = None) -> None:
        self.clock = clock or Clock()
        self.ids = ids or IdGenerator()
        self.store = Store()
        # How the interpreter enters each kind of node; the BPMN issue adds gateways and events.
        self._enter: dict[str, Callable[[ProcessInstance, Node, str], None]] = {
            START_EVENT: self._pass_through,
            USER_TASK: self._create_task,
            END_EVENT: self._end,
        }

    # deployments ---------------------------------------------------------------------------

    def deploy(self, models: ProcessModel | Iterable[ProcessModel], *, name: str | None = None,
               resources: Mapping[str, bytes] | None = None) -> list[ProcessDefinition]:
        """Deploy models together (one deployment); each key gets its next version."""
        models = [models] if isinstance(models, ProcessModel) else list(models)
        if not models:
            raise DefinitionError("a deployment needs at least one process")
        for model in models:
            self._check(model)
        deployment = Deployment(self.ids.next(), name, self.clock.now(),
                                resources=dict(resources or {}))
        self.store.deployments[deployment.id] = deployment
        deployed = []
        for model in models:
            latest = self.store.latest(model.key)
            version = latest.version + 1 if latest else 1
            n = self.ids.next()
            full_id = f"{model.key}:{version}:{n}"
            definition = ProcessDefinition(
                id=full_id if len(full_id) <= _MAX_DEFINITION_ID else n,
                key=model.key, version=version, deployment_id=deployment.id, model=model)
            self.store.add_definition(definition)
            deployment.definition_ids.append(definition.id)
            deployed.append(definition)
        return deployed

    def _check(self, model: ProcessModel) -> None:
        starts = [n for n in model.nodes.values() if n.kind == START_EVENT]
        if len(starts) != 1:
            raise DefinitionError(f"process '{model.key}' must have exactly one start event")
        for flow in model.flows:
            for end in (flow.source, flow.target):
                if end not in model.nodes:
                    raise DefinitionError(
                        f"process '{model.key}': sequence flow '{flow.id}' refers to "
                        f"unknown element '{end}'")
        for node in model.nodes.values():
            if node.kind not in self._enter:
                raise DefinitionError(
                    f"process '{model.key}': element '{node.id}' of type {node.kind} "
                    "is not supported")

    def definitions(self) -> list[ProcessDefinition]:
        return list(self.store.definitions.values())

    def definition(self, definition_id: str) -> ProcessDefinition:
        found = self.store.definitions.get(definition_id)
        if found is None:
            raise ObjectNotFound(
                f"no deployed process definition found with id '{definition_id}'")
        return found

    def latest_definition(self, key: str) -> ProcessDefinition:
        found = self.store.latest(key)
        if found is None:
            raise ObjectNotFound(f"no processes deployed with key '{key}'")
        return found

    def delete_definition(self, definition_id: str) -> ProcessDefinition:
        """Remove a definition and, as IDM does, the whole deployment it came in."""
        definition = self.definition(definition_id)
        if self.store.running_of_definition(definition.id):
            raise HasRunningInstances()
        deployment = self.store.deployments[definition.deployment_id]
        siblings = [self.store.definitions[d] for d in deployment.definition_ids
                    if d in self.store.definitions]
        if any(self.store.running_of_definition(d.id) for d in siblings):
            raise EngineError(f"Deployment {deployment.id} still has running instances")
        for sibling in siblings:
            self.store.remove_definition(sibling)
        del self.store.deployments[deployment.id]
        return definition

    # process instances ---------------------------------------------------------------------

    def start(self, *, key: str | None = None, definition_id: str | None = None,
              business_key: str | None = None, variables: Mapping[str, Any] | None = None,
              user: str | None = None) -> ProcessInstance:
        """Start a process: an exact definition id wins over a key, a key takes its latest."""
        if definition_id is not None:
            definition = self.definition(definition_id)
        elif key is not None:
            definition = self.latest_definition(key)
        else:
            raise IllegalArgument("processDefinitionKey and processDefinitionId are null")
        if definition.suspended:
            raise EngineError(
                f"Cannot start process instance. Process definition {definition.name} "
                f"(id = {definition.id}) is suspended")
        start = definition.model.start
        instance = ProcessInstance(
            id=self.ids.next(), definition=definition, business_key=business_key,
            start_user=user, start_time=self.clock.now(), variables=dict(variables or {}),
            start_activity=start.id)
        self.store.add_instance(instance)
        self._enter_node(instance, start, instance.id)
        return instance

    def instance(self, instance_id: str) -> ProcessInstance:
        """A running or finished instance."""
        found = self.store.instances.get(instance_id)
        if found is None:
            raise ObjectNotFound(f"process instance {instance_id} doesn't exist")
        return found

    def running_instance(self, instance_id: str) -> ProcessInstance:
        found = self.store.running.get(instance_id)
        if found is None:
            raise ObjectNotFound(f"No process instance found for id '{instance_id}'")
        return found

    def delete_instance(self, instance_id: str,
                        reason: str = DEFAULT_DELETE_REASON) -> ProcessInstance:
        instance = self.running_instance(instance_id)
        for task in self.store.tasks_of(instance.id):
            if task.active:
                self._end_task(task, reason)
        instance.active_activities.clear()
        self._finish(instance, end_activity=None, delete_reason=reason)
        return instance

    def query_instances(self, query: InstanceQuery) -> list[ProcessInstance]:
        return self.store.find_instances(query)

    # tasks ---------------------------------------------------------------------------------

    def task(self, task_id: str) -> Task:
        """An active task."""
        found = self.store.active_tasks.get(task_id)
        if found is None:
            raise ObjectNotFound(f"Cannot find task with id {task_id}")
        return found

    def tasks_of(self, instance_id: str) -> list[Task]:
        """Every task an instance ever had, active and ended."""
        return self.store.tasks_of(instance_id)

    def query_tasks(self, query: TaskQuery) -> list[Task]:
        return self.store.find_tasks(query)

    def claim(self, task_id: str, user: str | None) -> Task:
        task = self.task(task_id)
        if user is not None and task.assignee is not None and task.assignee != user:
            raise TaskAlreadyClaimed(task_id)
        if task.assignee != user:
            self._assign(task, user)
            task.claim_time = self.clock.now() if user is not None else None
        return task

    def update_task(self, task_id: str, changes: Mapping[str, str | None]) -> Task:
        """Change assignee, name, description or owner: only the keys present."""
        task = self.task(task_id)
        if "assignee" in changes and changes["assignee"] != task.assignee:
            self._assign(task, changes["assignee"])
        for attr in ("name", "description", "owner"):
            if attr in changes:
                setattr(task, attr, changes[attr])
        return task

    def complete(self, task_id: str, variables: Mapping[str, Any] | None = None) -> Task:
        """Store the variables in the process and move its token on."""
        task = self.task(task_id)
        instance = self.store.instances[task.instance_id]
        instance.variables.update(variables or {})
        self._end_task(task, COMPLETED)
        instance.active_activities.remove(task.key)
        self._leave(instance, task.node, task.execution_id)
        return task

    def delete_task(self, task_id: str) -> Task:
        task = self.store.active_tasks.get(task_id)
        if task is None:
            raise ObjectNotFound(f"Task {task_id} not found.")
        # Every task here belongs to a process; the engine refuses to delete those.
        raise TaskInRunningProcess()

    # executions ----------------------------------------------------------------------------

    def executions(self) -> list[tuple[ProcessInstance, str | None]]:
        """Every waiting token of every running instance, with the activity it waits in."""
        return [(instance, activity)
                for instance in self.store.running.values()
                for activity in (instance.active_activities or [None])]

    def message_received(self, message_name: str | None, execution_id: str | None,
                         variables: Mapping[str, Any] | None = None) -> None:
        if message_name is None:
            raise IllegalArgument("messageName is null")
        if execution_id is None:
            raise IllegalArgument("executionId is null")
        self._execution(execution_id)
        raise EngineError(f"Execution with id '{execution_id}' does not have a subscription to "
                          f"a message event with name '{message_name}'")

    def signal_received(self, signal_name: str | None, execution_id: str | None = None,
                        variables: Mapping[str, Any] | None = None) -> None:
        if signal_name is None:
            raise IllegalArgument("signalName is null")
        if execution_id is None:
            return  # a broadcast that nothing waits for
        self._execution(execution_id)
        raise EngineError(f"Execution '{execution_id}' has not subscribed to a signal event "
                          f"with name '{signal_name}'.")

    def trigger(self, execution_id: str | None,
                variables: Mapping[str, Any] | None = None) -> None:
        if execution_id is None:
            raise IllegalArgument("executionId is null")
        self._execution(execution_id)
        raise EngineError("UserTask should not be signalled before complete")

    def _execution(self, execution_id: str) -> ProcessInstance:
        found = self.store.running.get(execution_id)
        if found is None:
            raise ObjectNotFound(f"execution {execution_id} doesn't exist")
        return found

    # the interpreter -----------------------------------------------------------------------

    def _enter_node(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        self._enter[node.kind](instance, node, execution_id)

    def _leave(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        model = instance.definition.model
        flows = model.outgoing(node.id)
        if not flows:
            raise EngineError(f"No outgoing sequence flow from activity '{node.id}'")
        self._enter_node(instance, model.nodes[flows[0].target], execution_id)

    def _pass_through(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        self._leave(instance, node, execution_id)

    def _create_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        task = Task(
            id=self.ids.next(), instance_id=instance.id, execution_id=execution_id,
            definition_id=instance.definition.id, node=node, name=node.name,
            description=node.documentation, assignee=node.assignee,
            candidate_users=list(node.candidate_users),
            candidate_groups=list(node.candidate_groups),
            create_time=self.clock.now(), priority=node.priority)
        instance.active_activities.append(node.id)
        self.store.add_task(task)

    def _end(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        if not instance.active_activities:
            self._finish(instance, end_activity=node.id, delete_reason=None)

    def _finish(self, instance: ProcessInstance, end_activity: str | None,
                delete_reason: str | None) -> None:
        instance.end_time = self.clock.now()
        instance.end_activity = end_activity
        instance.delete_reason = delete_reason
        self.store.instance_ended(instance)

    def _assign(self, task: Task, user: str | None) -> None:
        previous, task.assignee = task.assignee, user
        self.store.assignee_changed(task, previous)

    def _end_task(self, task: Task, reason: str) -> None:
        task.end_time = self.clock.now()
        task.delete_reason = reason
        self.store.task_ended(task)
