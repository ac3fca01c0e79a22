"""Snapshots: an engine's whole state as plain JSON data, and engines rebuilt from one.

`dump_engine(engine)` gives data that `json.dumps` writes as it is; `load_engine(data)` checks
it (shape, types, references, the invariants the engine keeps) and rebuilds an engine through
the store's `add_*` methods, so every index is rebuilt. Times are ISO 8601 strings with
microseconds and a UTC offset; deployment resources are base64.

The format is derived from the engine's dataclasses (`engine/model.py`) by `codec.py`: every
field is written under its own name, as its type says, except the few `_OVERRIDES` below. The
JSON Schema that `snapshot_schema()` derives the same way is `contracts/engine-snapshot.json`
(a test keeps the two equal); run this module to print it.

Definitions removed before the snapshot stay removed: they are not in `definitions` but in
`removed_definitions`, which holds those that historic instances still refer to (an instance
holds its definition, as the engine's history does after the deployment is gone).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from .codec import (
    ADDED,
    Bad,
    Codec,
    Kind,
    Override,
    at,
    check_keys,
    describe,
    dump_list,
    key,
    load_int,
    load_list,
    load_mapping,
    load_str,
    load_time,
)
from .interpreter import WAIT_STATES
from .jobs import Job
from .model import (
    PARALLEL_GATEWAY,
    TIMER,
    USER_TASK,
    Deployment,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
)
from .runtime import Engine
from .validation import Code, InvalidModel, Problem, check_model

SNAPSHOT_VERSION = 1

__all__ = ["SNAPSHOT_VERSION", "SnapshotError", "dump_engine", "load_engine", "snapshot_schema"]


class SnapshotError(ValueError):
    """A snapshot that cannot be taken or restored; the message names the key and the fault."""


# The format: the engine's dataclasses as the codec derives them, under this top level. -------


@dataclass(frozen=True)
class _Output:
    """A script or service task's variables (`Interpreter.outputs`): for the activity of the
    process with this key, or of any process when the key is null."""

    key: str | None
    activity: str
    variables: dict[str, Any]


@dataclass(frozen=True)
class _DeployedFile:
    """A file deployed as it is found in IDM's workflow directory: its SHA-256 and the
    definitions it gave, so that the same file unchanged is not deployed again."""

    sha256: str
    definition_ids: list[str]


@dataclass(frozen=True)
class _Snapshot:
    """A mockidm engine's whole state: deployments, definitions, instances, tasks and their
    history, script outputs, the id counter and the clock (null: it runs)."""

    version: int
    next_id: int
    clock: datetime | None
    deployments: list[Deployment]
    definitions: list[ProcessDefinition]
    removed_definitions: list[ProcessDefinition]
    instances: list[ProcessInstance]
    tasks: list[Task]
    outputs: list[_Output]
    deployed_files: dict[str, _DeployedFile]
    # Timer and dead-letter jobs (added after format 1: absent when there is none).
    jobs: list[Job] = field(default_factory=list, metadata=ADDED)


def _load_nodes(value: Any) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, node in enumerate(load_list(value, _CODEC.record(Node).build)):
        if node.id in nodes:
            raise Bad(f"node id {node.id!r} is used twice", i, "id")
        nodes[node.id] = node
    return nodes


def _nodes_as_list(codec: Codec) -> tuple[str, Kind]:
    """A model's nodes, a map by id, as a list (ids are unique)."""
    node = codec.record(Node)
    return "nodes", Kind({"type": "array", "items": node.kind.schema},
                         lambda nodes: dump_list(node.dump, nodes.values()), _load_nodes,
                         records=(node,))


def _raw_node(codec: Codec) -> tuple[str, Kind]:
    """A task's node, handed over as it is: _build shares its definition's node, or loads it."""
    node = codec.record(Node).kind
    return "node", Kind(node.schema, node.dump, lambda value: value, records=node.records)


