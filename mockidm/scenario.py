"""Fixture files: a scenario, in YAML or JSON, that sets a mock up declaratively.

    # a mockidm scenario; contracts/fixture-file.json is its JSON Schema. Every key is optional.
    clock: {freeze: "2026-01-01T00:00:00Z"}       # before anything is deployed or started
    users:                                         # internal users
      - {name: alice, password: secret, roles: [openidm-authorized, manager]}
    managedUsers:                                  # managed/user objects that log in with
      - {userName: bob, password: pw, authzRoles: [hr]}  # openidm-authorized + authzRoles
    processAccess: conf/process-access.json        # IDM's file, or its content inline:
    # processAccess: {workflowAccess: [{propertiesCheck: {property: key, matches: onb,
    #                                                     requiresRole: manager}}]}
    definitions:                                   # deployed in this order
      - file: workflow/onboarding.bpmn20.xml       # .bpmn20.xml, .bpmn, .bar or .zip
      - folder: workflow/                          # each such file of it, in name order;
                                                   # one that cannot deploy is an error
      - {bpmn: "<definitions ...>", name: inline.bpmn20.xml}   # name is optional
      - samples: true                              # the built-in samples
    outputs:                                       # stand in for script/service tasks
      - {activity: grantRole, key: roleRequest, variables: {granted: true}}
    idmObjects:                                    # what the workflows' scripts find in IDM
      managed/user: [{_id: bjensen, userName: bjensen, roles: []}]
    idmAnswers:                                    # what IDM answers the rest
      - {resource: endpoint/getusermanager, method: query, answer: {result: [{_id: jdoe}]}}
    instances:                                     # started in this order
      - key: contractorOnboarding                  # or definitionId: ...
        businessKey: order-1
        user: alice                                # who starts it; default openidm-admin
        variables: {contractorName: Ada}
        complete:                                  # tasks completed in order after the start
          - {task: managerApproval, variables: {decision: approve}, claimedBy: openidm-admin}
        claim: [{task: hrReview, user: bob}]       # then claimed and left open
    auth: {failNext: 1, rejectPasswords: [alice], lockOut: [mallory], expireSessions: true}
    faults:                                        # the fields of mockidm.http.faults.Fault
      - {operation: createProcessInstance, status: 503, message: maintenance, times: 1}
    tokens:                                        # bearer access tokens, as PingAM's
      - {token: eyJ0eXAi.abc, subject: carol, roles: [openidm-authorized], expiresIn: 3600}

Relative paths are relative to the scenario file. Sections are applied in the order above
(`expireSessions` last of all).

`parse_scenario(source)` reads, checks and loads everything once (files, BPMN, archives);
`Scenario.apply(mock)` is then cheap and can run before every test. `load_scenario(mock,
source)` does both. A failure is a `ScenarioError` whose message names the file, the line and
the key (`team.yaml, line 7, users[1].roles: 'manager' is not of type 'array'`); a failed
apply leaves the mock as it was.

The YAML is YAML 1.2's core schema over PyYAML's safe loader, holding JSON values only:
`true`/`false` are the only booleans (`no`, `on` and dates stay strings), tags (`!!binary`,
`!!python/...`) are refused, keys must be strings and must not repeat. Anchors, aliases and
merge keys (`<<: *defaults`) work. A `.json` file is read as JSON.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import jsonschema_rs
import yaml

from .engine import Engine, EngineError, ObjectNotFound, ProcessInstance
from .engine.bpmn import is_deployable
from .engine.deployables import Deployable, deployable_paths, read_data, read_file
from .http.faults import Fault, unknown_operation
from .identity import ADMIN, AUTHORIZED, Identity, ProcessAccessRule
from .samples import SAMPLES_DIR
from .spec_files import contracts_dir

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

    from .facade import MockIDM

__all__ = ["SCHEMA_NAME", "Scenario", "ScenarioError", "load_scenario", "parse_scenario",
           "schema"]

SCHEMA_NAME = "fixture-file.json"
DEFAULT_BPMN_NAME = "process.bpmn20.xml"
MAX_NODES = 100_000  # values in a document once its aliases are expanded


class ScenarioError(ValueError):
    """A scenario that cannot be read, is not valid or cannot be applied.

    `file`, `line` (1-based) and `path` (`users[1].roles`) say where, when known; `problem`
    says what. A document with several schema violations gives one error whose message has a
    line per violation, in document order; `errors` holds them all (this one first)."""

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None,
                 path: str = "") -> None:
        self.problem, self.file, self.line, self.path = problem, file, line, path
        self.errors: list[ScenarioError] = [self]
        super().__init__(self._text())

    def _text(self) -> str:
        where = ", ".join(part for part in (self.file, self.line and f"line {self.line}",
                                            self.path) if part)
        return f"{where}: {self.problem}" if where else self.problem

    @classmethod
    def _many(cls, errors: Sequence[ScenarioError]) -> ScenarioError:
        first = errors[0]
        error = cls(first.problem, file=first.file, line=first.line, path=first.path)
        error.errors = [error, *errors[1:]]
        error.args = ("\n".join(e._text() for e in errors),)
        return error


class _Where:
    """Where an item of a document is, for the errors found when it is loaded or applied.
    The line is looked up only for an error: most items never need it."""

    def __init__(self, doc: _Document, parts: Sequence[str | int], key: bool) -> None:
        self._doc, self._parts, self._key = doc, tuple(parts), key

    @property
    def file(self) -> str | None:
        return self._doc.file

    @property
    def path(self) -> str:
        return _format_path(self._parts)

    @cached_property
    def line(self) -> int | None:
        return self._doc.line(self._parts, key=self._key)

    def error(self, problem: str) -> ScenarioError:
        return ScenarioError(problem, file=self.file, line=self.line, path=self.path)


_NAME = re.compile(r"[A-Za-z_$][\w$-]*\Z")


def _format_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


# reading: YAML 1.2 core schema, JSON values only, with every node's line ----------------------

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
_FORMS = {
    _TAG + "null": re.compile(r"(?:~|null|Null|NULL|)\Z"),
    _TAG + "bool": re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z"),
    _TAG + "int": re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"),
    _TAG + "float": re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"),
}
_ALLOWED_TAGS = {*_FORMS, _TAG + "str", _TAG + "seq", _TAG + "map"}


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's core schema instead of YAML 1.1's resolvers."""

    # A class attribute in PyYAML, though its stubs declare it per instance.
    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}  # type: ignore[misc]


