"""What the lower layers look up at run time, installed from the top.

A package never imports one above it. Where a lower one needs what only a higher one knows,
it declares the need and the entry points fill it here, once, when this module is imported
(``service.main``, ``workers.main`` and ``service.cli`` import it):

* the privacy registry gets every package's personal data (a package with a
  ``personal_data.py`` adds a line here; ``tests/test_privacy.py`` checks that none is
  missing). They are exported, and erased, in this order, the account's step last;
* identity reaches a supervisor's departments through the city's department tree;
* the report's life cycle withdraws an answer waiting for moderation when the report moves
  to another department (the answers are feedback's).
"""

from __future__ import annotations

from service.auth import personal_data as account
from service.auth import supervision
from service.city import service as city
from service.feedback import answer_moderation
from service.feedback import personal_data as feedback
from service.ideas import personal_data as ideas
from service.lab import personal_data as lab
from service.notifications import personal_data as notifications
from service.privacy import registry
from service.reports import lifecycle
from service.reports import personal_data as reports
from service.training import personal_data as training

registry.register(
    reports.PERSONAL_DATA,
    feedback.PERSONAL_DATA,
    training.PERSONAL_DATA,
    ideas.PERSONAL_DATA,
    lab.PERSONAL_DATA,
    notifications.PERSONAL_DATA,
    account.PERSONAL_DATA,
)
supervision.install(city.department_subtree)
lifecycle.on_transfer(answer_moderation.withdraw_on_transfer)
