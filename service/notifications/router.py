"""Notification endpoints: the inbox and preferences of the signed-in person (never an API
key), and the admins' webhook endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from service.auth.dependencies import AdminActor, PersonActor, SettingsDep
from service.auth.policy import OWN
from service.clock import NowDep
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM
from service.notifications import inbox, preferences
from service.notifications.models import WebhookEndpoint
from service.notifications.schemas import (
    MarkedRead,
    NotificationPage,
    NotificationPublic,
    Preferences,
    PreferencesUpdate,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPage,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookUpdate,
)
from service.notifications.webhooks import service as webhooks
from service.pagination import Cursor, PageSize

PERSON_ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 403: PROBLEM, 422: PROBLEM}

me = APIRouter(prefix="/v1/me", tags=["notifications"])


@me.get("/notifications", summary="My notifications, newest first", responses=PERSON_ERRORS)
async def list_notifications(
    actor: PersonActor,
    session: SessionDep,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    cursor: Cursor = None,
    limit: PageSize = 50,
) -> NotificationPage:
    return await inbox.list_notifications(
        session, actor, unread_only=unread, cursor=cursor, limit=limit
    )


@me.post(
    "/notifications/read-all", summary="Mark all my notifications read", responses=PERSON_ERRORS
)
async def mark_all_read(actor: PersonActor, session: SessionDep, now: NowDep) -> MarkedRead:
    marked, unread = await inbox.mark_all_read(session, actor, now)
    return MarkedRead(marked=marked, unread_count=unread)


@me.post(
    "/notifications/{notification_id}/read",
    dependencies=[OWN],
    summary="Mark one of my notifications read",
    responses=ERRORS,
)
async def mark_read(
    notification_id: uuid.UUID, actor: PersonActor, session: SessionDep, now: NowDep
) -> NotificationPublic:
    return await inbox.mark_read(session, actor, notification_id, now)


@me.get(
    "/notification-preferences",
    summary="Which notifications I get, per event type and channel",
    responses=PERSON_ERRORS,
)
async def get_preferences(actor: PersonActor, session: SessionDep) -> Preferences:
    return await preferences.get_preferences(session, actor)


@me.put(
    "/notification-preferences",
    summary="Turn channels on or off per event type (legal notices stay on)",
    responses=PERSON_ERRORS,
)
async def set_preferences(
    body: PreferencesUpdate, actor: PersonActor, session: SessionDep, now: NowDep
) -> Preferences:
    return await preferences.set_preferences(session, actor, body.items, now)


# --- /v1/admin/webhooks ------------------------------------------------------------------

admin = APIRouter(prefix="/v1/admin/webhooks", tags=["admin"])
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    422: PROBLEM,
}


def webhook_public(webhook: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=webhook.id,
        url=webhook.url,
        description=webhook.description,
        event_types=webhook.event_types,
        active=webhook.active,
        consecutive_failures=webhook.consecutive_failures,
        disabled_at=webhook.disabled_at,
        disabled_reason=webhook.disabled_reason,
        last_success_at=webhook.last_success_at,
        last_failure_at=webhook.last_failure_at,
        secret_hint=webhook.secret_hint + "…",
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


@admin.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook endpoint (its secret is in this answer only)",
    responses=ADMIN_ERRORS,
)
async def create_webhook(
    body: WebhookCreate,
    actor: AdminActor,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    now: NowDep,
) -> WebhookCreated:
    webhook, secret = await webhooks.create_webhook(session, actor, settings, body, now)
    response.headers["Location"] = f"/v1/admin/webhooks/{webhook.id}"
    return WebhookCreated(**webhook_public(webhook).model_dump(), secret=secret)


@admin.get("", summary="Webhook endpoints (without their secrets)", responses=ADMIN_ERRORS)
async def list_webhooks(actor: AdminActor, session: SessionDep) -> list[WebhookPublic]:
    return [webhook_public(w) for w in await webhooks.list_webhooks(session)]


@admin.get("/{webhook_id}", summary="One webhook endpoint", responses=ADMIN_ERRORS)
async def get_webhook(
    webhook_id: uuid.UUID, actor: AdminActor, session: SessionDep
) -> WebhookPublic:
    return webhook_public(await webhooks.get_webhook(session, webhook_id))


@admin.patch(
    "/{webhook_id}",
    summary="Change a webhook endpoint; enable it again after failures",
    responses=ADMIN_ERRORS,
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    actor: AdminActor,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> WebhookPublic:
    webhook = await webhooks.update_webhook(session, actor, settings, webhook_id, body, now)
    return webhook_public(webhook)


@admin.post(
    "/{webhook_id}/rotate-secret",
    summary="Give a webhook endpoint a new secret (in this answer only)",
    responses=ADMIN_ERRORS,
)
async def rotate_secret(
    webhook_id: uuid.UUID,
    actor: AdminActor,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> WebhookCreated:
    webhook, secret = await webhooks.rotate_secret(session, actor, settings, webhook_id, now)
    return WebhookCreated(**webhook_public(webhook).model_dump(), secret=secret)


@admin.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint and its delivery log",
    responses=ADMIN_ERRORS,
)
async def delete_webhook(webhook_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> Response:
    await webhooks.delete_webhook(session, actor, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin.get(
    "/{webhook_id}/deliveries",
    summary="A webhook endpoint's delivery log, newest first",
    responses=ADMIN_ERRORS,
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    actor: AdminActor,
    session: SessionDep,
    cursor: Cursor = None,
    limit: PageSize = 50,
) -> WebhookDeliveryPage:
    rows, next_cursor = await webhooks.list_deliveries(
        session, webhook_id, cursor=cursor, limit=limit
    )
    return WebhookDeliveryPage(
        items=[
            WebhookDeliveryPublic(
                id=row.NotificationDelivery.id,
                event_id=row.NotificationDelivery.event_id,
                event_type=row.event_type,
                status=row.NotificationDelivery.status,
                attempts=row.NotificationDelivery.attempts,
                last_error=row.NotificationDelivery.last_error,
                created_at=row.NotificationDelivery.created_at,
                updated_at=row.NotificationDelivery.updated_at,
                next_attempt_at=row.NotificationDelivery.next_attempt_at,
                sent_at=row.NotificationDelivery.sent_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


router = APIRouter()
for sub in (me, admin):
    router.include_router(sub)
