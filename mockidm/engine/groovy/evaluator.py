"""Runs a parsed script (`syntax.Node`) with Groovy's semantics for the subset real IDM
workflow scripts use (docs/scripts.md lists it).

Names resolve as in Activiti's ScriptBindings: a script's own `def` locals first, then the
engine's (`execution`, `task`, `openidm`, `logger`, ...) and the process variables, then what
the script assigned without `def` (its binding). With `autoStoreVariables` a binding
assignment is also a process variable, at once. Every statement, loop turn and closure call
costs a step of a budget, so a loop cannot hang the server; and a script reaches nothing but
the values of `values.py`, the classes of `classes.py` and the engine objects it is given.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..expressions import EngineObject, EvaluationError
from .classes import refuse_class
from .syntax import Node
from .values import (
    Closure,
    GroovyError,
    JavaClass,
    JavaObject,
    MapEntry,
    Refused,
    arithmetic,
    compare,
    contains,
    equal,
    is_case,
    java_class,
    list_methods,
    map_methods,
    no_method,
    no_property,
    npe,
    number_methods,
    put_at,
    string_methods,
    subscript,
    to_string,
    truth,
)

# Methods and properties that reach Groovy's or Java's reflection: refused on any value.
_REFLECTION = frozenset({
    "getClass", "class", "metaClass", "getMetaClass", "setMetaClass", "invokeMethod",
    "getProperty", "setProperty", "execute", "evaluate", "forName", "newInstance",
    "getDeclaredMethods", "getMethods", "getDeclaredField", "methodMissing",
    "propertyMissing", "with", "identity", "getBinding", "setBinding", "run", "sleep",
    "getText", "text", "withReader", "withWriter", "newReader", "eachLine", "exit",
})
# Functions a script can call by name (Groovy's script and DGM methods).
_FUNCTIONS = ("println", "print", "printf")


class Budget:
    """The steps a script may take before it is stopped."""

    def __init__(self, steps: int) -> None:
        self.limit = self.left = steps

    def spend(self, line: int) -> None:
        self.left -= 1
        if self.left < 0:
            raise GroovyError(f"mockidm stopped the script after {self.limit} steps (an "
                              "endless loop?)", "mockidm.StepBudgetExceeded", line)


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Frame:
    """A block's `def` locals; closures keep the frame they were made in."""

    __slots__ = ("names", "parent")

    def __init__(self, parent: _Frame | None) -> None:
        self.names: dict[str, Any] = {}
        self.parent = parent

    def find(self, name: str) -> _Frame | None:
        frame: _Frame | None = self
        while frame is not None:
            if name in frame.names:
                return frame
            frame = frame.parent
        return None


# Names a script engine keeps in its bindings, never stored (ScriptBindings.UNSTORED_KEYS).
_UNSTORED = frozenset({"out", "out:print", "lang:import", "context", "elcontext", "print",
                       "println", "nashorn.global"})


class Bindings:
    """What a script's free names are: engine objects, the process variables and the
    script's binding, with where a binding assignment goes."""

    def __init__(self, engine: Mapping[str, Any], variables: Callable[[], Mapping[str, Any]],
                 store: Callable[[str, Any], None] | None) -> None:
        self.engine = engine
        self.variables = variables
        self.store = store  # autoStoreVariables: where an assignment also goes
        self.own: dict[str, Any] = {}

    def get(self, name: str, line: int) -> Any:
        if name in self.engine:
            return self.engine[name]
        variables = self.variables()
        if name in variables:
            return variables[name]
        if name in self.own:
            return self.own[name]
        raise GroovyError(f"No such property: {name} for class: Script1",
                          "groovy.lang.MissingPropertyException", line)

    def set(self, name: str, value: Any) -> None:
        if self.store is not None and name not in _UNSTORED:
            self.store(name, value)
        else:
            self.own[name] = value


