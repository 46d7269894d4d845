"""Account emails: links that work when followed, readable 8bit mail, no one-time codes at
rest, nothing the registrant typed sent to an unverified address, no account-existence
oracle at registration, and limits on how much mail anyone can make us send."""

from __future__ import annotations

import re
from email.message import EmailMessage as Mail
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.auth.models import EmailToken, User
from service.auth.tokens import digest
from service.config import Settings
from service.languages import Language
from service.mail.models import DeliveryStatus, EmailMessage
from service.outbox.models import OutboxJob
from tests.conftest import Mailbox, RunWorker
from tests.factories import PASSWORD, bearer, client_from, make_user
from tests.fuzzing import assert_documented

SNEAKY_NAME = "Win a prize at https://evil.example"


def _register_body(email: str, name: str = "Mari", language: str = "en") -> dict[str, str]:
    return {
        "email": email,
        "password": "a long enough passphrase",
        "display_name": name,
        "language": language,
    }


def _link(mail: Mail) -> str:
    match = re.search(r"^(https?://\S+)\s*$", mail.get_content(), re.MULTILINE)
    assert match, mail.get_content()
    return match.group(1)


def _code(mail: Mail) -> str:
    match = re.search(r"(?:Code|Kood|Код): (\S+)", mail.get_content())
    assert match, mail.get_content()
    return match.group(1)


class _Form(HTMLParser):
    """The first form of a page: its action and its fields' values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action") or ""
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def _form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    assert form.action is not None, html
    return form


def _local(url: str) -> str:
    """The path and query of an emailed link, to follow it on the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def test_the_emailed_link_verifies_the_account_when_followed(
    client: AsyncClient, mailbox: Mailbox, run_worker: RunWorker, session: AsyncSession
) -> None:
    email = "link.follower@example.org"
    assert (await client.post("/v1/auth/register", json=_register_body(email))).status_code == 202
    await run_worker()
    [mail] = mailbox.to(email)
    # Plain 8bit text: the link and the code read and copy as they are.
    assert mail["Content-Transfer-Encoding"] == "8bit"
    assert "=3D" not in mail.as_string()
    link = _link(mail)
    assert link.startswith("http://127.0.0.1:8000/verify-email?")
    assert f"token={_code(mail)}" in link
    # The web app's page is tested with the pages; the API's page takes links sent before.
    link = link.replace("/verify-email?", "/v1/auth/verify-email?")

    # Opening the link (as a mail scanner would) shows a button and changes nothing.
    page = await client.get(_local(link))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    user = (await session.execute(select(User).where(User.email == email))).scalar_one()
    await session.refresh(user)
    assert user.email_verified_at is None

    form = _form(page.text)
    confirmed = await client.post(urljoin(_local(link), form.action), data=form.fields)
    assert confirmed.status_code == 200, confirmed.text
    assert "confirmed" in confirmed.text
    await session.refresh(user)
    assert user.email_verified_at is not None

    again = await client.post(urljoin(_local(link), form.action), data=form.fields)
    assert again.status_code == 422
    assert "expired" in again.text


