"""Unified EL (JUEL) expressions as IDM's workflow engine reads them: conditions and attributes.

IDM runs BPMN on Activiti, whose embedded JUEL 2.2.1 (``org.activiti.engine.impl.juel``) parses
and evaluates ``${...}`` (Flowable, in IDM 7+, the same grammar). This module takes the subset
IDM workflows use, parses it once, and evaluates it against process variables holding JSON
values, with JUEL's rules. A condition (:func:`compile_expression`) is one ``${...}``; an
attribute the engine evaluates (:func:`compile_text`: assignee, task name, form property, ...)
is text, one ``${...}``, or both mixed (JUEL's composite expression).

Grammar (JUEL's ``Parser``, highest precedence last)::

    eval    = ('${' | '#{') expr '}'              a condition: the whole text
    expr    = or ('?' expr ':' expr)?             right-associative
    or      = and (('||' | 'or') and)*
    and     = eq (('&&' | 'and') eq)*
    eq      = cmp (('==' | 'eq' | '!=' | 'ne') cmp)*
    cmp     = add (('<' | 'lt' | '>' | 'gt' | '<=' | 'le' | '>=' | 'ge') add)*
    add     = mul (('+' | '-') mul)*
    mul     = unary (('*' | '/' | 'div' | '%' | 'mod') unary)*
    unary   = ('!' | 'not' | '-' | 'empty') unary | value
    value   = (IDENTIFIER | literal | '(' expr ')') ('.' IDENTIFIER args? | '[' expr ']')*
    args    = '(' (expr (',' expr)*)? ')'         a method call: a.m(x, y)
    literal = 'true' | 'false' | 'null' | INTEGER | FLOAT | STRING

Everything else JUEL knows is refused when compiling, with an :class:`ExpressionError` naming
the expression and the offending part: function calls (``f(x)``, ``ns:f(x)``: none of the
public IDM workflows of docs/workflow-census.md uses one), a call on ``a[b]``, ``instanceof``,
EL 3 syntax JUEL lacks (assignment, lambdas, ``;``, ``+=``, collection literals), and literal
text around a condition's ``${...}``.

A method call finds its method by name and argument count (JUEL's BeanELResolver): the engine
objects (:class:`EngineObject`, such as ``execution``) have theirs, a String, a Map and a List
a few of Java's. The engine objects and ``authenticatedUserId`` are resolved before any process
variable (Activiti's VariableScopeElResolver): the caller puts them in the scope it evaluates
against (``engine/scope.py``); :data:`ENGINE_NAMES` names them.

Evaluation follows JUEL's ``BooleanOperations`` and ``TypeConverterImpl``; a JSON value plays the
Java type Jackson gives it (str → String, int → Integer/Long, float → Double, bool → Boolean,
dict → LinkedHashMap, list → ArrayList):

* ``==``/``!=``: identical or both null → equal; one null → not equal; then the first rule that
  applies: a Double on either side → both coerced to double; an integer → both to long (so
  ``'5' == 5`` but ``'5.0' == 5`` fails to coerce); a Boolean → both to boolean (``'TRUE' ==
  true``, and ``1 == true`` fails); a String → both to string; otherwise Java ``equals``.
* ``< > <= >=``: null on either side → false (``null <= null`` → true); then double, long,
  string (UTF-16 order); booleans order false < true; maps and lists cannot be compared.
* ``&& || ! ?:`` coerce to boolean: null and ``''`` → false, a string → ``equalsIgnoreCase
  ("true")``, any other type fails. ``&&`` and ``||`` short-circuit; ``?:`` evaluates one branch.
* ``+ - *`` (``NumberOperations``): both null → 0; a BigDecimal on either side → BigDecimal
  (a :class:`~decimal.Decimal`, exact); else a Double or a String with '.', 'e' or 'E' →
  double (BigDecimal if the other is a BigInteger); else a BigInteger → BigInteger; else
  long, wrapping around as Java's does (an integer literal is a Long too, a JSON integer an
  Integer when it fits one). Strings are coerced (``'5' + 1`` is 6; ``'a' + 1``
  fails: ``+`` never concatenates), null is 0, a Boolean fails.
* ``/`` and ``div``: a double (``1/2`` is 0.5; ``x/0`` an infinity, ``0/0`` NaN) unless a
  BigInteger or BigDecimal takes part: then a BigDecimal of the dividend's scale, rounded half
  up (``/ 0`` fails). ``%`` and ``mod``: Java's remainder, with the dividend's sign: a double
  when a BigDecimal, Double or '.eE' String takes part, else long or BigInteger (``% 0``
  fails). Unary ``-``: null → 0, a String by the same '.eE' rule.
* ``empty``: true for null, ``''``, an empty map or list; false for anything else.
* ``a.b`` and ``a['b']``: a null base gives null, a map gives its entry or null, a list takes an
  index (out of range → null), any other base fails.
* An identifier that is not a variable fails at evaluation, not at compile time, as in
  Activiti: "Unknown property used in expression: ${x}", caused by "Cannot resolve identifier
  'x'". A variable that holds null is not missing.

A condition must come out a real boolean: Activiti's ``UelExpressionCondition`` refuses null
("condition expression returns null") and anything else ("... returns non-Boolean: ...") rather
than coercing; :meth:`Expression.evaluate_condition` does the same. :func:`to_boolean` is EL's
coercion, for whoever wants it.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .errors import EngineError

__all__ = [
    "ENGINE_NAMES",
    "JAVA_TRIM",
    "EngineObject",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "compile_text",
    "java_class",
    "java_string",
    "storable",
    "to_boolean",
]

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# Parentheses and prefix operators count one or two each (about 50 nested parentheses), and the
# tree may be this deep at most: plenty for a condition, far from Python's recursion limit.
_MAX_DEPTH = 100

# Identifiers the engine's VariableScopeElResolver answers before any process variable: the
# evaluating side puts them in the scope it hands to `evaluate` (see EngineObject).
ENGINE_NAMES = frozenset({"execution", "task", "authenticatedUserId"})


class ExpressionError(ValueError):
    """The text is not an expression of the supported subset (raised when compiling)."""

    def __init__(
        self, expression: str, reason: str, *, position: int | None = None, part: str | None = None
    ) -> None:
        where = "" if position is None else f" at position {position}"
        super().__init__(f"Cannot compile expression {expression!r}: {reason}{where}")
        self.expression = expression
        self.reason = reason
        self.position = position
        self.part = part


class EvaluationError(EngineError):
    """Evaluating failed: an unknown variable, a value EL cannot coerce, a non-Boolean condition.

    ``message`` is the ActivitiException's message; ``cause``, when there is one, is the message
    of the EL exception under it.
    """

    def __init__(self, message: str, *, cause: str | None = None, expression: str = "") -> None:
        super().__init__(message)
        self.cause = cause
        self.expression = expression


class _Failure(Exception):
    """An EL exception inside evaluation; Expression.evaluate wraps it as Activiti does."""

    def __init__(self, message: str, *, not_found: bool = False,
                 no_method: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_found = not_found  # a PropertyNotFoundException rather than an ELException
        self.no_method = no_method  # a MethodNotFoundException


class EngineObject:
    """An object the engine exposes to expressions (`execution`): JUEL's BeanELResolver calls
    its public methods by name and arity, and reads `a.b` as the getter `getB()`."""

    java_class = "java.lang.Object"

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        raise NotImplementedError

    def invoke(self, name: str, arguments: list[Any]) -> Any:
        method = self.methods().get(name)
        if method is None or method.__code__.co_argcount != len(arguments) + 1:
            raise _Failure(f"Cannot find method {name} in class {self.java_class}",
                           no_method=True)
        return method(*arguments)

    def property(self, name: str) -> Any:
        getter = name[:1].upper() + name[1:]
        for prefix in ("get", "is"):
            method = self.methods().get(prefix + getter)
            if method is not None and method.__code__.co_argcount == 1:
                return method()
        raise _Failure(f"Property '{name}' not found on type {self.java_class}",
                       not_found=True)


# --------------------------------------------------------------------------------------------
# Values as Java sees them


class _Long(int):
    """A java.lang.Long that EL made (an integer literal, an arithmetic result), whatever its
    size: a JSON integer is an Integer when it fits one. Anywhere else it is the int it is;
    kept as a variable it becomes a plain int (`storable`)."""

    __slots__ = ()


_LONG_ZERO = _Long(0)  # what an operation on two nulls gives


def _java_class(value: Any) -> str:
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        if type(value) is _Long:
            return "java.lang.Long"
        if _INT_MIN <= value <= _INT_MAX:
            return "java.lang.Integer"
        return "java.lang.Long" if _LONG_MIN <= value <= _LONG_MAX else "java.math.BigInteger"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, Decimal):
        return "java.math.BigDecimal"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, Mapping):
        return "java.util.LinkedHashMap"
    if isinstance(value, list | tuple):
        return "java.util.ArrayList"
    if isinstance(value, EngineObject):
        return value.java_class
    return f"python.{type(value).__qualname__}"


def _java_double(value: float) -> str:
    """``Double.toString``: shortest digits, plain from 10^-3 up to 10^7, else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0.0"
    decimal = Decimal(repr(abs(value)))  # repr: the shortest digits that read back the same
    digits = "".join(map(str, decimal.as_tuple().digits)).rstrip("0") or "0"
    exponent = decimal.adjusted()
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1 :] or "0"
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + digits
        return f"{sign}{whole}.{fraction}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _java_string(value: Any) -> str:
    """``String.valueOf``: what ``toString`` gives for each JSON type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, Decimal):
        return str(value)  # BigDecimal.toString and Python's follow one rule (E notation)
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{_java_string(k)}={_java_string(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_java_string(v) for v in value) + "]"
    return str(value)


def _coerce_failure(value: Any, target: str) -> _Failure:
    if isinstance(value, str):
        return _Failure(f"Cannot coerce '{value}' to class {target}")
    return _Failure(f"Cannot coerce from class {_java_class(value)} to class {target}")


def to_boolean(value: Any) -> bool:
    """EL's coercion to boolean: null and '' → false, a string → equalsIgnoreCase("true")."""
    try:
        return _to_boolean(value)
    except _Failure as failure:
        raise EvaluationError(failure.message, cause=failure.message) from None


