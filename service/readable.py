"""Dates, times and numbers as a reader reads them: the city's wall clock, the reader's
language, month names written out ("5. detsember 2026 kell 07:18", "5 December 2026 at 07:18",
"5 декабря 2026 г. в 07:18"). Pure; Babel (CLDR) knows the month names and number formats.

Mail, the inbox, diplomas, error messages and web pages all format through here, so that a
deadline reads the same wherever a person meets it.

A notice is written once and read later in each recipient's language (an email is rendered
per recipient, the inbox when it is opened), so a notice does not carry formatted times:
its values hold *readable values* (:func:`time_value`, :func:`day_value`, :func:`span_value`,
:func:`lines_value`) — JSON objects with the instant in ISO 8601 UTC and the city's zone —
and :func:`readable_values` turns them into text in the reader's language when the template
is filled. A webhook receives them as they are, machine-readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from service.languages import Language

# The word between a date and its time: CLDR's "atTime" pattern, written down per language
# because Babel's combined patterns carry seconds and the zone's offset.
_AT = {Language.et: "kell", Language.en: "at", Language.ru: "в"}


@lru_cache(maxsize=8)
def _locale(language: Language) -> Locale:
    return Locale.parse(str(language))


def _language(language: Language | str) -> Language:
    try:
        return Language(language)
    except ValueError:
        return Language.et


@lru_cache(maxsize=4096)
def _long_date(day: date, language: Language) -> str:
    # Pages list dozens of instants on a few days: Babel formats each day once.
    return format_date(day, "long", locale=_locale(language))


def readable_day(day: date | datetime, language: Language | str, zone: ZoneInfo | str) -> str:
    """A calendar day with the month's name ("5. detsember 2026"); an instant is first put on
    the city's clock, so that 23:30 UTC on the 4th reads as the 5th in Tallinn."""
    if isinstance(day, datetime):
        day = day.astimezone(_zone(zone)).date()
    return _long_date(day, _language(language))


def readable_time(instant: datetime, language: Language | str, zone: ZoneInfo | str) -> str:
    """An instant as the date and the time on the city's clock ("5. detsember 2026 kell 07:18");
    the clock is 24-hour in all three languages (CLDR's "HH:mm")."""
    lang = _language(language)
    local = instant.astimezone(_zone(zone))
    return f"{_long_date(local.date(), lang)} {_AT[lang]} {local.hour:02d}:{local.minute:02d}"


def error_time(instant: datetime, zone: ZoneInfo | str) -> str:
    """An instant in an error message ("December 9, 2026 at 17:30 (Europe/Tallinn)").

    Problem details are written in English for every caller (their ``detail`` is one
    sentence, the same whoever asks, and clients show their own texts by ``type``), so the
    time in them is English too: a sentence that switched language in its middle would read
    worse than either. What matters to the reader is kept: the city's wall clock, the month by
    name and the zone's name, never UTC. The problem's own fields carry the instant in ISO 8601
    with the city's offset for programs (``service.calendar.zoned_iso``)."""
    return f"{readable_time(instant, Language.en, zone)} ({_zone_name(zone)})"


def readable_number(value: float, language: Language | str) -> str:
    """A number with the language's separators ("1 234,5" in Estonian, "1,234.5" in English)."""
    return format_decimal(value, locale=_locale(_language(language)))


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


# --- values in notices, formatted when read -------------------------------------------------

_KIND = "readable"


def _zone_name(zone: ZoneInfo | str) -> str:
    return zone.key if isinstance(zone, ZoneInfo) else zone


def time_value(instant: datetime, zone: ZoneInfo | str) -> dict[str, str]:
    """An instant for a notice, read as :func:`readable_time` in the reader's language."""
    return {_KIND: "time", "at": instant.astimezone(UTC).isoformat(), "zone": _zone_name(zone)}


def day_value(day: date) -> dict[str, str]:
    """A calendar day for a notice, read as :func:`readable_day`."""
    return {_KIND: "day", "day": day.isoformat()}


def span_value(start: datetime, end: datetime, zone: ZoneInfo | str) -> dict[str, str]:
    """A time span on one day for a notice ("5. detsember 2026 kell 17:00–19:00")."""
    return {
        _KIND: "span",
        "at": start.astimezone(UTC).isoformat(),
        "until": end.astimezone(UTC).isoformat(),
        "zone": _zone_name(zone),
    }


def lines_value(lines: Sequence[Sequence[object]]) -> dict[str, object]:
    """Lines of text and readable values, each line's parts joined by a space."""
    return {_KIND: "lines", "lines": [list(line) for line in lines]}


def readable_values(values: Mapping[str, object], language: Language | str) -> dict[str, object]:
    """``values`` with every readable value written out in ``language``; the rest as given."""
    return {name: _written(value, language) for name, value in values.items()}


def _written(value: object, language: Language | str) -> object:
    if not isinstance(value, Mapping) or _KIND not in value:
        return value
    marker: Mapping[str, Any] = value
    kind = marker[_KIND]
    if kind == "time":
        return readable_time(datetime.fromisoformat(marker["at"]), language, marker["zone"])
    if kind == "day":
        return readable_day(date.fromisoformat(marker["day"]), language, "UTC")
    if kind == "span":
        start = datetime.fromisoformat(marker["at"])
        end = datetime.fromisoformat(marker["until"]).astimezone(_zone(marker["zone"]))
        clock = format_time(end, "HH:mm", locale=_locale(_language(language)))
        return f"{readable_time(start, language, marker['zone'])}–{clock}"
    if kind == "lines":
        return "\n".join(
            " ".join(str(_written(part, language)) for part in line) for line in marker["lines"]
        )
    raise ValueError(f"unknown readable value {kind!r}")