_OVERRIDES: dict[tuple[type, str], Override] = {
    (ProcessModel, "nodes"): _nodes_as_list,
    # An instance refers to its definition by id; _build puts the definition in its place.
    (ProcessInstance, "definition"): ("definition_id", Kind(
        {"type": "string", "description": "The id of a definition, live or removed."},
        attrgetter("id"), load_str)),
    (Task, "node"): _raw_node,
    (_Snapshot, "version"): ("version", Kind({"const": SNAPSHOT_VERSION})),
}
_CODEC = Codec(_OVERRIDES)
_RECORD = _CODEC.record(_Snapshot)
_LOADS = {f.key: f.kind.load for f in _RECORD.fields}


def _section(data: Mapping[str, Any], name: str) -> Any:
    """The objects that a top-level key of the snapshot describes."""
    load = _LOADS[name]
    assert load is not None
    return at(name, load, data[name])


def snapshot_schema() -> dict[str, Any]:
    """The JSON Schema of a snapshot, as `contracts/engine-snapshot.json` holds it."""
    return _CODEC.schema(_Snapshot, title="mockidm engine snapshot")


# dump ----------------------------------------------------------------------------------------

def dump_engine(engine: Engine) -> dict[str, Any]:
    """The engine's whole state as JSON data; shares no mutable object with the engine.

    Raises SnapshotError when a variable holds something JSON cannot carry unchanged."""
    store = engine.store
    removed: dict[str, ProcessDefinition] = {}
    for instance in store.instances.values():
        definition = instance.definition
        if store.definitions.get(definition.id) is not definition:
            removed.setdefault(definition.id, definition)
    snapshot = _Snapshot(
        version=SNAPSHOT_VERSION, next_id=engine.ids.next_value, clock=engine.clock.frozen,
        deployments=list(store.deployments.values()),
        definitions=list(store.definitions.values()),
        removed_definitions=list(removed.values()),
        instances=list(store.instances.values()), tasks=list(store.tasks.values()),
        outputs=[_Output(key, activity, variables)
                 for (key, activity), variables in engine.interpreter.outputs.items()],
        deployed_files={name: _DeployedFile(digest, ids)
                        for name, (digest, ids) in engine._deployed_files.items()},
        jobs=list(store.jobs.values()))
    try:
        return _RECORD.dump(snapshot)
    except Bad as bad:
        raise SnapshotError(bad.message("cannot snapshot the engine")) from None


# load ----------------------------------------------------------------------------------------

def load_engine(data: Mapping[str, Any], engine: Engine | None = None) -> Engine:
    """An engine in the state `data` describes: a new one, or `engine` with its whole state
    replaced (its clock, id generator, store and interpreter objects are kept, so whatever
    holds them sees the restored state). A bad snapshot raises SnapshotError and changes
    nothing."""
    try:
        built = _build(data)
    except Bad as bad:
        raise SnapshotError(bad.message("bad snapshot")) from None
    if engine is None:
        return built
    # Nothing below can fail: the target changes all at once or not at all.
    frozen = built.clock.frozen
    if frozen is None:
        engine.clock.unfreeze()
    else:
        engine.clock.freeze(frozen)
    engine.ids.next_value = built.ids.next_value
    vars(engine.store).update(vars(built.store))
    engine.interpreter.outputs = built.interpreter.outputs
    engine._deployed_files = built._deployed_files
    return engine


