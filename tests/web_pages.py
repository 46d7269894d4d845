"""Helpers for page tests: a browser-like client's CSRF token and signing in through the
sign-in form, as a person would."""

from __future__ import annotations

import re

from httpx import AsyncClient, Response

from tests.factories import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = CSRF_INPUT.search(page.text)
    assert found, f"no CSRF field on {page.request.url}: {page.status_code}"
    return found.group(1)


async def post_form(
    client: AsyncClient, form_page: str, action: str, fields: dict[str, str], **kwargs: object
) -> Response:
    """Open ``form_page`` (for its CSRF token and cookie) and post ``fields`` to ``action``."""
    opened = await client.get(form_page)
    assert opened.status_code == 200, opened.text
    return await client.post(action, data={"csrf_token": csrf_of(opened), **fields}, **kwargs)


async def sign_in(client: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    signed = await post_form(client, "/sign-in", "/sign-in", {"email": email, "password": password})
    assert signed.status_code == 303, signed.text
    assert "meielinn_session" in client.cookies
    return signed
