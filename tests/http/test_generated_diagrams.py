"""Diagrams the engine generates (docs/fidelity.md, "generated diagram"): a process with diagram
interchange deployed without an image gets the PNG the engine draws, named
`<file base><key>.png`; one without interchange has none; an archive's own image wins.

The BPMN file is ours (tests/http/diagrams/drawnReview.bpmn20.xml); its bounds are where the
pixels are checked.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from idm_client import Idm, ok
from PIL import Image

from mockidm import Engine, create_app
from mockidm.engine.snapshot import dump_engine, load_engine
from mockidm.server import ThreadedServer

PD = "workflow/processdefinition"
DRAWN = Path(__file__).parent / "diagrams" / "drawnReview.bpmn20.xml"
TASK_BOX = (249, 249, 249, 255)  # the engine's task fill
TASK_BORDER = (187, 187, 187, 255)
# The file's shapes: the user task at (130, 70) 140x80, the lowest end event ends at y 188, the
# rightmost at x 478: the engine's canvas is that plus 10.
TASK = (130, 70, 140, 80)
SIZE = (488, 198)


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def served(engine: Engine) -> Iterator[Idm]:
    with ThreadedServer(lambda: create_app(engine, validate_responses=True)) as server:
        yield Idm(server, engine)


def _png(idm: Idm, definition: str) -> Image.Image:
    response = idm.request("GET", f"{PD}/{definition}?_fields=/diagram&_mimeType=image/png")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(response.content)).convert("RGBA")


def test_a_process_with_interchange_and_no_image_gets_the_generated_diagram(engine, served):
    [definition] = engine.deploy_file(DRAWN)
    body = ok(served.request("GET", f"{PD}/{definition.id}"))
    assert body["processDiagramResourceName"] == "drawnReview.drawnReview.png"
    assert body["graphicalNotationDefined"] is True
    assert "diagram" not in body
    listed = ok(served.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
    assert [d["processDiagramResourceName"] for d in listed] == ["drawnReview.drawnReview.png"]

    field = ok(served.request("GET", f"{PD}/{definition.id}?_fields=diagram"))
    assert set(field) == {"_id", "diagram"}
    assert field["diagram"].startswith("iVBORw")
    image = _png(served, definition.id)
    assert base64.b64decode(field["diagram"]) == served.request(
        "GET", f"{PD}/{definition.id}?_fields=/diagram&_mimeType=image/png").content
    assert image.size == SIZE


def test_the_generated_diagram_draws_the_task_where_the_file_places_it(engine, served):
    [definition] = engine.deploy_file(DRAWN)
    image = _png(served, definition.id)
    x, y, w, h = TASK
    assert image.getpixel((x + 10, y + 10)) == TASK_BOX  # inside the box, away from the name
    assert image.getpixel((x + w // 2, y)) == TASK_BORDER  # its top edge
    assert image.getpixel((x - 5, y + 10)) == (0, 0, 0, 0)  # outside: transparent
    # The name "Review the request", black, centred in the box.
    band = [image.getpixel((px, py)) for px in range(x + 20, x + w - 20)
            for py in range(y + h // 2 - 5, y + h // 2 + 5)]
    assert any(p[3] == 255 and max(p[:3]) < 90 for p in band)
    assert not any(p[3] == 255 and max(p[:3]) < 90
                   for px in range(x + 3, x + w - 3) for py in range(y + 3, y + 20)
                   for p in [image.getpixel((px, py))])  # nothing dark above the name


def test_the_generated_diagram_is_the_same_bytes_every_time(engine, served):
    [first] = engine.deploy_file(DRAWN)
    again = Engine()
    [second] = again.deploy_bpmn(DRAWN.read_bytes(), DRAWN.name)
    png = engine.resource(first.deployment_id, first.diagram_resource_name or "")
    assert png is not None
    assert again.resource(second.deployment_id, second.diagram_resource_name or "") == png
    assert served.request("GET", f"{PD}/{first.id}?_fields=/diagram&_mimeType=image/png"
                          ).content == png


def test_a_process_without_interchange_has_no_diagram(engine, served):
    text = DRAWN.read_text().split("<bpmndi:BPMNDiagram")[0] + "</definitions>\n"
    [definition] = engine.deploy_bpmn(text, "plain.bpmn20.xml")
    body = ok(served.request("GET", f"{PD}/{definition.id}?_fields=diagram"))
    assert body == {"_id": definition.id}
    read = ok(served.request("GET", f"{PD}/{definition.id}"))
    assert read["processDiagramResourceName"] is None
    assert read["graphicalNotationDefined"] is False


def test_an_archive_with_its_own_image_shows_that_one(engine, served, tmp_path):
    own = io.BytesIO()
    Image.new("RGBA", (7, 5), (10, 200, 30, 255)).save(own, "PNG")
    path = tmp_path / "review.bar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("drawnReview.bpmn20.xml", DRAWN.read_bytes())
        archive.writestr("drawnReview.png", own.getvalue())
    [definition] = engine.deploy_file(path)
    assert ok(served.request("GET", f"{PD}/{definition.id}")
              )["processDiagramResourceName"] == "drawnReview.png"
    response = served.request("GET", f"{PD}/{definition.id}?_fields=/diagram&_mimeType=image/png")
    assert response.status_code == 200
    assert response.content == own.getvalue()


HIGHLIGHT = (255, 0, 0, 255)


def _instance_png(idm: Idm, instance: str) -> Image.Image:
    body = ok(idm.request("GET", f"workflow/processinstance/{instance}?_fields=diagram"))
    assert set(body) == {"_id", "diagram"}
    return Image.open(io.BytesIO(base64.b64decode(body["diagram"]))).convert("RGBA")


def test_a_running_instance_diagram_frames_its_active_task_in_red(engine, served):
    [definition] = engine.deploy_file(DRAWN)
    started = served.request("POST", "workflow/processinstance?_action=create",
                             json={"_key": "drawnReview"})
    assert started.status_code == 201, started.text
    image = _instance_png(served, started.json()["_id"])
    assert image.size == SIZE
    x, y, w, _ = TASK
    assert image.getpixel((x + w // 2, y)) == HIGHLIGHT  # the waiting review task's frame
    assert image.getpixel((x + 10, y + 10)) == TASK_BOX
    plain = _png(served, definition.id)  # the definition's diagram frames nothing
    assert plain.getpixel((x + w // 2, y)) == TASK_BORDER
    assert HIGHLIGHT not in {plain.getpixel((px, y)) for px in range(x, x + w)}


def test_an_instance_diagram_ignores_the_archive_image(engine, served, tmp_path):
    path = tmp_path / "review.bar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("drawnReview.bpmn20.xml", DRAWN.read_bytes())
        archive.writestr("drawnReview.png", b"\x89PNG\r\n\x1a\nnot drawn by the engine")
    engine.deploy_file(path)
    started = served.request("POST", "workflow/processinstance?_action=create",
                             json={"_key": "drawnReview"})
    image = _instance_png(served, started.json()["_id"])
    assert image.size == SIZE
    assert image.getpixel((TASK[0] + TASK[2] // 2, TASK[1])) == HIGHLIGHT


def test_a_restored_snapshot_draws_the_same_diagram(engine):
    # Snapshots carry the diagram's name, not its picture: the restored engine draws it again.
    [definition] = engine.deploy_file(DRAWN)
    name = definition.diagram_resource_name or ""
    png = engine.resource(definition.deployment_id, name)
    restored = load_engine(json.loads(json.dumps(dump_engine(engine))))
    again = restored.definition(definition.id)
    assert again.diagram_resource_name == "drawnReview.drawnReview.png"
    assert name not in restored.store.deployments[again.deployment_id].resources
    assert restored.resource(again.deployment_id, name) == png
