"""Common REST (CREST) ``_queryFilter`` expressions: parse once, evaluate in memory.

Grammar, as IDM's parser reads it::

    Expr        = OrExpr
    OrExpr      = AndExpr ( 'or' AndExpr )*
    AndExpr     = NotExpr ( 'and' NotExpr )*
    NotExpr     = '!' PrimaryExpr | PrimaryExpr
    PrimaryExpr = '(' Expr ')' | Pointer OpName Value | Pointer 'pr' | 'true' | 'false'
    OpName      = eq | co | sw | lt | le | gt | ge | [A-Za-z0-9_.]+ (extended operator)
    Value       = NUMBER | BOOLEAN | "string" | 'string'

Matching follows IDM's in-memory evaluator rather than a repository's: string comparisons
ignore case, a value of another JSON type never matches, an array field matches when any
element does, and extended operators never match. See the notes on each piece below.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

__all__ = [
    "ALWAYS_FALSE",
    "ALWAYS_TRUE",
    "CORE_OPERATORS",
    "And",
    "Comparison",
    "Filter",
    "Literal",
    "Not",
    "Or",
    "Present",
    "QueryFilterError",
    "parse",
]

CORE_OPERATORS = frozenset({"eq", "co", "sw", "lt", "le", "gt", "ge"})
# Any other operator name of these characters parses as an "extended match" filter.
_EXTENDED_OPERATOR = re.compile(r"[A-Za-z0-9_.]+")
# A value token with a '.' is read as a double, without one as a 64-bit long; so "1e5" is an
# error, as it is in IDM, while "1.5e3" is fine.
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ARRAY_INDEX = re.compile(r"[0-9]+")
# Each grammar level counts one, so this allows about 64 nested parentheses, like IDM; it also
# keeps the recursive descent far from Python's recursion limit.
_MAX_DEPTH = 256
# Characters a pointer token must percent-encode so that the printed filter reads back the same:
# '/' and '%' belong to the pointer syntax, the rest would end or quote a filter token.
_POINTER_SAFE = "!$&*+,;=:@?"


class QueryFilterError(ValueError):
    """A query filter that cannot be parsed; the message says what and where."""

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"Invalid query filter {text!r}: {message} (at offset {position})")
        self.reason = message
        self.text = text
        self.position = position


# --- filter tree -------------------------------------------------------------------------------


class Filter:
    """A parsed query filter. Subclasses are immutable and compare by structure."""

    __slots__ = ()

    def matches(self, resource: Mapping[str, Any]) -> bool:
        """Whether ``resource`` (a JSON object as nested dicts and lists) satisfies the filter."""
        raise NotImplementedError

    def equality(self) -> tuple[str, Any] | None:
        """``(pointer, value)`` when every match must satisfy ``pointer eq value``, else None.

        That holds for a bare ``eq`` and for an ``and`` whose first conjunct has it. Callers that
        look the value up in an index must use the same equality as :meth:`matches`: strings
        ignore case, numbers compare as doubles (1 == 1.0), and an array field matches when
        any element does.
        """
        return None


@dataclass(frozen=True)
class Literal(Filter):
    """``true`` (matches everything) or ``false`` (matches nothing)."""

    value: bool

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return self.value

    def __str__(self) -> str:
        return "true" if self.value else "false"


ALWAYS_TRUE = Literal(True)
ALWAYS_FALSE = Literal(False)


@dataclass(frozen=True)
class _Junction(Filter):
    children: tuple[Filter, ...]

    def __post_init__(self) -> None:
        # The parser never builds a one-child junction; forbidding it keeps str() canonical.
        object.__setattr__(self, "children", tuple(self.children))
        if len(self.children) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two sub-filters")


@dataclass(frozen=True)
class And(_Junction):
    """All sub-filters match."""

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return all(child.matches(resource) for child in self.children)

    def equality(self) -> tuple[str, Any] | None:
        return self.children[0].equality()

    def __str__(self) -> str:
        # A nested junction keeps its parentheses so that the tree reads back unchanged.
        return " and ".join(
            f"({child})" if isinstance(child, _Junction) else str(child) for child in self.children
        )


@dataclass(frozen=True)
class Or(_Junction):
    """At least one sub-filter matches."""

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return any(child.matches(resource) for child in self.children)

    def __str__(self) -> str:
        # 'and' binds tighter than 'or', so only a nested 'or' needs parentheses.
        return " or ".join(
            f"({child})" if isinstance(child, Or) else str(child) for child in self.children
        )


@dataclass(frozen=True)
class Not(Filter):
    """The sub-filter does not match (a missing field therefore matches ``!(/f eq 1)``)."""

    child: Filter

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return not self.child.matches(resource)

    def __str__(self) -> str:
        return f"!({self.child})"


@dataclass(frozen=True)
class Present(Filter):
    """``pointer pr``: the field exists and is not null (an empty string or array counts)."""

    path: tuple[str, ...]

    @property
    def field(self) -> str:
        return format_pointer(self.path)

    def matches(self, resource: Mapping[str, Any]) -> bool:
        value = _resolve(resource, self.path)
        return value is not _MISSING and value is not None

    def __str__(self) -> str:
        return f"{self.field} pr"


@dataclass(frozen=True, eq=False)
class Comparison(Filter):
    """``pointer op value``; ``op`` is a core operator or an extended one."""

    path: tuple[str, ...]
    op: str
    value: str | int | float | bool

    @property
    def field(self) -> str:
        return format_pointer(self.path)

    @property
    def extended(self) -> bool:
        return self.op not in CORE_OPERATORS

    # Equality is by value *and* type, as in IDM: 1, 1.0 and true are three different filters
    # (Python alone would call them equal, since True == 1 == 1.0).
    def _key(self) -> tuple[Any, ...]:
        return (self.path, self.op, type(self.value), self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Comparison):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def matches(self, resource: Mapping[str, Any]) -> bool:
        if self.extended:
            return False  # IDM's in-memory evaluator supports no extended operator
        kind = _kind(self.value)
        if kind is None:
            return False
        for candidate in _candidates(resource, self.path):
            if _kind(candidate) != kind:
                continue  # a string never matches a number, nor a number a boolean
            if kind == "str" and self.op in ("co", "sw"):
                haystack, needle = candidate.lower(), str(self.value).lower()
                if needle in haystack if self.op == "co" else haystack.startswith(needle):
                    return True
            # co and sw on a number or boolean mean equality
            elif _ORDER_TESTS[self.op](_order(kind, candidate, self.value), 0):
                return True
        return False

    def equality(self) -> tuple[str, Any] | None:
        return (self.field, self.value) if self.op == "eq" else None

    def __str__(self) -> str:
        return f"{self.field} {self.op} {_format_value(self.value)}"


_ORDER_TESTS: dict[str, Callable[[int, int], bool]] = {
    "eq": operator.eq,
    "co": operator.eq,
    "sw": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


# --- evaluation helpers ------------------------------------------------------------------------

_MISSING = object()


def _resolve(resource: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or _MISSING. Array elements are reached by decimal index only."""
    current = resource
    for token in path:
        if isinstance(current, Mapping):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, (list, tuple)):
            if not _ARRAY_INDEX.fullmatch(token) or int(token) >= len(current):
                return _MISSING
            current = current[int(token)]
        else:
            return _MISSING  # a scalar or null has no members
    return current


