"""Photo uploads: sniffing, limits, metadata stripping, drafts, thumbnails and visibility."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role
from service.config import Settings
from service.reports.models import ReportPhoto
from tests.conftest import RunWorker
from tests.factories import accept_report, bearer, file_report, make_user

GPS_IFD = 0x8825


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (58.0, 22.0, 44.0), 3: "E", 4: (26.0, 43.0, 0.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(width: int = 32, height: int = 32, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, format="PNG")
    return out.getvalue()


def upload(
    data: bytes, content_type: str, name: str = "photo.jpg"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, content_type)}


async def test_upload_strips_metadata_and_makes_a_thumbnail(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    resident = await make_user(session, settings)
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    report = await file_report(session, resident)
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the fixture has GPS

    response = await client.post(
        f"/v1/reports/{report.id}/photos",
        files=upload(original, "image/jpeg"),
        headers=bearer(settings, resident),
    )
    assert response.status_code == 201, response.text
    photo = response.json()
    # The orientation tag was applied to the pixels: 64×48 stood upright is 48×64.
    assert (photo["width"], photo["height"]) == (48, 64)
    stored = await session.get(ReportPhoto, uuid.UUID(photo["id"]))
    assert stored is not None
    data = (Path(settings.media_dir) / stored.path).read_bytes()
    saved = Image.open(io.BytesIO(data))
    assert saved.format == "JPEG"
    assert len(saved.getexif()) == 0
    assert b"PhoneMaker" not in data

    # The owner sees the photo before moderation; the public does not.
    own = await client.get(photo["url"], headers=bearer(settings, resident))
    assert own.status_code == 200
    assert own.headers["content-type"] == "image/jpeg"
    assert (await client.get(photo["url"])).status_code == 404

    await run_worker()
    await session.refresh(stored)
    assert stored.thumbnail_path is not None
    await accept_report(session, moderator, report)
    thumbnail = await client.get(photo["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert Image.open(io.BytesIO(thumbnail.content)).size == (48, 64)  # small images stay small
    view = (await client.get(f"/v1/reports/{report.id}")).json()
    assert [p["id"] for p in view["photos"]] == [photo["id"]]
    assert view["photo_count"] == 1

    # Accepted: no more changes to the photos.
    late = await client.post(
        f"/v1/reports/{report.id}/photos",
        files=upload(original, "image/jpeg"),
        headers=bearer(settings, resident),
    )
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("data", "content_type", "status", "problem"),
    [
        (png(), "image/jpeg", 415, "was sent as image/jpeg"),
        (b"GIF89a" + b"\0" * 100, "image/gif", 415, "JPEG, PNG, WebP or HEIC"),
        (b"%PDF-1.7 not an image", "image/jpeg", 415, "JPEG, PNG, WebP or HEIC"),
        (jpeg_with_gps()[:200], "image/jpeg", 422, "damaged"),
        # 12000×12000 one-bit pixels: a few kilobytes on the wire, 144 megapixels decoded.
        (png(12000, 12000, "1"), "image/png", 422, "pixels"),
    ],
    ids=["png-claiming-jpeg", "gif", "pdf", "truncated", "decompression-bomb"],
)
async def test_bad_uploads_are_refused(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    data: bytes,
    content_type: str,
    status: int,
    problem: str,
) -> None:
    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    response = await client.post(
        f"/v1/reports/{report.id}/photos",
        files=upload(data, content_type),
        headers=bearer(settings, resident),
    )
    assert response.status_code == status, response.text
    assert problem in response.json()["detail"]
    count = (
        await session.execute(select(ReportPhoto).where(ReportPhoto.report_id == report.id))
    ).all()
    assert count == []


async def test_photo_limits_and_ownership(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
) -> None:
    resident = await make_user(session, settings)
    stranger = await make_user(session, settings)
    report = await file_report(session, resident)
    url = f"/v1/reports/{report.id}/photos"
    denied = await client.post(
        url, files=upload(png(), "image/png"), headers=bearer(settings, stranger)
    )
    assert denied.status_code == 404
    assert (await client.post(url, files=upload(png(), "image/png"))).status_code == 401
    ids = []
    for _ in range(settings.photos_per_report):
        response = await client.post(
            url, files=upload(png(), "image/png", "p.png"), headers=bearer(settings, resident)
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    sixth = await client.post(
        url, files=upload(png(), "image/png"), headers=bearer(settings, resident)
    )
    assert sixth.status_code == 409
    removed = await client.delete(f"{url}/{ids[0]}", headers=bearer(settings, resident))
    assert removed.status_code == 204
    gone = await client.get(f"{url}/{ids[0]}", headers=bearer(settings, resident))
    assert gone.status_code == 404
    again = await client.post(
        url, files=upload(png(), "image/png"), headers=bearer(settings, resident)
    )
    assert again.status_code == 201

    too_big = await client.post(
        url,
        files=upload(b"\xff\xd8" + b"0" * (settings.photo_max_bytes + 70_000), "image/jpeg"),
        headers=bearer(settings, resident),
    )
    assert too_big.status_code == 413


async def test_a_photo_reason_waits_in_draft_for_its_photo(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    resident = await make_user(session, settings)
    headers = bearer(settings, resident)
    report = await file_report(session, resident, reason_code="dangerous-tree")
    assert report.state == "draft"
    # The draft says what it waits for: its photo, then to be sent.
    waiting = await client.get(f"/v1/reports/{report.id}", headers=headers)
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["private"]["waiting_for"] == "photo"
    early = await client.post(f"/v1/reports/{report.id}/submit", headers=headers)
    assert early.status_code == 422
    webp = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(webp, format="WEBP")
    uploaded = await client.post(
        f"/v1/reports/{report.id}/photos",
        files=upload(webp.getvalue(), "image/webp", "tree.webp"),
        headers=headers,
    )
    assert uploaded.status_code == 201
    ready = await client.get(f"/v1/reports/{report.id}", headers=headers)
    assert ready.json()["private"]["waiting_for"] == "submit"
    heif = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 20, 200)).save(heif, format="HEIF")
    from_phone = await client.post(
        f"/v1/reports/{report.id}/photos",
        files=upload(heif.getvalue(), "image/heic", "IMG_0001.HEIC"),
        headers=headers,
    )
    assert from_phone.status_code == 201, from_phone.text
    assert (from_phone.json()["width"], from_phone.json()["height"]) == (30, 20)
    served = await client.get(from_phone.json()["url"], headers=headers)
    assert Image.open(io.BytesIO(served.content)).format == "JPEG"
    submitted = await client.post(f"/v1/reports/{report.id}/submit", headers=headers)
    assert submitted.status_code == 200
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["private"]["moderation_due_at"] is not None
    assert submitted.json()["private"]["waiting_for"] is None
    twice = await client.post(f"/v1/reports/{report.id}/submit", headers=headers)
    assert twice.status_code == 409


async def test_the_sweep_deletes_only_unreferenced_old_files(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    from service.reports.photos import sweep_orphans

    resident = await make_user(session, settings)
    report = await file_report(session, resident)
    headers = bearer(settings, resident)
    kept = await client.post(
        f"/v1/reports/{report.id}/photos", files=upload(png(), "image/png"), headers=headers
    )
    removed = await client.post(
        f"/v1/reports/{report.id}/photos", files=upload(png(), "image/png"), headers=headers
    )
    await client.delete(f"/v1/reports/{report.id}/photos/{removed.json()['id']}", headers=headers)
    media = Path(settings.media_dir)
    kept_file = media / f"reports/{report.id}/{kept.json()['id']}.jpg"
    removed_file = media / f"reports/{report.id}/{removed.json()['id']}.jpg"
    stray = media / f"reports/{report.id}/{uuid.uuid4()}.jpg"  # an upload that rolled back
    stray.write_bytes(b"x")
    assert kept_file.exists() and removed_file.exists()

    now = datetime.now(UTC)
    # Within the grace period nothing goes.
    assert await sweep_orphans(session, settings, now, grace=timedelta(hours=1)) == 0
    later = now + timedelta(hours=2)
    assert await sweep_orphans(session, settings, later, grace=timedelta(hours=1)) >= 2
    assert kept_file.exists()
    assert not removed_file.exists()
    assert not stray.exists()


async def test_one_sweep_deletes_unreferenced_files_of_reports_and_ideas(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    from fpdf import FPDF

    from service.reports.photos import sweep_orphans
    from tests.idea_factories import admin, idea_body, make_area
    from workers.reports import MEDIA_STORES

    area = await make_area(client, session, settings, await admin(session, settings), "sweep")
    author = bearer(settings, await make_user(session, settings))
    idea = await client.post(
        "/v1/ideas", json=idea_body(area.id, "Benches along the promenade"), headers=author
    )
    assert idea.status_code == 201, idea.text
    idea_id = idea.json()["id"]
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="A plan of the benches")
    document = await client.post(
        f"/v1/ideas/{idea_id}/documents",
        files=upload(bytes(pdf.output()), "application/pdf", "plan.pdf"),
        headers=author,
    )
    photo = await client.post(
        f"/v1/ideas/{idea_id}/photos", files=upload(png(), "image/png"), headers=author
    )
    removed = await client.post(
        f"/v1/ideas/{idea_id}/documents",
        files=upload(bytes(pdf.output()), "application/pdf", "old.pdf"),
        headers=author,
    )
    assert {document.status_code, photo.status_code, removed.status_code} == {201}
    gone = await client.delete(
        f"/v1/ideas/{idea_id}/attachments/{removed.json()['id']}", headers=author
    )
    assert gone.status_code == 204
    media = Path(settings.media_dir)
    kept = [
        media / f"ideas/{idea_id}/{document.json()['id']}.pdf",
        media / f"ideas/{idea_id}/{photo.json()['id']}.jpg",
    ]
    removed_file = media / f"ideas/{idea_id}/{removed.json()['id']}.pdf"
    strays = [  # uploads whose transaction rolled back, of an idea and of a report
        media / f"ideas/{idea_id}/{uuid.uuid4()}.jpg",
        media / f"ideas/{uuid.uuid4()}/{uuid.uuid4()}.pdf",
        media / f"reports/{uuid.uuid4()}/{uuid.uuid4()}.jpg",
    ]
    for stray in strays:
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"x")
    assert all(path.exists() for path in [*kept, removed_file])

    now = datetime.now(UTC)
    assert await sweep_orphans(session, settings, now, timedelta(hours=1), MEDIA_STORES) == 0
    later = now + timedelta(hours=2)
    assert await sweep_orphans(session, settings, later, timedelta(hours=1), MEDIA_STORES) >= 4
    assert all(path.exists() for path in kept)
    assert not removed_file.exists()
    assert not any(stray.exists() for stray in strays)
    served = await client.get(
        f"/v1/ideas/{idea_id}/attachments/{document.json()['id']}", headers=author
    )
    assert served.status_code == 200 and served.content.startswith(b"%PDF")
