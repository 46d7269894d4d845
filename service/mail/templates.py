"""The city's texts to people in its languages (et, en, ru), for email and the in-app
inbox (``notifications.inbox``). They sit with the mail, below identity, because accounts
are sent theirs (verification, password reset) by ``auth`` itself.

Placeholders use ``str.format``; a notice must give every placeholder its template uses
(``tests/test_notifications.py`` renders each one).

Every body starts with ``{greeting}``: "Hello <name>," when the recipient's address is
verified, a plain "Hello," otherwise. An unverified address may belong to someone other
than whoever registered it, so nothing the registrant typed (the display name) goes there.

Dates and times come as readable values (``service.readable``: an instant and the city's
zone) and are written out in the recipient's language when the text is rendered ("5.
detsember 2026 kell 07:18"), never formatted by the caller.

``{token}`` and ``{link}`` of one-time-code messages are filled at delivery, never stored
(see ``notifications.service``).

(Over 400 lines: the texts themselves, in three languages, no logic.)
"""

from __future__ import annotations

from service.languages import Language
from service.mail.department_templates import DEPARTMENT_EMAILS
from service.mail.idea_templates import IDEA_EMAILS
from service.mail.lab_templates import LAB_EMAILS
from service.readable import readable_values

GREETINGS: dict[Language, tuple[str, str]] = {
    # (with a name, without)
    Language.et: ("Tere, {name}!", "Tere!"),
    Language.en: ("Hello {name},", "Hello,"),
    Language.ru: ("Здравствуйте, {name}!", "Здравствуйте!"),
}

