"""JSON data <-> dataclasses, derived from their fields.

A field's type hint says how its value is written, how it is read back (checked, with an error
that names the key and the fault) and how JSON Schema describes it. A new field of a type the
codec knows needs nothing more; a new type needs one entry in `KINDS`; a field written other
than as its type says is an override given to the `Codec`. A field added to a dataclass after
its format was fixed carries `metadata=ADDED`: it is written only when it differs from its
default, and a missing key reads as the default, so data written before it still loads and
what holds only old fields is written as before.

Written with the standard library's `dataclasses.fields` and `typing.get_type_hints` rather
than cattrs, msgspec or pydantic, measured on the 20,000 tasks of an engine of 10,000 instances
(CPU time; benchmarks/bench_snapshot.py has the whole engine): reading, this module 110 ms,
cattrs 350 ms, pydantic 380 ms, msgspec 80 ms into its own structs and 310 ms into the engine's
dataclasses (it cannot share a task's node with its definition's); writing, this module 420 ms,
cattrs 350 ms, pydantic 390 ms, msgspec 100 ms. cattrs, with hooks for times, tuples and
strict types, writes today's format but reads three times slower; msgspec and pydantic do not
write the format that snapshots and `--state` files already have (their times end in `Z`,
msgspec drops zero microseconds and keeps tuples), and all three would need a layer of error
mapping to speak in the snapshot's "where: problem" errors, and a new dependency.
"""

from __future__ import annotations

import base64
import binascii
import math
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from types import NoneType, UnionType
from typing import Any, TypeGuard, Union, get_args, get_origin, get_type_hints

# Errors: where a value went wrong, gathered while the error unwinds. ---------------------------


