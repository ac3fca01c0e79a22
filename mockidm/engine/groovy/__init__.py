"""Groovy for IDM workflow scripts: the subset real public IDM workflows use, run by the mock
itself, safe by construction (no files, processes, arbitrary classes or reflection; a step
budget). docs/scripts.md lists the subset, how often each construct occurs in public IDM
workflows and whether it runs.

Parsing is tree-sitter's, with the dekobon-tree-sitter-groovy grammar: of the candidates
tried on real IDM scripts it was the only one that parses them all, in well under a
millisecond each (the Lark-based groovy-parser took seconds per script and mis-parses
trailing closures; amaanq's tree-sitter-groovy fails on `?.`; tree-sitter-language-pack
downloads its grammars at run time). The tree is evaluated here (`evaluator.py`), never
handed to a JVM.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from .classes import NOW, classes, refuse_class
from .evaluator import Bindings, Budget, Evaluator
from .syntax import Node, Problem, parse
from .values import GroovyError, Refused

_log = logging.getLogger("mockidm")

__all__ = ["DEFAULT_STEPS", "GroovyError", "Problem", "Refused", "Script", "compile_script"]

# Enough for any real IDM script (the longest public one takes a few hundred steps) and
# small enough that an endless loop stops in well under a second.
DEFAULT_STEPS = 100_000


@dataclass(frozen=True, eq=False)
class Script:
    """A parsed script; `problems` are the constructs it uses that the mock cannot run (a
    script with problems still runs up to the first of them)."""

    source: str
    body: Node
    problems: tuple[Problem, ...]

    def run(self, *, engine: Mapping[str, Any], variables: Callable[[], Mapping[str, Any]],
            store: Callable[[str, Any], None] | None = None,
            now: Callable[[], datetime] | None = None, steps: int = DEFAULT_STEPS,
            log: Callable[[str], None] | None = None) -> tuple[Any, dict[str, Any]]:
        """Run it: `engine` names the engine's objects (`execution`, `openidm`, ...),
        `variables` reads the process variables, `store` (autoStoreVariables) receives each
        assignment to a name the script did not declare. Returns the script's value and its
        own binding (what it assigned without storing). Raises GroovyError."""
        bindings = Bindings(engine, variables, store)
        evaluator = Evaluator(bindings, classes(), Budget(steps), log or (lambda _text: None))
        clock = NOW.set(now or _utc_now)
        try:
            value = evaluator.run(self.body)
        except RecursionError:
            raise GroovyError("the script nests too deeply", "java.lang.StackOverflowError"
                              ) from None
        except re.error as error:
            raise GroovyError(f"{error}", "java.util.regex.PatternSyntaxException") from None
        except GroovyError:
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as error:
            # A value the mock's Groovy did not expect: Groovy would have thrown too, with
            # its own message; say it with Python's, loudly, rather than crash the request.
            _log.warning("a script failed inside mockidm's Groovy", exc_info=True)
            raise GroovyError(f"{type(error).__name__}: {error} (mockidm's Groovy has no "
                              "message of Groovy's own for this)", "mockidm.ScriptError"
                              ) from None
        finally:
            NOW.reset(clock)
        return value, bindings.own


def _utc_now() -> datetime:
    from datetime import UTC
    return datetime.now(UTC)


@lru_cache(maxsize=512)
def compile_script(source: str) -> Script:
    """Parse a script once (cached: a deployed script is compiled at deploy and found
    again when it runs). Its problems: what the grammar or the evaluator cannot take, and the
    classes it creates or imports that the mock does not know or refuses."""
    parsed = parse(source)
    problems = [*parsed.problems, *_class_problems(parsed.body)]
    problems.sort(key=lambda p: p.line)
    return Script(source, parsed.body, tuple(problems))


def _class_problems(body: Node) -> list[Problem]:
    known = classes()
    imported: dict[str, str] = {}
    found: list[Problem] = []
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, Node):
            continue
        stack.extend(node.kids)
        if node.kind not in ("new", "import"):
            continue
        name = node.text.strip()
        if node.kind == "import":
            if name.endswith(".*"):
                continue
            imported[name.rsplit(".", 1)[-1]] = name
        full = imported.get(name, name)
        try:
            refuse_class(full)
        except Refused:
            found.append(Problem(node.line, f"the class {full}, which mockidm refuses"))
            continue
        if full not in known:
            found.append(Problem(node.line, f"the class {full}, which mockidm's Groovy "
                                            "does not know"))
    return found
