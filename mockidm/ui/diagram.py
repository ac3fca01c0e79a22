"""A process's diagram as geometry: where each flow node's shape sits and the points each
sequence flow passes through, in pixels, with nothing of how it is drawn (the inspector draws
it as SVG; a PNG renderer can reuse it).

Two sources: the BPMN file's diagram interchange (`bpmndi:BPMNShape` bounds and
`bpmndi:BPMNEdge` waypoints), used when it places every node of the process; otherwise an
automatic layered layout: each node in the column of its longest path from the start event
(back edges ignored), columns left to right, nodes of a column stacked in the order first
reached, flows drawn as right-angled lines, back flows and flows that would cross a shape
below.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree  # type: ignore[import-untyped]

from ..engine.model import START_EVENT, ProcessModel

DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
OMG_DI = "{http://www.omg.org/spec/DD/20100524/DI}"

MARGIN = 20.0
LABEL_ROOM = 40.0  # an event's or gateway's name runs wider than its shape, below or above it
# Sizes of the automatic layout (those of common BPMN modellers).
EVENT_SIZE = 36.0
GATEWAY_SIZE = 50.0
TASK_WIDTH, TASK_HEIGHT = 120.0, 60.0
COLUMN_GAP, ROW_GAP = 60.0, 40.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Shape:
    """A flow node's box: `x`, `y` its top-left corner."""

    id: str
    kind: str  # the node's BPMN element name (engine/model.py's kinds)
    name: str | None
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> Point:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class Edge:
    """A sequence flow's line, from its source's shape to its target's."""

    id: str
    source: str
    target: str
    points: tuple[Point, ...]
    condition: str | None = None


@dataclass(frozen=True)
class Diagram:
    shapes: dict[str, Shape]
    edges: tuple[Edge, ...]
    width: float
    height: float
    automatic: bool  # laid out by mockidm, not read from the file
    note: str | None = None  # why the file's own diagram was not used, when it has one


def diagram(model: ProcessModel, bpmn: bytes | None) -> Diagram:
    """The file's own diagram when it places every node, else the automatic layout."""
    note = None
    if bpmn is not None and model.graphical_notation:
        try:
            read = from_interchange(model, bpmn)
        except ElementTree.ParseError as exc:  # the engine parsed it: not expected
            read, note = None, f"the file's diagram could not be read ({exc})"
        if isinstance(read, Diagram):
            return read
        note = note or read
    return layered(model, note)


def from_interchange(model: ProcessModel, bpmn: bytes) -> Diagram | str:
    """The process's diagram as its file draws it, or why it cannot be used."""
    root: Element = ElementTree.fromstring(bpmn, forbid_dtd=True)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    waypoints: dict[str, list[Point]] = {}
    for plane in root.iter(f"{DI}BPMNPlane"):
        for shape in plane.iter(f"{DI}BPMNShape"):
            box = shape.find(f"{DC}Bounds")
            element = shape.get("bpmnElement")
            if box is not None and element in model.nodes:
                bounds[element] = tuple(  # type: ignore[assignment]
                    float(box.get(name) or 0) for name in ("x", "y", "width", "height"))
        for edge in plane.iter(f"{DI}BPMNEdge"):
            element = edge.get("bpmnElement")
            if element is not None:
                waypoints[element] = [(float(p.get("x") or 0), float(p.get("y") or 0))
                                      for p in edge.iter(f"{OMG_DI}waypoint")]
    missing = [node for node in model.nodes if node not in bounds]
    if missing:
        return (f"the file's diagram does not place {', '.join(missing[:5])}"
                + (" ..." if len(missing) > 5 else "") + ": laid out automatically")
    left = min(b[0] for b in bounds.values()) - MARGIN
    top = min(b[1] for b in bounds.values()) - MARGIN
    shapes = {node_id: Shape(node_id, node.kind, node.name, b[0] - left, b[1] - top, b[2], b[3])
              for node_id, node in model.nodes.items() for b in [bounds[node_id]]}
    edges = []
    for flow in model.flows:
        points = [(x - left, y - top) for x, y in waypoints.get(flow.id, [])]
        if len(points) < 2:  # a flow the file does not draw: a straight line
            points = _straight(shapes[flow.source], shapes[flow.target])
        edges.append(Edge(flow.id, flow.source, flow.target, tuple(points), flow.condition))
    return _framed(shapes, edges, automatic=False)


