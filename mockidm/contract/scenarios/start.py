"""Starting process instances (docs/process-instances.md): which definition starts, what comes back,
the business key, variables, deleting an instance."""

from __future__ import annotations

from typing import Any

from .. import expect
from ..outcome import Skip
from ..rules import rule
from ..target import Target, json_body

CREATED_KEYS = {"_id", "processInstanceId", "status", "businessKey", "processDefinitionId"}
VARIABLE = "mockidmContractVariable"
_CREATE = "POST workflow/processinstance?_action=create"


def _ids(items: list[dict[str, Any]]) -> list[Any]:
    return [item.get("_id") for item in items]


@rule("key-starts-latest",
      "Starting with `_key` starts the latest (highest) version deployed for that key.",
      "docs/process-instances.md#start",
      writes=True, needs="a process key deployed in two or more versions")
def key_starts_latest(t: Target) -> None:
    t.require_writes()
    versions = t.versions()
    several = {key: v for key, v in versions.items() if len(v) > 1}
    if not several:
        raise Skip("needs a process key deployed in two or more versions; none of the "
                   f"{len(versions)} keys here has two ({', '.join(sorted(versions)) or 'none'}). "
                   "Deploy a second version of one, or run the kit against `mockidm serve`, "
                   "whose samples deploy contractorOnboarding v1 and v2.")
    key, deployed = sorted(several.items())[0]
    latest = deployed[-1]
    response = t.start({"_key": key})
    body = t.started(response, f"start with _key {key!r}")
    expect.that(body.get("processDefinitionId") == latest.id, t,
                f"{_CREATE} with _key {key!r} did not start the latest version",
                f"processDefinitionId {latest.id!r} (version {latest.version} of "
                f"{[d.version for d in deployed]})",
                repr(body.get("processDefinitionId")), response)


@rule("definition-id-wins",
      "`_processDefinitionId` wins over `_key`, also when the key names another process.",
      "docs/process-instances.md#start",
      writes=True, needs="one deployed definition (two keys or versions: stronger)")
def definition_id_wins(t: Target) -> None:
    t.require_writes()
    versions = t.versions()
    older = [deployed[0] for deployed in versions.values() if len(deployed) > 1]
    chosen = older[0] if older else t.any_definition()
    others = [key for key in versions if key != chosen.key]
    cases = [("the _key of another process", others[0]) if others
             else ("a _key no process has", t.unique("noSuchKey"))]
    if chosen.id != versions[chosen.key][-1].id:
        cases.append(("its own _key, whose latest version is another", chosen.key))
    for label, key in cases:
        response = t.start({"_processDefinitionId": chosen.id, "_key": key})
        body = t.started(response, f"start {chosen.id} with {label}")
        expect.that(body.get("processDefinitionId") == chosen.id, t,
                    f"{_CREATE} with _processDefinitionId {chosen.id!r} and {label} "
                    f"({key!r}) did not start the given definition",
                    repr(chosen.id), repr(body.get("processDefinitionId")), response)


@rule("create-response-shape",
      "A start answers 201 with exactly _id, processInstanceId (equal), status "
      "(suspended|ended), businessKey, processDefinitionId.",
      "docs/process-instances.md#start", writes=True, needs="one deployed definition")
def create_response_shape(t: Target) -> None:
    t.require_writes()
    definition = t.any_definition()
    response = t.start({"_key": definition.key})
    what = f"{_CREATE} with _key {definition.key!r}"
    expect.status(t, response, 201, what)
    body = expect.body(t, response, what)
    expect.that(isinstance(body, dict) and set(body) == CREATED_KEYS, t,
                f"{what}: the answer's keys", sorted(CREATED_KEYS),
                sorted(body) if isinstance(body, dict) else body, response)
    expect.that(isinstance(body["_id"], str) and body["_id"] == body["processInstanceId"],
                t, f"{what}: _id and processInstanceId", "the same string id",
                f"{body['_id']!r} and {body['processInstanceId']!r}", response)
    expect.that(body["status"] in ("suspended", "ended"), t, f"{what}: status",
                "'suspended' (running) or 'ended'", repr(body["status"]), response)
    expect.that(body["businessKey"] is None, t, f"{what}: businessKey without _businessKey",
                "null", repr(body["businessKey"]), response)
    ids = [d.id for d in t.versions()[definition.key]]
    expect.that(body["processDefinitionId"] in ids, t, f"{what}: processDefinitionId",
                f"one of {ids}", repr(body["processDefinitionId"]), response)


@rule("business-key-returned",
      "`_businessKey` is kept: the create answer and the instance read return it.",
      "docs/process-instances.md#start, docs/process-instances.md#read",
      writes=True, needs="one deployed definition")
