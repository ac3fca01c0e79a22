"""A small IDM for workflow scripts: an in-memory store of IDM objects (`managed/...`,
`internal/...`, `repo/...`), the `openidm` object scripts and expressions call, the answers
a test scripts for what the store cannot answer, and the IDM journal of every call.

The store does what IDM's router does for these simple cases: create, read, update, patch
(Common REST's operations: add, remove, replace, increment, copy, move), delete and query
(`_queryFilter` with the mock's own evaluator, the common `_queryId`s, `_fields`). Any other
resource (`endpoint/...`, `system/...`, `sync`, `external/...`) and every `action` is answered
from what a test scripted (`IdmObjects.answer`); `external/email` `send`/`sendEmail` succeeds
by default. A call nobody can answer fails, loudly, with a message that says how to script it.
Each call is journaled: resource, method, arguments, answer or error, instance and activity.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from . import idm_relationships as relationships
from .engine.expressions import EngineObject
from .engine.groovy.values import GroovyError, to_string
from .http.queryfilter import QueryFilterError
from .http.queryfilter import parse as parse_filter

# Resources the store keeps (the first path segment).
STORED = ("managed", "internal", "repo")
# Where IDM keeps its managed users, which log in with their userName and password.
MANAGED_USERS = "managed/user"
# Fields the store keeps and never returns on a read (scripts, the journal, the admin API):
# managed.json's `password` is `"scope": "private"` and encrypted; IDM hands it to no one.
PRIVATE = frozenset({"password"})
# What IDM's default configuration gives a new object that lacks it (managed.json's default
# in 7+, onCreateUser.js's setDefaultFields in 6.5): a managed user is active.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {MANAGED_USERS: {"accountStatus": "active"}}
# What IDM's email service answers a send (EmailServiceImpl).
EMAIL_SENT = {"status": "OK"}


class IdmCallError(GroovyError):
    """A call IDM would refuse: its ResourceException class, status code and message."""

    def __init__(self, status: int, message: str) -> None:
        name = {400: "BadRequestException", 404: "NotFoundException",
                412: "PreconditionFailedException", 409: "ConflictException",
                501: "NotSupportedException"}.get(status, "InternalServerErrorException")
        super().__init__(message, f"org.forgerock.json.resource.{name}")
        self.status = status


@dataclass
class IdmCall:
    """One call a workflow made to IDM."""

    method: str
    resource: str
    arguments: dict[str, Any]
    answer: Any = None
    error: str | None = None
    instance_id: str | None = None
    activity_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "resource": self.resource,
                "arguments": self.arguments, "answer": self.answer, "error": self.error,
                "processInstanceId": self.instance_id, "activityId": self.activity_id}


@dataclass
class ScriptedAnswer:
    """What a test says IDM answers: for `method` (or any, None) on resources matching
    `resource` (exact, or a prefix ending in `*`), and for an action its name."""

    method: str | None
    resource: str
    answer: Any = None
    action: str | None = None
    error: tuple[int, str] | None = None
    used: int = 0

    def matches(self, method: str, resource: str, action: str | None) -> bool:
        if self.method not in (None, method):
            return False
        if self.action is not None and self.action != action:
            return False
        if self.resource.endswith("*"):
            return resource.startswith(self.resource[:-1])
        return resource.strip("/") == self.resource.strip("/")


@dataclass
class IdmObjects:
    """The store, the scripted answers and the journal."""

    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    answers: list[ScriptedAnswer] = field(default_factory=list)
    journal: list[IdmCall] = field(default_factory=list)
    # managed/user's userName -> the ids of the managed users that have it
    _user_names: dict[str, set[str]] = field(default_factory=dict, repr=False)

    # the store ---------------------------------------------------------------------------
    # Every write goes through `_put` and `_drop`, which keep the index of managed users by
    # userName that authentication asks on every request of a managed user.

    def seed(self, container: str, objects: list[Mapping[str, Any]]) -> None:
        """Put objects in a container (`managed/user`); each needs an `_id`. A managed user's
        userName must be no other managed user's (IDM's valid-username policy)."""
        container = container.strip("/")
        for item in objects:
            if not isinstance(item, Mapping) or not isinstance(item.get("_id"), str):
                raise ValueError(f"an object of {container} needs an _id string: {item!r}")
        if container == MANAGED_USERS:
            self._check_user_names(objects)
        for item in objects:
            self._put(container, item["_id"], {**_with_defaults(container, _copy(dict(item))),
                                               "_rev": str(item.get("_rev", "1"))})

    def load(self, containers: Mapping[str, list[Mapping[str, Any]]]) -> None:
        """Replace every object with these, as `containers(private=True)` gave them."""
        self.clear_objects()
        for container, objects in containers.items():
            for item in objects:
                self._put(container.strip("/"), item["_id"], _copy(dict(item)))

    def clear_objects(self) -> None:
        self.objects.clear()
        self._user_names.clear()

    def get(self, path: str) -> dict[str, Any] | None:
        container, object_id = _split(path)
        found = self.objects.get(container, {}).get(object_id)
        return _public(found) if found is not None else None

    def containers(self, *, private: bool = False) -> dict[str, list[dict[str, Any]]]:
        """Every object by container; with their private fields (a snapshot) or as a read
        shows them."""
        shown = _copy if private else _public
        return {name: [shown(o) for o in kept.values()]
                for name, kept in sorted(self.objects.items())}

    def managed_users_named(self, user_name: str) -> list[dict[str, Any]]:
        """The managed users with this userName, as stored (not copies: look, do not touch)."""
        ids = self._user_names.get(user_name)
        if not ids:
            return []
        kept = self.objects[MANAGED_USERS]
        return [kept[i] for i in ids]

    def managed_users(self) -> list[dict[str, Any]]:
        """Every managed user, as stored (not copies: look, do not touch)."""
        return list(self.objects.get(MANAGED_USERS, {}).values())

    def _check_user_names(self, objects: list[Mapping[str, Any]]) -> None:
        taken = {name: set(ids) for name, ids in self._user_names.items()}
        for item in objects:
            name = item.get("userName")
            if not isinstance(name, str):
                continue
            others = taken.setdefault(name, set()) - {item["_id"]}
            if others:
                raise ValueError(f"managed/user/{item['_id']} has the userName {name!r} of "
                                 f"managed/user/{min(others)}: IDM keeps user names unique")
            taken[name].add(item["_id"])

    def _put(self, container: str, object_id: str, stored: dict[str, Any]) -> None:
        kept = self.objects.setdefault(container, {})
        if container == MANAGED_USERS:
            self._unindex(object_id, kept.get(object_id))
            name = stored.get("userName")
            if isinstance(name, str):
                self._user_names.setdefault(name, set()).add(object_id)
        kept[object_id] = stored

    def _drop(self, container: str, object_id: str) -> None:
        kept = self.objects[container]
        if container == MANAGED_USERS:
            self._unindex(object_id, kept.get(object_id))
        del kept[object_id]

    def _unindex(self, object_id: str, previous: Mapping[str, Any] | None) -> None:
        name = None if previous is None else previous.get("userName")
        if isinstance(name, str) and name in self._user_names:
            self._user_names[name].discard(object_id)
            if not self._user_names[name]:
                del self._user_names[name]

    def create(self, container: str, new_id: str | None, content: Any) -> dict[str, Any]:
        container = container.strip("/")
        relationship = relationships.split(container)
        if relationship is not None and relationship[3] is None:
            return self._relate(*relationship[:3], content)
        if not isinstance(content, dict):
            raise IdmCallError(400, "The request content must be a JSON object")
        object_id = new_id or (content.get("_id") if isinstance(content.get("_id"), str)
                               else None) or str(uuid.uuid4())
        if object_id in self.objects.get(container, {}):
            raise IdmCallError(412, f"Create rejected as Object with same ID already exists. "
                               f"{container}/{object_id}")
        stored = {**_with_defaults(container, _copy(content)), "_id": object_id, "_rev": "1"}
        self._put(container, object_id, stored)
        return _public(stored)

    def read(self, path: str) -> dict[str, Any] | None:
        relationship = relationships.split(path)
        if relationship is not None and relationship[3] is not None:
            return next((i for i in self._references(*relationship[:3])
                         if i["_id"] == relationship[3]), None)
        return self.get(path)

    # relationships (`managed/user/{id}/roles`): kept in the owner's field ----------------

    def _owner(self, container: str, owner_id: str) -> dict[str, Any]:
        owner = self.objects.get(container, {}).get(owner_id)
        if owner is None:
            raise IdmCallError(404, f"Object {owner_id} not found in {container}")
        return owner

    def _references(self, container: str, owner_id: str, field: str) -> list[dict[str, Any]]:
        """A relationship collection's items, as IDM shows them."""
        kept = self._owner(container, owner_id).get(field)
        owner = f"{container}/{owner_id}"
        return [relationships.shown(owner, field, i) for i in kept or []
                if isinstance(i, dict) and isinstance(i.get("_ref"), str)]

    def _relate(self, container: str, owner_id: str, field: str, content: Any
                ) -> dict[str, Any]:
        owner = self._owner(container, owner_id)
        try:
            reference = relationships.new_reference(content)
        except ValueError as error:
            raise IdmCallError(400, str(error)) from None
        kept = owner.get(field)
        # The owner's revision stays: IDM keeps relationships apart from the object.
        self._put(container, owner_id, {**owner, field: [*(kept if isinstance(kept, list)
                                                            else []), reference]})
        return relationships.shown(f"{container}/{owner_id}", field, reference)

    def _unrelate(self, container: str, owner_id: str, field: str, rel_id: str
                  ) -> dict[str, Any]:
        owner = self._owner(container, owner_id)
        kept = owner.get(field)
        items: list[Any] = kept if isinstance(kept, list) else []
        path = f"{container}/{owner_id}"
        for index, item in enumerate(items):
            if relationships.shown(path, field, item).get("_id") == rel_id:
                self._put(container, owner_id,
                          {**owner, field: items[:index] + items[index + 1:]})
                return relationships.shown(path, field, item)
        raise IdmCallError(404, f"Object {rel_id} not found in {path}/{field}")

    def _existing(self, path: str, rev: Any) -> tuple[str, dict[str, Any], str]:
        """The container, the object as stored and its id; 404 or 412 as IDM refuses."""
        if relationships.split(path) is not None:
            raise IdmCallError(501, "mockidm changes a relationship by creating and deleting "
                               "it, not by update or patch")
        container, object_id = _split(path)
        kept = self.objects.get(container, {})
        if object_id not in kept:
            raise IdmCallError(404, f"Object {object_id} not found in {container}")
        current = kept[object_id]
        if rev is not None and to_string(rev) not in ("*", current["_rev"]):
            raise IdmCallError(412, "Update rejected as current Object revision "
                               f"{current['_rev']} is different than expected by caller "
                               f"({to_string(rev)}), the object has changed since retrieval.")
        return container, current, object_id

    def update(self, path: str, rev: Any, content: Any) -> dict[str, Any]:
        container, current, object_id = self._existing(path, rev)
        if not isinstance(content, dict):
            raise IdmCallError(400, "The request content must be a JSON object")
        # A script's read never shows a private field, so an update that lacks one keeps it:
        # in IDM the script read it (encrypted) and wrote it back.
        kept = {k: current[k] for k in PRIVATE if k in current and k not in content}
        stored = {**_copy(content), **kept, "_id": object_id,
                  "_rev": str(int(current["_rev"]) + 1)}
        self._put(container, object_id, stored)
        return _public(stored)

    def patch(self, path: str, rev: Any, operations: Any) -> dict[str, Any]:
        container, current, object_id = self._existing(path, rev)
        if isinstance(operations, dict):
            operations = [operations]
        if not isinstance(operations, list):
            raise IdmCallError(400, "The patch request is not a list of operations")
        patched = _copy(current)
        for operation in operations:
            try:
                _apply(patched, operation)
            except (TypeError, ValueError, IndexError, KeyError, AttributeError):
                # A field through a value that is no object or array, an index out of range
                raise IdmCallError(400, "The patch operation cannot be applied to the field "
                                   f"{to_string(operation.get('field'))}") from None
        patched["_id"] = object_id
        patched["_rev"] = str(int(current["_rev"]) + 1)
        self._put(container, object_id, patched)
        return _public(patched)

    def delete(self, path: str, rev: Any) -> dict[str, Any]:
        relationship = relationships.split(path)
        if relationship is not None and relationship[3] is not None:
            return self._unrelate(*relationship[:3], relationship[3])
        container, current, object_id = self._existing(path, rev)
        self._drop(container, object_id)
        return _public(current)

    def query(self, container: str, params: Any, fields: Any = None) -> dict[str, Any] | None:
        """The store's answer, or None when it has none (an unknown _queryId)."""
        container = container.strip("/")
        params = dict(params or {})
        relationship = relationships.split(container)
        if relationship is not None and relationship[3] is None:
            items = self._references(*relationship[:3])
        else:
            items = [_public(o) for o in self.objects.get(container, {}).values()]
        if "_queryFilter" in params:
            try:
                query = _filter(to_string(params["_queryFilter"]))
            except QueryFilterError as error:
                raise IdmCallError(400, str(error)) from None
            found = [o for o in items if query.matches(o)]
        elif "_queryId" in params:
            query_id = params["_queryId"]
            if query_id == "query-all-ids":
                found = [{"_id": o["_id"], "_rev": o["_rev"]} for o in items]
            elif query_id == "query-all":
                found = items
            elif query_id == "for-userName":
                found = [o for o in items if o.get("userName") == params.get("uid")]
            elif query_id == "credential-query":  # what IDM authenticates a user with
                found = [o for o in items if o.get("userName") == params.get("username")
                         and o.get("accountStatus") == "active"]
            elif query_id == "get-by-field-value":
                found = [o for o in items
                         if to_string(o.get(to_string(params.get("field")))) ==
                         to_string(params.get("value"))]
            else:
                return None
        else:
            raise IdmCallError(400, "Query request does not contain _queryId, _queryExpression "
                               "or _queryFilter")
        wanted = fields if fields is not None else params.get("_fields")
        if wanted:
            names = [f.strip().strip("/") for f in (
                wanted if isinstance(wanted, list) else to_string(wanted).split(","))]
            found = [{k: v for k, v in o.items() if k in ("_id", "_rev") or k in names}
                     for o in found]
        return {"result": found, "resultCount": len(found), "pagedResultsCookie": None,
                "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1,
                "remainingPagedResults": -1}

    # scripted answers --------------------------------------------------------------------

    def answer(self, resource: str, answer: Any = None, *, method: str | None = None,
               action: str | None = None, error: tuple[int, str] | None = None) -> None:
        """Script what IDM answers a call the store does not answer (the latest wins)."""
        self.answers.insert(0, ScriptedAnswer(method, resource, _copy(answer), action,
                                              error))

    def scripted(self, method: str, resource: str, action: str | None = None
                 ) -> ScriptedAnswer | None:
        for scripted in self.answers:
            if scripted.matches(method, resource, action):
                scripted.used += 1
                return scripted
        return None

    def facade(self, instance_id: str | None, activity_id: str | None) -> OpenIDM:
        return OpenIDM(self, instance_id, activity_id)

    def calls(self, method: str | None = None, resource: str | None = None
              ) -> list[IdmCall]:
        return [c for c in self.journal
                if (method is None or c.method == method)
                and (resource is None or _resource_matches(resource, c.resource))]

    def reset(self) -> None:
        self.clear_objects()
        self.answers.clear()
        self.journal.clear()


