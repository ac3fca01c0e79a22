"""Groovy values as the evaluator keeps them, and what Groovy does with them: truth,
equality, `toString`, arithmetic, and the methods real IDM workflow scripts call on strings,
lists, maps, numbers and the few Java classes they name.

Groovy's values are Python's: null None, Boolean bool, Integer/Long int, Double and
BigDecimal float, String and GString str, List list, Map dict (insertion-ordered, as a
LinkedHashMap); a closure is `Closure`, a Java object one of the `JavaObject` classes here.
Nothing else can be reached from a script: a method is found only in the tables below.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..expressions import EngineObject


class GroovyError(Exception):
    """A failure as Groovy reports it: the Java exception's class and message; `line` is the
    script line that raised it (set by the evaluator)."""

    def __init__(self, message: str, exception: str = "java.lang.RuntimeException",
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.exception, self.line = message, exception, line

    def __str__(self) -> str:
        return f"{self.exception}: {self.message}"


class Refused(GroovyError):
    """What the mock will never run: files, processes, arbitrary classes, reflection."""

    def __init__(self, what: str) -> None:
        super().__init__(f"mockidm refuses {what}: scripts run in a sandbox without access to "
                         "the host", "java.lang.SecurityException")


class ScriptThrown(GroovyError):
    """An exception the script threw itself (`throw new Exception('...')`)."""


def npe(message: str) -> GroovyError:
    return GroovyError(message, "java.lang.NullPointerException")


def no_method(value: Any, name: str, args: list[Any]) -> GroovyError:
    types = ", ".join(java_class(a) for a in args)
    shown = ", ".join(repr_value(a) for a in args)
    return GroovyError(f"No signature of method: {java_class(value)}.{name}() is applicable "
                       f"for argument types: ({types}) values: [{shown}]",
                       "groovy.lang.MissingMethodException")


def no_property(value: Any, name: str) -> GroovyError:
    return GroovyError(f"No such property: {name} for class: {java_class(value)}",
                       "groovy.lang.MissingPropertyException")


class Closure:
    """A Groovy closure: its parameters (None: the implicit `it`), body and the scope it
    closes over; `invoke` is set by the evaluator that made it."""

    def __init__(self, parameters: list[str] | None, invoke: Callable[[list[Any]], Any]) -> None:
        self.parameters = parameters
        self.invoke = invoke

    @property
    def arity(self) -> int:
        return 1 if self.parameters is None else len(self.parameters)

    def __call__(self, *args: Any) -> Any:
        return self.invoke(list(args))


class JavaObject:
    """One of the Java classes the mock knows; `methods` maps a name to a callable taking the
    arguments."""

    java_class = "java.lang.Object"

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {}

    def properties(self) -> dict[str, Callable[[], Any]]:
        return {}

    def to_string(self) -> str:
        return f"{self.java_class}@{id(self):x}"


# Values as Groovy sees them ------------------------------------------------------------------

def java_class(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -2**31 <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.math.BigDecimal"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.LinkedHashMap"
    if isinstance(value, Closure):
        return "groovy.lang.Closure"
    if isinstance(value, JavaObject | EngineObject):
        return value.java_class
    return "java.lang.Object"


def truth(value: Any) -> bool:
    """Groovy truth: null, false, 0, "" and empty collections are false."""
    if value is None:
        return False
    if isinstance(value, bool | int | float | str | list | dict):
        return bool(value)
    if isinstance(value, StringBuilder):
        return bool(value.parts)
    return True


def to_string(value: Any) -> str:
    """`toString()` as Groovy prints a value in a GString or a `+`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_string(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "[:]"
        return "[" + ", ".join(f"{to_string(k)}:{to_string(v)}" for k, v in value.items()) + "]"
    if isinstance(value, JavaObject):
        return value.to_string()
    if isinstance(value, Closure):
        return f"Script1$_run_closure1@{id(value):x}"
    if isinstance(value, EngineObject):
        return f"{value.java_class}@{id(value):x}"
    return str(value)


def repr_value(value: Any) -> str:
    return to_string(value)


def _decimal(value: float) -> str:
    # Groovy's decimals are BigDecimals, kept here as floats: 1.5 prints as 1.5, but a
    # BigDecimal's scale (1.50) is not kept.
    return repr(value)


def equal(left: Any, right: Any) -> bool:
    """Groovy's `==`: numbers by value, lists and maps by content, a Boolean never equals a
    number."""
    if left is right:
        return True
    if left is None or right is None:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right,
                                                                             strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(v, right[k]) for k, v in left.items())
    if isinstance(left, JavaObject) and hasattr(left, "equals"):
        return bool(left.equals(right))
    return False