def layered(model: ProcessModel, note: str | None = None) -> Diagram:
    """The automatic layout (see the module's docstring)."""
    order = _reach_order(model)
    back = _back_edges(model, order)
    column: dict[str, int] = {}
    for node_id in _topological(model, order, back):
        incoming = [column[f.source] + 1 for f in model.flows
                    if f.target == node_id and (f.source, f.target) not in back
                    and f.source in column]
        column[node_id] = max(incoming, default=0)
    columns: dict[int, list[str]] = {}
    for node_id in order:
        columns.setdefault(column[node_id], []).append(node_id)
    sizes = {node_id: _size(node.kind) for node_id, node in model.nodes.items()}
    tallest = max((sum(sizes[n][1] for n in ids) + ROW_GAP * (len(ids) - 1)
                   for ids in columns.values()), default=0.0)
    shapes: dict[str, Shape] = {}
    x = MARGIN
    for index in sorted(columns):
        ids = columns[index]
        width = max(sizes[n][0] for n in ids)
        height = sum(sizes[n][1] for n in ids) + ROW_GAP * (len(ids) - 1)
        y = MARGIN + (tallest - height) / 2
        for node_id in ids:
            w, h = sizes[node_id]
            node = model.nodes[node_id]
            shapes[node_id] = Shape(node_id, node.kind, node.name, x + (width - w) / 2, y, w, h)
            y += h + ROW_GAP
        x += width + COLUMN_GAP
    below = MARGIN + tallest + 20  # where flows that go back run, one lane each
    edges = []
    for flow in model.flows:
        source, target = shapes[flow.source], shapes[flow.target]
        if ((flow.source, flow.target) in back or target.x <= source.x
                or _blocked(_elbow(source, target), shapes, (flow.source, flow.target))):
            points = [(source.center[0], source.y + source.height), (source.center[0], below),
                      (target.center[0], below), (target.center[0], target.y + target.height)]
            below += 12
        else:
            points = _elbow(source, target)
        edges.append(Edge(flow.id, flow.source, flow.target, tuple(points), flow.condition))
    return _framed(shapes, edges, automatic=True, note=note)


def _framed(shapes: dict[str, Shape], edges: Iterable[Edge], *, automatic: bool,
            note: str | None = None) -> Diagram:
    edges = tuple(edges)
    xs = [s.x + s.width for s in shapes.values()] + [p[0] for e in edges for p in e.points]
    ys = [s.y + s.height for s in shapes.values()] + [p[1] for e in edges for p in e.points]
    return Diagram(shapes, edges, max(xs, default=0.0) + MARGIN + LABEL_ROOM,
                   max(ys, default=0.0) + MARGIN + LABEL_ROOM / 2, automatic, note)


def _size(kind: str) -> tuple[float, float]:
    if is_event(kind):
        return EVENT_SIZE, EVENT_SIZE
    if is_gateway(kind):
        return GATEWAY_SIZE, GATEWAY_SIZE
    return TASK_WIDTH, TASK_HEIGHT


def is_event(kind: str) -> bool:
    """Drawn as a circle: every BPMN event (start, end, catch, boundary...)."""
    return kind.endswith("Event")


def is_gateway(kind: str) -> bool:
    """Drawn as a diamond."""
    return kind.endswith("Gateway")


def _reach_order(model: ProcessModel) -> list[str]:
    """Nodes in the order a walk from the start reaches them, then any unreachable ones."""
    seen: dict[str, None] = {}
    starts = [n for n, node in model.nodes.items() if node.kind == START_EVENT]
    queue = starts or list(model.nodes)[:1]
    while queue:
        node_id = queue.pop(0)
        if node_id in seen:
            continue
        seen[node_id] = None
        queue += [f.target for f in model.outgoing(node_id) if f.target not in seen]
    return list(seen) + [n for n in model.nodes if n not in seen]


def _back_edges(model: ProcessModel, order: list[str]) -> set[tuple[str, str]]:
    """The flows that close a loop, found by a depth-first walk from the start."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done

    for root in order:
        if root in state:
            continue
        stack = [(root, iter(model.outgoing(root)))]
        state[root] = 1
        while stack:
            node_id, flows = stack[-1]
            flow = next(flows, None)
            if flow is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(flow.target) == 1:
                back.add((flow.source, flow.target))
            elif flow.target not in state:
                state[flow.target] = 1
                stack.append((flow.target, iter(model.outgoing(flow.target))))
    return back


def _topological(model: ProcessModel, order: list[str], back: set[tuple[str, str]]
                 ) -> list[str]:
    remaining = {n: sum(1 for f in model.flows if f.target == n and (f.source, n) not in back)
                 for n in order}
    ready = [n for n in order if remaining[n] == 0]
    done: list[str] = []
    while ready:
        node_id = ready.pop(0)
        done.append(node_id)
        for flow in model.outgoing(node_id):
            if (flow.source, flow.target) in back:
                continue
            remaining[flow.target] -= 1
            if remaining[flow.target] == 0:
                ready.append(flow.target)
    return done + [n for n in order if n not in done]


def _elbow(source: Shape, target: Shape) -> list[Point]:
    sx, sy = source.x + source.width, source.center[1]
    tx, ty = target.x, target.center[1]
    if abs(sy - ty) < 1:
        return [(sx, sy), (tx, ty)]
    middle = (sx + tx) / 2
    return [(sx, sy), (middle, sy), (middle, ty), (tx, ty)]


def _blocked(points: list[Point], shapes: dict[str, Shape], ends: tuple[str, str]) -> bool:
    """Whether a horizontal stretch of the line crosses a shape other than its ends."""
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if y1 != y2:
            continue
        left, right = min(x1, x2), max(x1, x2)
        if any(s.id not in ends and s.y <= y1 <= s.y + s.height
               and s.x < right and s.x + s.width > left for s in shapes.values()):
            return True
    return False


def _straight(source: Shape, target: Shape) -> list[Point]:
    return [source.center, target.center]