def _build(data: Any) -> Engine:
    data = load_mapping(data)
    if "version" not in data:
        raise Bad("missing key 'version'")
    if type(data["version"]) is not int or data["version"] != SNAPSHOT_VERSION:
        raise Bad(f"unsupported snapshot version {describe(data['version'])}; "
                  f"this mockidm reads version {SNAPSHOT_VERSION}", "version")
    check_keys(data, _RECORD.keys, _RECORD.all_keys)

    engine = Engine()
    store = engine.store
    next_id = at("next_id", load_int, data["next_id"])
    engine.ids.next_value = next_id
    if data["clock"] is not None:
        engine.clock.freeze(at("clock", load_time, data["clock"]))
    deployments: dict[str, Deployment] = {}
    for i, item in enumerate(_section(data, "deployments")):
        if item.id in deployments:
            raise Bad(f"deployment id {item.id!r} is used twice", "deployments", i, "id")
        if len(set(item.definition_ids)) != len(item.definition_ids):
            raise Bad("a definition id is listed twice", "deployments", i, "definition_ids")
        deployments[item.id] = item

    definitions: dict[str, ProcessDefinition] = {}  # live and removed
    sections = {}
    # (definition id, node id) -> (the node's data, the node): a task's node, which is one of
    # its definition's nodes, is then shared, as it is when the engine runs, without a reload.
    nodes: dict[tuple[str, str], tuple[Any, Node]] = {}
    for section in ("definitions", "removed_definitions"):
        loaded = _section(data, section)
        for i, definition in enumerate(loaded):
            where = (section, i)
            if definition.id in definitions:
                raise Bad(f"definition id {definition.id!r} is used twice", *where, "id")
            _check_definition(definition, where)
            definitions[definition.id] = definition
            for raw, node in zip(data[section][i]["model"]["nodes"],
                                 definition.model.nodes.values(), strict=True):
                nodes[definition.id, node.id] = (raw, node)
        sections[section] = loaded

    live: dict[str, ProcessDefinition] = {}
    latest: set[tuple[str, int]] = set()
    for i, definition in enumerate(sections["definitions"]):
        where = ("definitions", i)
        deployment = deployments.get(definition.deployment_id)
        if deployment is None:
            raise Bad(f"unknown deployment {definition.deployment_id!r}", *where,
                      "deployment_id")
        if definition.id not in deployment.definition_ids:
            raise Bad(f"deployment {deployment.id!r} does not list this definition", *where,
                      "deployment_id")
        if (definition.key, definition.version) in latest:
            raise Bad(f"a second deployed version {definition.version} of "
                      f"{definition.key!r}", *where, "version")
        latest.add((definition.key, definition.version))
        live[definition.id] = definition
    for deployment_id, deployment in deployments.items():
        for j, definition_id in enumerate(deployment.definition_ids):
            found = live.get(definition_id)
            if found is None or found.deployment_id != deployment_id:
                raise Bad(f"{definition_id!r} is not a deployed definition of this deployment",
                          "deployments", list(deployments).index(deployment_id),
                          "definition_ids", j)

    instances: dict[str, ProcessInstance] = {}
    waiting: dict[str, tuple[ProcessInstance, str]] = {}  # execution id -> (instance, activity)
    referenced: set[str] = set()
    for i, kwargs in enumerate(at("instances", load_list, data["instances"],
                                  _CODEC.record(ProcessInstance).load)):
        where = ("instances", i)
        definition = definitions.get(kwargs["definition"])
        if definition is None:
            raise Bad(f"unknown process definition {kwargs['definition']!r}", *where,
                      "definition_id")
        kwargs["definition"] = definition
        instance = ProcessInstance(**kwargs)
        if instance.id in instances:
            raise Bad(f"instance id {instance.id!r} is used twice", *where, "id")
        _check_instance(instance, definition.id in live, where)
        for execution, activity in instance.executions.items():
            if execution in waiting:
                raise Bad(f"execution {execution!r} also belongs to instance "
                          f"{waiting[execution][0].id!r}", *where, "executions")
            waiting[execution] = (instance, activity)
        instances[instance.id] = instance
        referenced.add(definition.id)
    for i, definition in enumerate(sections["removed_definitions"]):
        if definition.id not in referenced:
            raise Bad(f"{definition.id!r} is referred to by no instance (a removed definition "
                      "is kept only for the history of its instances)",
                       "removed_definitions", i, "id")

    tasks: dict[str, Task] = {}
    tasked: set[str] = set()  # executions with an active task
    for i, kwargs in enumerate(at("tasks", load_list, data["tasks"], _CODEC.record(Task).load)):
        where = ("tasks", i)
        raw = kwargs["node"]
        node_id = raw.get("id") if isinstance(raw, Mapping) else None
        known = nodes.get((kwargs["definition_id"], node_id)) if type(node_id) is str else None
        if known is not None and known[0] == raw:
            kwargs["node"] = known[1]
        else:
            try:
                kwargs["node"] = _CODEC.record(Node).build(raw)
            except Bad as bad:
                raise bad.at("node").at(i).at("tasks") from None
        task = Task(**kwargs)
        if task.id in tasks:
            raise Bad(f"task id {task.id!r} is used twice", *where, "id")
        owner = instances.get(task.instance_id)
        if owner is None:
            raise Bad(f"unknown instance {task.instance_id!r}", *where, "instance_id")
        instance = owner
        if task.definition_id != instance.definition.id:
            raise Bad(f"{task.definition_id!r} is not the definition of instance "
                      f"{instance.id!r} ({instance.definition.id!r})", *where, "definition_id")
        if task.node.kind != USER_TASK:
            raise Bad(f"a task's node is a {USER_TASK}, not a {task.node.kind}", *where,
                      "node", "kind")
        if task.active:
            if instance.ended:
                raise Bad(f"an active task of instance {instance.id!r}, which has ended",
                          *where, "end_time")
            if instance.executions.get(task.execution_id) != task.node.id:
                raise Bad(f"execution {task.execution_id!r} does not wait in "
                          f"{task.node.id!r}: an active task needs its token", *where,
                          "execution_id")
            if task.execution_id in tasked:
                raise Bad(f"a second active task for execution {task.execution_id!r}", *where,
                          "execution_id")
            tasked.add(task.execution_id)
        tasks[task.id] = task
    for execution, (instance, activity) in waiting.items():
        node = instance.definition.model.nodes[activity]
        # The execution that arrived in a multi-instance task waits there while the task's
        # instances (each with its own task) run.
        if (node.kind == USER_TASK and execution not in tasked
                and execution not in instance.loop_parents.values()):
            raise Bad(f"execution {execution!r} waits in user task {activity!r} but has no "
                      "active task", "instances", list(instances).index(instance.id),
                      "executions", key(execution))

    outputs: dict[tuple[str | None, str], dict[str, Any]] = {}
    for i, output in enumerate(_section(data, "outputs")):
        slot = (output.key, output.activity)
        if slot in outputs:
            raise Bad(f"a second entry for activity {slot[1]!r} of key {slot[0]!r}",
                      "outputs", i)
        outputs[slot] = output.variables

    for name in at("deployed_files", load_mapping, data["deployed_files"]):
        if type(name) is not str:
            raise Bad(f"a file name must be a string, got {describe(name)}", "deployed_files")
    deployed_files = {name: (file.sha256, file.definition_ids)
                      for name, file in _section(data, "deployed_files").items()}

    jobs: dict[str, Job] = {}
    loaded_jobs = _section(data, "jobs") if "jobs" in data else []
    for i, job in enumerate(loaded_jobs):
        _check_job(job, jobs, instances, live, ("jobs", i))
        jobs[job.id] = job

    for what, identifiers in (
            ("deployment", deployments), ("job", jobs), ("definition", definitions),
            ("instance", instances), ("execution", waiting), ("task", tasks),
            ("task execution", (task.execution_id for task in tasks.values())),
            ("deployed file definition",
             (d for _, ids in deployed_files.values() for d in ids))):
        for identifier in identifiers:
            n = identifier.rpartition(":")[2]  # a definition id is key:version:n
            if n.isascii() and n.isdigit() and int(n) >= next_id:
                raise Bad(f"{next_id} is not above {what} id {identifier!r}: new ids would "
                          "collide with ids in use", "next_id")

    # Everything checks out: fill the store through its own methods, so every index is built.
    store.deployments.update(deployments)
    for definition in sections["definitions"]:
        store.add_definition(definition)
    for instance in instances.values():
        store.add_instance(instance)
        if instance.ended:
            store.instance_ended(instance)
    for task in tasks.values():
        store.add_task(task)
        if not task.active:
            store.task_ended(task)
    for job in jobs.values():
        store.add_job(job)
    engine.interpreter.outputs = outputs
    engine._deployed_files = deployed_files
    return engine


