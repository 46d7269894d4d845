"""Filing a report from the browser: the catalogue's steps without scripts, the reason's
attributes as fields, the place by coordinates or address, similar reports offered, photos
through the photo service, and one report however often the form is sent."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient, Response
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.config import Settings
from service.reports.models import Report, ReportPhoto
from service.reports.states import ReportState
from tests.factories import KESKLINN, make_user, reason_by_code
from tests.feedback_setup import accepted, cast
from tests.web_pages import csrf_of, sign_in

ONCE = re.compile(r'name="once" value="([^"]+)"')


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


async def _form(client: AsyncClient, reason_id: object) -> tuple[str, str]:
    page = await client.get("/reports/new", params={"reason": str(reason_id)})
    assert page.status_code == 200, page.text
    found = ONCE.search(page.text)
    assert found
    return csrf_of(page), found.group(1)


async def _send(
    client: AsyncClient,
    token: str,
    fields: dict[str, str],
    photos: list[tuple[str, bytes, str]] | None = None,
) -> Response:
    files = [("photos", photo) for photo in photos or []]
    return await client.post(
        "/reports/new", data={"csrf_token": token, **fields}, files=files or None
    )


async def _reports_of(session: AsyncSession, user: User) -> list[Report]:
    rows = await session.scalars(
        select(Report)
        .where(col(Report.reporter_id) == user.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_filing_needs_a_signed_in_verified_person(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    signed_out = await client.get("/reports/new")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?next=%2Freports%2Fnew"
    unverified = await make_user(session, settings, verified=False)
    await sign_in(client, unverified.email)
    refused = await client.get("/reports/new")
    assert refused.status_code == 403
    assert "Kinnitage esmalt oma e-posti aadress" in refused.text


async def test_the_steps_work_without_scripts(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    first = await client.get("/reports/new")
    pothole = await reason_by_code(session, "pothole")
    assert "<optgroup" in first.text and f'value="{pothole.id}"' in first.text
    second = await client.get("/reports/new", params={"reason": str(pothole.id)})
    # The reason's attribute from the catalogue, its options in the reader's language.
    assert 'name="attr_size"' in second.text and "Väike (alla 30 cm)" in second.text
    assert 'accept="image/*" capture="environment"' in second.text
    assert 'name="lat"' in second.text and 'name="lon"' in second.text
    assert "<script>" not in second.text and 'style="' not in second.text
    # The address search is the API's building search; a result sets the place.
    found = await client.get(
        "/reports/new", params={"reason": str(pothole.id), "address": "Kaunase pst 13"}
    )
    assert "Kaunase pst 13, Tartu" in found.text
    assert "lat=58." in found.text
    wrong = await client.get("/reports/new", params={"reason": "not-a-reason"})
    assert 'id="error-reason_id"' in wrong.text


async def test_similar_reports_nearby_are_offered(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    people = await cast(session, settings)
    nearby = await accepted(session, people, datetime.now(UTC) - timedelta(hours=2))
    await sign_in(client, people.stranger.email)
    pothole = await reason_by_code(session, "pothole")
    page = await client.get(
        "/reports/new",
        params={"reason": str(pothole.id), "lat": str(KESKLINN[0]), "lon": str(KESKLINN[1])},
    )
    assert 'id="nearby-heading"' in page.text
    assert f'href="/reports/{nearby.tracking_code}"' in page.text


async def test_filing_with_a_photo_end_to_end(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    tree = await reason_by_code(session, "dangerous-tree")
    assert tree.requires_photo
    token, once = await _form(client, tree.id)
    fields = {
        "reason_id": str(tree.id),
        "once": once,
        "lat": str(KESKLINN[0]),
        "lon": str(KESKLINN[1]),
        "description": "Suur oks ripub kõnnitee kohal.",
        "anonymous_public": "1",
    }
    # Without its photo, the form comes back with the photo rule beside the field.
    without = await _send(client, token, fields)
    assert without.status_code == 422
    assert 'id="error-photos"' in without.text and "See põhjus vajab fotot" in without.text
    assert await _reports_of(session, user) == []
    # A file that is not an image is refused by the photo service; nothing is filed.
    fake = await _send(client, token, fields, [("tree.jpg", b"not an image", "image/jpeg")])
    assert fake.status_code == 415
    assert 'id="error-photos"' in fake.text
    assert await _reports_of(session, user) == []
    filed = await _send(client, token, fields, [("tree.jpg", jpeg(), "image/jpeg")])
    assert filed.status_code == 303, filed.text
    (report,) = await _reports_of(session, user)
    assert filed.headers["location"] == f"/reports/{report.tracking_code}/filed"
    # Sent to moderation with its photo (the draft waited for it), anonymous as asked.
    assert report.state == ReportState.submitted and report.anonymous_public
    photos = await session.scalar(
        select(func.count()).where(col(ReportPhoto.report_id) == report.id)
    )
    assert photos == 1
    confirmation = await client.get(filed.headers["location"])
    assert confirmation.status_code == 200
    assert report.tracking_code in confirmation.text
    own = await client.get(f"/reports/{report.tracking_code}")
    assert f"/reports/{report.tracking_code}/photos/" in own.text
    photo_id = re.search(r"/photos/([0-9a-f-]{36})", own.text)
    assert photo_id
    image = await client.get(f"/reports/{report.tracking_code}/photos/{photo_id.group(1)}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    # The confirmation is the reporter's: another person gets a 404.
    client.cookies.clear()
    other = await make_user(session, settings)
    await sign_in(client, other.email)
    assert (await client.get(filed.headers["location"])).status_code == 404


async def test_a_bad_field_comes_back_beside_the_field_in_estonian(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    pothole = await reason_by_code(session, "pothole")
    token, once = await _form(client, pothole.id)
    base = {"reason_id": str(pothole.id), "once": once}
    no_text = await _send(
        client,
        token,
        {**base, "lat": str(KESKLINN[0]), "lon": str(KESKLINN[1]), "attr_size": "small"},
    )
    assert no_text.status_code == 422
    assert 'id="error-description"' in no_text.text and "Täitke see väli." in no_text.text
    no_place = await _send(client, token, {**base, "description": "Auk.", "attr_size": "small"})
    assert no_place.status_code == 422 and 'id="error-lat"' in no_place.text
    no_size = await _send(
        client,
        token,
        {**base, "description": "Auk.", "lat": str(KESKLINN[0]), "lon": str(KESKLINN[1])},
    )
    assert no_size.status_code == 422
    assert 'id="error-attr_size"' in no_size.text
    # What was typed is kept.
    assert "Auk." in no_size.text
    outside = await _send(
        client,
        token,
        {**base, "description": "Auk.", "lat": "59.437", "lon": "24.7536", "attr_size": "small"},
    )
    assert outside.status_code == 422 and "väljaspool linna" in outside.text
    assert await _reports_of(session, user) == []


async def test_a_form_sent_twice_files_one_report(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    pothole = await reason_by_code(session, "pothole")
    token, once = await _form(client, pothole.id)
    fields = {
        "reason_id": str(pothole.id),
        "once": once,
        "lat": str(KESKLINN[0]),
        "lon": str(KESKLINN[1]),
        "description": "Auk ristmikul.",
        "attr_size": "large",
    }
    first = await _send(client, token, fields)
    second = await _send(client, token, fields)
    assert first.status_code == second.status_code == 303, second.text
    assert first.headers["location"] == second.headers["location"]
    (report,) = await _reports_of(session, user)
    assert report.attributes == {"size": "large"}
    # A new form (a new key) files a new report.
    token, again = await _form(client, pothole.id)
    assert again != once
    third = await _send(client, token, {**fields, "once": again})
    assert third.status_code == 303
    assert len(await _reports_of(session, user)) == 2


def large_jpeg(at_least: int) -> bytes:
    """A photo as a phone takes it: larger than the body limit of ordinary forms."""
    side = 400
    while True:
        out = io.BytesIO()
        noise = Image.frombytes("RGB", (side, side), random.randbytes(side * side * 3))
        noise.save(out, format="JPEG", quality=95)
        if out.tell() >= at_least:
            return out.getvalue()
        side *= 2


async def test_a_photo_larger_than_an_ordinary_form_can_be_filed(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, settings)
    await sign_in(client, user.email)
    tree = await reason_by_code(session, "dangerous-tree")
    token, once = await _form(client, tree.id)
    fields = {
        "reason_id": str(tree.id),
        "once": once,
        "lat": str(KESKLINN[0]),
        "lon": str(KESKLINN[1]),
        "description": "Suur oks ripub kõnnitee kohal.",
    }
    photo = large_jpeg(settings.max_body_bytes + 1)
    assert len(photo) < settings.photo_max_bytes
    filed = await _send(client, token, fields, [("tree.jpg", photo, "image/jpeg")])
    assert filed.status_code == 303, filed.text
    (report,) = await _reports_of(session, user)
    assert filed.headers["location"] == f"/reports/{report.tracking_code}/filed"
