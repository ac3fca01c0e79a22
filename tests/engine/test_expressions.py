"""EL condition expressions: JUEL's grammar, operators, coercions, errors (as Activiti has them)."""

import math
from typing import Any

import pytest

from mockidm import Engine, UserTask, linear_process
from mockidm.engine.errors import EngineError
from mockidm.engine.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    compile_expression,
    compile_text,
    java_class,
    to_boolean,
)
from mockidm.engine.scope import scope


def ev(text, **variables):
    return compile_expression(text).evaluate(variables)


def fails(text, **variables):
    with pytest.raises(EvaluationError) as caught:
        ev(text, **variables)
    return caught.value


# --- literals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("${'abc'}", "abc"),
        ('${"abc"}', "abc"),
        ("${''}", ""),
        (r"${'it\'s'}", "it's"),
        (r'${"say \"hi\""}', 'say "hi"'),
        (r"${'back\\slash'}", "back\\slash"),
        (r'${"back\\slash"}', "back\\slash"),
        ("${'say \"hi\"'}", 'say "hi"'),  # the other quote needs no escape
        ('${"it\'s"}', "it's"),
        ("${'a}b'}", "a}b"),  # a '}' inside a string does not end the expression
        ("${42}", 42),
        ("${0}", 0),
        ("${9223372036854775807}", 2**63 - 1),
        ("${1.5}", 1.5),
        ("${.5}", 0.5),
        ("${1.}", 1.0),
        ("${1e3}", 1000.0),
        ("${1E-2}", 0.01),
        ("${2.5e+1}", 25.0),
        ("${true}", True),
        ("${false}", False),
        ("${null}", None),
    ],
)
def test_literals(text, value):
    result = ev(text)
    assert result == value
    assert isinstance(result, type(value))
    if isinstance(value, int) and not isinstance(value, bool):
        assert java_class(result) == "java.lang.Long"  # JUEL reads integer literals as Longs


@pytest.mark.parametrize(
    ("text", "part"),
    [
        (r"${'a\"b'}", r"\""),  # JUEL knows only \' and \\ inside '...'
        (r'${"a\'b"}', r"\'"),
        (r"${'a\nb'}", r"\n"),
        ("${'abc}", "'abc}"),
        ("${9223372036854775808}", "9223372036854775808"),
    ],
)
def test_bad_literals_are_refused_when_compiling(text, part):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.part == part
    assert part in str(caught.value)


# --- operators and their keyword twins ----------------------------------------------------------

PAIRS = [("==", "eq"), ("!=", "ne"), ("<", "lt"), (">", "gt"), ("<=", "le"), (">=", "ge")]
COMPARISONS = [
    # a, b, ==, !=, <, >, <=, >=
    (1, 2, False, True, True, False, True, False),
    (2, 2, True, False, False, False, True, True),
    (3, 2, False, True, False, True, False, True),
    ("a", "b", False, True, True, False, True, False),
    ("b", "b", True, False, False, False, True, True),
    (2.5, 2, False, True, False, True, False, True),
]


@pytest.mark.parametrize(("a", "b", *[p[1] for p in PAIRS]), COMPARISONS)
@pytest.mark.parametrize("form", [0, 1], ids=["symbol", "keyword"])
def test_comparisons_and_keyword_twins(form, a, b, eq, ne, lt, gt, le, ge):
    expected = dict(zip([p[form] for p in PAIRS], [eq, ne, lt, gt, le, ge], strict=True))
    for operator, value in expected.items():
        assert ev(f"${{a {operator} b}}", a=a, b=b) is value, operator


