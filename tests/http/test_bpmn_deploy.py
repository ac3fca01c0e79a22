"""Deploying BPMN files and `.bar` archives: through the engine, over HTTP, and with
`mockidm serve --workflow-dir` (reference 5.2, 6.1, 8; Activiti's BpmnDeployer rules).

Every file here is built by the test: small BPMN documents, a `.bar` with a diagram and a form,
and hostile documents and archives that must be refused without changing what is deployed.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from idm_client import ADMIN as ADMIN_HEADERS
from idm_client import Idm, ok

from mockidm import Engine, create_app
from mockidm.engine import DefinitionError
from mockidm.samples import deploy_samples
from mockidm.server import ThreadedServer

REPO_ROOT = Path(__file__).resolve().parents[2]
PD = "workflow/processdefinition"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIVITI_NS = "http://activiti.org/bpmn"
DI = ('xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
      'xmlns:omgdc="http://www.omg.org/spec/DD/20100524/DC"')


def bpmn(key: str, name: str, *, start: str = "", middle: str = "", extra_ns: str = "",
         after: str = "") -> str:
    """A one-process BPMN document: start -> review (a user task) -> end, or `middle` in place
    of the user task (it must have the id `middle`)."""
    body = middle or ('<userTask id="middle" name="Review" '
                      'activiti:candidateGroups="internal/role/openidm-admin"/>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{BPMN_NS}" xmlns:activiti="{ACTIVITI_NS}" {extra_ns}
             targetNamespace="mockidm.tests.deploy">
  <process id="{key}" name="{name}" isExecutable="true">
    <startEvent id="start" {start}/>
    <sequenceFlow id="toMiddle" sourceRef="start" targetRef="middle"/>
    {body}
    <sequenceFlow id="toEnd" sourceRef="middle" targetRef="end"/>
    <endEvent id="end"/>
  </process>
  {after}
</definitions>
"""