def business_key_returned(t: Target) -> None:
    t.require_writes()
    definition = t.any_definition()
    business_key = t.unique("bk")
    response = t.start({"_key": definition.key, "_businessKey": business_key})
    body = t.started(response, "start with a _businessKey")
    expect.that(body.get("businessKey") == business_key, t,
                f"{_CREATE} with _businessKey: the answer's businessKey",
                repr(business_key), repr(body.get("businessKey")), response)
    read = t.get(f"workflow/processinstance/{body['_id']}")
    what = f"GET workflow/processinstance/{body['_id']}"
    expect.status(t, read, 200, what)
    got = (json_body(read) or {}).get("businessKey")
    expect.that(got == business_key, t, f"{what}: businessKey", repr(business_key),
                repr(got), read)


@rule("business-key-query",
      "`filtered-query&processInstanceBusinessKey=K` finds the instances started with K, "
      "and only those.",
      "docs/process-instances.md#start", writes=True, needs="one deployed definition")
def business_key_query(t: Target) -> None:
    t.require_writes()
    definition = t.any_definition()
    wanted, other = t.unique("bk"), t.unique("bk")
    first = t.started(t.start({"_key": definition.key, "_businessKey": wanted}),
                      "start with a _businessKey")
    second = t.started(t.start({"_key": definition.key, "_businessKey": other}),
                       "start with a _businessKey")
    if first.get("businessKey") != wanted:
        raise Skip("the server does not return the business key it was given (see rule "
                   "business-key-returned), so a query by business key cannot be judged")
    response = t.get("workflow/processinstance", _queryId="filtered-query",
                     processInstanceBusinessKey=wanted)
    items = t.query_result(response, "query instances by business key")
    what = f"query processInstanceBusinessKey={wanted}"
    expect.that(first["_id"] in _ids(items), t, f"{what}: the instance started with it",
                f"instance {first['_id']!r} in the result", _ids(items), response)
    strays = [item.get("_id") for item in items if item.get("businessKey") != wanted]
    expect.that(second["_id"] not in _ids(items) and not strays, t,
                f"{what}: instances with another business key",
                "none (the filter filters)",
                f"{strays} (instance {second['_id']!r} has business key {other!r})", response)


@rule("extra-fields-are-variables",
      "Body fields other than _key, _processDefinitionId and _businessKey become process "
      "variables, found with `var-NAME=value`.",
      "docs/process-instances.md#start", writes=True, needs="one deployed definition")
def extra_fields_are_variables(t: Target) -> None:
    t.require_writes()
    definition = t.any_definition()
    token = t.unique("var")
    body = t.started(t.start({"_key": definition.key, VARIABLE: token}),
                     "start with an extra field")
    response = t.get("workflow/processinstance", _queryId="filtered-query",
                     **{f"var-{VARIABLE}": token})
    items = t.query_result(response, "query instances by variable")
    expect.that(body["_id"] in _ids(items), t,
                f"query var-{VARIABLE}={token}: the instance started with that field",
                f"instance {body['_id']!r} in the result", _ids(items), response)
    response = t.get("workflow/processinstance", _queryId="filtered-query",
                     **{f"var-{VARIABLE}": token + "-other"})
    items = t.query_result(response, "query instances by variable")
    expect.that(body["_id"] not in _ids(items), t,
                f"query var-{VARIABLE} with another value", f"not instance {body['_id']!r}",
                _ids(items), response)


@rule("delete-instance",
      "DELETE of a running instance answers 200 with its _id; it leaves the running "
      "instances and stays in history with a deleteReason.",
      "docs/process-instances.md#delete, docs/process-instances.md#history",
      writes=True, needs="one deployed definition")
def delete_instance(t: Target) -> None:
    t.require_writes("starts and deletes process instances")
    definition = t.any_definition()
    body = t.started(t.start({"_key": definition.key}), "start")
    instance_id = body["_id"]
    if body.get("status") == "ended":
        raise Skip(f"{definition.key} ended during its start: nothing running to delete")
    path = f"workflow/processinstance/{instance_id}"
    response = t.request("DELETE", path)
    expect.status(t, response, 200, f"DELETE {path}")
    got = (json_body(response) or {}).get("_id")
    expect.that(got == instance_id, t, f"DELETE {path}: the answer's _id", repr(instance_id),
                repr(got), response)
    response = t.get("workflow/processinstance", _queryId="filtered-query",
                     processInstanceId=instance_id)
    running = t.query_result(response, "query running instances")
    expect.that(instance_id not in _ids(running), t,
                f"after DELETE {path}: the running instances", f"without {instance_id!r}",
                _ids(running), response)
    history = t.get(f"workflow/processinstance/history/{instance_id}")
    what = f"after DELETE {path}: GET workflow/processinstance/history/{instance_id}"
    expect.status(t, history, 200, what)
    record = json_body(history) or {}
    expect.that(bool(record.get("endTime")) and bool(record.get("deleteReason")), t, what,
                "endTime and deleteReason set",
                f"endTime {record.get('endTime')!r}, deleteReason "
                f"{record.get('deleteReason')!r}", history)
    t.forget(instance_id)