def _to_boolean(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"  # Boolean.valueOf; '' is false too
    raise _coerce_failure(value, "java.lang.Boolean")


_JAVA_INTEGER = re.compile(r"[+-]?\d+")  # Long.valueOf: Character.digit accepts any Nd digit
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)"
)
_JAVA_HEX_DOUBLE = re.compile(
    r"([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP]([+-]?[0-9]+)[fFdD]?"
)
JAVA_TRIM = "".join(chr(c) for c in range(0x21))  # String.trim drops every char <= ' '
_JAVA_TRIM = JAVA_TRIM


def _is_long(value: int) -> bool:
    return _LONG_MIN <= value <= _LONG_MAX


def _to_long(value: Any, *, big: bool = False) -> int:
    """``coerceToLong`` (or ``coerceToBigInteger`` when ``big``)."""
    target = "java.math.BigInteger" if big else "java.lang.Long"
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise _coerce_failure(value, target)
    if isinstance(value, int):
        return value
    if isinstance(value, float):  # Number.longValue(): a saturating cast, NaN → 0
        if math.isnan(value):
            return 0
        if value >= 2.0**63:
            return _LONG_MAX
        if value <= -(2.0**63):
            return _LONG_MIN
        return int(value)
    if isinstance(value, Decimal):  # toBigInteger(), or longValue(): its low 64 bits
        return int(value) if big else _wrap_long(int(value))
    if isinstance(value, str):
        if _JAVA_INTEGER.fullmatch(value):
            number = int(value)
            if big or _is_long(number):
                return number
        raise _coerce_failure(value, target)
    raise _coerce_failure(value, target)


