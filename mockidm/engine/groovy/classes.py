"""The Java classes a script may name: the few real IDM workflow scripts use (maps and lists,
dates and their formats, UUIDs, number parsing, exceptions), each with the constructor and
static methods the mock gives it. Any other class is refused (`values.Refused`), and so are
the ones that reach the host (files, processes, reflection, class loading, the JVM)."""
from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from typing import Any

from .values import (
    GroovyError,
    JavaClass,
    JavaDate,
    JavaUUID,
    Refused,
    SimpleDateFormat,
    StringBuilder,
    TimeZone,
    number_format,
    to_string,
    truth,
)

# Names that reach the host or the JVM's insides: never a class the script can use.
FORBIDDEN = ("File", "Files", "Path", "Paths", "Process", "ProcessBuilder", "Runtime",
             "Thread", "Class", "ClassLoader", "GroovyShell", "Eval",
             "GroovyClassLoader", "Socket", "URL", "URLConnection", "ServerSocket",
             "FileReader", "FileWriter", "FileInputStream", "FileOutputStream",
             "ScriptEngineManager", "Method", "Field", "Constructor", "Proxy", "Unsafe",
             "MetaClass", "ExpandoMetaClass", "InvokerHelper", "ObjectInputStream")


def _parse_int(text: Any, radix: int = 10) -> int:
    try:
        value = int(to_string(text).strip() if radix == 10 else to_string(text), radix)
    except ValueError:
        raise number_format(text) from None
    if not -2**31 <= value < 2**31:
        raise number_format(text)
    return value


def _parse_long(text: Any) -> int:
    try:
        return int(to_string(text))
    except ValueError:
        raise number_format(text) from None


def _parse_double(text: Any) -> float:
    try:
        return float(to_string(text))
    except ValueError:
        raise number_format(text) from None


def _boolean(value: Any) -> bool:
    """new Boolean(x) / Boolean.valueOf(x): a Boolean as it is, a String equal to "true"
    ignoring case; anything else (Groovy coerces) by its text."""
    if isinstance(value, bool):
        return value
    return value is not None and to_string(value).lower() == "true"


def _exception(name: str) -> Callable[..., Any]:
    def make(message: Any = None, cause: Any = None) -> GroovyError:
        del cause
        return GroovyError(to_string(message) if message is not None else "", name)
    return make


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# The engine's clock for `new Date()` and System.currentTimeMillis(), set around each run
# (a context variable: mocks in several threads each see their own).
NOW: ContextVar[Callable[[], datetime]] = ContextVar("groovy_now")


def now() -> datetime:
    return NOW.get()()


