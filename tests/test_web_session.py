"""The web app's foundation: sessions by cookie, CSRF on every form, errors as pages in the
reader's language, and the end of web sessions with "sign out everywhere"."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import WebSession
from service.config import Settings
from tests.factories import PASSWORD, bearer, make_user
from tests.web_pages import csrf_of, post_form, sign_in


async def test_pages_are_estonian_by_default_and_follow_the_readers_choice(
    client: AsyncClient,
) -> None:
    first = await client.get("/sign-in")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert '<html lang="et">' in first.text and "Logi sisse" in first.text
    browser = await client.get("/sign-in", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru">' in browser.text and "Войти" in browser.text
    chosen = await client.get("/language/en?next=/sign-in")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/sign-in"
    english = await client.get("/sign-in", headers={"Accept-Language": "ru"})
    assert '<html lang="en">' in english.text and "Forgot your password?" in english.text


async def test_the_language_switch_never_leaves_the_site(client: AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = await client.get("/language/et", params={"next": target})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"


async def test_sign_in_sets_an_http_only_session_and_a_new_csrf_cookie(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    opened = await client.get("/sign-in")
    token_before = csrf_of(opened)
    signed = await client.post(
        "/sign-in",
        data={"csrf_token": token_before, "email": user.email, "password": "correct horse battery"},
    )
    # The factory's password differs: the form comes back with the error, no session.
    assert signed.status_code == 401
    assert "E-posti aadress või parool on vale." in signed.text
    assert "meielinn_session" not in client.cookies
    answer = await sign_in(client, user.email)
    assert answer.headers["location"] == "/my/reports"
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("meielinn_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
    assert client.cookies["meielinn_csrf"] != token_before
    count = await session.scalar(
        select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)
    )
    assert count == 1


async def test_a_form_without_its_token_is_refused_as_a_page(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await client.get("/sign-in")
    forged = await client.post("/sign-in", data={"email": user.email, "password": "x" * 12})
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert "Vorm on aegunud" in forged.text
    wrong = await client.post(
        "/sign-in",
        data={"csrf_token": "not-the-cookie", "email": user.email, "password": "x" * 12},
    )
    assert wrong.status_code == 403
    cross_site = await post_form(
        client,
        "/sign-in",
        "/sign-in",
        {"email": user.email, "password": "x" * 12},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403


async def test_a_page_for_people_redirects_to_sign_in_and_back(client: AsyncClient) -> None:
    answer = await client.get("/sign-in?next=https://evil.example")
    assert 'name="next" value=""' in answer.text
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Siin ei ole midagi." in missing.text
    api_missing = await client.get("/v1/no-such-thing")
    assert api_missing.headers["content-type"].startswith("application/problem+json")


async def test_signing_out_everywhere_through_the_api_ends_the_web_session(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    signed_in = await client.get("/")
    assert "Logi välja" in signed_in.text
    ended = await client.post("/v1/auth/logout-all", headers=bearer(settings, user))
    assert ended.status_code == 204, ended.text
    after = await client.get("/")
    assert after.status_code == 200
    assert "Logi välja" not in after.text and "Logi sisse" in after.text


async def test_signing_out_ends_only_this_browser(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    home = await client.get("/")
    out = await client.post("/sign-out", data={"csrf_token": csrf_of(home)})
    assert out.status_code == 303
    assert "meielinn_session" not in client.cookies
    ended = await session.scalar(
        select(func.count())
        .select_from(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_not(None))  # type: ignore[union-attr]
    )
    assert ended == 1


async def test_pages_allow_only_their_own_scripts(client: AsyncClient) -> None:
    page = await client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    css = await client.get("/static/app.css?v=1")
    assert css.status_code == 200
    assert "immutable" in css.headers["cache-control"]


async def test_a_password_change_and_erasure_through_the_api_end_web_sessions(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from tests.factories import PASSWORD

    changer = await make_user(session, settings)
    await sign_in(client, changer.email)
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=bearer(settings, changer),
    )
    assert changed.status_code == 200, changed.text
    assert "Logi välja" not in (await client.get("/")).text
    client.cookies.clear()

    erased = await make_user(session, settings)
    await sign_in(client, erased.email)
    assert "Logi välja" in (await client.get("/")).text
    gone = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(settings, erased)
    )
    assert gone.status_code == 204, gone.text
    assert "Logi välja" not in (await client.get("/")).text


async def test_signing_in_over_a_session_ends_the_one_it_replaces(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    first = await make_user(session, settings)
    second = await make_user(session, settings)
    await sign_in(client, first.email)
    replaced = client.cookies["meielinn_session"]
    token = csrf_of(await client.get("/my/reports"))
    signed = await client.post(
        "/sign-in", data={"csrf_token": token, "email": second.email, "password": PASSWORD}
    )
    assert signed.status_code == 303
    assert client.cookies["meielinn_session"] != replaced
    ended = await session.scalar(
        select(WebSession.ended_at)
        .where(WebSession.user_id == first.id)
        .execution_options(populate_existing=True)
    )
    assert ended is not None
    # The replaced cookie no longer stands for anyone.
    client.cookies.set("meielinn_session", replaced)
    assert (await client.get("/my/reports")).status_code == 303


async def test_a_form_over_the_body_limit_is_answered_with_a_page(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    token = csrf_of(await client.get("/account"))
    huge = "x" * (settings.max_body_bytes + 1)
    answer = await client.post("/account/details", data={"csrf_token": token, "display_name": huge})
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="et">' in answer.text and "See on liiga suur." in answer.text
    assert answer.headers["x-request-id"]
    # The API keeps its problem document.
    api = await client.post("/v1/auth/register", content=huge, headers=bearer(settings, user))
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"


def test_the_pages_policy_admits_the_map_tiles_origin_only(settings: Settings) -> None:
    from service.web.templating import content_security_policy

    plain = settings.model_copy(update={"map_tile_url": "https://tiles.city.ca/{z}/{x}/{y}.png"})
    assert "img-src 'self' data: blob: https://tiles.city.ca;" in content_security_policy(plain)
    spread = settings.model_copy(
        update={"map_tile_url": "https://{s}.tile.example.org/{z}/{x}/{y}.png"}
    )
    assert "https://*.tile.example.org;" in content_security_policy(spread)
    none = settings.model_copy(update={"map_tile_url": ""})
    assert "img-src 'self' data: blob:;" in content_security_policy(none)