def _to_double(value: Any) -> float:
    """``coerceToDouble``; a string reads as ``Double.valueOf`` reads it."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise _coerce_failure(value, "java.lang.Double")
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return float(value)  # doubleValue(): the nearest double, or an infinity
    if isinstance(value, str):
        text = value.strip(_JAVA_TRIM)
        if _JAVA_DOUBLE.fullmatch(text):
            return float(text.rstrip("fFdD"))
        hexadecimal = _JAVA_HEX_DOUBLE.fullmatch(text)
        if hexadecimal:
            sign, mantissa, exponent = hexadecimal.groups()
            return float.fromhex(f"{sign}0x{mantissa}p{exponent}")
        raise _coerce_failure(value, "java.lang.Double")
    raise _coerce_failure(value, "java.lang.Double")


def _to_string(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else _java_string(value)


def _double_equals(a: float, b: float) -> bool:
    """``Double.equals``: NaN equals NaN, 0.0 does not equal -0.0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _java_equals(a: Any, b: Any) -> bool:
    """``Object.equals`` for what is left once EL's coercions have not applied: maps, lists."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_java_equals(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_java_equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return _double_equals(a, b)
    if isinstance(a, float) or isinstance(b, float):
        return False  # Double.equals(Integer) is false
    return bool(a == b)


def _is_number(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _is_big(value: Any) -> bool:
    return _is_number(value, int) and not _is_long(value)


def _eq(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    if isinstance(a, Decimal) or isinstance(b, Decimal):  # compareTo: 2.0 equals 2.00
        return _to_decimal(a) == _to_decimal(b)
    if _is_number(a, float) or _is_number(b, float):
        return _double_equals(_to_double(a), _to_double(b))
    if _is_big(a) or _is_big(b):
        return _to_long(a, big=True) == _to_long(b, big=True)
    if _is_number(a, int) or _is_number(b, int):
        return _to_long(a) == _to_long(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return _to_boolean(a) == _to_boolean(b)
    if isinstance(a, str) or isinstance(b, str):
        return _to_string(a) == _to_string(b)
    return _java_equals(a, b)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")  # String.compareTo compares UTF-16 units


def _ordered(a: Any, b: Any, less: bool) -> bool:
    """``lt0`` (``less``) or ``gt0``: JUEL's strict comparison of two non-null values."""
    x: Any
    y: Any  # numbers, UTF-16 code units or booleans, by the rule that applies
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        x, y = _to_decimal(a), _to_decimal(b)
    elif _is_number(a, float) or _is_number(b, float):
        x, y = _to_double(a), _to_double(b)
    elif _is_big(a) or _is_big(b):
        x, y = _to_long(a, big=True), _to_long(b, big=True)
    elif _is_number(a, int) or _is_number(b, int):
        x, y = _to_long(a), _to_long(b)
    elif isinstance(a, str) or isinstance(b, str):
        x, y = _utf16(_to_string(a)), _utf16(_to_string(b))
    elif isinstance(a, bool) and isinstance(b, bool):
        x, y = a, b  # Boolean.compareTo: false < true
    elif isinstance(a, bool) or isinstance(b, bool):
        other = b if isinstance(a, bool) else a
        raise _Failure(f"{_java_class(other)} cannot be cast to java.lang.Boolean")
    else:
        raise _Failure(f"Cannot compare 'class {_java_class(a)}' and 'class {_java_class(b)}'")
    return x < y if less else x > y


def _lt(a: Any, b: Any) -> bool:
    return a is not b and a is not None and b is not None and _ordered(a, b, True)


def _gt(a: Any, b: Any) -> bool:
    return a is not b and a is not None and b is not None and _ordered(a, b, False)


def _le(a: Any, b: Any) -> bool:
    return a is b or (a is not None and b is not None and not _ordered(a, b, False))


def _ge(a: Any, b: Any) -> bool:
    return a is b or (a is not None and b is not None and not _ordered(a, b, True))


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: not _eq(a, b),
    "<": _lt,
    ">": _gt,
    "<=": _le,
    ">=": _ge,
}


def _empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, Mapping | list | tuple):
        return len(value) == 0
    return False


def _negate(value: Any) -> Any:
    """``NumberOperations.neg``: null → 0, a string reads as a double if it has . e or E;
    each number keeps its type, an Integer or a Long wrapping as Java's do."""
    if value is None:
        return _LONG_ZERO
    if isinstance(value, Decimal):
        return value.copy_negate()
    if _is_number(value, float):
        return -value
    if _is_number(value, int):
        if type(value) is not _Long and _INT_MIN <= value <= _INT_MAX:  # an Integer
            return (-value - _INT_MIN) % 2**32 + _INT_MIN  # Integer.MIN_VALUE stays
        return _wrap_long(-value) if _is_long(value) else -value  # Long.MIN_VALUE stays
    if isinstance(value, str):
        if _is_dot_e(value):
            return -_to_double(value)
        return _wrap_long(-_to_long(value))
    raise _Failure(f"Cannot negate 'class {_java_class(value)}'")


# --------------------------------------------------------------------------------------------
# Arithmetic (JUEL's NumberOperations): the first rule that applies picks the type.
# A Long result wraps around as Java's long does; BigInteger is an int beyond a long;
# BigDecimal is a Decimal, which only an operation with a BigInteger or BigDecimal makes.


def _wrap_long(value: int) -> _Long:
    """Java's long arithmetic: the low 64 bits, as a signed number."""
    return _Long((value - _LONG_MIN) % 2**64 + _LONG_MIN)


def _is_dot_e(value: Any) -> bool:
    """``isDotEe``: a String with '.', 'e' or 'E' in it reads as a Double."""
    return isinstance(value, str) and ("." in value or "e" in value or "E" in value)


