"""CREST query filters: grammar, IDM's matching semantics, canonical text, errors."""

import pytest

from mockidm.http.queryfilter import (
    ALWAYS_FALSE,
    ALWAYS_TRUE,
    And,
    Comparison,
    Literal,
    Not,
    Or,
    Present,
    QueryFilterError,
    parse,
)


def matches(text, resource):
    return parse(text).matches(resource)


def eq(field, value):
    return Comparison(tuple(field.strip("/").split("/")), "eq", value)


USER = {
    "userName": "Alice",
    "age": 42,
    "score": 7.5,
    "active": True,
    "manager": None,
    "roles": ["Admin", "auditor"],
    "tags": [],
    "address": {"city": "Grenoble", "zip": "38000", "lines": ["1 Rue A", "Bat. B"]},
    "weird/key": "slash",
    "~1": "tilde",
    "a b": "space",
    "": "empty",
}


# --- strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('/userName eq "Alice"', True),
        ('/userName eq "alice"', True),  # eq ignores case, as IDM's evaluator does
        ('/userName eq "Alic"', False),
        ('/userName co "LIC"', True),
        ('/userName co "bob"', False),
        ('/userName co ""', True),
        ('/userName sw "al"', True),
        ('/userName sw "lice"', False),
        ('/userName gt "alex"', True),  # ordering ignores case too: "alice" > "alex"
        ('/userName gt "ALICE"', False),
        ('/userName ge "ALICE"', True),
        ('/userName lt "Bob"', True),
        ('/userName lt "aardvark"', False),
        ('/userName le "alice"', True),
        ('/userName le "Al"', False),
    ],
)
def test_string_operators(text, expected):
    assert matches(text, USER) is expected


def test_non_ascii_strings_fold_per_character():
    assert matches('/n eq "ÉCOLE"', {"n": "école"})
    assert matches('/n co "STRASSE"', {"n": "Straße"}) is False  # no ß -> SS expansion
    assert matches('/n eq "STRAßE"', {"n": "straße"})


# --- numbers and booleans ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/age eq 42", True),
        ("/age eq 42.0", True),  # numbers compare as doubles
        ("/age eq 41", False),
        ("/age gt 41", True),
        ("/age gt 42", False),
        ("/age ge 42", True),
        ("/age lt 42.5", True),
        ("/age lt 42", False),
        ("/age le 42", True),
        ("/age le -1", False),
        ("/score eq 7.5", True),
        ("/score gt 7", True),
        ("/score lt .5", False),
        ("/age co 42", True),  # co and sw on a number mean equality
        ("/age co 4", False),
        ("/age sw 4", False),
        ("/age sw 42", True),
        ('/age eq "42"', False),  # other JSON types never match
        ("/address/zip eq 38000", False),
        ('/address/zip eq "38000"', True),
    ],
)
def test_number_operators(text, expected):
    assert matches(text, USER) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/active eq true", True),
        ("/active eq TRUE", True),
        ("/active eq false", False),
        ("/active gt false", True),  # false < true
        ("/active lt true", False),
        ("/active le true", True),
        ("/active co true", True),
        ("/active eq 1", False),  # a boolean is not the number 1
        ('/active eq "true"', False),
    ],
)
def test_boolean_operators(text, expected):
    assert matches(text, USER) is expected


def test_number_is_not_a_boolean():
    assert matches("/n eq 1", {"n": True}) is False
    assert matches("/n eq true", {"n": 1}) is False
    assert matches("/n eq 1", {"n": 1}) is True


def test_huge_numbers_compare_as_doubles():
    assert matches("/n gt 9223372036854775807", {"n": 10**400})
    assert matches("/n lt -9223372036854775808", {"n": -(10**400)})
    assert matches("/n eq 1", {"n": float("nan")}) is False


# --- missing, null, arrays ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('/nickname eq "x"', False),
        ("/nickname pr", False),
        ('!(/nickname eq "x")', True),
        ("/manager pr", False),  # null is not present
        ('/manager eq "x"', False),
        ("/manager/name pr", False),
        ("/userName/first pr", False),  # a string has no members
        ("/tags pr", True),  # an empty array is present
        ("/userName pr", True),
        ("/age pr", True),
        ("/active pr", True),
    ],
)
def test_missing_and_null(text, expected):
    assert matches(text, USER) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('/roles eq "admin"', True),  # any element
        ('/roles eq "AUDITOR"', True),
        ('/roles eq "owner"', False),
        ('/roles co "dit"', True),
        ('/roles sw "aud"', True),
        ('/roles gt "ab"', True),
        ('/roles gt "b"', False),
        ('/roles lt "a"', False),
        ('/tags eq "x"', False),
        ('/roles/0 eq "admin"', True),  # a numeric token indexes an array
        ('/roles/1 eq "admin"', False),
        ("/roles/2 pr", False),
        ("/roles/first pr", False),
        ('/address/lines/1 sw "bat"', True),
    ],
)
def test_arrays(text, expected):
    assert matches(text, USER) is expected


