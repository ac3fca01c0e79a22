"""Groovy source to the evaluator's tree (`Node`), parsed by tree-sitter with the
dekobon-tree-sitter-groovy grammar (why that parser: docs/scripts.md, "Choosing the parser").

Two things the grammar gets wrong for scripts are put right here, where the tree is built:
a closure written after a method or property on the same line (`list.each { ... }`,
`list.collect { it.x }.join(',')`) comes out as two statements, and so does a command call
with a dotted receiver (`logger.info "x"`, `println e.message`); both are joined back into
the one call Groovy makes of them. A construct the evaluator does not run becomes an
`unsupported` node and is listed in `Parsed.problems` with its line, so a deploy can name it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tree_sitter


@cache
def _parser() -> tree_sitter.Parser:
    # Imported when the first script is parsed: a mock without scripts never loads it.
    import dekobon_tree_sitter_groovy
    import tree_sitter

    return tree_sitter.Parser(tree_sitter.Language(dekobon_tree_sitter_groovy.language()))


@dataclass(eq=False, slots=True)
class Node:
    """One node of a script: `kind` says what it is, `kids` its parts in a fixed order per
    kind, `text` a name or operator, `value` a literal or a flag. `line` is 1-based."""

    kind: str
    line: int
    kids: list[Any] = field(default_factory=list)
    text: str = ""
    value: Any = None
    end: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Problem:
    """A construct of the script that the evaluator does not run, or a syntax error."""

    line: int
    construct: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.construct}"


@dataclass
class Parsed:
    body: Node
    problems: list[Problem]


class _Builder:
    def __init__(self, source: bytes) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def text(self, ts: tree_sitter.Node) -> str:
        return self.source[ts.start_byte:ts.end_byte].decode("utf-8", "replace")

    def unsupported(self, ts: tree_sitter.Node, what: str | None = None) -> Node:
        construct = what or f"{ts.type.replace('_', ' ')} `{_short(self.text(ts))}`"
        self.problems.append(Problem(ts.start_point[0] + 1, construct))
        return Node("unsupported", ts.start_point[0] + 1, text=construct)

    def node(self, kind: str, ts: tree_sitter.Node, kids: list[Any] | None = None,
             text: str = "", value: Any = None) -> Node:
        return Node(kind, ts.start_point[0] + 1, kids or [], text, value,
                    (ts.end_point[0], ts.end_point[1]))

    # statements --------------------------------------------------------------------------

    def block(self, ts: tree_sitter.Node, children: list[tree_sitter.Node] | None = None
              ) -> Node:
        statements: list[Node] = []
        previous: tree_sitter.Node | None = None
        for child in (children if children is not None else ts.named_children):
            if child.type in ("line_comment", "block_comment", "groovydoc_comment", "shebang"):
                continue
            if child.type == "ERROR" or child.has_error:
                statements.append(self.syntax_error(child))
                previous = child
                continue
            if previous is not None and statements and self.glued(previous, child):
                joined = self.join(statements[-1], self.statement(child))
                if joined is not None:
                    statements[-1] = joined
                    previous = child
                    continue
            statements.append(self.statement(child))
            previous = child
        return self.node("block", ts, statements)

    def syntax_error(self, ts: tree_sitter.Node) -> Node:
        found = ts
        stack = [ts]
        while stack:  # the first error or missing token inside, for its line
            current = stack.pop(0)
            if current.type == "ERROR" or current.is_missing:
                found = current
                break
            stack.extend(current.children)
        return self.unsupported(
            found, f"syntax Groovy cannot parse here: `{_short(self.text(found))}`")

    def glued(self, previous: tree_sitter.Node, child: tree_sitter.Node) -> bool:
        """The grammar ended a statement where Groovy does not: the next one starts on the
        same line with nothing but blanks between (no `;`)."""
        if previous.end_point[0] != child.start_point[0]:
            return False
        between = self.source[previous.end_byte:child.start_byte]
        return between.strip() == b""

    def join(self, first: Node, second: Node) -> Node | None:
        """`a.b {closure}` or `a.b arg`: the trailing call Groovy makes of two statements."""
        if second.kind != "expr":
            return None
        rest = second.kids[0]
        # Walk down the left edge of the second statement to the piece that belongs to the
        # first: a closure (trailing argument) or, for a command call, the whole of it.
        path: list[tuple[Node, int]] = []
        head = rest
        while head.kind in ("prop", "call", "index") and head.kids and head.kids[0] is not None:
            path.append((head, 0))
            head = head.kids[0]
        holder, slot = _trailing(first)
        if holder is None:
            return None
        target = holder.kids[slot] if slot >= 0 else holder
        if head.kind == "closure":
            called = _with_argument(target, head)
            if called is None:
                return None
            if path:
                path[-1][0].kids[0] = called
                replacement = rest
            else:
                replacement = called
        elif first.kind == "expr" and target is first.kids[0] and target.kind in ("name", "prop"):
            called = _with_argument(target, rest)
            if called is None:
                return None
            replacement = called
        else:
            return None
        if slot >= 0:
            holder.kids[slot] = replacement
            return first
        return Node("expr", first.line, [replacement])

    def statement(self, ts: tree_sitter.Node) -> Node:
        try:
            return self._statement(ts)
        except _Missing:
            return self.unsupported(ts)

    def _statement(self, ts: tree_sitter.Node) -> Node:
        kind = ts.type
        line = ts.start_point[0] + 1
        if kind == "expression_statement":
            return self.node("expr", ts, [self.expression(ts.named_children[0])])
        if kind in ("command_chain", "method_invocation", "assignment_expression",
                    "update_expression", "unary_update_expression", "switch_expression"):
            return self.node("expr", ts, [self.expression(ts)])
        if kind == "local_variable_declaration":
            return self.declaration(ts)
        if kind == "block":
            return self.block(ts)
        if kind == "if_statement":
            alternative = _opt(ts, "alternative")
            return self.node("if", ts, [
                self.expression(_unparen(_f(ts, "condition"))),
                self.body(_f(ts, "consequence")),
                None if alternative is None else self.body(alternative)])
        if kind == "for_in_statement":
            return self.node("for_in", ts, [
                self.expression(_f(ts, "value")),
                self.body(_f(ts, "body"))],
                text=self.text(_f(ts, "variable")))
        if kind == "for_statement":
            parts = [_opt(ts, n) for n in ("init", "condition", "update")]
            return self.node("for", ts, [
                None if parts[0] is None else self.statement(parts[0]),
                None if parts[1] is None else self.expression(parts[1]),
                None if parts[2] is None else self.expression(parts[2]),
                self.body(_f(ts, "body"))])
        if kind == "while_statement":
            return self.node("while", ts, [
                self.expression(_unparen(_f(ts, "condition"))),
                self.body(_f(ts, "body"))])
        if kind == "try_statement":
            return self.try_statement(ts)
        if kind == "throw_statement":
            return self.node("throw", ts, [self.expression(ts.named_children[0])])
        if kind == "return_statement":
            value = ts.named_children[0] if ts.named_children else None
            return self.node("return", ts, [None if value is None else self.expression(value)])
        if kind == "break_statement":
            return self.node("break", ts)
        if kind == "continue_statement":
            return self.node("continue", ts)
        if kind == "import_declaration":
            # The whole name, a trailing `.*` included (the grammar's name node leaves it out).
            name = self.text(ts).strip().removeprefix("import").strip().rstrip(";").strip()
            return self.node("import", ts, text="".join(name.split()))
        if kind == "multi_assignment_declaration":
            return self.unsupported(ts, "multiple assignment `def (a, b) = ...`")
        if kind in ("class_declaration", "method_declaration", "interface_declaration",
                    "enum_declaration", "trait_declaration", "record_declaration"):
            return self.unsupported(ts, f"a {kind.split('_')[0]} declaration")
        del line
        return self.unsupported(ts)

    def body(self, ts: tree_sitter.Node) -> Node:
        if ts.type == "block":
            return self.block(ts)
        return self.node("block", ts, [self.statement(ts)])

    def declaration(self, ts: tree_sitter.Node) -> Node:
        declarators = [c for c in ts.named_children if c.type == "variable_declarator"]
        if not declarators:  # `Type name = value`: the fields are on the declaration
            declarators = [ts]
        found = []
        for declarator in declarators:
            value = _opt(declarator, "value")
            found.append(self.node("local", declarator, [
                None if value is None else self.expression(value)],
                text=self.text(_f(declarator, "name"))))
        return found[0] if len(found) == 1 else self.node("block", ts, found, value="inline")

    def try_statement(self, ts: tree_sitter.Node) -> Node:
        catches: list[Node] = []
        finally_block: Node | None = None
        for child in ts.named_children:
            if child.type == "catch_clause":
                parameter = _opt(child, "parameter")
                kind_node = _opt(parameter, "type") if parameter else None
                types = ([self.text(t) for t in kind_node.named_children]
                         if kind_node is not None and kind_node.type == "multi_type"
                         else [self.text(kind_node)] if kind_node is not None else [])
                name = _opt(parameter, "name") if parameter else None
                catches.append(self.node("catch", child, [self.block(
                    _f(child, "body"))],
                    text="" if name is None else self.text(name), value=types))
            elif child.type == "finally_clause":
                finally_block = self.block(_f(child, "body"))
            elif child.type in ("resource_specification",):
                return self.unsupported(child, "try-with-resources")
        return self.node("try", ts, [self.block(_f(ts, "body")),
                                     finally_block, *catches])

    # expressions -------------------------------------------------------------------------

    def expression(self, ts: tree_sitter.Node) -> Node:
        kind = ts.type
        if kind == "parenthesized_expression":
            return self.expression(ts.named_children[0])
        if kind == "identifier":
            return self.node("name", ts, text=self.text(ts))
        if kind == "number_literal":
            return self.node("lit", ts, value=_number(self.text(ts)))
        if kind == "boolean_literal":
            return self.node("lit", ts, value=self.text(ts) == "true")
        if kind == "null_literal":
            return self.node("lit", ts, value=None)
        if kind == "string_literal":
            return self.string(ts)
        if kind == "list_literal":
            return self.node("list", ts, [self.expression(c) for c in ts.named_children
                                          if not _comment(c)])
        if kind == "map_literal":
            entries = []
            for entry in ts.named_children:
                if entry.type != "map_entry":
                    if _comment(entry):
                        continue
                    return self.unsupported(entry)
                entries.append(self.node("entry", entry, [
                    self.key(_f(entry, "key")),
                    self.expression(_f(entry, "value"))]))
            return self.node("map", ts, entries)
        if kind in ("field_access", "safe_navigation_expression"):
            obj = _opt(ts, "object")
            name = _opt(ts, "field") or _opt(ts, "property")
            if obj is None or name is None:
                return self.unsupported(ts)
            return self.node("prop", ts, [self.expression(obj)], text=self.text(name).strip("'\""),
                             value=kind == "safe_navigation_expression")
        if kind == "spread_dot_expression":
            obj = ts.named_children[0]
            name = ts.named_children[-1]
            return self.node("prop", ts, [self.expression(obj)], text=self.text(name),
                             value="spread")
        if kind in ("subscript_expression", "safe_subscript_expression"):
            return self.node("index", ts, [
                self.expression(_f(ts, "object")),
                self.expression(_f(ts, "index"))],
                value=kind == "safe_subscript_expression")
        if kind == "method_invocation":
            return self.call(ts)
        if kind == "command_chain":
            receiver = _opt(ts, "receiver")
            given = list(ts.children_by_field_name("argument"))
            if receiver is None or receiver.type != "identifier":
                return self.unsupported(ts, f"command chain `{_short(self.text(ts))}`")
            return self.node("call", ts, [None, *[self.expression(a) for a in given]],
                             text=self.text(receiver))
        if kind == "object_creation_expression":
            type_node = _f(ts, "type")
            listed = _opt(ts, "arguments")
            type_name = self.text(type_node)
            if "<" in type_name:
                type_name = type_name[:type_name.index("<")]
            return self.node("new", ts, self.arguments(listed) if listed else [],
                             text=type_name.strip())
        if kind in ("binary_expression", "identity_expression", "spaceship_expression",
                    "power_expression"):
            left, right = _f(ts, "left"), _f(ts, "right")
            operator = self.operator(ts, left, right)
            if operator in ("&&", "||"):
                return self.node("and" if operator == "&&" else "or", ts,
                                 [self.expression(left), self.expression(right)])
            return self.node("binop", ts, [self.expression(left), self.expression(right)],
                             text=operator)
        if kind == "membership_expression":
            element = _f(ts, "element")
            collection = _f(ts, "collection")
            negated = b"!in" in self.source[element.end_byte:collection.start_byte]
            return self.node("in", ts, [self.expression(element), self.expression(collection)],
                             value=negated)
        if kind == "instanceof_expression":
            value = _f(ts, "value")
            type_node = _f(ts, "type")
            negated = b"!instanceof" in self.source[value.end_byte:type_node.start_byte]
            return self.node("instanceof", ts, [self.expression(value)],
                             text=self.text(type_node), value=negated)
        if kind == "cast_expression":
            return self.node("cast", ts, [self.expression(_f(ts, "value"))],
                             text=self.text(_f(ts, "type")))
        if kind == "parenthesized_type_cast":
            return self.unsupported(ts, f"Java cast `{_short(self.text(ts))}`")
        if kind == "unary_expression":
            operand = _f(ts, "operand")
            operator = self.source[ts.start_byte:operand.start_byte].decode().strip()
            return self.node("unary", ts, [self.expression(operand)], text=operator)
        if kind in ("update_expression", "unary_update_expression"):
            operand = _f(ts, "operand")
            prefix = kind == "unary_update_expression"
            operator = (self.source[ts.start_byte:operand.start_byte] if prefix
                        else self.source[operand.end_byte:ts.end_byte]).decode().strip()
            return self.node("update", ts, [self.target(operand)], text=operator, value=prefix)
        if kind == "assignment_expression":
            left, right = _f(ts, "left"), _f(ts, "right")
            operator = self.operator(ts, left, right)
            return self.node("assign", ts, [self.target(left), self.expression(right)],
                             text=operator)
        if kind == "ternary_expression":
            return self.node("ternary", ts, [
                self.expression(_f(ts, "condition")),
                self.expression(_f(ts, "consequence")),
                self.expression(_f(ts, "alternative"))])
        if kind == "elvis_expression":
            return self.node("elvis", ts, [
                self.expression(_f(ts, "value")),
                self.expression(_f(ts, "default"))])
        if kind == "closure":
            parameters = [c for c in ts.named_children if c.type == "closure_parameters"]
            names = None
            if parameters:
                names = [self.text(_f(p, "name"))
                         for p in parameters[0].named_children if p.type == "closure_parameter"]
            body = [c for c in ts.named_children if c.type != "closure_parameters"]
            return self.node("closure", ts, [self.block(ts, body)], value=names)
        if kind == "range_expression":
            start, end = _f(ts, "start"), _f(ts, "end")
            operator = self.source[start.end_byte:end.start_byte].decode().strip()
            if operator not in ("..", "..<"):
                return self.unsupported(ts, f"range `{operator}`")
            return self.node("range", ts, [self.expression(start), self.expression(end)],
                             value=operator == "..<")
        if kind == "switch_expression":
            return self.switch(ts)
        if kind in ("regex_find_expression", "regex_match_expression"):
            return self.node("regex", ts, [
                self.expression(_f(ts, "subject")),
                self.expression(_f(ts, "pattern"))],
                value=kind == "regex_match_expression")
        if kind in ("method_pointer_expression", "method_reference_expression",
                    "direct_field_access_expression", "spread_arguments"):
            return self.unsupported(ts, f"{kind.replace('_', ' ')} `{_short(self.text(ts))}`")
        if kind in ("type_identifier", "qualified_type", "qualified_name"):
            return self.node("name", ts, text=self.text(ts))
        return self.unsupported(ts)

    def operator(self, ts: tree_sitter.Node, left: tree_sitter.Node,
                 right: tree_sitter.Node) -> str:
        return self.source[left.end_byte:right.start_byte].decode().strip()

    def key(self, ts: tree_sitter.Node) -> Node:
        """A map key: a bare word is its text, `(expr)` its value."""
        if ts.type in ("identifier", "type_identifier"):
            return self.node("lit", ts, value=self.text(ts))
        return self.expression(ts)

    def target(self, ts: tree_sitter.Node) -> Node:
        found = self.expression(ts)
        if found.kind not in ("name", "prop", "index", "unsupported"):
            return self.unsupported(ts, f"assignment to `{_short(self.text(ts))}`")
        return found

    def arguments(self, ts: tree_sitter.Node) -> list[Node]:
        found: list[Node] = []
        named: list[Node] = []
        for child in ts.named_children:
            if _comment(child):
                continue
            if child.type == "named_argument":
                named.append(self.node("entry", child, [
                    self.key(_f(child, "key")),
                    self.expression(_f(child, "value"))]))
            else:
                found.append(self.expression(child))
        if named:  # Groovy gathers named arguments into one map, the first argument
            found.insert(0, Node("map", named[0].line, named))
        return found

    def call(self, ts: tree_sitter.Node) -> Node:
        function = _f(ts, "function")
        arguments = self.arguments(_f(ts, "arguments"))
        trailing = [c for c in ts.children_by_field_name("closure")]
        for closure in trailing:
            arguments.append(self.expression(closure))
        if function.type == "identifier":
            return self.node("call", ts, [None, *arguments], text=self.text(function))
        if function.type in ("field_access", "safe_navigation_expression"):
            obj = _f(function, "object")
            name = _opt(function, "field") or _f(function, "property")
            return self.node("call", ts, [self.expression(obj), *arguments],
                             text=self.text(name).strip("'\""),
                             value=function.type == "safe_navigation_expression")
        if function.type == "spread_dot_expression":
            return self.node("call", ts, [self.expression(function.named_children[0]),
                                          *arguments],
                             text=self.text(function.named_children[-1]), value="spread")
        callee = self.expression(function)
        return self.node("call", ts, [callee, *arguments], text="call")

    def switch(self, ts: tree_sitter.Node) -> Node:
        cases: list[Node] = []
        for case in _f(ts, "body").named_children:
            if case.type == "switch_case":
                values = case.children_by_field_name("value")
                statements = [c for c in case.named_children if c not in values]
                cases.append(self.node("case", case, [
                    [self.expression(v) for v in values], self.block(case, statements)]))
            elif case.type == "switch_default":
                cases.append(self.node("case", case, [None, self.block(
                    case, list(case.named_children))]))
            elif not _comment(case):
                return self.unsupported(case, "arrow switch case")
        return self.node("switch", ts, [self.expression(_unparen(
            _f(ts, "value"))), *cases])

    def dotted(self, ts: tree_sitter.Node) -> Node:
        names = self.text(ts).lstrip("$").split(".")
        found = self.node("name", ts, text=names[0])
        for name in names[1:]:
            found = self.node("prop", ts, [found], text=name, value=False)
        return found

    def string(self, ts: tree_sitter.Node) -> Node:
        raw = self.text(ts)
        for opener, closer in (('"""', '"""'), ("'''", "'''"), ('$/', '/$'), ('"', '"'),
                               ("'", "'"), ("/", "/")):
            if raw.startswith(opener) and raw.endswith(closer) and len(raw) >= 2 * len(opener):
                break
        else:
            return self.unsupported(ts, f"string `{_short(raw)}`")
        interpolating = opener in ('"""', '"', "/", "$/")
        slashy = opener in ("/", "$/")
        start = ts.start_byte + len(opener.encode())
        stop = ts.end_byte - len(closer.encode())
        parts: list[Node | str] = []
        position = start
        pieces = [c for c in ts.named_children if c.type in (
            "gstring_brace_interpolation", "gstring_dollar_interpolation")] if interpolating else []
        for piece in pieces:
            parts.append(_unescape(self.source[position:piece.start_byte].decode(), slashy))
            value = _opt(piece, "value")
            if piece.type == "gstring_dollar_interpolation":
                parts.append(self.dotted(piece))  # `$a.b.c`: a path of names
            else:
                parts.append(self.expression(value) if value is not None
                             else Node("lit", piece.start_point[0] + 1, value=""))
            position = piece.end_byte
        parts.append(_unescape(self.source[position:stop].decode(), slashy))
        if not pieces:
            return self.node("lit", ts, value=parts[0])
        return self.node("gstring", ts, [p for p in parts if p != ""])