def _is_double_like(value: Any) -> bool:
    return _is_number(value, float) or _is_dot_e(value)


_JAVA_BIG_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Exact: BigDecimal's add, subtract and multiply never round.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])


def _to_decimal(value: Any) -> Decimal:
    """``coerceToBigDecimal``: a Double by its exact binary value (new BigDecimal(double))."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise _coerce_failure(value, "java.math.BigDecimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _Failure("Infinite or NaN")  # new BigDecimal(double)'s NumberFormatException
        return Decimal(value)
    if isinstance(value, str) and _JAVA_BIG_DECIMAL.fullmatch(value):
        return Decimal(value)
    raise _coerce_failure(value, "java.math.BigDecimal")


def _arithmetic(operation: Callable[[Any, Any], Any],
                exact: Callable[[Decimal, Decimal], Decimal]) -> Callable[[Any, Any], Any]:
    """``NumberOperations.add``, ``sub`` or ``mul``: one rule of types for the three."""

    def operate(a: Any, b: Any) -> Any:
        if a is None and b is None:
            return _LONG_ZERO
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            return exact(_to_decimal(a), _to_decimal(b))
        if _is_double_like(a) or _is_double_like(b):
            if _is_big(a) or _is_big(b):
                return exact(_to_decimal(a), _to_decimal(b))
            return operation(_to_double(a), _to_double(b))
        if _is_big(a) or _is_big(b):
            return operation(_to_long(a, big=True), _to_long(b, big=True))
        return _wrap_long(operation(_to_long(a), _to_long(b)))

    return operate


_add = _arithmetic(operator.add, _EXACT.add)
_subtract = _arithmetic(operator.sub, _EXACT.subtract)
_multiply = _arithmetic(operator.mul, _EXACT.multiply)


def _divide(a: Any, b: Any) -> Any:
    """``NumberOperations.div``: a Double, unless a BigInteger or BigDecimal takes part: then a
    BigDecimal of the dividend's scale, rounded half up."""
    if a is None and b is None:
        return _LONG_ZERO
    if isinstance(a, Decimal) or isinstance(b, Decimal) or _is_big(a) or _is_big(b):
        return _decimal_divide(_to_decimal(a), _to_decimal(b))
    x, y = _to_double(a), _to_double(b)
    if y == 0:  # IEEE 754, as Java divides doubles
        if x == 0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def _decimal_divide(x: Decimal, y: Decimal) -> Decimal:
    """``BigDecimal.divide(divisor, ROUND_HALF_UP)``: the quotient at the dividend's scale."""
    if not y:
        raise _Failure("Division undefined" if not x else "Division by zero")
    x_digits, x_exponent = _unscaled(x)
    y_digits, y_exponent = _unscaled(y)
    # x / y = q * 10^x_exponent, so q = x_digits / (y_digits * 10^y_exponent)
    numerator, denominator = x_digits, y_digits
    if y_exponent < 0:
        numerator *= 10 ** -y_exponent
    else:
        denominator *= 10 ** y_exponent
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):  # half up: a tie goes away from zero
        quotient += 1
    negative = (numerator < 0) != (denominator < 0)
    return Decimal((1 if negative and quotient else 0, tuple(map(int, str(quotient))),
                    x_exponent))


def _unscaled(value: Decimal) -> tuple[int, int]:
    sign, digits, exponent = value.as_tuple()
    number = int("".join(map(str, digits)) or "0")
    return (-number if sign else number), int(exponent)


def _modulo(a: Any, b: Any) -> Any:
    """``NumberOperations.mod``: Java's remainder (the dividend's sign): a Double when a
    BigDecimal, Double or '.eE' string takes part, else BigInteger or Long."""
    if a is None and b is None:
        return _LONG_ZERO
    if (isinstance(a, Decimal) or isinstance(b, Decimal) or _is_double_like(a)
            or _is_double_like(b)):
        x, y = _to_double(a), _to_double(b)
        if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
            return math.nan
        return x if math.isinf(y) else math.fmod(x, y)
    big = _is_big(a) or _is_big(b)
    x, y = _to_long(a, big=big), _to_long(b, big=big)
    if y == 0:
        raise _Failure("BigInteger divide by zero" if big else "/ by zero")
    remainder = abs(x) % abs(y)
    remainder = -remainder if x < 0 else remainder
    return remainder if big else _Long(remainder)


_ARITHMETIC_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "/": _divide,
    "%": _modulo,
}


def _list_index(key: Any) -> int:
    """``ListELResolver.toIndex``: a Number's intValue, a String's Integer.valueOf, a Boolean."""
    if isinstance(key, bool):
        return 1 if key else 0
    if isinstance(key, int):
        return (key - _INT_MIN) % 2**32 + _INT_MIN  # Long.intValue keeps the low 32 bits
    if isinstance(key, float):  # Double.intValue(): a saturating cast, NaN → 0
        if math.isnan(key):
            return 0
        return _INT_MAX if key >= _INT_MAX else _INT_MIN if key <= _INT_MIN else int(key)
    if isinstance(key, str):
        if _JAVA_INTEGER.fullmatch(key) and _INT_MIN <= int(key) <= _INT_MAX:
            return int(key)
        raise _Failure(f"Cannot parse list index: {key}")
    raise _Failure(f"Cannot coerce property to list index: {_java_string(key)}")


def _property(base: Any, key: Any) -> Any:
    """``AstProperty.eval`` through Activiti's resolvers (List, Map, then Bean)."""
    if base is None or key is None:
        return None
    if isinstance(base, Mapping):  # JSON keys are Strings: no other key equals one in Java
        return base.get(key) if isinstance(key, str) else None
    if isinstance(base, list | tuple):
        index = _list_index(key)
        return base[index] if 0 <= index < len(base) else None
    if isinstance(base, EngineObject):
        return base.property(_to_string(key))
    # BeanELResolver: a JSON scalar has no bean properties this mock could model.
    raise _Failure(
        f"Could not find property {_java_string(key)} in class {_java_class(base)}",
        not_found=True,
    )


