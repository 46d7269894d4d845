"""The languages the city speaks with people: an account's language, the language of the
texts it is sent (``service.mail.templates``)."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    et = "et"
    en = "en"
    ru = "ru"
