"""Working-time arithmetic: worked examples and properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.calendar import (
    TimeUnit,
    WorkingCalendar,
    add_working_time,
    subtract_working_time,
    working_hours_between,
    working_time_between,
)

TALLINN = ZoneInfo("Europe/Tallinn")
CITY = WorkingCalendar()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TALLINN)  # type: ignore[misc]


def test_three_working_days_over_the_midsummer_holidays() -> None:
    # Friday 16:00; the weekend, Võidupüha (Mon 23 June) and Jaanipäev (Tue 24 June) skipped.
    due = add_working_time(local(2025, 6, 20, 16, 0), 3, TimeUnit.working_days, CITY)
    assert due.astimezone(TALLINN) == local(2025, 6, 27, 16, 0)
    assert due.tzinfo is UTC


def test_the_national_holidays_are_known() -> None:
    expected = {
        date(2025, 4, 18),  # Good Friday
        date(2025, 6, 23),  # Võidupüha
        date(2025, 6, 24),  # Jaanipäev
        date(2025, 12, 24),  # Christmas Eve
        date(2026, 4, 3),  # Good Friday, another year
    }
    for day in expected:
        assert not CITY.is_working_day(day), day
    # Easter Sunday and Whit Sunday are holidays on a Sunday anyway.
    assert CITY.is_public_holiday(date(2025, 4, 20))
    assert CITY.is_public_holiday(date(2025, 6, 8))
    assert CITY.is_working_day(date(2025, 6, 25))
    names = dict(CITY.holidays_between(date(2025, 6, 1), date(2025, 6, 30)))
    assert names == {date(2025, 6, 23): "võidupüha", date(2025, 6, 24): "jaanipäev"}


def test_working_hours_across_a_night() -> None:
    due = add_working_time(local(2025, 1, 8, 16, 0), 3, TimeUnit.working_hours, CITY)
    assert due.astimezone(TALLINN) == local(2025, 1, 9, 10, 30)


def test_working_hours_across_a_weekend_and_two_holidays() -> None:
    due = add_working_time(local(2025, 6, 20, 15, 0), 4, TimeUnit.working_hours, CITY)
    assert due.astimezone(TALLINN) == local(2025, 6, 25, 10, 30)


def test_calendar_hours_run_around_the_clock() -> None:
    start = local(2025, 6, 22, 23, 0)  # a Sunday night before a holiday
    due = add_working_time(start, 24, TimeUnit.calendar_hours, CITY)
    assert due - start == timedelta(hours=24)


def test_a_request_at_night_starts_counting_in_the_morning() -> None:
    due = add_working_time(local(2025, 1, 7, 22, 0), 2, TimeUnit.working_hours, CITY)
    assert due.astimezone(TALLINN) == local(2025, 1, 8, 10, 30)


def test_daylight_saving_changes_keep_the_wall_clock() -> None:
    # Summer time starts on Sunday 30 March 2025; autumn's ends on Sunday 26 October.
    spring = add_working_time(local(2025, 3, 28, 16, 0), 1, TimeUnit.working_days, CITY)
    assert spring.astimezone(TALLINN) == local(2025, 3, 31, 16, 0)
    autumn = add_working_time(local(2025, 10, 24, 9, 0), 1, TimeUnit.working_days, CITY)
    assert autumn.astimezone(TALLINN) == local(2025, 10, 27, 9, 0)
    # 8.5 working hours passed in both cases, though the elapsed time differs by an hour.
    assert working_hours_between(local(2025, 3, 28, 16, 0), spring, CITY) == 8.5


def test_city_exceptions_override_the_national_calendar() -> None:
    calendar = WorkingCalendar(
        extra_holidays=frozenset({date(2025, 6, 25)}),
        extra_working_days=frozenset({date(2025, 6, 28)}),  # a Saturday
    )
    due = add_working_time(local(2025, 6, 20, 16, 0), 3, TimeUnit.working_days, calendar)
    # Fri's last hour, Thu 26, Fri 27, and Sat 28 until 16:00.
    assert due.astimezone(TALLINN) == local(2025, 6, 28, 16, 0)


def test_working_time_between_counts_only_working_time() -> None:
    a, b = local(2025, 6, 20, 16, 0), local(2025, 6, 25, 9, 30)
    assert working_time_between(a, b, CITY) == timedelta(hours=2)
    assert working_time_between(b, a, CITY) == timedelta(hours=-2)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_working_time(datetime(2025, 1, 1, 9), 1, TimeUnit.working_days, CITY)
    with pytest.raises(ValueError, match="negative"):
        add_working_time(local(2025, 1, 2, 9), -1, TimeUnit.working_days, CITY)
    with pytest.raises(ValueError, match="after"):
        WorkingCalendar(work_start=time(17), work_end=time(9))


# --- properties ----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
# Amounts in whole minutes, so that float arithmetic cannot blur equality.
minutes = st.integers(min_value=0, max_value=60 * 8 * 40)
units = st.sampled_from([TimeUnit.working_hours, TimeUnit.calendar_hours])


def _on_working_time(instant: datetime, calendar: WorkingCalendar) -> bool:
    day = instant.astimezone(calendar.zone).date()
    start, end = calendar.working_interval(day)
    return calendar.is_working_day(day) and start <= instant <= end


@settings(max_examples=150, deadline=None)
@given(start=instants, a=minutes, b=minutes, unit=units)
def test_adding_is_additive(start: datetime, a: int, b: int, unit: TimeUnit) -> None:
    once = add_working_time(start, (a + b) / 60, unit, CITY)
    twice = add_working_time(add_working_time(start, a / 60, unit, CITY), b / 60, unit, CITY)
    assert once == twice


@settings(max_examples=150, deadline=None)
@given(start=instants, a=minutes, b=minutes)
def test_adding_is_monotonic(start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    first = add_working_time(start, low / 60, TimeUnit.working_hours, CITY)
    second = add_working_time(start, high / 60, TimeUnit.working_hours, CITY)
    assert first <= second
    assert first >= start


@settings(max_examples=150, deadline=None)
@given(start=instants, amount=minutes)
def test_results_land_on_working_time(start: datetime, amount: int) -> None:
    due = add_working_time(start, amount / 60, TimeUnit.working_hours, CITY)
    assert _on_working_time(due, CITY)


@settings(max_examples=150, deadline=None)
@given(start=instants, amount=minutes)
def test_round_trip_with_working_time_between(start: datetime, amount: int) -> None:
    due = add_working_time(start, amount / 60, TimeUnit.working_hours, CITY)
    assert working_time_between(start, due, CITY) == timedelta(minutes=amount)


@settings(max_examples=60, deadline=None)
@given(start=instants, days=st.integers(min_value=0, max_value=30))
def test_working_days_are_working_hours_of_a_day(start: datetime, days: int) -> None:
    by_days = add_working_time(start, days, TimeUnit.working_days, CITY)
    by_hours = add_working_time(start, days * 8.5, TimeUnit.working_hours, CITY)
    assert by_days == by_hours


def test_one_working_day_before_a_deadline_after_midsummer() -> None:
    # Due Friday 16:00 after Võidupüha and Jaanipäev: a working day earlier is Thursday 16:00,
    # three are the Friday before the holidays at 16:00.
    due = local(2025, 6, 27, 16)
    assert subtract_working_time(due, 1, TimeUnit.working_days, CITY) == local(2025, 6, 26, 16)
    assert subtract_working_time(due, 3, TimeUnit.working_days, CITY) == local(2025, 6, 20, 16)
    assert subtract_working_time(due, 2, TimeUnit.working_hours, CITY) == local(2025, 6, 27, 14)
    # Two working hours before 09:30 on a Monday reach back into Friday afternoon.
    monday = local(2025, 6, 30, 9, 30)
    assert subtract_working_time(monday, 2, TimeUnit.working_hours, CITY) == local(2025, 6, 27, 16)


@settings(max_examples=150, deadline=None)
@given(start=instants, amount=minutes)
def test_subtracting_undoes_adding(start: datetime, amount: int) -> None:
    due = add_working_time(start, amount / 60, TimeUnit.working_hours, CITY)
    before = subtract_working_time(due, amount / 60, TimeUnit.working_hours, CITY)
    assert working_time_between(before, due, CITY) == timedelta(minutes=amount)
    assert _on_working_time(before, CITY)
    assert before <= due