def _candidates(resource: Any, path: tuple[str, ...]) -> tuple[Any, ...] | list[Any]:
    """The values a comparison tests: none if missing, each element of an array, else one."""
    value = _resolve(resource, path)
    if value is _MISSING:
        return ()
    if isinstance(value, (list, tuple)):
        return value
    return (value,)


def _kind(value: Any) -> str | None:
    # bool before number: in Python a bool is an int, in JSON it is not.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return "num"
    return None


def _order(kind: str, left: Any, right: Any) -> int:
    """Negative, zero or positive, comparing two values of the same kind as IDM does."""
    a: Any  # a sort key of the kind's: a folded string, a double's key or a bool
    b: Any
    if kind == "str":
        a, b = _fold(left), _fold(right)
    elif kind == "num":
        a, b = _double_key(left), _double_key(right)
    else:
        a, b = bool(left), bool(right)  # false < true
    return (a > b) - (a < b)


def _fold(text: str) -> str:
    """Case-folds like Java's compareToIgnoreCase: per character, lower(upper(c))."""
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


def _fold_char(char: str) -> str:
    upper = char.upper()
    if len(upper) != 1:  # Java maps one char to one char; 'ß'.upper() would be 'SS'
        upper = char
    lower = upper.lower()
    return lower if len(lower) == 1 else upper