def png(width: int = 1, height: int = 1, grey: int = 0) -> bytes:
    """A valid greyscale PNG, all pixels `grey`."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes([grey]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def bar(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)  # deflated: the archive's compression
    return buffer.getvalue()


@contextlib.contextmanager
def live(engine: Engine) -> Iterator[Idm]:
    with ThreadedServer(lambda: create_app(engine, validate_responses=True)) as server:
        yield Idm(server, engine)



def snapshot(engine: Engine) -> list[tuple[str, int, str | None]]:
    return [(d.id, d.version, d.deployment_id) for d in engine.definitions()]


# deploy_bpmn -----------------------------------------------------------------------------------


def test_deploy_bpmn_text_then_run_it_over_http():
    engine = Engine()
    [deployed] = engine.deploy_bpmn(bpmn("leaveRequest", "Leave request"))
    assert (deployed.key, deployed.version) == ("leaveRequest", 1)
    assert deployed.id.startswith("leaveRequest:1:")
    [again] = engine.deploy_bpmn(bpmn("leaveRequest", "Leave request, again").encode())
    assert again.version == 2  # text given directly is a new deployment every time
    with live(engine) as idm:
        body = ok(idm.request("GET", f"{PD}/{deployed.id}"))
        assert body["key"] == "leaveRequest" and body["name"] == "Leave request"
        assert body["resourceName"] == "process.bpmn20.xml"
        assert body["category"] == "mockidm.tests.deploy"
        assert body["processDiagramResourceName"] is None
        assert "diagram" not in ok(idm.request("GET", f"{PD}/{deployed.id}?_fields=diagram"))
        created = ok(idm.start({"_key": "leaveRequest"}), 201)
        assert created["processDefinitionId"] == again.id
        tasks = ok(idm.request("GET", "workflow/taskinstance?_queryId=filtered-query"
                                      f"&processInstanceId={created['_id']}"))["result"]
        assert [t["taskDefinitionKey"] for t in tasks] == ["middle"]


# deploy_file -----------------------------------------------------------------------------------


def test_deploy_file_gives_a_new_version_only_when_the_file_changes(tmp_path):
    engine = Engine()
    path = tmp_path / "leave.bpmn20.xml"
    path.write_text(bpmn("leave", "Leave"))
    [first] = engine.deploy_file(path)
    assert (first.key, first.version, first.model.resource_name) == (
        "leave", 1, "leave.bpmn20.xml")
    before = snapshot(engine)

    assert [d.id for d in engine.deploy_file(path)] == [first.id]  # unchanged: nothing new
    assert snapshot(engine) == before

    path.write_text(bpmn("leave", "Leave, changed"))
    [second] = engine.deploy_file(path)
    assert (second.version, second.name) == (2, "Leave, changed")
    assert snapshot(engine) == [*before, (second.id, 2, second.deployment_id)]
    assert [d.id for d in engine.deploy_file(path)] == [second.id]
    assert len(engine.definitions()) == 2


HIRE_FORM = "<form><input name='candidate'/></form>"
TASK_FORM = "<form><select name='decision'/></form>"
DIAGRAM = png(2, 2, 0)
FILE_DIAGRAM = png(3, 3, 255)  # `hire.png`: the per-key picture wins over it


def hire_bar() -> bytes:
    return bar({
        "hire.bpmn20.xml": bpmn(
            "hireProcess", "Hire", start='activiti:formKey="hire-start.xhtml"',
            middle='<userTask id="middle" name="Decide" activiti:formKey="hire-task.xhtml"/>'),
        "hire.hireProcess.png": DIAGRAM,
        "hire.png": FILE_DIAGRAM,
        "hire-start.xhtml": HIRE_FORM,
        "hire-task.xhtml": TASK_FORM,
    })


@pytest.fixture
def hire(tmp_path: Path) -> Iterator[tuple[Idm, str]]:
    engine = Engine()
    path = tmp_path / "hire.bar"
    path.write_bytes(hire_bar())
    [definition] = engine.deploy_file(path)
    with live(engine) as idm:
        yield idm, definition.id


def test_bar_definition_names_its_diagram_and_start_form(hire):
    idm, definition = hire
    body = ok(idm.request("GET", f"{PD}/{definition}"))
    assert body["key"] == "hireProcess"
    assert body["resourceName"] == "hire.bpmn20.xml"
    assert body["processDiagramResourceName"] == "hire.hireProcess.png"
    assert body["hasStartFormKey"] is True
    assert body["formResourceKey"] == "hire-start.xhtml"
    assert body["formGenerationTemplate"] == HIRE_FORM
    assert "diagram" not in body  # only when asked for
    query = ok(idm.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
    assert [d["processDiagramResourceName"] for d in query] == ["hire.hireProcess.png"]


def test_bar_diagram_as_base64(hire):
    idm, definition = hire
    body = ok(idm.request("GET", f"{PD}/{definition}?_fields=diagram"))
    assert set(body) == {"_id", "diagram"}
    assert body["diagram"].startswith("iVBORw")
    assert base64.b64decode(body["diagram"]) == DIAGRAM
    both = ok(idm.request("GET", f"{PD}/{definition}?_fields=formGenerationTemplate,diagram"))
    assert both == {"_id": definition, "formGenerationTemplate": HIRE_FORM,
                    "diagram": body["diagram"]}


def test_bar_diagram_as_png_bytes(hire):
    idm, definition = hire
    response = idm.request("GET", f"{PD}/{definition}?_fields=/diagram&_mimeType=image/png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == DIAGRAM


def test_bar_task_definition_shows_its_form(hire):
    idm, definition = hire
    body = ok(idm.request("GET", f"{PD}/{definition}/taskdefinition/middle"))
    assert body["formResourceKey"] == "hire-task.xhtml"
    assert body["formGenerationTemplate"] == TASK_FORM


# form details, as IDM's providers read them (docs/fidelity.md, "forms") ----------------------


def test_a_form_key_naming_no_file_deploys_but_its_reads_answer_404():
    # A bare BPMN file: the forms its keys name are not in its deployment.
    engine = Engine()
    [definition] = engine.deploy_bpmn(bpmn(
        "hireProcess", "Hire", start='activiti:formKey="hire-start.xhtml"',
        middle='<userTask id="middle" name="Decide" activiti:formKey="hire-task.xhtml"/>'),
        "hire.bpmn20.xml")
    deployment = definition.deployment_id
    with live(engine) as idm:
        listed = ok(idm.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
        assert [d["hasStartFormKey"] for d in listed] == [True]
        read = idm.request("GET", f"{PD}/{definition.id}")
        assert read.status_code == 404
        assert read.json()["message"] == (f"no resource found with name &#39;hire-start.xhtml"
                                          f"&#39; in deployment &#39;{deployment}&#39;")
        task = idm.request("GET", f"{PD}/{definition.id}/taskdefinition/middle")
        assert task.status_code == 404
        assert task.json()["message"] == (f"no resource found with name &#39;hire-task.xhtml"
                                          f"&#39; in deployment &#39;{deployment}&#39;")
        # The query reads no form file: it names the key only.
        tasks = ok(idm.request("GET", f"{PD}/{definition.id}/taskdefinition"
                                      "?_queryId=query-all-ids"))["result"]
        assert [t["formResourceKey"] for t in tasks] == ["hire-task.xhtml"]
        # The process still runs: only the reads of its forms fail.
        started = idm.request("POST", "workflow/processinstance?_action=create",
                              json={"_key": "hireProcess"})
        assert started.status_code == 201, started.text


def test_an_empty_form_file_is_an_empty_template(tmp_path):
    path = tmp_path / "hire.bar"
    path.write_bytes(bar({"hire.bpmn20.xml": bpmn(
        "hireProcess", "Hire", start='activiti:formKey="empty.xhtml"'), "empty.xhtml": ""}))
    engine = Engine()
    [definition] = engine.deploy_file(path)
    with live(engine) as idm:
        assert ok(idm.request("GET", f"{PD}/{definition.id}"))["formGenerationTemplate"] == ""


UNTYPED = """<extensionElements>
      <activiti:formProperty id="comment" name="Comment"/>
      <activiti:formProperty id="reason" name="Reason" type="string"/>
    </extensionElements>"""
UNTYPED_PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{BPMN_NS}" xmlns:activiti="{ACTIVITI_NS}" targetNamespace="tests">
  <process id="untyped" name="Untyped" isExecutable="true">
    <startEvent id="start">{UNTYPED}</startEvent>
    <sequenceFlow id="toMiddle" sourceRef="start" targetRef="middle"/>
    <userTask id="middle" name="Decide">{UNTYPED}</userTask>
    <sequenceFlow id="toEnd" sourceRef="middle" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def test_an_untyped_form_property_has_no_type():
    engine = Engine()
    [definition] = engine.deploy_bpmn(UNTYPED_PROCESS)
    with live(engine) as idm:
        body = ok(idm.request("GET", f"{PD}/{definition.id}"))
        # The provider's own list: a type map filled only for a typed property.
        assert [p["type"] for p in body["formProperties"]] == [
            {}, {"name": "string", "values": None, "datePattern": None}]
        # The engine's handler as Jackson writes it: no form type is null.
        handlers = body["startFormHandler"]["formPropertyHandlers"]
        assert [(h["id"], h["type"]) for h in handlers] == [
            ("comment", None), ("reason", {"name": "string", "values": None,
                                           "datePattern": None})]
        task = ok(idm.request("GET", f"{PD}/{definition.id}/taskdefinition/middle"))
        assert [h["type"] for h in task["formProperties"]["formPropertyHandlers"]] == [
            None, {"name": "string", "values": None, "datePattern": None}]
        # A task's form still shows an untyped property's value.
        instance = ok(idm.request("POST", "workflow/processinstance?_action=create",
                                  json={"_key": "untyped", "comment": "fine"}), 201)
        [task_id] = [t["_id"] for t in ok(idm.request(
            "GET", "workflow/taskinstance?_queryId=filtered-query"
                   f"&processInstanceId={instance['_id']}"))["result"]]
        read = ok(idm.request("GET", f"workflow/taskinstance/{task_id}"))
        assert read["formProperties"] == [{"comment": "fine"}, {"reason": None}]


def test_running_instance_diagram_and_a_finished_one(hire):
    idm, definition = hire
    instance = ok(idm.start({"_processDefinitionId": definition}), 201)["_id"]
    body = ok(idm.request("GET", f"workflow/processinstance/{instance}?_fields=diagram"))
    # The engine draws an instance's diagram from diagram interchange, which hire's file has
    # not: the archive's image is no instance diagram (test_generated_diagrams.py draws one).
    assert body == {"_id": instance}
    [task] = ok(idm.request("GET", "workflow/taskinstance?_queryId=filtered-query"
                                   f"&processInstanceId={instance}"))["result"]
    ok(idm.request("POST", f"workflow/taskinstance/{task['_id']}?_action=complete", json={}))
    response = idm.request("GET", f"workflow/processinstance/{instance}?_fields=diagram")
    assert response.status_code == 500
    assert response.json()["message"] == f"Process instance with id{instance} could not be found"


def test_a_file_named_after_its_bpmn_is_the_diagram_when_no_per_key_one_exists(tmp_path):
    engine = Engine()
    path = tmp_path / "plain.bar"
    path.write_bytes(bar({"plain.bpmn20.xml": bpmn("plainKey", "Plain"),
                          "plain.png": FILE_DIAGRAM, "other.png": DIAGRAM}))
    [definition] = engine.deploy_file(path)
    assert definition.diagram_resource_name == "plain.png"
    with live(engine) as idm:
        response = idm.request("GET", f"{PD}/{definition.id}?_fields=diagram&_mimeType=image/png")
        assert response.content == FILE_DIAGRAM


def test_graphical_notation_is_not_implied_by_a_png(hire):
    idm, definition = hire
    body = ok(idm.request("GET", f"{PD}/{definition}"))
    assert body["processDiagramResourceName"] == "hire.hireProcess.png"
    assert body["graphicalNotationDefined"] is False  # the BPMN has no diagram interchange


def test_graphical_notation_comes_from_diagram_interchange():
    shapes = """<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane"
      bpmnElement="drawn"><bpmndi:BPMNShape id="startShape" bpmnElement="start">
      <omgdc:Bounds x="0" y="0" width="30" height="30"/></bpmndi:BPMNShape>
      </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"""
    engine = Engine()
    [definition] = engine.deploy_bpmn(bpmn("drawn", "Drawn", extra_ns=DI, after=shapes))
    assert definition.model.graphical_notation is True
    with live(engine) as idm:
        assert ok(idm.request("GET", f"{PD}/{definition.id}"))["graphicalNotationDefined"] is True


# deploy_folder ---------------------------------------------------------------------------------


def test_deploy_folder_goes_in_file_name_order(tmp_path):
    (tmp_path / "b-second.bpmn20.xml").write_text(bpmn("sameKey", "Second"))
    (tmp_path / "a-first.bpmn20.xml").write_text(bpmn("sameKey", "First"))
    (tmp_path / "c-archive.bar").write_bytes(bar({"inner.bpmn20.xml": bpmn("barKey", "Bar")}))
    (tmp_path / "0-notes.txt").write_text("not a workflow")
    (tmp_path / "0-picture.png").write_bytes(DIAGRAM)
    engine = Engine()
    deployed = engine.deploy_folder(tmp_path).definitions
    assert [(d.key, d.version, d.name) for d in deployed] == [
        ("sameKey", 1, "First"), ("sameKey", 2, "Second"), ("barKey", 1, "Bar")]
    assert [d.model.resource_name for d in deployed] == [
        "a-first.bpmn20.xml", "b-second.bpmn20.xml", "inner.bpmn20.xml"]
    assert engine.latest_definition("sameKey").name == "Second"
    before = snapshot(engine)

    # The same folder again: nothing changed, nothing new.
    assert [d.id for d in engine.deploy_folder(tmp_path).definitions] == [d.id for d in deployed]
    assert snapshot(engine) == before

    # One file changed: only that one is deployed again, as the key's next version.
    (tmp_path / "a-first.bpmn20.xml").write_text(bpmn("sameKey", "First, changed"))
    engine.deploy_folder(tmp_path)
    new = [d for d in engine.definitions() if (d.id, d.version, d.deployment_id) not in before]
    assert [(d.key, d.version, d.name) for d in new] == [("sameKey", 3, "First, changed")]


# hostile input ---------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE definitions [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
""" + bpmn("laughs", "&lol9;").split("\n", 1)[1]

