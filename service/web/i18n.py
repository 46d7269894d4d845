"""The web app's words in Estonian, English and Russian.

Templates and pages write their texts in English (``{{ _("File a report") }}``, or
:func:`translate` in Python); the Estonian and Russian translations live in gettext catalogues
under ``locale/<language>/<area>.po``, one per area of the app, read with Babel when the app
starts (no compile step). A test extracts every message from the templates and pages and
fails on one without a translation.

The reader's language is, in this order: the language they chose on the site (a cookie), the
signed-in person's account language, the browser's ``Accept-Language``, and Estonian.
"""

from __future__ import annotations

import io
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

from service.languages import Language

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_COOKIE = "meielinn_lang"


@cache
def catalogue(language: Language) -> NullTranslations:
    """Every area's messages of ``language`` as one gettext catalogue (English is the source)."""
    merged = NullTranslations()
    folder = LOCALE_DIR / language.value
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with path.open("rb") as source:
            catalog = read_po(source, locale=language.value)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = GNUTranslations(compiled)
        # The first area's catalogue is the base; the others fall back to each other in turn.
        if isinstance(merged, GNUTranslations):
            part.add_fallback(merged)
        merged = part
    return merged


def N_(message: str) -> str:
    """Marks an English text for the catalogues where it is written; translated when shown."""
    return message


def translate(language: Language, message: str, **values: object) -> str:
    """``message`` (English) in ``language``, with ``{name}`` placeholders filled in."""
    text = catalogue(language).gettext(message)
    return text.format(**values) if values else text


def _parse(value: str | None) -> Language | None:
    try:
        return Language(value) if value else None
    except ValueError:
        return None


def negotiate(request: Request, account_language: Language | None) -> Language:
    """The reader's language (see the module's docstring)."""
    chosen = _parse(request.cookies.get(LANGUAGE_COOKIE))
    if chosen is not None:
        return chosen
    if account_language is not None:
        return account_language
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        found = _parse(tag.split("-")[0])
        if found is not None:
            return found
    return Language.et


# How the texts are found in the source: templates through Jinja2's extractor, the pages'
# Python through ``_``/``N_`` and ``translate(language, "…")``.
EXTRACT_METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
EXTRACT_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": (2,)}


def source_messages() -> set[str]:
    """Every English text the web app's templates and pages show (for the catalogues' test
    and ``scripts/web_messages.py``)."""
    from babel.messages.extract import extract_from_dir

    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(Path(__file__).parent),
        EXTRACT_METHODS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=EXTRACT_KEYWORDS,
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.add(text)
    return found


def missing_messages(language: Language) -> set[str]:
    """Texts of the source without a translation into ``language``."""
    if language is Language.en:
        return set()
    known: set[str] = set()
    for path in (LOCALE_DIR / language.value).glob("*.po"):
        with path.open("rb") as source:
            known.update(str(m.id) for m in read_po(source) if m.id and m.string)
    return source_messages() - known