class Evaluator:
    def __init__(self, bindings: Bindings, classes: Mapping[str, JavaClass], budget: Budget,
                 log: Callable[[str], None]) -> None:
        self.bindings, self.classes, self.budget, self.log = bindings, classes, budget, log
        self.imports: dict[str, str] = {}

    # statements ----------------------------------------------------------------------------

    def run(self, body: Node) -> Any:
        try:
            return self.block(body, _Frame(None), new_frame=False)
        except _Return as done:
            return done.value
        except (_Break, _Continue):
            raise GroovyError("break or continue outside a loop",
                              "org.codehaus.groovy.control.MultipleCompilationErrorsException"
                              ) from None

    def block(self, node: Node, frame: _Frame, new_frame: bool = True) -> Any:
        inner = _Frame(frame) if new_frame else frame
        result = None
        for statement in node.kids:
            result = self.statement(statement, inner)
        return result

    def statement(self, node: Node, frame: _Frame) -> Any:
        self.budget.spend(node.line)
        kind = node.kind
        try:
            if kind == "expr":
                return self.expression(node.kids[0], frame)
            if kind == "local":
                value = None if node.kids[0] is None else self.expression(node.kids[0], frame)
                frame.names[node.text] = value
                return None
            if kind == "if":
                if truth(self.expression(node.kids[0], frame)):
                    return self.block(node.kids[1], frame)
                if node.kids[2] is not None:
                    return self.block(node.kids[2], frame)
                return None
            if kind == "for_in":
                self.for_in(node, frame)
                return None
            if kind == "for":
                self.for_loop(node, frame)
                return None
            if kind == "while":
                while truth(self.expression(node.kids[0], frame)):
                    self.budget.spend(node.line)
                    try:
                        self.block(node.kids[1], frame)
                    except _Break:
                        break
                    except _Continue:
                        continue
                return None
            if kind == "block":
                return self.block(node, frame, new_frame=node.value != "inline")
            if kind == "return":
                raise _Return(None if node.kids[0] is None else self.expression(node.kids[0],
                                                                                 frame))
            if kind == "break":
                raise _Break()
            if kind == "continue":
                raise _Continue()
            if kind == "throw":
                thrown = self.expression(node.kids[0], frame)
                if not isinstance(thrown, GroovyError):
                    raise GroovyError(f"{to_string(thrown)} is not an exception",
                                      "groovy.lang.GroovyRuntimeException")
                raise thrown
            if kind == "try":
                return self.try_statement(node, frame)
            if kind == "switch":
                return self.switch(node, frame)
            if kind == "import":
                self.import_(node)
                return None
            if kind == "unsupported":
                raise GroovyError(f"mockidm cannot run this Groovy construct: {node.text}",
                                  "mockidm.UnsupportedGroovy")
        except GroovyError as error:
            if error.line is None:
                error.line = node.line
            raise
        raise GroovyError(f"mockidm cannot run the statement {kind}", "mockidm.UnsupportedGroovy",
                          node.line)

    def for_in(self, node: Node, frame: _Frame) -> None:
        iterable = self.expression(node.kids[0], frame)
        if iterable is None:
            return  # Groovy iterates null as nothing
        if isinstance(iterable, dict):
            items: Any = [MapEntry(iterable, key) for key in list(iterable)]
        elif isinstance(iterable, list | str | range):
            items = list(iterable)
        else:
            raise GroovyError(f"{java_class(iterable)} cannot be iterated",
                              "groovy.lang.MissingMethodException")
        inner = _Frame(frame)
        for item in items:
            self.budget.spend(node.line)
            inner.names[node.text] = item
            try:
                self.block(node.kids[1], inner)
            except _Break:
                break
            except _Continue:
                continue

    def for_loop(self, node: Node, frame: _Frame) -> None:
        initial, condition, update, body = node.kids
        inner = _Frame(frame)
        if initial is not None:
            self.statement(initial, inner)
        while condition is None or truth(self.expression(condition, inner)):
            self.budget.spend(node.line)
            try:
                self.block(body, inner)
            except _Break:
                break
            except _Continue:
                pass
            if update is not None:
                self.expression(update, inner)

    def try_statement(self, node: Node, frame: _Frame) -> Any:
        body, final, *catches = node.kids
        try:
            return self.block(body, frame)
        except GroovyError as error:
            if isinstance(error, Refused) or error.exception.startswith("mockidm."):
                raise  # the sandbox and the budget are not the script's to catch
            for catch in catches:
                if self.catches(catch.value, error):
                    inner = _Frame(frame)
                    inner.names[catch.text] = error
                    return self.block(catch.kids[0], inner)
            raise
        finally:
            if final is not None:
                self.block(final, frame)

    def catches(self, types: list[str], error: GroovyError) -> bool:
        if not types:
            return True
        for name in types:
            java = self.classes.get(self.imports.get(name, name))
            if java is not None and java.is_instance(error):
                return True
        return False

    def switch(self, node: Node, frame: _Frame) -> Any:
        value = self.expression(node.kids[0], frame)
        matched = False
        result = None
        try:
            for case in node.kids[1:]:
                values, body = case.kids
                if not matched:
                    if values is None:
                        matched = True
                    else:
                        matched = any(is_case(self.expression(v, frame), value) for v in values)
                if matched:
                    result = self.block(body, frame)
            if not matched:  # default placed before other cases: taken when nothing matched
                started = False
                for case in node.kids[1:]:
                    if case.kids[0] is None:
                        started = True
                    if started:
                        result = self.block(case.kids[1], frame)
        except _Break:
            pass
        return result

    def import_(self, node: Node) -> None:
        name = node.text.strip()
        refuse_class(name)
        if name.endswith(".*"):
            return
        simple = name.rsplit(".", 1)[-1]
        self.imports[simple] = name

    # expressions ---------------------------------------------------------------------------

    def expression(self, node: Node, frame: _Frame) -> Any:
        kind = node.kind
        if kind == "lit":
            return node.value
        if kind == "name":
            return self.name(node, frame)
        if kind == "call":
            return self.call(node, frame)
        if kind == "prop":
            target = self.expression(node.kids[0], frame)
            return self.property(target, node)
        if kind == "gstring":
            return "".join(p if isinstance(p, str) else to_string(self.expression(p, frame))
                           for p in node.kids)
        if kind == "binop":
            return self.binary(node, frame)
        if kind == "and":
            return truth(self.expression(node.kids[0], frame)) and truth(
                self.expression(node.kids[1], frame))
        if kind == "or":
            return truth(self.expression(node.kids[0], frame)) or truth(
                self.expression(node.kids[1], frame))
        if kind == "assign":
            return self.assign(node, frame)
        if kind == "list":
            return [self.expression(k, frame) for k in node.kids]
        if kind == "map":
            found: dict[Any, Any] = {}
            for entry in node.kids:
                key = self.expression(entry.kids[0], frame)
                found[to_string(key) if isinstance(key, str) else key] = self.expression(
                    entry.kids[1], frame)
            return found
        if kind == "index":
            target = self.expression(node.kids[0], frame)
            if target is None and node.value:
                return None
            return subscript(target, self.expression(node.kids[1], frame))
        if kind == "unary":
            value = self.expression(node.kids[0], frame)
            if node.text == "!":
                return not truth(value)
            if node.text == "-":
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return -value
                raise no_method(value, "negative", [])
            if node.text == "+":
                return value
            if node.text == "~" and isinstance(value, int):
                return ~value
            raise no_method(value, node.text, [])
        if kind == "ternary":
            return self.expression(node.kids[1] if truth(self.expression(node.kids[0], frame))
                                   else node.kids[2], frame)
        if kind == "elvis":
            value = self.expression(node.kids[0], frame)
            return value if truth(value) else self.expression(node.kids[1], frame)
        if kind == "closure":
            return self.closure(node, frame)
        if kind == "new":
            return self.new(node, frame)
        if kind == "in":
            found_in = contains(self.expression(node.kids[1], frame),
                                self.expression(node.kids[0], frame))
            return not found_in if node.value else found_in
        if kind == "instanceof":
            value = self.expression(node.kids[0], frame)
            result = self.java_class(node.text, node.line).is_instance(value)
            return not result if node.value else result
        if kind == "cast":
            return self.cast(self.expression(node.kids[0], frame), node)
        if kind == "update":
            return self.update(node, frame)
        if kind == "range":
            start = self.expression(node.kids[0], frame)
            end = self.expression(node.kids[1], frame)
            if not (isinstance(start, int) and isinstance(end, int)):
                raise GroovyError("mockidm supports ranges of integers only",
                                  "mockidm.UnsupportedGroovy")
            return list(range(start, end if node.value else end + 1)) if start <= end else \
                list(range(start, (end if node.value else end - 1), -1))
        if kind == "switch":
            return self.switch(node, frame)
        if kind == "regex":
            import re
            subject = to_string(self.expression(node.kids[0], frame))
            pattern = to_string(self.expression(node.kids[1], frame))
            if node.value:
                return re.fullmatch(pattern, subject) is not None
            return re.search(pattern, subject) is not None
        if kind == "unsupported":
            raise GroovyError(f"mockidm cannot run this Groovy construct: {node.text}",
                              "mockidm.UnsupportedGroovy", node.line)
        raise GroovyError(f"mockidm cannot run the expression {kind}",
                          "mockidm.UnsupportedGroovy", node.line)

    def name(self, node: Node, frame: _Frame) -> Any:
        found = frame.find(node.text)
        if found is not None:
            return found.names[node.text]
        try:
            return self.bindings.get(node.text, node.line)
        except GroovyError:
            java = self.class_named(node.text)
            if java is not None:
                return java
            if node.text.split(".")[-1] in ("File", "Runtime", "ProcessBuilder", "System",
                                            "Thread", "Class", "GroovyShell", "Eval"):
                raise Refused(f"the class {node.text}") from None
            raise

    def class_named(self, name: str) -> JavaClass | None:
        full = self.imports.get(name, name)
        refuse_class(full)
        return self.classes.get(full)

    def java_class(self, name: str, line: int) -> JavaClass:
        java = self.class_named(name.strip())
        if java is None:
            raise GroovyError(f"unable to resolve class {name}",
                              "org.codehaus.groovy.control.MultipleCompilationErrorsException",
                              line)
        return java

    def binary(self, node: Node, frame: _Frame) -> Any:
        operator = node.text
        left = self.expression(node.kids[0], frame)
        right = self.expression(node.kids[1], frame)
        if operator == "==":
            return equal(left, right)
        if operator == "!=":
            return not equal(left, right)
        if operator in ("<", ">", "<=", ">="):
            order = compare(left, right)
            return {"<": order < 0, ">": order > 0, "<=": order <= 0, ">=": order >= 0}[operator]
        if operator == "<=>":
            return compare(left, right)
        if operator == "===":
            return left is right or (left == right and type(left) is type(right) and
                                     isinstance(left, bool | int | str | type(None)))
        if operator == "!==":
            return left is not right
        return arithmetic(operator, left, right)

    def assign(self, node: Node, frame: _Frame) -> Any:
        target, value_node = node.kids
        value = self.expression(value_node, frame)
        if node.text != "=":
            operator = node.text[:-1]
            if operator == "?":  # ?= : assign only when the target is false
                current = self.expression(target, frame)
                if truth(current):
                    return current
            else:
                value = arithmetic(operator, self.expression(target, frame), value)
        self.store(target, value, frame)
        return value

    def store(self, target: Node, value: Any, frame: _Frame) -> None:
        if target.kind == "name":
            found = frame.find(target.text)
            if found is not None:
                found.names[target.text] = value
            else:
                self.bindings.set(target.text, value)
            return
        if target.kind == "prop":
            owner = self.expression(target.kids[0], frame)
            if owner is None and target.value:
                return
            self.set_property(owner, target.text, value)
            return
        if target.kind == "index":
            put_at(self.expression(target.kids[0], frame), self.expression(target.kids[1],
                                                                           frame), value)
            return
        raise GroovyError(f"mockidm cannot assign to {target.text or target.kind}",
                          "mockidm.UnsupportedGroovy", target.line)

    def set_property(self, owner: Any, name: str, value: Any) -> None:
        if name in _REFLECTION:
            raise Refused(f"setting the property '{name}'")
        if isinstance(owner, dict):
            owner[name] = value
            return
        if owner is None:
            raise npe(f"Cannot set property '{name}' on null object")
        if isinstance(owner, EngineObject):
            setter = "set" + name[:1].upper() + name[1:]
            method = owner.methods().get(setter)
            if method is not None:
                method(value)
                return
        raise no_property(owner, name)

    def update(self, node: Node, frame: _Frame) -> Any:
        target = node.kids[0]
        old = self.expression(target, frame)
        if old is None:
            raise npe(f"Cannot invoke method {'next' if '+' in node.text else 'previous'}() "
                      "on null object")
        new = arithmetic("+" if node.text == "++" else "-", old, 1)
        self.store(target, new, frame)
        return new if node.value else old

    def closure(self, node: Node, frame: _Frame) -> Closure:
        parameters: list[str] | None = node.value
        body = node.kids[0]

        def invoke(arguments: list[Any]) -> Any:
            self.budget.spend(node.line)
            inner = _Frame(frame)
            if parameters is None:
                inner.names["it"] = arguments[0] if arguments else None
                if len(arguments) > 1:
                    raise no_method(None, "doCall", arguments)
            else:
                if len(arguments) > len(parameters) or (
                        len(arguments) < len(parameters) and parameters):
                    if not (len(arguments) == 1 and isinstance(arguments[0], list) and
                            len(arguments[0]) == len(parameters)):
                        raise GroovyError(
                            f"No signature of method: Script1$_run_closure.call() is applicable "
                            f"for argument types: ({', '.join(java_class(a) for a in arguments)})",
                            "groovy.lang.MissingMethodException", node.line)
                    arguments = arguments[0]
                for name, value in zip(parameters, arguments, strict=False):
                    inner.names[name] = value
            try:
                return self.block(body, inner, new_frame=False)
            except _Return as done:
                return done.value

        return Closure(parameters, invoke)

    def new(self, node: Node, frame: _Frame) -> Any:
        arguments = [self.expression(k, frame) for k in node.kids]
        java = self.java_class(node.text, node.line)
        if java.new is None:
            raise GroovyError(f"mockidm cannot create a {java.name}", "mockidm.UnsupportedGroovy",
                              node.line)
        return java.new(*arguments)

    def cast(self, value: Any, node: Node) -> Any:
        name = node.text.strip().rsplit(".", 1)[-1]
        if name == "String":
            return None if value is None else to_string(value)
        if name in ("Integer", "int", "Long", "long"):
            if isinstance(value, str):
                return self.classes["Integer"].statics["parseInt"](value)
            return None if value is None else int(value)
        if name in ("Boolean", "boolean"):
            return truth(value)
        if name in ("List", "ArrayList", "Collection"):
            return value if isinstance(value, list) or value is None else list(value) \
                if isinstance(value, dict | str) else [value]
        if name in ("Map", "HashMap", "LinkedHashMap", "Object", "def"):
            return value
        if name in ("Double", "double", "BigDecimal", "float", "Float"):
            return None if value is None else float(value if not isinstance(value, str)
                                                    else self.classes["Double"].statics[
                                                        "parseDouble"](value))
        raise GroovyError(f"mockidm cannot cast to {node.text}", "mockidm.UnsupportedGroovy",
                          node.line)

    # properties and methods ----------------------------------------------------------------

    def property(self, target: Any, node: Node) -> Any:
        name = node.text
        if node.value == "spread":
            if target is None:
                return None
            return [None if item is None else get_property(item, name) for item in target]
        if target is None:
            if node.value:
                return None
            raise npe(f"Cannot get property '{name}' on null object")
        return get_property(target, name)

    def call(self, node: Node, frame: _Frame) -> Any:
        name = node.text
        receiver_node = node.kids[0]
        if receiver_node is None:
            if name in _REFLECTION:
                raise Refused(f"the method {name}()")
            found = frame.find(name)
            callee = found.names[name] if found is not None else None
            if callee is None and name not in _FUNCTIONS:
                try:
                    callee = self.bindings.get(name, node.line)
                except GroovyError:
                    callee = None
            arguments = [self.expression(k, frame) for k in node.kids[1:]]
            if isinstance(callee, Closure):
                return callee(*arguments)
            if name in ("println", "print"):
                self.log(" ".join(to_string(a) for a in arguments))
                return None
            if name == "printf" and arguments:
                self.log(to_string(arguments[0]))
                return None
            raise GroovyError(
                f"No signature of method: Script1.{name}() is applicable for argument types: "
                f"({', '.join(java_class(a) for a in arguments)}) values: "
                f"[{', '.join(to_string(a) for a in arguments)}]",
                "groovy.lang.MissingMethodException", node.line)
        qualified = _qualified(receiver_node)
        if qualified is not None and frame.find(qualified.split(".")[0]) is None:
            receiver = self.receiver(receiver_node, qualified)
        else:
            receiver = self.expression(receiver_node, frame)
        arguments = [self.expression(k, frame) for k in node.kids[1:]]
        if node.value == "spread":
            if receiver is None:
                return None
            return [None if item is None else call_method(item, name, arguments)
                    for item in receiver]
        if receiver is None:
            if node.value:
                return None
            raise npe(f"Cannot invoke method {name}() on null object")
        return call_method(receiver, name, arguments)

    def receiver(self, node: Node, qualified: str) -> Any:
        """A name or dotted names before `.method(...)`: a variable (and its properties),
        or else a class (`Integer`, or a qualified name such as `java.util.UUID`)."""
        root = qualified.split(".")[0]
        try:
            self.bindings.get(root, node.line)
        except GroovyError:
            java = self.class_named(qualified)
            if java is None:
                raise
            return java
        return self.expression(node, _Frame(None))