def _trailing(statement: Node) -> tuple[Node | None, int]:
    """Where the last expression of a statement sits (node, slot), to attach what the
    grammar cut off after it."""
    if statement.kind == "expr" or (
            statement.kind in ("local", "return") and statement.kids[0] is not None):
        holder, slot = statement, 0
    else:
        return None, 0
    # Descend the right edge through binary operators and assignments.
    while True:
        current = holder.kids[slot]
        if current.kind in ("assign", "binop", "and", "or", "elvis", "in") and current.kids:
            holder, slot = current, len(current.kids) - 1
            continue
        if current.kind == "unary":
            holder, slot = current, 0
            continue
        return holder, slot


def _with_argument(target: Node, argument: Node) -> Node | None:
    """`target` (a name, a property or a call) called with one more argument."""
    if target.kind == "name":
        return Node("call", target.line, [None, argument], text=target.text, end=argument.end)
    if target.kind == "prop":
        return Node("call", target.line, [target.kids[0], argument], text=target.text,
                    value=target.value, end=argument.end)
    if target.kind == "call":
        target.kids.append(argument)
        target.end = argument.end
        return target
    return None


class _Missing(Exception):
    """A part the grammar should have given a node is not there (a malformed tree)."""


def _f(ts: tree_sitter.Node, name: str) -> tree_sitter.Node:
    found = ts.child_by_field_name(name)
    if found is None:
        raise _Missing(name)
    return found