# --------------------------------------------------------------------------------------------
# Syntax tree


class _Node:
    __slots__ = ()
    children: tuple[str, ...] = ()  # the slots holding sub-nodes

    def eval(self, variables: Mapping[str, Any]) -> Any:
        raise NotImplementedError


class _Literal(_Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return self.value


class _Identifier(_Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def eval(self, variables: Mapping[str, Any]) -> Any:
        try:
            return variables[self.name]
        except KeyError:
            raise _Failure(f"Cannot resolve identifier '{self.name}'", not_found=True) from None


class _Dot(_Node):
    __slots__ = ("base", "name")
    children = ("base",)

    def __init__(self, base: _Node, name: str) -> None:
        self.base, self.name = base, name

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return _property(self.base.eval(variables), self.name)


class _Bracket(_Node):
    __slots__ = ("base", "key")
    children = ("base", "key")

    def __init__(self, base: _Node, key: _Node) -> None:
        self.base, self.key = base, key

    def eval(self, variables: Mapping[str, Any]) -> Any:
        base = self.base.eval(variables)
        if base is None:
            return None  # JUEL evaluates the key only once the base is not null
        return _property(base, self.key.eval(variables))


# The methods of the Java types JSON values play that expressions call on them (BeanELResolver
# invokes any public method; these are the ones workflows use).
_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "equals": lambda s, o: isinstance(o, str) and s == o,
    "equalsIgnoreCase": lambda s, o: isinstance(o, str) and s.lower() == o.lower(),
    "isEmpty": lambda s: not s,
    "length": lambda s: len(s.encode("utf-16-le", "surrogatepass")) // 2,
    "toUpperCase": lambda s: s.upper(),
    "toLowerCase": lambda s: s.lower(),
    "trim": lambda s: s.strip(_JAVA_TRIM),
    "contains": lambda s, o: _to_string(o) in s,
    "startsWith": lambda s, o: s.startswith(_to_string(o)),
    "endsWith": lambda s, o: s.endswith(_to_string(o)),
    "toString": lambda s: s,
}
_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, k: m.get(k) if isinstance(k, str) else None,
    "containsKey": lambda m, k: isinstance(k, str) and k in m,
    "isEmpty": lambda m: not m,
    "size": lambda items: len(items),
    "toString": lambda m: java_string(m),
}
_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda items, i: items[_checked_index(items, i)],
    "contains": lambda items, o: any(_java_equals(item, o) for item in items),
    "isEmpty": lambda items: not items,
    "size": lambda items: len(items),
    "toString": lambda items: java_string(items),
}


def _checked_index(items: list[Any], index: Any) -> int:
    position = _list_index(index)
    if not 0 <= position < len(items):
        raise _Failure(f"Index: {position}, Size: {len(items)}")
    return position


def _invoke(base: Any, name: str, arguments: list[Any]) -> Any:
    """``AstMethod.eval``: a method of the base's class, found by name and argument count."""
    if base is None:
        raise _Failure(f"Cannot invoke method {name} on null", not_found=True)
    if isinstance(base, EngineObject):
        return base.invoke(name, arguments)
    table = (_STRING_METHODS if isinstance(base, str) else _MAP_METHODS
             if isinstance(base, Mapping) else _LIST_METHODS
             if isinstance(base, list | tuple) else {})
    method = table.get(name)
    if method is None or method.__code__.co_argcount != len(arguments) + 1:
        raise _Failure(f"Cannot find method {name} in class {_java_class(base)}",
                       no_method=True)
    return method(base, *arguments)


class _Call(_Node):
    __slots__ = ("arguments", "base", "name")
    children = ("base",)

    def __init__(self, base: _Node, name: str, arguments: tuple[_Node, ...]) -> None:
        self.base, self.name, self.arguments = base, name, arguments

    def eval(self, variables: Mapping[str, Any]) -> Any:
        base = self.base.eval(variables)
        return _invoke(base, self.name, [argument.eval(variables) for argument in self.arguments])


class _Unary(_Node):
    __slots__ = ("function", "operand")
    children = ("operand",)

    def __init__(self, function: Callable[[Any], Any], operand: _Node) -> None:
        self.function, self.operand = function, operand

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return self.function(self.operand.eval(variables))


class _Binary(_Node):
    __slots__ = ("function", "left", "right")
    children = ("left", "right")

    def __init__(self, function: Callable[[Any, Any], Any], left: _Node, right: _Node) -> None:
        self.function, self.left, self.right = function, left, right

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return self.function(self.left.eval(variables), self.right.eval(variables))


class _And(_Node):
    __slots__ = ("left", "right")
    children = ("left", "right")

    def __init__(self, left: _Node, right: _Node) -> None:
        self.left, self.right = left, right

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return _to_boolean(self.left.eval(variables)) and _to_boolean(self.right.eval(variables))


class _Or(_Node):
    __slots__ = ("left", "right")
    children = ("left", "right")

    def __init__(self, left: _Node, right: _Node) -> None:
        self.left, self.right = left, right

    def eval(self, variables: Mapping[str, Any]) -> Any:
        return _to_boolean(self.left.eval(variables)) or _to_boolean(self.right.eval(variables))


class _Choice(_Node):
    __slots__ = ("no", "question", "yes")
    children = ("question", "yes", "no")

    def __init__(self, question: _Node, yes: _Node, no: _Node) -> None:
        self.question, self.yes, self.no = question, yes, no

    def eval(self, variables: Mapping[str, Any]) -> Any:
        branch = self.yes if _to_boolean(self.question.eval(variables)) else self.no
        return branch.eval(variables)


# --------------------------------------------------------------------------------------------
# Scanner (JUEL's Scanner, inside '${' ... '}')

