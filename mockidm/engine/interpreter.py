"""Moving tokens through a process graph, as the engine's BPMN behaviours do.

A token is an execution waiting in an activity (`ProcessInstance.executions`). Entering a
node runs its behaviour: pass through, wait (user and receive tasks, catch events), choose a
path (exclusive gateway), fork and join (parallel gateway), or end.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar

from .business_calendar import resolve_due_date
from .clock import Clock, IdGenerator
from .errors import EngineError, ObjectNotFound
from .expressions import (
    JAVA_TRIM,
    EvaluationError,
    ExpressionError,
    compile_expression,
    compile_text,
    java_class,
    java_string,
    storable,
)
from .jobs import Job
from .mail import SentMail, compose
from .model import (
    BOUNDARY_EVENT,
    CALL_ACTIVITY,
    CATCH_EVENT,
    END_EVENT,
    ERROR,
    EXCLUSIVE_GATEWAY,
    LOOP_COUNTER,
    MAIL,
    MANUAL_TASK,
    NONE_YET,
    NR_OF_ACTIVE_INSTANCES,
    NR_OF_COMPLETED_INSTANCES,
    NR_OF_INSTANCES,
    PARALLEL_GATEWAY,
    RECEIVE_TASK,
    SCRIPT_TASK,
    SERVICE_TASK,
    START_EVENT,
    SUB_PROCESS,
    TIMER,
    USER_TASK,
    Flow,
    IOParameter,
    Listener,
    MultiInstance,
    Node,
    ProcessInstance,
    ProcessModel,
    Task,
)
from .scope import (
    DelegateTask,
    Execution,
    execution_variables,
    listener_scope,
    own_executions,
    scope,
)
from .scripting import Scripting
from .store import Store
from .timers import first_due, next_due

COMPLETED = "completed"  # a completed task's delete reason
# The delete reason of a task that a multi-instance's completion condition cut short
# (MultiInstanceActivityBehavior.DELETE_REASON_END).
MULTI_INSTANCE_ENDED = "MI_END"
# Where a token can rest between commands (a sub-process or call activity: while what is
# inside runs).
WAIT_STATES = frozenset({USER_TASK, RECEIVE_TASK, CATCH_EVENT, SUB_PROCESS, CALL_ACTIVITY})
# The activities whose boundary events are armed while a token is in them.
ARMED_KINDS = WAIT_STATES
# Flowable's DeleteReason.BOUNDARY_EVENT_INTERRUPTING, followed by the boundary event's id.
BOUNDARY_INTERRUPTING = "boundary event"

# What entering a node does: (interpreter, instance, the node, the arriving execution's id).
Behaviour = Callable[["Interpreter", ProcessInstance, Node, str], None]


class Interpreter:
    def __init__(self, store: Store, clock: Clock, ids: IdGenerator) -> None:
        self.store, self.clock, self.ids = store, clock, ids
        # Variables that a script or service task would have set: (process key or None,
        # activity id) -> variables, which a test declares to stand in for what cannot run
        # here (Java; a script outside the Groovy subset) or what it need not run.
        self.outputs: dict[tuple[str | None, str], dict[str, Any]] = {}
        # The authenticated user of the command under way (`authenticatedUserId`), if any.
        self.user: str | None = None
        self._plain_tasks: dict[int, tuple[Node, _PlainTask | None]] = {}
        # Java and script listeners that could not run, each said once: (process key,
        # element, event, what it is) -> what a test should hear, or None when the test
        # declared what the listener sets (then it is only logged).
        self.unrun_listeners: dict[tuple[str, str, str, str], str | None] = {}
        self.mails: list[SentMail] = []  # what mail tasks sent, oldest first
        self.scripting = Scripting()
        # The objects the host gives scripts and expressions besides the engine's own (IDM's
        # `openidm`), for a command of `instance` in `activity`: none by default.
        self.script_objects: Callable[[ProcessInstance, str], Mapping[str, Any]] = (
            lambda _instance, _activity: {})
        # Task attributes kept as written only because they read IDM's objects, each said
        # once: (process key, activity, the text) -> what a test should hear.
        self.unevaluated: dict[tuple[str, str, str], str] = {}

    # entry points ----------------------------------------------------------------------------

    def start(self, instance: ProcessInstance) -> None:
        model = instance.definition.model
        if model.listeners:
            self._fire(model.listeners, "start", instance, instance.id, model.start.id,
                       model.key)
        self.enter(instance, model.start, instance.id)

    def resume(self, instance: ProcessInstance, execution_id: str) -> None:
        """Move a waiting token on from the activity it waits in."""
        activity = instance.executions.pop(execution_id)
        if self.store.has_jobs(instance.id):
            self.disarm(instance, execution_id)
        node = instance.definition.model.nodes[activity]
        if node.multi_instance is not None and execution_id in instance.loop_parents:
            self._instance_completed(instance, node, node.multi_instance, execution_id)
            return
        self._leave(instance, node, execution_id)

    # behaviours ------------------------------------------------------------------------------

    def enter(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        if node.execution_listeners:
            self._fire(node.execution_listeners, "start", instance, execution_id, node.id,
                       node.id)
        boundaries = instance.definition.model.boundaries  # empty, falsy, for most models
        if boundaries and node.id in boundaries and node.kind in ARMED_KINDS:
            self._arm(instance, node, execution_id)
        self.behaviours[node.kind](self, instance, node, execution_id)

    # boundary events and timers --------------------------------------------------------------

    def _arm(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        """A token enters an activity: its timer boundary events start their timers (as the
        engine executes boundary events before the activity). Message and signal boundary
        events need nothing stored: a delivery finds them through the activity its execution
        waits in."""
        for boundary in instance.definition.model.boundary_events(node.id):
            if boundary.event == TIMER:
                self.schedule(instance, boundary, execution_id)

    def disarm(self, instance: ProcessInstance, execution_id: str) -> None:
        """A token leaves its activity: the timers of its boundary events (or of the timer
        catch event it waited in) are deleted, dead-letter jobs included."""
        for job in self.store.jobs_of(instance.id):
            if job.execution_id == execution_id:
                self.store.remove_job(job)

    def schedule(self, instance: ProcessInstance | None, node: Node,
                 execution_id: str | None, definition_id: str | None = None) -> Job:
        """A timer job for a timer event, its text evaluated now (TimerUtil); for a start
        event (no instance), in no execution's scope."""
        assert node.timer is not None and node.timer_value is not None, node.id
        now = self.clock.now()
        if instance is None:
            value = self.static_value(node.timer_value)
        else:
            value = self.value(node.timer_value, instance, execution_id or instance.id, node.id)
        due, repeat = first_due(node.timer, value, now)
        job = Job(id=self.ids.next(), definition_id=definition_id or (
            instance.definition.id if instance is not None else ""), activity=node.id,
            due_date=due, create_time=now, instance_id=instance.id if instance else None,
            execution_id=execution_id, repeat=repeat)
        self.store.add_job(job)
        return job

    def reschedule(self, job: Job, node: Node) -> Job:
        """A cycle's next firing: a new job, due one period after the one that fired."""
        assert job.repeat is not None
        due, repeat = next_due(job.repeat, job.due_date)
        following = Job(id=self.ids.next(), definition_id=job.definition_id,
                        activity=node.id, due_date=due, create_time=self.clock.now(),
                        instance_id=job.instance_id, execution_id=job.execution_id,
                        repeat=repeat)
        self.store.add_job(following)
        return following

    def static_value(self, text: str) -> Any:
        """An attribute evaluated with no execution (a timer start event's)."""
        if "{" not in text:
            return text.strip(JAVA_TRIM)
        return compile_text(text).evaluate(_NOTHING)

    def fire_timer(self, instance: ProcessInstance, job: Job) -> None:
        """A timer job of an instance fires (its transaction is the caller's)."""
        self.store.remove_job(job)
        model = instance.definition.model
        node = model.nodes[job.activity]
        assert job.execution_id is not None
        if node.kind == BOUNDARY_EVENT:
            if job.repeat is not None and not node.cancel_activity:
                self.reschedule(job, node)
            self.trigger_boundary(instance, node, job.execution_id)
            return
        self.resume(instance, job.execution_id)  # an intermediate timer catch event

    def trigger_boundary(self, instance: ProcessInstance, boundary: Node,
                         execution_id: str) -> None:
        """A boundary event of the activity `execution_id` waits in is triggered: an
        interrupting one cancels the activity and the token leaves through the event; a
        non-interrupting one sends a new token out and leaves the activity as it is."""
        if not boundary.cancel_activity:
            self._leave(instance, boundary, self.ids.next())
            return
        assert boundary.attached_to is not None
        attached = instance.definition.model.nodes[boundary.attached_to]
        self.cancel_activity(instance, attached, execution_id,
                             f"{BOUNDARY_INTERRUPTING} ({boundary.id})")
        self._leave(instance, boundary, execution_id)

    def _leave(self, instance: ProcessInstance, node: Node, execution_id: str,
               flows: list[Flow] | None = None) -> None:
        model = instance.definition.model
        if node.execution_listeners:
            self._fire(node.execution_listeners, "end", instance, execution_id, node.id,
                       node.id)
        if flows is None:
            outgoing = model.outgoing(node.id)
            if not outgoing:
                self._end(instance, node, execution_id)  # the engine ends such a path quietly
                return
            # An activity with several outgoing flows takes every one whose condition holds.
            flows = [f for f in outgoing
                     if f.condition is None or self._holds(instance, f, execution_id)]
        if not flows:
            raise EngineError(f"No outgoing sequence flow from activity '{node.id}'")
        if len(flows) == 1:
            if flows[0].listeners:
                self._take(instance, flows[0], execution_id)
            self.enter(instance, model.nodes[flows[0].target], execution_id)
            return
        # A fork: one child execution per path, every one alive before any moves (both
        # engines create them all first), so that one ending at once ends neither the
        # instance nor the sub-process it is in.
        children = [self.ids.next() for _ in flows]
        scope = instance.parents.pop(execution_id, None) if instance.parents else None
        instance.executions.pop(execution_id, None)
        for child in children:
            instance.executions[child] = _FORKED
            if scope is not None:
                instance.parents[child] = scope
        for flow, child in zip(flows, children, strict=True):
            if flow.listeners:
                self._take(instance, flow, child)
            self.enter(instance, model.nodes[flow.target], child)

    def _take(self, instance: ProcessInstance, flow: Flow, execution_id: str) -> None:
        self._fire(flow.listeners, "take", instance, execution_id, flow.source, flow.id)

    def _holds(self, instance: ProcessInstance, flow: Flow, execution_id: str) -> bool:
        if flow.condition is None:
            return True
        # compile_expression caches; an EvaluationError carries the engine's own message.
        condition = compile_expression(flow.condition)
        variables = (scope(instance, execution_id, flow.source, self.user)
                     if condition.uses_engine else instance.variables if not instance.locals
                     else execution_variables(instance, execution_id))
        try:
            return condition.evaluate_condition(variables)
        except EvaluationError as error:
            raise _idm_only(error, flow.source) from None

    # expressions -----------------------------------------------------------------------------

    def value(self, text: str, instance: ProcessInstance, execution_id: str, activity_id: str,
              variables: Mapping[str, Any] | None = None) -> Any:
        """The value of an attribute the engine evaluates (plain text is itself), in the scope
        of one execution; an EvaluationError carries the engine's message."""
        if "{" not in text:  # plain text, the usual case: itself, trimmed as the engine trims
            return text.strip(JAVA_TRIM)
        expression = compile_text(text)  # cached; compiled at deploy already
        if expression.literal:
            return expression.evaluate(_NOTHING)
        if expression.uses_engine or not expression.variables.isdisjoint(IDM_OBJECTS):
            variables = {**scope(instance, execution_id, activity_id, self.user, variables),
                         **self.script_objects(instance, activity_id)}
        elif variables is None and instance.locals:
            variables = execution_variables(instance, execution_id)
        try:
            return expression.evaluate(instance.variables if variables is None else variables)
        except EvaluationError as error:
            raise _idm_only(error, activity_id) from None

    def _pass_through(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        self._leave(instance, node, execution_id)

    def _run_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        if node.service_type == MAIL:
            self._send_mail(instance, node, execution_id)
        declared = [self.outputs.get((key, node.id)) for key in (None, instance.definition.key)]
        if node.script is not None and all(d is None for d in declared):
            self._run_script(instance, node, execution_id)
        if node.expression is not None and all(d is None for d in declared):
            # ServiceTaskExpressionActivityBehavior; what a test declared stands in for it.
            result = self.value(node.expression, instance, execution_id, node.id)
            if node.result_variable is not None:
                instance.variables[node.result_variable] = storable(result)
        for outputs in declared:
            instance.variables.update(outputs or {})
        self._leave(instance, node, execution_id)

    def _run_script(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        script = node.script
        assert script is not None
        store = instance.variables.__setitem__ if script.auto_store else None
        engine = {**self.script_objects(instance, node.id),
                  "execution": Execution(instance, execution_id, node.id)}
        value = self.scripting.run(script, instance, node.id, engine, store, self.clock.now)
        if script.result_variable is not None:
            instance.variables[script.result_variable] = value

    def _send_mail(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        """MailActivityBehavior, with the mock as its mail server: the mail is kept in `mails`
        (a mail sent stays sent if the command later fails). A failure fails the command
        unless the task's ignoreException is true; then its exceptionVariableName, if any,
        gets the message."""
        fields = {value.name: value for value in node.fields}

        def text(name: str) -> str | None:
            value = fields.get(name)
            if value is None:
                return None
            found = (self.value(value.text, instance, execution_id, node.id)
                     if value.expression else value.text)
            return None if found is None else found if isinstance(found, str) else java_string(
                found)

        def body(name: str) -> str | None:
            # textVar / htmlVar name a variable that holds the template.
            if name + "Var" not in fields:
                return text(name)
            template = instance.variables.get(fields[name + "Var"].text)
            if template is None:
                return None
            try:
                compile_text(str(template))
            except ExpressionError as error:
                raise EngineError(str(error)) from None
            found = self.value(str(template), instance, execution_id, node.id)
            return None if found is None else found if isinstance(found, str) else java_string(
                found)

        ignore = (text("ignoreException") or "").lower() == "true"  # Boolean.parseBoolean
        exception_variable = text("exceptionVariableName")
        try:
            mail = compose(lambda name: body(name) if name in ("text", "html") else text(name),
                           instance.id, node.id, self.clock.now())
        except EngineError as error:
            if not ignore:
                raise
            _log.info("mail task '%s' ignored a send error: %s", node.id, error)
            if exception_variable:
                instance.variables[exception_variable] = str(error)
            return
        self.mails.append(mail)

    def _wait(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        instance.executions[execution_id] = node.id
        if node.event == TIMER:  # an intermediate timer: it waits for its job
            self.schedule(instance, node, execution_id)

    def _create_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        known = self._plain_tasks.get(id(node))  # inline: a user task is on the hot path
        plain = known[1] if known is not None and known[0] is node else self._plain(node)
        if plain is None:  # a multi-instance task is never plain: its loop comes first
            if node.multi_instance is not None and execution_id not in instance.loop_parents:
                self._start_instances(instance, node, node.multi_instance, execution_id)
                return  # the loop creates its instances' tasks
            task = self._evaluated_task(instance, node, execution_id)
        else:  # nothing to evaluate: what the node says, worked out once
            name, description, assignee, users, groups = plain
            task = Task(
                id=self.ids.next(), instance_id=instance.id, execution_id=execution_id,
                definition_id=instance.definition.id, node=node, name=name,
                description=description, assignee=assignee, candidate_users=list(users),
                candidate_groups=list(groups), create_time=self.clock.now(),
                priority=node.priority)
        instance.executions[execution_id] = node.id
        self.store.add_task(task)
        if node.task_listeners:
            # Activiti fires `assignment` (when an assignee resolved) before `create`, so
            # that a create listener sees the whole task.
            if task.assignee is not None:
                self.fire_task(task, instance, "assignment")
            self.fire_task(task, instance, "create")

    def _plain(self, node: Node) -> _PlainTask | None:
        """A user task's attributes when none is an expression (else None), worked out once per
        node and kept by its id (with the node, so that a reused id is never mistaken)."""
        texts = (node.name, node.documentation, node.form_key, node.assignee,
                 *node.candidate_users, *node.candidate_groups)
        plain = None
        # A category or a loop (rare) goes the evaluated way: the common task pays nothing for it.
        if not (node.due_date or node.priority_expression or node.task_category
                or node.multi_instance
                or any(text and "{" in text for text in texts)):
            def literal(text: str) -> str:
                return text.strip(JAVA_TRIM)
            plain = (_lenient(node.name, literal), _lenient(node.documentation, literal),
                     literal(node.assignee) or None if node.assignee else None,
                     tuple(_candidates(node.candidate_users, literal)),
                     tuple(_candidates(node.candidate_groups, literal)))
        if len(self._plain_tasks) >= _PLAIN_TASKS_KEPT:
            self._plain_tasks.clear()
        self._plain_tasks[id(node)] = (node, plain)
        return plain

    def _evaluated_task(self, instance: ProcessInstance, node: Node, execution_id: str) -> Task:
        """UserTaskActivityBehavior: each attribute evaluated in the arriving execution, in the
        engine's order (name, description, due date, priority, category, form key, then the
        assignments)."""

        def value(text: str) -> Any:
            return self.value(text, instance, execution_id, node.id)

        now = self.clock.now()  # one instant: the create time, and what a due period adds to
        def unevaluated(error: IdmOnly) -> None:
            self._not_evaluated(instance.definition.key, node.id, error)

        name = _lenient(node.name, value, unevaluated)
        description = _lenient(node.documentation, value, unevaluated)
        due_date = None
        if node.due_date:
            due = value(node.due_date)
            if isinstance(due, str):
                due_date = resolve_due_date(due, now)
            elif due is not None:
                raise EngineError("Due date expression does not resolve to a Date or Date "
                                  f"string: {node.due_date}")
        priority = node.priority
        if node.priority_expression:
            priority = _priority(value(node.priority_expression), node.priority_expression,
                                 priority)
        category = _lenient(node.task_category, value, unevaluated)
        # The node's `form_key` gives a literal key; only an expression's result is kept.
        form_key = (_lenient(node.form_key, value, unevaluated)
                    if node.form_key and "{" in node.form_key else None)
        assignee = None
        if node.assignee:
            found = value(node.assignee)
            text = None if found is None else found if isinstance(found, str) else java_string(
                found)
            assignee = text or None  # Flowable sets no assignee for an empty one
        return Task(
            id=self.ids.next(), instance_id=instance.id, execution_id=execution_id,
            definition_id=instance.definition.id, node=node, name=name,
            description=description, assignee=assignee,
            candidate_users=_candidates(node.candidate_users, value),
            candidate_groups=_candidates(node.candidate_groups, value),
            create_time=now, priority=priority, due_date=due_date, category=category,
            evaluated_form_key=form_key)

    def form_values(self, instance: ProcessInstance, node: Node, execution_id: str,
                    variables: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """A task's form as FormPropertyHandler.createFormProperty fills it: each readable
        property's value (its variable, else its default; or its expression) as form text."""
        found = []
        for prop in node.form_properties:
            if not prop.readable:
                continue
            model: Any = None
            if prop.variable is not None or prop.expression is None:
                name = prop.variable if prop.variable is not None else prop.id
                if name in variables:
                    model = variables[name]
                elif prop.default is not None:
                    model = self.value(prop.default, instance, execution_id, node.id, variables)
            else:
                model = self.value(prop.expression, instance, execution_id, node.id, variables)
            found.append((prop.id, _form_text(prop.type, model)))
        return found

    def _choose(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        # The first flow (in document order) whose condition holds; else the default flow.
        outgoing = instance.definition.model.outgoing(node.id)
        for flow in outgoing:
            if flow.id != node.default_flow and self._holds(instance, flow, execution_id):
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
        scope = instance.parents.get(execution_id) if node.parent is not None else None
        arrived = [e for e, activity in instance.executions.items()
                   if activity == node.id and instance.parents.get(e) == scope]
        if len(arrived) < model.incoming_count(node.id):
            return  # wait for the other branches
        if scope is None:
            # The root execution carries on when nothing else holds it (a join of every
            # branch).
            for execution in arrived:
                del instance.executions[execution]
            continuing = (instance.id if instance.id not in instance.executions
                          else self.ids.next())
        else:  # inside a sub-process: a new execution of that scope carries on
            continuing = self.ids.next()
            instance.parents[continuing] = scope
            for execution in arrived:
                del instance.executions[execution]
                del instance.parents[execution]
        self._leave(instance, node, continuing, model.outgoing(node.id))

    # multi-instance ------------------------------------------------------------------------

    def _start_instances(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                         execution_id: str) -> None:
        """MultiInstanceActivityBehavior.execute: a root execution below the arriving one keeps
        the counters; parallel: an execution per instance, all created before any runs;
        sequential: one, which runs the instances one after the other."""
        count = self._instance_count(instance, node, loop, execution_id)
        if count < 0:
            raise EngineError("Invalid number of instances: must be "
                              f"{'a ' if loop.sequential else ''}non-negative integer value, "
                              f"but was {count}")
        if count == 0:  # nothing to do: no counters, the token leaves at once
            self._leave(instance, node, execution_id)
            return
        instance.executions[execution_id] = node.id  # it waits in the activity meanwhile
        root = self.ids.next()
        own_executions(instance)
        instance.loop_parents[root] = execution_id
        instance.locals[root] = {NR_OF_INSTANCES: count, NR_OF_COMPLETED_INSTANCES: 0,
                                 NR_OF_ACTIVE_INSTANCES: 1 if loop.sequential else count}
        children = [self.ids.next() for _ in range(1 if loop.sequential else count)]
        for child in children:
            instance.loop_parents[child] = root
        for counter, child in enumerate(children):
            self._run_instance(instance, node, loop, child, counter)

    def _instance_count(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                        execution_id: str) -> int:
        """resolveNrOfInstances: the loop cardinality, else the collection's size."""
        if loop.loop_cardinality is None:
            return len(self._collection(instance, node, loop, execution_id))
        found = self.value(loop.loop_cardinality, instance, execution_id, node.id)
        if isinstance(found, str):  # Integer.valueOf
            if _INTEGER.fullmatch(found) and _INT_MIN <= int(found) <= _INT_MAX:
                return int(found)
            raise EngineError(f'For input string: "{found}"')
        if isinstance(found, bool) or not isinstance(found, int | float | Decimal):
            raise EngineError(f"Could not resolve loopCardinality expression "
                              f"'{loop.loop_cardinality}': not a number nor number String")
        return _int_value(found)

    def _collection(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                    execution_id: str) -> list[Any]:
        """resolveAndValidateCollection (Flowable): the collection's value; a String names the
        variable that holds it."""
        assert loop.collection is not None  # the validator made sure of one or the other
        found = self.value(loop.collection, instance, execution_id, node.id)
        if isinstance(found, list | tuple):
            return list(found)
        if not isinstance(found, str):
            raise EngineError(
                "Couldn't resolve collection expression, variable reference or string")
        held = execution_variables(instance, execution_id).get(found)
        if held is None:
            raise EngineError(f"Variable '{found}' is not found")
        if not isinstance(held, list | tuple):
            raise EngineError(f"Variable '{found}':{java_string(held)} is not a Collection")
        return list(held)

    def _run_instance(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                      child: str, counter: int) -> None:
        """executeOriginalBehavior: the instance's loopCounter and element on its own
        execution, then the activity itself (its start listeners again after the first)."""
        own = instance.locals.setdefault(child, {})
        if loop.collection is not None and loop.element_variable is not None:
            items = self._collection(instance, node, loop, child)
            if counter >= len(items):  # shorter since the loop began: Java's iterator fails
                raise EngineError(f"mockidm: the collection of multi-instance '{node.id}' has "
                                  f"no element {counter} any more (NoSuchElementException)")
            own[loop.element_variable] = items[counter]
        own[LOOP_COUNTER] = counter
        if counter > 0 and node.execution_listeners:
            self._fire(node.execution_listeners, "start", instance, child, node.id, node.id)
        self.behaviours[node.kind](self, instance, node, child)

    def _instance_completed(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                            child: str) -> None:
        """Parallel/SequentialMultiInstanceBehavior.leave: count the instance done; when every
        instance is, or the completion condition holds, the token leaves the activity."""
        root = instance.loop_parents[child]
        counters = instance.locals[root]
        counters[NR_OF_COMPLETED_INSTANCES] += 1
        if loop.sequential:
            counter = instance.locals[child][LOOP_COUNTER] + 1
            if counter < counters[NR_OF_INSTANCES] and not self._completed(
                    instance, node, loop, root):
                if node.execution_listeners:  # the last one's fire as the token leaves
                    self._fire(node.execution_listeners, "end", instance, child, node.id,
                               node.id)
                self._run_instance(instance, node, loop, child, counter)
                return
        else:
            counters[NR_OF_ACTIVE_INSTANCES] -= 1
            if node.execution_listeners:
                self._fire(node.execution_listeners, "end", instance, child, node.id, node.id)
            if (counters[NR_OF_COMPLETED_INSTANCES] < counters[NR_OF_INSTANCES]
                    and not self._completed(instance, node, loop, root)):
                return
        self._end_instances(instance, node, root)

    def _completed(self, instance: ProcessInstance, node: Node, loop: MultiInstance,
                   root: str) -> bool:
        """completionConditionSatisfied, evaluated in the root execution's scope."""
        if loop.completion_condition is None:
            return False
        found = self.value(loop.completion_condition, instance, root, node.id)
        if not isinstance(found, bool):
            raise EngineError(f"completionCondition '{loop.completion_condition}' does not "
                              "evaluate to a boolean value")
        return found

    def _end_instances(self, instance: ProcessInstance, node: Node, root: str) -> None:
        """cleanupMiRoot: the instances still waiting are deleted (their tasks with the
        engine's reason), the root with them, and the token that arrived leaves."""
        arrived = self._remove_loop(instance, root, MULTI_INSTANCE_ENDED)
        if self.store.has_jobs(instance.id):  # the activity's boundary timers end with it
            self.disarm(instance, arrived)
        self._leave(instance, node, arrived)

    def cancel_instances(self, instance: ProcessInstance, arrived: str, reason: str) -> bool:
        """End the multi-instance loop that the execution `arrived` waits in, without leaving
        the activity (an interrupting boundary event, a deleted scope): its waiting tasks
        deleted with `reason`, its executions and their variables gone. False if none."""
        for execution, parent in instance.loop_parents.items():
            if parent == arrived and NR_OF_INSTANCES in instance.locals.get(execution, {}):
                self._remove_loop(instance, execution, reason)
                return True
        return False

    def _remove_loop(self, instance: ProcessInstance, root: str, reason: str) -> str:
        """Delete a loop's root execution and its instances (the tasks still open with
        `reason`); the execution that arrived, which carries on."""
        arrived = instance.loop_parents.pop(root)
        children = [e for e, parent in instance.loop_parents.items() if parent == root]
        waiting = {e for e in children if e in instance.executions}
        if waiting:
            for task in self.store.tasks_of(instance.id):
                if task.active and task.execution_id in waiting:
                    self.end_task(task, reason)
        for child in children:
            instance.executions.pop(child, None)
            del instance.loop_parents[child]
            instance.locals.pop(child, None)
        del instance.locals[root]
        instance.executions.pop(arrived, None)
        return arrived

    def _end_event(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        if node.event == ERROR:
            self._throw_error(instance, node, execution_id)
            return
        if node.execution_listeners:
            self._fire(node.execution_listeners, "end", instance, execution_id, node.id,
                       node.id)
        self._end(instance, node, execution_id)

    def _end(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        instance.executions.pop(execution_id, None)
        scope = instance.parents.pop(execution_id, None) if instance.parents else None
        if scope is not None:
            if scope not in instance.parents.values():  # the last execution inside ended
                self._leave_scope(instance, scope)
            return
        if not instance.executions:
            self.finish(instance, end_activity=node.id, delete_reason=None)

    # sub-processes, call activities, errors --------------------------------------------------

    def _enter_sub_process(self, instance: ProcessInstance, node: Node,
                           execution_id: str) -> None:
        """The arriving execution waits in the sub-process; a new execution, its child, runs
        what is inside from the sub-process's start event (SubProcessActivityBehavior)."""
        instance.executions[execution_id] = node.id
        inner = self.ids.next()
        instance.parents[inner] = execution_id
        start = instance.definition.model.initial(node.id)
        assert start is not None  # validation: every sub-process has one
        self.enter(instance, start, inner)

    def _leave_scope(self, instance: ProcessInstance, scope: str) -> None:
        """The last execution inside a sub-process ended: the sub-process is left."""
        activity = instance.executions.pop(scope)
        if self.store.has_jobs(instance.id):  # leaving it deletes its boundary timers
            self.disarm(instance, scope)
        self._leave(instance, instance.definition.model.nodes[activity], scope)

    def _call(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        """CallActivityBehavior: the latest version of the called key starts as a child
        instance (its `in` variables, its business key) and the execution waits until it
        ends. The child's start user is the authenticated user; its initiator is not set."""
        assert node.called_element is not None  # the loader requires it
        key = self.value(node.called_element, instance, execution_id, node.id)
        definition = self.store.latest(str(key)) if key is not None else None
        if definition is None:
            raise ObjectNotFound(f"Process definition {key} was not found in "
                                 "sameDeployment[false] tenantId[] fallbackToDefaultTenant[false]")
        if definition.suspended:
            raise EngineError(f"Cannot start process instance. Process definition "
                              f"{definition.name} (id = {definition.id}) is suspended")
        business_key = None
        if node.call_business_key:
            found = self.value(node.call_business_key, instance, execution_id, node.id)
            if found is None:  # Flowable calls toString() on it: a NullPointerException
                raise EngineError(f"the businessKey expression {node.call_business_key} of call "
                                  f"activity '{node.id}' is null (Flowable fails here with a "
                                  "NullPointerException)")
            business_key = found if isinstance(found, str) else java_string(found)
        elif node.inherit_business_key:
            business_key = instance.business_key
        variables = dict(instance.variables) if node.inherit_variables else {}
        for parameter in node.in_parameters:
            variables[parameter.target] = self._parameter(parameter, instance, execution_id,
                                                          node.id)
        instance.executions[execution_id] = node.id
        child = ProcessInstance(
            id=self.ids.next(), definition=definition, business_key=business_key,
            start_user=self.user, start_time=self.clock.now(), variables=variables,
            start_activity=definition.model.start.id, super_instance_id=instance.id,
            super_execution=execution_id)
        self.store.add_instance(child)
        self.start(child)

    def _parameter(self, parameter: IOParameter, instance: ProcessInstance, execution_id: str,
                   activity_id: str) -> Any:
        if parameter.source_expression is not None:
            return self.value(parameter.source_expression, instance, execution_id, activity_id)
        return instance.variables.get(parameter.source or "")

    def _return(self, child: ProcessInstance) -> None:
        """A called instance ended: its `out` variables are copied into the parent, whose
        execution leaves the call activity (CallActivityBehavior.completing, completed)."""
        parent = self.store.instances[child.super_instance_id or ""]
        execution = child.super_execution or ""
        node = parent.definition.model.nodes[parent.executions[execution]]
        for parameter in node.out_parameters:
            parent.variables[parameter.target] = self._parameter(
                parameter, child, child.id, child.end_activity or node.id)
        del parent.executions[execution]
        if self.store.has_jobs(parent.id):  # leaving it deletes its boundary timers
            self.disarm(parent, execution)
        self._leave(parent, node, execution)

    def child_of(self, instance: ProcessInstance, execution_id: str) -> ProcessInstance | None:
        """The running instance that a call activity's execution waits for."""
        for candidate in self.store.running.values():
            if (candidate.super_instance_id == instance.id
                    and candidate.super_execution == execution_id):
                return candidate
        return None

    def _throw_error(self, instance: ProcessInstance, node: Node, execution_id: str) -> None:
        """ErrorPropagation: from the throwing execution outwards, through the sub-processes
        it lies in and the call activities that called its instance, the first activity with
        an error boundary event for the code catches it; the called instances it leaves end
        (delete reason `ERROR_EVENT <code>`). Nothing catches it: the command fails."""
        code = node.event_name
        left: list[ProcessInstance] = []
        current, execution = instance, execution_id
        while True:
            owner = current.parents.get(execution)
            if owner is None:
                if current.super_instance_id is None:
                    raise EngineError(_uncaught([instance, *left, current], code))
                left.append(current)
                owner = current.super_execution or ""
                current = self.store.instances[current.super_instance_id]
            activity = current.definition.model.nodes[current.executions[owner]]
            boundary = _catcher(current.definition.model, activity.id, code)
            if boundary is not None:  # cancelling the activity ends the throwing execution
                for called in left:
                    self.terminate(called, f"ERROR_EVENT {code}", end_activity=node.id)
                self.cancel_activity(current, activity, owner,
                                     f"{BOUNDARY_INTERRUPTING} ({boundary.id})")
                self._leave(current, boundary, owner)
                return
            execution = owner

    def cancel_activity(self, instance: ProcessInstance, node: Node, execution_id: str,
                        reason: str) -> None:
        """End what waits in `node` for that execution: a user task ends with `reason`, a
        sub-process loses everything inside it (recursively), a call activity's child
        instance is deleted with `reason`; the activity's end listeners fire; the timers of
        its boundary events are deleted."""
        if node.kind == SUB_PROCESS:
            for inner in [e for e, p in instance.parents.items() if p == execution_id]:
                activity = instance.executions.get(inner)
                if activity is not None:
                    self.cancel_activity(instance, instance.definition.model.nodes[activity],
                                         inner, reason)
                instance.parents.pop(inner, None)
        elif node.kind == CALL_ACTIVITY:
            child = self.child_of(instance, execution_id)
            if child is not None:
                self.terminate(child, reason)
        elif node.kind == USER_TASK:
            if node.multi_instance is not None:
                self.cancel_instances(instance, execution_id, reason)
            for task in self.store.tasks_of(instance.id):
                if task.active and task.execution_id == execution_id:
                    self.end_task(task, reason)
        self.fire_end(instance, execution_id, node.id)
        instance.executions.pop(execution_id, None)
        if self.store.has_jobs(instance.id):  # its boundary events' timers go with it
            self.disarm(instance, execution_id)

    def terminate(self, instance: ProcessInstance, reason: str,
                  end_activity: str | None = None) -> None:
        """End an instance that has not run to its end (deleted, or left by an error): its open
        tasks end with `reason`, the activities its tokens wait in fire their end listeners
        (inside a sub-process first), the instances it called end likewise."""
        for task in self.store.tasks_of(instance.id):
            if task.active:
                self.end_task(task, reason)
        waiting = sorted(instance.executions.items(), key=lambda e: e[0] not in instance.parents)
        for execution, activity in waiting:
            node = instance.definition.model.nodes[activity]
            if node.kind == CALL_ACTIVITY:
                child = self.child_of(instance, execution)
                if child is not None:
                    self.terminate(child, reason)
            self.fire_end(instance, execution, activity)
        self.finish(instance, end_activity=end_activity, delete_reason=reason)

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
        END_EVENT: _end_event,
        SUB_PROCESS: _enter_sub_process,
        CALL_ACTIVITY: _call,
        # No flow enters a boundary event: a token leaves through it when it fires.
        BOUNDARY_EVENT: _pass_through,
    }

    def finish(self, instance: ProcessInstance, end_activity: str | None,
               delete_reason: str | None) -> None:
        model = instance.definition.model
        if model.listeners:
            self._fire(model.listeners, "end", instance, instance.id,
                       end_activity or model.start.id, model.key)
        instance.executions.clear()
        instance.parents.clear()
        if self.store.has_jobs(instance.id):  # an ended instance keeps no job
            for job in self.store.jobs_of(instance.id):
                self.store.remove_job(job)
        # The executions are gone, and their variables with them.
        instance.locals = instance.loop_parents = NONE_YET
        instance.end_time = self.clock.now()
        instance.end_activity = end_activity
        instance.delete_reason = delete_reason
        self.store.instance_ended(instance)
        if instance.super_instance_id is not None and delete_reason is None:
            self._return(instance)

    def complete_task(self, task: Task, instance: ProcessInstance) -> None:
        """TaskEntity.complete: the `complete` listeners, then the task is deleted (its
        `delete` listeners first); the caller then moves the token on."""
        if task.node.task_listeners:
            self.fire_task(task, instance, "complete")
        self.end_task(task, COMPLETED)

    def end_task(self, task: Task, reason: str) -> None:
        if task.node.task_listeners:  # `delete` fires just before the task is deleted
            self.fire_task(task, self.store.instances[task.instance_id], "delete")
        task.end_time = self.clock.now()
        task.delete_reason = reason
        self.store.task_ended(task)

    def _not_evaluated(self, key: str, activity_id: str, error: IdmOnly) -> None:
        seen = (key, activity_id, error.expression)
        if seen not in self.unevaluated:
            message = (f"mockidm cannot evaluate {error.expression} in activity "
                       f"'{activity_id}' of process '{key}' ({error.cause}: IDM's own object, "
                       "which only a real IDM gives expressions): the task shows the text as "
                       "written, where a real IDM shows the value")
            _log.warning("%s", message)
            self.unevaluated[seen] = message

    # listeners -------------------------------------------------------------------------------

    def fire_task(self, task: Task, instance: ProcessInstance, event: str) -> None:
        """Run a task's listeners for `event` (and those for `all`), in document order."""
        for listener in task.node.task_listeners:
            if listener.event in (event, "all"):
                self._notify(listener, event, instance, task.execution_id, task.key, task.key,
                             task)

    def fire_end(self, instance: ProcessInstance, execution_id: str, activity: str) -> None:
        """The `end` listeners of the activity a deleted instance's token waits in."""
        node = instance.definition.model.nodes[activity]
        if node.execution_listeners:
            self._fire(node.execution_listeners, "end", instance, execution_id, node.id,
                       node.id)

    def _fire(self, listeners: tuple[Listener, ...], event: str, instance: ProcessInstance,
              execution_id: str, activity_id: str, element: str) -> None:
        for listener in listeners:
            if listener.event == event:
                self._notify(listener, event, instance, execution_id, activity_id, element)

    def _notify(self, listener: Listener, event: str, instance: ProcessInstance,
                execution_id: str, activity_id: str, element: str,
                task: Task | None = None) -> None:
        """ExpressionTaskListener / ExpressionExecutionListener: evaluate the expression, its
        value unused; a failure fails the command. A script listener runs its Groovy; a Java
        one cannot run here: what a test declared for it (set_outputs('<element>:<event>',
        ...)) stands in, as it does for a script."""
        if listener.expression is not None:
            expression = compile_text(listener.expression)  # cached; compiled at deploy
            variables = listener_scope(instance, execution_id, activity_id, self.user, task,
                                       event)
            try:
                expression.evaluate(variables)
            except EvaluationError as error:
                raise _idm_only(error, activity_id) from None
            return
        key = instance.definition.key
        declared = [self.outputs.get((k, f"{element}:{event}")) for k in (None, key)]
        if listener.script is not None and all(d is None for d in declared):
            self._run_listener_script(listener, instance, execution_id, activity_id, task,
                                      event)
            return
        for outputs in declared:
            instance.variables.update(outputs or {})
        what = _describe(listener)
        seen = (key, element, event, what)
        if seen in self.unrun_listeners:
            return
        message = (f"listener not run: {what}, {event} listener of '{element}' in process "
                   f"'{key}'; mockidm runs no Java, so it passed through")
        _log.warning("%s", message)
        self.unrun_listeners[seen] = (
            None if any(d is not None for d in declared) else
            f"{message} (declare what it sets with set_outputs('{element}:{event}', {{...}}))")

    def _run_listener_script(self, listener: Listener, instance: ProcessInstance,
                             execution_id: str, activity_id: str, task: Task | None,
                             event: str) -> None:
        """ScriptTaskListener / ScriptExecutionListener: the script runs with `task` (a task
        listener) or `execution`; its value goes to the `resultVariable` field's variable
        (set on the task, which sets it on the process unless the task has it locally)."""
        script = listener.script
        assert script is not None
        execution = Execution(instance, execution_id, activity_id)
        engine: dict[str, Any] = {**self.script_objects(instance, activity_id),
                                  "execution": execution}
        delegate = None
        if task is not None:
            delegate = DelegateTask(task, instance, event)
            engine["task"] = delegate
        value = self.scripting.run(
            script, instance, activity_id, engine, None, self.clock.now,
            (lambda: execution_variables(instance, execution_id)) if task is None
            else lambda: {**execution_variables(instance, execution_id), **task.local_variables})
        if script.result_variable is not None:
            if delegate is not None:
                delegate.set_variable(script.result_variable, value)
            else:
                execution.set_variable(script.result_variable, value)

    # transactions ----------------------------------------------------------------------------

    @contextmanager
    def atomic(self, instance: ProcessInstance) -> Iterator[None]:
        """Undo every change to `instance` and its tasks if the command fails, as a database
        transaction would: a failed command leaves no half-moved token behind. The instances
        it called and the one that called it are restored too, and those it started removed."""
        family = self._family(instance)
        saved = [replace(i, variables=dict(i.variables), executions=dict(i.executions),
                         parents=dict(i.parents), locals=_copied_locals(i),
                         loop_parents=dict(i.loop_parents) if i.loop_parents else NONE_YET)
                 for i in family]
        tasks = {t.id: replace(t) for i in family for t in self.store.tasks_of(i.id)}
        # A command adds and removes jobs but changes none: the jobs themselves are kept.
        jobs = [self.store.jobs_by_id(i.id) for i in family]
        known = len(self.store.instances)
        try:
            yield
        except BaseException:
            if len(self.store.instances) > known:
                self.forget_since(known)
            for member, before, had in zip(family, saved, jobs, strict=True):
                for task in self.store.tasks_of(member.id):
                    if task.id not in tasks:
                        self.store.remove_task(task)
                    elif task.active != tasks[task.id].active or task != tasks[task.id]:
                        self.store.restore_task(task, tasks[task.id])
                for name in ("variables", "executions", "parents", "locals", "loop_parents",
                             "end_time", "end_activity", "delete_reason"):
                    setattr(member, name, getattr(before, name))
                self.store.instance_restored(member)
                if had is not None or self.store.has_jobs(member.id):
                    self.store.restore_jobs(member.id, had or {})
            raise

    def forget_since(self, first: int | ProcessInstance) -> None:
        """Remove the instances a failed command started, with their tasks: those added after
        the first `first` ones, or `first` itself and those added after it."""
        if isinstance(first, ProcessInstance):
            first = list(self.store.instances).index(first.id)
        for added in list(self.store.instances.values())[first:]:
            self.store.remove_instance(added)

    def _family(self, instance: ProcessInstance) -> list[ProcessInstance]:
        """`instance` and, when call activities link it to others, every running instance of
        its tree (a command on one may move the others)."""
        if instance.super_instance_id is None and not instance.definition.model.calls:
            return [instance]
        root = instance
        while root.super_instance_id is not None:
            root = self.store.instances[root.super_instance_id]
        family, ids = [root], {root.id}
        grown = True
        while grown:
            grown = False
            for candidate in self.store.running.values():
                if candidate.super_instance_id in ids and candidate.id not in ids:
                    family.append(candidate)
                    ids.add(candidate.id)
                    grown = True
        if instance.id not in ids:
            family.append(instance)
        return family


# The node kinds a model may hold: those the interpreter has a behaviour for.
KINDS = frozenset(Interpreter.behaviours)

_NOTHING: dict[str, Any] = {}
# Where a forked execution is until it reaches the activity it waits in (no activity's id).
_FORKED = ""
# A user task without expressions: name, description, assignee, candidate users and groups.
_PlainTask = tuple[str | None, str | None, str | None, tuple[str, ...], tuple[str, ...]]
_PLAIN_TASKS_KEPT = 4096
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_INTEGER = re.compile(r"[+-]?\d+")  # what Integer.valueOf reads (its range checked apart)
# String.split("[\\s]*,[\\s]*"): Java's \s, and the trailing empty strings dropped.
_CANDIDATE_SEPARATOR = re.compile(r"[ \t\n\x0b\f\r]*,[ \t\n\x0b\f\r]*")


_log = logging.getLogger("mockidm")


def _catches(node: Node, code: str | None) -> bool:
    """Whether `node` is an error boundary event that catches `code` (a boundary event without
    a code catches every error; an error without a code is caught by every one)."""
    return (node.kind == BOUNDARY_EVENT and node.event == ERROR
            and (node.event_name is None or code is None or node.event_name == code))


def _uncaught(chain: list[ProcessInstance], code: str | None) -> str:
    """ErrorPropagation's message for an error nothing catches: it answers otherwise when a
    process of the chain has a boundary event for the code elsewhere than around the throw."""
    if any(_catches(node, code) for instance in chain
           for node in instance.definition.model.nodes.values()):
        return f"No matching parent execution for error code {code} found"
    return (f"No catching boundary event found for error with errorCode '{code}', "
            "neither in same process nor in parent process")


def _catcher(model: ProcessModel, activity_id: str, code: str | None) -> Node | None:
    """The error boundary event of an activity that catches `code`: the first that names the
    code, else the first that catches any (ErrorPropagation.getCatchEventFromList)."""
    found = [n for n in model.boundary_events(activity_id) if _catches(n, code)]
    named = [n for n in found if n.event_name is not None]
    return next(iter(named or found), None)


def _copied_locals(instance: ProcessInstance) -> dict[str, dict[str, Any]]:
    """A copy of an instance's execution variables that shares nothing with them."""
    if not instance.locals:
        return NONE_YET
    return {execution: dict(own) for execution, own in instance.locals.items()}


def _describe(listener: Listener) -> str:
    if listener.delegate_expression is not None:
        return f"the delegate expression {listener.delegate_expression}"
    name = listener.implementation or ""
    if name.endswith(("ScriptTaskListener", "ScriptExecutionListener")):
        return f"a {listener.script_language or 'script'} script ({name})"
    return f"the Java class {name}"


# What IDM's own resolver (OpenIDMELResolver) answers in expressions: its script bindings.
IDM_OBJECTS = ("openidm", "identityServer")


class IdmOnly(EvaluationError):
    """An expression that a real IDM evaluates but the mock cannot: it reads IDM's objects."""


def _idm_only(error: EvaluationError, activity_id: str) -> EvaluationError:
    """An expression that reads one of IDM's own objects would run on a real IDM: say that
    the mock cannot, rather than give the engine's "Unknown property"."""
    for name in IDM_OBJECTS:
        if error.cause == f"Cannot resolve identifier '{name}'":
            return IdmOnly(
                f"mockidm cannot evaluate {error.expression} in activity '{activity_id}': "
                f"'{name}' is IDM's own object, which only a real IDM gives expressions; for a "
                f"service task, declare the variables it sets with set_outputs('{activity_id}',"
                " {...})", cause=error.cause, expression=error.expression)
    return error


def _lenient(text: str | None, value: Callable[[str], Any],
             unevaluated: Callable[[IdmOnly], None] | None = None) -> str | None:
    """A task name, description, category or form key: Flowable keeps the text as written
    when its expression fails (and logs a warning) rather than failing the command. An empty
    one sets none. Where only the mock fails (IDM's own objects), `unevaluated` hears of it:
    a real IDM would have shown the value, so the text kept is not IDM's answer."""
    if not text:
        return None
    try:
        found = value(text)
    except IdmOnly as error:
        if unevaluated is not None:
            unevaluated(error)
        return text
    except EvaluationError:
        return text
    return None if found is None else found if isinstance(found, str) else java_string(found)


def _candidates(texts: tuple[str, ...], value: Callable[[str], Any]) -> list[str]:
    """UserTaskActivityBehavior.extractCandidates over each candidate expression: null adds
    nobody, a collection adds its elements, anything else its text split on commas."""
    found: list[str] = []
    for text in texts:
        result = value(text)
        if result is None:
            continue
        if isinstance(result, list | tuple):
            found += [item if isinstance(item, str) else java_string(item) for item in result]
            continue
        line = result if isinstance(result, str) else java_string(result)
        if "," not in line:  # one candidate, the usual case
            if line:
                found.append(line)
        else:
            items = _CANDIDATE_SEPARATOR.split(line)
            while items and not items[-1]:
                items.pop()
            found += items
    return found


def _int_value(number: int | float | Decimal) -> int:
    """Number.intValue(): a double saturates (NaN is 0), an integer keeps its low 32 bits."""
    if isinstance(number, float):
        return 0 if number != number else int(max(_INT_MIN, min(_INT_MAX, number)))
    return (int(number) - _INT_MIN) % 2**32 + _INT_MIN


def _priority(result: Any, text: str, default: int) -> int:
    """A priority expression's value as UserTaskActivityBehavior takes it."""
    if result is None:
        return default
    if isinstance(result, str):
        if _INTEGER.fullmatch(result) and _INT_MIN <= int(result) <= _INT_MAX:
            return int(result)
        raise EngineError(f"Priority does not resolve to a number: {result}")
    if isinstance(result, bool) or not isinstance(result, int | float | Decimal):
        raise EngineError(f"Priority expression does not resolve to a number: {text}")
    return _int_value(result)


def _form_text(form_type: str | None, model: Any) -> str | None:
    """FormPropertyHandler: a String as it is, else the form type's text of the value (an
    untyped property's: its toString())."""
    if model is None or isinstance(model, str):
        return model
    if form_type == "boolean" and not isinstance(model, bool):
        raise EngineError("Model value is not of type boolean, but of type "
                          f"{java_class(model)}")
    if form_type == "enum":
        raise EngineError("Model value should be a String")
    return java_string(model)
