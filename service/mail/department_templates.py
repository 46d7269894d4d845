"""Texts of the notices about a report's work between the reporter, its department and the
department's supervisors (et, en, ru), merged into ``templates.EMAILS``.

Values are the report's tracking code, department names and codes, deadlines already
formatted for people to read, and the staff's own words (a question, a justification, a
reason); never a resident's contact details.
"""

from __future__ import annotations

from service.languages import Language

DEPARTMENT_EMAILS: dict[str, dict[Language, tuple[str, str]]] = {
    "clarification_answered": {
        Language.et: (
            "Teavitaja vastas küsimusele teate {code} kohta",
            "{greeting}\n\nTeate {code} esitaja vastas teie küsimusele. Tähtaeg jätkub: "
            "uus tähtaeg on {due}.",
        ),
        Language.en: (
            "The reporter answered your question about {code}",
            "{greeting}\n\nThe reporter of {code} answered your question. The clock runs "
            "again: the report is now due by {due}.",
        ),
        Language.ru: (
            "Заявитель ответил на вопрос по сообщению {code}",
            "{greeting}\n\nАвтор сообщения {code} ответил на ваш вопрос. Срок снова идёт: "
            "новый срок ответа — {due}.",
        ),
    },
    "report_reopened": {
        Language.et: (
            "Teade {code} avati uuesti",
            "{greeting}\n\nTeate {code} esitaja ütleb, et mure ei ole lahendatud. Teade on "
            "teie üksuses uuesti avatud ({round}. voor); uus tähtaeg on {due}.",
        ),
        Language.en: (
            "Report {code} was reopened",
            "{greeting}\n\nThe reporter of {code} says the problem is not solved. The report "
            "is open again in your department (round {round}); it is due by {due}.",
        ),
        Language.ru: (
            "Сообщение {code} открыто снова",
            "{greeting}\n\nАвтор сообщения {code} говорит, что проблема не решена. Сообщение "
            "снова открыто в вашем подразделении (раунд {round}); срок ответа — {due}.",
        ),
    },
    "report_transferred": {
        Language.et: (
            "Teade {code} anti üle teie üksusele",
            "{greeting}\n\nTeade {code} anti üksusest {from_department} üle üksusele "
            "{department}. Põhjus: {reason}\nTähtaeg: {due}.",
        ),
        Language.en: (
            "Report {code} was transferred to your department",
            "{greeting}\n\nThe report {code} was transferred from {from_department} to "
            "{department}. Why: {reason}\nDue by {due}.",
        ),
        Language.ru: (
            "Сообщение {code} передано вашему подразделению",
            "{greeting}\n\nСообщение {code} передано из подразделения {from_department} в "
            "подразделение {department}. Причина: {reason}\nСрок ответа — {due}.",
        ),
    },
    "transfer_requested": {
        Language.et: (
            "Üksus {from_department} palub teil teate {code} üle võtta",
            "{greeting}\n\nÜksus {from_department} palub, et {department} võtaks teate {code} "
            "üle. Põhjus: {reason}\n\nNõustuge või keelduge taotluste loetelus.",
        ),
        Language.en: (
            "{from_department} asks you to take report {code}",
            "{greeting}\n\n{from_department} asks {department} to take the report {code}. "
            "Why: {reason}\n\nAccept or decline it in the list of transfer requests.",
        ),
        Language.ru: (
            "Подразделение {from_department} просит принять сообщение {code}",
            "{greeting}\n\nПодразделение {from_department} просит подразделение {department} "
            "принять сообщение {code}. Причина: {reason}\n\nПримите или отклоните запрос в "
            "списке запросов на передачу.",
        ),
    },
    "transfer_accepted": {
        Language.et: (
            "Teate {code} üleandmine kinnitati",
            "{greeting}\n\n{department} võttis teate {code} üle.{note}",
        ),
        Language.en: (
            "The transfer of {code} was accepted",
            "{greeting}\n\n{department} took over the report {code}.{note}",
        ),
        Language.ru: (
            "Передача сообщения {code} принята",
            "{greeting}\n\nПодразделение {department} приняло сообщение {code}.{note}",
        ),
    },
    "transfer_declined": {
        Language.et: (
            "Teate {code} üleandmisest keelduti",
            "{greeting}\n\n{department} ei võtnud teadet {code} üle; see jääb teie üksusele.{note}",
        ),
        Language.en: (
            "The transfer of {code} was declined",
            "{greeting}\n\n{department} did not take over the report {code}; it stays with "
            "your department.{note}",
        ),
        Language.ru: (
            "В передаче сообщения {code} отказано",
            "{greeting}\n\nПодразделение {department} не приняло сообщение {code}; оно "
            "остаётся в вашем подразделении.{note}",
        ),
    },
    "extension_requested": {
        Language.et: (
            "Teatele {code} palutakse pikemat tähtaega",
            "{greeting}\n\nTeate {code} tähtaeg on {current_due}; palutakse {due}. "
            "Põhjendus: {justification}\n\nKinnitage või keelduge taotluste loetelus.",
        ),
        Language.en: (
            "A later deadline is asked for report {code}",
            "{greeting}\n\nThe report {code} is due by {current_due}; {due} is asked for. "
            "Why: {justification}\n\nApprove or decline it in the list of extension requests.",
        ),
        Language.ru: (
            "Для сообщения {code} просят продлить срок",
            "{greeting}\n\nСрок ответа на сообщение {code} — {current_due}; просят {due}. "
            "Обоснование: {justification}\n\nОдобрите или отклоните запрос в списке "
            "запросов на продление.",
        ),
    },
    "extension_approved": {
        Language.et: (
            "Teate {code} tähtaega pikendati",
            "{greeting}\n\nTeate {code} uus tähtaeg on {due}.{note}",
        ),
        Language.en: (
            "The deadline of {code} was extended",
            "{greeting}\n\nThe report {code} is now due by {due}.{note}",
        ),
        Language.ru: (
            "Срок ответа на сообщение {code} продлён",
            "{greeting}\n\nНовый срок ответа на сообщение {code} — {due}.{note}",
        ),
    },
    "extension_declined": {
        Language.et: (
            "Teate {code} tähtaega ei pikendatud",
            "{greeting}\n\nTeate {code} tähtaeg jääb samaks: {due}.{note}",
        ),
        Language.en: (
            "The deadline of {code} was not extended",
            "{greeting}\n\nThe report {code} stays due by {due}.{note}",
        ),
        Language.ru: (
            "Срок ответа на сообщение {code} не продлён",
            "{greeting}\n\nСрок ответа на сообщение {code} остаётся прежним: {due}.{note}",
        ),
    },
}
