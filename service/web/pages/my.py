"""The signed-in person's own pages: their reports, their inbox of notifications and which
notifications they get. The same services as ``GET /v1/me/reports``,
``/v1/me/notifications`` and ``/v1/me/notification-preferences``: a person sees only their
own, and another person's notification is "not found" to them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from service.errors import InvalidInput
from service.notifications import inbox, preferences
from service.notifications.schemas import PreferencesUpdate
from service.reports import views
from service.web.dependencies import CSRF, PersonPage
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_
from service.web.pages import report_words
from service.web.templating import render

router = APIRouter(include_in_schema=False)
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE_SIZE = 20

REPORT_STATES = report_words.STATE_NAMES | {"awaiting_info": N_("Waiting for your answer")}


@router.get("/my/reports")
async def my_reports(page: PersonPage, cursor: Cursor = None) -> Response:
    items, next_cursor = await views.list_reports(
        page.session,
        page.person,
        views.ReportFilters(reporter_id=page.person.user_id),
        now=page.now,
        language=page.language.value,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    return render(
        page, "my/reports.html", reports=items, next_cursor=next_cursor, states=REPORT_STATES
    )


@router.get("/my/inbox")
async def my_inbox(
    page: PersonPage, cursor: Cursor = None, unread: Annotated[bool, Query()] = False
) -> Response:
    found = await inbox.list_notifications(
        page.session, page.person, unread_only=unread, cursor=cursor, limit=PAGE_SIZE
    )
    return render(page, "my/inbox.html", inbox=found, unread=unread)


@router.post("/my/inbox/read-all", dependencies=[CSRF])
async def read_all(page: PersonPage) -> Response:
    await inbox.mark_all_read(page.session, page.person, page.now)
    return RedirectResponse("/my/inbox", status_code=303)


@router.post("/my/inbox/{notification_id}/read", dependencies=[CSRF])
async def read_one(page: PersonPage, notification_id: uuid.UUID) -> Response:
    await inbox.mark_read(page.session, page.person, notification_id, page.now)
    return RedirectResponse(f"/my/inbox#n-{notification_id}", status_code=303)


async def _preferences_page(
    page: PersonPage,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    saved: bool = False,
) -> Response:
    current = await preferences.get_preferences(page.session, page.person)
    return render(
        page,
        "my/preferences.html",
        status_code=status_code,
        items=current.items,
        errors=errors or FormErrors(),
        saved=saved,
    )


@router.get("/my/preferences")
async def my_preferences(page: PersonPage, saved: Annotated[bool, Query()] = False) -> Response:
    return await _preferences_page(page, saved=saved)


@router.post("/my/preferences", dependencies=[CSRF])
async def save_preferences(page: PersonPage, request: Request) -> Response:
    """Checkboxes ``email:<event type>`` and ``inbox:<event type>``: a box left unticked is
    "off". Legal notices have no boxes to untick (the service refuses turning them off)."""
    form = await request.form()
    current = await preferences.get_preferences(page.session, page.person)
    changes = [
        {
            "event_type": item.event_type,
            "email": form.get(f"email:{item.event_type}") == "on",
            "inbox": form.get(f"inbox:{item.event_type}") == "on",
        }
        for item in current.items
        if not item.legal
    ]
    try:
        body = parse(PreferencesUpdate, {"items": changes})
        await preferences.set_preferences(page.session, page.person, body.items, page.now)
    except ValidationError as exc:
        return await _preferences_page(
            page, status_code=422, errors=field_errors(exc, page.language)
        )
    except InvalidInput as exc:
        return await _preferences_page(page, status_code=422, errors=app_error(exc, page.language))
    return RedirectResponse("/my/preferences?saved=true", status_code=303)
