"""The PNG the engine generates for a process with diagram interchange and no image of its own
(IDM's engine: Activiti's, then Flowable's `ProcessDiagramGenerator`; docs/fidelity.md).

Drawn from the geometry `diagram_geometry.py` reads from the file, in the file's own
coordinates, on a transparent canvas as wide and tall as the rightmost and lowest point of a
shape or a flow plus 10 pixels, as the engine sizes it. The engine's style: task boxes with
rounded corners, light grey fill, grey border and the name centred in them; events as circles
(an end event's border thick, a catching event's doubled); gateways as diamonds with their
mark; flows as dark grey lines ending in a filled arrow head, a conditional flow out of an
activity with a small diamond at its start; event and gateway names in the label colour under
their shape; for an instance, its active activities framed in red. Not drawn: the engine's
small task icons and BPMN label bounds (a name sits under its shape), pools and lanes, text
annotations.

Pillow draws it: the maintained imaging library of Python (antialiased shapes and text with a
bundled FreeType font, a PNG writer that adds no timestamp, so the same file always gives the
same bytes). It is imported when the first diagram is drawn, never at start.
"""

from __future__ import annotations

import io
import math
from collections.abc import Collection
from typing import TYPE_CHECKING

from .diagram_geometry import Diagram, Point, Shape, is_event, is_gateway
from .model import (
    BOUNDARY_EVENT,
    CALL_ACTIVITY,
    CATCH_EVENT,
    END_EVENT,
    EXCLUSIVE_GATEWAY,
    PARALLEL_GATEWAY,
    SUB_PROCESS,
)

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    # Pillow's default font: FreeType's when Pillow has it (its wheels do), else a bitmap one.
    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# The engine's canvas (DefaultProcessDiagramCanvas): colours, sizes, strokes.
TASK_BOX = (249, 249, 249, 255)
TASK_BORDER = (187, 187, 187, 255)
SUB_PROCESS_BOX = (255, 255, 255, 255)
SUB_PROCESS_BORDER = (0, 0, 0, 255)
EVENT_FILL = (255, 255, 255, 255)
EVENT_BORDER = (88, 88, 88, 255)
CONNECTION = (88, 88, 88, 255)
LABEL = (112, 146, 190, 255)
HIGHLIGHT = (255, 0, 0, 255)
TEXT = (0, 0, 0, 255)
GATEWAY = (0, 0, 0, 255)
CANVAS_MARGIN = 10  # right and below the last thing drawn
ARROW_WIDTH = 5  # half the arrow head's base; the head is twice as long
CONDITION_MARK = 16
FONT_SIZE, LABEL_FONT_SIZE = 11, 10
TEXT_PADDING = 3
THICK = 3  # end events, gateway marks, call activities


def canvas_size(diagram: Diagram) -> tuple[int, int]:
    """The image's size: the file's rightmost and lowest coordinates, plus the margin."""
    dx, dy = diagram.offset
    xs = [s.x + s.width for s in diagram.shapes.values()]
    xs += [x for e in diagram.edges for x, _ in e.points]
    ys = [s.y + s.height for s in diagram.shapes.values()]
    ys += [y for e in diagram.edges for _, y in e.points]
    return (int(max(xs, default=0.0) + dx) + CANVAS_MARGIN,
            int(max(ys, default=0.0) + dy) + CANVAS_MARGIN)