def _list_add(target: list[Any], value: Any) -> bool:
    target.append(value)
    return True


def _list_get(target: list[Any], index: Any) -> Any:
    return list_methods(target)["get"](index)


# The methods real scripts call most, without building their type's table: (type, name) ->
# (the method, taking the target first; its number of arguments).
_FAST: dict[tuple[type, str], tuple[Callable[..., Any], int]] = {
    (str, "toString"): (to_string, 0), (str, "trim"): (
        lambda t: t.strip(" \t\n\r\f\v\0"), 0),
    (str, "equals"): (lambda t, o: isinstance(o, str) and o == t, 1),
    (str, "toUpperCase"): (str.upper, 0), (str, "toLowerCase"): (str.lower, 0),
    (str, "isEmpty"): (lambda t: not t, 0), (str, "length"): (len, 0), (str, "size"): (len, 0),
    (str, "contains"): (lambda t, s: to_string(s) in t, 1),
    (str, "startsWith"): (lambda t, s: t.startswith(s), 1),
    (list, "add"): (_list_add, 1), (list, "push"): (_list_add, 1), (list, "size"): (len, 0),
    (list, "isEmpty"): (lambda t: not t, 0), (list, "get"): (_list_get, 1),
    (list, "contains"): (contains, 1), (dict, "get"): (lambda t, k: t.get(k), 1),
    (dict, "put"): (lambda t, k, v: map_methods(t)["put"](k, v), 2),
    (dict, "containsKey"): (lambda t, k: k in t, 1), (dict, "size"): (len, 0),
    (dict, "isEmpty"): (lambda t: not t, 0),
}