def _copy(value: Any) -> Any:
    """A copy of JSON-like data (what a script gets is its own; what the store keeps stays
    the store's): dicts and lists copied, anything else shared, as it cannot change."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return value


def _public(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a read shows of a stored object: a copy without its private fields."""
    return {k: _copy(v) for k, v in stored.items() if k not in PRIVATE}


def _with_defaults(container: str, content: dict[str, Any]) -> dict[str, Any]:
    """The content with IDM's defaults for what it lacks (changed in place)."""
    for name, value in DEFAULTS.get(container, {}).items():
        content.setdefault(name, _copy(value))
    return content


@lru_cache(maxsize=256)
def _filter(text: str) -> Any:
    return parse_filter(text)


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern.endswith("*"):
        return resource.startswith(pattern[:-1])
    return resource.strip("/") == pattern.strip("/")


def _split(path: str) -> tuple[str, str]:
    path = to_string(path).strip("/")
    if "/" not in path:
        raise IdmCallError(400, f"The resource {path} names no object")
    container, object_id = path.rsplit("/", 1)
    return container, object_id


def stored(resource: str) -> bool:
    return to_string(resource).strip("/").split("/", 1)[0] in STORED


# Patch ------------------------------------------------------------------------------------------

def _pointer(text: Any) -> list[str]:
    parts = [p.replace("~1", "/").replace("~0", "~")
             for p in to_string(text).strip("/").split("/")]
    if not parts or parts == [""]:
        raise IdmCallError(400, "A patch operation needs a field")
    return parts


