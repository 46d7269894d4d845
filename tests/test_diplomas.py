"""Diplomas: the PDF a worker makes opens, renders Estonian and Russian letters, carries
its verification code and a QR code of the page that verifies it; only the holder and the
programme's coordinators get it; the sweep makes what a lost job left behind."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import segno
from fastapi import FastAPI
from httpx import AsyncClient
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.outbox.models import OutboxJob
from service.training.diplomas import DiplomaContent, date_line, render_pdf, verify_url
from service.training.models import Diploma
from tests.conftest import RunWorker
from tests.factories import bearer, make_user
from tests.training_factories import awarded_programme, pilot_buildings
from workers.training import sweep_diplomas

TITLE = "Õhk, küte, jäätmed ja garaažid: öine säästukool"


def _qr_matches(page: Any, url: str) -> bool:
    """Whether the page's one image is the QR code of ``url``, module by module."""
    (image,) = page.images
    pixels = image.image.convert("L")
    matrix = segno.make(url, error="m").matrix
    scale = pixels.width // len(matrix)
    return all(
        (pixels.getpixel((col * scale + scale // 2, row * scale + scale // 2)) < 128) == bool(dark)
        for row, line in enumerate(matrix)
        for col, dark in enumerate(line)
    )


async def test_diploma_pdf_letters_code_and_qr(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    first, second = await pilot_buildings(session, 2)
    žanna = await make_user(session, settings, name="Žanna Šõškina")
    olga = await make_user(session, settings, name="Ольга Смирнова")
    _, coordinator_headers, awards = await awarded_programme(
        app, client, session, settings, [(žanna, first), (olga, second)], title=TITLE
    )
    codes = {a["user_id"]: a["diploma_code"] for a in awards}
    code = codes[str(žanna.id)]
    url = f"/v1/diplomas/{code}/pdf"
    not_yet = await client.get(url, headers=bearer(settings, žanna))
    assert not_yet.status_code == 409
    assert not_yet.json()["reason"] == "not_ready"
    await run_worker()

    response = await client.get(url, headers=bearer(settings, žanna))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(response.content)).pages[0]
    text = page.extract_text()
    for letters in ("ä", "õ", "ö", "ü", "š", "ž", "Ž", "Š", "Õ"):
        assert letters in text, letters
    assert "Žanna Šõškina" in text
    assert TITLE in text
    assert "Диплом" in text
    assert "является амбассадором своего дома" in text
    assert code in text
    assert verify_url(settings, code) in text
    assert _qr_matches(page, verify_url(settings, code))
    verified = await client.get(f"/v1/diplomas/{code.lower()}")
    assert verified.status_code == 200
    assert verified.json()["holder_name"] == "Žanna Šõškina"
    assert verified.json()["genuine"] is True
    # No more than the name, the programme and the date.
    assert set(verified.json()) == {
        "code",
        "genuine",
        "revoked",
        "holder_name",
        "programme_title",
        "awarded_on",
    }

    other = await client.get(
        f"/v1/diplomas/{codes[str(olga.id)]}/pdf", headers=bearer(settings, olga)
    )
    assert "Ольга Смирнова" in PdfReader(io.BytesIO(other.content)).pages[0].extract_text()

    # The coordinators get it too; nobody else does.
    assert (await client.get(url, headers=coordinator_headers)).status_code == 200
    assert (await client.get(url, headers=bearer(settings, olga))).status_code == 403
    assert (await client.get(url)).status_code == 401
    unknown = "ZZZZ-ZZZZ-ZZZZ"
    assert (await client.get(f"/v1/diplomas/{unknown}")).status_code == 404
    assert (
        await client.get(f"/v1/diplomas/{unknown}/pdf", headers=bearer(settings, žanna))
    ).status_code == 404
    # A second run makes nothing new: the file stays as it was.
    before = await session.scalar(select(Diploma.pdf_sha256).where(Diploma.code == code))
    await session.execute(update(OutboxJob).values(enqueued_at=None))
    await run_worker()
    assert await session.scalar(select(Diploma.pdf_sha256).where(Diploma.code == code)) == before


async def test_the_sweep_makes_diplomas_whose_job_was_lost(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    (building,) = await pilot_buildings(session, 1)
    person = await make_user(session, settings, name="Jüri Õunapuu")
    _, _, (award,) = await awarded_programme(app, client, session, settings, [(person, building)])
    # The job never ran (Redis lost it); an hour later the sweep finds the diploma.
    await session.execute(update(Diploma).values(created_at=datetime.now(UTC) - timedelta(hours=1)))
    made = await sweep_diplomas({"sessionmaker": sessionmaker, "settings": settings})
    assert made == 1
    diploma = (
        await session.execute(select(Diploma).where(Diploma.code == award["diploma_code"]))
    ).scalar_one()
    await session.refresh(diploma)
    assert diploma.pdf_path is not None
    assert await sweep_diplomas({"sessionmaker": sessionmaker, "settings": settings}) == 0


def test_the_diploma_dates_the_award_in_each_of_its_languages(settings: Settings) -> None:
    content = DiplomaContent(
        holder_name="Mari Maasikas",
        programme_title=TITLE,
        building_address="Kaunase pst 13",
        sessions_attended=5,
        sessions_total=6,
        awarded_on=date(2026, 12, 5),
        code="7KQ3-9XD2-M4TB",
        url=verify_url(settings, "7KQ3-9XD2-M4TB"),
    )
    line = "Kuupäev: 5. detsember 2026 · Date: December 5, 2026 · Дата: 5 декабря 2026\u202fг."
    assert date_line(content) == line
    pdf = render_pdf(content, Path(settings.diploma_font_dir))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert line in text, text
    assert "05.12.2026" not in text