EMAILS: dict[str, dict[Language, tuple[str, str]]] = {
    "verify_email": {
        Language.et: (
            "Kinnitage oma e-posti aadress",
            "{greeting}\n\nKinnitage oma meielinna konto e-posti aadress:\n{link}\n\n"
            "Kood: {token}\nLink kehtib {hours} tundi.",
        ),
        Language.en: (
            "Confirm your email address",
            "{greeting}\n\nPlease confirm the email address of your meielinn account:\n"
            "{link}\n\nCode: {token}\nThe link is valid for {hours} hours.",
        ),
        Language.ru: (
            "Подтвердите адрес электронной почты",
            "{greeting}\n\nПодтвердите адрес электронной почты вашей учётной "
            "записи meielinn:\n{link}\n\nКод: {token}\nСсылка действительна {hours} ч.",
        ),
    },
    "password_reset": {
        Language.et: (
            "Parooli lähtestamine",
            "{greeting}\n\nUue parooli saate määrata siin:\n{link}\n\nKood: {token}\n"
            "Link kehtib {minutes} minutit. Kui te parooli ei unustanud, jätke see kiri "
            "tähelepanuta.",
        ),
        Language.en: (
            "Reset your password",
            "{greeting}\n\nYou can choose a new password here:\n{link}\n\nCode: {token}\n"
            "The link is valid for {minutes} minutes. If you did not ask for this, ignore "
            "this message.",
        ),
        Language.ru: (
            "Сброс пароля",
            "{greeting}\n\nЗадать новый пароль можно здесь:\n{link}\n\nКод: {token}\n"
            "Ссылка действительна {minutes} мин. Если вы не запрашивали сброс, просто "
            "проигнорируйте это письмо.",
        ),
    },
    "registration_attempt": {
        Language.et: (
            "Keegi proovis teie aadressiga kontot luua",
            "{greeting}\n\nKeegi proovis luua meielinna kontot aadressiga {email}, kuid sellel "
            "aadressil on konto juba olemas. Midagi ei muudetud.\n\nKui see olite teie ja "
            'parool ununes, tellige uus parool ("Unustasin parooli"). Kui see polnud teie, '
            "võite selle kirja tähelepanuta jätta.",
        ),
        Language.en: (
            "Someone tried to register with your address",
            "{greeting}\n\nSomeone tried to register a meielinn account with {email}, but "
            "this address has an account already. Nothing was changed.\n\nIf it was you "
            'and you forgot your password, ask for a new one ("Forgot password"). If it '
            "was not you, you can ignore this message.",
        ),
        Language.ru: (
            "Кто-то пытался зарегистрироваться с вашим адресом",
            "{greeting}\n\nКто-то пытался создать учётную запись meielinn с адресом {email}, "
            "но с этим адресом учётная запись уже есть. Ничего не изменено.\n\nЕсли это "
            "были вы и вы забыли пароль, запросите новый («Забыли пароль»). Если это были "
            "не вы, просто проигнорируйте это письмо.",
        ),
    },
    "report_accepted": {
        Language.et: (
            "Teie teade {code} on vastu võetud",
            "{greeting}\n\nTeie teade {code} on vastu võetud ja edastatud vastutavale "
            "üksusele. Vastuse tähtaeg on {due}.",
        ),
        Language.en: (
            "Your report {code} was accepted",
            "{greeting}\n\nYour report {code} was accepted and passed to the department "
            "responsible. The answer is due by {due}.",
        ),
        Language.ru: (
            "Ваше сообщение {code} принято",
            "{greeting}\n\nВаше сообщение {code} принято и передано ответственному "
            "подразделению. Срок ответа: {due}.",
        ),
    },
    "report_rejected": {
        Language.et: (
            "Teie teadet {code} ei saanud menetlusse võtta",
            "{greeting}\n\nTeie teadet {code} ei saanud menetlusse võtta:\n{reason}",
        ),
        Language.en: (
            "Your report {code} could not be taken on",
            "{greeting}\n\nYour report {code} could not be taken on:\n{reason}",
        ),
        Language.ru: (
            "Ваше сообщение {code} не принято",
            "{greeting}\n\nВаше сообщение {code} не принято к рассмотрению:\n{reason}",
        ),
    },
    "report_duplicate": {
        Language.et: (
            "Teie teade {code} on liidetud teatega {original}",
            "{greeting}\n\nSama mure kohta on juba teade {original}. Teie teade {code} "
            "liideti sellega; saate selle käigust teateid.",
        ),
        Language.en: (
            "Your report {code} was merged into {original}",
            "{greeting}\n\nThe same problem was reported already as {original}. Your "
            "report {code} was merged into it, and you will hear how it goes.",
        ),
        Language.ru: (
            "Ваше сообщение {code} объединено с {original}",
            "{greeting}\n\nОб этой проблеме уже сообщили ({original}). Ваше "
            "сообщение {code} объединено с ним; вы будете получать уведомления.",
        ),
    },
    # The department asks the reporter a question; the deadline waits for the answer.
    "clarification_requested": {
        Language.et: (
            "Küsimus teie teate {code} kohta",
            "{greeting}\n\nTeie teadet {code} menetlev teenistus küsib:\n\n{question}\n\n"
            "Vastake meielinna rakenduses; tähtaeg ootab teie vastust.",
        ),
        Language.en: (
            "A question about your report {code}",
            "{greeting}\n\nThe department working on your report {code} asks:\n\n{question}"
            "\n\nAnswer in the meielinn app; the deadline waits for your answer.",
        ),
        Language.ru: (
            "Вопрос по вашему сообщению {code}",
            "{greeting}\n\nСлужба, работающая с вашим сообщением {code}, спрашивает:\n\n"
            "{question}\n\nОтветьте в приложении meielinn; срок ждёт вашего ответа.",
        ),
    },
    # An official answer is published: to the reporter, who may rate it, and to supporters
    # and subscribers. The answer's text is the department's, never a resident's. One event
    # for all of them carries the outcome line in each language (``outcome_et``, …): each
    # reader's template takes its own; the rating window's last day (``until``) is a readable
    # value, written out in the reader's language.
    "answer_published_reporter": {
        Language.et: (
            "Teie teatele {code} vastati",
            "{greeting}\n\n{department} vastas teie teatele {code}.\n\n{outcome_et}\n\n{text}\n\n"
            "Kas mure on lahendatud? Hinnake vastust kuni {until}. Kui mure ei ole "
            "lahendatud, öelge seda ja teade avatakse uuesti.",
        ),
        Language.en: (
            "Your report {code} was answered",
            "{greeting}\n\n{department} answered your report {code}.\n\n{outcome_en}\n\n{text}\n\n"
            "Is the problem solved? Rate the answer until {until}. If it is not solved, say "
            "so and the report is reopened.",
        ),
        Language.ru: (
            "На ваше сообщение {code} дан ответ",
            "{greeting}\n\n{department} ответил(а) на ваше сообщение {code}.\n\n{outcome_ru}\n\n"
            "{text}\n\nРешена ли проблема? Оцените ответ до {until}. Если проблема не "
            "решена, сообщите об этом, и сообщение будет открыто снова.",
        ),
    },
    "answer_published": {
        Language.et: (
            "Teatele {code} vastati",
            "{greeting}\n\n{department} vastas teatele {code}, mida jälgite.\n\n{outcome_et}\n\n"
            "{text}",
        ),
        Language.en: (
            "The report {code} was answered",
            "{greeting}\n\n{department} answered the report {code} you follow.\n\n{outcome_en}"
            "\n\n{text}",
        ),
        Language.ru: (
            "На сообщение {code} дан ответ",
            "{greeting}\n\n{department} ответил(а) на сообщение {code}, за которым вы "
            "следите.\n\n{outcome_ru}\n\n{text}",
        ),
    },
    "answer_returned": {
        Language.et: (
            "Teie vastus teatele {code} saadeti tagasi",
            "{greeting}\n\nModeraator saatis teie vastuse teatele {code} tagasi:\n{comment}"
            "\n\nVastake uuesti.",
        ),
        Language.en: (
            "Your answer to {code} was returned",
            "{greeting}\n\nA moderator returned your answer to the report {code}:\n{comment}"
            "\n\nPlease answer again.",
        ),
        Language.ru: (
            "Ваш ответ на сообщение {code} возвращён",
            "{greeting}\n\nМодератор вернул ваш ответ на сообщение {code}:\n{comment}\n\n"
            "Пожалуйста, ответьте снова.",
        ),
    },
    "report_referred": {
        Language.et: (
            "Teade {code} ei ole lahendatud ka {rounds}. korral",
            "{greeting}\n\nTeatele {code} on vastatud {rounds} korda ja teavitaja ütleb, et "
            "mure pole ikka lahendatud. Teade ei avane enam uuesti: see tuleb teile koos "
            "kogu ajalooga otsustamiseks.",
        ),
        Language.en: (
            "Report {code} is still not resolved after {rounds} answers",
            "{greeting}\n\nThe report {code} was answered {rounds} times and the reporter "
            "says the problem is still not solved. It does not reopen again: it comes to you, "
            "with its whole history, to decide.",
        ),
        Language.ru: (
            "Сообщение {code} не решено после {rounds} ответов",
            "{greeting}\n\nНа сообщение {code} ответили {rounds} раза, и заявитель говорит, "
            "что проблема всё ещё не решена. Сообщение больше не открывается заново: оно "
            "передаётся вам со всей историей для решения.",
        ),
    },
    # Registering an address that reports were filed for: setting a password claims them.
    "claim_account": {
        Language.et: (
            "Looge oma meielinna konto",
            "{greeting}\n\nTeie aadressiga on linnale juba teateid esitatud. Konto loomiseks "
            "määrake parool siin:\n{link}\n\nKood: {token}\nLink kehtib {minutes} minutit. "
            "Kui te kontot ei loonud, jätke see kiri tähelepanuta.",
        ),
        Language.en: (
            "Create your meielinn account",
            "{greeting}\n\nReports were filed with the city for this address already. To "
            "create your account and see them, choose a password here:\n{link}\n\nCode: "
            "{token}\nThe link is valid for {minutes} minutes. If you did not ask for this, "
            "ignore this message.",
        ),
        Language.ru: (
            "Создайте учётную запись meielinn",
            "{greeting}\n\nС этим адресом уже подавались сообщения в город. Чтобы создать "
            "учётную запись и видеть их, задайте пароль здесь:\n{link}\n\nКод: {token}\n"
            "Ссылка действительна {minutes} мин. Если вы этого не просили, просто "
            "проигнорируйте это письмо.",
        ),
    },
    # To an address that may never have been verified: nothing in it is chosen by a
    # resident, and it names no person.
    "report_filed_for_you": {
        Language.et: (
            "Teie nimel esitati teade {code}",
            "{greeting}\n\n{filer} esitas teie nimel linnale teate {code}. Teile saadetakse "
            "teateid selle käigu kohta.\n\nKui te seda ei palunud, võtke teade tagasi:\n{link}",
        ),
        Language.en: (
            "A report {code} was filed for you",
            "{greeting}\n\n{filer} filed the report {code} with the city for you. You will hear "
            "how it goes.\n\nIf you did not ask for this, withdraw it here:\n{link}",
        ),
        Language.ru: (
            "От вашего имени подано сообщение {code}",
            "{greeting}\n\n{filer} подал(а) от вашего имени сообщение {code} в город. Вы "
            "будете получать уведомления о его ходе.\n\nЕсли вы этого не просили, отзовите "
            "сообщение:\n{link}",
        ),
    },
    # The SLA engine's notices to departments, supervisors, moderators and admins.
    # Placeholders: {code} the tracking code, {due} the deadline as the engine formats it,
    # {department} the department's name, {level} the escalation level (1, 2, …).
    "sla_reminder": {
        Language.et: (
            "Teate {code} tähtaeg on {due}",
            "{greeting}\n\nÜksuse {department} teatele {code} tuleb vastata hiljemalt {due}.",
        ),
        Language.en: (
            "Report {code} is due by {due}",
            "{greeting}\n\nThe report {code} of {department} must be answered by {due}.",
        ),
        Language.ru: (
            "Срок ответа на сообщение {code}: {due}",
            "{greeting}\n\nНа сообщение {code} (подразделение {department}) нужно ответить "
            "до {due}.",
        ),
    },
    "sla_breached": {
        Language.et: (
            "Teate {code} tähtaeg on ületatud",
            "{greeting}\n\nÜksuse {department} teatele {code} pidi vastama hiljemalt {due}, "
            "kuid vastust pole. Tähtaeg on ületatud.",
        ),
        Language.en: (
            "Report {code} is overdue",
            "{greeting}\n\nThe report {code} of {department} was to be answered by {due} "
            "and has not been. It is overdue.",
        ),
        Language.ru: (
            "Срок ответа на сообщение {code} нарушен",
            "{greeting}\n\nНа сообщение {code} (подразделение {department}) нужно было "
            "ответить до {due}, но ответа нет. Срок нарушен.",
        ),
    },
    "sla_escalated": {
        Language.et: (
            "Teade {code} edastati teile (tase {level})",
            "{greeting}\n\nÜksuse {department} teatele {code} pidi vastama hiljemalt {due}, "
            "kuid vastust pole endiselt. Teade edastati teile (eskaleerimise tase {level}).",
        ),
        Language.en: (
            "Report {code} was escalated to you (level {level})",
            "{greeting}\n\nThe report {code} of {department} was to be answered by {due} "
            "and still has not been. It was escalated to you (level {level}).",
        ),
        Language.ru: (
            "Сообщение {code} передано вам (уровень {level})",
            "{greeting}\n\nНа сообщение {code} (подразделение {department}) нужно было "
            "ответить до {due}, но ответа всё ещё нет. Сообщение передано вам (уровень "
            "эскалации {level}).",
        ),
    },
    "moderation_overdue": {
        Language.et: (
            "Teade {code} ootab modereerimist",
            "{greeting}\n\nTeade {code} pidi olema modereeritud hiljemalt {due}, kuid ootab "
            "endiselt otsust.",
        ),
        Language.en: (
            "Report {code} is waiting for moderation",
            "{greeting}\n\nThe report {code} was to be moderated by {due} and is still "
            "waiting for a decision.",
        ),
        Language.ru: (
            "Сообщение {code} ожидает модерации",
            "{greeting}\n\nСообщение {code} нужно было промодерировать до {due}, но решение "
            "ещё не принято.",
        ),
    },
    # The rating window of an answer closes soon and the reporter has not rated it.
    "rating_reminder": {
        Language.et: (
            "Kas teie mure {code} sai lahendatud?",
            "{greeting}\n\nTeie teatele {code} vastati. Hinnake vastust kuni {until}; kui mure "
            "ei ole lahendatud, öelge seda ja teade avatakse uuesti.",
        ),
        Language.en: (
            "Was your report {code} resolved?",
            "{greeting}\n\nYour report {code} was answered. Rate the answer until {until}; if "
            "the problem is not solved, say so and the report is reopened.",
        ),
        Language.ru: (
            "Решена ли проблема по сообщению {code}?",
            "{greeting}\n\nНа ваше сообщение {code} дан ответ. Оцените его до {until}; если "
            "проблема не решена, сообщите об этом, и сообщение будет открыто снова.",
        ),
    },
    # A building's ambassador filed for a neighbour, whose address may never have been
    # verified: the ambassador is named by the building, not by a name they chose.
    "report_filed_by_ambassador": {
        Language.et: (
            "Teie nimel esitati teade {code}",
            "{greeting}\n\nMaja {address} saadik esitas teie nimel linnale teate {code}. "
            "Teile saadetakse teateid selle käigu kohta.\n\nKui te seda ei palunud, võtke "
            "teade tagasi:\n{link}",
        ),
        Language.en: (
            "A report {code} was filed for you",
            "{greeting}\n\nThe ambassador of {address} filed the report {code} with the city "
            "for you. You will hear how it goes.\n\nIf you did not ask for this, withdraw "
            "it here:\n{link}",
        ),
        Language.ru: (
            "От вашего имени подано сообщение {code}",
            "{greeting}\n\nАмбассадор дома {address} подал(а) от вашего имени сообщение "
            "{code} в город. Вы будете получать уведомления о его ходе.\n\nЕсли вы этого "
            "не просили, отзовите сообщение:\n{link}",
        ),
    },
    # Training programmes (service.training.outreach).
    "training_programme_announced": {
        Language.et: (
            "Uus koolitusprogramm: {title}",
            "{greeting}\n\nTeie piirkonnas algab koolitusprogramm „{title}“.\n\n"
            "Koolitused:\n{schedule}\n\nVaadake ja registreeruge:\n{link}\n\nSaite selle "
            "kirja, sest liitusite piirkonna postiloendiga.",
        ),
        Language.en: (
            "A new training programme: {title}",
            "{greeting}\n\nThe training programme “{title}” starts in your area.\n\n"
            "Sessions:\n{schedule}\n\nSee it and enrol:\n{link}\n\nYou get this because "
            "you joined your area's mailing list.",
        ),
        Language.ru: (
            "Новая программа обучения: {title}",
            "{greeting}\n\nВ вашем районе начинается программа обучения «{title}».\n\n"
            "Занятия:\n{schedule}\n\nПодробности и запись:\n{link}\n\nВы получили это "
            "письмо, потому что подписались на рассылку вашего района.",
        ),
    },
    "training_session_changed": {
        Language.et: (
            "Koolitus muutus: {topic}",
            "{greeting}\n\nProgrammi „{title}“ koolitus on muutunud:\n{topic}\n{when}\n"
            "Koht: {venue}\n\n{link}",
        ),
        Language.en: (
            "A session changed: {topic}",
            "{greeting}\n\nA session of “{title}” has changed:\n{topic}\n{when}\n"
            "Venue: {venue}\n\n{link}",
        ),
        Language.ru: (
            "Занятие изменилось: {topic}",
            "{greeting}\n\nЗанятие программы «{title}» изменилось:\n{topic}\n{when}\n"
            "Место: {venue}\n\n{link}",
        ),
    },
    "training_place_given": {
        Language.et: (
            "Saite koha: {title}",
            "{greeting}\n\nProgrammis „{title}“ vabanes koht ja see on nüüd teie.\n\n{link}",
        ),
        Language.en: (
            "You have a place: {title}",
            "{greeting}\n\nA place in “{title}” came free, and it is yours now.\n\n{link}",
        ),
        Language.ru: (
            "Для вас нашлось место: {title}",
            "{greeting}\n\nВ программе «{title}» освободилось место, и теперь оно ваше.\n\n{link}",
        ),
    },
    "training_awarded": {
        Language.et: (
            "Palju õnne, olete oma maja saadik!",
            "{greeting}\n\nLäbisite programmi „{title}“ ja olete nüüd oma maja saadik "
            "({address}). Teie diplomi kontrollkood on {code}:\n{link}",
        ),
        Language.en: (
            "Congratulations, you are your building's ambassador!",
            "{greeting}\n\nYou completed “{title}” and are now the ambassador of your "
            "building ({address}). Your diploma's verification code is {code}:\n{link}",
        ),
        Language.ru: (
            "Поздравляем, вы амбассадор своего дома!",
            "{greeting}\n\nВы прошли программу «{title}» и теперь вы амбассадор своего "
            "дома ({address}). Код проверки вашего диплома — {code}:\n{link}",
        ),
    },
    **DEPARTMENT_EMAILS,
    **IDEA_EMAILS,
    **LAB_EMAILS,
}


def render(
    template: str, language: Language, name: str | None, **values: object
) -> tuple[str, str]:
    """Subject and body of ``template`` in ``language`` (English when it lacks one),
    greeting ``name``, or nobody by name when it is None."""
    named, plain = GREETINGS.get(language) or GREETINGS[Language.en]
    return _render(template, language, named.format(name=name) if name else plain, values)


def render_without_greeting(template: str, language: Language, **values: object) -> tuple[str, str]:
    """Like :func:`render`, without the greeting line (the in-app inbox)."""
    return _render(template, language, "", values)


def _render(
    template: str, language: Language, greeting: str, values: dict[str, object]
) -> tuple[str, str]:
    texts = EMAILS[template]
    subject, body = texts.get(language) or texts[Language.en]
    # Times and days are written out here, in the reader's language (``service.readable``).
    written = readable_values(values, language)
    return subject.format(**written), body.format(greeting=greeting, **written).lstrip()