@pytest.mark.parametrize(
    ("a", "b", "result"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
@pytest.mark.parametrize("operator", ["&&", "and"])
def test_and(operator, a, b, result):
    assert ev(f"${{a {operator} b}}", a=a, b=b) is result


@pytest.mark.parametrize(
    ("a", "b", "result"),
    [(True, True, True), (True, False, True), (False, True, True), (False, False, False)],
)
@pytest.mark.parametrize("operator", ["||", "or"])
def test_or(operator, a, b, result):
    assert ev(f"${{a {operator} b}}", a=a, b=b) is result


@pytest.mark.parametrize("operator", ["!", "not "])
def test_not(operator):
    assert ev(f"${{{operator}a}}", a=True) is False
    assert ev(f"${{{operator}a}}", a=False) is True
    assert ev(f"${{{operator}{operator}a}}", a=True) is True


def test_and_or_short_circuit_past_what_would_fail():
    assert ev("${false && missing}") is False
    assert ev("${true || missing}") is True
    assert ev("${false and 1 == true}") is False
    assert fails("${true && missing}").cause == "Cannot resolve identifier 'missing'"


def test_and_or_coerce_their_operands_to_boolean():
    assert ev("${a && b}", a="TRUE", b="true") is True
    assert ev("${a || b}", a=None, b="") is False
    assert fails("${a && true}", a=1).cause == (
        "Cannot coerce from class java.lang.Integer to class java.lang.Boolean"
    )


def test_conditional_operator():
    assert ev("${a ? 'yes' : 'no'}", a=True) == "yes"
    assert ev("${a ? 'yes' : 'no'}", a=False) == "no"
    assert ev("${a ? 'yes' : missing}", a=True) == "yes"  # only the chosen branch runs
    assert ev("${a ? missing : 2}", a="false") == 2
    assert ev("${a ? 1 : b ? 2 : 3}", a=False, b=True) == 2  # right-associative
    assert ev("${a ? b ? 1 : 2 : 3}", a=True, b=False) == 2
    assert fails("${a ? 1 : 2}", a=[]).cause == (
        "Cannot coerce from class java.util.ArrayList to class java.lang.Boolean"
    )


def test_unary_minus():
    assert ev("${-5}") == -5
    assert ev("${-a}", a=2.5) == -2.5
    assert ev("${-a}", a="7") == -7
    assert ev("${-a}", a="1.5") == -1.5
    assert ev("${-a}", a=None) == 0
    assert ev("${- -a}", a=3) == 3
    assert ev("${-a < 0}", a=1) is True
    assert fails("${-a}", a=True).cause == "Cannot negate 'class java.lang.Boolean'"
    assert fails("${-a}", a="x").cause == "Cannot coerce 'x' to class java.lang.Long"


# --- precedence --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${true or false and false}", True),  # and binds tighter than or
        ("${(true or false) and false}", False),
        ("${false and false or true}", True),
        ("${!true == false}", True),  # ! binds tighter than ==
        ("${!(true == false)}", True),
        ("${not empty a}", True),
        ("${1 < 2 == true}", True),  # relational binds tighter than equality
        ("${1 < 2 == 2 < 1}", False),
        ("${1 == 1 && 2 == 2}", True),  # equality binds tighter than &&
        ("${a.b == 'x' || a.b == 'y'}", True),
        ("${true ? false : true or true}", False),  # ?: is the loosest
        ("${false || true ? 'y' : 'n'}", "y"),
        ("${-a.n == -1}", True),  # . binds tighter than unary minus
        ("${empty a.list}", True),
    ],
)
def test_precedence(text, result):
    assert ev(text, a={"b": "y", "n": 1, "list": []}) == result


