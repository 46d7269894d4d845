"""Email texts in the city's languages (et, en, ru). Placeholders use ``str.format``."""

from __future__ import annotations

from service.auth.models import Language

EMAILS: dict[str, dict[Language, tuple[str, str]]] = {
    "verify_email": {
        Language.et: (
            "Kinnitage oma e-posti aadress",
            "Tere, {name}!\n\nKinnitage oma meielinna konto e-posti aadress:\n{link}\n\n"
            "Kood: {token}\nLink kehtib {hours} tundi.",
        ),
        Language.en: (
            "Confirm your email address",
            "Hello {name},\n\nPlease confirm the email address of your meielinn account:\n"
            "{link}\n\nCode: {token}\nThe link is valid for {hours} hours.",
        ),
        Language.ru: (
            "Подтвердите адрес электронной почты",
            "Здравствуйте, {name}!\n\nПодтвердите адрес электронной почты вашей учётной "
            "записи meielinn:\n{link}\n\nКод: {token}\nСсылка действительна {hours} ч.",
        ),
    },
    "password_reset": {
        Language.et: (
            "Parooli lähtestamine",
            "Tere, {name}!\n\nUue parooli saate määrata siin:\n{link}\n\nKood: {token}\n"
            "Link kehtib {minutes} minutit. Kui te parooli ei unustanud, jätke see kiri "
            "tähelepanuta.",
        ),
        Language.en: (
            "Reset your password",
            "Hello {name},\n\nYou can choose a new password here:\n{link}\n\nCode: {token}\n"
            "The link is valid for {minutes} minutes. If you did not ask for this, ignore "
            "this message.",
        ),
        Language.ru: (
            "Сброс пароля",
            "Здравствуйте, {name}!\n\nЗадать новый пароль можно здесь:\n{link}\n\nКод: {token}\n"
            "Ссылка действительна {minutes} мин. Если вы не запрашивали сброс, просто "
            "проигнорируйте это письмо.",
        ),
    },
}


def render(template: str, language: Language, **values: object) -> tuple[str, str]:
    """Subject and body of ``template`` in ``language`` (English when it lacks one)."""
    texts = EMAILS[template]
    subject, body = texts.get(language) or texts[Language.en]
    return subject.format(**values), body.format(**values)