def test_array_of_mixed_types_skips_incompatible_elements():
    resource = {"v": ["3", 3, None, {"x": 3}, [3]]}
    assert matches("/v eq 3", resource)
    assert matches('/v eq "3"', resource)
    assert matches("/v gt 3", resource) is False


# --- pointers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('/address/city eq "grenoble"', True),
        ('address/city eq "grenoble"', True),  # the leading '/' is optional
        ('userName eq "alice"', True),
        ('/address/city/ eq "grenoble"', True),  # one trailing '/' is ignored
        ('/address/town eq "grenoble"', False),
        ('/weird%2Fkey eq "slash"', True),  # percent-encoding, not RFC 6901
        ('/weird/key eq "slash"', False),
        ('/~1 eq "tilde"', True),  # '~1' is two ordinary characters
        ('/a%20b eq "space"', True),
        ('// eq "empty"', True),  # the empty key
    ],
)
def test_pointers(text, expected):
    assert matches(text, USER) is expected


def test_pointer_tokens():
    assert parse("/a/b/c pr") == Present(("a", "b", "c"))
    assert parse("a/b pr") == Present(("a", "b"))
    assert parse("/a//b pr") == Present(("a", "", "b"))
    assert parse("/ pr") == Present(())
    assert parse("/caf%C3%A9 pr") == Present(("café",))
    assert parse("/caf%C3%A9 pr").field == "/caf%C3%A9"


def test_root_pointer_tests_the_whole_resource():
    assert matches("/ pr", {})
    assert matches("/ eq 1", {"a": 1}) is False


# --- strings and escapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'/s eq "say \"hi\""', 'say "hi"'),
        (r"/s eq 'it\'s'", "it's"),
        ("/s eq 'say \"hi\"'", 'say "hi"'),
        ('/s eq "it\'s"', "it's"),
        (r'/s eq "back\\slash"', "back\\slash"),
        (r'/s eq "\q"', "q"),  # a backslash makes any character literal
        ('/s eq "  two  spaces  "', "  two  spaces  "),
        ('/s eq "(a) and !b or c"', "(a) and !b or c"),
        ('/s eq ""', ""),
        ('/s eq "ünï©ødé"', "ünï©ødé"),
    ],
)
def test_string_values_and_escapes(text, value):
    parsed = parse(text)
    assert parsed == Comparison(("s",), "eq", value)
    assert parsed.matches({"s": value})
    assert not parsed.matches({"s": value + "x"})


def test_quote_ends_a_bare_token_only_at_its_start():
    assert parse('/a eq "x"and /b pr') == And((eq("a", "x"), Present(("b",))))


# --- literals, precedence, negation ------------------------------------------------------------


def test_true_and_false():
    assert parse("true") is ALWAYS_TRUE
    assert parse("FALSE") is ALWAYS_FALSE
    assert parse("  true  ") is ALWAYS_TRUE
    assert ALWAYS_TRUE.matches({}) and not ALWAYS_FALSE.matches(USER)
    assert parse("true and false").matches({}) is False
    assert parse("false or true").matches({}) is True
    assert parse("!(false)").matches({}) is True


def test_and_binds_tighter_than_or():
    parsed = parse("a eq 1 or b eq 2 and c eq 3")
    assert parsed == Or((eq("a", 1), And((eq("b", 2), eq("c", 3)))))
    assert parsed.matches({"a": 1})
    assert parsed.matches({"b": 2, "c": 3})
    assert not parsed.matches({"b": 2})
    assert not parsed.matches({"c": 3})


def test_parentheses_override_precedence():
    parsed = parse("(a eq 1 or b eq 2) and c eq 3")
    assert parsed == And((Or((eq("a", 1), eq("b", 2))), eq("c", 3)))
    assert not parsed.matches({"a": 1})
    assert parsed.matches({"a": 1, "c": 3})
    assert parsed.matches({"b": 2, "c": 3})


