"""What a rule can end as: passed, failed, skipped, or an error of the kit or the network; and
how its messages show what a server said."""

from __future__ import annotations

from dataclasses import dataclass

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


class Skip(Exception):
    """The rule cannot run against this server; the message says why."""


class RuleFailed(AssertionError):
    """The server broke the rule; the message says what was expected, what came, and how to
    reproduce it."""


@dataclass(frozen=True)
class Result:
    rule_id: str
    status: str  # PASSED, FAILED, SKIPPED or ERROR
    message: str = ""  # why it failed or was skipped; a note when it passed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Passed or skipped: nothing the server did wrong."""
        return self.status in (PASSED, SKIPPED)


def clip(text: str, limit: int = 300) -> str:
    """`text` cut to `limit` characters for a message, saying how long it was."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
