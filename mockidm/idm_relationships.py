"""Relationships of IDM objects, as IDM's default managed.json declares the common ones: a
managed user's `roles` (to `managed/role`) and `authzRoles` (to `internal/role`) are
collections at `managed/user/{id}/roles` and `.../authzRoles`; `manager` is one reference.

The store keeps a relationship where a client wrote it, in the owner's field: a list of
`{"_ref": ...}` objects (or one, for `manager`). What IDM shows of one, here and in its
REST answers, is the reference with `_refResourceCollection`, `_refResourceId` and
`_refProperties` (the relationship's own `_id` and `_rev`). There is no schema: no reverse
side (a role's `members`), no validation that the referenced object exists, no temporal
constraints (docs/idm-objects.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

# container -> relationship field -> the collection its references point to (managed.json)
COLLECTIONS: Mapping[str, Mapping[str, str]] = {
    "managed/user": {"roles": "managed/role", "authzRoles": "internal/role"}}
# container -> the fields that hold one reference
SINGLE: Mapping[str, frozenset[str]] = {"managed/user": frozenset({"manager"})}
# A relationship written without an id (a client's `{"_ref": ...}`) gets one derived from
# where it is, so that reading it twice names it the same.
_NAMESPACE = uuid.UUID("6f1c3b0e-8d0a-4a53-9b1e-5f2f4e0a7c11")
NEW_REVISION = "1"


def relationship_fields(container: str) -> frozenset[str]:
    """Every relationship field of a container (IDM returns none of them by default)."""
    return frozenset(COLLECTIONS.get(container, {})) | SINGLE.get(container, frozenset())


def split(path: str) -> tuple[str, str, str, str | None] | None:
    """(container, owner id, field, relationship id or None) for a relationship path such as
    `managed/user/bjensen/roles[/<id>]`; None for any other path."""
    parts = path.strip("/").split("/")
    if len(parts) not in (4, 5):
        return None
    container = "/".join(parts[:2])
    if parts[3] not in COLLECTIONS.get(container, {}):
        return None
    return container, parts[2], parts[3], parts[4] if len(parts) == 5 else None


def shown(owner: str, field: str, item: Any) -> Any:
    """A stored reference as IDM shows it; anything that is no reference, as it is."""
    if not isinstance(item, Mapping) or not isinstance(item.get("_ref"), str):
        return item
    ref = item["_ref"].strip("/")
    collection, _, resource_id = ref.rpartition("/")
    properties = dict(item.get("_refProperties") or {})
    rel_id = properties.get("_id") or str(uuid.uuid5(_NAMESPACE, f"{owner}/{field}/{ref}"))
    rev = str(properties.get("_rev", NEW_REVISION))
    return {"_id": rel_id, "_rev": rev, "_ref": ref, "_refResourceCollection": collection,
            "_refResourceId": resource_id,
            "_refProperties": {**properties, "_id": rel_id, "_rev": rev}}


def shown_fields(container: str, owner_id: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """An object with its relationship fields as IDM shows them."""
    result = dict(stored)
    owner = f"{container}/{owner_id}"
    for name in relationship_fields(container) & result.keys():
        value = result[name]
        result[name] = ([shown(owner, name, i) for i in value] if isinstance(value, list)
                        else shown(owner, name, value))
    return result


def new_reference(content: Any) -> dict[str, Any]:
    """What the store keeps of a relationship a client creates: its `_ref`, its properties
    and a new id (raises ValueError when the content names nothing)."""
    if not isinstance(content, Mapping) or not isinstance(content.get("_ref"), str) \
            or "/" not in content["_ref"].strip("/"):
        raise ValueError("a relationship needs a _ref naming an object, "
                         "like {\"_ref\": \"managed/role/employee\"}")
    properties = content.get("_refProperties")
    properties = dict(properties) if isinstance(properties, Mapping) else {}
    properties.update({"_id": str(uuid.uuid4()), "_rev": NEW_REVISION})
    return {"_ref": content["_ref"].strip("/"), "_refProperties": properties}
