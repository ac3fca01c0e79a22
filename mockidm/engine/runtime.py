"""The engine: deploys process models, runs instances token by token, keeps their history.

Pure Python and synchronous: no HTTP, no asyncio. Every public method is one engine command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .bpmn import diagram_resource_name, generated_diagram_name, load_bpmn
from .clock import Clock, IdGenerator
from .deployables import (
    FolderDeployment,
    FolderRefused,
    Skipped,
    deployable_paths,
    read_data,
)
from .diagram_geometry import Diagram, from_interchange
from .diagram_image import render_png
from .errors import (
    DefinitionError,
    EngineError,
    HasRunningInstances,
    IllegalArgument,
    ObjectNotFound,
    TaskAlreadyClaimed,
    TaskInRunningProcess,
)
from .interpreter import Interpreter
from .jobs import RETRY_WAIT, Job, JobRun
from .model import (
    CATCH_EVENT,
    MESSAGE,
    RECEIVE_TASK,
    SIGNAL,
    TIMER,
    USER_TASK,
    Deployment,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
)
from .scope import execution_variables, set_variable
from .store import InstanceQuery, Store, TaskQuery
from .timers import first_due
from .validation import check_deployment

# The engine builds `key:version:n` ids unless they would be longer than its id column.
_MAX_DEFINITION_ID = 64
DEFAULT_DELETE_REASON = "Deleted by Openidm"


class Engine:
    def __init__(self, clock: Clock | None = None, ids: IdGenerator | None = None) -> None:
        self.clock = clock or Clock()
        self.ids = ids or IdGenerator()
        self.store = Store()
        self.interpreter = Interpreter(self.store, self.clock, self.ids)
        self._deployed_files: dict[str, tuple[str, list[str]]] = {}  # name -> (sha256, ids)

    # deployments ---------------------------------------------------------------------------

    def deploy(self, models: ProcessModel | Iterable[ProcessModel], *, name: str | None = None,
               resources: Mapping[str, bytes] | None = None, file_digest: str | None = None
               ) -> list[ProcessDefinition]:
        """Deploy models together (one deployment); each key gets its next version.

        file_digest: the models come from the file `name` with this SHA-256; the same file
        unchanged deploys nothing new (see `deploy_data`)."""
        if file_digest is not None and name is not None:
            existing = self._unchanged(name, file_digest)
            if existing:
                return existing
        models = [models] if isinstance(models, ProcessModel) else list(models)
        check_deployment(models)
        for model in models:  # a timer start event's text is evaluated (and may fail) first
            start = model.start
            if start.event == TIMER and start.timer is not None:
                first_due(start.timer, self.interpreter.static_value(start.timer_value or ""),
                          self.clock.now())
        deployment = Deployment(self.ids.next(), name, self.clock.now(),
                                resources=dict(resources or {}))
        self.store.deployments[deployment.id] = deployment
        deployed = []
        for model in models:
            latest = self.store.latest(model.key)
            version = latest.version + 1 if latest else 1
            n = self.ids.next()
            full_id = f"{model.key}:{version}:{n}"
            diagram = (diagram_resource_name(model, model.resource_name, deployment.resources)
                       if model.resource_name else None)
            if diagram is None and model.graphical_notation and model.resource_name:
                # The engine draws one: named now, drawn when first read (`resource`).
                diagram = generated_diagram_name(model, model.resource_name)
            definition = ProcessDefinition(
                id=full_id if len(full_id) <= _MAX_DEFINITION_ID else n,
                key=model.key, version=version, deployment_id=deployment.id, model=model,
                diagram_resource_name=diagram)
            if latest is not None:  # TimerManager: the previous version's start timers go
                self._remove_start_timers(latest.id)
            self.store.add_definition(definition)
            self.interpreter.scripting.deployed(model)
            deployment.definition_ids.append(definition.id)
            deployed.append(definition)
            if model.start.event == TIMER:
                self.interpreter.schedule(None, model.start, None, definition.id)
        if file_digest is not None and name is not None:
            self._deployed_files[name] = (file_digest, [d.id for d in deployed])
        return deployed

    def deploy_bpmn(self, text: str | bytes, name: str = "process.bpmn20.xml"
                    ) -> list[ProcessDefinition]:
        """Deploy the executable processes of one BPMN 2.0 document."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        deployable = _read(data, name)
        return self.deploy(deployable.models, name=name, resources=deployable.resources)

    def deploy_file(self, path: str | Path) -> list[ProcessDefinition]:
        """Deploy a `.bpmn20.xml` / `.bpmn` file or a `.bar` / `.zip` archive."""
        path = Path(path)
        return self.deploy_data(path.name, path.read_bytes())

    def deploy_data(self, name: str, data: bytes) -> list[ProcessDefinition]:
        """Deploy the bytes of a file named `name`, as IDM deploys what it finds in its
        workflow directory: a file deployed before and unchanged since gives no new version
        (unless its definitions were deleted since)."""
        digest = hashlib.sha256(data).hexdigest()
        existing = self._unchanged(name, digest)
        if existing:
            return existing
        deployable = _read(data, name)
        return self.deploy(deployable.models, name=name, resources=deployable.resources,
                           file_digest=digest)

    def _unchanged(self, name: str, digest: str) -> list[ProcessDefinition]:
        """The definitions a file with this content gave, if they are still deployed."""
        previous = self._deployed_files.get(name)
        if previous is None or previous[0] != digest:
            return []
        return [d for d in map(self.store.definitions.get, previous[1]) if d is not None]

    def deploy_folder(self, folder: str | Path, *, strict: bool = False) -> FolderDeployment:
        """Deploy every BPMN file and archive of a folder, in file-name order, each on its
        own as IDM deploys its workflow directory: a file that cannot be read or deployed is
        skipped and the others deploy. strict: if any file would be skipped, deploy nothing
        and raise FolderRefused naming each. OSError if the folder itself cannot be read."""
        readable: list[tuple[Path, bytes]] = []
        skipped: list[Skipped] = []
        for path in deployable_paths(Path(folder)):
            try:
                data = path.read_bytes()
                _read(data, path.name)  # parsed once: deploy_data finds it in the cache
            except (OSError, DefinitionError) as exc:
                skipped.append(Skipped.of(path, exc))
                continue
            readable.append((path, data))
        if strict and skipped:
            raise FolderRefused(skipped)
        deployed = []
        for path, data in readable:
            deployed += self.deploy_data(path.name, data)
        return FolderDeployment(deployed, skipped)

    def resource(self, deployment_id: str, name: str) -> bytes | None:
        """A file of a deployment: one that came with it (a form template, a diagram), or the
        diagram the engine generated for one of its processes."""
        deployment = self.store.deployments.get(deployment_id)
        if deployment is None:
            return None
        if name in deployment.resources:
            return deployment.resources[name]
        for definition_id in deployment.definition_ids:
            definition = self.store.definitions.get(definition_id)
            model = definition.model if definition else None
            if (model is not None and definition is not None and model.resource_name
                    and definition.diagram_resource_name == name):
                bpmn = deployment.resources.get(model.resource_name)
                return None if bpmn is None else _drawn(bpmn, model.resource_name, model.key)
        return None

    def instance_diagram(self, instance: ProcessInstance) -> bytes | None:
        """The diagram the engine generates for a running instance, its active activities
        framed, whatever image the deployment has; None when its process has no diagram
        interchange."""
        model = instance.definition.model
        deployment = self.store.deployments.get(instance.definition.deployment_id)
        if not model.graphical_notation or not model.resource_name or deployment is None:
            return None
        bpmn = deployment.resources.get(model.resource_name)
        active = frozenset(instance.executions.values())
        return None if bpmn is None else _drawn(bpmn, model.resource_name, model.key, active)

    def read_resource(self, deployment_id: str, name: str) -> bytes:
        """A file of a deployment, as the engine's getResourceAsStream reads it: ObjectNotFound
        when the deployment does not hold it (a form key naming no file of the .bar)."""
        if deployment_id not in self.store.deployments:
            raise ObjectNotFound(f"deployment does not exist: {deployment_id}")
        data = self.resource(deployment_id, name)
        if data is None:
            raise ObjectNotFound(f"no resource found with name '{name}' in deployment "
                                 f"'{deployment_id}'")
        return data

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
            self._remove_start_timers(sibling.id)
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
        # The start event's initiator names a variable that holds the starter's id; the
        # variables the caller gives are set after it (ProcessInstanceHelper).
        given = dict(variables or {})
        instance = ProcessInstance(
            id=self.ids.next(), definition=definition, business_key=business_key,
            start_user=user, start_time=self.clock.now(),
            variables={start.initiator: user, **given} if start.initiator else given,
            start_activity=start.id)
        self.store.add_instance(instance)
        self.interpreter.user = user
        try:
            self.interpreter.start(instance)
        except BaseException:  # as a rolled-back transaction: no trace of it, nor its tasks
            self.interpreter.forget_since(instance)  # nor of the instances it called
            raise
        finally:
            self.interpreter.user = None
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
        with self.interpreter.atomic(instance):  # a failing listener deletes nothing
            # The instances it called are deleted with it, with the same reason.
            self.interpreter.terminate(instance, reason)
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

    def task_variables(self, task: Task) -> dict[str, Any]:
        """What TaskService.getVariables gives: the task's own variables over its
        execution's (with those of the executions above it) over the instance's."""
        instance = self.store.instances[task.instance_id]
        return {**execution_variables(instance, task.execution_id), **task.local_variables}

    def form_values(self, task: Task) -> list[tuple[str, str | None]]:
        """A task's form properties with their values, as the engine's form service fills
        them for a task read (an expression that fails raises EvaluationError)."""
        instance = self.store.instances[task.instance_id]
        return self.interpreter.form_values(instance, task.node, task.execution_id,
                                            self.task_variables(task))

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

    def complete(self, task_id: str, variables: Mapping[str, Any] | None = None, *,
                 local: bool = False) -> Task:
        """Store the variables in the process (or, `local`, on the task, as Flowable's
        complete with localScope does) and move its token on."""
        task = self.task(task_id)
        instance = self.store.instances[task.instance_id]
        with self.interpreter.atomic(instance):
            if local:  # a new dict: `atomic` keeps the old one to restore on failure
                task.local_variables = {**task.local_variables, **(variables or {})}
            else:
                _set_variables(instance, task.execution_id, variables)
            self.interpreter.complete_task(task, instance)
            self.interpreter.resume(instance, task.execution_id)
        return task

    def delete_task(self, task_id: str) -> Task:
        task = self.store.active_tasks.get(task_id)
        if task is None:
            raise ObjectNotFound(f"Task {task_id} not found.")
        # Every task here belongs to a process; the engine refuses to delete those.
        raise TaskInRunningProcess()

    # executions ----------------------------------------------------------------------------

    def executions(self) -> list[tuple[ProcessInstance, str, str]]:
        """Every waiting token: (instance, execution id, activity id)."""
        return [(instance, execution, activity)
                for instance in self.store.running.values()
                for execution, activity in instance.executions.items()]

    def set_outputs(self, activity_id: str, variables: Mapping[str, Any], *,
                    key: str | None = None) -> None:
        """The variables a script or service task sets when a token passes it, declared in
        place of running it: for every process, or for process `key` only. A Java or script
        listener is named '<element id>:<event>' (element: its task, flow or process key)."""
        self.interpreter.outputs[(key, activity_id)] = dict(variables)

    def message_received(self, message_name: str | None, execution_id: str | None,
                         variables: Mapping[str, Any] | None = None) -> None:
        if message_name is None:
            raise IllegalArgument("messageName is null")
        if execution_id is None:
            raise IllegalArgument("executionId is null")
        instance, node = self._waiting(execution_id)
        if node.event == MESSAGE and node.event_name == message_name:
            self._continue(instance, execution_id, variables)
            return
        boundaries = _subscribed(instance, node, MESSAGE, message_name)
        if not boundaries:
            raise EngineError(f"Execution with id '{execution_id}' does not have a subscription "
                              f"to a message event with name '{message_name}'")
        self._trigger_boundaries(instance, execution_id, boundaries, variables)

    def signal_received(self, signal_name: str | None, execution_id: str | None = None,
                        variables: Mapping[str, Any] | None = None) -> int:
        """Deliver a signal to one execution, or to every execution waiting for it."""
        if signal_name is None:
            raise IllegalArgument("signalName is null")
        if execution_id is not None:
            instance, node = self._waiting(execution_id)
            if node.event == SIGNAL and node.event_name == signal_name:
                self._continue(instance, execution_id, variables)
                return 1
            boundaries = _subscribed(instance, node, SIGNAL, signal_name)
            if not boundaries:
                raise EngineError(f"Execution '{execution_id}' has not subscribed to a signal "
                                  f"event with name '{signal_name}'.")
            self._trigger_boundaries(instance, execution_id, boundaries, variables)
            return 1
        waiting: list[tuple[ProcessInstance, str, Node, list[Node]]] = []
        for instance, execution, activity in self.executions():
            node = self._node(instance, activity)
            if node.event == SIGNAL and node.event_name == signal_name:
                waiting.append((instance, execution, node, []))
            elif boundaries := _subscribed(instance, node, SIGNAL, signal_name):
                waiting.append((instance, execution, node, boundaries))
        for instance, execution, node, boundaries in waiting:
            # An earlier delivery may have moved the token on.
            if instance.executions.get(execution) != node.id:
                continue
            if boundaries:
                self._trigger_boundaries(instance, execution, boundaries, variables)
            else:
                self._continue(instance, execution, variables)
        return len(waiting)

    def trigger(self, execution_id: str | None,
                variables: Mapping[str, Any] | None = None) -> None:
        """Move on a token that waits in a receive task or a catch event."""
        if execution_id is None:
            raise IllegalArgument("executionId is null")
        instance, node = self._waiting(execution_id)
        if node.kind == USER_TASK:
            raise EngineError("UserTask should not be signalled before complete")
        if node.kind not in (RECEIVE_TASK, CATCH_EVENT):
            raise EngineError(f"Execution '{execution_id}' is not waiting in an activity that "
                              "can be triggered")
        self._continue(instance, execution_id, variables)

    def _trigger_boundaries(self, instance: ProcessInstance, execution_id: str,
                            boundaries: list[Node], variables: Mapping[str, Any] | None
                            ) -> None:
        """Deliver one event to the boundary events of an activity that wait for it, in
        document order; an interrupting one ends the activity, and with it the others."""
        with self.interpreter.atomic(instance):
            instance.variables.update(variables or {})
            for boundary in boundaries:
                self.interpreter.trigger_boundary(instance, boundary, execution_id)
                if boundary.cancel_activity:
                    break

    # jobs ----------------------------------------------------------------------------------

    def jobs(self, *, dead_letter: bool = False) -> list[Job]:
        """The timer jobs waiting to fire (or the dead-letter jobs), in creation order."""
        return [job for job in self.store.jobs.values() if job.dead_letter == dead_letter]

    def job(self, job_id: str, *, dead_letter: bool = False) -> Job:
        found = self.store.jobs.get(job_id)
        if found is None or found.dead_letter != dead_letter:
            raise ObjectNotFound(f"No job found with id '{job_id}'")
        return found

    def fire_due_jobs(self) -> list[JobRun]:
        """Fire every job due at the clock's now, the earliest first (ties: the lower id),
        each in its own transaction; jobs that firing makes due fire too. A job that fails
        is retried later or dead-lettered (see `jobs.py`), and the others still fire."""
        runs = []
        while (job := self.store.next_due(self.clock.now())) is not None:
            runs.append(self._run(job))
        return runs

    def move_clock(self, to: datetime) -> list[JobRun]:
        """Freeze the clock at `to`; on the way there (when `to` is later), stop at each
        job's due date to fire it then, as an engine whose job executor ran all along would:
        what a fired timer creates counts from its due date, and its own timers fire on the
        way too. Then fire what is due at `to`."""
        runs = []
        while (job := self.store.next_due(to)) is not None:
            if job.due_date > self.clock.now():
                self.clock.freeze(job.due_date)
            runs.append(self._run(job))
        self.clock.freeze(to)
        return runs + self.fire_due_jobs()

    def execute_job(self, job_id: str, *, dead_letter: bool = False) -> JobRun:
        """Fire one job now, whatever its due date (ManagementService.executeJob); a
        dead-letter job is moved back first, with one retry
        (moveDeadLetterJobToExecutableJob), so that a failure dead-letters it again."""
        job = self.job(job_id, dead_letter=dead_letter)
        if dead_letter:
            job.dead_letter, job.retries = False, 1
        return self._run(job)

    def delete_dead_letter_job(self, job_id: str) -> Job:
        job = self.job(job_id, dead_letter=True)
        self.store.remove_job(job)
        return job

    def _run(self, job: Job) -> JobRun:
        snapshot = replace(job)
        try:
            self._fire(job)
        except Exception as error:  # any failure fails the job, as any Throwable in Flowable
            return JobRun(snapshot, self._failed(job, error))
        return JobRun(snapshot)

    def _fire(self, job: Job) -> None:
        if job.instance_id is None:  # a timer start event: a new instance
            self.store.remove_job(job)
            try:
                self.start(definition_id=job.definition_id)
            except BaseException:
                self.store.add_job(job)
                raise
            if job.repeat is not None:
                definition = self.definition(job.definition_id)
                self.interpreter.reschedule(job, definition.model.start)
            return
        instance = self.store.instances[job.instance_id]
        with self.interpreter.atomic(instance):
            self.interpreter.fire_timer(instance, job)

    def _failed(self, job: Job, error: Exception) -> str:
        """Flowable's failed-job handling: one retry fewer, the error kept; retried after
        RETRY_WAIT, or dead-lettered when none is left."""
        message = str(error)
        current = self.store.jobs.get(job.id)  # the job as the rolled-back command left it
        if current is None:  # pragma: no cover (a failed command restores its jobs)
            return message
        current.retries -= 1
        current.exception_message = message
        current.exception_stacktrace = (
            f"{_FLOWABLE_EXCEPTION}: {message}\n\t(mockidm runs no Java: this is the "
            "error's message, with no stack frames)")
        if current.retries <= 0:
            current.retries, current.dead_letter = 0, True
        else:
            current.due_date = self.clock.now() + RETRY_WAIT
        self.store.job_changed(current)
        return message

    def _remove_start_timers(self, definition_id: str) -> None:
        for job in list(self.store.jobs.values()):
            if job.instance_id is None and job.definition_id == definition_id:
                self.store.remove_job(job)

    def _waiting(self, execution_id: str) -> tuple[ProcessInstance, Node]:
        for instance, execution, activity in self.executions():
            if execution == execution_id:
                return instance, self._node(instance, activity)
        raise ObjectNotFound(f"execution {execution_id} doesn't exist")

    @staticmethod
    def _node(instance: ProcessInstance, activity: str) -> Node:
        return instance.definition.model.nodes[activity]

    def _continue(self, instance: ProcessInstance, execution_id: str,
                  variables: Mapping[str, Any] | None) -> None:
        with self.interpreter.atomic(instance):
            _set_variables(instance, execution_id, variables)
            self.interpreter.resume(instance, execution_id)

    # tasks (assignment) -------------------------------------------------------------------

    def _assign(self, task: Task, user: str | None) -> None:
        """Set the assignee; Activiti 5's TaskEntity.setAssignee fires the `assignment`
        listeners on every change, to nobody included. A failing one changes nothing."""
        if not task.node.task_listeners:
            previous, task.assignee = task.assignee, user
            self.store.assignee_changed(task, previous)
            return
        instance = self.store.instances[task.instance_id]
        with self.interpreter.atomic(instance):
            previous, task.assignee = task.assignee, user
            self.store.assignee_changed(task, previous)
            self.interpreter.fire_task(task, instance, "assignment")