def render_png(diagram: Diagram, highlighted: Collection[str] = ()) -> bytes:
    """The diagram as PNG bytes, the activities `highlighted` (an instance's active ones)
    framed in red: the same diagram always gives the same bytes."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", canvas_size(diagram), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(FONT_SIZE)
    label_font = ImageFont.load_default(LABEL_FONT_SIZE)
    dx, dy = diagram.offset
    shapes = {n: Shape(s.id, s.kind, s.name, s.x + dx, s.y + dy, s.width, s.height)
              for n, s in diagram.shapes.items()}
    # Sub-processes first: what they hold is drawn over them.
    for shape in sorted(shapes.values(), key=lambda s: s.kind != SUB_PROCESS):
        _shape(draw, shape, font, label_font)
    for node_id in sorted(highlighted):
        if (active := shapes.get(node_id)) is not None:
            draw.rounded_rectangle((active.x, active.y, active.x + active.width,
                                    active.y + active.height), radius=10, outline=HIGHLIGHT,
                                   width=THICK)
    for edge in diagram.edges:
        points = [(x + dx, y + dy) for x, y in edge.points]
        source = shapes.get(edge.source)
        conditional = (edge.condition is not None and source is not None
                       and not is_gateway(source.kind))
        _flow(draw, points, conditional)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _shape(draw: ImageDraw.ImageDraw, shape: Shape, font: Font,
           label_font: Font) -> None:
    box = (shape.x, shape.y, shape.x + shape.width, shape.y + shape.height)
    if is_event(shape.kind):
        thick = shape.kind == END_EVENT
        draw.ellipse(box, fill=EVENT_FILL, outline=EVENT_BORDER, width=THICK if thick else 1)
        if shape.kind in (CATCH_EVENT, BOUNDARY_EVENT):
            draw.ellipse((box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3), outline=EVENT_BORDER)
        _label(draw, shape, label_font)
    elif is_gateway(shape.kind):
        _gateway(draw, shape)
        _label(draw, shape, label_font)
    elif shape.kind == SUB_PROCESS:
        draw.rounded_rectangle(box, radius=4, fill=SUB_PROCESS_BOX, outline=SUB_PROCESS_BORDER)
        if shape.name:
            draw.text((shape.x + 10, shape.y + 15), shape.name, fill=TEXT, font=font,
                      anchor="ls")
    else:
        thick = shape.kind == CALL_ACTIVITY
        draw.rounded_rectangle(box, radius=1.5 if thick else 3, fill=TASK_BOX,
                               outline=TASK_BORDER, width=THICK if thick else 1)
        if shape.name:
            _centred_text(draw, shape, font)


def _gateway(draw: ImageDraw.ImageDraw, shape: Shape) -> None:
    x, y, w, h = shape.x, shape.y, shape.width, shape.height
    draw.polygon([(x, y + h / 2), (x + w / 2, y + h), (x + w, y + h / 2), (x + w / 2, y)],
                 outline=GATEWAY)
    if shape.kind == EXCLUSIVE_GATEWAY:
        qw, qh = w / 4, h / 4
        draw.line([(x + qw + 3, y + qh + 3), (x + 3 * qw - 3, y + 3 * qh - 3)],
                  fill=GATEWAY, width=THICK)
        draw.line([(x + qw + 3, y + 3 * qh - 3), (x + 3 * qw - 3, y + qh + 3)],
                  fill=GATEWAY, width=THICK)
    elif shape.kind == PARALLEL_GATEWAY:
        draw.line([(x + 10, y + h / 2), (x + w - 10, y + h / 2)], fill=GATEWAY, width=THICK)
        draw.line([(x + w / 2, y + 10), (x + w / 2, y + h - 10)], fill=GATEWAY, width=THICK)
    elif shape.kind in ("inclusiveGateway", "eventBasedGateway"):
        d = w / 2
        draw.ellipse((x + (w - d) / 2, y + (h - d) / 2, x + (w + d) / 2, y + (h + d) / 2),
                     outline=GATEWAY, width=THICK if shape.kind == "inclusiveGateway" else 1)


def _lines(text: str, width: float, font: Font) -> list[str]:
    """The text broken at spaces into lines no wider than `width` (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _centred_text(draw: ImageDraw.ImageDraw, shape: Shape, font: Font) -> None:
    """A task's name, line under line, centred in its box; lines that do not fit are cut."""
    line_height = FONT_SIZE + 2
    room = max(1, int((shape.height - 2 * TEXT_PADDING) // line_height))
    lines = _lines(shape.name or "", shape.width - 2 * TEXT_PADDING, font)
    if len(lines) > room:
        lines = lines[:room]
        lines[-1] = lines[-1][:-3] + "..." if len(lines[-1]) >= 4 else lines[-1]
    top = shape.y + (shape.height - line_height * len(lines)) / 2
    for index, line in enumerate(lines):
        draw.text((shape.x + shape.width / 2, top + index * line_height + line_height / 2),
                  line, fill=TEXT, font=font, anchor="mm")


def _label(draw: ImageDraw.ImageDraw, shape: Shape, font: Font) -> None:
    """An event's or gateway's name under its shape, wrapped at 100 pixels as the engine's."""
    if not shape.name:
        return
    y = shape.y + shape.height + 2
    for line in _lines(shape.name, 100, font):
        draw.text((shape.x + shape.width / 2, y), line, fill=LABEL, font=font, anchor="mt")
        y += LABEL_FONT_SIZE + 2


def _flow(draw: ImageDraw.ImageDraw, points: list[Point], conditional: bool) -> None:
    draw.line(points, fill=CONNECTION, width=1)
    (x1, y1), (x2, y2) = points[-2], points[-1]
    angle = math.atan2(y2 - y1, x2 - x1)
    back = (x2 - 2 * ARROW_WIDTH * math.cos(angle), y2 - 2 * ARROW_WIDTH * math.sin(angle))
    side = (ARROW_WIDTH * math.sin(angle), -ARROW_WIDTH * math.cos(angle))
    draw.polygon([(x2, y2), (back[0] + side[0], back[1] + side[1]),
                  (back[0] - side[0], back[1] - side[1])], fill=CONNECTION)
    if conditional:  # a small white diamond along the first stretch
        (sx, sy), (nx, ny) = points[0], points[1]
        a = math.atan2(ny - sy, nx - sx)
        along = (math.cos(a), math.sin(a))
        across = (-math.sin(a), math.cos(a))
        half_w, half_l = CONDITION_MARK * 0.7 / 2, CONDITION_MARK / 2

        def at(forward: float, sideways: float) -> Point:
            return (sx + along[0] * forward + across[0] * sideways,
                    sy + along[1] * forward + across[1] * sideways)

        draw.polygon([at(0, 0), at(half_l, half_w), at(CONDITION_MARK, 0), at(half_l, -half_w)],
                     fill=(255, 255, 255, 255), outline=CONNECTION)