for _tag, _first in ((_TAG + "null", "~nN"), (_TAG + "bool", "tTfF"),
                     (_TAG + "int", "-+0123456789"), (_TAG + "float", "-+0123456789.")):
    _Loader.add_implicit_resolver(_tag, _FORMS[_tag], [*_first, *([""] if "~" in _first else [])])
_Loader.add_implicit_resolver(_MERGE, re.compile(r"<<\Z"), ["<"])


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0x", "0o")):
        return int(text[2:], 16 if text[1] == "x" else 8)
    return int(text)  # decimal, as in YAML 1.2: 010 is ten


_Loader.add_constructor(_TAG + "int", _construct_int)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_nodes(root: yaml.Node, file: str | None) -> None:
    """Refuse what is not a JSON value: tags, keys that are not strings, repeated keys, and
    aliases that loop or expand to a huge document."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(node: yaml.Node, path: list[str | int], problem: str) -> ScenarioError:
        return ScenarioError(problem, file=file, line=_line(node), path=_format_path(path))

    def visit(node: yaml.Node, path: list[str | int]) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise fail(node, path, "an alias refers to a node that contains it")
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace(_TAG, "!!")
            raise fail(node, path, f"the tag {tag} is not allowed: a scenario holds JSON "
                                   "values only")
        size = 1
        open_nodes.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            form = _FORMS.get(node.tag)
            if form is not None and not form.match(node.value):
                raise fail(node, path, f"{node.value!r} is not a valid "
                                       f"{node.tag.replace(_TAG, '')}")
        elif isinstance(node, yaml.SequenceNode):
            size += sum(visit(item, [*path, i]) for i, item in enumerate(node.value))
        else:
            seen: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE:
                    size += visit(value, path)
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != _TAG + "str":
                    raise fail(key, path, "a key must be a string (quote it)")
                if key.value in seen:
                    raise fail(key, [*path, key.value],
                               f"duplicate key (first at line {seen[key.value]})")
                seen[key.value] = _line(key)
                size += visit(value, [*path, key.value])
        open_nodes.discard(id(node))
        sizes[id(node)] = size
        if size > MAX_NODES:
            raise fail(node, path, f"more than {MAX_NODES} values once aliases are expanded")
        return size

    visit(root, [])


class _Document:
    """Parsed data and, for a file, the YAML nodes it came from (for lines)."""

    def __init__(self, file: str | None, root: yaml.Node | Callable[[], yaml.Node | None] | None,
                 data: Any) -> None:
        self.file, self.data = file, data
        # A JSON file's nodes are composed only when a line is asked for: composing is
        # pure Python and slow, and a valid file never needs them.
        self._root = root

    @cached_property
    def root(self) -> yaml.Node | None:
        return self._root() if callable(self._root) else self._root

    def where(self, path: Sequence[str | int], *, key: bool = False) -> _Where:
        return _Where(self, path, key)

    def line(self, path: Sequence[str | int], *, key: bool = False) -> int | None:
        """The line of the value at `path` (of its key, with `key=True`); if part of the path
        is not in the document, the line of the deepest part that is."""
        node, found = self.root, None
        for part in path:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                # Merged pairs come first, the mapping's own last: the last match wins.
                pairs = [(k, v) for k, v in node.value
                         if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE
                         and k.value == part]
                if not pairs:
                    break
                found, node = pairs[-1]
            elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
                  and 0 <= part < len(node.value)):
                found, node = None, node.value[part]
            else:
                break
        else:
            if key and found is not None:
                node = found
        return _line(node) if node is not None else None


def _read(path: Path, label: str) -> _Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", file=label) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read it: {exc}", file=label) from None
    if path.suffix.lower() == ".json":
        return _read_json(text, label)
    return _read_yaml(text, label)


def _yaml_error(exc: yaml.YAMLError, label: str) -> ScenarioError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        problem = ", ".join(p for p in (exc.context, exc.problem) if p)
        return ScenarioError(problem or str(exc), file=label, line=exc.problem_mark.line + 1)
    return ScenarioError(str(exc), file=label)


def _read_yaml(text: str, label: str) -> _Document:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:  # an empty file (or only comments): an empty scenario
            return _Document(label, None, {})
        _check_nodes(root, label)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, label) from None
    finally:
        loader.dispose()
    return _Document(label, root, data)


def _read_json(text: str, label: str) -> _Document:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in items]
        duplicates.extend(name for name in set(names) if names.count(name) > 1)
        return dict(items)

    def constant(name: str) -> Any:
        raise ScenarioError(f"{name} is not a JSON value", file=label)

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ScenarioError(exc.msg, file=label, line=exc.lineno) from None
    def nodes() -> yaml.Node | None:
        # The lines come from the same text read as YAML (JSON is YAML, once tabs, which
        # JSON allows only between tokens, are spaces); without them, errors only name the key.
        try:
            return yaml.compose(text.replace("\t", " "), Loader=_Loader)
        except yaml.YAMLError:
            return None

    document = _Document(label, nodes, data)
    if duplicates:
        if document.root is not None:
            _check_nodes(document.root, label)  # names the repeated key's line
        raise ScenarioError(f"duplicate key {duplicates[0]!r}", file=label)
    return document


def _json_value(value: Any, path: list[str | int]) -> Any:
    """A copy of data given as Python objects, checked to hold JSON values only."""
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ScenarioError(f"the key {key!r} is not a string",
                                    path=_format_path(path))
            copied[key] = _json_value(item, [*path, key])
        return copied
    if isinstance(value, list | tuple):
        return [_json_value(item, [*path, i]) for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{value} is not a JSON value", path=_format_path(path))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ScenarioError(f"a {type(value).__name__} is not a JSON value",
                        path=_format_path(path))


# checking against contracts/fixture-file.json -------------------------------------------------

@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of a fixture file."""
    return json.loads((contracts_dir() / SCHEMA_NAME).read_text(encoding="utf-8"))


