"""The snapshot's JSON Schema (contracts/engine-snapshot.json) is the one the code derives, and
what the code writes agrees with it; the codec derives a record for any field it knows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from snapshot_v1_engine import busy_engine

from mockidm.engine import Engine, FormProperty, UserTask, linear_process
from mockidm.engine.codec import ADDED, Codec
from mockidm.engine.model import (
    Deployment,
    Flow,
    Node,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    Task,
)
from mockidm.engine.snapshot import SnapshotError, dump_engine, load_engine, snapshot_schema

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "engine-snapshot.json"
# Fields the snapshot writes under another key.
RENAMED = {(ProcessInstance, "definition"): "definition_id"}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_contract_is_the_schema_the_code_derives(contract: dict[str, Any]) -> None:
    assert contract == snapshot_schema(), (
        "contracts/engine-snapshot.json is out of date: regenerate it with "
        "`python -m mockidm.engine.snapshot > contracts/engine-snapshot.json`")


@pytest.mark.parametrize("cls", [Deployment, ProcessDefinition, ProcessModel, Node, Flow,
                                 FormProperty, ProcessInstance, Task])
def test_every_field_of_the_engine_model_is_in_the_contract(contract: dict[str, Any],
                                                            cls: type) -> None:
    described = contract["$defs"][cls.__name__]
    keys = [RENAMED.get((cls, f.name), f.name) for f in fields(cls)]
    assert list(described["properties"]) == keys
    # A field added after format 1 is optional, so that a snapshot without it still loads.
    required = [key for key, f in zip(keys, fields(cls), strict=True) if f.metadata != ADDED]
    assert described["required"] == required and described["additionalProperties"] is False


def test_what_the_code_writes_agrees_with_the_contract(contract: dict[str, Any]) -> None:
    validator = jsonschema_rs.Draft202012Validator(contract, validate_formats=True)
    engine = busy_engine()
    engine.clock.unfreeze()  # a running clock is written as null
    for data in (dump_engine(busy_engine()), dump_engine(engine), dump_engine(Engine())):
        errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
                  for e in validator.iter_errors(json.loads(json.dumps(data)))]
        assert errors == []


def test_the_contract_refuses_what_the_loader_refuses(contract: dict[str, Any]) -> None:
    validator = jsonschema_rs.Draft202012Validator(contract, validate_formats=True)
    data = dump_engine(busy_engine())
    for damage in (lambda d: d["instances"][0].pop("start_time"),
                   lambda d: d["tasks"][0]["node"].update(extra=1),
                   lambda d: d["definitions"][0]["model"]["nodes"][1].update(priority="high"),
                   lambda d: d.update(version=2)):
        damaged = json.loads(json.dumps(data))
        damage(damaged)
        assert not validator.is_valid(damaged)
        with pytest.raises(SnapshotError):
            load_engine(damaged)


# The codec: a new field needs no twin. --------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    count: int | None = None


@dataclass(frozen=True)
class Single:
    only: Part


@dataclass
class Everything:
    """One field of each kind the codec knows."""

    text: str
    number: int
    flag: bool
    when: datetime
    maybe_when: datetime | None
    names: list[str]
    name_tuple: tuple[str, ...]
    labels: dict[str, str] | None
    files: dict[str, bytes]
    data: dict[str, Any]
    part: Part
    parts: tuple[Part, ...]
    part_list: list[Part]
    single: Single
    parts_by_name: dict[str, Part] = field(default_factory=dict)


def test_the_codec_derives_a_record_for_a_new_dataclass() -> None:
    record = Codec().record(Everything)
    value = Everything(
        text="t", number=3, flag=True, when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        maybe_when=None, names=["a"], name_tuple=("b", "c"), labels={"x": "y"},
        files={"f": b"\x00\xff"}, data={"n": [1, 2.5, None]}, part=Part("p", 1),
        parts=(Part("q"),), part_list=[Part("r", 2)], single=Single(Part("o")),
        parts_by_name={"s": Part("s")})
    data = record.dump(value)
    assert data == {
        "text": "t", "number": 3, "flag": True, "when": "2024-01-02T03:04:05.000000+00:00",
        "maybe_when": None, "names": ["a"], "name_tuple": ["b", "c"], "labels": {"x": "y"},
        "files": {"f": "AP8="}, "data": {"n": [1, 2.5, None]},
        "part": {"name": "p", "count": 1}, "parts": [{"name": "q", "count": None}],
        "part_list": [{"name": "r", "count": 2}], "single": {"only": {"name": "o", "count": None}},
        "parts_by_name": {"s": {"name": "s", "count": None}}}
    assert record.build(json.loads(json.dumps(data))) == value
    schema = Codec().schema(Everything)
    assert jsonschema_rs.Draft202012Validator(schema, validate_formats=True).is_valid(data)
    assert set(schema["$defs"]) == {"Part", "Single"}
    assert schema["description"] == "One field of each kind the codec knows."


def test_a_type_the_codec_does_not_know_is_refused_at_once() -> None:
    @dataclass
    class Odd:
        ratio: complex

    with pytest.raises(TypeError, match="no kind for"):
        Codec().record(Odd)


def test_an_engine_model_object_comes_back_whole() -> None:
    engine = Engine()
    [definition] = engine.deploy(linear_process("p", "P", [UserTask("t", form_properties=[
        FormProperty("f", values={"a": "A"})])]))
    record = Codec().record(ProcessModel)
    model = record.build(json.loads(json.dumps(record.dump(definition.model))))
    assert model.nodes == definition.model.nodes and model.flows == definition.model.flows
