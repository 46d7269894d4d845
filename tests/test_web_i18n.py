"""Every text the web app shows has its Estonian and Russian translation, and every template
compiles."""

from __future__ import annotations

import pytest

from service.languages import Language
from service.web.i18n import catalogue, missing_messages, source_messages, translate
from service.web.templating import ENVIRONMENT, TEMPLATES


@pytest.mark.parametrize("language", [Language.et, Language.ru])
def test_every_text_of_the_pages_is_translated(language: Language) -> None:
    assert len(source_messages()) > 50
    assert sorted(missing_messages(language)) == []


def test_the_catalogues_translate_and_fill_in() -> None:
    assert translate(Language.et, "Sign in") == "Logi sisse"
    assert translate(Language.ru, "Sign in") == "Войти"
    assert translate(Language.en, "Sign in") == "Sign in"
    assert catalogue(Language.et).gettext("a text nobody wrote") == "a text nobody wrote"


def test_every_template_compiles() -> None:
    names = [p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")]
    assert "base.html" in names
    for name in names:
        ENVIRONMENT.get_template(name)