SECRET = "s3cr3t-do-not-leak"


def _xxe(secret: Path) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE definitions [<!ENTITY xxe SYSTEM '
            f'"{secret.as_uri()}">]>\n' + bpmn("xxe", "&xxe;").split("\n", 1)[1])


def _parameter_entity(secret: Path) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE definitions [<!ENTITY % p SYSTEM '
            f'"{secret.as_uri()}"> %p;]>\n' + bpmn("pe", "PE").split("\n", 1)[1])


def _external_dtd(_: Path) -> str:
    return ('<?xml version="1.0"?>\n<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/x.dtd">\n'
            + bpmn("dtd", "DTD").split("\n", 1)[1])


def _zip_bomb(_: Path) -> bytes:
    return bar({"bomb.bpmn20.xml": bpmn("bomb", "Bomb"), "bomb.png": b"\0" * (4 << 20)})


def _lying_zip_bomb(_: Path) -> bytes:
    """An entry whose headers declare 100 bytes but that inflates to 4 MiB."""
    data = bytearray(bar({"liar.bpmn20.xml": b" " * (4 << 20)}))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)  # uncompressed size, local header
    struct.pack_into("<I", data, central + 24, 100)  # and in the central directory
    return bytes(data)


UNSUPPORTED_NODE = '<complexGateway id="middle"/>'

