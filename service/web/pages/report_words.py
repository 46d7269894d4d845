"""Words the report pages show for the service's codes: states, timeline events, answer
outcomes. The codes are the API's; only their names for a reader live here."""

from __future__ import annotations

from service.web.i18n import N_

STATE_NAMES = {
    "draft": N_("Draft"),
    "submitted": N_("Waiting for moderation"),
    "accepted": N_("Accepted"),
    "in_progress": N_("In progress"),
    "awaiting_info": N_("Waiting for the reporter's answer"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "rejected": N_("Rejected"),
    "transferred": N_("Transferred"),
    "duplicate": N_("Merged into another report"),
    "withdrawn": N_("Withdrawn"),
}

# The badge colour of a state: ok (done), warn (waiting), bad (refused); none otherwise.
STATE_TONES = {
    "answered": "ok",
    "closed": "ok",
    "awaiting_info": "warn",
    "draft": "warn",
    "submitted": "warn",
    "rejected": "bad",
    "withdrawn": "bad",
}

EVENT_NAMES = {
    "filed": N_("Filed"),
    "submit": N_("Sent to moderation"),
    "accept": N_("Accepted by the moderator"),
    "reject": N_("Rejected by the moderator"),
    "mark_duplicate": N_("Merged into another report"),
    "start_work": N_("Work started"),
    "ask_info": N_("The department asked a question"),
    "receive_info": N_("The reporter answered the question"),
    "answer": N_("Answered"),
    "close": N_("Closed"),
    "reopen": N_("Reopened"),
    "transfer": N_("Transferred to another department"),
    "receive_transfer": N_("Received by the new department"),
    "withdraw": N_("Withdrawn by the reporter"),
    "rating": N_("The reporter rated the answer"),
    "supporter_rating": N_("A supporter rated the answer"),
    "photo_added": N_("Photo added"),
    "photo_removed": N_("Photo removed"),
    "edited": N_("Changed by the reporter"),
    "ambassador_confirmed": N_("Confirmed by the building's ambassador"),
    "extension": N_("Deadline extended"),
}

OUTCOME_NAMES = {
    "fixed": N_("Fixed"),
    "scheduled": N_("Scheduled"),
    "not_ours": N_("Not the city's to fix"),
    "no_action": N_("No action"),
}

WAITING_FOR = {
    "photo": N_(
        "This draft waits for its photo: the reason needs one before the report is "
        "sent to moderation."
    ),
    "submit": N_("This draft has its photo and waits to be sent to moderation."),
    "reply": N_("The department asked you a question: the report waits for your answer."),
}