def compare(left: Any, right: Any) -> int:
    """`<=>` and the ordering operators."""
    if left is None or right is None:
        if left is None and right is None:
            return 0
        return -1 if left is None else 1
    if isinstance(left, int | float) and isinstance(right, int | float) and not (
            isinstance(left, bool) or isinstance(right, bool)):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    if isinstance(left, JavaDate) and isinstance(right, JavaDate):
        return (left.moment > right.moment) - (left.moment < right.moment)
    raise GroovyError(f"Cannot compare {java_class(left)} with value '{to_string(left)}' and "
                      f"{java_class(right)} with value '{to_string(right)}'",
                      "java.lang.IllegalArgumentException")


def is_case(case: Any, value: Any) -> bool:
    """`case` in a switch and `value in case`: the case's isCase."""
    if isinstance(case, list):
        return any(equal(item, value) for item in case)
    if isinstance(case, dict):
        return truth(case.get(value))
    if isinstance(case, Closure):
        return truth(case(value))
    if isinstance(case, JavaClass):
        return case.is_instance(value)
    return equal(case, value)


def contains(collection: Any, value: Any) -> bool:
    if isinstance(collection, list):
        return any(equal(item, value) for item in collection)
    if isinstance(collection, dict):
        return value in collection
    if isinstance(collection, str):
        return isinstance(value, str) and value == collection
    if collection is None:
        return False
    return is_case(collection, value)


# Arithmetic -----------------------------------------------------------------------------------

def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def arithmetic(operator: str, left: Any, right: Any) -> Any:
    if operator == "+":
        if isinstance(left, str):
            return _bounded(left + to_string(right))
        if _number(left) and _number(right):
            return left + right
        if isinstance(left, list):
            return _bounded(left + right if isinstance(right, list) else [*left, right])
        if isinstance(left, dict) and isinstance(right, dict):
            return {**left, **right}
        if _number(left) and isinstance(right, str):
            return to_string(left) + right
        if isinstance(left, StringBuilder):
            return left.to_string() + to_string(right)
    elif operator == "-":
        if _number(left) and _number(right):
            return left - right
        if isinstance(left, list):
            drop = right if isinstance(right, list) else [right]
            return [item for item in left if not any(equal(item, d) for d in drop)]
        if isinstance(left, str) and isinstance(right, str):
            return left.replace(right, "", 1)
        if isinstance(left, dict) and isinstance(right, dict):
            return {k: v for k, v in left.items() if not (k in right and equal(right[k], v))}
    elif operator == "*":
        if _number(left) and _number(right):
            return left * right
        if isinstance(left, str | list) and isinstance(right, int) and not isinstance(right,
                                                                                      bool):
            if len(left) * right > _MAX_SIZE:
                raise GroovyError(f"mockidm refuses to build a value of {len(left) * right} "
                                  "items", "java.lang.OutOfMemoryError")
            return left * right
    elif operator == "/":
        if _number(left) and _number(right):
            if right == 0:
                raise GroovyError("Division by zero" if isinstance(right, int)
                                  else "Division undefined", "java.lang.ArithmeticException")
            quotient = left / right
            if isinstance(left, int) and isinstance(right, int) and left % right == 0:
                return left // right
            return quotient
    elif operator == "%":
        if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool):
            if right == 0:
                raise GroovyError("/ by zero", "java.lang.ArithmeticException")
            return int(_java_mod(left, right))
        if _number(left) and _number(right):
            return _java_mod(left, right)
    elif operator == "**":
        if _number(left) and _number(right):
            if isinstance(right, int) and abs(right) > _MAX_EXPONENT and abs(left) > 1:
                raise GroovyError(f"mockidm refuses {to_string(left)} ** {to_string(right)}: "
                                  "too large a number", "java.lang.ArithmeticException")
            return left ** right
    elif operator == "<<":
        if isinstance(left, list):
            left.append(right)
            return left
        if isinstance(left, StringBuilder):
            left.parts.append(to_string(right))
            return left
        if isinstance(left, int) and isinstance(right, int):
            return left << right
    elif operator == ">>":
        if isinstance(left, int) and isinstance(right, int):
            return left >> right
    elif operator in ("&", "|", "^"):
        if isinstance(left, bool) and isinstance(right, bool):
            return {"&": left and right, "|": left or right, "^": left != right}[operator]
        if isinstance(left, int) and isinstance(right, int):
            return {"&": left & right, "|": left | right, "^": left ^ right}[operator]
    if left is None:
        method = _OPERATOR_METHODS.get(operator, operator)
        raise npe(f"Cannot invoke method {method}() on null object")
    raise no_method(left, _OPERATOR_METHODS.get(operator, operator), [right])