# --- coercions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "variables", "result"),
    [
        ("${a == 5}", {"a": "5"}, True),  # a String against an integer: read as a long
        ("${a == 5}", {"a": "+5"}, True),
        ("${a != 5}", {"a": "6"}, True),
        ("${a == 5.0}", {"a": "5"}, True),  # against a double: read as a double
        ("${a == 5}", {"a": 5.0}, True),
        ("${a == 0}", {"a": ""}, True),  # '' coerces to 0
        ("${a > 9}", {"a": "10"}, True),  # numeric order...
        ("${a > '9'}", {"a": "10"}, False),  # ...but two Strings compare as text
        ("${a < 2.5}", {"a": "2.25"}, True),
        ("${a == true}", {"a": "true"}, True),  # against a Boolean: read as a boolean
        ("${a == true}", {"a": "TRUE"}, True),
        ("${a == true}", {"a": "yes"}, False),
        ("${a == false}", {"a": ""}, True),
        ("${a == 'true'}", {"a": True}, True),
        ("${a == '1'}", {"a": 1}, True),
        ("${a == 'x'}", {"a": "x"}, True),
        ("${false < true}", {}, True),
        ("${a == b}", {"a": {"k": [1, "x"]}, "b": {"k": [1, "x"]}}, True),
        ("${a == b}", {"a": {"k": 1}, "b": {"k": 1.0}}, False),  # Integer.equals(Double)
        ("${a == b}", {"a": [True], "b": [1]}, False),
        ("${a == b}", {"a": 2**70, "b": str(2**70)}, True),  # BigInteger
        ("${a < b}", {"a": "Z", "b": "a"}, True),  # String.compareTo
        ("${a < b}", {"a": "\uffff", "b": "\U0001f600"}, False),  # UTF-16 order, not code points
        ("${a == b}", {"a": math.nan, "b": math.nan}, True),  # Double.equals...
        ("${a == 0}", {"a": -0.0}, False),  # ...which tells -0.0 from 0.0
        ("${a >= 1}", {"a": math.nan}, True),  # >= is !(a < b) in JUEL
        ("${a == 1e5}", {"a": " 1e5 "}, True),  # Double.valueOf trims
        ("${a == 1.5}", {"a": "1.5d"}, True),
        ("${a == 3.0}", {"a": "0x1.8p1"}, True),
    ],
)
def test_coercions(text, variables, result):
    assert compile_expression(text).evaluate(variables) is result


@pytest.mark.parametrize(
    ("text", "variables", "cause"),
    [
        ("${a == 5}", {"a": "abc"}, "Cannot coerce 'abc' to class java.lang.Long"),
        ("${a == 5}", {"a": "5.0"}, "Cannot coerce '5.0' to class java.lang.Long"),
        ("${a == 5}", {"a": " 5"}, "Cannot coerce ' 5' to class java.lang.Long"),
        ("${a == 5.5}", {"a": "x"}, "Cannot coerce 'x' to class java.lang.Double"),
        (
            "${a == 1}",
            {"a": True},
            "Cannot coerce from class java.lang.Boolean to class java.lang.Long",
        ),
        (
            "${a == true}",
            {"a": {}},
            "Cannot coerce from class java.util.LinkedHashMap to class java.lang.Boolean",
        ),
        (
            "${a < b}",
            {"a": {}, "b": []},
            "Cannot compare 'class java.util.LinkedHashMap' and 'class java.util.ArrayList'",
        ),
        ("${a < true}", {"a": {}}, "java.util.LinkedHashMap cannot be cast to java.lang.Boolean"),
    ],
)
def test_coercion_failures(text, variables, cause):
    with pytest.raises(EvaluationError) as caught:
        compile_expression(text).evaluate(variables)
    assert str(caught.value) == f"Error while evaluating expression: {text}"
    assert caught.value.cause == cause


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${a == null}", True),
        ("${null == null}", True),
        ("${a != null}", False),
        ("${b == null}", False),
        ("${a == 0}", False),  # null is equal to nothing but null...
        ("${a == ''}", False),
        ("${a < 1}", False),  # ...and orders with nothing
        ("${a > 1}", False),
        ("${a <= 1}", False),
        ("${1 >= a}", False),
        ("${a <= null}", True),
        ("${a >= null}", True),
        ("${a < null}", False),
    ],
)
def test_null(text, result):
    assert ev(text, a=None, b=0) is result


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (None, True),
        ("", True),
        (" ", False),
        ("x", False),
        ([], True),
        ([None], False),
        ({}, True),
        ({"k": None}, False),
        (0, False),
        (0.0, False),
        (False, False),
    ],
)
def test_empty(value, result):
    assert ev("${empty a}", a=value) is result
    assert ev("${!empty a}", a=value) is not result


@pytest.mark.parametrize(
    ("value", "result"),
    [(True, True), (False, False), (None, False), ("", False), ("true", True), ("True", True)],
)
def test_to_boolean(value, result):
    assert to_boolean(value) is result


@pytest.mark.parametrize("value", [1, 0.0, [], {}])
def test_to_boolean_refuses_other_types(value):
    with pytest.raises(EvaluationError, match=r"to class java\.lang\.Boolean$"):
        to_boolean(value)


# --- property access ----------------------------------------------------------------------------

