"""What `mockidm compare` does not count as a difference: values that legitimately differ
between two servers (timestamps, `_rev`, session cookies, server headers) and the fields that
hold server-assigned ids (learned and mapped, not compared as they are).

Rules are JSON pointers into an answer's body, where `*` stands for any one step and `**` for
any number of steps, or header names; each says what to do there:

- `ignore`: neither the value nor whether it is there is compared;
- `any-value`: it must be there in both answers (or in neither), with a value of the same
  JSON type (a string stays a string), whatever the value;
- `id`: a server-assigned id: learned from the answer that introduced it, mapped in later
  requests and answers;
- `compare` (headers only): compare this header too (by default only the headers clients
  read are compared: `COMPARED_HEADERS`).

A user's file (JSON or YAML) adds to the defaults, and its rules come first:

    rules:
      - {pointer: /result/*/variables/requestedAt, rule: any-value}
      - {pointer: /**/ticketId, rule: id}
      - {header: X-Correlation-Id, rule: ignore}
      - {pointer: /message, rule: ignore, where: "POST /openidm/workflow/taskinstance/*"}

`where` (optional) limits a rule to requests whose `METHOD path` matches the glob.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE, ANY_VALUE, ID, COMPARE = "ignore", "any-value", "id", "compare"
BODY_RULES = (IGNORE, ANY_VALUE, ID)
HEADER_RULES = (IGNORE, ANY_VALUE, COMPARE)

# The headers a client of IDM's workflow API reads; the rest (Date, Server, Content-Length,
# Expires...) are the server's own business.
COMPARED_HEADERS = ("content-type", "content-api-version", "etag", "location",
                    "www-authenticate", "cache-control", "set-cookie")


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    rule: str
    pointer: tuple[str, ...] | None = None  # a body rule: the pattern's steps
    header: str | None = None  # a header rule: its lower-case name
    where: str | None = None  # a glob on "METHOD path"
    source: str = "default"

    def applies(self, request: str) -> bool:
        return self.where is None or fnmatch.fnmatchcase(request, self.where)

    def __str__(self) -> str:
        what = (f"header {self.header}" if self.header is not None
                else "/" + "/".join(self.pointer or ()))
        return f"{what}: {self.rule}" + (f" where {self.where}" if self.where else "")


def parse_pointer(pattern: str) -> tuple[str, ...]:
    """A JSON pointer (RFC 6901, `~1` and `~0` escapes) as its steps."""
    if pattern == "":
        return ()
    if not pattern.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pattern!r}")
    return tuple(step.replace("~1", "/").replace("~0", "~") for step in pattern[1:].split("/"))


def _body(pattern: str, rule: str) -> Rule:
    return Rule(rule, pointer=parse_pointer(pattern))


DEFAULT_ID_FIELDS = ("_id", "id", "processInstanceId", "processDefinitionId", "executionId",
                     "taskId", "parentTaskId", "superProcessInstanceId", "rootProcessInstanceId",
                     "superExecutionId", "parentId", "deploymentId", "processInstanceIds")
DEFAULT_RULES: tuple[Rule, ...] = (
    # Set by the server's clock: when it happened, how long it took.
    *(_body(f"/**/{name}", ANY_VALUE) for name in (
        "startTime", "endTime", "createTime", "claimTime", "dueDate", "durationInMillis",
        "deploymentTime", "lastUpdated", "time")),
    _body("/**/_rev", ANY_VALUE),  # a revision counter: each server's own
    _body("/pagedResultsCookie", ANY_VALUE),  # opaque, each server's own
    *(_body(f"/**/{name}", ID) for name in DEFAULT_ID_FIELDS),
    Rule(ANY_VALUE, header="set-cookie"),  # a session: its name counts, not its value
    Rule(ANY_VALUE, header="etag"),  # a version tag, if there is one: each server's own
)


def pointer(steps: Sequence[str | int]) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)


def matches(pattern: Sequence[str], steps: Sequence[str]) -> bool:
    if not pattern:
        return not steps
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(matches(rest, steps[i:]) for i in range(len(steps) + 1))
    return bool(steps) and (head == "*" or head == steps[0]) and matches(rest, steps[1:])


class Rules:
    """The rules in force: a user's first, then the defaults; the first that matches wins."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = [*rules, *DEFAULT_RULES]

    def body_rule(self, request: str, steps: Sequence[str | int]) -> str | None:
        path = [str(s) for s in steps]
        for rule in self.rules:
            if rule.pointer is not None and rule.applies(request) and matches(rule.pointer,
                                                                              path):
                return rule.rule
        return None

    def header_rule(self, request: str, name: str) -> str | None:
        name = name.lower()
        for rule in self.rules:
            if rule.header == name and rule.applies(request):
                return rule.rule
        return COMPARE if name in COMPARED_HEADERS else IGNORE

    def compared_headers(self, request: str, names: Iterable[str]) -> list[str]:
        return sorted({n.lower() for n in names if self.header_rule(request, n) != IGNORE})


def load_rules(paths: Iterable[Path]) -> Rules:
    rules: list[Rule] = []
    for path in paths:
        rules += _read(path)
    return Rules(rules)


def _read(path: Path) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read the rules file {path}: {exc.strerror or exc}") from exc
    try:
        document = json.loads(text)
    except ValueError:
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RulesError(f"{path} is neither JSON nor YAML: {exc}") from exc
    items = document.get("rules") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise RulesError(f"{path}: expected a list of rules (or {{rules: [...]}})")
    return [_rule(path, index, item) for index, item in enumerate(items)]


def _rule(path: Path, index: int, item: Any) -> Rule:
    where = f"{path}, rule {index + 1}"
    if not isinstance(item, dict):
        raise RulesError(f"{where}: a rule is an object, not {item!r}")
    unknown = set(item) - {"pointer", "header", "rule", "where"}
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: "
                         "pointer, header, rule, where)")
    if ("pointer" in item) == ("header" in item):
        raise RulesError(f"{where}: give either `pointer` or `header`")
    kind = item.get("rule")
    allowed = BODY_RULES if "pointer" in item else HEADER_RULES
    if kind not in allowed:
        raise RulesError(f"{where}: `rule` must be one of {', '.join(allowed)}, not {kind!r}")
    scope = item.get("where")
    if scope is not None and not isinstance(scope, str):
        raise RulesError(f"{where}: `where` is a glob such as 'GET /openidm/workflow/*'")
    if "pointer" in item:
        try:
            steps = parse_pointer(str(item["pointer"]))
        except ValueError as exc:
            raise RulesError(f"{where}: {exc}") from exc
        return Rule(kind, pointer=steps, where=scope, source=str(path))
    return Rule(kind, header=str(item["header"]).lower(), where=scope, source=str(path))