_KEYWORDS = {
    "true": "true",
    "false": "false",
    "null": "null",
    "empty": "empty",
    "not": "!",
    "and": "&&",
    "or": "||",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "instanceof": "instanceof",
}
_TWO_CHAR = {"==", "!=", "<=", ">=", "&&", "||"}
_ONE_CHAR = set("<>!()[].,?:+-*/%")


class _Token:
    __slots__ = ("image", "kind", "position", "value")

    def __init__(self, kind: str, image: str, position: int, value: Any = None) -> None:
        self.kind = kind  # 'identifier', 'string', 'integer', 'float', 'end', or the operator
        self.image = image
        self.position = position
        self.value = value


def _is_java_whitespace(c: str) -> bool:
    if c in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f":
        return True
    return unicodedata.category(c) in ("Zs", "Zl", "Zp") and c not in "\xa0\u2007\u202f"


def _is_identifier_start(c: str) -> bool:
    category = unicodedata.category(c)
    return category[0] == "L" or category in ("Sc", "Pc", "Nl")


def _is_identifier_part(c: str) -> bool:
    if _is_identifier_start(c) or unicodedata.category(c) in ("Nd", "Mn", "Mc", "Cf"):
        return True
    code = ord(c)
    return code <= 0x08 or 0x0E <= code <= 0x1B or 0x7F <= code <= 0x9F


class _Scanner:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, position: int, part: str, reason: str) -> ExpressionError:
        return ExpressionError(self.source, reason, position=position, part=part)

    def tokens(self, start: int) -> tuple[list[_Token], int]:
        """The tokens from ``start`` to the closing '}' (an 'end' token) and where that is."""
        source, i, out = self.source, start, []
        while True:
            while i < len(source) and _is_java_whitespace(source[i]):
                i += 1
            if i == len(source):
                raise self.fail(i, source[start - 2 :], "missing the closing '}'")
            c = source[i]
            if c == "}":
                out.append(_Token("end", "}", i))
                return out, i
            token = self.next(i)
            out.append(token)
            i += len(token.image)

    def next(self, i: int) -> _Token:
        source = self.source
        c, pair = source[i], source[i : i + 2]
        if pair == "+=":
            raise self.fail(i, pair, "the string concatenation operator '+=' is not supported")
        if pair == "->":
            raise self.fail(i, pair, "lambda expressions ('->') are not supported")
        if pair in _TWO_CHAR:
            return _Token(pair, pair, i)
        if c == "=":
            raise self.fail(i, c, "assignment ('=') is not supported; did you mean '=='?")
        if c == ";":
            raise self.fail(i, c, "';' (a sequence of expressions) is not supported")
        if c == "{":
            raise self.fail(i, c, "set and map literals ('{...}') are not supported")
        if c in "'\"":
            return self.string(i)
        if "0" <= c <= "9" or (c == "." and "0" <= source[i + 1 : i + 2] <= "9"):
            return self.number(i)
        if c in _ONE_CHAR:
            return _Token(c, c, i)
        if _is_identifier_start(c):
            end = i + 1
            while end < len(source) and _is_identifier_part(source[end]):
                end += 1
            word = source[i:end]
            return _Token(_KEYWORDS.get(word, "identifier"), word, i, word)
        raise self.fail(i, c, f"invalid character {c!r}")

    def string(self, start: int) -> _Token:
        source, quote = self.source, self.source[start]
        chars, i = [], start + 1
        while i < len(source):
            c = source[i]
            if c == "\\":
                escaped = source[i + 1 : i + 2]
                if escaped in ("\\", quote):
                    chars.append(escaped)
                    i += 2
                    continue
                if not escaped:
                    break
                raise self.fail(
                    i,
                    c + escaped,
                    f"invalid escape sequence {c + escaped!r} in a string in {quote}...{quote}"
                    f" (EL knows only \\{quote} and \\\\ there)",
                )
            if c == quote:
                return _Token("string", source[start : i + 1], start, "".join(chars))
            chars.append(c)
            i += 1
        raise self.fail(start, source[start:], f"unterminated string (no closing {quote})")

    def number(self, start: int) -> _Token:
        source, i, kind = self.source, start, "integer"

        def digits(i: int) -> int:
            while i < len(source) and "0" <= source[i] <= "9":
                i += 1
            return i

        i = digits(i)
        if source[i : i + 1] == ".":
            i, kind = digits(i + 1), "float"
        if source[i : i + 1] in ("e", "E"):
            exponent = i + 1 + (source[i + 1 : i + 2] in ("+", "-"))
            if digits(exponent) > exponent:  # else the 'e' is not part of the number
                i, kind = digits(exponent), "float"
        image = source[start:i]
        if kind == "float":
            return _Token(kind, image, start, float(image))
        value = _Long(image)  # JUEL reads an integer literal as a Long
        if value > _LONG_MAX:
            raise self.fail(start, image, f"integer literal {image} does not fit a Java long")
        return _Token(kind, image, start, value)


# --------------------------------------------------------------------------------------------
# Parser (JUEL's Parser, less what the subset leaves out)

_EXPECTED_VALUE = "a value (variable, literal, '(', '!', 'not', '-' or 'empty')"
_COMPARISON_KINDS = ("<", ">", "<=", ">=")