def _set_variables(instance: ProcessInstance, execution_id: str,
                   variables: Mapping[str, Any] | None) -> None:
    """The variables a command sets in an execution: each where the execution (or one above
    it) holds it, else on the instance."""
    if not instance.locals:
        instance.variables.update(variables or {})
        return
    for name, value in (variables or {}).items():
        set_variable(instance, execution_id, name, value)


def _subscribed(instance: ProcessInstance, node: Node, event: str, name: str) -> list[Node]:
    """The boundary events of the activity `node` that wait for this message or signal."""
    return [b for b in instance.definition.model.boundary_events(node.id)
            if b.event == event and b.event_name == name]


# What an engine failure is in Flowable (the first line of a failed job's stack trace).
_FLOWABLE_EXCEPTION = "org.flowable.common.engine.api.FlowableException"


# A test suite deploys the same files again and again, and models are immutable: each file is
# parsed once.
_read = lru_cache(maxsize=256)(read_data)


@lru_cache(maxsize=1024)  # one per definition of a large suite (PNGs of a few kB)
def _drawn(bpmn: bytes, resource_name: str, key: str,
           highlighted: frozenset[str] = frozenset()) -> bytes | None:
    """The PNG the engine generates for process `key` of a BPMN file (with the activities
    `highlighted` framed), drawn on first read rather than at deploy (a few milliseconds each:
    docs/fidelity.md) and kept; the same file always draws the same bytes, so when it is drawn
    shows nowhere."""
    model = next((m for m in load_bpmn(bpmn, resource_name) if m.key == key), None)
    drawn = None if model is None else from_interchange(model, bpmn, partial=True)
    return render_png(drawn, highlighted) if isinstance(drawn, Diagram) else None
