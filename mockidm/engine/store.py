"""In-memory storage with the indexes that keep lookups independent of how much is stored.

Instances and tasks are never removed: the running view and the history view are the same
objects, told apart by their end time, as the engine's history tables hold them.
Dicts keep insertion order, so iteration is creation order: the mock's "database order".
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .jobs import Job
from .model import Deployment, ProcessDefinition, ProcessInstance, Task

_Index = dict[str, dict[str, Any]]


def _add(index: _Index, key: str | None, item_id: str, item: object) -> None:
    if key is None:
        return
    bucket = index.get(key)
    if bucket is None:  # not `setdefault(key, {})`: it would build a dict on every call
        index[key] = {item_id: item}
    else:
        bucket[item_id] = item


def _discard(index: _Index, key: str | None, item_id: str) -> None:
    bucket = index.get(key) if key is not None else None
    if bucket is not None:
        bucket.pop(item_id, None)
        if not bucket:
            del index[key]  # type: ignore[arg-type]


def _variables_match(variables: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    # IDM compares `var-NAME=value` as strings: a number or boolean variable never matches.
    return all(variables.get(name) == value and isinstance(variables.get(name), str)
               for name, value in wanted.items())


@dataclass(slots=True)
class InstanceQuery:
    """The filters of a process-instance query; None means "any"."""

    instance_id: str | None = None
    business_key: str | None = None
    business_key_folded: str | None = None  # lower-cased: `_queryFilter` compares ignoring case
    definition_id: str | None = None
    definition_key: str | None = None
    super_instance_id: str | None = None
    start_user: str | None = None
    involved_user: str | None = None
    finished: bool | None = None  # True: ended only; False: running only
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class TaskQuery:
    """The filters of a task query (active tasks, or history when `history` is set)."""

    task_id: str | None = None
    instance_id: str | None = None
    execution_id: str | None = None
    definition_id: str | None = None
    definition_key: str | None = None
    task_definition_key: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    candidate_user: str | None = None
    candidate_groups: tuple[str, ...] | None = None
    # Groups the candidate user belongs to: a task offered to one of them is theirs too.
    candidate_user_groups: tuple[str, ...] = ()
    name: str | None = None
    owner: str | None = None
    description: str | None = None
    priority: int | None = None
    tenant_id: str | None = None
    delete_reason: str | None = None
    history: bool = False
    finished: bool | None = None
    process_finished: bool | None = None
    variables: dict[str, str] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.deployments: dict[str, Deployment] = {}
        self.definitions: dict[str, ProcessDefinition] = {}
        self.versions: dict[str, list[ProcessDefinition]] = {}  # key -> ascending versions
        self.instances: dict[str, ProcessInstance] = {}
        self.running: dict[str, ProcessInstance] = {}
        self.tasks: dict[str, Task] = {}
        self.active_tasks: dict[str, Task] = {}
        self._by_business_key: _Index = {}
        self._by_business_key_folded: _Index = {}
        self._by_definition: _Index = {}
        self._by_key: _Index = {}
        self._by_start_user: _Index = {}
        self._tasks_by_instance: _Index = {}
        self._active_by_assignee: _Index = {}
        self.jobs: dict[str, Job] = {}  # timer and dead-letter jobs, by id
        self._jobs_by_instance: _Index = {}
        # (due date, id as a number, id) of every job that may fire; an entry whose job has
        # gone, moved or died since is skipped when met (cheaper than removing it).
        self._due: list[tuple[datetime, int, str]] = []

    # definitions ---------------------------------------------------------------------------

    def add_definition(self, definition: ProcessDefinition) -> None:
        self.definitions[definition.id] = definition
        versions = self.versions.setdefault(definition.key, [])
        versions.append(definition)
        versions.sort(key=lambda d: d.version)

    def remove_definition(self, definition: ProcessDefinition) -> None:
        del self.definitions[definition.id]
        versions = self.versions[definition.key]
        versions.remove(definition)
        if not versions:
            del self.versions[definition.key]

    def latest(self, key: str) -> ProcessDefinition | None:
        versions = self.versions.get(key)
        return versions[-1] if versions else None

    def running_of_definition(self, definition_id: str) -> list[ProcessInstance]:
        return [i for i in self._by_definition.get(definition_id, {}).values() if not i.ended]

    # instances -----------------------------------------------------------------------------

    def add_instance(self, instance: ProcessInstance) -> None:
        self.instances[instance.id] = instance
        self.running[instance.id] = instance
        _add(self._by_business_key, instance.business_key, instance.id, instance)
        if instance.business_key is not None:
            _add(self._by_business_key_folded, instance.business_key.lower(), instance.id,
                 instance)
        _add(self._by_definition, instance.definition.id, instance.id, instance)
        _add(self._by_key, instance.definition.key, instance.id, instance)
        _add(self._by_start_user, instance.start_user, instance.id, instance)

    def instance_ended(self, instance: ProcessInstance) -> None:
        self.running.pop(instance.id, None)

    def instance_restored(self, instance: ProcessInstance) -> None:
        """Undo `instance_ended` (a failed command is rolled back)."""
        if not instance.ended:
            self.running[instance.id] = instance

    def remove_instance(self, instance: ProcessInstance) -> None:
        """Forget an instance whose start failed, with every task and job it made."""
        for task in self.tasks_of(instance.id):
            self.remove_task(task)
        for job in self.jobs_of(instance.id):
            self.remove_job(job)
        self.instances.pop(instance.id, None)
        self.running.pop(instance.id, None)
        _discard(self._by_business_key, instance.business_key, instance.id)
        if instance.business_key is not None:
            _discard(self._by_business_key_folded, instance.business_key.lower(), instance.id)
        _discard(self._by_definition, instance.definition.id, instance.id)
        _discard(self._by_key, instance.definition.key, instance.id)
        _discard(self._by_start_user, instance.start_user, instance.id)

    def find_instances(self, query: InstanceQuery) -> list[ProcessInstance]:
        candidates = self._instance_candidates(query)
        return [i for i in candidates if self._instance_matches(i, query)]

    def _instance_candidates(self, q: InstanceQuery) -> Iterable[ProcessInstance]:
        # Start from the narrowest index the query names; the predicates do the rest.
        if q.instance_id is not None:
            found = self.instances.get(q.instance_id)
            return [found] if found else []
        if q.business_key is not None:  # the usual filter, asked first
            return list(self._by_business_key.get(q.business_key, {}).values())
        for index, value in ((self._by_business_key_folded, q.business_key_folded),
                             (self._by_definition, q.definition_id),
                             (self._by_key, q.definition_key),
                             (self._by_start_user, q.start_user)):
            if value is not None:
                return list(index.get(value, {}).values())
        return list(self.running.values()) if q.finished is False else list(self.instances.values())

    def _instance_matches(self, i: ProcessInstance, q: InstanceQuery) -> bool:
        return (
            (q.finished is None or (i.end_time is not None) == q.finished)
            and (q.business_key is None or i.business_key == q.business_key)
            and (q.business_key_folded is None
                 or (i.business_key or "").lower() == q.business_key_folded)
            and (q.definition_id is None or i.definition.id == q.definition_id)
            and (q.definition_key is None or i.definition.key == q.definition_key)
            and (q.super_instance_id is None or i.super_instance_id == q.super_instance_id)
            and (q.start_user is None or i.start_user == q.start_user)
            and (q.involved_user is None or self._involves(i, q.involved_user))
            and (not q.variables or _variables_match(i.variables, q.variables))
        )

    def _involves(self, instance: ProcessInstance, user: str) -> bool:
        # The engine records the starter and every task's assignee, owner and candidate users.
        if instance.start_user == user:
            return True
        return any(user in (t.assignee, t.owner) or user in t.candidate_users
                   for t in self.tasks_of(instance.id))

    # tasks ---------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.active_tasks[task.id] = task
        _add(self._tasks_by_instance, task.instance_id, task.id, task)
        _add(self._active_by_assignee, task.assignee, task.id, task)

    def assignee_changed(self, task: Task, previous: str | None) -> None:
        _discard(self._active_by_assignee, previous, task.id)
        if task.active:
            _add(self._active_by_assignee, task.assignee, task.id, task)

    def task_ended(self, task: Task) -> None:
        self.active_tasks.pop(task.id, None)
        _discard(self._active_by_assignee, task.assignee, task.id)

    def remove_task(self, task: Task) -> None:
        self.tasks.pop(task.id, None)
        self.active_tasks.pop(task.id, None)
        _discard(self._tasks_by_instance, task.instance_id, task.id)
        _discard(self._active_by_assignee, task.assignee, task.id)

    def restore_task(self, task: Task, saved: Task) -> None:
        """Put a task back as it was before a failed command."""
        _discard(self._active_by_assignee, task.assignee, task.id)
        for name in saved.__dataclass_fields__:
            setattr(task, name, getattr(saved, name))
        if task.active:
            self.active_tasks[task.id] = task
            _add(self._active_by_assignee, task.assignee, task.id, task)
        else:
            self.active_tasks.pop(task.id, None)

    def tasks_of(self, instance_id: str) -> list[Task]:
        return list(self._tasks_by_instance.get(instance_id, {}).values())

    def find_tasks(self, query: TaskQuery) -> list[Task]:
        return [t for t in self._task_candidates(query) if self._task_matches(t, query)]

    def _task_candidates(self, q: TaskQuery) -> Iterable[Task]:
        if q.task_id is not None:
            found = self.tasks.get(q.task_id)
            return [found] if found else []
        if q.instance_id is not None:
            return self.tasks_of(q.instance_id)
        if q.assignee is not None and not q.history:
            return list(self._active_by_assignee.get(q.assignee, {}).values())
        return list(self.tasks.values()) if q.history else list(self.active_tasks.values())

    def _task_matches(self, t: Task, q: TaskQuery) -> bool:
        instance = self.instances[t.instance_id]
        return (
            (q.history or t.active)
            and (q.finished is None or (not t.active) == q.finished)
            and (q.process_finished is None or instance.ended == q.process_finished)
            and (q.task_id is None or t.id == q.task_id)
            and (q.instance_id is None or t.instance_id == q.instance_id)
            and (q.execution_id is None or t.execution_id == q.execution_id)
            and (q.definition_id is None or t.definition_id == q.definition_id)
            and (q.definition_key is None or instance.definition.key == q.definition_key)
            and (q.task_definition_key is None or t.key == q.task_definition_key)
            and (q.assignee is None or t.assignee == q.assignee)
            and (not q.unassigned or t.assignee is None)
            and (q.candidate_user is None or q.candidate_user in t.candidate_users
                 or any(g in t.candidate_groups for g in q.candidate_user_groups))
            and (q.candidate_groups is None
                 or any(g in t.candidate_groups for g in q.candidate_groups))
            # The engine's candidate queries on active tasks only return unclaimed tasks.
            and (q.history or (q.candidate_user is None and q.candidate_groups is None)
                 or t.assignee is None)
            and (q.name is None or t.name == q.name)
            and (q.owner is None or t.owner == q.owner)
            and (q.description is None or t.description == q.description)
            and (q.priority is None or t.priority == q.priority)
            and (q.tenant_id is None or q.tenant_id == "")
            and (q.delete_reason is None or t.delete_reason == q.delete_reason)
            and _variables_match(instance.variables, q.variables)
        )

    # jobs ----------------------------------------------------------------------------------

    def add_job(self, job: Job) -> None:
        self.jobs[job.id] = job
        _add(self._jobs_by_instance, job.instance_id, job.id, job)
        self.job_changed(job)

    def job_changed(self, job: Job) -> None:
        """A job's due date or dead-letter state changed (or it is new): file it again."""
        if not job.dead_letter:
            heapq.heappush(self._due, (job.due_date, _number(job.id), job.id))

    def remove_job(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
        _discard(self._jobs_by_instance, job.instance_id, job.id)

    def has_jobs(self, instance_id: str) -> bool:
        return instance_id in self._jobs_by_instance

    def jobs_of(self, instance_id: str) -> list[Job]:
        return list(self._jobs_by_instance.get(instance_id, {}).values())

    def jobs_by_id(self, instance_id: str) -> dict[str, Job] | None:
        """An instance's jobs by id (a copy of the index), None when it has none."""
        bucket = self._jobs_by_instance.get(instance_id)
        return dict(bucket) if bucket is not None else None

    def restore_jobs(self, instance_id: str, saved: Mapping[str, Job]) -> None:
        """Put back the jobs an instance had before a failed command (which adds and removes
        jobs, but changes none)."""
        for job in self.jobs_of(instance_id):
            if job.id not in saved:
                self.remove_job(job)
        for job in saved.values():
            if job.id not in self.jobs:
                self.add_job(job)

    def next_due(self, now: datetime) -> Job | None:
        """The job that falls due first, at or before `now` (ties: the lower id), if any."""
        due = self._due
        while due:
            when, _, job_id = due[0]
            job = self.jobs.get(job_id)
            if job is None or job.dead_letter or job.due_date != when:
                heapq.heappop(due)  # gone, dead or moved since it was filed
                continue
            return job if when <= now else None
        return None


def _number(identifier: str) -> int:
    return int(identifier) if identifier.isdigit() else -1
