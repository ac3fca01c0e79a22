"""IDM objects over Common REST: the store that workflow scripts read and write
(`idm_objects.py`), served under `managed/{type}` and `internal/{type}`, and the
relationship collections of `idm_relationships.py` (docs/idm-objects.md).

Handlers are thin, as the workflow ones: one store call each, its refusal turned into IDM's
error envelope. There is no schema: any type holds any JSON object, nothing is validated
beyond what Common REST checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import idm_relationships as relationships
from ..idm_objects import IdmCallError
from .call import Call, Reply
from .errors import IdmError
from .operations import QUERY_ALL_IDS, SortPolicy, filtered, operation, sort_items


class _EveryField(Mapping[str, str]):
    """Sort keys of an object without a schema: any top-level field sorts, by its name."""

    def __getitem__(self, key: str) -> str:
        return key.strip("/")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


_SORT = SortPolicy(_EveryField(), unknown_status=400)


def _store_call(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except IdmCallError as error:
        raise IdmError(error.status, error.message) from None


def _revision(call: Call) -> str | None:
    """The If-Match revision, without the quotes of an HTTP entity tag (`"1"` is `1`)."""
    rev = call.request.if_match
    return rev[1:-1] if rev is not None and len(rev) > 1 and rev[0] == rev[-1] == '"' else rev


def _container(call: Call) -> str:
    return "/".join(call.request.path[:2])


def _shown(call: Call, container: str, stored: dict[str, Any]) -> dict[str, Any]:
    """An object as a read answers it: its relationships only when `_fields` asks for them
    (IDM's managed.json marks them `returnByDefault: false`), then as references."""
    hidden = relationships.relationship_fields(container)
    if not hidden:
        return stored
    if call.request.fields is None:
        return {k: v for k, v in stored.items() if k not in hidden}
    return relationships.shown_fields(container, str(stored.get("_id")), stored)


def _query(call: Call, container: str) -> Reply:
    request, store = call.request, call.state.idm
    if request.query_filter is not None:
        everything = _store_call(store.query, container, {"_queryId": "query-all"})
        items = filtered(everything["result"], call)
    elif request.query_id is not None:
        found = _store_call(store.query, container,
                            {**request.params, "_queryId": request.query_id})
        if found is None:
            raise IdmError(400, f"Unknown query id: {request.query_id}")
        items = found["result"]
    else:
        raise IdmError(400, "Query request does not contain _queryId, _queryExpression or "
                            "_queryFilter")
    if request.query_id != QUERY_ALL_IDS and relationships.split(container) is None:
        items = [_shown(call, container, i) for i in items]
    try:
        return Reply(items=sort_items(items, request.sort_keys, _SORT))
    except TypeError:  # two objects (JSON objects) compared: the mock has no order for them
        raise IdmError(400, "mockidm cannot sort by a field that holds JSON objects: "
                            f"{', '.join(request.sort_keys)}") from None


def _create(call: Call, container: str) -> Reply:
    request, store = call.request, call.state.idm
    new_id = request.new_resource_id
    if (new_id is not None and request.if_none_match is None
            and store.get(f"{container}/{new_id}") is not None):
        # A PUT without If-None-Match creates, or replaces what is there (upsert).
        return Reply(_shown(call, container, _store_call(
            store.update, f"{container}/{new_id}", None, request.content)))
    created = _store_call(store.create, container, new_id, request.content)
    return Reply(_shown(call, container, created), status=201,
                 location=f"{container}/{created['_id']}")


def _read(call: Call, container: str) -> Reply:
    path = f"{container}/{call.request.path[2]}"
    found = call.state.idm.read(path)
    if found is None:
        raise IdmError(404, f"Object {call.request.path[2]} not found in {container}")
    return Reply(_shown(call, container, found))


def _update(call: Call, container: str) -> Reply:
    path = f"{container}/{call.request.path[2]}"
    return Reply(_shown(call, container, _store_call(
        call.state.idm.update, path, _revision(call), call.request.content)))


def _patch(call: Call, container: str) -> Reply:
    path = f"{container}/{call.request.path[2]}"
    return Reply(_shown(call, container, _store_call(
        call.state.idm.patch, path, _revision(call), call.request.content)))


def _delete(call: Call, container: str) -> Reply:
    path = f"{container}/{call.request.path[2]}"
    return Reply(_shown(call, container, _store_call(
        call.state.idm.delete, path, _revision(call))))


@operation("queryManagedObjects")
@operation("queryInternalObjects")
def query_objects(call: Call) -> Reply:
    return _query(call, _container(call))


@operation("createManagedObject")
@operation("createInternalObject")
def create_object(call: Call) -> Reply:
    return _create(call, _container(call))


@operation("readManagedObject")
@operation("readInternalObject")
def read_object(call: Call) -> Reply:
    return _read(call, _container(call))


@operation("updateManagedObject")
@operation("updateInternalObject")
def update_object(call: Call) -> Reply:
    return _update(call, _container(call))


@operation("patchManagedObject")
@operation("patchInternalObject")
def patch_object(call: Call) -> Reply:
    return _patch(call, _container(call))


@operation("deleteManagedObject")
@operation("deleteInternalObject")
def delete_object(call: Call) -> Reply:
    return _delete(call, _container(call))


# relationships --------------------------------------------------------------------------------

def _relationship_collection(call: Call) -> str:
    """`managed/user/{id}/roles`; 404 for a field that is no relationship collection."""
    path = "/".join(call.request.path[:4])
    if relationships.split(path) is None:
        raise IdmError(404, f"Resource '{'/'.join(call.request.path[1:])}' not found")
    return path


@operation("queryRelationships")
def query_relationships(call: Call) -> Reply:
    return _query(call, _relationship_collection(call))


@operation("createRelationship")
def create_relationship(call: Call) -> Reply:
    if call.request.new_resource_id is not None:
        raise IdmError(501, "mockidm creates a relationship with POST ?_action=create only: "
                            "its id is the server's")
    collection = _relationship_collection(call)
    created = _store_call(call.state.idm.create, collection, None, call.request.content)
    return Reply(created, status=201, location=f"{collection}/{created['_id']}")


@operation("readRelationship")
def read_relationship(call: Call) -> Reply:
    collection = _relationship_collection(call)
    found = _store_call(call.state.idm.read, f"{collection}/{call.request.path[4]}")
    if found is None:
        raise IdmError(404, f"Object {call.request.path[4]} not found in {collection}")
    return Reply(found)


@operation("deleteRelationship")
def delete_relationship(call: Call) -> Reply:
    collection = _relationship_collection(call)
    return Reply(_store_call(call.state.idm.delete, f"{collection}/{call.request.path[4]}",
                             _revision(call)))
