"""Where an instance has been on its diagram, as far as the mock can tell.

The engine keeps no activity history, only what an instance started and ended in, the user
tasks it created and where its tokens wait. Those nodes are certain; between two of them the
path is inferred as the shortest chain of nodes that create no user task (gateways, script,
service and mail tasks, events; a boundary event follows its activity, a sub-process's start
its sub-process), and the page says that it is inferred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..engine.model import START_EVENT, USER_TASK, ProcessInstance, ProcessModel, Task


@dataclass(frozen=True)
class Progress:
    active: frozenset[str]  # node ids a token waits in
    visited: frozenset[str]  # node ids passed (or waiting), certain or inferred
    taken: frozenset[str]  # flow ids taken (inferred)


def progress(instance: ProcessInstance, tasks: Iterable[Task]) -> Progress:
    model = instance.definition.model
    active = set(instance.active_activities)
    known = {instance.start_activity, *active, *(task.key for task in tasks)}
    if instance.end_activity is not None:
        known.add(instance.end_activity)
    known &= set(model.nodes)
    visited, taken = set(known), set()
    for node_id in known - {instance.start_activity}:
        nodes, flows = _way_back(model, node_id, known)
        visited |= nodes
        taken |= flows
    return Progress(frozenset(active), frozenset(visited), frozenset(taken))


def _way_back(model: ProcessModel, node_id: str, known: set[str]
              ) -> tuple[set[str], set[str]]:
    """The shortest chain of flows from a known node to `node_id` through nodes that create
    no user task (nothing if none)."""
    came_from: dict[str, tuple[str | None, str]] = {}  # node -> (flow, the node it leads to)
    queue = [node_id]
    while queue:
        current = queue.pop(0)
        for flow_id, source in _before(model, current):
            if source in came_from or source == node_id:
                continue
            came_from[source] = (flow_id, current)
            if source in known:
                nodes, flows = set(), set()
                step = source
                while step != node_id:
                    taken, step = came_from[step]
                    if taken is not None:
                        flows.add(taken)
                    nodes.add(step)
                return nodes, flows
            if model.nodes[source].kind != USER_TASK:
                queue.append(source)
    return set(), set()


def _before(model: ProcessModel, node_id: str) -> list[tuple[str | None, str]]:
    """What leads to a node: (flow id, source) for each flow into it, and, reached without a
    flow, a boundary event's activity and a sub-process's start event's sub-process."""
    before: list[tuple[str | None, str]] = [(f.id, f.source) for f in model.flows
                                            if f.target == node_id]
    node = model.nodes[node_id]
    if node.attached_to is not None:
        before.append((None, node.attached_to))
    if node.kind == START_EVENT and node.parent is not None:
        before.append((None, node.parent))
    return before
