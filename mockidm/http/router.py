"""Routing a CREST resource path to a resource of the spec.

Built from the spec's paths: an exact element is preferred to a template one, so
`processinstance/history` is the history collection, not the instance with id `history`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from ..spec import Operation
from .errors import IdmError


@dataclass
class Resource:
    template: str
    elements: tuple[str, ...]  # after the base path; `{name}` for a template element
    operations: dict[str, Operation] = field(default_factory=dict)  # CREST op -> operation
    # CREST op -> its operation or the error that refuses it, worked out on first use.
    verdicts: dict[str, Operation | IdmError] = field(default_factory=dict)

    # Cached: asked on every request, fixed once the router is built.
    @cached_property
    def is_collection(self) -> bool:
        # A path ending in an id is an instance; so is a singleton that declares a read. A
        # template that queries or creates (`managed/{objectType}`) is a collection.
        if "read" in self.operations:
            return False
        return (not self.elements[-1].startswith("{")
                or not self.operations.keys().isdisjoint(("query", "create")))

    @cached_property
    def other_operations_status(self) -> int:
        return max(op.other_operations_status for op in self.operations.values())


class Router:
    def __init__(self, operations: Iterable[Operation], base: str) -> None:
        self._by_length: dict[int, list[Resource]] = {}
        self._literal: dict[tuple[str, ...], Resource] = {}  # paths without a template
        self.services: set[str] = set()  # first path elements, like `workflow`
        resources: dict[str, Resource] = {}
        for op in operations:
            if not op.path.startswith(base + "/"):
                continue
            resource = resources.get(op.path)
            if resource is None:
                elements = tuple(op.path[len(base) + 1:].split("/"))
                resource = resources[op.path] = Resource(op.path, elements)
                self.services.add(elements[0])
                self._by_length.setdefault(len(elements), []).append(resource)
            resource.operations[op.crest] = op
            if not any(e.startswith("{") for e in resource.elements):
                self._literal[resource.elements] = resource
        for candidates in self._by_length.values():
            # Literal elements first, position by position.
            candidates.sort(key=lambda r: [e.startswith("{") for e in r.elements])

    def match(self, path: tuple[str, ...]) -> tuple[Resource, dict[str, str]] | None:
        literal = self._literal.get(path)
        if literal is not None:  # a literal path wins over any template of its length
            return literal, {}
        for resource in self._by_length.get(len(path), ()):
            params = {}
            for element, value in zip(resource.elements, path, strict=True):
                if element.startswith("{"):
                    params[element[1:-1]] = value
                elif element != value:
                    break
            else:
                return resource, params
        return None

    def literal_paths(self) -> list[str]:
        """The paths without a template element, like `workflow/processinstance`."""
        return ["/".join(elements) for elements in self._literal]

    def collection_of(self, path: tuple[str, ...]) -> Resource | None:
        """The collection resource exactly at `path` (for creates with a client-chosen id)."""
        found = self.match(path)
        return found[0] if found and found[0].is_collection else None