class _Parser:
    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.identifiers: set[str] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: _Token, reason: str, part: str | None = None) -> ExpressionError:
        part = token.image if part is None else part
        return ExpressionError(self.source, reason, position=token.position, part=part)

    def unexpected(self, expected: str) -> ExpressionError:
        token = self.token
        if token.kind == "instanceof":
            return self.fail(token, "the 'instanceof' operator is not supported")
        found = "the closing '}'" if token.kind == "end" else repr(token.image)
        return self.fail(token, f"syntax error: found {found}, expected {expected}")

    def expect(self, kind: str, expected: str) -> _Token:
        if self.token.kind != kind:
            raise self.unexpected(expected)
        return self.advance()

    def parse(self) -> _Node:
        node = self.expr()
        if self.token.kind != "end":
            raise self.unexpected("an operator or the closing '}'")
        return node

    def nested(self, parse: Callable[[], _Node]) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail(self.token, "the expression is nested too deeply")
        try:
            return parse()
        finally:
            self.depth -= 1

    def expr(self) -> _Node:
        return self.nested(self._expr)

    def _expr(self) -> _Node:
        node = self.or_()
        if self.token.kind == "?":
            self.advance()
            yes = self.expr()
            self.expect(":", "':' of the conditional operator '?:'")
            node = _Choice(node, yes, self.expr())
        return node

    def or_(self) -> _Node:
        node = self.and_()
        while self.token.kind == "||":
            self.advance()
            node = _Or(node, self.and_())
        return node

    def and_(self) -> _Node:
        node = self.equality()
        while self.token.kind == "&&":
            self.advance()
            node = _And(node, self.equality())
        return node

    def equality(self) -> _Node:
        node = self.comparison()
        while self.token.kind in ("==", "!="):
            function = _COMPARISONS[self.advance().kind]
            node = _Binary(function, node, self.comparison())
        return node

    def comparison(self) -> _Node:
        node = self.additive()
        while self.token.kind in _COMPARISON_KINDS:
            function = _COMPARISONS[self.advance().kind]
            node = _Binary(function, node, self.additive())
        return node

    def additive(self) -> _Node:
        node = self.multiplicative()
        while self.token.kind in ("+", "-"):
            function = _ARITHMETIC_OPERATIONS[self.advance().kind]
            node = _Binary(function, node, self.multiplicative())
        return node

    def multiplicative(self) -> _Node:
        node = self.unary()
        while self.token.kind in ("*", "/", "%"):  # `div` and `mod` scan as '/' and '%'
            function = _ARITHMETIC_OPERATIONS[self.advance().kind]
            node = _Binary(function, node, self.unary())
        return node

    def unary(self) -> _Node:
        return self.nested(self._unary)

    def _unary(self) -> _Node:
        kind = self.token.kind
        if kind == "!":
            self.advance()
            return _Unary(lambda v: not _to_boolean(v), self.unary())
        if kind == "-":
            self.advance()
            return _Unary(_negate, self.unary())
        if kind == "empty":
            self.advance()
            return _Unary(_empty, self.unary())
        return self.value()

    def value(self) -> _Node:
        start = self.token
        node = self.primary()
        while self.token.kind in (".", "["):
            if self.advance().kind == ".":
                if self.token.kind != "identifier":
                    raise self.unexpected("a property name after '.'")
                name = self.advance().image
                if self.token.kind == "(":
                    node = _Call(node, name, self.arguments())
                else:
                    node = _Dot(node, name)
            else:
                key = self.expr()
                self.expect("]", "']'")
                node = _Bracket(node, key)
                if self.token.kind == "(":
                    raise self.call("method call", start)
        return node

    def arguments(self) -> tuple[_Node, ...]:
        """A method's arguments, from its '(' to its ')'."""
        self.expect("(", "'('")
        found: list[_Node] = []
        if self.token.kind != ")":
            found.append(self.expr())
            while self.token.kind == ",":
                self.advance()
                found.append(self.expr())
        self.expect(")", "',' or ')' of the method's arguments")
        return tuple(found)

    def call(self, what: str, start: _Token) -> ExpressionError:
        """Refuse the call whose '(' is the current token and whose callee began at ``start``."""
        callee = self.source[start.position : self.token.position].rstrip()
        return self.fail(start, f"{what} {callee + '(...)'!r} is not supported", callee + "(")

    def primary(self) -> _Node:
        token = self.token
        kind = token.kind
        if kind == "identifier":
            self.advance()
            namespaced = self.peek().kind == "identifier" and self.peek(2).kind == "("
            if self.token.kind == ":" and namespaced:  # prefix:name(...)
                self.index += 2
                raise self.call("function call", token)
            if self.token.kind == "(":
                raise self.call("function call", token)
            self.identifiers.add(token.image)
            return _Identifier(token.image)
        if kind == "(":
            self.advance()
            node = self.expr()
            self.expect(")", "')'")
            return node
        if kind in ("string", "integer", "float"):
            self.advance()
            return _Literal(token.value)
        if kind in ("true", "false", "null"):
            self.advance()
            return _Literal({"true": True, "false": False, "null": None}[kind])
        if kind == "[":
            raise self.fail(token, "list literals ('[...]') are not supported")
        raise self.unexpected(_EXPECTED_VALUE)


# --------------------------------------------------------------------------------------------
# Public API


class Expression:
    """A compiled ``${...}``: evaluate it as often as needed against process variables."""

    __slots__ = ("_root", "deferred", "text", "variables")

    def __init__(self, text: str, root: _Node, variables: frozenset[str], deferred: bool) -> None:
        self.text = text
        self.variables = variables  # the top-level identifiers it reads
        self.deferred = deferred  # written '#{...}'; evaluates the same
        self._root = root

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def uses_engine(self) -> bool:
        """Whether it names an engine object (`execution`, ...) that the scope must hold."""
        return not self.variables.isdisjoint(ENGINE_NAMES)

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The value, as JUEL computes it; errors carry Activiti's JuelExpression messages."""
        try:
            return self._root.eval(variables)
        except _Failure as failure:
            raise _evaluation_error(failure, self.text) from None

    def evaluate_condition(self, variables: Mapping[str, Any]) -> bool:
        """The value of a sequence-flow condition: a Boolean, or an error as in Activiti."""
        result = self.evaluate(variables)
        if result is None:
            raise EvaluationError("condition expression returns null", expression=self.text)
        if not isinstance(result, bool):
            raise EvaluationError(
                f"condition expression returns non-Boolean: {_java_string(result)}"
                f" ({_java_class(result)})",
                expression=self.text,
            )
        return result