def _check_job(job: Job, jobs: Mapping[str, Job], instances: Mapping[str, ProcessInstance],
               live: Mapping[str, ProcessDefinition], where: tuple[str | int, ...]) -> None:
    """A job belongs to a running instance's waiting token (or, with no instance, to a
    deployed definition's timer start event), at a timer event of its definition."""
    if job.id in jobs:
        raise Bad(f"job id {job.id!r} is used twice", *where, "id")
    if job.retries < 0:
        raise Bad("retries cannot be negative", *where, "retries")
    if job.instance_id is None:
        definition = live.get(job.definition_id)
        if definition is None:
            raise Bad(f"{job.definition_id!r} is not a deployed definition", *where,
                      "definition_id")
        if job.activity != definition.model.start.id or job.execution_id is not None:
            raise Bad("a job without an instance is its definition's timer start event's",
                      *where, "activity")
    else:
        instance = instances.get(job.instance_id)
        if instance is None or instance.ended:
            raise Bad(f"{job.instance_id!r} is not a running instance", *where, "instance_id")
        if job.definition_id != instance.definition.id:
            raise Bad(f"{job.definition_id!r} is not the definition of instance "
                      f"{instance.id!r}", *where, "definition_id")
        if job.execution_id not in instance.executions:
            raise Bad(f"execution {job.execution_id!r} of instance {instance.id!r} is not "
                      "waiting", *where, "execution_id")
        definition = instance.definition
    node = definition.model.nodes.get(job.activity)
    if node is None or node.event != TIMER:
        raise Bad(f"{job.activity!r} is not a timer event of its definition", *where,
                  "activity")