def _schema_of(definition: str | None) -> dict[str, Any]:
    """The whole file's schema, or that of one of its $defs."""
    root = schema()
    if definition is None:
        return root
    return {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{definition}"}


@cache
def _validator(definition: str | None = None) -> Draft202012Validator:
    # jsonschema only explains a file that the native check refused: importing it costs
    # about a second (its format checkers' parsers), which a valid file never pays.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema_of(definition),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _quick_validator(definition: str | None = None) -> jsonschema_rs.Draft202012Validator:
    """The same check compiled to native code: a large valid file passes in milliseconds;
    the Python validator then only explains what is wrong."""
    return jsonschema_rs.Draft202012Validator(_schema_of(definition), validate_formats=True)


def _validate(doc: _Document, definition: str | None = None) -> None:
    if _quick_validator(definition).is_valid(doc.data):
        return
    found: dict[tuple[int, str, str], ScenarioError] = {}
    for violation in _validator(definition).iter_errors(doc.data):
        for error in _explain(doc, violation):
            found.setdefault((error.line or 0, error.path, error.problem), error)
    if found:
        raise ScenarioError._many([found[k] for k in sorted(found)])


def _quoted(names: Iterable[str]) -> str:
    names = [f"'{n}'" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _misspelt(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    """The keys that the unknown keys of an object are close to."""
    known = list(schema.get("properties", {}))
    return {close for name in instance if name not in known
            for close in difflib.get_close_matches(name, known, n=1)}


def _explain(doc: _Document, error: ValidationError) -> list[ScenarioError]:
    """Schema violations in the terms of the file: the key, its line, a readable problem."""
    path: list[str | int] = list(error.absolute_path)
    # What jsonschema's stubs type as "maybe unset" is always set on an error it yields.
    instance: Any = error.instance
    value: Any = error.validator_value
    schema: Any = error.schema
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        errors = []  # one per unknown key, at the key's line
        for name in instance:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = (f"; did you mean '{close[0]}'?" if close
                        else f"; expected {_quoted(known).replace(' and ', ' or ')}")
                errors.append(doc.where([*path, name], key=True).error(
                    f"unknown key '{name}'{hint}"))
        return errors
    if error.validator in ("oneOf", "required", "dependentRequired") and not isinstance(
            instance, dict):
        return []  # a wrong type, reported by `type`
    if error.validator == "required":
        # Not for a key misspelt: "unknown key 'pasword'; did you mean 'password'?" says it.
        misspelt = _misspelt(instance, schema)
        return [doc.where(path).error(f"'{name}' is a required property")
                for name in value if name not in instance and name not in misspelt]
    if error.validator == "oneOf" and all(set(branch) == {"required"} for branch in value):
        choices = [name for branch in value for name in branch["required"]]
        present = [name for name in choices if name in instance]
        if not present and _misspelt(instance, schema) & set(choices):
            return []
        problem = (f"has {_quoted(present)}: keep only one" if present
                   else f"needs one of {_quoted(choices).replace(' and ', ' or ')}")
        return [doc.where(path).error(problem)]
    if error.validator == "dependentRequired":
        return [doc.where([*path, name], key=True).error(
                    f"'{name}' goes only with {_quoted(needed)}")
                for name, needed in value.items()
                if name in instance and any(n not in instance for n in needed)]
    if error.validator == "type":
        types = [value] if isinstance(value, str) else value
        problem = f"{_short.repr(instance)} is not of type {', '.join(map(repr, types))}"
    elif error.validator == "const":
        problem = f"must be {json.dumps(value)}"
    else:
        problem = error.message
    return [doc.where(path).error(problem)]


# the parsed scenario ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Definition:
    """A deployment the scenario names, read and parsed: from a file (an unchanged file is not
    deployed again, as in IDM's workflow directory) or inline BPMN."""

    where: _Where
    deployable: Deployable
    from_file: bool


@dataclass(frozen=True)
class _Step:
    """A task of a pre-started instance to claim (if `user`), then complete (if `complete`)."""

    where: _Where
    task: str
    user: str | None
    complete: bool
    variables: Mapping[str, Any] | None


@dataclass(frozen=True)
class _Start:
    where: _Where
    key: str | None
    definition_id: str | None
    business_key: str | None
    user: str
    variables: Mapping[str, Any]
    steps: tuple[_Step, ...]


@dataclass(frozen=True)
class _Output:
    activity: str
    key: str | None
    variables: Mapping[str, Any]


@dataclass(frozen=True)
class _Auth:
    fail_next: int
    reject_passwords: tuple[str, ...]
    lock_out: tuple[str, ...]
    expire_sessions: bool


@dataclass(frozen=True)
class _Token:
    token: str
    subject: str
    roles: tuple[str, ...]
    expires_in: float | None


@dataclass(frozen=True)
class _ManagedUser:
    where: _Where
    user_name: str
    password: str
    authz_roles: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """A parsed, checked scenario with its files read: `apply` it to any number of mocks."""

    source: str | None  # the file, as given
    data: Mapping[str, Any]  # the document, as validated
    clock: datetime | None
    users: tuple[tuple[str, str, tuple[str, ...]], ...]
    process_access: tuple[ProcessAccessRule, ...] | None
    definitions: tuple[_Definition, ...]
    outputs: tuple[_Output, ...]
    instances: tuple[_Start, ...]
    auth: _Auth
    faults: tuple[Mapping[str, Any], ...]
    tokens: tuple[_Token, ...]
    paging: bool | None  # None: as the mock's profile does
    managed_users: tuple[_ManagedUser, ...] = ()
    idm_objects: Mapping[str, Any] = field(default_factory=dict)
    idm_objects_where: Mapping[str, _Where] = field(default_factory=dict)
    idm_answers: tuple[Mapping[str, Any], ...] = ()

    def apply(self, mock: MockIDM) -> list[ProcessInstance]:
        """Set the scenario up in `mock`, over what it holds; return the instances started.

        All of it or nothing: on a failure the mock is restored to its state before, and the
        ScenarioError names the item that failed."""
        with mock.lock:
            try:
                before = mock.checkpoint()
            except ValueError as exc:
                raise ScenarioError(f"the mock's state cannot be saved, to be restored if the "
                                    f"scenario fails: {exc}", file=self.source) from exc
            answers = mock.idm_answers()
            try:
                return self._apply(mock)
            except BaseException:
                mock.rollback(before)
                mock.restore_idm_answers(answers)  # not in a checkpoint
                raise

    def _apply(self, mock: MockIDM) -> list[ProcessInstance]:
        if self.clock is not None:
            mock.freeze_time(self.clock)
        for name, password, roles in self.users:
            mock.add_user(name, password, roles)
        for managed in self.managed_users:
            try:
                mock.add_managed_user(managed.user_name, managed.password, managed.authz_roles)
            except ValueError as exc:
                raise managed.where.error(str(exc)) from exc
        if self.process_access is not None:
            mock.set_process_access(self.process_access)
        for container, objects in self.idm_objects.items():
            try:
                mock.seed_objects(container, copy.deepcopy(objects))
            except ValueError as exc:
                raise self.idm_objects_where[container].error(str(exc)) from exc
        for answer in self.idm_answers:
            error = answer.get("error")
            mock.idm_answer(answer["resource"], copy.deepcopy(answer.get("answer")),
                            method=answer.get("method"), action=answer.get("action"),
                            error=None if error is None else (error["status"],
                                                              error["message"]))
        for definition in self.definitions:
            _deploy(mock.engine, definition)
        for output in self.outputs:
            mock.set_outputs(output.activity, copy.deepcopy(output.variables), key=output.key)
        started = [_start(mock, start) for start in self.instances]
        if self.auth.fail_next:
            mock.fail_auth(self.auth.fail_next)
        for user in self.auth.reject_passwords:
            mock.reject_password(user)
        for user in self.auth.lock_out:
            mock.lock_out(user)
        for fault in self.faults:
            mock.fault(**copy.deepcopy(dict(fault)))
        for token in self.tokens:  # after all that may fail: tokens are not in a checkpoint
            mock.add_token(token.token, token.subject, token.roles, expires_in=token.expires_in)
        if self.paging is not None:  # after all that can fail: a rollback does not undo it
            mock.paging = self.paging
        if self.auth.expire_sessions:  # last: the sessions are not in a snapshot
            mock.expire_sessions()
        return started


def _deploy(engine: Engine, definition: _Definition) -> None:
    deployable = definition.deployable
    try:
        engine.deploy(deployable.models, name=deployable.name, resources=deployable.resources,
                      file_digest=deployable.digest if definition.from_file else None)
    except EngineError as exc:
        raise definition.where.error(exc.message) from exc


def _start(mock: MockIDM, start: _Start) -> ProcessInstance:
    try:
        instance = mock.start_process(start.key, definition_id=start.definition_id,
                                      business_key=start.business_key,
                                      variables=copy.deepcopy(dict(start.variables)),
                                      user=start.user)
    except ObjectNotFound as exc:
        definitions = mock.definitions()
        if start.key is not None:
            known, wanted = sorted({d.key for d in definitions}), start.key
        else:
            known, wanted = sorted(d.id for d in definitions), start.definition_id or ""
        raise start.where.error(exc.message + _hint(wanted, known, "deployed")) from exc
    except (EngineError, ValueError) as exc:
        raise start.where.error(str(exc)) from exc
    for step in start.steps:
        tasks = [t for t in mock.tasks(instance.id) if t.key == step.task]
        if not tasks:
            model = instance.definition.model
            user_tasks = sorted(n.id for n in model.nodes.values() if n.kind == "userTask")
            active = sorted({t.key for t in mock.tasks(instance.id)})
            if step.task not in model.nodes:
                problem = (f"process '{model.key}' has no task '{step.task}'"
                           + _hint(step.task, user_tasks, "its user tasks"))
            elif instance.ended:
                problem = f"instance {instance.id} has ended: task '{step.task}' is not active"
            else:
                problem = (f"task '{step.task}' is not active in instance {instance.id}; "
                           + (f"active: {', '.join(active)}" if active
                              else "it waits in no user task"))
            raise step.where.error(problem)
        try:
            if step.user is not None:
                mock.claim(tasks[0].id, step.user)
            if step.complete:
                mock.complete(tasks[0].id, copy.deepcopy(dict(step.variables or {})))
        except (EngineError, ValueError) as exc:
            raise step.where.error(str(exc)) from exc
    return instance


def _hint(wanted: str, known: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(wanted, known, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; {what}: {', '.join(known)}" if known else f"; none {what}"


# building a Scenario from a checked document ---------------------------------------------------

class _Unreadable(Exception):
    """A file that cannot be deployed (the caller knows which item named it)."""


def _read_file(path: Path) -> Deployable:
    if not is_deployable(path.name):
        raise _Unreadable(f"{path.name}: not a BPMN file (.bpmn20.xml, .bpmn) or an archive "
                          "(.bar, .zip)")
    try:
        return read_file(path)
    except FileNotFoundError:
        raise _Unreadable(f"no such file: {path}") from None
    except OSError as exc:
        raise _Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None


@cache
def _samples() -> tuple[Deployable, ...]:
    return tuple(map(_read_file, deployable_paths(SAMPLES_DIR)))


class _Builder:
    def __init__(self, doc: _Document, base: Path) -> None:
        self.doc, self.base, self.data = doc, base, doc.data

    def build(self) -> Scenario:
        data = self.data
        auth = data.get("auth", {})
        return Scenario(
            source=self.doc.file, data=data, clock=self.clock(),
            users=tuple((u["name"], u["password"], tuple(u.get("roles", [AUTHORIZED])))
                        for u in data.get("users", [])),
            managed_users=tuple(
                _ManagedUser(self.doc.where(["managedUsers", i, "userName"]), u["userName"],
                             u["password"], tuple(u.get("authzRoles", [])))
                for i, u in enumerate(data.get("managedUsers", []))),
            process_access=self.process_access(),
            definitions=tuple(d for i, item in enumerate(data.get("definitions", []))
                              for d in self.definition(i, item)),
            outputs=tuple(_Output(o["activity"], o.get("key"), o["variables"])
                          for o in data.get("outputs", [])),
            idm_objects=data.get("idmObjects", {}),
            idm_objects_where={container: self.doc.where(["idmObjects", container], key=True)
                               for container in data.get("idmObjects", {})},
            idm_answers=tuple(data.get("idmAnswers", [])),
            instances=tuple(self.instance(i, item)
                            for i, item in enumerate(data.get("instances", []))),
            auth=_Auth(auth.get("failNext", 0), tuple(auth.get("rejectPasswords", [])),
                       tuple(auth.get("lockOut", [])), auth.get("expireSessions", False)),
            faults=tuple(self.fault(i, item) for i, item in enumerate(data.get("faults", []))),
            tokens=tuple(_Token(t["token"], t["subject"], tuple(t.get("roles", [AUTHORIZED])),
                                t.get("expiresIn")) for t in data.get("tokens", [])),
            paging=data.get("paging"))

    def clock(self) -> datetime | None:
        if "clock" not in self.data:
            return None
        where = self.doc.where(["clock", "freeze"])
        try:
            at = datetime.fromisoformat(self.data["clock"]["freeze"])
        except ValueError as exc:
            raise where.error(str(exc)) from None
        if at.tzinfo is None:
            raise where.error("needs an offset from UTC, e.g. 2026-01-01T00:00:00Z")
        return at

    def process_access(self) -> tuple[ProcessAccessRule, ...] | None:
        value = self.data.get("processAccess")
        if value is None:
            return None
        doc, inline = self.doc, ["processAccess"]
        if isinstance(value, str):
            path = self.base / value
            if not path.is_file():
                raise doc.where(inline).error(f"no such file: {path}")
            doc, inline = _read(path, str(path)), []
            _validate(doc, "processAccessFile")
            value = doc.data
        for i, entry in enumerate(value["workflowAccess"]):
            try:
                re.compile(entry["propertiesCheck"]["matches"])
            except re.error as exc:
                raise doc.where([*inline, "workflowAccess", i, "propertiesCheck", "matches"]
                                ).error(f"not a regular expression: {exc}") from None
        return tuple(Identity.parse_process_access(value))

    def definition(self, i: int, item: Mapping[str, Any]) -> list[_Definition]:
        kind = next(k for k in ("file", "folder", "bpmn", "samples") if k in item)
        where = self.doc.where(["definitions", i, kind])
        try:
            if kind == "file":
                found = [_read_file(self.base / item["file"])]
            elif kind == "folder":
                folder = self.base / item["folder"]
                if not folder.is_dir():
                    raise _Unreadable(f"no such folder: {folder}")
                found = list(map(_read_file, deployable_paths(folder)))
                if not found:
                    raise _Unreadable(f"no BPMN file or archive in {folder}")
            elif kind == "samples":
                found = list(_samples())
            else:
                inline = read_data(item["bpmn"].encode("utf-8"),
                                   item.get("name", DEFAULT_BPMN_NAME))
                return [_Definition(where, inline, from_file=False)]
        except _Unreadable as exc:
            raise where.error(str(exc)) from None
        except EngineError as exc:
            raise where.error(exc.message) from None
        return [_Definition(where, deployable, from_file=True) for deployable in found]

    def instance(self, i: int, item: Mapping[str, Any]) -> _Start:
        at: list[str | int] = ["instances", i]
        steps = [_Step(self.doc.where([*at, "complete", j, "task"]), s["task"],
                       s.get("claimedBy"), True, s.get("variables"))
                 for j, s in enumerate(item.get("complete", []))]
        steps += [_Step(self.doc.where([*at, "claim", j, "task"]), s["task"], s["user"], False,
                        None)
                  for j, s in enumerate(item.get("claim", []))]
        return _Start(self.doc.where([*at, "key" if "key" in item else "definitionId"]),
                      item.get("key"), item.get("definitionId"), item.get("businessKey"),
                      item.get("user", ADMIN), item.get("variables", {}), tuple(steps))

    def fault(self, i: int, item: Mapping[str, Any]) -> Mapping[str, Any]:
        if not Fault.has_effect(item.get("status"), item.get("drop", False),
                                item.get("latency", 0.0)):
            raise self.doc.where(["faults", i]).error(  # Fault's rule, in a file's terms
                "a fault needs a status, drop: true or some latency")
        operation = item.get("operation")
        problem = None if operation is None else unknown_operation(operation)
        if problem is not None:
            raise self.doc.where(["faults", i, "operation"]).error(problem)
        return item


# the API ---------------------------------------------------------------------------------------

def parse_scenario(source: str | Path | Mapping[str, Any], *,
                   base_dir: str | Path | None = None) -> Scenario:
    """Read (a YAML or `.json` file, or data already parsed), check against the schema and
    load every file the scenario names. Relative paths are relative to `base_dir`, by default
    the file's folder (the current directory for data)."""
    if isinstance(source, Mapping):
        doc = _Document(None, None, _json_value(source, []))
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(source)
        doc = _read(path, str(source))
        base = Path(base_dir) if base_dir is not None else path.parent
    _validate(doc)
    return _Builder(doc, base).build()


def load_scenario(mock: MockIDM, source: str | Path | Mapping[str, Any] | Scenario, *,
                  base_dir: str | Path | None = None) -> Scenario:
    """Parse a scenario (unless it is one already) and apply it to `mock`."""
    scenario = (source if isinstance(source, Scenario)
                else parse_scenario(source, base_dir=base_dir))
    scenario.apply(mock)
    return scenario