def test_chains_are_flat_and_nesting_is_kept():
    assert parse("a pr and b pr and c pr") == And(
        (Present(("a",)), Present(("b",)), Present(("c",)))
    )
    assert parse("(a pr and b pr) and c pr") == And(
        (And((Present(("a",)), Present(("b",)))), Present(("c",)))
    )
    assert parse("((((a pr))))") == Present(("a",))


def test_not_applies_to_one_primary():
    parsed = parse("! a eq 1 and b eq 2")
    assert parsed == And((Not(eq("a", 1)), eq("b", 2)))
    assert parsed.matches({"a": 0, "b": 2})
    assert not parsed.matches({"a": 1, "b": 2})
    grouped = parse("!(a eq 1 and b eq 2)")
    assert grouped == Not(And((eq("a", 1), eq("b", 2))))
    assert grouped.matches({"a": 1, "b": 0})
    assert not grouped.matches({"a": 1, "b": 2})
    assert parse("!(!(a pr))") == Not(Not(Present(("a",))))
    assert parse("!(!(a pr))").matches({"a": 0})


def test_bang_must_be_a_token_of_its_own():
    # As in IDM, "!/a" is a field name (tokens "!" and "a"), not a negation.
    assert parse("!/a pr") == Present(("!", "a"))
    assert parse("!/a pr").matches({"!": {"a": 1}})


def test_keywords_and_operators_ignore_case():
    parsed = parse("/a EQ 1 AND /b Pr OR /c Sw 'x'")
    assert parsed == Or((And((eq("a", 1), Present(("b",)))), Comparison(("c",), "sw", "x")))


def test_only_spaces_separate_tokens():
    assert parse("(/a eq 1)or(/b eq 2)") == Or((eq("a", 1), eq("b", 2)))
    with pytest.raises(QueryFilterError):
        parse("/a\teq\t1")  # a tab is part of the token, as in IDM


def test_extended_operator_parses_but_never_matches():
    parsed = parse('/userName regex "^A"')
    assert parsed == Comparison(("userName",), "regex", "^A")
    assert parsed.extended
    assert not parsed.matches(USER)
    assert parse('!(/userName regex "^A")').matches(USER)


def test_values_keep_their_type():
    assert parse("/a eq 1") != parse("/a eq 1.0")
    assert parse("/a eq 1") != parse("/a eq true")
    assert parse("/a eq 1") != parse('/a eq "1"')
    assert parse("/a eq +7") == eq("a", 7)
    assert parse("/a eq -0.5e1") == eq("a", -5.0)
    assert parse("/a eq 1.") == eq("a", 1.0)


# --- canonical text ----------------------------------------------------------------------------

ROUND_TRIP = [
    "true",
    "false",
    "/a eq 1",
    "a eq -12",
    "/a eq 1.25",
    "/a eq 1.5e300",
    "/a eq 0.000001",
    "/a eq true",
    "/a EQ False",
    '/a eq ""',
    r'/a eq "q\"uo\\te"',
    "/a eq 'single'",
    "/a co 'x' and /b sw 'y'",
    "/a/b/c gt 3 or /d lt 4",
    "/a pr",
    "/ pr",
    "// pr",
    "/a// pr",
    "/a%2Fb/%25/%20 pr",
    "/caf%C3%A9 eq 'thé'",
    "/~0/~1 pr",
    "/a%28b%29 pr",
    "!(/a pr)",
    "! /a pr",
    "!(!(/a pr))",
    "!(true)",
    "a eq 1 or b eq 2 and c eq 3",
    "(a eq 1 or b eq 2) and c eq 3",
    "(a pr and b pr) and c pr",
    "a pr or (b pr or c pr)",
    "(a pr or b pr) or c pr",
    "!(a pr or b pr) and (c pr and d pr)",
    "(((a pr)))",
    "/a regex 'x.*'",
    "/a ext.op_1 2",
    "and eq 1",
    "/a eq 9223372036854775807",
    "/a eq -9223372036854775808",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip(text):
    parsed = parse(text)
    canonical = str(parsed)
    assert parse(canonical) == parsed
    assert str(parse(canonical)) == canonical


def test_canonical_forms():
    assert str(parse("a   eq   1")) == "/a eq 1"
    assert str(parse("/a EQ 'x'")) == '/a eq "x"'
    assert str(parse("/a ge 1.5e300")) == "/a ge 1.5e+300"
    assert str(parse("/a lt 1.0e20")) == "/a lt 1.0e+20"
    assert str(parse("/a eq TRUE")) == "/a eq true"
    assert str(parse("(a pr) or ((b pr and c pr))")) == "/a pr or /b pr and /c pr"
    assert str(parse("! a pr")) == "!(/a pr)"
    assert str(parse("/x%2fy pr")) == "/x%2Fy pr"


def test_filters_are_hashable_and_immutable():
    assert len({parse("/a eq 1"), parse("a eq 1"), parse("/a eq 1.0")}) == 2
    with pytest.raises(AttributeError):
        parse("/a eq 1").op = "gt"  # type: ignore[misc]
    with pytest.raises(ValueError):
        And((ALWAYS_TRUE,))
    assert Literal(True) == ALWAYS_TRUE


# --- equality() --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('/userName eq "bob"', ("/userName", "bob")),
        ("a/b eq 3", ("/a/b", 3)),
        ("/a eq true", ("/a", True)),
        ('/a eq "x" and /b gt 2', ("/a", "x")),
        ('(/a eq "x" and /c pr) and /b gt 2', ("/a", "x")),
        ('/a%2Fb eq "x"', ("/a%2Fb", "x")),
        ('/b gt 2 and /a eq "x"', None),
        ('/a eq "x" or /b eq "y"', None),
        ('(/a eq "x" or /c pr) and /b pr', None),
        ('!(/a eq "x")', None),
        ('/a co "x"', None),
        ('/a regex "x"', None),
        ("/a pr", None),
        ("true", None),
        ("false", None),
    ],
)
def test_equality(text, expected):
    assert parse(text).equality() == expected


