"""Webhooks: admins manage endpoints; each matching event is POSTed, signed, to a real HTTP
receiver in the test, retried with backoff, the endpoint disabled after failures in a row;
URLs that resolve to the city's own network are refused when saved and when delivering."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import Role, User
from service.auth.schemas import ApiKeyCreate
from service.auth.scopes import Scope
from service.config import Settings
from service.mail.models import DeliveryStatus
from service.notifications.dispatch import Notice, notify
from service.notifications.models import (
    Channel,
    NotificationDelivery,
    NotificationEvent,
    WebhookEndpoint,
)
from service.notifications.webhooks import delivery as webhook_delivery
from service.notifications.webhooks import signing
from service.outbox.models import OutboxJob
from tests.conftest import RunWorker
from tests.factories import actor_of, bearer, make_user


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that checks each request's signature itself and
    answers with the scripted statuses (then 204)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    secret: str = ""
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("Meielinn-Signature", "")
            parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
            expected = hmac.new(
                state.secret.encode(), f"{parts.get('t')}.".encode() + body, hashlib.sha256
            ).hexdigest()
            valid = hmac.compare_digest(expected, parts.get("v1", "")) and (
                abs(time.time() - int(parts.get("t", "0"))) < 300
            )
            state.requests.append(Received(self.path, dict(self.headers), body, valid))
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/meielinn"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def _admin_headers(session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    return bearer(settings, admin)


async def _create(
    client: AsyncClient, headers: dict[str, str], url: str, events: list[str]
) -> dict[str, Any]:
    response = await client.post(
        "/v1/admin/webhooks", json={"url": url, "event_types": events}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _breach(key: str = "breach:r1:1:1") -> Notice:
    return Notice(
        event_type="sla_breached",
        event_key=key,
        template="sla_breached",
        values={"code": "ML-2026-00042", "due": "3.12.2026 16:00", "department": "Roads"},
    )


async def _delivery(session: AsyncSession, webhook_id: str) -> NotificationDelivery:
    row = (
        await session.execute(
            select(NotificationDelivery)
            .where(NotificationDelivery.webhook_id == uuid.UUID(webhook_id))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def _endpoint(session: AsyncSession, webhook_id: str) -> WebhookEndpoint:
    row = (
        await session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(webhook_id))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


# --- delivery ----------------------------------------------------------------------------


async def test_an_event_is_posted_signed_and_retried_after_a_500(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    receiver: Receiver,
    run_worker: RunWorker,
    now: datetime,
) -> None:
    headers = await _admin_headers(session, settings)
    created = await _create(client, headers, receiver.url, ["sla_breached"])
    other = await _create(client, headers, receiver.url + "/other", ["report_accepted"])
    receiver.secret = created["secret"]
    receiver.statuses = [500]
    staff = await make_user(session, settings)

    await notify(session, _breach(), [staff], now=now)
    await notify(session, _breach(), [staff], now=now)  # the same event again: one delivery
    await run_worker()

    assert [r.path for r in receiver.requests] == ["/hooks/meielinn", "/hooks/meielinn"]
    assert all(r.signature_valid for r in receiver.requests)
    first, second = receiver.requests
    assert first.body == second.body  # a retry re-signs the same body
    assert (first.headers["Meielinn-Attempt"], second.headers["Meielinn-Attempt"]) == ("1", "2")
    payload = json.loads(second.body)
    event = (
        await session.execute(
            select(NotificationEvent).where(NotificationEvent.event_key == "breach:r1:1:1")
        )
    ).scalar_one()
    assert payload["id"] == str(event.id)
    assert payload["type"] == "sla_breached"
    assert payload["values"]["code"] == "ML-2026-00042"
    assert second.headers["Meielinn-Event-Type"] == "sla_breached"
    assert second.headers["Content-Type"] == "application/json"

    delivery = await _delivery(session, created["id"])
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.sent,
        2,
        None,
    )
    endpoint = await _endpoint(session, created["id"])
    assert endpoint.consecutive_failures == 0  # the success forgot the 500
    assert endpoint.last_success_at is not None and endpoint.last_failure_at is not None
    job = (
        await session.execute(select(OutboxJob).where(OutboxJob.job_key == str(delivery.id)))
    ).scalar_one()
    assert job.done_at is not None
    # The endpoint subscribed to another event type got nothing.
    assert (
        await session.execute(
            select(NotificationDelivery).where(
                NotificationDelivery.webhook_id == uuid.UUID(other["id"])
            )
        )
    ).first() is None
    # The delivery log, as the admin sees it.
    log = await client.get(f"/v1/admin/webhooks/{created['id']}/deliveries", headers=headers)
    assert [(d["status"], d["attempts"]) for d in log.json()["items"]] == [("sent", 2)]

    # A duplicate of the job (a lost lease, a second worker) posts nothing more.
    outcome = await webhook_delivery.deliver(session, settings, delivery.id, datetime.now(UTC))
    assert outcome.status is None
    assert len(receiver.requests) == 2


async def test_failures_in_a_row_disable_the_endpoint(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    receiver: Receiver,
) -> None:
    headers = await _admin_headers(session, settings)
    created = await _create(client, headers, receiver.url, ["sla_breached"])
    receiver.secret = created["secret"]
    receiver.statuses = [500, 503, 302]  # a redirect is not followed: a failure too
    strict = settings.model_copy(
        update={"webhook_disable_after_failures": 3, "webhook_max_attempts": 10}
    )
    now = datetime.now(UTC)
    await notify(session, _breach(), [], now=now)
    delivery = await _delivery(session, created["id"])

    for attempt in range(1, 4):
        outcome = await webhook_delivery.deliver(session, strict, delivery.id, now)
        await session.refresh(delivery)
        assert delivery.attempts == attempt
        if attempt < 3:
            assert outcome.status is DeliveryStatus.pending
            assert outcome.retry_in is not None
            assert 0 <= outcome.retry_in <= strict.webhook_retry_base_seconds * 2 ** (attempt - 1)
            # Handed over before its backoff ran out: it waits, without posting.
            assert delivery.next_attempt_at is not None
            early = await webhook_delivery.deliver(
                session, strict, delivery.id, delivery.next_attempt_at - timedelta(seconds=1)
            )
            assert early.status is DeliveryStatus.pending
            assert early.retry_in == pytest.approx(1.0)
            assert len(receiver.requests) == attempt
            now = delivery.next_attempt_at
    assert [r.path for r in receiver.requests] == ["/hooks/meielinn"] * 3  # not /elsewhere
    assert delivery.status == DeliveryStatus.failed
    assert delivery.last_error == "HTTP 302"
    endpoint = await _endpoint(session, created["id"])
    assert (endpoint.active, endpoint.consecutive_failures) == (False, 3)
    assert "3 consecutive" in (endpoint.disabled_reason or "")

    # A disabled endpoint gets no new deliveries.
    await notify(session, _breach("breach:r2:1:1"), [], now=now)
    deliveries = (
        await session.execute(
            select(NotificationDelivery).where(NotificationDelivery.webhook_id == endpoint.id)
        )
    ).all()
    assert len(deliveries) == 1
    # The admin turns it on again: a fresh start.
    enabled = await client.patch(
        f"/v1/admin/webhooks/{created['id']}", json={"active": True}, headers=headers
    )
    assert enabled.json()["active"] is True
    assert enabled.json()["consecutive_failures"] == 0
    assert enabled.json()["disabled_reason"] is None


async def test_a_delivery_is_given_up_after_its_attempts_and_skipped_once_disabled(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    receiver: Receiver,
    now: datetime,
) -> None:
    headers = await _admin_headers(session, settings)
    created = await _create(client, headers, receiver.url, ["sla_breached"])
    receiver.statuses = [500, 500]
    limited = settings.model_copy(update={"webhook_max_attempts": 2})
    await notify(session, _breach(), [], now=now)
    delivery = await _delivery(session, created["id"])
    later = datetime.now(UTC) + timedelta(hours=1)  # past any backoff
    assert (await webhook_delivery.deliver(session, limited, delivery.id, later)).retry_in
    outcome = await webhook_delivery.deliver(
        session, limited, delivery.id, later + timedelta(hours=1)
    )
    assert (outcome.status, outcome.retry_in) == (DeliveryStatus.failed, None)
    assert (await _endpoint(session, created["id"])).active is True  # 2 < 10 in a row

    # Pending deliveries of an endpoint the admin disables are skipped, not sent.
    await notify(session, _breach("breach:r2:1:1"), [], now=now)
    pending = (
        await session.execute(
            select(NotificationDelivery).where(
                NotificationDelivery.webhook_id == uuid.UUID(created["id"]),
                NotificationDelivery.status == DeliveryStatus.pending,
            )
        )
    ).scalar_one()
    await client.patch(
        f"/v1/admin/webhooks/{created['id']}", json={"active": False}, headers=headers
    )
    outcome = await webhook_delivery.deliver(session, settings, pending.id, datetime.now(UTC))
    assert outcome.status is DeliveryStatus.skipped
    assert len(receiver.requests) == 2


def test_backoff_is_exponential_with_full_jitter(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"webhook_retry_base_seconds": 10.0, "webhook_retry_max_seconds": 100.0}
    )
    for attempts, ceiling in ((1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 100.0), (9, 100.0)):
        waits = [webhook_delivery.backoff(tuned, attempts) for _ in range(300)]
        assert all(0 <= wait <= ceiling for wait in waits)
        # Full jitter: spread over the whole range, not bunched near the ceiling.
        assert min(waits) < ceiling * 0.2 and max(waits) > ceiling * 0.8


def test_the_signature_helper_verifies_what_it_signs() -> None:
    secret = signing.new_secret()
    body = b'{"id":"1","type":"sla_breached"}'
    now = int(time.time())
    header = signing.signature_header(secret, now, body)
    assert signing.verify(secret, header, body, now)
    assert not signing.verify(secret, header, body + b" ", now)
    assert not signing.verify(signing.new_secret(), header, body, now)
    assert not signing.verify(secret, header, body, now + 301)  # a replay, too late
    assert not signing.verify(secret, "v1=abc", body, now)


# --- the SSRF guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://localhost:6379/",
        "http://0.0.0.0/hook",
        "http://[::ffff:192.168.1.1]/hook",
        "http://224.0.0.1/hook",
    ],
)
async def test_urls_into_the_citys_own_network_are_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI, url: str
) -> None:
    app.state.settings = settings.model_copy(update={"webhook_allow_private": False})
    headers = await _admin_headers(session, settings)
    response = await client.post(
        "/v1/admin/webhooks", json={"url": url, "event_types": ["sla_breached"]}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "refused_target"
    assert (await client.get("/v1/admin/webhooks", headers=headers)).json() == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/hook", "http://user:secret@93.184.215.14/hook", "http:///hook", "hook"],
)
async def test_only_plain_http_and_https_urls_are_taken(
    client: AsyncClient, session: AsyncSession, settings: Settings, url: str
) -> None:
    headers = await _admin_headers(session, settings)
    response = await client.post(
        "/v1/admin/webhooks", json={"url": url, "event_types": ["sla_breached"]}, headers=headers
    )
    assert response.status_code == 422, response.text


async def test_public_addresses_pass_the_guard(
    client: AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    app.state.settings = settings.model_copy(update={"webhook_allow_private": False})
    headers = await _admin_headers(session, settings)
    # An address literal: no DNS needed to know it is public.
    created = await _create(client, headers, "https://93.184.215.14/hooks", ["sla_breached"])
    assert created["active"] is True
    moved = await client.patch(
        f"/v1/admin/webhooks/{created['id']}", json={"url": "http://127.0.0.1/x"}, headers=headers
    )
    assert moved.status_code == 422


async def test_the_guard_runs_again_at_delivery(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    receiver: Receiver,
    now: datetime,
) -> None:
    headers = await _admin_headers(session, settings)
    # Saved while private targets were allowed (as if DNS had pointed elsewhere then) …
    created = await _create(client, headers, receiver.url, ["sla_breached"])
    await notify(session, _breach(), [], now=now)
    delivery = await _delivery(session, created["id"])
    # … and delivered when they are not: nothing leaves, the attempt is a failure.
    strict = settings.model_copy(update={"webhook_allow_private": False})
    outcome = await webhook_delivery.deliver(session, strict, delivery.id, datetime.now(UTC))
    assert outcome.status is DeliveryStatus.pending
    await session.refresh(delivery)
    assert delivery.attempts == 1
    assert (delivery.last_error or "").startswith(
        "refused: 127.0.0.1 resolves to 127.0.0.1 is a loopback"
    )
    assert receiver.requests == []


# --- administration ----------------------------------------------------------------------


async def test_admins_manage_webhooks_and_see_the_secret_once(
    client: AsyncClient, session: AsyncSession, settings: Settings, receiver: Receiver
) -> None:
    headers = await _admin_headers(session, settings)
    created = await _create(client, headers, receiver.url, ["sla_breached", "sla_escalated"])
    assert created["secret"].startswith("whsec_")
    assert created["consecutive_failures"] == 0
    shown = await client.get(f"/v1/admin/webhooks/{created['id']}", headers=headers)
    assert shown.status_code == 200, shown.text
    assert "secret" not in shown.json()
    assert created["secret"] not in shown.text
    assert created["secret"].startswith(shown.json()["secret_hint"].rstrip("…"))

    changed = await client.patch(
        f"/v1/admin/webhooks/{created['id']}",
        json={"event_types": ["moderation_overdue"], "description": "Case system"},
        headers=headers,
    )
    assert changed.json()["event_types"] == ["moderation_overdue"]
    unknown = await client.patch(
        f"/v1/admin/webhooks/{created['id']}", json={"event_types": ["nope"]}, headers=headers
    )
    assert unknown.status_code == 422
    rotated = await client.post(
        f"/v1/admin/webhooks/{created['id']}/rotate-secret", headers=headers
    )
    assert rotated.json()["secret"] not in (created["secret"], None)

    deleted = await client.delete(f"/v1/admin/webhooks/{created['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (
        await client.get(f"/v1/admin/webhooks/{created['id']}", headers=headers)
    ).status_code == 404
    assert (
        await client.delete(f"/v1/admin/webhooks/{uuid.uuid4()}", headers=headers)
    ).status_code == 404


async def test_only_admins_in_person_manage_webhooks(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    resident: User = await make_user(session, settings)
    _, key = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="Admin's key", scopes=list(Scope)),
        datetime.now(UTC),
    )
    body = {"url": "https://93.184.215.14/hooks", "event_types": ["sla_breached"]}
    assert (await client.post("/v1/admin/webhooks", json=body)).status_code == 401
    refused = await client.post("/v1/admin/webhooks", json=body, headers=bearer(settings, resident))
    assert refused.status_code == 403
    by_key = await client.get("/v1/admin/webhooks", headers={"X-API-Key": key})
    assert by_key.status_code == 403
    assert by_key.json()["reason"] == "api_key_not_allowed"
    empty = await client.post(
        "/v1/admin/webhooks", json={**body, "event_types": []}, headers=bearer(settings, admin)
    )
    assert empty.status_code == 422
    assert (await session.execute(select(WebhookEndpoint))).first() is None
    # Webhooks are no channel a person chooses.
    assert (
        Channel.webhook.value
        not in (
            await client.get("/v1/me/notification-preferences", headers=bearer(settings, resident))
        ).json()["items"][0]
    )
