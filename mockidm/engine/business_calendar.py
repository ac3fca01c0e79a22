"""When a due date falls: Flowable's DueDateBusinessCalendar.

A due date expression that gives a String is read as an ISO 8601 period from now when it
starts with `P` (`P3D`, `PT72H`, `P1M2DT4H`), else as an ISO 8601 date-time (without an
offset, in UTC: the mock's clock is UTC). Anything else fails the command as the engine does:
"couldn't resolve duedate: ..." (the rest of the message is the mock's, not Joda-Time's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from .errors import EngineError

# Joda-Time's ISOPeriodFormat.standard(): PnYnMnWnDTnHnMnS, integers except the seconds.
_PERIOD = re.compile(
    r"P(?:(?P<years>-?\d+)Y)?(?:(?P<months>-?\d+)M)?(?:(?P<weeks>-?\d+)W)?(?:(?P<days>-?\d+)D)?"
    r"(?:T(?:(?P<hours>-?\d+)H)?(?:(?P<minutes>-?\d+)M)?(?:(?P<seconds>-?\d+(?:\.\d{1,3})?)S)?)?")


def resolve_due_date(text: str, now: datetime) -> datetime:
    try:
        if text.startswith("P"):
            return add_period(now, text)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise EngineError(f"couldn't resolve duedate: {exc}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def add_period(moment: datetime, text: str) -> datetime:
    """`moment` plus an ISO 8601 period, as Joda's DateTime.plus(Period): years and months
    first, the day of month kept or cut to the month's last, then the rest."""
    months, rest = _period(text)
    if months:
        year, month = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, _days_in_month(year, month + 1))
        moment = moment.replace(year=year, month=month + 1, day=day)
    return moment + rest


@lru_cache(maxsize=1024)  # timers and due dates repeat the same few periods
def _period(text: str) -> tuple[int, timedelta]:
    """An ISO 8601 period as months and the rest (ValueError if it is none)."""
    match = _PERIOD.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"Invalid format: \"{text}\"")
    parts = {name: value for name, value in match.groupdict().items() if value is not None}
    months = int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
    return months, timedelta(weeks=int(parts.get("weeks", 0)), days=int(parts.get("days", 0)),
                             hours=int(parts.get("hours", 0)),
                             minutes=int(parts.get("minutes", 0)),
                             seconds=float(parts.get("seconds", 0)))


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day