USER = {
    "name": "alice",
    "manager": {"name": "bob", "manager": None, "roles": ["admin", "auditor"]},
    "age": 42,
    "tags": [],
}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${user.name}", "alice"),
        ("${user.manager.name}", "bob"),
        ("${user.manager.manager}", None),
        ("${user.manager.manager.name}", None),  # a null base gives null
        ("${user.missing}", None),  # a missing key gives null
        ("${user.missing.deeper}", None),
        ("${user['name']}", "alice"),
        ('${user["manager"]["name"]}', "bob"),
        ("${user[key]}", "alice"),
        ("${user[null]}", None),
        ("${user[1]}", None),  # JSON keys are Strings; a Long key finds nothing
        ("${user[user]}", None),  # nor does a map
        ("${user.manager.manager[missing]}", None),  # a null base: the key is not evaluated
        ("${user.manager.roles[0]}", "admin"),
        ("${user.manager.roles['1']}", "auditor"),
        ("${user.manager.roles[1.9]}", "auditor"),  # intValue() truncates
        ("${user.manager.roles[true]}", "auditor"),
        ("${user.manager.roles[2]}", None),  # out of range gives null
        ("${user.manager.roles[-1]}", None),
        ("${user.manager.roles[4294967296]}", "admin"),  # Long.intValue keeps the low 32 bits
        ("${user.manager.name == 'bob' && user.age >= 18}", True),
        ("${user.$x}", None),  # '$' may start a Java identifier
    ],
)
def test_property_access(text, result):
    assert ev(text, user=USER, key="name") == result


@pytest.mark.parametrize(
    ("text", "message", "cause"),
    [
        (
            "${user.name.length}",
            "Unknown property used in expression",
            "Could not find property length in class java.lang.String",
        ),
        (
            "${user.age.x}",
            "Unknown property used in expression",
            "Could not find property x in class java.lang.Integer",
        ),
        ("${user.tags.size}", "Error while evaluating expression", "Cannot parse list index: size"),
        (
            "${user.tags[user]}",
            "Error while evaluating expression",
            "Cannot coerce property to list index: {name=alice,"
            " manager={name=bob, manager=null, roles=[admin, auditor]}, age=42, tags=[]}",
        ),
    ],
)
def test_property_access_failures(text, message, cause):
    error = fails(text, user=USER)
    assert str(error) == f"{message}: {text}"
    assert error.cause == cause


def test_map_to_string_formats_doubles_as_java():
    assert (
        ev(
            "${a == '{x=1.0, y=1.0E-4, z=1.0E7, w=[true, null]}'}",
            a={
                "x": 1.0,
                "y": 0.0001,
                "z": 1e7,
                "w": [True, None],
            },
        )
        is True
    )


# --- variables ----------------------------------------------------------------------------------


def test_unknown_variable_fails_when_evaluated_not_when_compiled():
    expression = compile_expression("${decision == 'approve'}")
    with pytest.raises(EvaluationError) as caught:
        expression.evaluate({})
    error = caught.value
    assert str(error) == "Unknown property used in expression: ${decision == 'approve'}"
    assert error.cause == "Cannot resolve identifier 'decision'"
    assert error.expression == "${decision == 'approve'}"
    assert isinstance(error, EngineError)
    assert expression.evaluate({"decision": "approve"}) is True


def test_a_variable_holding_null_is_not_missing():
    assert ev("${a == null}", a=None) is True
    assert ev("${a}", a=None) is None


def test_variables_lists_the_top_level_identifiers():
    expression = compile_expression(
        "${a.b == c['d'] && (e ? f : g[h]) || not empty i && 'j' == null}"
    )
    assert expression.variables == frozenset("acefghi")
    assert compile_expression("${1 == 1}").variables == frozenset()


def test_evaluate_returns_variables_as_they_are():
    value = {"k": [1]}
    assert ev("${a}", a=value) is value
    assert ev("${a.k}", a=value) is value["k"]


# --- conditions ---------------------------------------------------------------------------------


def test_evaluate_condition_returns_the_boolean():
    expression = compile_expression("${decision == 'approve'}")
    assert expression.evaluate_condition({"decision": "approve"}) is True
    assert expression.evaluate_condition({"decision": "reject"}) is False


