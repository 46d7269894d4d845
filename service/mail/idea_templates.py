"""Texts of the idea bank's notices (et, en, ru), merged into ``templates.EMAILS``.

Nothing here names an author to an expert or an expert to an author: the values are the
idea's title, dates and the decisions' own words.
"""

from __future__ import annotations

from service.languages import Language

IDEA_EMAILS: dict[str, dict[Language, tuple[str, str]]] = {
    "idea_checks_failed": {
        Language.et: (
            "Idee „{title}“ vajab parandamist",
            "{greeting}\n\nTeie idee „{title}“ ei läbinud automaatset kontrolli:\n{reasons}\n\n"
            "Parandage idee ja esitage see uuesti.",
        ),
        Language.en: (
            "Your idea “{title}” needs changes",
            "{greeting}\n\nYour idea “{title}” did not pass the automatic checks:\n{reasons}\n\n"
            "Change it and submit it again.",
        ),
        Language.ru: (
            "Идею «{title}» нужно доработать",
            "{greeting}\n\nВаша идея «{title}» не прошла автоматическую проверку:\n{reasons}\n\n"
            "Исправьте её и отправьте снова.",
        ),
    },
    "idea_checks_passed": {
        Language.et: (
            "Idee „{title}“ läbis kontrolli",
            "{greeting}\n\nTeie idee „{title}“ läbis automaatse kontrolli ja on nüüd avalik. "
            "Järgmisena hindavad seda eksperdid.",
        ),
        Language.en: (
            "Your idea “{title}” passed the checks",
            "{greeting}\n\nYour idea “{title}” passed the automatic checks and is public now. "
            "Experts assess it next.",
        ),
        Language.ru: (
            "Идея «{title}» прошла проверку",
            "{greeting}\n\nВаша идея «{title}» прошла автоматическую проверку и опубликована. "
            "Далее её оценят эксперты.",
        ),
    },
    "idea_reviews_closed": {
        Language.et: (
            "Eksperdid hindasid ideed „{title}“",
            "{greeting}\n\nEksperdid on teie idee „{title}“ hinnanud. Järgmisena vaatab selle "
            "läbi projektibüroo.",
        ),
        Language.en: (
            "Experts have assessed “{title}”",
            "{greeting}\n\nExperts have assessed your idea “{title}”. The project office "
            "reviews its design next.",
        ),
        Language.ru: (
            "Эксперты оценили идею «{title}»",
            "{greeting}\n\nЭксперты оценили вашу идею «{title}». Далее её рассмотрит "
            "проектный офис.",
        ),
    },
    "idea_design_approved": {
        Language.et: (
            "Idee „{title}“ läheb komisjoni",
            "{greeting}\n\nProjektibüroo kiitis teie idee „{title}“ heaks ja andis selle "
            "komisjonile otsustamiseks.\n\n{comment}",
        ),
        Language.en: (
            "Your idea “{title}” goes to the committee",
            "{greeting}\n\nThe project office approved your idea “{title}” and passed it to "
            "the committee for a decision.\n\n{comment}",
        ),
        Language.ru: (
            "Идея «{title}» передана комиссии",
            "{greeting}\n\nПроектный офис одобрил вашу идею «{title}» и передал её комиссии."
            "\n\n{comment}",
        ),
    },
    "idea_design_returned": {
        Language.et: (
            "Idee „{title}“ tagastati täiendamiseks",
            "{greeting}\n\nProjektibüroo tagastas teie idee „{title}“ täiendamiseks:\n"
            "{comment}\n\nTäiendage ideed ja esitage see uuesti.",
        ),
        Language.en: (
            "Your idea “{title}” was returned for revision",
            "{greeting}\n\nThe project office returned your idea “{title}” for revision:\n"
            "{comment}\n\nRevise it and submit it again.",
        ),
        Language.ru: (
            "Идея «{title}» возвращена на доработку",
            "{greeting}\n\nПроектный офис вернул вашу идею «{title}» на доработку:\n"
            "{comment}\n\nДоработайте её и отправьте снова.",
        ),
    },
    "idea_design_rejected": {
        Language.et: (
            "Idee „{title}“ lükati tagasi",
            "{greeting}\n\nProjektibüroo lükkas teie idee „{title}“ tagasi:\n{comment}",
        ),
        Language.en: (
            "Your idea “{title}” was rejected",
            "{greeting}\n\nThe project office rejected your idea “{title}”:\n{comment}",
        ),
        Language.ru: (
            "Идея «{title}» отклонена",
            "{greeting}\n\nПроектный офис отклонил вашу идею «{title}»:\n{comment}",
        ),
    },
    "idea_decided": {
        Language.et: (
            "Komisjoni otsus ideele „{title}“: {decision}",
            "{greeting}\n\nKomisjon otsustas teie idee „{title}“ kohta: {decision}.\n\n"
            "Põhjendus:\n{reasoning}",
        ),
        Language.en: (
            "The committee's decision on “{title}”: {decision}",
            "{greeting}\n\nThe committee decided on your idea “{title}”: {decision}.\n\n"
            "Reasoning:\n{reasoning}",
        ),
        Language.ru: (
            "Решение комиссии по идее «{title}»: {decision}",
            "{greeting}\n\nКомиссия приняла решение по вашей идее «{title}»: {decision}.\n\n"
            "Обоснование:\n{reasoning}",
        ),
    },
    "idea_review_assigned": {
        Language.et: (
            "Hinnake ideed „{title}“",
            "{greeting}\n\nTeile anti hindamiseks idee „{title}“. Tähtaeg: {due}.",
        ),
        Language.en: (
            "Please assess “{title}”",
            "{greeting}\n\nThe idea “{title}” was given to you to assess. Due: {due}.",
        ),
        Language.ru: (
            "Оцените идею «{title}»",
            "{greeting}\n\nВам передана на оценку идея «{title}». Срок: {due}.",
        ),
    },
    "idea_review_reminder": {
        Language.et: (
            "Idee „{title}“ hindamise tähtaeg läheneb",
            "{greeting}\n\nIdee „{title}“ hinnang on oodatud hiljemalt {due}.",
        ),
        Language.en: (
            "Your assessment of “{title}” is due soon",
            "{greeting}\n\nYour assessment of the idea “{title}” is due by {due}.",
        ),
        Language.ru: (
            "Срок оценки идеи «{title}» истекает",
            "{greeting}\n\nОценку идеи «{title}» нужно отправить до {due}.",
        ),
    },
    "idea_review_lapsed": {
        Language.et: (
            "Idee „{title}“ hindamise tähtaeg möödus",
            "{greeting}\n\nIdee „{title}“ hindamise tähtaeg möödus ja see anti teisele eksperdile.",
        ),
        Language.en: (
            "The assessment of “{title}” passed its deadline",
            "{greeting}\n\nThe deadline of your assessment of “{title}” passed; another "
            "expert has it now.",
        ),
        Language.ru: (
            "Срок оценки идеи «{title}» истёк",
            "{greeting}\n\nСрок оценки идеи «{title}» истёк; её передали другому эксперту.",
        ),
    },
    "idea_design_waiting": {
        Language.et: (
            "Idee „{title}“ ootab projektibürood",
            "{greeting}\n\nEksperdid hindasid ideed „{title}“ (keskmine {score}). See ootab "
            "projektibüroo otsust.",
        ),
        Language.en: (
            "“{title}” waits for the project office",
            "{greeting}\n\nExperts assessed the idea “{title}” (mean score {score}). It waits "
            "for the project office's decision.",
        ),
        Language.ru: (
            "Идея «{title}» ждёт проектный офис",
            "{greeting}\n\nЭксперты оценили идею «{title}» (средний балл {score}). Она ждёт "
            "решения проектного офиса.",
        ),
    },
}
