"""The one reader of deployable files: a BPMN file, an archive, a folder, or bytes and a name."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from pathlib import Path

import pytest

from mockidm.engine import DefinitionError, Engine, bpmn
from mockidm.engine.bpmn import BpmnError
from mockidm.engine.deployables import (
    deployable_paths,
    read_data,
    read_deployables,
    read_file,
)
from mockidm.engine.model import ProcessModel


def bpmn_text(key: str) -> bytes:
    return (f'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
            f'<process id="{key}"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" '
            'targetRef="e"/><endEvent id="e"/></process></definitions>').encode()


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_bpmn_file_is_one_deployable_named_after_it() -> None:
    data = bpmn_text("one")
    deployable = read_data(data, "one.bpmn20.xml")
    assert deployable.name == "one.bpmn20.xml"
    assert [model.key for model in deployable.models] == ["one"]
    assert dict(deployable.resources) == {"one.bpmn20.xml": data}
    assert deployable.digest == hashlib.sha256(data).hexdigest()
    with pytest.raises(TypeError):  # shared through the engine's parse cache: read-only
        deployable.resources["other"] = b""  # type: ignore[index]


def test_an_archive_is_known_by_its_name_in_any_case() -> None:
    data = zipped({"a.bpmn20.xml": bpmn_text("a"), "b.bpmn": bpmn_text("b"), "a.png": b"PNG"})
    deployable = read_data(data, "Bundle.BAR")
    assert [model.key for model in deployable.models] == ["a", "b"]
    assert sorted(deployable.resources) == ["a.bpmn20.xml", "a.png", "b.bpmn"]
    assert deployable.digest == hashlib.sha256(data).hexdigest()


def test_an_archive_without_a_process_is_refused_when_read() -> None:
    with pytest.raises(DefinitionError, match=r"^a deployment needs at least one process$"):
        read_data(zipped({"readme.txt": b"nothing to run"}), "empty.zip")


def test_a_bad_file_names_itself() -> None:
    with pytest.raises(BpmnError, match=r"^bad\.bpmn, line 1: malformed XML"):
        read_data(b"<definitions", "bad.bpmn")


def test_a_folder_gives_its_bpmn_files_and_archives_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.bpmn20.xml").write_bytes(bpmn_text("b"))
    (tmp_path / "a.bar").write_bytes(zipped({"x.bpmn": bpmn_text("x")}))
    (tmp_path / "c.bpmn").write_bytes(bpmn_text("c"))
    (tmp_path / "notes.txt").write_text("not deployed")
    (tmp_path / "sub.bpmn").mkdir()  # a folder, whatever its name, is not read
    assert [path.name for path in deployable_paths(tmp_path)] == ["a.bar", "b.bpmn20.xml",
                                                                 "c.bpmn"]
    found = read_deployables(tmp_path)
    assert [(d.name, [m.key for m in d.models]) for d in found] == [
        ("a.bar", ["x"]), ("b.bpmn20.xml", ["b"]), ("c.bpmn", ["c"])]
    [one] = read_deployables(tmp_path / "c.bpmn")
    assert (one.name, one.digest) == ("c.bpmn", read_file(tmp_path / "c.bpmn").digest)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_deployables(tmp_path / "missing.bpmn20.xml")


def test_the_engine_parses_a_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = bpmn.load_bpmn

    def counted(data: bytes | str, name: str) -> list[ProcessModel]:
        calls.append(name)
        return real(data, name)

    monkeypatch.setattr(bpmn, "load_bpmn", counted)
    data = bpmn_text(f"p{uuid.uuid4().hex}")  # no other test has parsed these bytes
    for _ in range(3):
        Engine().deploy_data("once.bpmn20.xml", data)
    Engine().deploy_bpmn(data, "once.bpmn20.xml")
    assert calls == ["once.bpmn20.xml"]
