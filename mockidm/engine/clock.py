"""Time and identifiers: the two things a test wants to control."""

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time that a test can freeze and move forward."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    @property
    def frozen(self) -> datetime | None:
        """The time it is frozen at, or None while it runs."""
        return self._frozen

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen = (at or datetime.now(UTC)).astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._frozen = self.now() + delta

    def unfreeze(self) -> None:
        self._frozen = None


class IdGenerator:
    """One global counter for every id, rendered as strings, as the engine's DbIdGenerator does."""

    def __init__(self, start: int = 1) -> None:
        self.next_value = start

    def next(self) -> str:
        value = self.next_value
        self.next_value += 1
        return str(value)
