"""Moving tokens through a process graph, as the engine's BPMN behaviours do.

A token is an execution waiting in an activity (`ProcessInstance.executions`). Entering a
node runs its behaviour: pass through, wait (user and receive tasks, catch events), choose a
path (exclusive gateway), fork and join (parallel gateway), or end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

from .clock import Clock, IdGenerator
from .errors import EngineError
from .expressions import compile_expression
from .model import (
    CATCH_EVENT,
    END_EVENT,
    EXCLUSIVE_GATEWAY,
    MANUAL_TASK,
    PARALLEL_GATEWAY,
    RECEIVE_TASK,
    SCRIPT_TASK,
    SERVICE_TASK,
    START_EVENT,
    USER_TASK,
    Flow,
    Node,
    ProcessInstance,
    Task,
)
from .store import Store

WAIT_STATES = frozenset({USER_TASK, RECEIVE_TASK, CATCH_EVENT})

# What entering a node does: (interpreter, instance, the node, the arriving execution's id).
Behaviour = Callable[["Interpreter", ProcessInstance, Node, str], None]


class Interpreter:
    def __init__(self, store: Store, clock: Clock, ids: IdGenerator) -> None:
        self.store, self.clock, self.ids = store, clock, ids
        # Variables that a script or service task would have set: (process key or None,
        # activity id) -> variables. The mock runs no scripts; a test supplies their results.
        self.outputs: dict[tuple[str | None, str], dict[str, Any]] = {}

    # entry points ----------------------------------------------------------------------------

    def start(self, instance: ProcessInstance) -> None:
        self.enter(instance, instance.definition.model.start, instance.id)

    def resume(self, instance: ProcessInstance, execution_id: str) -> None:
        """Move a waiting token on from the activity it waits in."""
        activity = instance.executions.pop(execution_id)
        self._leave(instance, instance.definition.model.nodes[activity], execution_id)

    # behaviours ------------------------------------------------------------------------------

    def enter(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        self.behaviours[node.kind](self, instance, node, execution_id)

    def _leave(self, instance: ProcessInstance, node: Node, execution_id: str,
               flows: list[Flow] | None = None) -> None:
        model = instance.definition.model
        if flows is None:
            outgoing = model.outgoing(node.id)
            if not outgoing:
                self._end(instance, node, execution_id)  # the engine ends such a path quietly
                return
            # An activity with several outgoing flows takes every one whose condition holds.
            flows = [f for f in outgoing if f.condition is None or self._holds(instance, f)]
        if not flows:
            raise EngineError(f"No outgoing sequence flow from activity '{node.id}'")
        if len(flows) == 1:
            self.enter(instance, model.nodes[flows[0].target], execution_id)
            return
        for flow in flows:  # a fork: one child execution per path
            self.enter(instance, model.nodes[flow.target], self.ids.next())

    def _holds(self, instance: ProcessInstance, flow: Flow) -> bool:
        # compile_expression caches; an EvaluationError carries the engine's own message.
        return flow.condition is None or compile_expression(flow.condition).evaluate_condition(
            instance.variables)

    def _pass_through(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        self._leave(instance, node, execution_id)

    def _run_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        for key in (None, instance.definition.key):
            instance.variables.update(self.outputs.get((key, node.id), {}))
        self._leave(instance, node, execution_id)

    def _wait(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        instance.executions[execution_id] = node.id

    def _create_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        instance.executions[execution_id] = node.id
        self.store.add_task(Task(
            id=self.ids.next(), instance_id=instance.id, execution_id=execution_id,
            definition_id=instance.definition.id, node=node, name=node.name,
            description=node.documentation, assignee=node.assignee,
            candidate_users=list(node.candidate_users),
            candidate_groups=list(node.candidate_groups),
            create_time=self.clock.now(), priority=node.priority))

    def _choose(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        # The first flow (in document order) whose condition holds; else the default flow.
        outgoing = instance.definition.model.outgoing(node.id)
        for flow in outgoing:
            if flow.id != node.default_flow and self._holds(instance, flow):
                self._leave(instance, node, execution_id, [flow])
                return
        default = [f for f in outgoing if f.id == node.default_flow]
        if not default:
            raise EngineError(f"No outgoing sequence flow of the exclusive gateway '{node.id}' "
                              "could be selected for continuing the process")
        self._leave(instance, node, execution_id, default)

    def _join_and_fork(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        model = instance.definition.model
        instance.executions[execution_id] = node.id
        arrived = [e for e, activity in instance.executions.items() if activity == node.id]
        if len(arrived) < model.incoming_count(node.id):
            return  # wait for the other branches
        for execution in arrived:
            del instance.executions[execution]
        # The root execution carries on when nothing else holds it (a join of every branch).
        continuing = instance.id if instance.id not in instance.executions else self.ids.next()
        self._leave(instance, node, continuing, model.outgoing(node.id))

    def _end(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        instance.executions.pop(execution_id, None)
        if not instance.executions:
            self.finish(instance, end_activity=node.id, delete_reason=None)

    # What entering a node of each kind does: the node kinds the engine runs, and no others.
    behaviours: ClassVar[dict[str, Behaviour]] = {
        START_EVENT: _pass_through,
        SCRIPT_TASK: _run_task,
        SERVICE_TASK: _run_task,
        MANUAL_TASK: _pass_through,  # work done outside the engine (ManualTaskActivityBehavior)
        USER_TASK: _create_task,
        RECEIVE_TASK: _wait,
        CATCH_EVENT: _wait,
        EXCLUSIVE_GATEWAY: _choose,
        PARALLEL_GATEWAY: _join_and_fork,
        END_EVENT: _end,
    }

    def finish(self, instance: ProcessInstance, end_activity: str | None,
               delete_reason: str | None) -> None:
        instance.executions.clear()
        instance.end_time = self.clock.now()
        instance.end_activity = end_activity
        instance.delete_reason = delete_reason
        self.store.instance_ended(instance)

    def end_task(self, task: Task, reason: str) -> None:
        task.end_time = self.clock.now()
        task.delete_reason = reason
        self.store.task_ended(task)

    # transactions ----------------------------------------------------------------------------

    @contextmanager
    def atomic(self, instance: ProcessInstance) -> Iterator[None]:
        """Undo every change to `instance` and its tasks if the command fails, as a database
        transaction would: a failed command leaves no half-moved token behind."""
        saved = replace(instance, variables=dict(instance.variables),
                        executions=dict(instance.executions))
        tasks = {t.id: replace(t) for t in self.store.tasks_of(instance.id)}
        try:
            yield
        except BaseException:
            for task in self.store.tasks_of(instance.id):
                if task.id not in tasks:
                    self.store.remove_task(task)
                elif task.active != tasks[task.id].active or task != tasks[task.id]:
                    self.store.restore_task(task, tasks[task.id])
            for name in ("variables", "executions", "end_time", "end_activity",
                         "delete_reason"):
                setattr(instance, name, getattr(saved, name))
            self.store.instance_restored(instance)
            raise


# The node kinds a model may hold: those the interpreter has a behaviour for.
KINDS = frozenset(Interpreter.behaviours)