# Bounds that keep a script from exhausting the mock's memory in one step.
_MAX_SIZE = 10_000_000
_MAX_EXPONENT = 10_000

_OPERATOR_METHODS = {"+": "plus", "-": "minus", "*": "multiply", "/": "div", "%": "mod",
                     "**": "power", "<<": "leftShift", ">>": "rightShift", "&": "and",
                     "|": "or", "^": "xor"}


def _bounded(value: Any) -> Any:
    """A string or list a script built, refused past a size no workflow needs (a loop that
    doubles a value would otherwise exhaust the mock's memory within its step budget)."""
    if len(value) > _MAX_SIZE:
        raise GroovyError(f"mockidm refuses to build a value of {len(value)} items",
                          "java.lang.OutOfMemoryError")
    return value


def _java_mod(left: float, right: float) -> float:
    result = abs(left) % abs(right)
    return -result if left < 0 else result


# Methods ----------------------------------------------------------------------------------------

def call_closure(closure: Any, *args: Any) -> Any:
    if not isinstance(closure, Closure):
        raise GroovyError(f"a closure was expected, not {java_class(closure)}",
                          "groovy.lang.MissingMethodException")
    if closure.parameters is not None and len(closure.parameters) == 1 and len(args) > 1:
        return closure(list(args))
    return closure(*args)


def _entries(mapping: dict[Any, Any]) -> list[MapEntry]:
    return [MapEntry(mapping, key) for key in mapping]