@cache
def classes() -> dict[str, JavaClass]:
    """The classes by simple and full name, made once; their clock is `NOW`'s."""
    known = [
        JavaClass("java.util.HashMap", lambda v: isinstance(v, dict), new=lambda *a: dict(
            *(a[:1] if a and isinstance(a[0], dict) else ()))),
        JavaClass("java.util.LinkedHashMap", lambda v: isinstance(v, dict), new=lambda *a: dict(
            *(a[:1] if a and isinstance(a[0], dict) else ()))),
        JavaClass("java.util.TreeMap", lambda v: isinstance(v, dict), new=lambda *a: dict(
            sorted(a[0].items())) if a and isinstance(a[0], dict) else {}),
        JavaClass("java.util.Map", lambda v: isinstance(v, dict)),
        JavaClass("java.util.ArrayList", lambda v: isinstance(v, list), new=lambda *a: list(
            a[0]) if a and isinstance(a[0], list) else []),
        JavaClass("java.util.LinkedList", lambda v: isinstance(v, list), new=lambda *a: list(
            a[0]) if a and isinstance(a[0], list) else []),
        JavaClass("java.util.List", lambda v: isinstance(v, list)),
        JavaClass("java.util.Collection", lambda v: isinstance(v, list)),
        JavaClass("java.lang.String", lambda v: isinstance(v, str),
                  {"valueOf": lambda v: to_string(v),
                   "format": lambda f, *a: _format(f, a),
                   "join": lambda sep, items: to_string(sep).join(
                       to_string(i) for i in items)},
                  new=lambda v="": to_string(v)),
        JavaClass("java.lang.Integer", lambda v: isinstance(v, int) and not isinstance(
            v, bool) and -2**31 <= v < 2**31,
            {"parseInt": _parse_int, "valueOf": lambda v: v if isinstance(v, int)
             else _parse_int(v), "toString": lambda v: to_string(v),
             "MAX_VALUE": lambda: 2**31 - 1}, new=lambda v: _parse_int(v) if isinstance(
                 v, str) else int(v)),
        JavaClass("java.lang.Long", lambda v: isinstance(v, int) and not isinstance(v, bool),
                  {"parseLong": _parse_long, "valueOf": lambda v: v if isinstance(v, int)
                   else _parse_long(v), "toString": lambda v: to_string(v)}),
        JavaClass("java.lang.Double", lambda v: isinstance(v, float),
                  {"parseDouble": _parse_double, "valueOf": _parse_double}),
        JavaClass("java.lang.Number", _is_number),
        JavaClass("java.lang.Boolean", lambda v: isinstance(v, bool),
                  {"parseBoolean": lambda v: v is not None and to_string(v).lower() == "true",
                   "valueOf": _boolean, "TRUE": lambda: True, "FALSE": lambda: False},
                  new=_boolean),
        JavaClass("java.lang.Math", lambda v: False,
                  {"max": max, "min": min, "abs": abs, "round": lambda v: math.floor(v + 0.5),
                   "floor": math.floor, "ceil": math.ceil}),
        JavaClass("java.lang.StringBuilder", lambda v: isinstance(v, StringBuilder),
                  new=lambda v="": StringBuilder(v)),
        JavaClass("java.lang.StringBuffer", lambda v: isinstance(v, StringBuilder),
                  new=lambda v="": StringBuilder(v)),
        JavaClass("java.util.Date", lambda v: isinstance(v, JavaDate),
                  new=lambda *a: JavaDate(now()) if not a else _date(a[0])),
        JavaClass("java.text.SimpleDateFormat", lambda v: isinstance(v, SimpleDateFormat),
                  new=lambda *a: SimpleDateFormat(*a[:1])),
        JavaClass("java.util.TimeZone", lambda v: isinstance(v, TimeZone),
                  {"getTimeZone": lambda name: TimeZone(to_string(name))}),
        JavaClass("java.util.UUID", lambda v: isinstance(v, JavaUUID),
                  {"randomUUID": lambda: JavaUUID(uuid.uuid4()),
                   "fromString": lambda s: JavaUUID(uuid.UUID(to_string(s)))}),
        JavaClass("java.lang.Object", lambda v: v is not None, new=lambda: {}),
        # Only the clock: exit, getenv, getProperty, ... are refused (see evaluator).
        JavaClass("java.lang.System", lambda v: False,
                  {"currentTimeMillis": lambda: int(now().timestamp() * 1000),
                   "lineSeparator": lambda: "\n"}),
    ]
    for name in ("java.lang.Exception", "java.lang.RuntimeException",
                 "java.lang.IllegalArgumentException", "java.lang.IllegalStateException",
                 "java.lang.NullPointerException", "java.lang.NumberFormatException",
                 "java.lang.Throwable", "java.lang.ArithmeticException",
                 "java.lang.IndexOutOfBoundsException", "java.text.ParseException",
                 "org.forgerock.json.resource.ResourceException",
                 "org.forgerock.json.resource.NotFoundException",
                 "org.forgerock.json.resource.BadRequestException"):
        known.append(JavaClass(name, _catcher(name), new=_exception(name)))
    found: dict[str, JavaClass] = {}
    for java in known:
        found[java.name] = java
        found.setdefault(java.name.rsplit(".", 1)[1], java)
    found["def"] = found["Object"] = found["java.lang.Object"]
    return found


# Exceptions the evaluator raises, by their Java class, and what catches them.
_SUBCLASSES = {
    "java.lang.Throwable": ("",),
    "java.lang.Exception": ("",),
    "java.lang.RuntimeException": ("java.lang.", "groovy.lang.", "org.codehaus."),
}


def _catches(name: str, error: GroovyError) -> bool:
    if error.exception == name:
        return True
    prefixes = _SUBCLASSES.get(name)
    if prefixes is None:
        return False
    if name == "java.lang.RuntimeException" and error.exception in (
            "java.lang.Exception", "java.text.ParseException", "java.lang.Throwable"):
        return False
    return any(error.exception.startswith(p) for p in prefixes)


def _catcher(name: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, GroovyError) and _catches(name, value)


def _date(value: Any) -> JavaDate:
    from datetime import UTC
    if _is_number(value):
        return JavaDate(datetime.fromtimestamp(value / 1000, UTC))
    raise GroovyError(f"new Date({to_string(value)}) is not supported by mockidm",
                      "java.lang.IllegalArgumentException")


def _format(template: Any, arguments: tuple[Any, ...]) -> str:
    text = to_string(template)
    try:
        return text.replace("%n", "\n") % tuple(
            a if _is_number(a) else to_string(a) for a in arguments)
    except (TypeError, ValueError) as error:
        raise GroovyError(str(error), "java.util.IllegalFormatException") from None


def refuse_class(name: str) -> None:
    simple = name.rsplit(".", 1)[-1]
    if simple in FORBIDDEN or name.startswith(("java.io.", "java.nio.", "java.lang.reflect.",
                                               "java.net.", "groovy.lang.GroovyShell",
                                               "sun.", "javax.script.")):
        raise Refused(f"the class {name}")


def truthy(value: Any) -> bool:
    return truth(value)
