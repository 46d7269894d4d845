"""What an API key may do. A key acts only through these scopes, never through its owner's
roles: a key an admin made for a partner app is not an admin.

* ``reports:write`` — file reports as the key's owner, edit and withdraw them, photos,
  support and subscribe.
* ``reports:read`` — read the owner's own reports (``/v1/me/reports``) and their private
  parts; public reads need no scope.
* ``reports:on_behalf`` — file for a resident named by email (a call centre, a partner app).
* ``reports:private`` — read every report with its personal data, as a moderator reads
  (a city's own case system); grants no moderation.
* ``open311:write`` — Open311 GeoReport v2 ``POST requests``.
* ``open311:updates`` — Open311 ``POST servicerequestupdates``: the city's own case system
  (CRM) posting status notes and status changes of any public report, as the handling
  department would (city-wide, like ``reports:private``; grants no moderation).
* ``ideas:write`` — propose ideas to the idea bank as the key's owner: drafts, edits,
  attachments, submission and withdrawal, supports, and reading the owner's own ideas.
  Reviewing, the project office's and the committee's decisions need a signed-in person.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    reports_write = "reports:write"
    reports_read = "reports:read"
    reports_on_behalf = "reports:on_behalf"
    reports_private = "reports:private"
    open311_write = "open311:write"
    open311_updates = "open311:updates"
    ideas_write = "ideas:write"
