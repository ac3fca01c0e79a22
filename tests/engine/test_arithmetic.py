"""EL arithmetic as JUEL's NumberOperations and TypeConverterImpl compute it (+ - * / div % mod,
unary minus): the type each rule picks, coercion of strings and null, and the errors."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from mockidm.engine.errors import EngineError
from mockidm.engine.expressions import (
    EvaluationError,
    compile_expression,
    compile_text,
    java_class,
    java_string,
    storable,
)

LONG_MAX = 2**63 - 1
BIG = 10**20  # a JSON number beyond a long: Jackson reads it as a BigInteger


def value(text: str, **variables: Any) -> Any:
    return compile_text(text).evaluate(variables)


def fails(text: str, **variables: Any) -> EvaluationError:
    with pytest.raises(EvaluationError) as caught:
        compile_text(text).evaluate(variables)
    return caught.value


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        # Long: integers and strings without '.', 'e', 'E'
        ("${1 + 2}", {}, 3),
        ("${a + b}", {"a": 40, "b": 2}, 42),
        ("${a - 1}", {"a": "5"}, 4),  # a String is coerced
        ("${a * 3}", {"a": "-4"}, -12),
        ("${a-1}", {"a": 3}, 2),  # no spaces needed
        ("${2 + 3 * 4}", {}, 14),  # * before +
        ("${(2 + 3) * 4}", {}, 20),
        ("${10 - 2 - 3}", {}, 5),  # left to right
        ("${1 - -1}", {}, 2),
        ("${a + 1}", {"a": None}, 1),  # null is 0
        ("${a + b}", {"a": None, "b": None}, 0),
        ("${a + 1}", {"a": ""}, 1),  # '' is 0
        ("${a + 1}", {"a": LONG_MAX}, -(2**63)),  # long overflow wraps, as in Java
        ("${a * 2}", {"a": 2**62}, -(2**63)),
        # Double: a Double, or a String with '.', 'e' or 'E'
        ("${1.5 + 1}", {}, 2.5),
        ("${a + 1}", {"a": "1.5"}, 2.5),
        ("${a + 1}", {"a": "1e2"}, 101.0),
        ("${a * 2}", {"a": 0.1}, 0.2),
        ("${0.1 + 0.2}", {}, 0.30000000000000004),  # double arithmetic, not decimal
        # / and div: a Double, whatever the operands
        ("${1 / 2}", {}, 0.5),
        ("${4 div 2}", {}, 2.0),
        ("${a / b}", {"a": 1, "b": 4}, 0.25),
        ("${a / 2}", {"a": "3"}, 1.5),
        ("${a / b}", {"a": None, "b": None}, 0),  # both null: Long 0, the one exception
        ("${a / 2}", {"a": None}, 0.0),
        ("${1 / 0}", {}, math.inf),
        ("${-1 / 0}", {}, -math.inf),
        # % and mod: Java's remainder, the sign of the dividend
        ("${7 % 3}", {}, 1),
        ("${7 mod 3}", {}, 1),
        ("${-7 % 3}", {}, -1),
        ("${7 % -3}", {}, 1),
        ("${7.5 % 2}", {}, 1.5),
        ("${a % 2}", {"a": "5.5"}, 1.5),
        ("${-7.5 % 2}", {}, -1.5),
        ("${a % b}", {"a": None, "b": None}, 0),
        # unary minus of what is not a variable's number
        ("${-a}", {"a": "5"}, -5),
        ("${-a}", {"a": "5.0"}, -5.0),
        ("${-a}", {"a": None}, 0),
        ("${-5}", {}, -5),
        # arithmetic under comparisons and in text
        ("${a + 1 > 2}", {"a": 2}, True),
        ("${a * 2 == 4}", {"a": "2"}, True),
        ("${-a < 0}", {"a": 1}, True),
        ("Step ${n + 1} of ${total}", {"n": 0, "total": 3}, "Step 1 of 3"),
        ("${a / 4}", {"a": 2}, 0.5),
    ],
)
def test_arithmetic_gives_the_type_and_value_juel_gives(text, variables, expected):
    result = value(text, **variables)
    assert result == expected
    assert java_class(result) == JAVA_CLASSES[type(expected)]


JAVA_CLASSES = {int: "java.lang.Long", float: "java.lang.Double", str: "java.lang.String",
                bool: "java.lang.Boolean"}


@pytest.mark.parametrize(("a", "negated", "java"), [
    (5, -5, "java.lang.Integer"),  # a JSON integer that fits an int is an Integer ...
    (-(2**31), -(2**31), "java.lang.Integer"),  # ... and wraps as one
    (2**31, -(2**31), "java.lang.Long"),  # one beyond an int is a Long
    (-(2**63), -(2**63), "java.lang.Long"),  # Long.MIN_VALUE negates to itself
    (BIG, -BIG, "java.math.BigInteger"),
    (2.5, -2.5, "java.lang.Double"),
])
def test_unary_minus_keeps_the_numbers_type(a: Any, negated: Any, java: str) -> None:
    result = value("${-a}", a=a)
    assert result == negated
    assert java_class(result) == java
    assert java_class(value("${--a}", a=a)) == java


def test_a_long_result_says_so_and_is_kept_as_a_plain_integer():
    with pytest.raises(EvaluationError, match=r"returns non-Boolean: 3 \(java.lang.Long\)$"):
        compile_expression("${1 + 2}").evaluate_condition({})
    kept = storable(value("${a + 1}", a=1))
    assert kept == 2 and type(kept) is int


def test_division_by_zero_of_doubles_is_ieee():
    assert math.isnan(value("${0 / 0}"))
    assert math.isnan(value("${a % 0}", a=1.5))
    assert math.isnan(value("${a % 0.0}", a=1))
    assert value("${a % b}", a=1.5, b=math.inf) == 1.5


def test_a_biginteger_operand_gives_biginteger_or_bigdecimal():
    assert value("${a + 1}", a=BIG) == BIG + 1
    assert value("${a - a}", a=BIG) == 0
    assert value("${a * 10}", a=BIG) == BIG * 10
    assert value("${a % 7}", a=BIG) == BIG % 7
    # with a Double: BigDecimal, the Double by its exact binary value
    sum_ = value("${a + 1.5}", a=BIG)
    assert sum_ == Decimal("100000000000000000001.5")
    assert java_class(sum_) == "java.math.BigDecimal"
    assert java_string(value("${a * 1.5}", a=BIG)) == "150000000000000000000.0"
    assert value("${a + 0.1}", a=BIG) == Decimal(
        "100000000000000000000.1000000000000000055511151231257827021181583404541015625")
    # / with a BigInteger: a BigDecimal of the dividend's scale (0), rounded half up
    assert value("${a / 3}", a=BIG) == Decimal("33333333333333333333")
    assert value("${a / 8}", a=BIG + 4) == Decimal("12500000000000000001")  # .5 rounds up
    assert value("${-a / 8}", a=BIG + 4) == Decimal("-12500000000000000001")
    assert value("${6 / a}", a=BIG) == Decimal(0)
    # comparisons with the result
    assert value("${a / 3 > 1}", a=BIG) is True
    assert value("${a + 0.5 == b}", a=BIG, b=1e20) is False  # BigDecimal compareTo


@pytest.mark.parametrize(
    ("text", "variables", "message", "cause"),
    [
        ("${a + 1}", {"a": "x"}, "Error while evaluating expression: ${a + 1}",
         "Cannot coerce 'x' to class java.lang.Long"),
        ("${a + 1}", {"a": "1.x"}, "Error while evaluating expression: ${a + 1}",
         "Cannot coerce '1.x' to class java.lang.Double"),
        ("${a + 1}", {"a": "abc"}, "Error while evaluating expression: ${a + 1}",
         "Cannot coerce 'abc' to class java.lang.Long"),
        ("${a * 2}", {"a": True}, "Error while evaluating expression: ${a * 2}",
         "Cannot coerce from class java.lang.Boolean to class java.lang.Long"),
        ("${a - 1}", {"a": {"x": 1}}, "Error while evaluating expression: ${a - 1}",
         "Cannot coerce from class java.util.LinkedHashMap to class java.lang.Long"),
        ("${a / 2}", {"a": [1]}, "Error while evaluating expression: ${a / 2}",
         "Cannot coerce from class java.util.ArrayList to class java.lang.Double"),
        ("${1 % 0}", {}, "Error while evaluating expression: ${1 % 0}", "/ by zero"),
        ("${a % 0}", {"a": BIG}, "Error while evaluating expression: ${a % 0}",
         "BigInteger divide by zero"),
        ("${a / 0}", {"a": BIG}, "Error while evaluating expression: ${a / 0}",
         "Division by zero"),
        ("${a + b}", {"a": BIG, "b": math.inf}, "Error while evaluating expression: ${a + b}",
         "Infinite or NaN"),
        ("${-a}", {"a": "x"}, "Error while evaluating expression: ${-a}",
         "Cannot coerce 'x' to class java.lang.Long"),
        ("${a + 1}", {}, "Unknown property used in expression: ${a + 1}",
         "Cannot resolve identifier 'a'"),
    ],
)
def test_what_cannot_be_computed_fails_with_the_engines_message(text, variables, message,
                                                                 cause):
    error = fails(text, **variables)
    assert str(error) == message
    assert error.cause == cause


def test_plus_never_concatenates_strings():
    assert fails("${'a' + 'b'}").cause == "Cannot coerce 'a' to class java.lang.Long"
    assert value("${'1' + '2'}") == 3


def test_a_condition_with_arithmetic_must_still_be_a_boolean():
    assert compile_expression(
        "${nrOfCompletedInstances / nrOfInstances >= 0.5}").evaluate_condition(
        {"nrOfCompletedInstances": 1, "nrOfInstances": 2}) is True
    assert compile_expression(
        "${nrOfCompletedInstances / nrOfInstances >= 0.5}").evaluate_condition(
        {"nrOfCompletedInstances": 1, "nrOfInstances": 3}) is False


def test_a_bigdecimal_cannot_become_a_variable():
    with pytest.raises(EngineError, match="cannot keep the BigDecimal"):
        storable(Decimal("1.5"))
    assert storable(2.5) == 2.5
