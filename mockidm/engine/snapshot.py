"""Snapshots: an engine's whole state as plain JSON data, and engines rebuilt from one.

`dump_engine(engine)` gives data that `json.dumps` writes as it is; `load_engine(data)` checks
it (shape, types, references, the invariants the engine keeps) and rebuilds an engine through
the store's `add_*` methods, so every index is rebuilt. Times are ISO 8601 strings with
microseconds and a UTC offset; deployment resources are base64.

Definitions removed before the snapshot stay removed: they are not in `definitions` but in
`removed_definitions`, which holds those that historic instances still refer to (an instance
holds its definition, as the engine's history does after the deployment is gone).
"""

from __future__ import annotations

import base64
import binascii
import math
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from .expressions import ExpressionError, compile_expression
from .interpreter import WAIT_STATES, Interpreter
from .model import (
    PARALLEL_GATEWAY,
    START_EVENT,
    USER_TASK,
    Deployment,
    Flow,
    FormProperty,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
)
from .runtime import Engine

SNAPSHOT_VERSION = 1

__all__ = ["SNAPSHOT_VERSION", "SnapshotError", "dump_engine", "load_engine"]


class SnapshotError(ValueError):
    """A snapshot that cannot be taken or restored; the message names the key and the fault."""


# Where a value went wrong, gathered while the error unwinds: names, list indexes, map keys.
class _Bad(Exception):
    def __init__(self, problem: str, *where: str | int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.where: list[str | int] = list(where)

    def at(self, part: str | int) -> _Bad:
        self.where.insert(0, part)
        return self

    def error(self, action: str) -> SnapshotError:
        where = _path(self.where)
        return SnapshotError(f"{action}: {where}: {self.problem}" if where
                             else f"{action}: {self.problem}")


def _path(parts: Iterable[str | int]) -> str:
    """`instances[2].executions['7']`: names, list indexes and (already quoted) map keys."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith("["):
            text += part
        else:
            text += f".{part}" if text else part
    return text


def _key(name: str) -> str:
    return f"[{name!r}]"


_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


def _describe(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {_short.repr(value)}"


# Field kinds: (to JSON, from JSON). A loader checks the type and raises _Bad. ---------------

_Dump = Callable[[Any], Any]
_Load = Callable[[Any], Any]


def _load_str(value: Any) -> str:
    if type(value) is not str:
        raise _Bad(f"expected a string, got {_describe(value)}")
    return value


def _load_int(value: Any) -> int:
    if type(value) is not int:
        raise _Bad(f"expected an integer, got {_describe(value)}")
    return value


def _optional(load: _Load) -> _Load:
    def load_optional(value: Any) -> Any:
        return None if value is None else load(value)
    return load_optional


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _Bad(f"expected a list, got {_describe(value)}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"expected an object, got {_describe(value)}")
    return value


def _load_strings(value: Any) -> list[str]:
    items = _list(value)
    for i, item in enumerate(items):
        if type(item) is not str:
            raise _Bad(f"expected a string, got {_describe(item)}", i)
    return list(items)


def _load_string_tuple(value: Any) -> tuple[str, ...]:
    return tuple(_load_strings(value))


def _load_string_map(value: Any) -> dict[str, str]:
    for name, item in _mapping(value).items():
        if type(name) is not str:
            raise _Bad(f"a key must be a string, got {_describe(name)}")
        if type(item) is not str:
            raise _Bad(f"expected a string, got {_describe(item)}", _key(name))
    return dict(value)


def _dump_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise _Bad(f"the time {value} has no UTC offset")
    return value.isoformat(timespec="microseconds")


def _load_time(value: Any) -> datetime:
    try:
        time = datetime.fromisoformat(_load_str(value))
    except ValueError:
        raise _Bad(f"{value!r} is not an ISO 8601 date-time") from None
    if time.tzinfo is None:
        raise _Bad(f"the time {value!r} has no UTC offset")
    return time


def _optional_dump(dump: _Dump) -> _Dump:
    def dump_optional(value: Any) -> Any:
        return None if value is None else dump(value)
    return dump_optional


def _json(value: Any) -> Any:
    """A copy of JSON data (variables), so that a snapshot and an engine share nothing; data
    that would not come back unchanged from JSON (a tuple, a date, NaN, ...) is refused."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _Bad(f"{value} is not a JSON number")
        return value
    if kind is dict:
        copy = {}
        for name, item in value.items():
            if type(name) is not str:
                raise _Bad(f"a key must be a string, got {_describe(name)}")
            try:
                copy[name] = _json(item)
            except _Bad as bad:
                raise bad.at(_key(name)) from None
        return copy
    if kind is list:
        items = []
        for i, item in enumerate(value):
            try:
                items.append(_json(item))
            except _Bad as bad:
                raise bad.at(i) from None
        return items
    raise _Bad(f"{_describe(value)} is not JSON data (a string, number, boolean, null, "
               "list or object)")


def _json_object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Bad(f"expected an object, got {_describe(value)}")
    return _json(value)  # type: ignore[no-any-return]


def _dump_resources(resources: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in resources.items()}


def _load_resources(value: Any) -> dict[str, bytes]:
    resources = {}
    for name, text in _load_string_map(value).items():
        try:
            resources[name] = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise _Bad("not valid base64", _key(name)) from None
    return resources


# Records: one dataclass <-> one JSON object with exactly these keys. -------------------------

@dataclass(frozen=True)
class _Scalar:
    """A value kept as it is, once its type is checked (the common case, so the fast one)."""

    types: tuple[type, ...]
    expected: str


_Kind = _Scalar | tuple[_Dump, _Load]


@dataclass(frozen=True)
class _Field:
    key: str  # in the snapshot
    kind: _Kind
    attr: str  # on the object


def _f(key: str, kind: _Kind, attr: str | None = None) -> _Field:
    return _Field(key, kind, attr or key)


_STR = _Scalar((str,), "a string")
_OPT_STR = _Scalar((str, type(None)), "a string or null")
_INT = _Scalar((int,), "an integer")
_OPT_INT = _Scalar((int, type(None)), "an integer or null")
_BOOL = _Scalar((bool,), "true or false")
_STRINGS = (list, _load_strings)
_STRING_TUPLE = (list, _load_string_tuple)
_TIME = (_dump_time, _load_time)
_OPT_TIME = (_optional_dump(_dump_time), _optional(_load_time))


class _Record:
    """One dataclass <-> one JSON object with exactly the fields' keys."""

    def __init__(self, *fields: tuple[str, _Kind] | _Field) -> None:
        self.fields = [f if isinstance(f, _Field) else _f(*f) for f in fields]
        self.keys = frozenset(f.key for f in self.fields)
        self._get = attrgetter(*(f.attr for f in self.fields))
        self._dumps = [(f.key, None if isinstance(f.kind, _Scalar) else f.kind[0])
                       for f in self.fields]
        self._loads = [(f.key, f.attr, *((None, f.kind.types, f.kind.expected)
                                         if isinstance(f.kind, _Scalar) else (f.kind[1], (), "")))
                       for f in self.fields]

    def dump(self, obj: Any) -> dict[str, Any]:
        data = {}
        for (key, dump), value in zip(self._dumps, self._get(obj), strict=True):
            if dump is None:
                data[key] = value
                continue
            try:
                data[key] = dump(value)
            except _Bad as bad:
                raise bad.at(key) from None
        return data

    def load(self, value: Any) -> dict[str, Any]:
        """The constructor arguments (by attribute name) that a snapshot object describes."""
        data = _mapping(value)
        if data.keys() != self.keys:
            _check_keys(data, self.keys)
        kwargs = {}
        for key, attr, load, types, expected in self._loads:
            item = data[key]
            if load is None:
                if type(item) not in types:
                    raise _Bad(f"expected {expected}, got {_describe(item)}", key)
                kwargs[attr] = item
                continue
            try:
                kwargs[attr] = load(item)
            except _Bad as bad:
                raise bad.at(key) from None
        return kwargs


def _check_keys(data: Mapping[str, Any], keys: frozenset[str]) -> None:
    missing = sorted(keys - data.keys())
    if missing:
        raise _Bad(f"missing key{'s' if len(missing) > 1 else ''} "
                   + ", ".join(repr(k) for k in missing))
    unknown = sorted(map(str, data.keys() - keys))
    if unknown:
        raise _Bad(f"unknown key{'s' if len(unknown) > 1 else ''} "
                   + ", ".join(repr(k) for k in unknown))


def _dump_list(record: _Record, items: Any) -> list[dict[str, Any]]:
    dumped = []
    for i, item in enumerate(items):
        try:
            dumped.append(record.dump(item))
        except _Bad as bad:
            raise bad.at(i) from None
    return dumped


def _load_list(items: Any, load: Callable[[Any], Any]) -> list[Any]:
    loaded = []
    for i, item in enumerate(_list(items)):
        try:
            loaded.append(load(item))
        except _Bad as bad:
            raise bad.at(i) from None
    return loaded


_FORM_PROPERTY = _Record(
    ("id", _STR), ("name", _OPT_STR), ("type", _STR),
    ("values", (_optional_dump(dict), _optional(_load_string_map))),
    ("date_pattern", _OPT_STR), ("readable", _BOOL), ("writable", _BOOL), ("required", _BOOL),
    ("default", _OPT_STR), ("variable", _OPT_STR), ("expression", _OPT_STR))


def _load_form_property(value: Any) -> FormProperty:
    return FormProperty(**_FORM_PROPERTY.load(value))


_NODE = _Record(
    ("id", _STR), ("kind", _STR), ("name", _OPT_STR), ("documentation", _OPT_STR),
    ("assignee", _OPT_STR), ("candidate_users", _STRING_TUPLE),
    ("candidate_groups", _STRING_TUPLE), ("form_key", _OPT_STR),
    ("form_properties", (lambda props: _dump_list(_FORM_PROPERTY, props),
                         lambda value: tuple(_load_list(value, _load_form_property)))),
    ("priority", _INT), ("default_flow", _OPT_STR), ("event", _OPT_STR),
    ("event_name", _OPT_STR), ("line", _OPT_INT))


def _load_node(value: Any) -> Node:
    return Node(**_NODE.load(value))


_FLOW = _Record(("id", _STR), ("source", _STR), ("target", _STR), ("condition", _OPT_STR))


def _load_flow(value: Any) -> Flow:
    return Flow(**_FLOW.load(value))


def _load_nodes(value: Any) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, node in enumerate(_load_list(value, _load_node)):
        if node.id in nodes:
            raise _Bad(f"node id {node.id!r} is used twice", i, "id")
        nodes[node.id] = node
    return nodes


_MODEL = _Record(
    ("key", _STR), ("name", _OPT_STR),
    ("nodes", (lambda nodes: _dump_list(_NODE, nodes.values()), _load_nodes)),
    ("flows", (lambda flows: _dump_list(_FLOW, flows),
               lambda value: tuple(_load_list(value, _load_flow)))),
    ("documentation", _OPT_STR), ("category", _OPT_STR), ("resource_name", _OPT_STR),
    ("graphical_notation", _BOOL), ("executable", _BOOL), ("line", _OPT_INT))


def _load_model(value: Any) -> ProcessModel:
    return ProcessModel(**_MODEL.load(value))


_DEPLOYMENT = _Record(
    ("id", _STR), ("name", _OPT_STR), ("time", _TIME), ("definition_ids", _STRINGS),
    ("resources", (_dump_resources, _load_resources)))

_DEFINITION = _Record(
    ("id", _STR), ("key", _STR), ("version", _INT), ("deployment_id", _STR),
    ("model", (_MODEL.dump, _load_model)),
    ("diagram_resource_name", _OPT_STR), ("suspended", _BOOL))

_INSTANCE = _Record(
    ("id", _STR),
    # Restored as the id; load_engine puts the definition object in its place.
    _f("definition_id", (lambda definition: definition.id, _load_str), attr="definition"),
    ("business_key", _OPT_STR), ("start_user", _OPT_STR), ("start_time", _TIME),
    ("variables", (_json, _json_object)), ("start_activity", _STR),
    ("super_instance_id", _OPT_STR), ("end_time", _OPT_TIME), ("end_activity", _OPT_STR),
    ("delete_reason", _OPT_STR), ("executions", (dict, _load_string_map)))

_TASK = _Record(
    ("id", _STR), ("instance_id", _STR), ("execution_id", _STR), ("definition_id", _STR),
    # Handed over as it is: load_engine shares the definition's node or loads this one.
    ("node", (_NODE.dump, lambda value: value)), ("name", _OPT_STR), ("description", _OPT_STR),
    ("assignee", _OPT_STR), ("candidate_users", _STRINGS), ("candidate_groups", _STRINGS),
    ("create_time", _TIME), ("priority", _INT), ("owner", _OPT_STR), ("due_date", _OPT_TIME),
    ("claim_time", _OPT_TIME), ("end_time", _OPT_TIME), ("delete_reason", _OPT_STR),
    ("local_variables", (_json, _json_object)))

@dataclass(frozen=True)
class _Output:
    """One entry of `Interpreter.outputs`, whose (key, activity) tuples JSON cannot key by."""

    key: str | None
    activity: str
    variables: dict[str, Any]


_OUTPUT = _Record(("key", _OPT_STR), ("activity", _STR), ("variables", (_json, _json_object)))

_DEPLOYED_FILE = _Record(("sha256", _STR), ("definition_ids", _STRINGS))

_TOP = frozenset({"version", "next_id", "clock", "deployments", "definitions",
                  "removed_definitions", "instances", "tasks", "outputs", "deployed_files"})


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
    frozen: datetime | None = engine.clock.frozen
    try:
        return {
            "version": SNAPSHOT_VERSION,
            "next_id": engine.ids.next_value,
            "clock": None if frozen is None else _at("clock", _dump_time, frozen),
            "deployments": _at("deployments", _dump_list, _DEPLOYMENT,
                               store.deployments.values()),
            "definitions": _at("definitions", _dump_list, _DEFINITION,
                               store.definitions.values()),
            "removed_definitions": _at("removed_definitions", _dump_list, _DEFINITION,
                                       removed.values()),
            "instances": _at("instances", _dump_list, _INSTANCE, store.instances.values()),
            "tasks": _at("tasks", _dump_list, _TASK, store.tasks.values()),
            "outputs": _at("outputs", _dump_list, _OUTPUT, [
                _Output(key, activity, variables)
                for (key, activity), variables in engine.interpreter.outputs.items()]),
            "deployed_files": {name: {"sha256": digest, "definition_ids": list(ids)}
                               for name, (digest, ids) in engine._deployed_files.items()},
        }
    except _Bad as bad:
        raise bad.error("cannot snapshot the engine") from None


def _at(key: str, function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except _Bad as bad:
        raise bad.at(key) from None


# load ----------------------------------------------------------------------------------------

def load_engine(data: Mapping[str, Any], engine: Engine | None = None) -> Engine:
    """An engine in the state `data` describes: a new one, or `engine` with its whole state
    replaced (its clock, id generator, store and interpreter objects are kept, so whatever
    holds them sees the restored state). A bad snapshot raises SnapshotError and changes
    nothing."""
    try:
        built = _build(data, engine.interpreter if engine is not None else None)
    except _Bad as bad:
        raise bad.error("bad snapshot") from None
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


def _build(data: Any, interpreter: Interpreter | None) -> Engine:
    data = _mapping(data)
    if "version" not in data:
        raise _Bad("missing key 'version'")
    if type(data["version"]) is not int or data["version"] != SNAPSHOT_VERSION:
        raise _Bad(f"unsupported snapshot version {_describe(data['version'])}; "
                   f"this mockidm reads version {SNAPSHOT_VERSION}", "version")
    _check_keys(data, _TOP)

    engine = Engine()
    interpreter = interpreter or engine.interpreter
    store = engine.store
    next_id = _at("next_id", _load_int, data["next_id"])
    engine.ids.next_value = next_id
    if data["clock"] is not None:
        engine.clock.freeze(_at("clock", _load_time, data["clock"]))
    deployments: dict[str, Deployment] = {}
    for i, item in enumerate(_at("deployments", _load_list, data["deployments"],
                                 lambda v: Deployment(**_DEPLOYMENT.load(v)))):
        if item.id in deployments:
            raise _Bad(f"deployment id {item.id!r} is used twice", "deployments", i, "id")
        if len(set(item.definition_ids)) != len(item.definition_ids):
            raise _Bad("a definition id is listed twice", "deployments", i, "definition_ids")
        deployments[item.id] = item

    definitions: dict[str, ProcessDefinition] = {}  # live and removed
    sections = {}
    # (definition id, node id) -> (the node's data, the node): a task's node, which is one of
    # its definition's nodes, is then shared, as it is when the engine runs, without a reload.
    nodes: dict[tuple[str, str], tuple[Any, Node]] = {}
    for section in ("definitions", "removed_definitions"):
        loaded = _at(section, _load_list, data[section],
                     lambda v: ProcessDefinition(**_DEFINITION.load(v)))
        for i, definition in enumerate(loaded):
            where = (section, i)
            if definition.id in definitions:
                raise _Bad(f"definition id {definition.id!r} is used twice", *where, "id")
            _check_definition(definition, interpreter, where)
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
            raise _Bad(f"unknown deployment {definition.deployment_id!r}", *where,
                       "deployment_id")
        if definition.id not in deployment.definition_ids:
            raise _Bad(f"deployment {deployment.id!r} does not list this definition", *where,
                       "deployment_id")
        if (definition.key, definition.version) in latest:
            raise _Bad(f"a second deployed version {definition.version} of "
                       f"{definition.key!r}", *where, "version")
        latest.add((definition.key, definition.version))
        live[definition.id] = definition
    for deployment_id, deployment in deployments.items():
        for j, definition_id in enumerate(deployment.definition_ids):
            found = live.get(definition_id)
            if found is None or found.deployment_id != deployment_id:
                raise _Bad(f"{definition_id!r} is not a deployed definition of this deployment",
                           "deployments", list(deployments).index(deployment_id),
                           "definition_ids", j)

    instances: dict[str, ProcessInstance] = {}
    waiting: dict[str, tuple[ProcessInstance, str]] = {}  # execution id -> (instance, activity)
    referenced: set[str] = set()
    for i, kwargs in enumerate(_at("instances", _load_list, data["instances"], _INSTANCE.load)):
        where = ("instances", i)
        definition = definitions.get(kwargs["definition"])
        if definition is None:
            raise _Bad(f"unknown process definition {kwargs['definition']!r}", *where,
                       "definition_id")
        kwargs["definition"] = definition
        instance = ProcessInstance(**kwargs)
        if instance.id in instances:
            raise _Bad(f"instance id {instance.id!r} is used twice", *where, "id")
        _check_instance(instance, definition.id in live, where)
        for execution, activity in instance.executions.items():
            if execution in waiting:
                raise _Bad(f"execution {execution!r} also belongs to instance "
                           f"{waiting[execution][0].id!r}", *where, "executions")
            waiting[execution] = (instance, activity)
        instances[instance.id] = instance
        referenced.add(definition.id)
    for i, definition in enumerate(sections["removed_definitions"]):
        if definition.id not in referenced:
            raise _Bad(f"{definition.id!r} is referred to by no instance (a removed definition "
                       "is kept only for the history of its instances)",
                       "removed_definitions", i, "id")

    tasks: dict[str, Task] = {}
    tasked: set[str] = set()  # executions with an active task
    for i, kwargs in enumerate(_at("tasks", _load_list, data["tasks"], _TASK.load)):
        where = ("tasks", i)
        raw = kwargs["node"]
        node_id = raw.get("id") if isinstance(raw, Mapping) else None
        known = nodes.get((kwargs["definition_id"], node_id)) if type(node_id) is str else None
        if known is not None and known[0] == raw:
            kwargs["node"] = known[1]
        else:
            try:
                kwargs["node"] = _load_node(raw)
            except _Bad as bad:
                raise bad.at("node").at(i).at("tasks") from None
        task = Task(**kwargs)
        if task.id in tasks:
            raise _Bad(f"task id {task.id!r} is used twice", *where, "id")
        instance = instances.get(task.instance_id)
        if instance is None:
            raise _Bad(f"unknown instance {task.instance_id!r}", *where, "instance_id")
        if task.definition_id != instance.definition.id:
            raise _Bad(f"{task.definition_id!r} is not the definition of instance "
                       f"{instance.id!r} ({instance.definition.id!r})", *where, "definition_id")
        if task.node.kind != USER_TASK:
            raise _Bad(f"a task's node is a {USER_TASK}, not a {task.node.kind}", *where,
                       "node", "kind")
        if task.active:
            if instance.ended:
                raise _Bad(f"an active task of instance {instance.id!r}, which has ended",
                           *where, "end_time")
            if instance.executions.get(task.execution_id) != task.node.id:
                raise _Bad(f"execution {task.execution_id!r} does not wait in "
                           f"{task.node.id!r}: an active task needs its token", *where,
                           "execution_id")
            if task.execution_id in tasked:
                raise _Bad(f"a second active task for execution {task.execution_id!r}", *where,
                           "execution_id")
            tasked.add(task.execution_id)
        tasks[task.id] = task
    for execution, (instance, activity) in waiting.items():
        node = instance.definition.model.nodes[activity]
        if node.kind == USER_TASK and execution not in tasked:
            raise _Bad(f"execution {execution!r} waits in user task {activity!r} but has no "
                       "active task", "instances", list(instances).index(instance.id),
                       "executions", _key(execution))

    outputs: dict[tuple[str | None, str], dict[str, Any]] = {}
    for i, kwargs in enumerate(_at("outputs", _load_list, data["outputs"], _OUTPUT.load)):
        slot = (kwargs["key"], kwargs["activity"])
        if slot in outputs:
            raise _Bad(f"a second entry for activity {slot[1]!r} of key {slot[0]!r}",
                       "outputs", i)
        outputs[slot] = kwargs["variables"]

    deployed_files: dict[str, tuple[str, list[str]]] = {}
    for name, value in _at("deployed_files", _mapping, data["deployed_files"]).items():
        if type(name) is not str:
            raise _Bad(f"a file name must be a string, got {_describe(name)}", "deployed_files")
        where = ("deployed_files", _key(name))
        try:
            entry = _DEPLOYED_FILE.load(value)
        except _Bad as bad:
            raise bad.at(where[1]).at(where[0]) from None
        deployed_files[name] = (entry["sha256"], entry["definition_ids"])

    for what, identifiers in (
            ("deployment", deployments), ("definition", definitions),
            ("instance", instances), ("execution", waiting), ("task", tasks),
            ("task execution", (task.execution_id for task in tasks.values())),
            ("deployed file definition",
             (d for _, ids in deployed_files.values() for d in ids))):
        for identifier in identifiers:
            n = identifier.rpartition(":")[2]  # a definition id is key:version:n
            if n.isascii() and n.isdigit() and int(n) >= next_id:
                raise _Bad(f"{next_id} is not above {what} id {identifier!r}: new ids would "
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
    engine.interpreter.outputs = outputs
    engine._deployed_files = deployed_files
    return engine


def _check_definition(definition: ProcessDefinition, interpreter: Interpreter,
                      where: tuple[str | int, ...]) -> None:
    """What deploying checked: one start event, flows between known nodes, supported kinds,
    conditions that compile."""
    model = definition.model
    if definition.key != model.key:
        raise _Bad(f"the model's key is {model.key!r}", *where, "key")
    if definition.version < 1:
        raise _Bad("a version counts from 1", *where, "version")
    starts = [node.id for node in model.nodes.values() if node.kind == START_EVENT]
    if len(starts) != 1:
        raise _Bad(f"a process has exactly one {START_EVENT}, this one {len(starts)}", *where,
                   "model", "nodes")
    for i, node in enumerate(model.nodes.values()):
        if node.kind not in interpreter.kinds:
            raise _Bad(f"unsupported node kind {node.kind!r}", *where, "model", "nodes", i,
                       "kind")
    for i, flow in enumerate(model.flows):
        for end in ("source", "target"):
            if getattr(flow, end) not in model.nodes:
                raise _Bad(f"unknown node {getattr(flow, end)!r}", *where, "model", "flows", i,
                           end)
        if flow.condition is not None:
            try:
                compile_expression(flow.condition)  # cached: cheap for a known condition
            except ExpressionError as exc:
                raise _Bad(str(exc), *where, "model", "flows", i, "condition") from None
    try:
        interpreter.check(model)
    except ExpressionError as exc:
        raise _Bad(str(exc), *where, "model", "flows") from None


def _check_instance(instance: ProcessInstance, deployed: bool,
                    where: tuple[str | int, ...]) -> None:
    nodes = instance.definition.model.nodes
    if instance.start_activity not in nodes:
        raise _Bad(f"no node {instance.start_activity!r} in its definition", *where,
                   "start_activity")
    if instance.end_activity is not None and instance.end_activity not in nodes:
        raise _Bad(f"no node {instance.end_activity!r} in its definition", *where,
                   "end_activity")
    if instance.ended:
        if instance.executions:
            raise _Bad("an ended instance has no waiting executions", *where, "executions")
        return
    if not deployed:
        raise _Bad(f"a running instance of definition {instance.definition.id!r}, which is "
                   "not deployed", *where, "definition_id")
    if not instance.executions:
        raise _Bad("a running instance needs at least one waiting execution", *where,
                   "executions")
    for execution, activity in instance.executions.items():
        node = nodes.get(activity)
        if node is None:
            raise _Bad(f"no node {activity!r} in its definition", *where, "executions",
                       _key(execution))
        if node.kind not in WAIT_STATES and node.kind != PARALLEL_GATEWAY:
            raise _Bad(f"a token cannot wait in a {node.kind} ({activity!r})", *where,
                       "executions", _key(execution))