def _evaluation_error(failure: _Failure, text: str) -> EvaluationError:
    """JuelExpression.getValue's wrapping of an EL exception (Activiti and Flowable alike)."""
    if failure.not_found:
        message = f"Unknown property used in expression: {text}"
    elif failure.no_method:
        message = f"Unknown method used in expression: {text}"
    else:
        message = f"Error while evaluating expression: {text}"
    return EvaluationError(message, cause=failure.message, expression=text)


class TextExpression:
    """A value expression as the engine reads an attribute (assignee, task name, form
    property, service task): plain text, one ``${...}``, or text and ``${...}`` mixed (JUEL's
    composite expression). One ``${...}`` alone gives its value as it is; text mixed with
    expressions gives a String, each value coerced as EL coerces to String (null → '')."""

    __slots__ = ("_parts", "text", "variables")

    def __init__(self, text: str, parts: tuple[str | _Node, ...],
                 variables: frozenset[str]) -> None:
        self.text = text
        self._parts = parts
        self.variables = variables

    def __repr__(self) -> str:
        return f"TextExpression({self.text!r})"

    @property
    def literal(self) -> bool:
        """Plain text: its value is the text itself, whatever the scope."""
        return all(isinstance(part, str) for part in self._parts)

    @property
    def uses_engine(self) -> bool:
        return not self.variables.isdisjoint(ENGINE_NAMES)

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        parts = self._parts
        try:
            if len(parts) == 1:
                part = parts[0]
                return part if isinstance(part, str) else part.eval(variables)
            return "".join(part if isinstance(part, str) else _to_string(part.eval(variables))
                           for part in parts)
        except _Failure as failure:
            raise _evaluation_error(failure, self.text) from None


def compile_text(text: str) -> TextExpression:
    """Parse an attribute the engine reads as a value expression (see TextExpression)."""
    if not isinstance(text, str):
        raise TypeError(f"an expression is a str, not {type(text).__name__}")
    return _compile_text(text)


@lru_cache(maxsize=4096)
def _compile_text(original: str) -> TextExpression:
    text = original.strip(_JAVA_TRIM)  # ExpressionManager.createExpression trims it
    parts: list[str | _Node] = []
    identifiers: set[str] = set()
    literal: list[str] = []
    i = 0
    while i < len(text):
        c, pair = text[i], text[i : i + 2]
        if c == "\\" and text[i + 1 : i + 3] in ("${", "#{"):
            literal.append(text[i + 1 : i + 3])  # JUEL's escape of an expression's opening
            i += 3
            continue
        if pair in ("${", "#{"):
            if literal:
                parts.append("".join(literal))
                literal = []
            tokens, end = _Scanner(text).tokens(i + 2)
            if len(tokens) == 1:
                raise ExpressionError(text, "the expression is empty", position=i + 2,
                                      part=text[i : end + 1])
            parser = _Parser(text, tokens)
            root = parser.parse()
            if _depth(root) > _MAX_DEPTH:
                raise ExpressionError(text, "the expression is nested too deeply", part=text)
            parts.append(root)
            identifiers |= parser.identifiers
            i = end + 1
            continue
        literal.append(c)
        i += 1
    if literal or not parts:
        parts.append("".join(literal))
    return TextExpression(original, tuple(parts), frozenset(identifiers))


def storable(value: Any) -> Any:
    """`value`, to be kept as a variable, as JSON data: a Long as the int it is; a BigDecimal
    (which only arithmetic on a number beyond a long makes) is refused loudly."""
    if type(value) is _Long:
        return int(value)
    if isinstance(value, Decimal):
        raise EngineError(f"mockidm cannot keep the BigDecimal {value} as a variable: it keeps "
                          "variables as JSON values (an Integer, Long or Double would do)")
    return value


def java_string(value: Any) -> str:
    """``String.valueOf``: the text Java would print for a variable's value."""
    return _java_string(value)


def java_class(value: Any) -> str:
    """The Java class a variable's value has in the engine."""
    return _java_class(value)


def compile_expression(text: str) -> Expression:
    """Parse ``text``, the whole ``${...}`` (or ``#{...}``), surrounding whitespace allowed."""
    if not isinstance(text, str):
        raise TypeError(f"an expression is a str, not {type(text).__name__}")
    return _compile(text)


def _depth(root: _Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((getattr(node, name), depth + 1) for name in node.children)
    return deepest


@lru_cache(maxsize=1024)
def _compile(text: str) -> Expression:
    source = text.strip(_JAVA_TRIM)  # ExpressionManager.createExpression trims it
    if not source:
        raise ExpressionError(source, "the expression is empty", position=0, part="")
    opening = source[:2]
    if opening not in ("${", "#{"):
        found = [i for i in (source.find("${"), source.find("#{")) if i >= 0]
        if found:
            start = min(found)
            raise ExpressionError(
                source,
                f"literal text {source[:start]!r} before {source[start : start + 2]!r}"
                " (text around an expression is not supported)",
                position=0,
                part=source[:start],
            )
        raise ExpressionError(
            source,
            "it is not an EL expression: write it as '${...}' (the engine reads plain text as a"
            " String, and a condition that is a String fails)",
            position=0,
            part=source,
        )
    scanner = _Scanner(source)
    tokens, end = scanner.tokens(2)
    if len(tokens) == 1:
        raise ExpressionError(source, "the expression is empty", position=2, part=source)
    rest = source[end + 1 :]
    if rest:
        raise ExpressionError(
            source,
            f"text {rest!r} after the closing '}}' (text around an expression is not supported)",
            position=end + 1,
            part=rest,
        )
    parser = _Parser(source, tokens)
    root = parser.parse()
    if _depth(root) > _MAX_DEPTH:
        raise ExpressionError(source, "the expression is nested too deeply", part=source)
    return Expression(text, root, frozenset(parser.identifiers), opening == "#{")
