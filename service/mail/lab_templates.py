"""Texts of the living lab's notices (et, en, ru), merged into ``templates.EMAILS``.

A task's title is given in every language (``title_et``, ``title_en``, ``title_ru``): each
reader's text takes its own.
"""

from __future__ import annotations

from service.languages import Language

LAB_EMAILS: dict[str, dict[Language, tuple[str, str]]] = {
    "lab_invitation": {
        Language.et: (
            "Kutse testima: „{title}“",
            "{greeting}\n\nTeid valiti juhuvalimiga elavlabori testpaneelist testima pilooti "
            "„{title}“ ({organisation}). Piloodi aeg: {starts} – {ends}.\n\n"
            "Vastake kutsele hiljemalt {respond_by} meielinna lehel „Elavlabor“. Korraldaja "
            "ei saa teada, kes osales.",
        ),
        Language.en: (
            "An invitation to test “{title}”",
            "{greeting}\n\nYou were drawn at random from the living lab's test panel to test "
            "the pilot “{title}” ({organisation}), running from {starts} to {ends}.\n\n"
            "Accept or decline by {respond_by} on meielinn's Living lab page. The organisation "
            "never learns who took part.",
        ),
        Language.ru: (
            "Приглашение протестировать «{title}»",
            "{greeting}\n\nВы случайно выбраны из тестовой панели живой лаборатории для "
            "тестирования пилота «{title}» ({organisation}) с {starts} по {ends}.\n\n"
            "Ответьте на приглашение до {respond_by} на странице «Живая лаборатория» meielinn. "
            "Организатор не узнает, кто участвовал.",
        ),
    },
    "lab_task_opened": {
        Language.et: (
            "Uus ülesanne: „{title_et}“",
            "{greeting}\n\nTestitav piloot ootab teilt vastust: „{title_et}“. Vastake "
            "hiljemalt {due} meielinna lehel „Elavlabor“.",
        ),
        Language.en: (
            "A new task: “{title_en}”",
            "{greeting}\n\nA pilot you test asks something of you: “{title_en}”. Answer by "
            "{due} on meielinn's Living lab page.",
        ),
        Language.ru: (
            "Новое задание: «{title_ru}»",
            "{greeting}\n\nПилот, который вы тестируете, ждёт вашего ответа: «{title_ru}». "
            "Ответьте до {due} на странице «Живая лаборатория» meielinn.",
        ),
    },
    "lab_task_reminder": {
        Language.et: (
            "Meeldetuletus: „{title_et}“",
            "{greeting}\n\nÜlesande „{title_et}“ tähtaeg on {due}. Kui teil on aega, vastake "
            "meielinna lehel „Elavlabor“.",
        ),
        Language.en: (
            "A reminder: “{title_en}”",
            "{greeting}\n\n“{title_en}” is due {due}. If you have a moment, answer it on "
            "meielinn's Living lab page.",
        ),
        Language.ru: (
            "Напоминание: «{title_ru}»",
            "{greeting}\n\nСрок задания «{title_ru}» — {due}. Если у вас есть время, ответьте "
            "на странице «Живая лаборатория» meielinn.",
        ),
    },
}