def _items(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return _entries(value)
    if isinstance(value, str):
        return list(value)
    if value is None:
        return []
    raise GroovyError(f"{java_class(value)} cannot be iterated",
                      "groovy.lang.MissingMethodException")


def _each_arg(target: Any, closure: Closure, item: Any) -> Any:
    """A map's closures take an entry, or key and value when they declare two parameters."""
    if isinstance(target, dict) and closure.arity == 2 and isinstance(item, MapEntry):
        return closure(item.key, item.value)
    return closure(item)


def _iterable_methods(target: Any) -> dict[str, Callable[..., Any]]:
    def each(closure: Closure) -> Any:
        for item in _items(target):
            _each_arg(target, closure, item)
        return target

    def each_with_index(closure: Closure) -> Any:
        for index, item in enumerate(_items(target)):
            if isinstance(target, dict) and closure.arity == 3:
                closure(item.key, item.value, index)
            else:
                closure(item, index)
        return target

    def collect(closure: Closure | None = None) -> list[Any]:
        if closure is None:
            return list(_items(target))
        return [_each_arg(target, closure, item) for item in _items(target)]

    def find(closure: Closure | None = None) -> Any:
        for item in _items(target):
            if truth(item if closure is None else _each_arg(target, closure, item)):
                return item
        return None

    def find_all(closure: Closure | None = None) -> Any:
        chosen = [item for item in _items(target)
                  if truth(item if closure is None else _each_arg(target, closure, item))]
        if isinstance(target, dict):
            return {entry.key: entry.value for entry in chosen}
        return chosen

    def any_(closure: Closure | None = None) -> bool:
        return any(truth(item if closure is None else _each_arg(target, closure, item))
                   for item in _items(target))

    def every(closure: Closure | None = None) -> bool:
        return all(truth(item if closure is None else _each_arg(target, closure, item))
                   for item in _items(target))

    def count(what: Any) -> int:
        if isinstance(what, Closure):
            return sum(1 for item in _items(target) if truth(_each_arg(target, what, item)))
        return sum(1 for item in _items(target) if equal(item, what))

    def inject(initial: Any, closure: Any = None) -> Any:
        items = list(_items(target))
        if closure is None:
            closure, initial = initial, items.pop(0) if items else None
        for item in items:
            initial = closure(initial, item)
        return initial

    def collect_entries(closure: Closure | None = None) -> dict[Any, Any]:
        found: dict[Any, Any] = {}
        for item in _items(target):
            pair = item if closure is None else _each_arg(target, closure, item)
            if isinstance(pair, MapEntry):
                found[pair.key] = pair.value
            elif isinstance(pair, dict):
                found.update(pair)
            elif isinstance(pair, list) and len(pair) == 2:
                found[pair[0]] = pair[1]
            else:
                raise GroovyError("collectEntries expects a key and a value, got "
                                  f"{to_string(pair)}")
        return found

    def group_by(closure: Closure) -> dict[Any, Any]:
        found: dict[Any, list[Any]] = {}
        for item in _items(target):
            found.setdefault(_each_arg(target, closure, item), []).append(item)
        return found

    def join(separator: str = "") -> str:
        return separator.join(to_string(item) for item in _items(target))

    def sum_(closure: Closure | None = None) -> Any:
        items = [item if closure is None else closure(item) for item in _items(target)]
        if not items:
            return None
        total = items[0]
        for item in items[1:]:
            total = arithmetic("+", total, item)
        return total

    def extreme(sign: int) -> Callable[..., Any]:
        def pick(closure: Closure | None = None) -> Any:
            best = None
            found = False
            for item in _items(target):
                key = item if closure is None else closure(item)
                if not found or compare(key, best[0]) * sign > 0:  # type: ignore[index]
                    best, found = (key, item), True
            return None if best is None else best[1]
        return pick

    def find_result(closure: Closure) -> Any:
        for item in _items(target):
            result = _each_arg(target, closure, item)
            if result is not None:
                return result
        return None

    return {"each": each, "eachWithIndex": each_with_index, "collect": collect,
            "find": find, "findAll": find_all, "any": any_, "every": every, "count": count,
            "inject": inject, "collectEntries": collect_entries, "groupBy": group_by,
            "join": join, "sum": sum_, "max": extreme(1), "min": extreme(-1),
            "findResult": find_result}


def _sort_key(closure: Closure | None) -> Callable[[Any], Any]:
    import functools

    def by(left: Any, right: Any) -> int:
        if closure is None:
            return compare(left, right)
        if closure.arity == 2:
            result = closure(left, right)
            return int(result) if _number(result) else 0
        return compare(closure(left), closure(right))
    return functools.cmp_to_key(by)


def list_methods(target: list[Any]) -> dict[str, Callable[..., Any]]:
    def remove(what: Any) -> Any:
        if isinstance(what, int) and not isinstance(what, bool):
            return target.pop(what)
        for index, item in enumerate(target):
            if equal(item, what):
                del target[index]
                return True
        return False

    def get(index: int) -> Any:
        if not -len(target) <= index < len(target) or index < 0:
            raise GroovyError(f"Index: {index}, Size: {len(target)}",
                              "java.lang.IndexOutOfBoundsException")
        return target[index]

    def index_of(value: Any) -> int:
        return next((i for i, item in enumerate(target) if equal(item, value)), -1)

    def sort(first: Any = None, second: Any = None) -> list[Any]:
        closure = second if isinstance(second, Closure) else first if isinstance(
            first, Closure) else None
        target.sort(key=_sort_key(closure))
        return target

    def unique(closure: Closure | None = None) -> list[Any]:
        kept: list[Any] = []
        for item in target:
            key = item if closure is None else closure(item)
            if not any(equal(key, item if closure is None else closure(k)) for k in kept):
                kept.append(item)
        target[:] = kept
        return target

    def first() -> Any:
        if not target:
            raise GroovyError("Cannot access first() element from an empty List",
                              "java.util.NoSuchElementException")
        return target[0]

    def last() -> Any:
        if not target:
            raise GroovyError("Cannot access last() element from an empty List",
                              "java.util.NoSuchElementException")
        return target[-1]

    def flatten() -> list[Any]:
        out: list[Any] = []
        for item in target:
            out.extend(list_methods(item)["flatten"]() if isinstance(item, list) else [item])
        return out

    def add(first_: Any, second_: Any = _MISSING) -> Any:
        if second_ is _MISSING:
            target.append(first_)
            return True
        target.insert(first_, second_)
        return None

    methods = _iterable_methods(target)
    methods.update({
        "add": add, "push": lambda v: add(v),  # Groovy 2.x pushes at the end
        "addAll": lambda items: _add_all(target, items),
        "remove": remove, "removeAll": lambda items: _remove_all(target, items),
        "clear": target.clear, "get": get, "getAt": lambda i: _subscript(target, i),
        "set": lambda i, v: target.__setitem__(i, v),
        "size": lambda: len(target), "isEmpty": lambda: not target,
        "contains": lambda v: contains(target, v),
        "containsAll": lambda vs: all(contains(target, v) for v in vs),
        "indexOf": index_of, "sort": sort, "unique": unique, "first": first, "last": last,
        "head": first, "tail": lambda: target[1:], "reverse": lambda: target[::-1],
        "flatten": flatten, "plus": lambda v: arithmetic("+", target, v),
        "minus": lambda v: arithmetic("-", target, v), "toList": lambda: list(target),
        "asList": lambda: target, "toSet": lambda: unique_copy(target),
        "take": lambda n: target[:n], "drop": lambda n: target[n:],
        "subList": lambda a, b: target[a:b],
        "intersect": lambda other: [i for i in target if contains(other, i)],
        "disjoint": lambda other: not any(contains(other, i) for i in target),
        "pop": lambda: target.pop(),  # Groovy 2.x: the last element
        "toString": lambda: to_string(target), "equals": lambda o: equal(target, o),
        "toArray": lambda: list(target),
    })
    return methods


def unique_copy(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if not any(equal(item, k) for k in kept):
            kept.append(item)
    return kept


def _add_all(target: list[Any], items: Any) -> bool:
    target.extend(_items(items))
    _bounded(target)
    return True


def _remove_all(target: list[Any], items: Any) -> bool:
    before = len(target)
    target[:] = [item for item in target if not contains(items, item)]
    return len(target) != before


_MISSING = object()


def map_methods(target: dict[Any, Any]) -> dict[str, Callable[..., Any]]:
    def put(key: Any, value: Any) -> Any:
        old = target.get(key)
        target[key] = value
        return old

    methods = _iterable_methods(target)
    methods.update({
        "put": put, "get": lambda k, default=None: target.get(k, default),
        "getAt": lambda k: target.get(k), "putAt": lambda k, v: target.__setitem__(k, v),
        "putAll": lambda other: target.update(other), "containsKey": lambda k: k in target,
        "containsValue": lambda v: any(equal(v, x) for x in target.values()),
        "remove": lambda k: target.pop(k, None), "keySet": lambda: list(target),
        "values": lambda: list(target.values()), "entrySet": lambda: _entries(target),
        "size": lambda: len(target), "isEmpty": lambda: not target,
        "getOrDefault": lambda k, d: target.get(k, d), "clear": target.clear,
        "subMap": lambda keys: {k: target[k] for k in keys if k in target},
        "plus": lambda other: arithmetic("+", target, other),
        "toString": lambda: to_string(target), "equals": lambda o: equal(target, o),
        "containsAll": lambda keys: all(k in target for k in keys),
    })
    return methods


def string_methods(target: str) -> dict[str, Callable[..., Any]]:
    def split(pattern: str = r"\s+", limit: int = 0) -> list[str]:
        if pattern == r"\s+" and limit == 0:
            return target.split()
        parts = re.split(_regex(pattern), target, maxsplit=max(limit - 1, 0))
        if limit == 0:
            while parts and parts[-1] == "":
                parts.pop()
        return parts if target else [""]

    def tokenize(separators: str = " \t\n\r\f") -> list[str]:
        return [t for t in re.split("[" + re.escape(separators) + "]", target) if t]

    def substring(start: int, end: int | None = None) -> str:
        stop = len(target) if end is None else end
        if start < 0 or stop > len(target) or start > stop:
            raise GroovyError(f"begin {start}, end {stop}, length {len(target)}",
                              "java.lang.StringIndexOutOfBoundsException")
        return target[start:stop]

    def to_integer() -> int:
        if not re.fullmatch(r"[+-]?\d+", target.strip()):
            raise number_format(target)
        return int(target.strip())

    def is_number() -> bool:
        return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", target.strip()) is not None

    return {
        "length": lambda: len(target), "size": lambda: len(target),
        "isEmpty": lambda: not target, "toUpperCase": target.upper,
        "toLowerCase": target.lower, "trim": lambda: target.strip(" \t\n\r\f\v\0"),
        "contains": lambda s: to_string(s) in target,
        "startsWith": lambda s: target.startswith(s), "endsWith": lambda s: target.endswith(s),
        "equals": lambda o: isinstance(o, str) and o == target,
        "equalsIgnoreCase": lambda o: isinstance(o, str) and o.lower() == target.lower(),
        "split": split, "tokenize": tokenize, "substring": substring,
        "indexOf": lambda s, start=0: target.find(to_string(s), start),
        "lastIndexOf": lambda s: target.rfind(to_string(s)),
        "replace": lambda a, b: target.replace(to_string(a), to_string(b)),
        "replaceAll": lambda a, b: re.sub(_regex(a), _replacement(b), target),
        "replaceFirst": lambda a, b: re.sub(_regex(a), _replacement(b), target, count=1),
        "matches": lambda p: re.fullmatch(_regex(p), target) is not None,
        "charAt": lambda i: target[i], "toInteger": to_integer, "toLong": to_integer,
        "isNumber": is_number, "isInteger": lambda: re.fullmatch(r"[+-]?\d+",
                                                                 target.strip()) is not None,
        "toBoolean": lambda: target.strip().lower() in ("true", "y", "1"),
        "toString": lambda: target, "concat": lambda s: target + s,
        "capitalize": lambda: target[:1].upper() + target[1:],
        "padLeft": lambda n, c=" ": _bounded(target.rjust(n, c)),
        "padRight": lambda n, c=" ": _bounded(target.ljust(n, c)),
        "reverse": lambda: target[::-1],
        "count": lambda s: target.count(s), "getAt": lambda i: _subscript(target, i),
        "plus": lambda o: target + to_string(o), "minus": lambda o: target.replace(
            to_string(o), "", 1), "toList": lambda: list(target),
        "compareTo": lambda o: compare(target, o), "hashCode": lambda: _java_hash(target),
        "each": lambda c: [c(ch) for ch in target] and target,
        "collect": lambda c: [c(ch) for ch in target],
        "center": lambda n, c=" ": _bounded(target.center(n, c)),
        "trimToEmpty": lambda: target.strip(),
        "intern": lambda: target,
    }


def _java_hash(text: str) -> int:
    value = 0
    for char in text:
        value = (31 * value + ord(char)) & 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def number_format(text: Any) -> GroovyError:
    return GroovyError(f'For input string: "{to_string(text)}"', "java.lang.NumberFormatException")


def _regex(pattern: Any) -> str:
    # Java's and Python's regular expressions agree on what scripts use; possessive
    # quantifiers and \p{...} classes are the mock's limit.
    return to_string(pattern)


def _replacement(text: Any) -> str:
    return re.sub(r"\$(\d)", r"\\\1", to_string(text))


def number_methods(target: int | float) -> dict[str, Callable[..., Any]]:
    def times(closure: Closure) -> None:
        for index in range(int(target)):
            closure(index)

    return {
        "intValue": lambda: int(target), "longValue": lambda: int(target),
        "doubleValue": lambda: float(target), "toInteger": lambda: int(target),
        "toLong": lambda: int(target), "toString": lambda: to_string(target),
        "compareTo": lambda o: compare(target, o), "equals": lambda o: equal(target, o),
        "abs": lambda: abs(target), "plus": lambda o: arithmetic("+", target, o),
        "minus": lambda o: arithmetic("-", target, o),
        "multiply": lambda o: arithmetic("*", target, o),
        "div": lambda o: arithmetic("/", target, o), "intdiv": lambda o: int(target / o),
        "mod": lambda o: arithmetic("%", target, o), "times": times,
        "round": lambda: round(target), "toBigDecimal": lambda: float(target),
    }


def _subscript(target: Any, index: Any) -> Any:
    if isinstance(index, list):
        return [_subscript(target, i) for i in index]
    if isinstance(index, range):
        return target[index.start:index.stop] if index.step == 1 else [
            target[i] for i in index]
    if isinstance(index, int) and not isinstance(index, bool):
        try:
            return target[index]
        except IndexError:
            if isinstance(target, str):
                raise GroovyError(f"String index out of range: {index}",
                                  "java.lang.StringIndexOutOfBoundsException") from None
            return None  # a list's getAt past its end is null
    raise no_method(target, "getAt", [index])


def subscript(target: Any, index: Any) -> Any:
    if isinstance(target, dict):
        return target.get(index)
    if isinstance(target, list | str):
        return _subscript(target, index)
    if isinstance(target, JavaObject | EngineObject) and isinstance(index, str):
        from .evaluator import get_property
        return get_property(target, index)
    if target is None:
        raise npe("Cannot invoke method getAt() on null object")
    raise no_method(target, "getAt", [index])


def put_at(target: Any, index: Any, value: Any) -> None:
    if isinstance(target, dict):
        target[index] = value
        return
    if isinstance(target, list) and isinstance(index, int) and not isinstance(index, bool):
        if index < 0:
            target[index] = value
            return
        while len(target) <= index:  # Groovy pads a list with nulls
            target.append(None)
        target[index] = value
        return
    if target is None:
        raise npe("Cannot invoke method putAt() on null object")
    raise no_method(target, "putAt", [index, value])


# Java classes ----------------------------------------------------------------------------------

class MapEntry(JavaObject):
    java_class = "java.util.LinkedHashMap$Entry"

    def __init__(self, mapping: dict[Any, Any], key: Any) -> None:
        self.mapping, self.key = mapping, key

    @property
    def value(self) -> Any:
        return self.mapping.get(self.key)

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {"getKey": lambda: self.key, "getValue": lambda: self.value,
                "setValue": lambda v: self.mapping.__setitem__(self.key, v),
                "toString": self.to_string}

    def properties(self) -> dict[str, Callable[[], Any]]:
        return {"key": lambda: self.key, "value": lambda: self.value}

    def to_string(self) -> str:
        return f"{to_string(self.key)}={to_string(self.value)}"


class StringBuilder(JavaObject):
    java_class = "java.lang.StringBuilder"

    def __init__(self, initial: Any = "") -> None:
        self.parts = [to_string(initial)] if isinstance(initial, str) and initial else []
        self.size = sum(len(p) for p in self.parts)

    def methods(self) -> dict[str, Callable[..., Any]]:
        def append(value: Any) -> StringBuilder:
            self.parts.append(to_string(value))
            self.size += len(self.parts[-1])
            if self.size > _MAX_SIZE:
                raise GroovyError(f"mockidm refuses to build a value of {self.size} items",
                                  "java.lang.OutOfMemoryError")
            return self

        return {"append": append, "toString": self.to_string,
                "length": lambda: len(self.to_string())}

    def to_string(self) -> str:
        return "".join(self.parts)


class TimeZone(JavaObject):
    java_class = "sun.util.calendar.ZoneInfo"

    def __init__(self, name: str) -> None:
        # The mock knows UTC/GMT and fixed offsets (GMT+02:00); an unknown id is GMT, as Java's.
        self.name = name
        match = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2}):?(\d{2})?", name)
        if match:
            minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
            self.zone = timezone(timedelta(minutes=minutes if match.group(1) == "+" else
                                           -minutes))
        else:
            self.zone = UTC

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {"getID": lambda: self.name}


