"""When a timer falls due: Flowable's business calendars for the three timer kinds.

A timer's text is evaluated when the timer is created (TimerUtil.createTimerEntity...): the
value it gives is read as

* `timeDate` (DueDateBusinessCalendar): an ISO 8601 date-time (no offset: UTC, the mock's
  clock is UTC), or a period from now when it starts with `P`;
* `timeDuration` (DurationBusinessCalendar): an ISO 8601 period from now (`PT72H`);
* `timeCycle` (CycleBusinessCalendar): an ISO 8601 repeating interval, `R3/PT10M` (three
  firings, ten minutes apart), `R/PT1H` (no end), or `R2/<start>/PT1H` (the first firing at
  the start, or the first repetition after now). Cron expressions are not evaluated: they
  are refused loudly when the timer is created.

A value that is a date-time object (a variable holding one) is the due date itself. Anything
else fails the command that creates the timer: "couldn't resolve duedate: ..." (the rest of
the message is the mock's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .business_calendar import add_period, resolve_due_date
from .errors import EngineError
from .model import TIME_CYCLE, TIME_DATE, TIME_DURATION

# R<n>/[<start>/]<period>: n empty means no end.
_CYCLE = re.compile(r"R(?P<times>\d*)/(?:(?P<start>[^/P][^/]*)/)?(?P<period>P[^/]*)")


def first_due(kind: str, value: Any, now: datetime) -> tuple[datetime, str | None]:
    """The first due date of a timer whose text gave `value`, and, for a cycle with more
    firings to come, the cycle that the following firings keep (see `next_due`)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC), None
    if not isinstance(value, str):
        raise EngineError(f"couldn't resolve duedate: the {kind} gave {value!r}, not a text")
    text = value.strip()
    if kind == TIME_DATE:
        return resolve_due_date(text, now), None
    if kind == TIME_DURATION:
        if not text.startswith("P"):
            if text.startswith("R"):  # DurationHelper reads a cycle here too: its first date
                return _cycle(text, now)[0], None
            raise EngineError(f"couldn't resolve duedate: \"{text}\" is not an ISO 8601 "
                              "duration (PT10M, P3D)")
        return _plus(now, text), None
    assert kind == TIME_CYCLE, kind
    return _cycle(text, now)


def next_due(cycle: str, previous: datetime) -> tuple[datetime, str | None]:
    """The firing after one due at `previous`, for a job that keeps `cycle` (`R<n>/<period>`:
    n more firings; `R/<period>`: no end), and the cycle the one after keeps."""
    match = _CYCLE.fullmatch(cycle)
    assert match is not None and match["start"] is None, cycle
    return _plus(previous, match["period"]), _remaining(match["times"], match["period"])


def _cycle(text: str, now: datetime) -> tuple[datetime, str | None]:
    match = _CYCLE.fullmatch(text)
    if match is None:
        problem = ("mockidm does not evaluate cron expressions in a timeCycle"
                   if not text.startswith("R") else "not an ISO 8601 repeating interval")
        raise EngineError(f"couldn't resolve duedate: \"{text}\": {problem} (R3/PT10M, "
                          "R/PT1H, R2/2026-01-01T09:00:00Z/P1D)")
    period = match["period"]
    if _plus(now, period) <= now:
        raise EngineError(f"couldn't resolve duedate: \"{text}\": a cycle's period must be "
                          "longer than zero")
    times = match["times"]
    if times == "0":
        raise EngineError(f"couldn't resolve duedate: \"{text}\" repeats no time")
    due = now if match["start"] is None else None
    if due is None:
        due = resolve_due_date(match["start"], now)
        # The first repetition at or after now (DurationHelper.getDateAfter).
        left = int(times) if times else None
        while due < now and (left is None or left > 1):
            due = _plus(due, period)
            left = None if left is None else left - 1
        times = "" if left is None else str(left)
        return due, _remaining(times, period)
    return _plus(now, period), _remaining(times, period)


def _remaining(times: str, period: str) -> str | None:
    """The cycle the next job keeps: one firing fewer; None when this was the last."""
    if not times:
        return f"R/{period}"
    left = int(times) - 1
    return f"R{left}/{period}" if left > 0 else None


def _plus(moment: datetime, period: str) -> datetime:
    try:
        return add_period(moment, period)
    except ValueError as exc:
        raise EngineError(f"couldn't resolve duedate: {exc}") from None
