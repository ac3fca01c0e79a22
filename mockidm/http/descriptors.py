"""The API descriptors IDM serves: `?_api` (OpenAPI 2.0) and `?_crestapi` (Common REST's own
`ApiDescription`), both generated from the spec, so that they never say other than it does.

IDM builds them from its resource providers' descriptions (CREST's `api-descriptor` module;
`?_api` is CHF's `OpenApiRequestFilter` over CREST's `OpenApiTransformer`); the mock builds
them from `openapi.yaml` and `contracts/`: what it serves, not what a real IDM's would list
(docs/fidelity.md says where they differ).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from ..spec import HTTP_METHODS, load_spec, read_document
from ..spec_files import contracts_dir
from .call import Call, Reply
from .crest import DESCRIPTOR_OPERATIONS
from .errors import IdmError
from .operations import operation

CONTEXT = "/openidm"  # the spec's paths are written with it
CREST_API_ID = "frapi:openidm"  # CREST descriptor ids are `frapi:` URIs (low: IDM's not seen)
RESOURCE_VERSION = "1.0"  # every workflow resource is version 1.0
_CONTRACT_PREFIX = "contracts/"
_COUNT_POLICIES = ["NONE", "EXACT"]  # the ones IDM documents


@operation("describeApi")
def describe_api(call: Call) -> Reply:
    return Reply(_openapi(call.profile.executions_and_jobs))


@operation("describeCrestApi")
def describe_crest_api(call: Call) -> Reply:
    profile = call.profile
    full = _crest(profile.executions_and_jobs, profile.query_filter, profile.paging)
    wanted = call.request.path
    below = {path: tuple(path.strip("/").split("/")) for path in full["paths"]}
    below = {path: elements for path, elements in below.items()
             if _at_or_below(elements, wanted)}
    # As the router does, a literal element wins over an id: `processinstance/history` is
    # the history, not an instance.
    for i, element in enumerate(wanted):
        if any(elements[i] == element for elements in below.values()):
            below = {path: elements for path, elements in below.items()
                     if elements[i] == element}
    paths = {path: full["paths"][path] for path in below}
    if not paths:
        raise IdmError(404, f"Resource '{'/'.join(wanted)}' not found")
    return Reply({**full, "paths": paths})


def _at_or_below(template: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Whether a spec path is the requested one or below it (`{x}` matches any element)."""
    return len(template) >= len(wanted) and all(
        t == w or t.startswith("{") for t, w in zip(template, wanted, strict=False))


# --- what the spec says, operation by operation -------------------------------------------

