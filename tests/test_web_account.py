"""The account pages: registering and the emailed link, resetting a password, the account's
details, password change, signing out everywhere, the export and erasure — through the
same services and throttles as the API, with errors next to the fields in Estonian."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.config import Settings
from tests.conftest import Mailbox, RunWorker
from tests.factories import PASSWORD, bearer, client_from, make_department, make_user
from tests.web_pages import csrf_of, post_form, sign_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """Another browser (another address), signed in to the same account."""
    async with client_from(app, "10.9.8.7") as browser:
        yield browser


def _link(mail: object) -> str:
    content = mail.get_content()  # type: ignore[attr-defined]
    match = re.search(r"^(https?://\S+)\s*$", content, re.MULTILINE)
    assert match, content
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


async def _user(session: AsyncSession, email: str) -> User | None:
    found: User | None = (
        await session.execute(select(User).where(User.email == email))
    ).scalar_one_or_none()
    if found is not None:
        await session.refresh(found)
    return found


async def test_registering_sends_a_link_whose_page_confirms_the_address(
    client: AsyncClient, mailbox: Mailbox, run_worker: RunWorker, session: AsyncSession
) -> None:
    email = "mari.maasikas@example.org"
    fields = {"email": email, "password": PASSWORD, "display_name": "Mari Maasikas"}
    answer = await post_form(client, "/register", "/register", {**fields, "language": "et"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/register/sent"
    sent = await client.get("/register/sent")
    assert "Saatsime kinnituskirja" in sent.text
    await run_worker()
    [mail] = mailbox.to(email)
    link = _link(mail)
    assert link.startswith("/verify-email?")
    # Opening the link changes nothing: a scanner would open it too.
    opened = await client.get(link)
    assert opened.status_code == 200
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert "Kinnitan aadressi" in opened.text
    user = await _user(session, email)
    assert user is not None and user.email_verified_at is None
    token = re.search(r'name="token" value="([^"]+)"', opened.text)
    assert token
    confirmed = await client.post(
        "/verify-email", data={"csrf_token": csrf_of(opened), "token": token.group(1)}
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/verify-email/done"
    user = await _user(session, email)
    assert user is not None and user.email_verified_at is not None
    again = await client.post(
        "/verify-email", data={"csrf_token": csrf_of(opened), "token": token.group(1)}
    )
    assert again.status_code == 422
    assert "Link on tundmatu, juba kasutatud või aegunud" in again.text
    # The API's page still takes the links sent before the web app.
    assert (
        await client.get(link.replace("/verify-email", "/v1/auth/verify-email"))
    ).status_code == 200


async def test_registering_with_bad_input_shows_the_errors_by_the_fields(
    client: AsyncClient, session: AsyncSession
) -> None:
    answer = await post_form(
        client,
        "/register",
        "/register",
        {"email": "not-an-address", "password": "short", "display_name": "", "language": "et"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="error-password"' in answer.text and "See on liiga lühike." in answer.text
    assert 'id="error-email"' in answer.text and 'id="error-display_name"' in answer.text
    assert 'value="not-an-address"' in answer.text
    assert "short" not in answer.text.split("<main", 1)[1].split('value="')[1:][0][:6]
    assert await _user(session, "not-an-address") is None


async def test_registering_is_throttled_like_the_api(
    client: AsyncClient, settings: Settings
) -> None:
    limit = settings.registrations_per_hour_per_ip
    statuses = []
    for n in range(limit + 1):
        fields = {
            "email": f"throttled{n}@example.org",
            "password": PASSWORD,
            "display_name": "Mari",
            "language": "et",
        }
        statuses.append((await post_form(client, "/register", "/register", fields)).status_code)
    assert statuses[:limit] == [303] * limit
    assert statuses[-1] == 429


async def test_a_forgotten_password_is_reset_through_the_emailed_link(
    client: AsyncClient,
    mailbox: Mailbox,
    run_worker: RunWorker,
    session: AsyncSession,
    settings: Settings,
) -> None:
    user = await make_user(session, settings)
    bad = await post_form(
        client, "/account/password-reset", "/account/password-reset", {"email": "nope"}
    )
    assert bad.status_code == 422 and 'id="error-email"' in bad.text
    asked = await post_form(
        client, "/account/password-reset", "/account/password-reset", {"email": user.email}
    )
    assert asked.status_code == 303
    await run_worker()
    [mail] = mailbox.to(user.email)
    link = _link(mail)
    assert link.startswith("/reset-password?")
    opened = await client.get(link)
    token = re.search(r'name="token" value="([^"]+)"', opened.text)
    assert token
    short = await client.post(
        "/reset-password",
        data={"csrf_token": csrf_of(opened), "token": token.group(1), "new_password": "short"},
    )
    assert short.status_code == 422 and "See on liiga lühike." in short.text
    done = await client.post(
        "/reset-password",
        data={"csrf_token": csrf_of(opened), "token": token.group(1), "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 303 and done.headers["location"] == "/reset-password/done"
    await sign_in(client, user.email, NEW_PASSWORD)


async def test_account_pages_redirect_to_sign_in_when_signed_out(client: AsyncClient) -> None:
    for path in ("/account", "/my/reports", "/my/inbox", "/my/preferences"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in?next=")


async def test_details_are_changed_through_the_same_service(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings, name="Juhan")
    await sign_in(client, user.email)
    page = await client.get("/account")
    assert page.status_code == 200 and user.email in page.text and "Juhan" in page.text
    empty = await post_form(
        client, "/account", "/account/details", {"display_name": "  ", "language": "et"}
    )
    assert empty.status_code == 422 and 'id="error-display_name"' in empty.text
    saved = await post_form(
        client, "/account", "/account/details", {"display_name": "Juhan Liiv", "language": "en"}
    )
    assert saved.status_code == 303
    await session.refresh(user)
    assert user.display_name == "Juhan Liiv" and user.language == "en"
    # The account's language is the pages' language now.
    assert "Your details are saved." in (await client.get(saved.headers["location"])).text


async def test_a_password_change_ends_other_sessions_and_keeps_this_browser(
    client: AsyncClient, other_client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    await sign_in(other_client, user.email)
    issued_before = bearer(settings, user)
    wrong = await post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403
    assert 'id="error-current_password"' in wrong.text and "Praegune parool on vale." in wrong.text
    changed = await post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 303, changed.text
    assert (await client.get("/account")).status_code == 200
    assert (await other_client.get("/account")).status_code == 303
    # The API's tokens issued before are refused too.
    assert (await client.get("/v1/me", headers=issued_before)).status_code == 401


async def test_signing_out_everywhere_signs_this_browser_out_too(
    client: AsyncClient, other_client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    await sign_in(other_client, user.email)
    ended = await post_form(client, "/account", "/account/sign-out-everywhere", {})
    assert ended.status_code == 303
    assert (await client.get("/account")).status_code == 303
    assert (await other_client.get("/account")).status_code == 303


async def test_the_export_is_the_persons_own_data(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings, name="Ekspordi Mind")
    someone = await make_user(session, settings, name="Keegi Teine")
    await sign_in(client, user.email)
    answer = await post_form(client, "/account", "/account/export", {})
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = json.loads(answer.text)
    text = json.dumps(data)
    assert user.email in text and "Ekspordi Mind" in text
    assert someone.email not in text


async def test_erasure_needs_the_password_signs_out_and_removes_the_account(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings, name="Lahkuv Inimene")
    email = user.email
    await sign_in(client, email)
    wrong = await post_form(client, "/account", "/account/erase", {"password": "wrong one"})
    assert wrong.status_code == 403
    assert 'id="error-password"' in wrong.text and "Parool on vale." in wrong.text
    missing = await post_form(client, "/account", "/account/erase", {"password": ""})
    assert missing.status_code == 422 and 'id="error-password"' in missing.text
    erased = await post_form(client, "/account", "/account/erase", {"password": PASSWORD})
    assert erased.status_code == 303 and erased.headers["location"] == "/goodbye"
    goodbye = await client.get("/goodbye")
    assert goodbye.status_code == 200 and "Logi sisse" in goodbye.text
    assert (await client.get("/account")).status_code == 303
    assert await _user(session, email) is None
    signed = await post_form(client, "/sign-in", "/sign-in", {"email": email, "password": PASSWORD})
    assert signed.status_code == 401


async def test_staff_cannot_erase_their_account_from_the_page(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    department = await make_department(session)
    user = await make_user(session, settings, roles=((Role.staff, department.id),))
    await sign_in(client, user.email)
    refused = await post_form(client, "/account", "/account/erase", {"password": PASSWORD})
    assert refused.status_code == 409
    assert 'id="error-password"' in refused.text
    assert (await client.get("/account")).status_code == 200
