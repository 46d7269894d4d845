"""Training pages: programmes and sessions, enrolling with the waiting list, checking in at
the venue with the session's code, my progress and diploma, and the public verification
page the diploma's QR code leads to."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import FastAPI
from httpx import AsyncClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.city.models import Building
from service.config import Settings
from service.training.diplomas import verify_url
from tests.conftest import RunWorker
from tests.factories import bearer, client_from, make_user
from tests.test_diplomas import _qr_matches
from tests.training_factories import (
    SPRING_2019,
    Clock,
    awarded_programme,
    checkin_code,
    coordinator,
    open_programme,
    pilot_buildings,
)
from tests.web_pages import post_form, sign_in

HOLDER = "Liisa Saarepuu"


async def _address(session: AsyncSession, building_id: uuid.UUID) -> str:
    address = await session.scalar(select(Building.address).where(Building.id == building_id))
    assert address is not None
    return str(address)


async def test_enrolment_gives_the_places_then_the_waiting_list(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, (first_session,) = await open_programme(
        client, headers, [building], SPRING_2019, capacity=1, title="Targa maja koolitus"
    )
    listing = await client.get("/training")
    assert listing.status_code == 200
    assert "Targa maja koolitus" in listing.text and first_session["topic"] in listing.text
    page_path = f"/training/programmes/{programme['id']}"
    signed_out = await client.get(page_path)
    assert "Registreerumiseks logige sisse" in signed_out.text

    mari = await make_user(session, settings)
    jaan = await make_user(session, settings)
    await sign_in(client, mari.email)
    # The address first: its buildings are offered to choose from.
    unknown = await post_form(
        client, page_path, f"{page_path}/enrol", {"address": "Olematu tänav 999999"}
    )
    assert unknown.status_code in (200, 422)
    empty = await post_form(client, page_path, f"{page_path}/enrol", {"address": ""})
    assert empty.status_code == 422 and 'id="error-address"' in empty.text
    assert "Täitke see väli." in empty.text
    address = await _address(session, building)
    found = await post_form(client, page_path, f"{page_path}/enrol", {"address": address})
    assert found.status_code == 200
    assert f'value="{building}"' in found.text
    enrolled = await post_form(
        client, page_path, f"{page_path}/enrol", {"address": address, "building_id": str(building)}
    )
    assert enrolled.status_code == 303, enrolled.text
    assert "Teil on selles programmis koht." in (await client.get(page_path)).text

    async with client_from(app, "10.1.2.3") as other:
        await sign_in(other, jaan.email)
        waiting = await post_form(
            other, page_path, f"{page_path}/enrol", {"building_id": str(building)}
        )
        assert waiting.status_code == 303
        shown = await other.get(page_path)
        assert "Olete ootenimekirjas 1. kohal." in shown.text
        mine = await other.get("/my/training")
        assert "Olete ootenimekirjas 1. kohal." in mine.text

    # Mari gives up her place: Jaan, first in the queue, gets it.
    left = await post_form(client, page_path, f"{page_path}/leave", {})
    assert left.status_code == 303
    jaans = (await client.get("/v1/me/training", headers=bearer(settings, jaan))).json()
    assert jaans["programmes"][0]["status"] == "enrolled"


async def test_enrolling_needs_a_verified_address_and_a_visible_programme(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, _ = await open_programme(client, headers, [building], SPRING_2019)
    unverified = await make_user(session, settings, verified=False)
    await sign_in(client, unverified.email)
    page_path = f"/training/programmes/{programme['id']}"
    refused = await post_form(
        client, page_path, f"{page_path}/enrol", {"building_id": str(building)}
    )
    assert refused.status_code == 403
    assert "Kinnitage esmalt oma e-posti aadress" in refused.text
    missing = await client.get(f"/training/programmes/{uuid.uuid4()}")
    assert missing.status_code == 404 and "Siin ei ole midagi." in missing.text


async def test_check_in_with_the_right_and_a_wrong_code(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    clock = Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    (building,) = await pilot_buildings(session, 1)
    programme, (training,) = await open_programme(client, headers, [building], SPRING_2019)
    mari = await make_user(session, settings)
    await sign_in(client, mari.email)
    page_path = f"/training/programmes/{programme['id']}"
    await post_form(client, page_path, f"{page_path}/enrol", {"building_id": str(building)})
    code = await checkin_code(client, headers, training["id"])

    # A week early: not open yet, with the time on the city's clock, in Estonian.
    early = await post_form(client, "/training/check-in", "/training/check-in", {"code": code})
    assert early.status_code == 409
    assert "Kohalolekut ei saa praegu registreerida" in early.text
    assert "8. aprill 2019 kell 17:00" in early.text  # 30 minutes before 17:30 in Tartu

    clock.set(SPRING_2019 + timedelta(minutes=5))
    form = await client.get("/training/check-in")
    assert 'id="field-code"' in form.text and training["id"] in form.text
    short = await post_form(client, "/training/check-in", "/training/check-in", {"code": "AB"})
    assert short.status_code == 422 and 'id="error-code"' in short.text
    wrong = await post_form(
        client,
        "/training/check-in",
        "/training/check-in",
        {"code": "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"},
    )
    assert wrong.status_code == 422
    assert "See ei ole selle õppuse kood." in wrong.text
    right = await post_form(
        client, "/training/check-in", "/training/check-in", {"code": code.lower()}
    )
    assert right.status_code == 303 and right.headers["location"].startswith("/my/training")
    progress = await client.get(right.headers["location"])
    assert "Teie kohalolek on registreeritud." in progress.text
    assert "Osalesite 1 õppusel 1-st." in progress.text
    again = await post_form(client, "/training/check-in", "/training/check-in", {"code": code})
    assert again.status_code == 409
    assert "Teie osalemine sellel õppusel on juba kirjas." in again.text


async def test_training_pages_for_people_redirect_when_signed_out(client: AsyncClient) -> None:
    for path in ("/training/check-in", "/my/training", "/my/diplomas/ABCDEFGHJK.pdf"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in?next=")


async def test_my_diploma_and_its_public_verification_page(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    (building,) = await pilot_buildings(session, 1)
    holder = await make_user(session, settings, name=HOLDER)
    other = await make_user(session, settings, name="Keegi Muu")
    programme, headers, (award,) = await awarded_programme(
        app, client, session, settings, [(holder, building)]
    )
    code = award["diploma_code"]
    await run_worker()

    # The QR code (and the link in the API's answers) leads to the web page.
    url = verify_url(settings, code)
    assert urlsplit(url).path == f"/diplomas/{code}"
    pdf = await client.get(f"/v1/diplomas/{code}/pdf", headers=bearer(settings, holder))
    assert _qr_matches(PdfReader(io.BytesIO(pdf.content)).pages[0], url)

    public = await client.get(urlsplit(url).path)
    assert public.status_code == 200
    assert "See diplom on ehtne" in public.text
    assert HOLDER in public.text and programme["title"] in public.text
    assert "8. aprill 2019" in public.text or "aprill 2019" in public.text
    # Only what the API's verification shows: no email, no building.
    assert holder.email not in public.text
    assert await _address(session, building) not in public.text

    await sign_in(client, holder.email)
    mine = await client.get("/my/training")
    assert f'href="/my/diplomas/{code}.pdf"' in mine.text
    assert "Olete oma maja saadik alates" in mine.text
    downloaded = await client.get(f"/my/diplomas/{code}.pdf")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.content == pdf.content

    async with client_from(app, "10.1.2.4") as stranger:
        await sign_in(stranger, other.email)
        refused = await stranger.get(f"/my/diplomas/{code}.pdf")
        assert refused.status_code == 403  # as GET /v1/diplomas/{code}/pdf answers
        assert refused.headers["content-type"].startswith("text/html")

    revoked = await client.post(
        f"/v1/training/ambassadors/{award['ambassador_id']}/revoke",
        json={"reason": "Enrolled with the wrong building."},
        headers=headers,
    )
    assert revoked.status_code == 200, revoked.text
    after = await client.get(f"/diplomas/{code.lower()}")
    assert after.status_code == 200
    assert "See diplom on tühistatud ega kehti enam." in after.text
    assert "See diplom on ehtne" not in after.text


async def test_an_unknown_diploma_code_is_a_404_page(client: AsyncClient) -> None:
    unknown = await client.get("/diplomas/ZZZZZZZZZZ")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert "Siin ei ole midagi." in unknown.text
    # A code mistyped short is not there either (a page for people reading a paper).
    too_short = await client.get("/diplomas/ABC")
    assert too_short.status_code == 404
    assert too_short.headers["content-type"].startswith("text/html")
    too_long = await client.get("/diplomas/" + "A" * 25)
    assert too_long.status_code == 422
    assert too_long.headers["content-type"].startswith("text/html")