def _qualified(node: Node) -> str | None:
    """`a.b.c` as text when the node is only names and plain property steps."""
    names: list[str] = []
    while node.kind == "prop" and not node.value:
        names.append(node.text)
        node = node.kids[0]
    if node.kind != "name":
        return None
    return ".".join([node.text, *reversed(names)])


def get_property(target: Any, name: str) -> Any:
    if name in _REFLECTION:
        raise Refused(f"the property '{name}'")
    if isinstance(target, dict):
        return target.get(name)
    if isinstance(target, list):  # a property of a list is each element's (spread)
        return [None if item is None else get_property(item, name) for item in target]
    if isinstance(target, EngineObject):
        try:
            return target.property(name)
        except EvaluationError:
            raise no_property(target, name) from None
        except Exception as error:  # the JUEL failure type is private to expressions.py
            if type(error).__name__ == "_Failure":
                raise no_property(target, name) from None
            raise
    if isinstance(target, JavaObject):
        found = target.properties().get(name)
        if found is not None:
            return found()
        if isinstance(target, JavaClass) and name in target.statics:
            return target.statics[name]()
        getter = target.methods().get("get" + name[:1].upper() + name[1:])
        if getter is not None:
            return getter()
        raise no_property(target, name)
    if isinstance(target, GroovyError):
        if name == "message":
            return target.message
        raise no_property(target, name)
    if isinstance(target, str) and name == "empty":
        return not target
    raise no_property(target, name)


