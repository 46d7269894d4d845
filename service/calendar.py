"""Working-time arithmetic on a city's calendar. Pure: no I/O, no clock.

A working day is a day that is not a weekend, not a national public holiday (Estonia's, from
the ``holidays`` library, movable feasts included) and not an extra holiday of the city —
unless the city declared it an extra working day. Working time runs from ``work_start`` to
``work_end`` in the city's time zone on each working day.

Durations are measured in working time. One working day is one full working day's length
(08:30–17:00 is 8 h 30 min), so "3 working days" from Friday 16:00 before Võidupüha and
Jaanipäev is due at 16:00 on the Friday after: Friday's last hour, Wednesday, Thursday, and
Friday until 16:00. Working hours are the same clock, counted in hours; calendar hours (for
emergencies that run around the clock) are plain elapsed time.

Instants go in and come out as timezone-aware datetimes (results in UTC). A result is always
a working instant: inside ``[work_start, work_end]`` of a working day. Because all units are
one clock, the functions are monotonic, additive
(``add(add(t, a), b) == add(t, a + b)``) and inverse to each other
(``working_time_between(t, add(t, a)) == a``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


class TimeUnit(StrEnum):
    working_days = "working_days"
    working_hours = "working_hours"
    calendar_hours = "calendar_hours"


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str = "Europe/Tallinn"
    work_start: time = time(8, 30)
    work_end: time = time(17, 0)
    country: str = "EE"
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be after work_start")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def day_length(self) -> timedelta:
        start = datetime.combine(date(2000, 1, 1), self.work_start)
        return datetime.combine(date(2000, 1, 1), self.work_end) - start

    def is_public_holiday(self, day: date) -> bool:
        return day in _public_holidays(self.country, day.year)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays or day.weekday() >= 5:
            return False
        return not self.is_public_holiday(day)

    def working_interval(self, day: date) -> tuple[datetime, datetime]:
        """The day's working time as UTC instants (local wall-clock times, DST-aware)."""
        zone = self.zone
        start = datetime.combine(day, self.work_start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.work_end, tzinfo=zone).astimezone(UTC)
        return start, end

    def holidays_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """Non-working weekdays from ``first`` to ``last`` with their names."""
        found: list[tuple[date, str]] = []
        day = first
        while day <= last:
            if day.weekday() < 5 and not self.is_working_day(day):
                names = _public_holidays(self.country, day.year)
                found.append((day, names.get(day) or "City holiday"))
            day += timedelta(days=1)
        return found


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year, language="et")


def to_duration(amount: float, unit: TimeUnit, calendar: WorkingCalendar) -> timedelta:
    """An amount of ``unit`` as a duration of working (or, for calendar hours, elapsed) time."""
    if unit is TimeUnit.working_days:
        return calendar.day_length * amount
    return timedelta(hours=amount)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware instant")
    return instant.astimezone(UTC)


def _intervals_from(
    instant: datetime, calendar: WorkingCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that end at or after ``instant``, in order, clipped to start there."""
    local_day = instant.astimezone(calendar.zone).date()
    for offset in range(0, 366 * 5):
        day = local_day + timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        start, end = calendar.working_interval(day)
        if end < instant:
            continue
        yield max(start, instant), end
    raise ValueError("no working day within five years")  # a calendar with only holidays


def add_working_time(
    start: datetime, amount: float, unit: TimeUnit | str, calendar: WorkingCalendar
) -> datetime:
    """The instant ``amount`` of ``unit`` after ``start`` (UTC).

    Working units skip nights, weekends and holidays and always land on a working instant;
    ``calendar_hours`` is plain elapsed time. ``amount`` must not be negative."""
    unit = TimeUnit(unit)
    start = _aware(start)
    if amount < 0:
        raise ValueError("amount must not be negative")
    remaining = to_duration(amount, unit, calendar)
    if unit is TimeUnit.calendar_hours:
        return start + remaining
    for begin, end in _intervals_from(start, calendar):
        available = end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def working_time_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    a, b = _aware(a), _aware(b)
    if b < a:
        return -working_time_between(b, a, calendar)
    total = timedelta(0)
    for begin, end in _intervals_from(a, calendar):
        if begin >= b:
            break
        total += min(end, b) - begin
    return total


def working_hours_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> float:
    """Working time from ``a`` to ``b`` in hours, for KPIs."""
    return working_time_between(a, b, calendar).total_seconds() / 3600


def _intervals_before(
    instant: datetime, calendar: WorkingCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that start at or before ``instant``, latest first, clipped to end
    there."""
    local_day = instant.astimezone(calendar.zone).date()
    for offset in range(0, 366 * 5):
        day = local_day - timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        start, end = calendar.working_interval(day)
        if start > instant:
            continue
        yield start, min(end, instant)
    raise ValueError("no working day within five years")


def subtract_working_time(
    end: datetime, amount: float, unit: TimeUnit | str, calendar: WorkingCalendar
) -> datetime:
    """The instant ``amount`` of ``unit`` before ``end`` (UTC): "1 working day before the
    due time", "2 working hours before it". The inverse of :func:`add_working_time`:
    ``working_time_between(subtract_working_time(t, a), t) == a``, and the result is a
    working instant. ``amount`` must not be negative."""
    unit = TimeUnit(unit)
    end = _aware(end)
    if amount < 0:
        raise ValueError("amount must not be negative")
    remaining = to_duration(amount, unit, calendar)
    if unit is TimeUnit.calendar_hours:
        return end - remaining
    for begin, stop in _intervals_before(end, calendar):
        available = stop - begin
        if remaining <= available:
            return stop - remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def zoned_iso(instant: datetime, timezone: str) -> str:
    """The same instant in ISO 8601 with the city's offset, for problem fields."""
    return instant.astimezone(ZoneInfo(timezone)).isoformat()
