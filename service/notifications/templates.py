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
    "report_accepted": {
        Language.et: (
            "Teie teade {code} on vastu võetud",
            "Tere, {name}!\n\nTeie teade {code} on vastu võetud ja edastatud vastutavale "
            "üksusele. Vastuse tähtaeg on {due}.",
        ),
        Language.en: (
            "Your report {code} was accepted",
            "Hello {name},\n\nYour report {code} was accepted and passed to the department "
            "responsible. The answer is due by {due}.",
        ),
        Language.ru: (
            "Ваше сообщение {code} принято",
            "Здравствуйте, {name}!\n\nВаше сообщение {code} принято и передано ответственному "
            "подразделению. Срок ответа: {due}.",
        ),
    },
    "report_rejected": {
        Language.et: (
            "Teie teadet {code} ei saanud menetlusse võtta",
            "Tere, {name}!\n\nTeie teadet {code} ei saanud menetlusse võtta:\n{reason}",
        ),
        Language.en: (
            "Your report {code} could not be taken on",
            "Hello {name},\n\nYour report {code} could not be taken on:\n{reason}",
        ),
        Language.ru: (
            "Ваше сообщение {code} не принято",
            "Здравствуйте, {name}!\n\nВаше сообщение {code} не принято к рассмотрению:\n{reason}",
        ),
    },
    "report_duplicate": {
        Language.et: (
            "Teie teade {code} on liidetud teatega {original}",
            "Tere, {name}!\n\nSama mure kohta on juba teade {original}. Teie teade {code} "
            "liideti sellega; saate selle käigust teateid.",
        ),
        Language.en: (
            "Your report {code} was merged into {original}",
            "Hello {name},\n\nThe same problem was reported already as {original}. Your "
            "report {code} was merged into it, and you will hear how it goes.",
        ),
        Language.ru: (
            "Ваше сообщение {code} объединено с {original}",
            "Здравствуйте, {name}!\n\nОб этой проблеме уже сообщили ({original}). Ваше "
            "сообщение {code} объединено с ним; вы будете получать уведомления.",
        ),
    },
    # To an address that may never have been verified: nothing in it is chosen by a
    # resident, and it names no person.
    "report_filed_for_you": {
        Language.et: (
            "Teie nimel esitati teade {code}",
            "Tere!\n\n{filer} esitas teie nimel linnale teate {code}. Teile saadetakse teateid "
            "selle käigu kohta.\n\nKui te seda ei palunud, võtke teade tagasi:\n{link}",
        ),
        Language.en: (
            "A report {code} was filed for you",
            "Hello,\n\n{filer} filed the report {code} with the city for you. You will hear "
            "how it goes.\n\nIf you did not ask for this, withdraw it here:\n{link}",
        ),
        Language.ru: (
            "От вашего имени подано сообщение {code}",
            "Здравствуйте!\n\n{filer} подал(а) от вашего имени сообщение {code} в город. Вы "
            "будете получать уведомления о его ходе.\n\nЕсли вы этого не просили, отзовите "
            "сообщение:\n{link}",
        ),
    },
}


def render(template: str, language: Language, **values: object) -> tuple[str, str]:
    """Subject and body of ``template`` in ``language`` (English when it lacks one)."""
    texts = EMAILS[template]
    subject, body = texts.get(language) or texts[Language.en]
    return subject.format(**values), body.format(**values)
