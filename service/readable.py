"""Dates, times and numbers as a reader reads them: the city's wall clock, the reader's
language, month names written out ("5. detsember 2026 kell 07:18", "5 December 2026 at 07:18",
"5 декабря 2026 г. в 07:18"). Pure; Babel (CLDR) knows the month names and number formats.

Mail, the inbox, diplomas, error messages and web pages all format through here, so that a
deadline reads the same wherever a person meets it.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
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


def readable_day(day: date | datetime, language: Language | str, zone: ZoneInfo | str) -> str:
    """A calendar day with the month's name ("5. detsember 2026"); an instant is first put on
    the city's clock, so that 23:30 UTC on the 4th reads as the 5th in Tallinn."""
    if isinstance(day, datetime):
        day = day.astimezone(_zone(zone)).date()
    return format_date(day, "long", locale=_locale(_language(language)))


def readable_time(instant: datetime, language: Language | str, zone: ZoneInfo | str) -> str:
    """An instant as the date and the time on the city's clock ("5. detsember 2026 kell 07:18")."""
    lang = _language(language)
    local = instant.astimezone(_zone(zone))
    clock = format_time(local, "HH:mm", locale=_locale(lang))
    return f"{format_date(local.date(), 'long', locale=_locale(lang))} {_AT[lang]} {clock}"


def readable_number(value: float, language: Language | str) -> str:
    """A number with the language's separators ("1 234,5" in Estonian, "1,234.5" in English)."""
    return format_decimal(value, locale=_locale(_language(language)))


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
