"""Script tasks and script listeners, run by the mock's Groovy evaluator (engine/groovy).

What a script sees (ScriptBindings in Activiti): `execution` (and `task` in a task listener),
the process variables, the objects the host gives scripts (IDM's `openidm`, through
`Interpreter.script_objects`), and `logger`. What a script task stores: with
`activiti:autoStoreVariables="true"` every assignment to an undeclared name is a process
variable at once; `activiti:resultVariable` receives the script's value.

A script is compiled at deploy: a construct the evaluator does not run is named there (a
warning on the `mockidm` logger with the file, line and construct, and an entry in
`problems`). When a test declared what a script sets (`set_outputs`), the declaration stands
in for the script, which does not run. Otherwise the script runs; a failure fails the command
as a broken script fails it in IDM (a 500 with the message; the instance's changes undone).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from .errors import EngineError
from .groovy import GroovyError, compile_script
from .groovy.values import JavaObject, to_string
from .model import ProcessInstance, ProcessModel, ScriptText

_log = logging.getLogger("mockidm")
_script_log = logging.getLogger("mockidm.script")


class ScriptFailed(EngineError):
    """A script failed: the message is the engine's ("problem evaluating script: ...") with
    where the mock saw it fail."""


class Logger(JavaObject):
    """`logger` in a script: SLF4J's methods, `{}` placeholders filled in; the lines go to
    the `mockidm.script` logger."""

    java_class = "org.slf4j.Logger"

    def methods(self) -> dict[str, Callable[..., Any]]:
        def level(number: int) -> Callable[..., None]:
            def log(message: Any = None, *arguments: Any) -> None:
                text = to_string(message)
                for argument in arguments:
                    text = text.replace("{}", to_string(argument), 1)
                _script_log.log(number, "%s", text)
            return log

        found: dict[str, Callable[..., Any]] = {name: level(number) for name, number in (
            ("trace", 5), ("debug", logging.DEBUG), ("info", logging.INFO),
            ("warn", logging.WARNING), ("error", logging.ERROR))}
        for name in ("Trace", "Debug", "Info", "Warn", "Error"):
            found[f"is{name}Enabled"] = lambda: True
        return found


LOGGER = Logger()


class Scripting:
    """Compiles scripts at deploy and runs them; keeps what the mock could not run."""

    def __init__(self) -> None:
        # (process key, element) -> what a test should hear about a script the mock cannot
        # run, said at deploy.
        self.problems: dict[tuple[str, str], str] = {}

    def deployed(self, model: ProcessModel) -> None:
        """Compile each script of a model; name what the evaluator cannot run."""
        where = model.resource_name or model.key
        scripts: list[tuple[str, ScriptText]] = []
        listeners = [(model.key, x) for x in model.listeners]
        listeners += [(flow.id, x) for flow in model.flows for x in flow.listeners]
        for node in model.nodes.values():
            if node.script is not None:
                scripts.append((node.id, node.script))
            listeners += [(node.id, x) for x in (*node.task_listeners, *node.execution_listeners)]
        scripts += [(f"{element}:{x.event}", x.script) for element, x in listeners
                    if x.script is not None]
        for element, script in scripts:
            message = self._problem(script, where, element)
            if message is not None:
                if (model.key, element) not in self.problems:
                    _log.warning("%s", message)
                self.problems[(model.key, element)] = message

    @staticmethod
    def _problem(script: ScriptText, where: str, element: str) -> str | None:
        if (script.language or "groovy").lower() != "groovy":
            return (f"{where}, line {script.line}: the {script.language} script of "
                    f"'{element}' cannot run in mockidm (it runs Groovy only); declare what it "
                    f"sets with set_outputs('{element}', {{...}})")
        compiled = compile_script(script.text)
        if not compiled.problems:
            return None
        first = compiled.problems[0]
        line = _file_line(script, first.line)
        more = f" (and {len(compiled.problems) - 1} more)" if len(compiled.problems) > 1 else ""
        return (f"{where}, line {line}: the script of '{element}' uses {first.construct}, "
                f"which mockidm's Groovy does not run{more}; it fails when reached unless "
                f"the test declares what it sets with set_outputs('{element}', {{...}})")

    def run(self, script: ScriptText, instance: ProcessInstance, activity_id: str,
            engine: Mapping[str, Any], store: Callable[[str, Any], None] | None,
            now: Callable[[], Any],
            variables: Callable[[], Mapping[str, Any]] | None = None) -> Any:
        """Run one script; returns its value. Raises ScriptFailed."""
        if (script.language or "groovy").lower() != "groovy":
            raise ScriptFailed(f"Can't find scripting engine for '{script.language}' "
                               f"(mockidm runs Groovy only; activity '{activity_id}')")
        compiled = compile_script(script.text)
        try:
            value, _own = compiled.run(
                engine={**engine, "logger": LOGGER},
                variables=variables or (lambda: instance.variables),
                store=store, now=now, log=lambda text: _script_log.info("%s", text))
        except GroovyError as error:
            line = _file_line(script, error.line)
            raise ScriptFailed(
                f"problem evaluating script: javax.script.ScriptException: {error} "
                f"[mockidm: script of activity "
                f"'{activity_id}', line {error.line or '?'} of the script"
                f"{'' if line is None else f', line {line} of the BPMN file'}]") from None
        return value


def _file_line(script: ScriptText, line: int | None) -> int | None:
    if script.line is None or line is None:
        return line
    return script.line + line - 1
