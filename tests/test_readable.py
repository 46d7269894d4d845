"""Dates and times as people read them: the city's wall clock, the reader's language, the
month by name; readable values in notices are written out when the notice is read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.languages import Language
from service.readable import (
    day_value,
    error_time,
    lines_value,
    readable_day,
    readable_time,
    readable_values,
    span_value,
    time_value,
)

TALLINN = "Europe/Tallinn"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.et, "5. detsember 2026 kell 07:18"),
        (Language.en, "December 5, 2026 at 07:18"),
        (Language.ru, "5 декабря 2026\u202fг. в 07:18"),
    ],
)
def test_an_instant_reads_on_the_city_clock_in_the_readers_language(
    language: Language, expected: str
) -> None:
    assert readable_time(datetime(2026, 12, 5, 5, 18, 40, tzinfo=UTC), language, TALLINN) == (
        expected
    )


def test_a_utc_evening_is_the_next_day_in_tallinn() -> None:
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    assert readable_day(late, Language.et, TALLINN) == "5. detsember 2026"
    assert readable_time(late, Language.en, TALLINN) == "December 5, 2026 at 01:30"
    # A calendar day is a day: no zone moves it.
    assert readable_day(date(2026, 12, 4), Language.ru, TALLINN) == "4 декабря 2026\u202fг."


def test_the_clock_follows_summer_time_across_its_change() -> None:
    # Summer time starts on 29 March 2026 at 01:00 UTC: +02:00 before, +03:00 after.
    assert readable_time(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "en", TALLINN) == (
        "March 29, 2026 at 02:59"
    )
    assert readable_time(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "en", TALLINN) == (
        "March 29, 2026 at 04:00"
    )
    # It ends on 25 October at 01:00 UTC: 03:59 summer time, then 03:00 again.
    assert readable_time(datetime(2026, 10, 25, 0, 59, tzinfo=UTC), "et", TALLINN) == (
        "25. oktoober 2026 kell 03:59"
    )
    assert readable_time(datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "et", TALLINN) == (
        "25. oktoober 2026 kell 03:00"
    )


def test_an_unknown_language_reads_estonian() -> None:
    assert readable_day(date(2026, 1, 2), "fi", TALLINN) == "2. jaanuar 2026"


def test_readable_values_are_written_out_in_each_language_and_the_rest_is_kept() -> None:
    start = datetime(2027, 4, 8, 14, 0, tzinfo=UTC)
    session = span_value(start, start.replace(hour=16), TALLINN)
    values = {
        "code": "ML-1",
        "level": 2,
        "due": time_value(datetime(2026, 12, 5, 5, 18, tzinfo=UTC), TALLINN),
        "until": day_value(date(2026, 12, 7)),
        "when": session,
        "schedule": lines_value([["1.", session, "Kütt"]]),
    }
    assert readable_values(values, Language.ru) == {
        "code": "ML-1",
        "level": 2,
        "due": "5 декабря 2026\u202fг. в 07:18",
        "until": "7 декабря 2026\u202fг.",
        "when": "8 апреля 2027\u202fг. в 17:00–19:00",
        "schedule": "1. 8 апреля 2027\u202fг. в 17:00–19:00 Kütt",
    }
    assert readable_values(values, Language.et)["due"] == "5. detsember 2026 kell 07:18"
    # As stored (JSON): the instant in UTC and the zone to read it in.
    assert values["due"] == {
        "readable": "time",
        "at": "2026-12-05T05:18:00+00:00",
        "zone": TALLINN,
    }


def test_an_error_names_the_city_clock_and_its_zone() -> None:
    assert error_time(datetime(2026, 11, 9, 15, 30, tzinfo=UTC), TALLINN) == (
        "November 9, 2026 at 17:30 (Europe/Tallinn)"
    )