def _parent(target: dict[str, Any], parts: list[str], create: bool) -> Any:
    current: Any = target
    for part in parts[:-1]:
        if isinstance(current, list):
            current = current[int(part)]
        else:
            if part not in current or current[part] is None:
                if not create:
                    return None
                current[part] = {}
            current = current[part]
    return current


def _apply(target: dict[str, Any], operation: Any) -> None:
    """One Common REST patch operation (IDM's semantics: `add` to an array field adds the
    value to it; `remove` with a value takes that value out of an array)."""
    if not isinstance(operation, dict) or "operation" not in operation:
        raise IdmCallError(400, f"Invalid patch operation: {to_string(operation)}")
    name = operation["operation"]
    parts = _pointer(operation.get("field"))
    value = _copy(operation.get("value"))
    if name in ("add", "replace", "increment"):
        parent = _parent(target, parts, create=True)
        last = parts[-1]
        if isinstance(parent, list):
            if last == "-":
                parent.append(value)
            else:
                parent.insert(int(last), value) if name == "add" else parent.__setitem__(
                    int(last), value)
            return
        if name == "increment":
            current = parent.get(last)
            if not isinstance(current, int | float) or not isinstance(value, int | float):
                raise IdmCallError(400, f"Cannot increment the field {operation.get('field')}")
            parent[last] = current + value
        elif name == "add" and isinstance(parent.get(last), list):
            parent[last].extend(value if isinstance(value, list) else [value])
        else:
            parent[last] = value
    elif name == "remove":
        parent = _parent(target, parts, create=False)
        if parent is None:
            return
        last = parts[-1]
        if isinstance(parent, list):
            del parent[int(last)]
        elif "value" in operation and isinstance(parent.get(last), list):
            drop = value if isinstance(value, list) else [value]
            parent[last] = [v for v in parent[last] if v not in drop]
        else:
            parent.pop(last, None)
    elif name in ("copy", "move"):
        source_parts = _pointer(operation.get("from"))
        source_parent = _parent(target, source_parts, create=False)
        if source_parent is None or source_parts[-1] not in source_parent:
            raise IdmCallError(400, f"The field {operation.get('from')} does not exist")
        moved = _copy(source_parent[source_parts[-1]])
        if name == "move":
            del source_parent[source_parts[-1]]
        _parent(target, parts, create=True)[parts[-1]] = moved
    else:
        raise IdmCallError(400, f"Unsupported patch operation: {name}")


