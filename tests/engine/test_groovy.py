"""The Groovy evaluator, construct by construct (docs/scripts.md lists them), with scripts of
our own shaped like the ones in public IDM workflows, and its sandbox."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mockidm.engine.groovy import GroovyError, Refused, compile_script
from mockidm.idm_objects import IdentityServer

NOW = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def run(source: str, auto_store: bool = True, steps: int = 100_000, **variables: Any
        ) -> dict[str, Any]:
    """Run a script; the process variables after it (with autoStoreVariables, every
    assignment to an undeclared name), and `_value` its value."""
    script = compile_script(source)
    assert script.problems == (), script.problems
    store = variables.__setitem__ if auto_store else None
    value, own = script.run(engine={}, variables=lambda: variables, store=store,
                            now=lambda: NOW, steps=steps)
    return {**variables, **({} if auto_store else own), "_value": value}


def fails(source: str, **variables: Any) -> GroovyError:
    with pytest.raises(GroovyError) as raised:
        run(source, **variables)
    return raised.value


# names and values ---------------------------------------------------------------------------


def test_def_is_a_local_and_a_bare_assignment_goes_to_the_binding() -> None:
    found = run("def local = 'x'\nstored = local + 'y'")
    assert found["stored"] == "xy" and "local" not in found


def test_without_auto_store_the_binding_stays_the_scripts() -> None:
    found = run("user = [name: 'ada']\nname = user.name", auto_store=False)
    assert found["name"] == "ada"


def test_process_variables_are_read_before_the_scripts_own_binding() -> None:
    # Activiti's ScriptBindings asks the variable scope first.
    assert run("decision = 'mine'\nresult = decision", auto_store=False,
               decision="theirs")["result"] == "theirs"


def test_an_unknown_name_is_groovys_missing_property() -> None:
    error = fails("x = 1\ny = nowhere")
    assert str(error) == ("groovy.lang.MissingPropertyException: No such property: nowhere "
                          "for class: Script1")
    assert error.line == 2


def test_literals() -> None:
    found = run("""
        a = 'single'; b = "double"; n = 41 + 1; f = 1.5; t = true; z = null
        l = [1, 'two', [3]]; m = [:]; k = [name: 'x', 'quoted key': 2, (a): 3]
        multi = '''one
two'''
        slashy = /a\\/b/
    """)
    assert (found["a"], found["b"], found["n"], found["f"], found["t"], found["z"]) == (
        "single", "double", 42, 1.5, True, None)
    assert found["l"] == [1, "two", [3]] and found["m"] == {}
    assert found["k"] == {"name": "x", "quoted key": 2, "single": 3}
    assert found["multi"] == "one\ntwo" and found["slashy"] == "a/b"


def test_gstrings_interpolate_and_escape() -> None:
    found = run('who = [name: "Ada"]; n = 2\ns = "Hi ${who.name}, $n new\\t${n + 1}"\n'
                "plain = 'no ${interpolation}'", )
    assert found["s"] == "Hi Ada, 2 new\t3"
    assert found["plain"] == "no ${interpolation}"


def test_groovy_prints_lists_maps_and_null_its_way() -> None:
    found = run("s = 'v: ' + [1, 'a'] + ' ' + [k: null] + ' ' + null + ' ' + [:]")
    assert found["s"] == "v: [1, a] [k:null] null [:]"


# control flow ---------------------------------------------------------------------------------


def test_if_else_if_else_with_groovy_truth() -> None:
    script = """
        if (!items) { kind = 'none' }
        else if (items.size() == 1) { kind = 'one' }
        else { kind = 'many' }
    """
    assert run(script, items=[])["kind"] == "none"
    assert run(script, items=None)["kind"] == "none"
    assert run(script, items=["a"])["kind"] == "one"
    assert run(script, items=["a", "b"])["kind"] == "many"


def test_for_in_over_lists_maps_and_a_spread_property() -> None:
    found = run("""
        ids = []
        for (m in result.result._id) { ids.add(m) }
        pairs = []
        for (e in [a: 1, b: 2]) { pairs << e.key + '=' + e.value }
        for (x in null) { ids.add('never') }
    """, result={"result": [{"_id": "u1"}, {"_id": "u2"}]})
    assert found["ids"] == ["u1", "u2"] and found["pairs"] == ["a=1", "b=2"]


def test_classic_for_while_break_and_continue() -> None:
    found = run("""
        total = 0
        for (int i = 0; i < 10; i++) { if (i % 2) continue; total += i }
        n = 0
        while (true) { n++; if (n == 3) break }
    """)
    assert found["total"] == 20 and found["n"] == 3


def test_switch_matches_values_lists_and_falls_through() -> None:
    script = """
        switch (choice) {
            case 'approve': outcome = 'yes'; break
            case ['reject', 'deny']: outcome = 'no'; break
            case 'later':
            case 'wait': outcome = 'waiting'; break
            default: outcome = 'unknown'
        }
    """
    assert [run(script, choice=c)["outcome"] for c in ("approve", "deny", "later", "x")] == [
        "yes", "no", "waiting", "unknown"]


def test_try_catch_finally_and_throw() -> None:
    found = run("""
        log = []
        try {
            log << 'try'
            throw new IllegalStateException('broken')
        } catch (IllegalArgumentException e) {
            log << 'wrong catch'
        } catch (Exception e) {
            log << 'caught ' + e.message
        } finally {
            log << 'finally'
        }
    """)
    assert found["log"] == ["try", "caught broken", "finally"]


def test_a_throw_that_nobody_catches_fails_with_its_class_and_message() -> None:
    error = fails("if (true) {\n  throw new Exception('no manager for ' + who)\n}", who="ada")
    assert str(error) == "java.lang.Exception: no manager for ada" and error.line == 2


def test_a_groovy_error_can_be_caught_by_the_script() -> None:
    found = run("try { n = Integer.parseInt('x1') } catch (NumberFormatException e) {"
                " n = -1; why = e.message }")
    assert found["n"] == -1 and found["why"] == 'For input string: "x1"'


# closures and collections ------------------------------------------------------------------


def test_closures_with_it_and_named_parameters() -> None:
    found = run("""
        users = [[_id: 'a', active: true], [_id: 'b', active: false], [_id: 'c', active: true]]
        ids = users.findAll { it.active }.collect { u -> u._id }
        first = users.find { it._id > 'a' }?._id
        anyOff = users.any { !it.active }
        allOn = users.every { it.active }
        joined = ids.join(',')
        count = users.count { it.active }
        total = [1, 2, 3].inject(0) { sum, n -> sum + n }
        byState = users.groupBy { it.active }.collectEntries { k, v -> [(k.toString()): v.size()] }
        seen = []
        users.eachWithIndex { u, i -> seen << "$i:${u._id}" }
    """)
    assert found["ids"] == ["a", "c"] and found["first"] == "b"
    assert (found["anyOff"], found["allOn"], found["joined"]) == (True, False, "a,c")
    assert (found["count"], found["total"]) == (2, 6)
    assert found["byState"] == {"true": 2, "false": 1}
    assert found["seen"] == ["0:a", "1:b", "2:c"]


def test_a_nested_closure_sees_the_outer_it_and_return_leaves_the_closure() -> None:
    # The shape of certificationRoles: find inside each, comparing with the outer `it`.
    found = run("""
        roles = [[rid: 'managed/role/a', on: false], [rid: 'managed/role/b', on: false]]
        granted.each {
            role = roles.find { e -> e.rid.equals(it._ref) }
            if (role != null) { role.on = true }
        }
        firstOther = names.find {
            if (it != 'superadmin') { return true }
            return false
        }
    """, granted=[{"_ref": "managed/role/b"}], names=["superadmin", "jdoe"])
    assert [r["on"] for r in found["roles"]] == [False, True]
    assert found["firstOther"] == "jdoe"


def test_a_closure_after_a_call_on_the_same_line_is_its_argument() -> None:
    found = run("seen = []\nl = [3, 1, 2]\nl.sort().each { seen << it * 10 }\n"
                "names = ['b', 'a'].collect { it.toUpperCase() }.sort().join('')")
    assert found["seen"] == [10, 20, 30] and found["names"] == "AB"


def test_maps_as_objects() -> None:
    found = run("""
        m = new java.util.HashMap()
        m.put('a', 1); m['b'] = 2; m.c = 3
        keys = m.keySet().join(''); has = m.containsKey('b'); missing = m.nope
        m2 = 0
        m.each { k, v -> m2 += v }
        copy = [:] + m
        copy.remove('a')
    """)
    assert found["keys"] == "abc" and found["has"] is True and found["missing"] is None
    assert found["m2"] == 6 and found["copy"] == {"b": 2, "c": 3}


def test_lists_as_groovy_has_them() -> None:
    found = run("""
        l = new ArrayList(); l.add('x'); l.push('y'); l << 'z'
        last = l[-1]; past = l[9]; l[4] = 'w'
        has = 'y' in l; hasNot = 'q' !in l
        names = [[n: 'a'], [n: 'b']].n; firstOfEach = [[1, 2], [3]]*.get(0)
        plus = [1] + [2] + 3; minus = [1, 2, 2, 3] - [2]
    """)
    assert found["l"] == ["x", "y", "z", None, "w"] and found["last"] == "z"
    assert found["past"] is None and found["has"] is True and found["hasNot"] is True
    # A property of a list is each element's (MetaClassImpl.getProperty on a Collection).
    assert found["names"] == ["a", "b"] and found["firstOfEach"] == [1, 3]
    assert found["plus"] == [1, 2, 3] and found["minus"] == [1, 3]


def test_size_as_a_property_of_a_list_of_strings_fails_as_in_groovy() -> None:
    error = fails("if (candidates.size > 1) { x = 1 }", candidates=["a", "b"])
    assert str(error) == ("groovy.lang.MissingPropertyException: No such property: size for "
                          "class: java.lang.String")


# operators -------------------------------------------------------------------------------------


def test_safe_navigation_elvis_and_ternary() -> None:
    found = run("""
        a = user?.manager?._ref
        b = user?.name ?: 'anonymous'
        c = nobody?.name ?: 'anonymous'
        d = user.name ? 'named' : 'unnamed'
        e = list?.size()
    """, user={"name": "ada", "manager": None}, nobody=None, list=None)
    assert (found["a"], found["b"], found["c"], found["d"], found["e"]) == (
        None, "ada", "anonymous", "named", None)


def test_null_dereference_is_groovys_npe() -> None:
    error = fails("x = user.manager._ref", user={"manager": None})
    assert str(error) == ("java.lang.NullPointerException: Cannot get property '_ref' on "
                          "null object")
    assert str(fails("x = nothing.size()", nothing=None)) == (
        "java.lang.NullPointerException: Cannot invoke method size() on null object")


def test_double_equals_as_groovy_means_it() -> None:
    found = run("""
        a = (1 == 1.0); b = ('x' == "x"); c = ([1, [2]] == [1, [2]]); d = (null == null)
        e = (true == 1); f = ([a: 1] == [a: 1]); g = ('1' == 1); h = (flag == 'true')
    """, flag="true")
    assert [found[k] for k in "abcdefgh"] == [True, True, True, True, False, True, False, True]


def test_arithmetic_assignment_operators_and_increments() -> None:
    found = run("n = 5; n += 2; n -= 1; n *= 3; m = n++; k = ++n; q = 7 / 2; r = 8 / 2; "
                "s = 'ab' * 2; t = 2 ** 10; u = -n; v = 7 % 3")
    assert (found["n"], found["m"], found["k"]) == (20, 18, 20)
    assert (found["q"], found["r"], found["s"], found["t"], found["u"], found["v"]) == (
        3.5, 4, "abab", 1024, -20, 1)


def test_as_instanceof_and_comparisons() -> None:
    found = run("a = 5 as String; b = '12' as Integer; c = [1] instanceof List; "
                "d = 'x' instanceof Map; e = 'b' > 'a'; f = 2 <=> 3")
    assert (found["a"], found["b"], found["c"], found["d"], found["e"], found["f"]) == (
        "5", 12, True, False, True, -1)


def test_comparing_a_string_with_a_number_fails_as_in_groovy() -> None:
    assert "Cannot compare java.lang.String with value 'a'" in str(fails("x = 'a' < 1"))


# strings ---------------------------------------------------------------------------------------


def test_string_methods() -> None:
    found = run("""
        s = '  Ada.Lovelace@Example.com '
        t = s.trim(); low = t.toLowerCase(); up = t.toUpperCase()
        parts = t.split('@'); user = parts[0].tokenize('.')
        starts = t.startsWith('Ada'); ends = t.endsWith('.com'); has = t.contains('@')
        sub = t.substring(0, 3); idx = t.indexOf('@'); rep = t.replace('.', '_')
        rx = t.replaceAll(/[aeiou]/, '*'); same = 'abc'.equalsIgnoreCase('ABC')
        len = t.length(); size = t.size(); n = '42'.toInteger(); empty = ''.isEmpty()
        ref = 'managed/user/ada'.tokenize('/').last()
    """)
    assert found["t"] == "Ada.Lovelace@Example.com" and found["low"].islower()
    assert found["up"].isupper() and found["parts"] == ["Ada.Lovelace", "Example.com"]
    assert found["user"] == ["Ada", "Lovelace"]
    assert (found["starts"], found["ends"], found["has"]) == (True, True, True)
    assert (found["sub"], found["idx"]) == ("Ada", 12)
    assert found["rep"] == "Ada_Lovelace@Example_com" and found["rx"] == "Ad*.L*v*l*c*@Ex*mpl*.c*m"
    assert (found["same"], found["len"], found["size"], found["n"], found["empty"]) == (
        True, 24, 24, 42, True)
    assert found["ref"] == "ada"


# Java classes ------------------------------------------------------------------------------------


def test_dates_and_their_formats() -> None:
    found = run("""
        java.text.SimpleDateFormat iso = new java.text.SimpleDateFormat(
            "yyyy-MM-dd'T'HH:mm:ss.S'Z'")
        iso.setTimeZone(TimeZone.getTimeZone("UTC"))
        now = iso.format(new Date())
        day = new java.text.SimpleDateFormat('yyyy-MM-dd')
        day.setTimeZone(TimeZone.getTimeZone('UTC'))
        start = iso.format(day.parse('2024-12-31'))
        millis = new Date().getTime()
    """)
    assert found["now"] == "2024-05-06T07:08:09.123Z"
    assert found["start"] == "2024-12-31T00:00:00.0Z"
    assert found["millis"] == int(NOW.timestamp() * 1000)


def test_uuid_numbers_booleans_and_string_builders() -> None:
    found = run("""
        id = java.util.UUID.randomUUID().toString()
        n = Integer.parseInt('12') + Integer.valueOf('3')
        b1 = new Boolean('TRUE'); b2 = new Boolean(flag); b3 = Boolean.parseBoolean('no')
        sb = new StringBuilder(); sb.append('a').append(1); text = sb.toString()
        big = Math.max(3, 9)
    """, flag=False)
    assert len(found["id"]) == 36 and found["id"].count("-") == 4
    assert (found["n"], found["b1"], found["b2"], found["b3"]) == (15, True, False, False)
    assert (found["text"], found["big"]) == ("a1", 9)


def test_imports_of_known_classes() -> None:
    found = run("import java.text.SimpleDateFormat\nimport java.util.*\n"
                "f = new SimpleDateFormat('yyyy').format(new Date())")
    assert found["f"] == "2024"


def test_println_and_a_command_call_with_a_dotted_argument() -> None:
    lines: list[str] = []
    script = compile_script("def e = [message: 'hi']\nprintln e.message\nprintln 'two'")
    script.run(engine={}, variables=dict, log=lines.append)
    assert lines == ["hi", "two"]


def test_the_script_value_is_its_last_statement() -> None:
    assert run("x = 1\nresult", result="approve")["_value"] == "approve"
    assert run("return 'early'\nx = 1")["_value"] == "early"


# what is not run, said at compile -----------------------------------------------------------------


def test_constructs_outside_the_subset_are_named_with_their_line() -> None:
    script = compile_script("x = 1\nclass Helper { }\ndef (a, b) = [1, 2]\ny = x.&toString")
    assert [(p.line, p.construct.split(' `')[0]) for p in script.problems] == [
        (2, "a class declaration"), (3, "multiple assignment"),
        (4, "method pointer expression")]
    with pytest.raises(GroovyError, match="mockidm cannot run this Groovy construct") as raised:
        script.run(engine={}, variables=dict)
    assert raised.value.line == 2


def test_a_syntax_error_is_named_with_its_line() -> None:
    script = compile_script("x = 1\ny = (2 +\nz = 3")
    assert script.problems and script.problems[0].line in (2, 3)
    assert "syntax" in script.problems[0].construct


# the sandbox -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "new File('/etc/passwd').text",
    "x = new java.io.File('/tmp/x')",
    "'ls -l'.execute()",
    "Runtime.getRuntime().exec('ls')",
    "new ProcessBuilder('ls').start()",
    "Class.forName('java.lang.Runtime')",
    "x = 'a'.getClass()",
    "x = 'a'.class",
    "x = [:].metaClass",
    "System.exit(0)",
    "System.getenv('HOME')",
    "System.getProperty('user.home')",
    "Eval.me('1 + 1')",
    "new GroovyShell().evaluate('1')",
    "import java.nio.file.Files\nFiles.readAllLines(null)",
    "x = 'a'.invokeMethod('toString', null)",
    "evaluate('1')",
])
def test_the_host_is_out_of_reach(source: str) -> None:
    with pytest.raises(Refused) as raised:
        compile_script(source).run(engine={}, variables=dict)
    assert raised.value.exception == "java.lang.SecurityException"
    assert "mockidm refuses" in raised.value.message


def test_a_refusal_cannot_be_caught_by_the_script() -> None:
    with pytest.raises(Refused):
        compile_script("try { 'ls'.execute() } catch (Throwable t) { x = 1 }").run(
            engine={}, variables=dict)


def test_python_inside_the_values_is_out_of_reach() -> None:
    for source in ("x = 'a'.__class__", "x = [:].__init__()", "x = server.values",
                   "x = server.methods()", "x = server.__dict__", "x = 'a'.__len__()"):
        with pytest.raises(GroovyError):
            compile_script(source).run(engine={"server": IdentityServer()}, variables=dict)


def test_an_endless_loop_stops_at_the_step_budget() -> None:
    with pytest.raises(GroovyError) as raised:
        compile_script("n = 0\nwhile (true) { n++ }").run(engine={}, variables=dict,
                                                           steps=10_000)
    assert raised.value.exception == "mockidm.StepBudgetExceeded"
    assert "after 10000 steps" in raised.value.message and raised.value.line == 2


def test_the_budget_cannot_be_caught_and_counts_closure_calls() -> None:
    for source in ("try { while (true) {} } catch (Throwable t) { }",
                   "(1..1000000).each { x = it }"):
        with pytest.raises(GroovyError, match="steps"):
            compile_script(source).run(engine={}, variables=dict, steps=5_000)


@pytest.mark.parametrize("source", [
    "s = 'ab'\nwhile (true) { s = s + s }",
    "l = [1]\nwhile (true) { l.addAll(l) }",
    "b = new StringBuilder('ab')\nwhile (true) { b.append(b.toString()) }",
    "x = 'b' * 100000000",
    "x = 2 ** 100000 ** 10",
    "x = 'a'.padLeft(100000000)",
])
def test_a_script_cannot_exhaust_the_mocks_memory(source: str) -> None:
    with pytest.raises(GroovyError) as raised:
        compile_script(source).run(engine={}, variables=dict)
    assert "mockidm refuses" in raised.value.message


def test_an_unexpected_value_fails_the_script_not_the_mock() -> None:
    for source in ("x = [1]; x[-5] = 2", "x = 'abc'.charAt(10)", "x = UUID.fromString('z')",
                   "x = 'abc'.replaceAll('(', 'x')", "x = ['a'].join(null)"):
        with pytest.raises(GroovyError):
            compile_script(source).run(engine={}, variables=dict)


def test_deep_recursion_is_a_stack_overflow_not_a_crash() -> None:
    script = compile_script("def f\nf = { n -> f(n + 1) }\nf(0)")
    with pytest.raises(GroovyError) as raised:
        script.run(engine={}, variables=dict, steps=10**9)
    assert raised.value.exception in ("java.lang.StackOverflowError",
                                      "mockidm.StepBudgetExceeded")


def test_classes_the_mock_refuses_or_does_not_know_are_named_at_compile() -> None:
    script = compile_script("import java.util.*\nimport org.slf4j.LoggerFactory\n"
                            "x = new java.io.File('/etc/passwd')\n"
                            "y = new groovy.json.JsonBuilder([a: 1])\nz = new HashMap()")
    assert [str(p) for p in script.problems] == [
        "line 2: the class org.slf4j.LoggerFactory, which mockidm's Groovy does not know",
        "line 3: the class java.io.File, which mockidm refuses",
        "line 4: the class groovy.json.JsonBuilder, which mockidm's Groovy does not know"]