def call_method(target: Any, name: str, arguments: list[Any]) -> Any:
    # An engine object's own methods are its table's (IDM's identityServer.getProperty is
    # one); on anything else these names reach Groovy's or Java's reflection.
    if name in _REFLECTION and not (isinstance(target, EngineObject)
                                    and name in target.methods()):
        raise Refused(f"the method {name}()")
    methods: Mapping[str, Callable[..., Any]]
    if isinstance(target, EngineObject):
        try:
            return target.invoke(name, arguments)
        except GroovyError:
            raise
        except EvaluationError as error:
            raise GroovyError(str(error)) from None
        except Exception as error:
            if type(error).__name__ == "_Failure":
                raise no_method(target, name, arguments) from None
            raise
    fast = _FAST.get((type(target), name))
    if fast is not None and len(arguments) == fast[1]:
        return fast[0](target, *arguments)
    if isinstance(target, str):
        methods = string_methods(target)
    elif isinstance(target, bool):
        methods = {"toString": lambda: to_string(target), "booleanValue": lambda: target,
                   "equals": lambda o: equal(target, o)}
    elif isinstance(target, int | float):
        methods = number_methods(target)
    elif isinstance(target, list):
        methods = list_methods(target)
    elif isinstance(target, dict):
        methods = map_methods(target)
    elif isinstance(target, Closure):
        methods = {"call": target}
    elif isinstance(target, JavaObject):
        methods = target.methods()
    elif isinstance(target, GroovyError):
        methods = {"getMessage": lambda: target.message, "toString": lambda: str(target),
                   "getLocalizedMessage": lambda: target.message}
    else:
        methods = {}
    method = methods.get(name)
    if method is None:
        if isinstance(target, JavaClass) and target.name == "java.lang.System":
            raise Refused(f"System.{name}()")
        if isinstance(target, dict) and isinstance(target.get(name), Closure):
            return target[name](*arguments)
        if name == "toString":
            return to_string(target)
        if name == "equals" and len(arguments) == 1:
            return equal(target, arguments[0])
        if name == "hashCode":
            return id(target) & 0x7FFFFFFF
        raise no_method(target, name, arguments)
    try:
        return method(*arguments)
    except TypeError:
        raise no_method(target, name, arguments) from None