# openidm ----------------------------------------------------------------------------------------

class OpenIDM(EngineObject):
    """`openidm` in a workflow's scripts and expressions (IDM's script function set): each
    call goes to the store or the scripted answers and into the journal."""

    java_class = "org.forgerock.openidm.script.ResourceFunctions"

    def __init__(self, idm: IdmObjects, instance_id: str | None,
                 activity_id: str | None) -> None:
        self.idm, self.instance_id, self.activity_id = idm, instance_id, activity_id

    # (name, the argument names by arity: IDM's functions take their optional ones last)
    SIGNATURES: ClassVar[dict[str, dict[int, tuple[str, ...]]]] = {
        "create": {2: ("resourceName", "content"),
                   3: ("resourceContainer", "newResourceId", "content"),
                   4: ("resourceContainer", "newResourceId", "content", "params"),
                   5: ("resourceContainer", "newResourceId", "content", "params", "fields")},
        "read": {1: ("resourceName",), 2: ("resourceName", "params"),
                 3: ("resourceName", "params", "fields")},
        "update": {3: ("resourceName", "rev", "value"),
                   4: ("resourceName", "rev", "value", "params"),
                   5: ("resourceName", "rev", "value", "params", "fields")},
        "patch": {3: ("resourceName", "rev", "value"),
                  4: ("resourceName", "rev", "value", "params"),
                  5: ("resourceName", "rev", "value", "params", "fields")},
        "delete": {2: ("resourceName", "rev"), 3: ("resourceName", "rev", "params"),
                   4: ("resourceName", "rev", "params", "fields")},
        "query": {2: ("resourceName", "params"), 3: ("resourceName", "params", "fields")},
        "action": {2: ("resourceName", "actionName"),
                   3: ("resourceName", "actionName", "content"),
                   4: ("resourceName", "actionName", "content", "params"),
                   5: ("resourceName", "actionName", "content", "params", "fields")},
    }

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        return {name: (lambda *args, n=name: self.call(n, list(args)))
                for name in self.SIGNATURES}

    def invoke(self, name: str, arguments: list[Any]) -> Any:
        return self.call(name, arguments)

    def call(self, name: str, arguments: list[Any]) -> Any:
        signature = self.SIGNATURES.get(name, {}).get(len(arguments))
        if signature is None:
            raise GroovyError(
                f"No signature of method: {self.java_class}.{name}() is applicable for "
                f"{len(arguments)} arguments", "groovy.lang.MissingMethodException")
        named = dict(zip(signature, _copy(arguments), strict=True))
        resource = to_string(named.get("resourceName", named.get("resourceContainer")))
        entry = IdmCall(name, resource, named, instance_id=self.instance_id,
                        activity_id=self.activity_id)
        self.idm.journal.append(entry)
        try:
            entry.answer = self._answer(name, resource, named)
        except GroovyError as error:
            entry.error = str(error)
            raise
        return _copy(entry.answer)

    def _answer(self, name: str, resource: str, named: dict[str, Any]) -> Any:
        action = to_string(named["actionName"]) if name == "action" else None
        scripted = self.idm.scripted(name, resource, action)
        if scripted is not None:
            if scripted.error is not None:
                raise IdmCallError(*scripted.error)
            return _copy(scripted.answer)
        store = self.idm
        if name == "action":
            if resource.strip("/") == "external/email" and action in ("send", "sendEmail"):
                return dict(EMAIL_SENT)
        elif stored(resource):
            if name == "create":
                new_id = named.get("newResourceId")
                return store.create(resource, None if new_id is None else to_string(new_id),
                                    named["content"])
            if name == "read":
                return store.read(resource)  # null when there is none, as IDM's read
            if name == "update":
                return store.update(resource, named["rev"], named["value"])
            if name == "patch":
                return store.patch(resource, named["rev"], named["value"])
            if name == "delete":
                return store.delete(resource, named["rev"])
            if name == "query":
                found = store.query(resource, named["params"], named.get("fields"))
                if found is not None:
                    return found
        what = f"{name}{'' if action is None else f' {action!r}'} on {resource}"
        raise GroovyError(
            f"mockidm cannot answer {what}: script its answer with "
            f"mock.idm_answer({resource!r}, ..., method={name!r}"
            f"{'' if action is None else f', action={action!r}'})",
            "mockidm.UnansweredIdmCall")