def _served(executions_and_jobs: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """(path below /openidm, method, operation) of every operation the profile routes, in the
    spec's order: the descriptor operations themselves are not described."""
    document = load_spec().document
    served = []
    for template, item in document["paths"].items():
        for method in HTTP_METHODS:
            raw = item.get(method)
            if raw is None or raw.get("x-crest-operation") in DESCRIPTOR_OPERATIONS:
                continue
            if not executions_and_jobs and raw.get("x-idm-since") is not None:
                continue
            # The path's own parameters (its ids) first, as OpenAPI merges them.
            parameters = [*item.get("parameters", []), *raw.get("parameters", [])]
            served.append((template.removeprefix(CONTEXT), method,
                           {**raw, "parameters": parameters}))
    return served


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow the spec's `#/...` references."""
    document = load_spec().document
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/"):
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _parameters(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [_resolve(p) for p in raw.get("parameters", [])]


def _json_schema(holder: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of a request body or response, references rewritten for `definitions`."""
    schema = _resolve(holder).get("content", {}).get("application/json", {}).get("schema")
    return None if schema is None else _rewrite(schema, None)


def _examples(parameter: dict[str, Any]) -> list[str]:
    return [str(e["value"]) for e in parameter.get("examples", {}).values() if "value" in e]


# --- schemas: the contracts, under `definitions` ------------------------------------------

def _rewrite(node: Any, contract: str | None) -> Any:
    """A copy of a schema whose references point into the descriptor's `definitions`: the
    spec's `contracts/X.json#/p` and a contract's `X.json#/p` or `#/p` become
    `#/definitions/X/p`."""
    if isinstance(node, list):
        return [_rewrite(n, contract) for n in node]
    if not isinstance(node, dict):
        return node
    rewritten = {k: _rewrite(v, contract) for k, v in node.items()
                 if k not in ("$schema", "$id")}
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#/definitions/"):
        file, _, pointer = ref.removeprefix(_CONTRACT_PREFIX).partition("#")
        stem = file.removesuffix(".json") if file else contract
        rewritten["$ref"] = f"#/definitions/{stem}{pointer}"
    return rewritten


@cache
def _contract(stem: str) -> dict[str, Any]:
    return dict(_rewrite(read_document(contracts_dir() / f"{stem}.json"), stem))


def _definitions(document: dict[str, Any]) -> dict[str, Any]:
    """Every contract the document refers to, and those they refer to, by name."""
    found: dict[str, Any] = {}
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                stem = ref.removeprefix("#/definitions/").split("/")[0]
                if stem not in found:
                    found[stem] = _contract(stem)
                    pending.append(found[stem])
            pending.extend(node.values())
    return dict(sorted(found.items()))


# --- ?_api: OpenAPI 2.0 -------------------------------------------------------------------

@cache
def _openapi(executions_and_jobs: bool) -> dict[str, Any]:
    info = load_spec().document["info"]
    paths: dict[str, Any] = {}
    for path, method, raw in _served(executions_and_jobs):
        described: dict[str, Any] = {
            "operationId": raw["operationId"], "tags": raw.get("tags", []),
            "summary": raw.get("summary", ""), "description": raw.get("description", ""),
            "produces": ["application/json"],
            "parameters": [_swagger_parameter(p) for p in _parameters(raw)
                           if p.get("in") in ("query", "path", "header")],
            "responses": {status: _swagger_response(response)
                          for status, response in raw.get("responses", {}).items()},
        }
        body = _json_schema(raw["requestBody"]) if "requestBody" in raw else None
        if body is not None:
            described["consumes"] = ["application/json"]
            described["parameters"].append({"name": "body", "in": "body",
                                            "required": raw["requestBody"].get("required", False),
                                            "schema": body})
        paths.setdefault(path, {})[method] = described
    document = {"swagger": "2.0",
                "info": {"title": info["title"], "version": info["version"],
                         "description": info.get("summary", "")},
                "basePath": CONTEXT, "paths": paths}
    document["definitions"] = _definitions(document)
    return _frozen_copy(document)


def _swagger_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(parameter.get("schema", {}))
    converted = {"name": parameter["name"], "in": parameter["in"],
                 "required": parameter.get("required", parameter["in"] == "path"),
                 "type": schema.get("type", "string"),
                 "description": parameter.get("description", "")}
    if "enum" in schema:
        converted["enum"] = schema["enum"]
    if parameter.get("allowEmptyValue"):
        converted["allowEmptyValue"] = True
    return converted


def _swagger_response(response: dict[str, Any]) -> dict[str, Any]:
    resolved = _resolve(response)
    converted = {"description": response.get("description", resolved.get("description", ""))}
    schema = _json_schema(resolved)
    if schema is not None:
        converted["schema"] = schema
    return converted


# --- ?_crestapi: CREST's ApiDescription ----------------------------------------------------

_CREST_OPERATIONS = ("create", "read", "update", "delete", "patch")


@cache
def _crest(executions_and_jobs: bool, query_filter: bool, paging: bool) -> dict[str, Any]:
    info = load_spec().document["info"]
    resources: dict[str, dict[str, Any]] = {}
    for path, _method, raw in _served(executions_and_jobs):
        resource = resources.setdefault(path, {"mvccSupported": False})
        crest_op = raw["x-crest-operation"]
        described = _crest_operation(raw)
        parameters = _parameters(raw)
        if crest_op in _CREST_OPERATIONS:
            if crest_op == "create":
                described["mode"] = "ID_FROM_SERVER"
            resource[crest_op] = described
            schema = _json_schema(raw["responses"].get("200") or raw["responses"].get("201")
                                  or {})
            if schema is not None and crest_op in ("read", "create"):
                resource.setdefault("resourceSchema", schema)
        elif crest_op == "action":
            action = next((p for p in parameters if p.get("name") == "_action"), {})
            response = _json_schema(raw["responses"].get("200", {})) or {"type": "object"}
            request = _json_schema(raw["requestBody"]) if "requestBody" in raw else None
            for name in _examples(action):
                described_action = {**described, "name": name, "response": response}
                if request is not None:
                    described_action["request"] = request
                resource.setdefault("actions", []).append(described_action)
        elif crest_op == "query":
            resource.setdefault("queries", []).extend(
                _crest_queries(described, parameters, query_filter, paging))
        path_parameters = [{"name": p["name"], "type": "string", "source": "PATH",
                            "required": True, "description": p.get("description", "")}
                           for p in parameters if p.get("in") == "path"]
        if path_parameters:
            resource["parameters"] = path_parameters
    document = {"id": CREST_API_ID, "version": info["version"],
                "description": info.get("summary", ""),
                "paths": {path: {RESOURCE_VERSION: resource}
                          for path, resource in resources.items()}}
    document["definitions"] = _definitions(document)
    return _frozen_copy(document)


def _crest_operation(raw: dict[str, Any]) -> dict[str, Any]:
    """What every CREST operation says: a description, its errors, its own parameters."""
    errors = [{"code": int(status), "description": _resolve(response).get(
                   "description", "") if "description" not in response
               else response["description"]}
              for status, response in raw.get("responses", {}).items() if int(status) >= 400]
    parameters = [{"name": p["name"], "type": _resolve(p.get("schema", {})).get("type", "string"),
                   "source": "ADDITIONAL", "required": p.get("required", False),
                   "description": p.get("description", "")}
                  for p in _parameters(raw)
                  if p.get("in") == "query" and not p["name"].startswith("_")]
    described: dict[str, Any] = {"description": raw.get("summary", ""), "errors": errors}
    if parameters:
        described["parameters"] = parameters
    return described


def _crest_queries(described: dict[str, Any], parameters: list[dict[str, Any]],
                   query_filter: bool, paging: bool) -> list[dict[str, Any]]:
    """One query by id per `_queryId` the spec names, and a filter query where the release
    takes `_queryFilter`."""
    names = {p["name"] for p in parameters}
    extra: dict[str, Any] = {"pagingModes": ["COOKIE", "OFFSET"],
                             "countPolicies": _COUNT_POLICIES} if paging else {}
    query_id = next((p for p in parameters if p.get("name") == "_queryId"), None)
    queries = [{**described, "type": "ID", "queryId": name, **extra}
               for name in (_examples(query_id) if query_id else [])]
    if query_filter and "_queryFilter" in names:
        queries.append({**described, "type": "FILTER", "queryableFields": ["*"], **extra})
    return queries


def _frozen_copy(document: dict[str, Any]) -> dict[str, Any]:
    """A copy that shares nothing with the spec's parse, which other code reads."""
    return copy.deepcopy(document)