def _double_key(value: Any) -> tuple[bool, float]:
    """Numbers compare as Java doubles; NaN equals itself and sorts above everything."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    return (True, 0.0) if math.isnan(number) else (False, number)


# --- text forms --------------------------------------------------------------------------------


def parse_pointer(text: str) -> tuple[str, ...]:
    """Reference tokens of a CREST JSON pointer.

    IDM's pointer follows draft-pbryan-zyp-json-pointer-02, not RFC 6901: the leading and one
    trailing '/' are optional, tokens are percent-decoded ('%2F' is a '/' inside a name), and
    '~0'/'~1' are ordinary characters.
    """
    parts = text.split("/")
    last = len(parts) - 1
    tokens = []
    for index, part in enumerate(parts):
        if not part and index in (0, last):
            continue
        bad = _BAD_PERCENT.search(part)
        if bad:
            raise ValueError(f"malformed percent escape in JSON pointer {text!r}")
        tokens.append(unquote(part))
    return tuple(tokens)


def format_pointer(path: tuple[str, ...]) -> str:
    """The canonical text of a pointer; :func:`parse_pointer` reads it back to ``path``."""
    text = "/" + "/".join(quote(token, safe=_POINTER_SAFE) for token in path)
    # A trailing '/' is dropped on reading, so an empty last token needs one more.
    return text + "/" if path and not path[-1] else text


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        text = repr(value)
        if "." not in text and text not in ("inf", "-inf", "nan"):
            # The parser reads a number without '.' as an integer: write 1e+20 as 1.0e+20.
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}" if exponent else f"{mantissa}.0"
        return text
    return str(value)


# --- parser ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "(" or ")"
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    """Split like IDM: only a space separates, '(' and ')' stand alone, quotes start strings.

    A quote only opens a string at the start of a token; inside a string a backslash makes the
    next character literal, for either quote character.
    """
    tokens: list[_Token] = []
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char == " ":
            pos += 1
        elif char in "()":
            tokens.append(_Token(char, char, pos))
            pos += 1
        elif char in "\"'":
            start, pos, chars = pos, pos + 1, []
            while True:
                if pos >= end:
                    raise QueryFilterError(f"unterminated string starting with {char}", text, start)
                if text[pos] == char:
                    pos += 1
                    break
                if text[pos] == "\\":
                    if pos + 1 >= end:
                        raise QueryFilterError("string ends with an escape character", text, pos)
                    pos += 1
                chars.append(text[pos])
                pos += 1
            tokens.append(_Token("string", "".join(chars), start))
        else:
            start = pos
            while pos < end and text[pos] not in " ()":
                pos += 1
            tokens.append(_Token("word", text[start:pos], start))
    return tokens


def _describe(token: _Token) -> str:
    return f"string {token.text!r}" if token.kind == "string" else repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def error(self, message: str, token: _Token | None = None) -> QueryFilterError:
        position = len(self.text) if token is None else token.position
        return QueryFilterError(message, self.text, position)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token | None:
        token = self.peek()
        if token is not None:
            self.index += 1
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() == word

    def check_depth(self, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise self.error("filter is nested too deeply", self.peek())

    def parse(self) -> Filter:
        result = self.or_expr(0)
        extra = self.peek()
        if extra is not None:
            raise self.error(f"unexpected {_describe(extra)} after a complete filter", extra)
        return result

    def or_expr(self, depth: int) -> Filter:
        self.check_depth(depth)
        parts = [self.and_expr(depth + 1)]
        while self.at_keyword("or"):
            self.take()
            parts.append(self.and_expr(depth + 1))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self, depth: int) -> Filter:
        self.check_depth(depth)
        parts = [self.not_expr(depth + 1)]
        while self.at_keyword("and"):
            self.take()
            parts.append(self.not_expr(depth + 1))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expr(self, depth: int) -> Filter:
        self.check_depth(depth)
        token = self.peek()
        # '!' must be a token of its own: "!(" or "! x"; IDM reads "!/a" as a field name.
        if token is not None and token.kind == "word" and token.text == "!":
            self.take()
            return Not(self.primary(depth + 1))
        return self.primary(depth + 1)

    def primary(self, depth: int) -> Filter:
        self.check_depth(depth)
        token = self.take()
        if token is None:
            raise self.error("expected an expression but the filter ended")
        if token.kind == "(":
            inner = self.or_expr(depth + 1)
            close = self.take()
            if close is None or close.kind != ")":
                found = "the end" if close is None else _describe(close)
                raise self.error(
                    f"expected ')' to close the '(' at offset {token.position}, found {found}",
                    close,
                )
            return inner
        if token.kind != "word":
            raise self.error(f"expected a JSON pointer or '(' but found {_describe(token)}", token)
        keyword = token.text.lower()
        if keyword == "true":
            return ALWAYS_TRUE
        if keyword == "false":
            return ALWAYS_FALSE
        try:
            path = parse_pointer(token.text)
        except ValueError as exc:
            raise self.error(str(exc), token) from None
        op_token = self.take()
        if op_token is None or op_token.kind != "word":
            found = "the end" if op_token is None else _describe(op_token)
            raise self.error(f"expected an operator after {token.text!r}, found {found}", op_token)
        op = op_token.text
        if op.lower() == "pr":
            return Present(path)
        if op.lower() in CORE_OPERATORS:
            op = op.lower()
        elif not _EXTENDED_OPERATOR.fullmatch(op):
            raise self.error(f"{op!r} is not a valid filter operator", op_token)
        return Comparison(path, op, self.value(op_token))

    def value(self, op_token: _Token) -> str | int | float | bool:
        token = self.take()
        if token is None:
            raise self.error(f"expected a value after {op_token.text!r}, found the end")
        if token.kind == "string":
            return token.text
        text = token.text
        if token.kind == "word":
            if text.lower() in ("true", "false"):
                return text.lower() == "true"
            if "." in text and _FLOAT.fullmatch(text):
                number = float(text)
                if math.isfinite(number):
                    return number
            elif _INTEGER.fullmatch(text) and _LONG_MIN <= int(text) <= _LONG_MAX:
                return int(text)
        # null is no value here either: IDM has no null literal in filters.
        raise self.error(
            f"expected a quoted string, a number or a boolean, found {_describe(token)}", token
        )


def parse(text: str) -> Filter:
    """Parse a ``_queryFilter`` value (already URL-decoded); raise QueryFilterError if invalid.

    Keywords and operator names ignore case; ``true`` parses to :data:`ALWAYS_TRUE` itself.
    """
    if not isinstance(text, str):
        raise TypeError(f"a query filter is a str, not {type(text).__name__}")
    return _Parser(text).parse()