class IdentityServer(EngineObject):
    """`identityServer` in scripts and expressions: IDM's boot properties, the defaults of
    its boot.properties (the ports) unless a test sets others; an unknown one is null."""

    java_class = "org.forgerock.openidm.core.IdentityServer"
    DEFAULTS: ClassVar[dict[str, str]] = {
        "openidm.port.http": "8080", "openidm.port.https": "8443",
        "openidm.port.mutualauth": "8444", "openidm.host": "localhost"}

    def __init__(self, properties: Mapping[str, str] | None = None) -> None:
        self.values = {**self.DEFAULTS, **(properties or {})}

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        return {"getProperty": self.get_property}

    def invoke(self, name: str, arguments: list[Any]) -> Any:
        if name == "getProperty" and len(arguments) in (1, 2):
            found = self.values.get(to_string(arguments[0]))
            return found if found is not None or len(arguments) == 1 else arguments[1]
        return super().invoke(name, arguments)

    def get_property(self, name: Any) -> str | None:
        return self.values.get(to_string(name))


def describe_call(call: IdmCall) -> str:
    arguments = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items()
                          if k not in ("resourceName", "resourceContainer"))
    outcome = f"error {call.error}" if call.error else "ok"
    return (f"{call.method} {call.resource} ({arguments}) -> {outcome} "
            f"[instance {call.instance_id}, activity {call.activity_id}]")


_ID = re.compile(r"^[A-Za-z0-9_.@-]+$")