def test_equality_agrees_with_matches():
    parsed = parse('/roles eq "admin" and /age gt 40')
    field, value = parsed.equality()
    assert (field, value) == ("/roles", "admin")
    assert parsed.matches(USER)
    assert not parsed.matches({**USER, "roles": ["user"]})


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("   ", 3),
        ("(", 1),
        ("(/a pr", 6),  # unbalanced: missing ')'
        ("((/a pr)", 8),
        ("/a pr)", 5),  # unbalanced: extra ')'
        (")", 0),
        ("()", 1),
        ("/a", 2),  # no operator
        ("/a eq", 5),  # no value
        ("/a == 1", 3),  # unknown operator
        ("/a =~ 'x'", 3),
        ("/a eq 'x", 6),  # unterminated string
        ('/a eq "x', 6),
        ('/a eq "x\\"', 6),  # the escaped quote does not close it
        ('/a eq "x\\', 8),  # ends with an escape character
        ("/a pr junk", 6),  # trailing garbage
        ("/a eq 1 /b eq 2", 8),
        ("true false", 5),
        ("/a eq 1 and", 11),
        ("/a eq 1 or or /b pr", 14),  # the second "or" reads as a field, so '/b' is its operator
        ("!", 1),
        ("/a eq null", 6),  # no null literal
        ("/a eq abc", 6),
        ("/a eq 1e5", 6),  # an exponent needs a '.'
        ("/a eq 1.5e999", 6),  # not a finite double
        ("/a eq 9223372036854775808", 6),  # beyond a long
        ("/a eq (1)", 6),
        ("'a' eq 1", 0),  # a field is never quoted
        ('"a" eq 1', 0),
        ("/a 'eq' 1", 3),
        ("/a%2 pr", 0),  # malformed percent escape
        ("/a%zz pr", 0),
    ],
)
def test_errors(text, position):
    with pytest.raises(QueryFilterError) as info:
        parse(text)
    assert info.value.position == position
    assert info.value.text == text
    assert f"offset {position}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_messages_say_what_is_wrong():
    with pytest.raises(QueryFilterError, match="'==' is not a valid filter operator"):
        parse("/a == 1")
    with pytest.raises(QueryFilterError, match="unterminated string"):
        parse('/a eq "x')
    with pytest.raises(QueryFilterError, match="expected '\\)' to close the '\\(' at offset 0"):
        parse("(/a pr")
    with pytest.raises(QueryFilterError, match="after a complete filter"):
        parse("/a pr junk")


def test_nesting_depth_is_limited():
    assert parse("(" * 60 + "/a pr" + ")" * 60) == Present(("a",))
    with pytest.raises(QueryFilterError, match="nested too deeply"):
        parse("(" * 100 + "/a pr" + ")" * 100)
    with pytest.raises(QueryFilterError, match="nested too deeply"):
        parse("!(" * 100 + "/a pr" + ")" * 100)


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]