def _opt(ts: tree_sitter.Node, name: str) -> tree_sitter.Node | None:
    return ts.child_by_field_name(name)


def _unparen(ts: tree_sitter.Node) -> tree_sitter.Node:
    while ts.type == "parenthesized_expression" and ts.named_children:
        ts = ts.named_children[0]
    return ts


def _comment(ts: tree_sitter.Node) -> bool:
    return ts.type in ("line_comment", "block_comment", "groovydoc_comment")


def _number(text: str) -> Any:
    clean = text.replace("_", "")
    suffix = clean[-1:].lower()
    if clean[:2].lower() in ("0x", "0b") or (clean[:1] == "0" and clean.isdigit() and
                                              len(clean) > 1):
        base = {"0x": 16, "0b": 2}.get(clean[:2].lower(), 8)
        digits = clean[2:] if base != 8 else clean[1:]
        if suffix in ("l", "i", "g") and base != 16:
            digits = digits[:-1]
        return int(digits, base)
    if suffix in ("l", "i", "g") and "." not in clean:
        return int(clean[:-1])
    if suffix in ("d", "f", "g"):
        return float(clean[:-1])
    if any(c in clean for c in ".eE"):
        # Groovy's decimal literals are BigDecimal; the mock keeps a float.
        return float(clean)
    return int(clean)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'",
            '"': '"', "$": "$", "/": "/", "0": "\0"}


def _unescape(text: str, slashy: bool) -> str:
    if "\\" not in text:
        return text
    if slashy:  # only `\/` is an escape in a slashy string
        return text.replace("\\/", "/")
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following == "u" and index + 5 < len(text) + 0:
                out.append(chr(int(text[index + 2:index + 6], 16)))
                index += 6
                continue
            if following == "\n":  # a line continuation
                index += 2
                continue
            out.append(_ESCAPES.get(following, following))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def parse(source: str) -> Parsed:
    """The script's tree and what of it the evaluator cannot run."""
    data = source.encode("utf-8")
    tree = _parser().parse(data)
    builder = _Builder(data)
    body = builder.block(tree.root_node)
    return Parsed(body, builder.problems)