def test_a_condition_must_be_a_boolean_as_activiti_requires():
    with pytest.raises(EvaluationError) as caught:
        compile_expression("${approved}").evaluate_condition({"approved": None})
    assert str(caught.value) == "condition expression returns null"
    with pytest.raises(EvaluationError) as caught:
        compile_expression("${approved}").evaluate_condition({"approved": "true"})
    assert str(caught.value) == "condition expression returns non-Boolean: true (java.lang.String)"
    with pytest.raises(EvaluationError) as caught:
        compile_expression("${n}").evaluate_condition({"n": 1.0})
    assert str(caught.value) == "condition expression returns non-Boolean: 1.0 (java.lang.Double)"


def test_unknown_variable_in_a_condition():
    with pytest.raises(EvaluationError, match=r"^Unknown property used in expression: \$\{x\}$"):
        compile_expression("${x}").evaluate_condition({})


# --- the text around the expression -------------------------------------------------------------


def test_surrounding_whitespace_and_deferred_syntax():
    expression = compile_expression("\n  ${ a\t==\n1 }  \n")
    assert expression.evaluate({"a": 1}) is True
    assert expression.text == "\n  ${ a\t==\n1 }  \n"
    assert expression.deferred is False
    deferred = compile_expression("#{a == 1}")
    assert deferred.deferred is True
    assert deferred.evaluate({"a": 1}) is True


def test_compile_returns_an_expression_and_refuses_non_strings():
    assert isinstance(compile_expression("${true}"), Expression)
    assert repr(compile_expression("${true}")) == "Expression('${true}')"
    with pytest.raises(TypeError):
        compile_expression(None)


# --- what the subset leaves out -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "part", "words"),
    [
        ("${a['b']()}", "a['b'](", "method call"),
        ("${fn:length(x) > 1}", "fn:length(", "function call"),
        ("${f(x)}", "f(", "function call"),
        ("${+a}", "+", "expected a value"),  # JUEL has no unary plus
        ("${a * / 2}", "/", "expected a value"),
        ("${a mod}", "}", "expected a value"),
        ("${a instanceof b}", "instanceof", "instanceof"),
        ("${x = 1}", "=", "assignment"),
        ("${x -> x == 1}", "->", "lambda"),
        ("${a; b}", ";", "';'"),
        ("${a += 'b'}", "+=", "concatenation"),
        ("${{1, 2}}", "{", "literals"),
        ("${[1, 2]}", "[", "literals"),
        ("a ${x} b", "a ", "text around"),
        ("${x} b", " b", "text around"),
        ("${x}${y}", "${y}", "text around"),
        ("x == 1", "x == 1", "not an EL expression"),
        ("true", "true", "not an EL expression"),
        ("", "", "empty"),
        ("${}", "${}", "empty"),
        ("${x", "${x", "closing '}'"),
        ("${a &b}", "&", "invalid character"),
        ("${a # b}", "#", "invalid character"),
        ("${a b}", "b", "syntax error"),
        ("${a.empty}", "empty", "property name"),
        ("${a.5}", ".5", "syntax error"),
        ("${a ? b}", "}", "':'"),
        ("${(a}", "}", "')'"),
        ("${a[1}", "}", "']'"),
        ("${a ==}", "}", "expected a value"),
        ("${" + "(" * 60 + "a" + ")" * 60 + "}", "(", "nested too deeply"),
        ("${" + " == ".join("a" * 120) + "}", None, "nested too deeply"),
    ],
)
def test_unsupported_or_malformed_expressions_are_refused_when_compiling(text, part, words):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    error = caught.value
    message = str(error)
    assert isinstance(error, ValueError)
    assert message.startswith(f"Cannot compile expression {text.strip()!r}: ")
    assert words in message
    if part is not None:
        assert error.part == part
        assert part in message
        assert error.position is not None
        assert text.strip()[error.position :].startswith(part) or part in text.strip()


def test_the_position_points_at_the_offending_part():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("  ${a == 1 and b = 1}")
    assert caught.value.position == 15
    assert caught.value.expression[caught.value.position] == "="
    assert str(caught.value).endswith("at position 15")


# --- value expressions: text, method calls, engine objects ---------------------------------------