class Bad(Exception):
    """A value that cannot be written or read; `where` holds names, list indexes, map keys."""

    def __init__(self, problem: str, *where: str | int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.where: list[str | int] = list(where)

    def at(self, part: str | int) -> Bad:
        self.where.insert(0, part)
        return self

    def message(self, action: str) -> str:
        where = path(self.where)
        return f"{action}: {where}: {self.problem}" if where else f"{action}: {self.problem}"


def path(parts: Iterable[str | int]) -> str:
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


def key(name: str) -> str:
    return f"[{name!r}]"


_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


def describe(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {_short.repr(value)}"


def at(where: str | int, function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`, its error placed under `where`."""
    try:
        return function(*args)
    except Bad as bad:
        raise bad.at(where) from None


# Kinds: how values of one type are written, read and described. ------------------------------


@dataclass(frozen=True)
class Kind:
    """How values of one type are written, read back and described in JSON Schema."""

    schema: dict[str, Any]
    dump: Callable[[Any], Any] | None = None  # None: written as it is
    load: Callable[[Any], Any] | None = None  # None: read as it is, once its type is in `types`
    types: tuple[type, ...] = ()
    expected: str = ""
    records: tuple[Record, ...] = ()  # the records its values hold (the schema's $defs)


def _scalar(python: type, expected: str, json_type: str) -> Kind:
    return Kind({"type": json_type}, types=(python,), expected=expected)


def optional(kind: Kind) -> Kind:
    """The kind or null."""
    schema = ({**kind.schema, "type": [kind.schema["type"], "null"]} if "type" in kind.schema
              else {"anyOf": [kind.schema, {"type": "null"}]})
    if kind.load is None:
        return Kind(schema, types=(*kind.types, NoneType), expected=f"{kind.expected} or null")
    dump, load = kind.dump, kind.load
    return Kind(schema, None if dump is None else lambda v: None if v is None else dump(v),
                lambda v: None if v is None else load(v), records=kind.records)


def load_list(value: Any, load: Callable[[Any], Any]) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise Bad(f"expected a list, got {describe(value)}")
    loaded = []
    for i, item in enumerate(value):
        try:
            loaded.append(load(item))
        except Bad as bad:
            raise bad.at(i) from None
    return loaded


def dump_list(dump: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    dumped = []
    for i, item in enumerate(items):
        try:
            dumped.append(dump(item))
        except Bad as bad:
            raise bad.at(i) from None
    return dumped


def load_mapping(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):  # a dict: no ABC check
        raise Bad(f"expected an object, got {describe(value)}")
    return value


def load_str(value: Any) -> str:
    if type(value) is not str:
        raise Bad(f"expected a string, got {describe(value)}")
    return value


def load_int(value: Any) -> int:
    if type(value) is not int:
        raise Bad(f"expected an integer, got {describe(value)}")
    return value


def _load_strings(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise Bad(f"expected a list, got {describe(value)}")
    for i, item in enumerate(value):
        if type(item) is not str:
            raise Bad(f"expected a string, got {describe(item)}", i)
    return list(value)


def _load_string_map(value: Any) -> dict[str, str]:
    for name, item in load_mapping(value).items():
        if type(name) is not str:
            raise Bad(f"a key must be a string, got {describe(name)}")
        if type(item) is not str:
            raise Bad(f"expected a string, got {describe(item)}", key(name))
    return dict(value)


def dump_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise Bad(f"the time {value} has no UTC offset")
    return value.isoformat(timespec="microseconds")


def load_time(value: Any) -> datetime:
    try:
        time = datetime.fromisoformat(load_str(value))
    except ValueError:
        raise Bad(f"{value!r} is not an ISO 8601 date-time") from None
    if time.tzinfo is None:
        raise Bad(f"the time {value!r} has no UTC offset")
    return time


def _json(value: Any) -> Any:
    """A copy of JSON data (variables), so that the data and the objects share nothing; data
    that would not come back unchanged from JSON (a tuple, a date, NaN, ...) is refused."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise Bad(f"{value} is not a JSON number")
        return value
    if kind is dict:
        copy = {}
        for name, item in value.items():
            if type(name) is not str:
                raise Bad(f"a key must be a string, got {describe(name)}")
            try:
                copy[name] = _json(item)
            except Bad as bad:
                raise bad.at(key(name)) from None
        return copy
    if kind is list:
        items = []
        for i, item in enumerate(value):
            try:
                items.append(_json(item))
            except Bad as bad:
                raise bad.at(i) from None
        return items
    raise Bad(f"{describe(value)} is not JSON data (a string, number, boolean, null, list or "
              "object)")


def _json_object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise Bad(f"expected an object, got {describe(value)}")
    return _json(value)


def _dump_bytes_map(resources: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in resources.items()}


def _load_bytes_map(value: Any) -> dict[str, bytes]:
    loaded = {}
    for name, text in _load_string_map(value).items():
        try:
            loaded[name] = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise Bad("not valid base64", key(name)) from None
    return loaded


_STRINGS_SCHEMA = {"type": "array", "items": {"type": "string"}}

# The types the codec knows by themselves; dataclasses, lists and maps of them, and `X | None`
# are derived from these.
KINDS: dict[Any, Kind] = {
    str: _scalar(str, "a string", "string"),
    int: _scalar(int, "an integer", "integer"),
    bool: _scalar(bool, "true or false", "boolean"),
    datetime: Kind({"type": "string", "format": "date-time"}, dump_time, load_time),
    list[str]: Kind(_STRINGS_SCHEMA, list, _load_strings),
    tuple[str, ...]: Kind(_STRINGS_SCHEMA, list, lambda v: tuple(_load_strings(v))),
    dict[str, str]: Kind({"type": "object", "additionalProperties": {"type": "string"}}, dict,
                         _load_string_map),
    dict[str, bytes]: Kind({"type": "object", "additionalProperties": {
        "type": "string", "contentEncoding": "base64"}}, _dump_bytes_map, _load_bytes_map),
    dict[str, Any]: Kind({"type": "object", "description": "JSON data"}, _json, _json_object),
}


# Records: one dataclass <-> one JSON object with exactly its fields' keys. --------------------


# A dataclass field's metadata marking it as added after the format was fixed (see above).
ADDED = {"snapshot": "added"}


@dataclass(frozen=True)
class Field:
    key: str  # in the JSON object
    attr: str  # on the dataclass
    kind: Kind
    added: bool = False  # optional in the JSON object: written only when not `default`
    default: Any = None


class Record:
    """One dataclass <-> one JSON object with exactly its fields' keys, in their order."""

    def __init__(self, cls: type, fields_: list[Field]) -> None:
        self.cls = cls
        self.fields = fields_
        self.all_keys = frozenset(f.key for f in fields_)
        fixed = [f for f in fields_ if not f.added]
        self.keys = frozenset(f.key for f in fixed)  # those every object has
        self._added = [f for f in fields_ if f.added]
        get = attrgetter(*(f.attr for f in fixed))  # a tuple of values for two or more
        self._get = get if len(fixed) > 1 else lambda obj: (get(obj),)
        self._dumps = [(f.key, f.kind.dump) for f in fixed]
        self._loads = [(f.key, f.attr, f.kind.load, f.kind.types, f.kind.expected)
                       for f in fixed]

    @property
    def name(self) -> str:
        return self.cls.__name__.lstrip("_")

    def dump(self, obj: Any) -> dict[str, Any]:
        data = {}
        for (name, dump), value in zip(self._dumps, self._get(obj), strict=True):
            if dump is None:
                data[name] = value
                continue
            try:
                data[name] = dump(value)
            except Bad as bad:
                raise bad.at(name) from None
        for added in self._added:
            value = getattr(obj, added.attr)
            if value != added.default:
                data[added.key] = value if added.kind.dump is None else at(
                    added.key, added.kind.dump, value)
        return data

    def load(self, value: Any) -> dict[str, Any]:
        """The constructor arguments (by attribute name) that a JSON object describes."""
        data = load_mapping(value)
        kwargs = {}
        if data.keys() != self.keys:
            check_keys(data, self.keys, self.all_keys)
            for added in self._added:
                if added.key in data:
                    kwargs[added.attr] = at(added.key, self._load_one(added), data[added.key])
        for name, attr, load, types, expected in self._loads:
            item = data[name]
            if load is None:
                if type(item) not in types:
                    raise Bad(f"expected {expected}, got {describe(item)}", name)
                kwargs[attr] = item
                continue
            try:
                kwargs[attr] = load(item)
            except Bad as bad:
                raise bad.at(name) from None
        return kwargs

    @staticmethod
    def _load_one(f: Field) -> Callable[[Any], Any]:
        """The reading of one value of `f`, with the type check a kind without `load` has."""
        if f.kind.load is not None:
            return f.kind.load
        kind = f.kind

        def checked(item: Any) -> Any:
            if type(item) not in kind.types:
                raise Bad(f"expected {kind.expected}, got {describe(item)}")
            return item
        return checked

    def build(self, value: Any) -> Any:
        return self.cls(**self.load(value))

    @cached_property
    def kind(self) -> Kind:
        """A field holding one of these."""
        return Kind({"$ref": f"#/$defs/{self.name}"}, self.dump, self.build, records=(self,))

    def schema(self) -> dict[str, Any]:
        doc = self.cls.__doc__ or ""
        described = {"description": " ".join(doc.split())} if not doc.startswith(
            f"{self.cls.__name__}(") else {}  # not the signature dataclass writes itself
        return {"type": "object", **described, "additionalProperties": False,
                "required": [f.key for f in self.fields if not f.added],
                "properties": {f.key: f.kind.schema for f in self.fields}}


def check_keys(data: Mapping[str, Any], keys: frozenset[str],
               allowed: frozenset[str] | None = None) -> None:
    """That `data` has every one of `keys` and no key outside `allowed` (default: `keys`)."""
    missing = sorted(keys - data.keys())
    if missing:
        raise Bad(f"missing key{'s' if len(missing) > 1 else ''} "
                  + ", ".join(repr(k) for k in missing))
    unknown = sorted(map(str, data.keys() - (keys if allowed is None else allowed)))
    if unknown:
        raise Bad(f"unknown key{'s' if len(unknown) > 1 else ''} "
                  + ", ".join(repr(k) for k in unknown))


def records_list(record: Record, load: Callable[[Any], Any] = tuple) -> Kind:
    """A collection of records written as a list (`load` makes the collection of the list)."""
    return Kind({"type": "array", "items": record.kind.schema},
                lambda items: dump_list(record.dump, items),
                lambda value: load(load_list(value, record.build)), records=(record,))


# Overrides: a field written under another key, or in another way than its type says.
Override = tuple[str, Kind] | Callable[["Codec"], tuple[str, Kind]]


class Codec:
    """Records derived from dataclasses, with `overrides[(dataclass, field name)]`: the key and
    kind of a field that is not written as its type says (or a function of the codec that gives
    them, for a kind made of records)."""

    def __init__(self, overrides: Mapping[tuple[type, str], Override] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._records: dict[type, Record] = {}

    def record(self, cls: type) -> Record:
        found = self._records.get(cls)
        if found is None:
            hints = get_type_hints(cls)
            found = self._records[cls] = Record(cls, [
                self._added_field(cls, f, hints[f.name]) for f in fields(cls)])
        return found

    def _field(self, cls: type, name: str, hint: Any) -> Field:
        override = self.overrides.get((cls, name))
        if override is None:
            return Field(name, name, self.kind(hint))
        key_, kind = override(self) if callable(override) else override
        return Field(key_, name, kind)

    def _added_field(self, cls: type, f: Any, hint: Any) -> Field:
        field_ = self._field(cls, f.name, hint)
        if f.metadata.get("snapshot") != ADDED["snapshot"]:
            return field_
        # A field made by a factory (an empty dict) compares with what the factory makes.
        default = f.default_factory() if f.default is MISSING else f.default
        return Field(field_.key, field_.attr, field_.kind, added=True, default=default)

    def kind(self, hint: Any) -> Kind:
        known = KINDS.get(hint)
        if known is not None:
            return known
        origin, args = get_origin(hint), get_args(hint)
        if origin in (UnionType, Union) and len(args) == 2 and NoneType in args:  # X | None
            return optional(self.kind(args[0] if args[1] is NoneType else args[1]))
        if _is_record(hint):
            return self.record(hint).kind
        if origin in (list, tuple) and _is_record(args[0]) and args[-1] in (args[0], ...):
            return records_list(self.record(args[0]), origin)
        if origin is dict and args[0] is str and _is_record(args[1]):
            record = self.record(args[1])
            return Kind({"type": "object", "additionalProperties": record.kind.schema},
                         lambda items: {name: at(key(name), record.dump, item)
                                        for name, item in items.items()},
                         lambda value: {name: at(key(name), record.build, item)
                                        for name, item in load_mapping(value).items()},
                         records=(record,))
        raise TypeError(f"the codec has no kind for {hint!r}: add one to KINDS")

    def schema(self, root: type, **annotations: Any) -> dict[str, Any]:
        """A JSON Schema (2020-12) of `root`'s record, with every record it holds in `$defs`."""
        top = self.record(root)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **annotations,
                **top.schema(), "$defs": {r.name: r.schema() for r in _held(top)}}


def _is_record(hint: Any) -> TypeGuard[type]:
    return isinstance(hint, type) and is_dataclass(hint)


def _held(top: Record) -> Iterator[Record]:
    """The records that `top`'s fields hold, each once, in the order they are met."""
    seen: dict[type, Record] = {}
    todo = [r for f in top.fields for r in f.kind.records]
    while todo:
        record = todo.pop(0)
        if record.cls not in seen:
            seen[record.cls] = record
            todo += [r for f in record.fields for r in f.kind.records]
    return iter(seen.values())