def _check_definition(definition: ProcessDefinition, where: tuple[str | int, ...]) -> None:
    """What deploying checked (`check_model`, the one check of a model), said where it is in
    the snapshot."""
    model = definition.model
    if definition.key != model.key:
        raise Bad(f"the model's key is {model.key!r}", *where, "key")
    if definition.version < 1:
        raise Bad("a version counts from 1", *where, "version")
    try:
        check_model(model)
    except InvalidModel as exc:
        raise Bad(exc.problem.detail, *where, "model", *_place(model, exc.problem)) from None


def _place(model: ProcessModel, problem: Problem) -> tuple[str | int, ...]:
    """Where a model's problem is in its snapshot: the node or flow at fault, and its field."""
    if problem.code is Code.START_EVENTS or problem.element is None:
        return ("nodes",)
    if problem.element in model.nodes:
        place: tuple[str | int, ...] = ("nodes", list(model.nodes).index(problem.element))
    else:
        place = ("flows", next(i for i, flow in enumerate(model.flows)
                               if flow.id == problem.element))
    return place if problem.field is None else (*place, problem.field)


def _check_instance(instance: ProcessInstance, deployed: bool,
                    where: tuple[str | int, ...]) -> None:
    nodes = instance.definition.model.nodes
    if instance.start_activity not in nodes:
        raise Bad(f"no node {instance.start_activity!r} in its definition", *where,
                  "start_activity")
    if instance.end_activity is not None and instance.end_activity not in nodes:
        raise Bad(f"no node {instance.end_activity!r} in its definition", *where,
                  "end_activity")
    if instance.ended:
        if instance.executions:
            raise Bad("an ended instance has no waiting executions", *where, "executions")
        return
    if not deployed:
        raise Bad(f"a running instance of definition {instance.definition.id!r}, which is "
                  "not deployed", *where, "definition_id")
    if not instance.executions:
        raise Bad("a running instance needs at least one waiting execution", *where,
                  "executions")
    for execution, activity in instance.executions.items():
        node = nodes.get(activity)
        if node is None:
            raise Bad(f"no node {activity!r} in its definition", *where, "executions",
                      key(execution))
        if node.kind not in WAIT_STATES and node.kind != PARALLEL_GATEWAY:
            raise Bad(f"a token cannot wait in a {node.kind} ({activity!r})", *where,
                      "executions", key(execution))


if __name__ == "__main__":  # python -m mockidm.engine.snapshot > contracts/engine-snapshot.json
    print(json.dumps(snapshot_schema(), indent=2))