@pytest.mark.parametrize(("text", "variables", "value"), [
    ("plain text", {}, "plain text"),
    ("  trimmed\n", {}, "trimmed"),
    ("${manager}", {"manager": 5}, 5),  # one expression alone keeps its type
    ("${m}", {"m": ["a", "b"]}, ["a", "b"]),
    ("Approve ${role} for ${who}", {"role": "r", "who": None}, "Approve r for "),
    ("${a}${b}", {"a": 1.0, "b": True}, "1.0true"),
    ("#{a} and ${a}", {"a": "x"}, "x and x"),
    ("cost \\${a}", {}, "cost ${a}"),
    ("${s.toUpperCase()}", {"s": "ab"}, "AB"),
    ("${s.equalsIgnoreCase('AB')}", {"s": "ab"}, True),
    ("${m.get('k')}", {"m": {"k": [1]}}, [1]),
    ("${m.containsKey('x')}", {"m": {"k": 1}}, False),
    ("${l.size()}", {"l": [1, 2, 3]}, 3),
    ("${l.contains('b')}", {"l": ["a", "b"]}, True),
    ("${l.get(1)}", {"l": ["a", "b"]}, "b"),
])
def test_value_expressions(text: str, variables: dict[str, Any], value: Any) -> None:
    assert compile_text(text).evaluate(variables) == value


@pytest.mark.parametrize(("text", "variables", "message", "cause"), [
    ("${x.foo()}", {"x": "s"}, "Unknown method used in expression: ${x.foo()}",
     "Cannot find method foo in class java.lang.String"),
    ("${s.trim(1)}", {"s": "s"}, "Unknown method used in expression: ${s.trim(1)}",
     "Cannot find method trim in class java.lang.String"),
    ("${n.size()}", {"n": None}, "Unknown property used in expression: ${n.size()}",
     "Cannot invoke method size on null"),
    ("Hi ${who}", {}, "Unknown property used in expression: Hi ${who}",
     "Cannot resolve identifier 'who'"),
    ("${l.get(5)}", {"l": []}, "Error while evaluating expression: ${l.get(5)}",
     "Index: 5, Size: 0"),
])
def test_value_expressions_that_fail(text: str, variables: dict[str, Any], message: str,
                                     cause: str) -> None:
    with pytest.raises(EvaluationError) as failed:
        compile_text(text).evaluate(variables)
    assert (str(failed.value), failed.value.cause) == (message, cause)


def test_the_execution_object_reads_and_writes_the_instances_variables() -> None:
    engine = Engine()
    engine.deploy(linear_process("p", tasks=[UserTask("t")]))
    instance = engine.start(key="p", business_key="B-1", variables={"x": "y"})
    variables = scope(instance, instance.id, "t", "alice")

    def value(text: str) -> Any:
        return compile_text(text).evaluate(variables)

    assert value("${execution.getVariable('x')}") == "y"
    assert value("${execution.getVariable('nothing')}") is None
    assert value("${execution.processInstanceId == execution.id}") is True
    assert value("${execution.processBusinessKey}-${execution.getProcessDefinitionId()}") == (
        f"B-1-{instance.definition.id}")
    assert value("${execution.hasVariable('x')} ${execution.currentActivityId}") == "true t"
    assert value("${authenticatedUserId}") == "alice"
    assert value("${execution.setVariable('z', 3)}") is None
    assert instance.variables["z"] == 3
    with pytest.raises(EvaluationError, match="Unknown method used in expression"):
        value("${execution.getVariable()}")
    with pytest.raises(EvaluationError, match="Unknown property used in expression"):
        value("${execution.nope}")
    # A condition sees the engine objects too.
    assert compile_expression("${execution.getVariable('x') == 'y'}").evaluate_condition(
        variables) is True


def test_text_expressions_say_what_they_read() -> None:
    assert compile_text("plain").literal and not compile_text("${a}").literal
    assert compile_text("${a.b(c)} ${d}").variables == frozenset({"a", "c", "d"})
    assert compile_text("${execution.id}").uses_engine
    assert not compile_text("${a}").uses_engine
    with pytest.raises(ExpressionError, match="the expression is empty"):
        compile_text("x ${}")
    with pytest.raises(ExpressionError, match="missing the closing"):
        compile_text("x ${a")