class JavaDate(JavaObject):
    java_class = "java.util.Date"

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {"getTime": lambda: int(self.moment.timestamp() * 1000),
                "toString": self.to_string, "before": lambda o: self.moment < o.moment,
                "after": lambda o: self.moment > o.moment,
                "compareTo": lambda o: compare(self, o), "equals": self.equals,
                "format": lambda p: SimpleDateFormat(p).format(self)}

    def properties(self) -> dict[str, Callable[[], Any]]:
        return {"time": lambda: int(self.moment.timestamp() * 1000)}

    def equals(self, other: Any) -> bool:
        return isinstance(other, JavaDate) and other.moment == self.moment

    def to_string(self) -> str:
        return self.moment.astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


_PATTERN = re.compile(r"'([^']*)'|(y+|M+|d+|H+|h+|m+|s+|S+|a|E+|Z+|X+|z+)|(.)")


class SimpleDateFormat(JavaObject):
    java_class = "java.text.SimpleDateFormat"

    def __init__(self, pattern: Any = "yyyy-MM-dd'T'HH:mm:ss") -> None:
        self.pattern = to_string(pattern)
        self.zone: Any = UTC  # the mock's JVM runs in UTC

    def methods(self) -> dict[str, Callable[..., Any]]:
        def set_time_zone(zone: TimeZone) -> None:
            self.zone = zone.zone

        return {"format": self.format, "parse": self.parse, "setTimeZone": set_time_zone,
                "toPattern": lambda: self.pattern, "setLenient": lambda flag: None}

    def format(self, date: Any) -> str:
        if not isinstance(date, JavaDate):
            raise GroovyError("Cannot format given Object as a Date",
                              "java.lang.IllegalArgumentException")
        moment = date.moment.astimezone(self.zone)
        out: list[str] = []
        for literal, field, other in _PATTERN.findall(self.pattern):
            if field:
                out.append(_format_field(field, moment))
            elif other:
                out.append(other)
            else:
                out.append(literal if literal else "'")
        return "".join(out)

    def parse(self, text: Any) -> JavaDate:
        regex: list[str] = []
        names: list[str] = []
        for literal, field, other in _PATTERN.findall(self.pattern):
            if field:
                names.append(field[0])
                regex.append(r"([+-]\d{2}:?\d{2}|Z)" if field[0] in "XZ" else
                             r"([A-Za-z]+)" if field[0] in "aEz" else r"(\d+)")
            else:
                regex.append(re.escape(other or literal or "'"))
        match = re.match("".join(regex), to_string(text))
        if match is None:
            raise GroovyError(f'Unparseable date: "{to_string(text)}"', "java.text.ParseException")
        parts = dict(year=1970, month=1, day=1, hour=0, minute=0, second=0, micro=0)
        for name, value in zip(names, match.groups(), strict=True):
            key = {"y": "year", "M": "month", "d": "day", "H": "hour", "h": "hour",
                   "m": "minute", "s": "second", "S": "micro"}.get(name)
            if key == "micro":
                parts[key] = int(value) * 1000
            elif key:
                parts[key] = int(value)
        moment = datetime(parts["year"], parts["month"], parts["day"], parts["hour"],
                          parts["minute"], parts["second"], parts["micro"], tzinfo=self.zone)
        return JavaDate(moment)