async def test_the_emailed_reset_link_sets_a_new_password(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    user = await make_user(session, settings, name="Mari")
    assert (
        await client.post("/v1/auth/password-reset", json={"email": user.email})
    ).status_code == 202
    await run_worker()
    [mail] = mailbox.to(user.email)
    link = _link(mail)
    assert "/reset-password?" in link
    link = link.replace("/reset-password?", "/v1/auth/reset-password?")
    page = await client.get(_local(link))
    assert page.status_code == 200
    form = _form(page.text)
    target = urljoin(_local(link), form.action)

    short = await client.post(target, data={**form.fields, "new_password": "short"})
    assert short.status_code == 422
    assert "new_password" in short.text  # the form again
    done = await client.post(target, data={**form.fields, "new_password": "a brand new secret"})
    assert done.status_code == 200, done.text
    signed_in = await client.post(
        "/v1/auth/token", data={"username": user.email, "password": "a brand new secret"}
    )
    assert signed_in.status_code == 200


async def test_pages_refuse_malformed_codes_without_a_crash(client: AsyncClient) -> None:
    assert (await client.get("/v1/auth/verify-email")).status_code == 422
    assert (await client.get("/v1/auth/verify-email", params={"token": "x"})).status_code == 422
    unknown = await client.post("/v1/auth/verify-email", data={"token": "y" * 43})
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("text/html")
    wrong_lang = await client.get(
        "/v1/auth/reset-password", params={"token": "y" * 43, "lang": "fi"}
    )
    assert wrong_lang.status_code == 422


async def test_one_time_codes_are_never_stored_in_clear(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
    redis: Any,
) -> None:
    email = "at.rest@example.org"
    await client.post("/v1/auth/register", json=_register_body(email))
    await client.post("/v1/auth/password-reset", json={"email": email})

    # Waiting to be sent: a placeholder, not a code.
    pending = (await session.execute(select(EmailMessage))).scalars().all()
    assert len(pending) == 2
    assert all("\u27e6one-time code\u27e7" in message.body_text for message in pending)

    await run_worker()
    mails = mailbox.to(email)
    assert len(mails) == 2
    codes = [_code(mail) for mail in mails]
    assert len(set(codes)) == 2

    session.expire_all()
    messages = (await session.execute(select(EmailMessage))).scalars().all()
    assert {message.status for message in messages} == {DeliveryStatus.sent}
    stored_rows = [
        " ".join(str(value) for value in row)
        for table in ("email_message", "outbox_job", "email_token", "audit_event")
        for row in (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
    ]
    assert stored_rows
    for code in codes:
        assert not any(code in row for row in stored_rows)
        # Only the hash is kept, and it is what the code is checked against.
        token = (
            await session.execute(select(EmailToken).where(EmailToken.token_hash == digest(code)))
        ).scalar_one()
        assert token.used_at is None
    assert (await session.execute(select(func.count()).select_from(OutboxJob))).scalar_one() >= 2
    # Nor in Redis (the arq queue and job results).
    for key in await redis.keys("*"):
        if await redis.type(key) == b"string":
            value = await redis.get(key)
            assert not any(code.encode() in value for code in codes), key
    # And the delivered codes work.
    [welcome] = [mail for mail in mails if mail["Subject"] == "Confirm your email address"]
    verified = await client.post("/v1/auth/verify", json={"token": _code(welcome)})
    assert verified.status_code == 200


async def test_a_code_used_or_expired_before_delivery_is_not_sent(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    user = await make_user(session, settings)
    await client.post("/v1/auth/password-reset", json={"email": user.email})
    token = (await session.execute(select(EmailToken))).scalar_one()
    token.expires_at = token.created_at
    await session.flush()
    await run_worker()
    assert mailbox.to(user.email) == []
    message = (await session.execute(select(EmailMessage))).scalar_one()
    assert message.status == DeliveryStatus.failed


async def test_mail_to_an_unverified_address_never_carries_the_registrants_words(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    victim = "someone.else@example.org"
    registered = await client.post(
        "/v1/auth/register", json=_register_body(victim, name=SNEAKY_NAME)
    )
    assert registered.status_code == 202
    await client.post("/v1/auth/password-reset", json={"email": victim})
    await run_worker()
    mails = mailbox.to(victim)
    assert len(mails) == 2
    for mail in mails:
        assert SNEAKY_NAME not in mail.as_string()
        assert "evil.example" not in mail.as_string()
        assert mail.get_content().splitlines()[0] == "Hello,"

    # Once the address is verified, the person chose the name themselves: it is used.
    verified = await make_user(session, settings, name="Mari Maasikas")
    verified.language = Language.en
    await session.flush()
    await client.post("/v1/auth/password-reset", json={"email": verified.email})
    await run_worker()
    [mail] = mailbox.to(verified.email)
    assert mail.get_content().splitlines()[0] == "Hello Mari Maasikas,"


async def test_registering_a_taken_address_answers_like_a_new_one(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    owner = await make_user(session, settings, email="owner@example.org", name="Owner")
    owner.language = Language.en
    await session.flush()

    new = await client.post("/v1/auth/register", json=_register_body("fresh@example.org"))
    taken = await client.post(
        "/v1/auth/register", json=_register_body("OWNER@example.org", name=SNEAKY_NAME)
    )
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json() == {"status": "accepted", "detail": taken.json()["detail"]}
    assert new.headers.keys() - {"x-request-id"} == taken.headers.keys() - {"x-request-id"}

    await run_worker()
    [notice] = mailbox.to("owner@example.org")
    assert notice["Subject"] == "Someone tried to register with your address"
    assert "Forgot password" in notice.get_content()
    assert SNEAKY_NAME not in notice.as_string()
    [welcome] = mailbox.to("fresh@example.org")
    assert welcome["Subject"] == "Confirm your email address"
    # Still one account, with the owner's password and name.
    accounts = (
        (await session.execute(select(User).where(func.lower(User.email) == "owner@example.org")))
        .scalars()
        .all()
    )
    assert [account.display_name for account in accounts] == ["Owner"]
    signed_in = await client.post(
        "/v1/auth/token", data={"username": "owner@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert "user.registration_for_taken_address" in actions


async def test_registering_a_taken_address_does_the_same_work(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A taken address costs what a new one costs: one argon2 hash each, whether or not it
    is stored (the times are in bench/timing_bench.py)."""
    await make_user(session, settings, email="timed@example.org")
    hashed: list[str] = []
    verified: list[str] = []
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def spy_hash(hasher: PasswordHasher, password: str | bytes, **kwargs: Any) -> str:
        hashed.append(str(password))
        return real_hash(hasher, password, **kwargs)

    def spy_verify(hasher: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(str(password))
        return real_verify(hasher, hash, password)

    monkeypatch.setattr(PasswordHasher, "hash", spy_hash)
    monkeypatch.setattr(PasswordHasher, "verify", spy_verify)

    work = {}
    for email in ("new@example.org", "timed@example.org", "TIMED@example.org"):
        hashed.clear()
        verified.clear()
        response = await client.post("/v1/auth/register", json=_register_body(email))
        assert response.status_code == 202, response.text
        work[email] = (len(hashed), len(verified))
    assert work == {
        "new@example.org": (1, 0),
        "timed@example.org": (1, 0),
        "TIMED@example.org": (1, 0),
    }
    # The new address stored the hash computed; the taken one's owner kept their own.
    stored = (
        await session.execute(select(User.email).where(User.email == "new@example.org"))
    ).scalar_one()
    assert stored == "new@example.org"


async def test_signing_in_to_an_unknown_account_verifies_a_hash_too(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_user(session, settings, email="known@example.org")
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def spy_verify(hasher: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(str(password))
        return real_verify(hasher, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy_verify)
    counts = []
    for email in ("known@example.org", "nobody@example.org"):
        verified.clear()
        response = await client.post(
            "/v1/auth/token", data={"username": email, "password": "wrong-password-123"}
        )
        assert response.status_code == 401, response.text
        counts.append(verified.count("wrong-password-123"))
    assert counts == [1, 1]


async def test_registration_notices_are_limited_per_address(
    app: FastAPI,
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    app.state.settings = settings.model_copy(update={"account_emails_per_hour": 2})
    owner = await make_user(session, settings)
    answers = [
        (await client.post("/v1/auth/register", json=_register_body(owner.email))).status_code
        for _ in range(4)
    ]
    assert answers == [202] * 4  # the answer never changes...
    await run_worker()
    assert len(mailbox.to(owner.email)) == 2  # ...but the mailbox is spared


async def test_verification_resends_are_limited_per_account_and_per_address(
    app: FastAPI,
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    app.state.settings = settings.model_copy(
        update={"account_emails_per_hour": 2, "registrations_per_hour_per_ip": 3}
    )
    first = await make_user(session, settings, verified=False)
    statuses = [
        (await client.post("/v1/auth/verify/resend", headers=bearer(settings, first))).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    await run_worker()
    assert len(mailbox.to(first.email)) == 2

    # The address asking has its own budget: a fourth request from it, for another account.
    second = await make_user(session, settings, verified=False)
    blocked = await client.post("/v1/auth/verify/resend", headers=bearer(settings, second))
    assert blocked.status_code == 429
    assert "address" in blocked.json()["detail"]


async def test_password_resets_are_limited_per_account_and_per_address(
    app: FastAPI, session: AsyncSession, settings: Settings, mailbox: Mailbox, run_worker: RunWorker
) -> None:
    app.state.settings = settings.model_copy(
        update={"account_emails_per_hour": 2, "registrations_per_hour_per_ip": 3}
    )
    user = await make_user(session, settings)
    for email in (user.email, "nobody-at-all@example.org"):
        statuses = []
        for number in range(3):  # each from its own address
            async with client_from(app, f"203.0.113.{number + 10}") as client:
                response = await client.post("/v1/auth/password-reset", json={"email": email})
                statuses.append(response.status_code)
        # Alike whether or not the account exists.
        assert statuses == [202, 202, 429], email
    await run_worker()
    assert len(mailbox.to(user.email)) == 2

    async with client_from(app, "198.51.100.77") as client:
        statuses = [
            (
                await client.post("/v1/auth/password-reset", json={"email": f"r{n}@example.org"})
            ).status_code
            for n in range(4)
        ]
    assert statuses == [202, 202, 202, 429]


async def test_pages_answer_a_form_without_its_fields_with_a_documented_problem(
    client: AsyncClient,
) -> None:
    # Not a browser (the pages' forms always send their hidden fields): request validation
    # answers its problem, which the document now lists beside the page.
    for path in ("/v1/auth/verify-email", "/v1/auth/reset-password"):
        response = await client.post(path, data={})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert_documented(response, "post", path)
