"""Every package's personal data, in erasure order: the account last, because the steps
before it read the name and email address it removes. A new package that stores personal
data adds its ``PERSONAL_DATA`` here (see ``service.privacy.registry``)."""

from __future__ import annotations

from service.auth import personal_data as account
from service.feedback import personal_data as feedback
from service.ideas import personal_data as ideas
from service.notifications import personal_data as notifications
from service.privacy.registry import PersonalData
from service.reports import personal_data as reports
from service.training import personal_data as training

STEPS: tuple[PersonalData, ...] = (
    reports.PERSONAL_DATA,
    feedback.PERSONAL_DATA,
    training.PERSONAL_DATA,
    ideas.PERSONAL_DATA,
    notifications.PERSONAL_DATA,
    account.PERSONAL_DATA,
)
