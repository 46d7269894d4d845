"""The event types people and integrators can choose from.

Each notice names its event type (``Notice.event_type``). People turn channels on and off
per type (``/v1/me/notification-preferences``) and webhooks subscribe to types
(``/v1/admin/webhooks``), both from this list. A type that is ``legal`` is a notice the city
must deliver (an answer to a report, a decision not to handle one): the preferences cannot
turn it off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    """``templates``: the texts a notice of this type may use (``mail.templates``);
    by default the one named like the type."""

    name: str
    description: str
    legal: bool = False
    templates: tuple[str, ...] = ()

    def template_names(self) -> tuple[str, ...]:
        return self.templates or (self.name,)


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType("report_accepted", "Your report was accepted and passed to a department."),
        EventType(
            "report_rejected",
            "Your report could not be taken on, and why (the city's decision on it).",
            legal=True,
        ),
        EventType("report_duplicate", "Your report was merged into an earlier one."),
        EventType(
            "answer_published",
            "The city answered your report.",
            legal=True,
            templates=("answer_published", "answer_published_reporter"),
        ),
        EventType(
            "clarification_requested",
            "The department asks you a question about your report (its deadline waits for "
            "your answer; without one the report may be closed).",
            legal=True,
        ),
        EventType("clarification_answered", "The reporter answered your department's question."),
        EventType("answer_returned", "A moderator returned your answer, with a comment."),
        EventType("report_reopened", "A report your department answered was reopened."),
        EventType(
            "report_referred",
            "A report is still not resolved after its last round: it comes to you to decide.",
        ),
        EventType("report_transferred", "A report was transferred to your department."),
        EventType("transfer_requested", "Another department asks yours to take a report."),
        EventType(
            "transfer_decided",
            "Your department's transfer request was decided.",
            templates=("transfer_accepted", "transfer_declined"),
        ),
        EventType("extension_requested", "Staff ask for a later deadline of a report."),
        EventType(
            "extension_decided",
            "Your request for a later deadline was decided.",
            templates=("extension_approved", "extension_declined"),
        ),
        EventType("sla_reminder", "A report of your department is due soon."),
        EventType("sla_breached", "A report of your department is overdue."),
        EventType("sla_escalated", "An overdue report was escalated to you."),
        EventType("moderation_overdue", "A report has waited too long for moderation."),
        EventType("rating_reminder", "The time to rate an answer to your report ends soon."),
        EventType(
            "training_programme_announced",
            "A training programme in your building's area was announced (the mailing list).",
        ),
        EventType("training_session_changed", "A session of your training programme changed."),
        EventType("training_place_given", "A place in a training programme came free for you."),
        EventType("training_awarded", "You were awarded as your building's ambassador."),
        EventType("idea_checks_failed", "Your idea did not pass the automatic checks, and why."),
        EventType(
            "idea_checks_passed", "Your idea passed the automatic checks; experts assess it."
        ),
        EventType("idea_reviews_closed", "The experts have assessed your idea."),
        EventType("idea_design_approved", "The project office passed your idea to the committee."),
        EventType("idea_design_returned", "The project office returned your idea for revision."),
        EventType(
            "idea_design_rejected", "The project office rejected your idea, and why.", legal=True
        ),
        EventType("idea_decided", "The committee decided on your idea.", legal=True),
        EventType("idea_review_assigned", "An idea was given to you to assess."),
        EventType("idea_review_reminder", "Your assessment of an idea is due soon."),
        EventType("idea_review_lapsed", "Your assessment of an idea passed its deadline."),
        EventType(
            "idea_design_waiting", "An idea assessed by experts waits for the project office."
        ),
        EventType("lab_invitation", "You were drawn to test a pilot of the living lab."),
        EventType("lab_task_opened", "A pilot you test asks something new of you."),
        EventType("lab_task_reminder", "A task of a pilot you test is due soon."),
    )
}


def is_legal(event_type: str) -> bool:
    event = EVENT_TYPES.get(event_type)
    return event is not None and event.legal