DOCTYPE = r"document type declaration \(<!DOCTYPE \.\.\.>\) is not allowed"
UNSUPPORTED_CALL = r"element 'complexGateway' \(id 'middle'\) is not supported"

# file name -> (content builder, what the refusal says after the file name)
HOSTILE: dict[str, tuple[Any, str]] = {
    "xxe.bpmn20.xml": (_xxe, DOCTYPE),
    "parameter.bpmn20.xml": (_parameter_entity, DOCTYPE),
    "external.bpmn20.xml": (_external_dtd, DOCTYPE),
    "laughs.bpmn20.xml": (lambda _: BILLION_LAUGHS, DOCTYPE),
    "broken.bpmn20.xml": (lambda _: bpmn("broken", "Broken").replace("</process>", ""),
                          r"line \d+: malformed XML"),
    "call.bpmn20.xml": (lambda _: bpmn("call", "Call", middle=UNSUPPORTED_NODE), UNSUPPORTED_CALL),
    "call.bar": (lambda _: bar({"inner-call.bpmn20.xml": bpmn("call", "C",
                                                              middle=UNSUPPORTED_NODE)}),
                 UNSUPPORTED_CALL),
    "escape.bar": (lambda _: bar({"../evil.bpmn20.xml": bpmn("evil", "Evil")}),
                   r"leaves the archive"),
    "absolute.bar": (lambda _: bar({"/tmp/evil.bpmn20.xml": bpmn("evil", "Evil")}),
                     r"absolute path"),
    "bomb.bar": (_zip_bomb, r"zip bomb"),
    "liar.bar": (_lying_zip_bomb, r"larger than its header declares|expands beyond"),
    "junk.bar": (lambda _: b"PK\x03\x04 this is not a zip archive", r"not a valid zip archive"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_is_refused_and_changes_nothing(tmp_path, name):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    build, reason = HOSTILE[name]
    content = build(secret)
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    engine = Engine()
    deploy_samples(engine)
    definitions, before = engine.definitions(), snapshot(engine)
    deployments = set(engine.store.deployments)

    started = time.monotonic()
    with pytest.raises(DefinitionError) as refused:
        engine.deploy_file(path)
    assert time.monotonic() - started < 2  # refused, not expanded
    message = str(refused.value)
    assert message.startswith(name), message
    assert re.search(reason, message), message
    assert SECRET not in message
    assert engine.definitions() == definitions
    assert snapshot(engine) == before
    assert set(engine.store.deployments) == deployments

    # The engine still deploys, and the refused file was not remembered as deployed.
    repaired_text = bpmn("repaired", "Repaired")
    path.write_bytes(bar({"repaired.bpmn20.xml": repaired_text}) if name.endswith(".bar")
                     else repaired_text.encode())
    [repaired] = engine.deploy_file(path)
    assert (repaired.key, repaired.version) == ("repaired", 1)


def test_error_in_an_archive_names_the_archive_and_the_file(tmp_path):
    path = tmp_path / "call.bar"
    path.write_bytes(HOSTILE["call.bar"][0](tmp_path))
    with pytest.raises(DefinitionError, match=r"^call\.bar: inner-call\.bpmn20\.xml, line \d+: "
                                              r".*complexGateway.*not supported"):
        Engine().deploy_file(path)


# mockidm serve ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_command(folder: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(port),
            "--workflow-dir", str(folder), "--quiet"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def test_serve_deploys_the_workflow_dir_and_stops_on_sigterm(tmp_path):
    (tmp_path / "b.bpmn20.xml").write_text(bpmn("served", "Served, second"))
    (tmp_path / "a.bpmn20.xml").write_text(bpmn("served", "Served, first"))
    (tmp_path / "hire.bar").write_bytes(hire_bar())
    port = _free_port()
    url = f"http://127.0.0.1:{port}/openidm/{PD}?_queryId=query-all-ids"
    process = subprocess.Popen(_serve_command(tmp_path, port), env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, response = time.monotonic() + 20, None
        while response is None and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                response = requests.get(url, headers=ADMIN_HEADERS, timeout=2)
            except requests.ConnectionError:
                time.sleep(0.05)
        assert response is not None, "mockidm serve did not answer"
        items = ok(response)["result"]
        assert sorted((d["key"], d["version"], d["name"]) for d in items) == [
            ("hireProcess", 1, "Hire"), ("served", 1, "Served, first"),
            ("served", 2, "Served, second")]  # and none of the built-in samples

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_serve_strict_exits_2_naming_a_hostile_file(tmp_path):
    # Without --strict the file is skipped like any other (tests/test_workflow_folder.py).
    (tmp_path / "a-good.bpmn20.xml").write_text(bpmn("good", "Good"))
    (tmp_path / "b-evil.bpmn20.xml").write_text(BILLION_LAUGHS)
    finished = subprocess.run([*_serve_command(tmp_path, _free_port()), "--strict"], env=_env(),
                              capture_output=True, text=True, timeout=30, check=False)
    assert finished.returncode == 2, finished
    assert "b-evil.bpmn20.xml" in finished.stderr
    assert "serving" not in finished.stdout
