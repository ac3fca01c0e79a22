"""A process's diagram as geometry: where each flow node's shape sits and the points each
sequence flow passes through, in pixels, with nothing of how it is drawn (the inspector draws
it as SVG, `diagram_image.py` as the PNG the engine generates at deploy).

Two sources: the BPMN file's diagram interchange (`bpmndi:BPMNShape` bounds and
`bpmndi:BPMNEdge` waypoints), used when it places every node of the process; otherwise an
automatic layered layout: each node in the column of its longest path from the start event
(back edges ignored), columns left to right, nodes of a column stacked in the order first
reached, boundary events on their activity's lower edge, a sub-process as a box holding its
own layout, flows drawn as right-angled lines, back flows and flows that would cross a shape
below.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree  # type: ignore[import-untyped]

from .model import START_EVENT, SUB_PROCESS, Flow, ProcessModel

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
SCOPE_PADDING, SCOPE_TITLE = 16.0, 26.0  # a sub-process's box around its inside

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
    # Where this diagram's (0, 0) lies in the file's own coordinates (read from the file only).
    offset: Point = (0.0, 0.0)


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


def from_interchange(model: ProcessModel, bpmn: bytes, *, partial: bool = False
                     ) -> Diagram | str:
    """The process's diagram as its file draws it, or why it cannot be used. partial: what the
    file places is enough (the nodes it leaves out are left out, with their flows)."""
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
    if missing and not partial:
        return (f"the file's diagram does not place {', '.join(missing[:5])}"
                + (" ..." if len(missing) > 5 else "") + ": laid out automatically")
    left = min((b[0] for b in bounds.values()), default=MARGIN) - MARGIN
    top = min((b[1] for b in bounds.values()), default=MARGIN) - MARGIN
    shapes = {node_id: Shape(node_id, node.kind, node.name, b[0] - left, b[1] - top, b[2], b[3])
              for node_id, node in model.nodes.items() if (b := bounds.get(node_id))}
    edges = []
    for flow in model.flows:
        points = [(x - left, y - top) for x, y in waypoints.get(flow.id, [])]
        if len(points) < 2:  # a flow the file does not draw: a straight line
            if flow.source not in shapes or flow.target not in shapes:
                continue
            points = _straight(shapes[flow.source], shapes[flow.target])
        edges.append(Edge(flow.id, flow.source, flow.target, tuple(points), flow.condition))
    return _framed(shapes, edges, automatic=False, offset=(left, top))


def layered(model: ProcessModel, note: str | None = None) -> Diagram:
    """The automatic layout (see the module's docstring)."""
    block = _lay_out(model, None)
    shapes = {n: _moved(shape, MARGIN, MARGIN) for n, shape in block.shapes.items()}
    edges = [Edge(e.id, e.source, e.target, tuple((x + MARGIN, y + MARGIN) for x, y in e.points),
                  e.condition) for e in block.edges]
    return _framed(shapes, edges, automatic=True, note=note)


@dataclass
class _Block:
    """A scope laid out from (0, 0): the process, or the inside of a sub-process."""

    shapes: dict[str, Shape]
    edges: list[Edge]
    width: float
    height: float


def _lay_out(model: ProcessModel, scope: str | None) -> _Block:
    ids = [n for n, node in model.nodes.items() if node.parent == scope]
    inside = set(ids)
    flows = [f for f in model.flows if f.source in inside]
    inner = {n: _lay_out(model, n) for n in ids if model.nodes[n].kind == SUB_PROCESS}
    sizes = {n: _size(model.nodes[n].kind) for n in ids}
    for n, block in inner.items():
        sizes[n] = (block.width + 2 * SCOPE_PADDING, block.height + SCOPE_TITLE + SCOPE_PADDING)
    hosts = {n: on for n in ids  # boundary events: on their activity
             if (on := model.nodes[n].attached_to) is not None and on in inside}
    order = _reach_order(model, ids, flows)
    back = _back_edges(model, order, flows)
    column: dict[str, int] = {}
    for node_id in _topological(order, flows, back, hosts):
        if node_id in hosts:
            column[node_id] = column.get(hosts[node_id], 0)
            continue
        incoming = [column[f.source] + 1 for f in flows
                    if f.target == node_id and (f.source, f.target) not in back
                    and f.source in column]
        column[node_id] = max(incoming, default=0)
    columns: dict[int, list[str]] = {}
    for node_id in order:
        if node_id not in hosts:
            columns.setdefault(column[node_id], []).append(node_id)
    tallest = max((sum(sizes[n][1] for n in ids) + ROW_GAP * (len(ids) - 1)
                   for ids in columns.values()), default=0.0)
    shapes: dict[str, Shape] = {}
    edges: list[Edge] = []
    x = 0.0
    for index in sorted(columns):
        stacked = columns[index]
        width = max(sizes[n][0] for n in stacked)
        height = sum(sizes[n][1] for n in stacked) + ROW_GAP * (len(stacked) - 1)
        y = (tallest - height) / 2
        for node_id in stacked:
            w, h = sizes[node_id]
            node = model.nodes[node_id]
            shapes[node_id] = Shape(node_id, node.kind, node.name, x + (width - w) / 2, y, w, h)
            if node_id in inner:  # its inside, drawn over it
                dx, dy = shapes[node_id].x + SCOPE_PADDING, y + SCOPE_TITLE
                block = inner[node_id]
                shapes.update({n: _moved(s, dx, dy) for n, s in block.shapes.items()})
                edges += [Edge(e.id, e.source, e.target,
                               tuple((px + dx, py + dy) for px, py in e.points), e.condition)
                          for e in block.edges]
            y += h + ROW_GAP
        x += width + COLUMN_GAP
    placed: dict[str, int] = {}
    for node_id, host_id in hosts.items():  # on the host's lower edge, from its right end
        host, node = shapes[host_id], model.nodes[node_id]
        placed[host_id] = placed.get(host_id, 0) + 1
        shapes[node_id] = Shape(
            node_id, node.kind, node.name,
            host.x + host.width - placed[host_id] * (EVENT_SIZE + 6),
            host.y + host.height - EVENT_SIZE / 2, EVENT_SIZE, EVENT_SIZE)
    below = tallest + EVENT_SIZE / 2 + 20  # where flows that go back run, one each
    for flow in flows:
        source, target = shapes[flow.source], shapes[flow.target]
        if flow.source in hosts and target.x > source.x:
            points = _from_boundary(source, target)
        elif ((flow.source, flow.target) in back or target.x <= source.x
              or _blocked(_elbow(source, target), shapes, (flow.source, flow.target))):
            points = [(source.center[0], source.y + source.height), (source.center[0], below),
                      (target.center[0], below), (target.center[0], target.y + target.height)]
            below += 12
        else:
            points = _elbow(source, target)
        edges.append(Edge(flow.id, flow.source, flow.target, tuple(points), flow.condition))
    right = max([s.x + s.width for s in shapes.values()]
                + [px for e in edges for px, _ in e.points], default=0.0)
    bottom = max([s.y + s.height for s in shapes.values()]
                 + [py for e in edges for _, py in e.points], default=0.0)
    return _Block(shapes, edges, right, bottom)


def _moved(shape: Shape, dx: float, dy: float) -> Shape:
    return Shape(shape.id, shape.kind, shape.name, shape.x + dx, shape.y + dy, shape.width,
                 shape.height)


def _framed(shapes: dict[str, Shape], edges: Iterable[Edge], *, automatic: bool,
            note: str | None = None, offset: Point = (0.0, 0.0)) -> Diagram:
    edges = tuple(edges)
    xs = [s.x + s.width for s in shapes.values()] + [p[0] for e in edges for p in e.points]
    ys = [s.y + s.height for s in shapes.values()] + [p[1] for e in edges for p in e.points]
    return Diagram(shapes, edges, max(xs, default=0.0) + MARGIN + LABEL_ROOM,
                   max(ys, default=0.0) + MARGIN + LABEL_ROOM / 2, automatic, note, offset)


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


def _reach_order(model: ProcessModel, ids: list[str], flows: list[Flow]) -> list[str]:
    """A scope's nodes in the order a walk from its start reaches them, then the others."""
    after: dict[str, list[str]] = {}
    for flow in flows:
        after.setdefault(flow.source, []).append(flow.target)
    seen: dict[str, None] = {}
    queue = [n for n in ids if model.nodes[n].kind == START_EVENT] or ids[:1]
    while queue:
        node_id = queue.pop(0)
        if node_id in seen:
            continue
        seen[node_id] = None
        queue += [target for target in after.get(node_id, []) if target not in seen]
    return list(seen) + [n for n in ids if n not in seen]


def _back_edges(model: ProcessModel, order: list[str], flows: list[Flow]
                ) -> set[tuple[str, str]]:
    """The flows that close a loop, found by a depth-first walk from the start."""
    after: dict[str, list[str]] = {}
    for flow in flows:
        after.setdefault(flow.source, []).append(flow.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    for root in order:
        if root in state:
            continue
        stack = [(root, iter(after.get(root, [])))]
        state[root] = 1
        while stack:
            node_id, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(target) == 1:
                back.add((node_id, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(after.get(target, []))))
    return back


def _topological(order: list[str], flows: list[Flow], back: set[tuple[str, str]],
                 hosts: dict[str, str]) -> list[str]:
    """Each node after those whose flows lead to it, a boundary event after its activity."""
    after: dict[str, list[str]] = {n: [] for n in order}
    for flow in flows:
        if (flow.source, flow.target) not in back:
            after[flow.source].append(flow.target)
    for node_id, host_id in hosts.items():
        after[host_id].append(node_id)
    remaining = dict.fromkeys(order, 0)
    for targets in after.values():
        for target in targets:
            remaining[target] += 1
    ready = [n for n in order if remaining[n] == 0]
    done: list[str] = []
    while ready:
        node_id = ready.pop(0)
        done.append(node_id)
        for target in after[node_id]:
            remaining[target] -= 1
            if remaining[target] == 0:
                ready.append(target)
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


def _from_boundary(source: Shape, target: Shape) -> list[Point]:
    """Down from a boundary event, then across to its target."""
    x, bottom = source.center[0], source.y + source.height
    ty = target.center[1]
    if ty >= bottom + 15:
        return [(x, bottom), (x, ty), (target.x, ty)]
    middle = (x + target.x) / 2
    return [(x, bottom), (x, bottom + 15), (middle, bottom + 15), (middle, ty), (target.x, ty)]


def _straight(source: Shape, target: Shape) -> list[Point]:
    return [source.center, target.center]