def _format_field(field: str, moment: datetime) -> str:
    letter, width = field[0], len(field)
    if letter == "y":
        return f"{moment.year % 100:02d}" if width == 2 else f"{moment.year:0{width}d}"
    if letter == "M":
        return (moment.strftime("%B") if width >= 4 else moment.strftime("%b") if width == 3
                else f"{moment.month:0{width}d}")
    if letter == "d":
        return f"{moment.day:0{width}d}"
    if letter == "H":
        return f"{moment.hour:0{width}d}"
    if letter == "h":
        return f"{(moment.hour % 12) or 12:0{width}d}"
    if letter == "m":
        return f"{moment.minute:0{width}d}"
    if letter == "s":
        return f"{moment.second:0{width}d}"
    if letter == "S":
        return f"{moment.microsecond // 1000:0{width}d}"
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "E":
        return moment.strftime("%A") if width >= 4 else moment.strftime("%a")
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    if letter == "X":
        return "Z" if minutes == 0 else text if width < 3 else text[:3] + ":" + text[3:]
    if letter == "z":
        return "UTC" if minutes == 0 else "GMT" + text
    return text


class JavaUUID(JavaObject):
    java_class = "java.util.UUID"

    def __init__(self, value: uuid.UUID) -> None:
        self.value = value

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {"toString": self.to_string}

    def to_string(self) -> str:
        return str(self.value)


class JavaClass(JavaObject):
    """A class named in a script (`Integer`, `java.util.UUID`): its static methods, and what
    `instanceof`, `as` and `case` test."""

    java_class = "java.lang.Class"

    def __init__(self, name: str, test: Callable[[Any], bool],
                 statics: dict[str, Callable[..., Any]] | None = None,
                 new: Callable[..., Any] | None = None) -> None:
        self.name, self.test, self.statics, self.new = name, test, statics or {}, new

    def is_instance(self, value: Any) -> bool:
        return self.test(value)

    def methods(self) -> dict[str, Callable[..., Any]]:
        return self.statics

    def to_string(self) -> str:
        return f"class {self.name}"
