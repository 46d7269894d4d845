"""The idea bank's pages: browsing shows what ``GET /v1/ideas`` shows (never a draft or an
idea returned to its author), an idea's page shows its stages and takes supports through the
API's service, proposing through the multipart form makes the idea the API would make (with
its cleaned files), and "my ideas" tells the author what to fix — never who reviewed."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fpdf import FPDF
from httpx import AsyncClient
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import User
from service.config import Settings
from tests.conftest import RunWorker
from tests.factories import KESKLINN, bearer, make_user
from tests.idea_factories import Area, admin, idea_body, make_area, propose
from tests.web_pages import csrf_of, sign_in

PUBLIC_TITLE = "Covered bicycle parking at the railway station"
DRAFT_TITLE = "Benches along the river promenade for older people"
RETURNED_TITLE = "Trees"


@dataclass
class Bank:
    area: Area
    author: User
    resident: User
    public_id: str
    draft_id: str
    returned_id: str


@pytest.fixture
async def bank(
    client: AsyncClient, session: AsyncSession, settings: Settings, run_worker: RunWorker
) -> Bank:
    area = await make_area(
        client,
        session,
        settings,
        await admin(session, settings),
        "webideas",
        experts=1,
        min_reviews=1,
    )
    author = await make_user(session, settings, name="Author Anonymous-Kept")
    resident = await make_user(session, settings, name="Resident Supporter")
    headers = bearer(settings, author)
    published = await propose(client, headers, idea_body(area.id, PUBLIC_TITLE))
    draft = await propose(client, headers, idea_body(area.id, DRAFT_TITLE), submit=False)
    returned = await propose(client, headers, idea_body(area.id, RETURNED_TITLE))
    await run_worker()
    return Bank(area, author, resident, published["id"], draft["id"], returned["id"])


async def test_browsing_shows_public_ideas_only(client: AsyncClient, bank: Bank) -> None:
    page = await client.get("/ideas")
    assert page.status_code == 200, page.text
    assert PUBLIC_TITLE in page.text
    assert DRAFT_TITLE not in page.text and f">{RETURNED_TITLE}<" not in page.text
    assert "Author Anonymous-Kept" not in page.text
    assert bank.area.experts[0].display_name not in page.text
    # The same as the API's list, filtered the same way.
    api = (await client.get("/v1/ideas", params={"area_id": bank.area.id})).json()
    assert [item["id"] for item in api["items"]] == [bank.public_id]
    assert f'href="/ideas/{bank.public_id}"' in page.text
    # The map reads the API's located ideas; the list is its alternative.
    assert 'data-src="/v1/ideas/map"' in page.text
    filtered = await client.get("/ideas", params={"area_id": bank.area.id, "state": "decided"})
    assert filtered.status_code == 200
    assert PUBLIC_TITLE not in filtered.text
    assert f'data-src="/v1/ideas/map?area_id={bank.area.id}&amp;state=decided"' in filtered.text
    # By district, as the API filters.
    here = await client.get("/v1/districts/locate", params={"lat": KESKLINN[0], "lon": KESKLINN[1]})
    select = re.search(r'<select id="field-district_id".*?</select>', page.text, re.S)
    assert select
    districts = re.findall(r'<option value="([0-9a-f-]{36})">', select.group(0))
    assert here.json()["id"] in districts
    elsewhere = next(d for d in districts if d != here.json()["id"])
    inside = await client.get("/ideas", params={"district_id": here.json()["id"]})
    assert PUBLIC_TITLE in inside.text
    outside = await client.get("/ideas", params={"district_id": elsewhere})
    assert PUBLIC_TITLE not in outside.text


async def test_a_bad_filter_comes_back_next_to_its_field_in_estonian(
    client: AsyncClient, bank: Bank
) -> None:
    page = await client.get("/ideas", params={"state": "draft-ish", "area_id": "x"})
    assert page.status_code == 422
    assert 'id="error-state">Valige üks võimalustest.' in page.text
    assert 'id="error-area_id">Valige üks võimalustest.' in page.text


async def test_an_ideas_page_shows_its_stages_and_no_author(
    client: AsyncClient, bank: Bank
) -> None:
    page = await client.get(f"/ideas/{bank.public_id}")
    assert page.status_code == 200, page.text
    assert PUBLIC_TITLE in page.text
    # The four stages in order: the checks done, the experts under way.
    stages = re.findall(
        r'<li class="(done|current|upcoming|stopped)"><span class="stage-name">', page.text
    )
    assert stages == ["done", "current", "upcoming", "upcoming"]
    assert "Läbis automaatkontrolli ja avaldati" in page.text
    assert "Author Anonymous-Kept" not in page.text
    assert bank.area.experts[0].display_name not in page.text
    assert f"/sign-in?next=/ideas/{bank.public_id}" in page.text


async def test_drafts_and_returned_ideas_are_not_found_for_others(
    client: AsyncClient, session: AsyncSession, settings: Settings, bank: Bank
) -> None:
    for idea_id in (bank.draft_id, bank.returned_id, str(uuid.uuid4())):
        answer = await client.get(f"/ideas/{idea_id}")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
    await sign_in(client, bank.resident.email)
    for idea_id in (bank.draft_id, bank.returned_id):
        assert (await client.get(f"/ideas/{idea_id}")).status_code == 404
        assert (await client.get(f"/my/ideas/{idea_id}")).status_code == 404
    # Nor can another person change or withdraw it.
    home = await client.get("/my/ideas")
    token = csrf_of(home)
    changed = await client.post(
        f"/my/ideas/{bank.draft_id}", data={"csrf_token": token, "title": "Taken over"}
    )
    assert changed.status_code == 404
    withdrawn = await client.post(f"/my/ideas/{bank.draft_id}/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 404
    mine = await client.get(f"/v1/me/ideas/{bank.draft_id}", headers=bearer(settings, bank.author))
    assert mine.json()["state"] == "draft" and mine.json()["title"] == DRAFT_TITLE


async def test_support_and_taking_it_back(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.resident.email)
    page = await client.get(f"/ideas/{bank.public_id}")
    supported = await client.post(
        f"/ideas/{bank.public_id}/support",
        data={"csrf_token": csrf_of(page), "support": "support"},
    )
    assert supported.status_code == 303
    assert supported.headers["location"] == f"/ideas/{bank.public_id}#support"
    state = await client.get(
        f"/v1/ideas/{bank.public_id}/support", headers=bearer(settings, bank.resident)
    )
    assert state.json() == {"supported": True, "support_count": 1}
    page = await client.get(f"/ideas/{bank.public_id}")
    assert "Toetate seda ideed." in page.text
    taken_back = await client.post(
        f"/ideas/{bank.public_id}/support",
        data={"csrf_token": csrf_of(page), "support": "withdraw"},
    )
    assert taken_back.status_code == 303
    assert (await client.get(f"/v1/ideas/{bank.public_id}")).json()["support_count"] == 0


async def test_an_author_cannot_support_their_own_idea(client: AsyncClient, bank: Bank) -> None:
    await sign_in(client, bank.author.email)
    page = await client.get(f"/ideas/{bank.public_id}")
    refused = await client.post(
        f"/ideas/{bank.public_id}/support",
        data={"csrf_token": csrf_of(page), "support": "support"},
    )
    assert refused.status_code == 409
    assert "Autor ei saa oma ideed toetada." in refused.text
    assert (await client.get(f"/v1/ideas/{bank.public_id}")).json()["support_count"] == 0


async def test_supporting_needs_a_signed_in_person(client: AsyncClient, bank: Bank) -> None:
    page = await client.get("/sign-in")
    answer = await client.post(
        f"/ideas/{bank.public_id}/support",
        data={"csrf_token": csrf_of(page), "support": "support"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.set_author("Mari Maasikas")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="A plan of the crossing")
    return bytes(pdf.output())


def _form(area_id: str, **changes: str) -> dict[str, str]:
    body = idea_body(area_id, "A raised pedestrian crossing by the school")
    return {
        "area_id": area_id,
        "title": body["title"],
        "summary": body["summary"],
        "problem": body["problem"],
        "solution": body["solution"],
        "benefit": body["benefit"],
        "cost_band": body["cost_band"],
        "lat": str(KESKLINN[0]),
        "lon": str(KESKLINN[1]),
        "tags": "school, safety",
        "organisation": "",
        "action": "submit",
        **changes,
    }


async def _propose(
    client: AsyncClient, fields: dict[str, str], files: list[tuple[str, Any]] | None = None
) -> Any:
    opened = await client.get("/ideas/new")
    assert opened.status_code == 200, opened.text
    return await client.post(
        "/ideas/new", data={"csrf_token": csrf_of(opened), **fields}, files=files or []
    )


async def test_proposing_with_files_makes_the_idea_the_api_makes(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.resident.email)
    answer = await _propose(
        client,
        _form(bank.area.id),
        [
            ("photos", ("crossing.png", _png(), "image/png")),
            ("documents", ("plan.pdf", _pdf(), "application/pdf")),
        ],
    )
    assert answer.status_code == 303, answer.text
    idea_id = answer.headers["location"].removeprefix("/my/ideas/")
    mine = await client.get(f"/v1/me/ideas/{idea_id}", headers=bearer(settings, bank.resident))
    assert mine.status_code == 200, mine.text
    idea = mine.json()
    assert idea["state"] == "submitted" and idea["attempt"] == 1
    assert idea["title"] == "A raised pedestrian crossing by the school"
    assert idea["tags"] == ["safety", "school"]
    assert idea["location"] == {"lat": KESKLINN[0], "lon": KESKLINN[1]}
    kinds = sorted(a["kind"] for a in idea["attachments"])
    assert kinds == ["document", "photo"]
    # The document was cleaned as the API cleans it: its author's name is gone.
    document = next(a for a in idea["attachments"] if a["kind"] == "document")
    stored = await client.get(f"/ideas/{idea_id}/files/{document['id']}")
    assert stored.status_code == 200 and stored.headers["content-type"] == "application/pdf"
    assert b"Maasikas" not in stored.content
    # The author's page shows it with its stage; nobody else opens its files before checks.
    own = await client.get(answer.headers["location"])
    assert own.status_code == 200 and "Automaatkontroll" in own.text
    client.cookies.clear()
    assert (await client.get(f"/ideas/{idea_id}/files/{document['id']}")).status_code == 404


async def test_a_draft_is_kept_for_later(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.resident.email)
    answer = await _propose(client, _form(bank.area.id, action="draft", lat="", lon=""))
    assert answer.status_code == 303, answer.text
    idea_id = answer.headers["location"].removeprefix("/my/ideas/")
    idea = (
        await client.get(f"/v1/me/ideas/{idea_id}", headers=bearer(settings, bank.resident))
    ).json()
    assert idea["state"] == "draft" and idea["location"] is None


async def test_bad_input_comes_back_next_to_the_field_and_nothing_is_made(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.resident.email)
    empty = await _propose(client, _form(bank.area.id, title="", lat="north"))
    assert empty.status_code == 422
    assert 'id="error-title"' in empty.text and "See on liiga lühike." in empty.text
    assert 'id="error-lat">Sisestage arv.' in empty.text
    assert 'value="A raised pedestrian crossing' not in empty.text
    assert "Residents of the block have asked" in empty.text  # what was typed stays
    no_area = await _propose(client, _form(str(uuid.uuid4())))
    assert no_area.status_code == 422
    assert 'id="error-area_id"' in no_area.text
    not_a_photo = await _propose(
        client, _form(bank.area.id), [("photos", ("x.png", b"not an image", "image/png"))]
    )
    assert not_a_photo.status_code == 415
    assert 'id="error-photos">' in not_a_photo.text
    assert "JPEG, PNG, WebP või HEIC" in not_a_photo.text
    mine = await client.get("/v1/me/ideas", headers=bearer(settings, bank.resident))
    assert mine.json()["items"] == []


async def test_proposing_needs_a_signed_in_verified_person(
    client: AsyncClient, session: AsyncSession, settings: Settings, bank: Bank
) -> None:
    out = await client.get("/ideas/new")
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in?next=%2Fideas%2Fnew"
    assert (await client.get("/my/ideas")).status_code == 303
    unverified = await make_user(session, settings, verified=False)
    await sign_in(client, unverified.email)
    refused = await _propose(client, _form(bank.area.id))
    assert refused.status_code == 403
    assert "Kinnitage esmalt oma e-posti aadress" in refused.text


async def test_my_ideas_show_a_returned_idea_with_what_to_fix(
    client: AsyncClient, settings: Settings, bank: Bank, run_worker: RunWorker
) -> None:
    await sign_in(client, bank.author.email)
    page = await client.get("/my/ideas")
    assert page.status_code == 200
    assert RETURNED_TITLE in page.text and DRAFT_TITLE in page.text and PUBLIC_TITLE in page.text
    assert "Autorile tagasi saadetud" in page.text
    assert "Mida parandada" in page.text
    assert "Pikkus jääb väljapoole selle valdkonna piire." in page.text
    assert bank.area.experts[0].display_name not in page.text
    own = await client.get(f"/my/ideas/{bank.returned_id}")
    assert own.status_code == 200
    assert f'action="/my/ideas/{bank.returned_id}"' in own.text  # the edit form
    fixed = await client.post(
        f"/my/ideas/{bank.returned_id}",
        data={
            "csrf_token": csrf_of(own),
            **_form(bank.area.id, title="Trees along Riia street between the two bridges"),
        },
    )
    assert fixed.status_code == 303, fixed.text
    idea = (
        await client.get(f"/v1/me/ideas/{bank.returned_id}", headers=bearer(settings, bank.author))
    ).json()
    assert idea["state"] == "submitted" and idea["attempt"] == 2
    assert idea["title"] == "Trees along Riia street between the two bridges"
    # A public idea is no longer editable: its page has no edit form.
    public = await client.get(f"/my/ideas/{bank.public_id}")
    assert f'action="/my/ideas/{bank.public_id}"' not in public.text
    assert "Laekunud hinnanguid: 0/1" in public.text


async def test_an_edit_with_bad_input_keeps_the_idea(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.author.email)
    own = await client.get(f"/my/ideas/{bank.draft_id}")
    bad = await client.post(
        f"/my/ideas/{bank.draft_id}",
        data={"csrf_token": csrf_of(own), **_form(bank.area.id, title="   ")},
    )
    assert bad.status_code == 422
    assert 'id="error-title"' in bad.text
    idea = (
        await client.get(f"/v1/me/ideas/{bank.draft_id}", headers=bearer(settings, bank.author))
    ).json()
    assert idea["title"] == DRAFT_TITLE


async def test_removing_a_file_and_withdrawing_through_the_pages(
    client: AsyncClient, settings: Settings, bank: Bank
) -> None:
    await sign_in(client, bank.resident.email)
    answer = await _propose(
        client,
        _form(bank.area.id, action="draft"),
        [("photos", ("crossing.png", _png(), "image/png"))],
    )
    assert answer.status_code == 303, answer.text
    idea_id = answer.headers["location"].removeprefix("/my/ideas/")
    headers = bearer(settings, bank.resident)
    (photo,) = (await client.get(f"/v1/me/ideas/{idea_id}", headers=headers)).json()["attachments"]
    own = await client.get(f"/my/ideas/{idea_id}")
    remove = f"/my/ideas/{idea_id}/attachments/{photo['id']}/remove"
    assert f'action="{remove}"' in own.text
    # Another person's form cannot remove it.
    client.cookies.clear()
    await sign_in(client, bank.author.email)
    other = await client.get("/my/ideas")
    assert (await client.post(remove, data={"csrf_token": csrf_of(other)})).status_code == 404
    client.cookies.clear()
    await sign_in(client, bank.resident.email)
    own = await client.get(f"/my/ideas/{idea_id}")
    removed = await client.post(remove, data={"csrf_token": csrf_of(own)})
    assert removed.status_code == 303
    assert (await client.get(f"/v1/me/ideas/{idea_id}", headers=headers)).json()[
        "attachments"
    ] == []
    withdrawn = await client.post(
        f"/my/ideas/{idea_id}/withdraw", data={"csrf_token": csrf_of(own)}
    )
    assert withdrawn.status_code == 303
    assert (await client.get(f"/v1/me/ideas/{idea_id}", headers=headers)).json()[
        "state"
    ] == "withdrawn"
    # A withdrawn idea cannot be withdrawn again: the page says so, in Estonian.
    again = await client.post(f"/my/ideas/{idea_id}/withdraw", data={"csrf_token": csrf_of(own)})
    assert again.status_code == 409
    assert "See ei ole idee praeguses etapis võimalik." in again.text
