"""The one source of truth: `openapi.yaml` and `contracts/`, loaded and compiled once.

From the spec come the operations the server routes (operationId -> handler), the request
validators that run before a handler and the response validators used in tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs

from .spec_files import parsed_copy, spec_path

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class SpecError(Exception):
    """The spec and the code disagree (an operation without a handler, a bad reference...)."""


@dataclass(frozen=True)
class Violation:
    where: str  # "body" or "query parameter 'name'"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # template, as in the spec
    crest: str  # the Common REST operation it implements (x-crest-operation)
    invalid_status: int  # how the server answers a request that breaks the spec
    # How the resource answers an operation it does not declare: 501 (a provider), or 403 for
    # IDM's script endpoints, which refuse every other method themselves.
    other_operations_status: int = 501
    param_types: dict[str, str] = field(default_factory=dict)  # query name -> JSON type
    _params: Any = None
    _body: Any = None
    _responses: dict[str, Any] = field(default_factory=dict)

    def check_request(self, params: dict[str, str], body: Any) -> Violation | None:
        if self._params is not None and params:
            # Only parameters declared with another type than string need converting.
            coerced = params if self._typed_params.isdisjoint(params) else {
                name: _coerce(value, self.param_types.get(name))
                for name, value in params.items()}
            for error in () if self._params.is_valid(coerced) else self._params.iter_errors(
                    coerced):
                name = str(error.instance_path[0]) if error.instance_path else "?"
                return Violation(f"query parameter '{name}'", error.message)
        if self._body is not None and body is not None and not self._body.is_valid(body):
            for error in self._body.iter_errors(body):
                where = "/".join(str(p) for p in error.instance_path)
                return Violation(f"body /{where}", error.message)
        return None

    @cached_property
    def _typed_params(self) -> frozenset[str]:
        return frozenset(name for name, json_type in self.param_types.items()
                         if json_type not in (None, "string"))

    def check_response(self, status: int, body: Any) -> Violation | None:
        validator = self._responses.get(str(status)) or self._responses.get(f"{str(status)[0]}XX")
        if validator is None:
            return Violation("response", f"status {status} is not documented for "
                                         f"{self.operation_id}")
        for error in validator.iter_errors(body):
            where = "/".join(str(p) for p in error.instance_path)
            return Violation(f"response /{where}", error.message)
        return None


def _coerce(value: str, json_type: str | None) -> Any:
    try:
        if json_type == "integer":
            return int(value)
        if json_type == "number":
            return float(value)
    except ValueError:
        return value
    if json_type == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


@dataclass
class Spec:
    document: dict[str, Any]
    operations: list[Operation]

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve_local(document: dict[str, Any], node: dict[str, Any], pointer: str
                   ) -> tuple[dict[str, Any], str]:
    """Follow `#/...` references inside the spec; return the node and its pointer."""
    while "$ref" in node and str(node["$ref"]).startswith("#/"):
        pointer = node["$ref"][1:]
        node = document
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, pointer


def read_document(path: Path) -> Any:
    """A JSON or YAML file of the spec, parsed.

    Parsing the YAML spec was most of a start's spec loading (libyaml's parser still builds
    the objects in Python), so its parse is kept as JSON, which reads some thirty times
    faster (`spec_files.parsed_copy`). The wheel carries it; in a checkout the first start
    writes it, as Python writes bytecode (and not under PYTHONDONTWRITEBYTECODE). Without
    it, or where it cannot be written, the YAML is parsed.
    """
    data = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(data)
    cache = parsed_copy(path, data)
    with contextlib.suppress(OSError, ValueError):
        return json.loads(cache.read_bytes())
    import yaml  # only when the cache is missing or stale

    document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not sys.dont_write_bytecode:
        _write_cache(cache, document)
    return document


def _write_cache(cache: Path, document: Any) -> None:
    """Write the JSON form of `document` (if JSON holds it unchanged) atomically, and remove
    the caches of the file's earlier versions."""
    try:
        text = json.dumps(document)
        if json.loads(text) != document:
            return  # a value JSON cannot hold (a date, an integer key): no cache
    except (TypeError, ValueError):
        return
    name = cache.name.split(".")
    with contextlib.suppress(OSError):
        cache.parent.mkdir(exist_ok=True)
        for stale in cache.parent.glob(".".join([*name[:-2], "*", "json"])):
            if stale != cache:
                stale.unlink(missing_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, cache)
        except OSError:
            os.unlink(temporary)
            raise


def _registry(path: Path, document: dict[str, Any]) -> Any:
    resources = [(path.as_uri(), document)]
    for contract in sorted((path.parent / "contracts").glob("*.json")):
        resources.append((contract.as_uri(), read_document(contract)))
    return jsonschema_rs.Registry(resources)


def load_spec(path: Path | None = None, *, validate_responses: bool = False) -> Spec:
    """Read the spec and compile its validators (responses only when asked: they cost time)."""
    path = (path or spec_path()).resolve()
    return _load(path, validate_responses)


@cache
def _load(path: Path, validate_responses: bool) -> Spec:
    document = read_document(path)
    registry = _registry(path, document)
    base = path.as_uri()

    def compile_ref(pointer: str) -> Any:
        ref = base + "#" + quote(pointer, safe="/~$")
        return jsonschema_rs.Draft202012Validator({"$ref": ref}, registry=registry,
                                                  validate_formats=True)

    operations = []
    for template, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            raw = item[method]
            op_pointer = _pointer("paths", template, method)
            op = Operation(operation_id=raw["operationId"], method=method.upper(), path=template,
                           crest=raw.get("x-crest-operation", ""),
                           invalid_status=int(raw.get("x-mockidm-invalid-status", 400)),
                           other_operations_status=int(raw.get("x-mockidm-other-operations",
                                                               501)))
            properties = {}
            all_params = [(p, _pointer("paths", template, "parameters", str(i)))
                          for i, p in enumerate(item.get("parameters", []))]
            all_params += [(p, op_pointer + _pointer("parameters", str(i)))
                           for i, p in enumerate(raw.get("parameters", []))]
            for param, pointer in all_params:
                param, pointer = _resolve_local(document, param, pointer)
                if param.get("in") != "query" or "schema" not in param:
                    continue
                schema, schema_pointer = _resolve_local(document, param["schema"],
                                                        pointer + "/schema")
                op.param_types[param["name"]] = schema.get("type", "string")
                properties[param["name"]] = {"$ref": base + "#" + quote(schema_pointer,
                                                                         safe="/~$")}
            if properties:
                op._params = jsonschema_rs.Draft202012Validator(
                    {"type": "object", "properties": properties}, registry=registry)
            if "requestBody" in raw:
                body, pointer = _resolve_local(document, raw["requestBody"],
                                               op_pointer + "/requestBody")
                if "application/json" in body.get("content", {}):
                    op._body = compile_ref(pointer + _pointer("content", "application/json",
                                                               "schema"))
            if validate_responses:
                for status, response in raw.get("responses", {}).items():
                    response, pointer = _resolve_local(
                        document, response, op_pointer + _pointer("responses", str(status)))
                    if "application/json" in response.get("content", {}):
                        op._responses[str(status)] = compile_ref(
                            pointer + _pointer("content", "application/json", "schema"))
            operations.append(op)
    return Spec(document, operations)
