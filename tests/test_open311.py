"""Open311 GeoReport v2: every endpoint in both formats, the shapes of JSON and XML, errors,
attribute validation, date windows and limits, filing through the one filing service, and a
round trip through moderation to an answer."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from httpx import AsyncClient, Response
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import service as auth
from service.auth.models import Role, User
from service.auth.schemas import ApiKeyCreate
from service.catalog.attributes import validate_attribute_values
from service.catalog.models import Reason
from service.config import Settings
from service.db import table_of
from service.errors import InvalidInput
from service.feedback.models import ReportResponse, ResponseState
from service.open311.schemas import (
    RequestCreated,
    RequestUpdate,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
)
from service.queues.models import ResponsePriority
from service.reports.models import Report, ReportEvent, ReportRound
from service.reports.states import ReportState
from tests.conftest import Mailbox, RunWorker
from tests.factories import (
    ANNELINN,
    KESKLINN,
    accept_report,
    bearer,
    file_report,
    make_user,
    reason_by_code,
)

BASE = "/open311/v2"
# The spec's elements of each item, in its order.
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
]


def xml(response: Response) -> ElementTree.Element:
    """The document of an XML answer (our own output: trusted)."""
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ElementTree.fromstring(response.content)  # noqa: S314


def children(element: ElementTree.Element) -> list[str]:
    return [child.tag for child in element]


def errors_of(response: Response) -> list[dict[str, Any]]:
    """The spec's error list, from either format; checks its shape."""
    if response.headers["content-type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        found = []
        for error in root:
            assert error.tag == "error"
            assert children(error) == ["code", "description"]
            found.append(
                {
                    "code": int(error.findtext("code") or 0),
                    "description": error.findtext("description"),
                }
            )
        return found
    body = response.json()
    assert isinstance(body, list)
    for error in body:
        assert set(error) == {"code", "description"}
    return body


async def api_key(session: AsyncSession, owner: User, *scopes: str, name: str = "City app") -> str:
    _, secret = await auth.create_api_key(
        session,
        None,
        ApiKeyCreate(name=name, scopes=list(scopes), owner_id=owner.id),
        datetime.now(UTC),
    )
    return secret


async def writer_key(session: AsyncSession, settings: Settings) -> str:
    return await api_key(session, await make_user(session, settings), "open311:write")


def pothole_form(key: str | None, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "service_code": "pothole",
        "lat": str(KESKLINN[0]),
        "long": str(KESKLINN[1]),
        "description": "A deep pothole in front of the town hall.",
        "attribute[size]": "large",
        "email": f"open311-{uuid.uuid4().hex[:8]}@example.org",
        **changes,
    }
    if key is not None:
        form["api_key"] = key
    return {k: v for k, v in form.items() if v is not None}


async def public_report(session: AsyncSession, settings: Settings, **kwargs: Any) -> Report:
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    reporter = await make_user(session, settings, name="Private Person")
    return await accept_report(session, moderator, await file_report(session, reporter, **kwargs))


# --- discovery, services, service definitions --------------------------------------------


async def test_discovery_names_this_endpoint_in_both_formats(client: AsyncClient) -> None:
    as_json = await client.get(f"{BASE}/discovery.json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json; charset=utf-8"
    body = as_json.json()
    assert set(body) == {"changeset", "contact", "key_service", "max_requests", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]

    root = xml(await client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoints = root.find("endpoints")
    assert endpoints is not None
    assert children(endpoints) == ["endpoint"]
    formats = endpoints.find("endpoint/formats")
    assert formats is not None
    assert [f.text for f in formats.iter("format")] == ["text/xml", "application/json"]


async def test_services_are_the_active_reasons_in_both_formats(
    client: AsyncClient, session: AsyncSession
) -> None:
    as_json = await client.get(f"{BASE}/services.json", params={"lang": "en"})
    assert as_json.status_code == 200
    services = as_json.json()
    assert isinstance(services, list)
    for item in services:
        Service.model_validate(item)
        assert list(item) == SERVICE_FIELDS
    by_code = {s["service_code"]: s for s in services}
    active = set(
        (await session.execute(select(Reason.service_code).where(Reason.active))).scalars()
    )
    assert set(by_code) == active
    pothole = by_code["pothole"]
    assert pothole["service_name"] == "Pothole"
    assert pothole["metadata"] is True
    assert pothole["type"] == "batch"
    assert "Auk teekattes" in pothole["keywords"]  # the other languages' names are synonyms
    assert by_code["street-dirty"]["metadata"] is False

    root = xml(await client.get(f"{BASE}/services.xml", params={"lang": "ru"}))
    assert root.tag == "services"
    assert set(children(root)) == {"service"}
    assert len(root) == len(services)
    first = root[0]
    assert children(first) == SERVICE_FIELDS
    names = {s.findtext("service_code"): s for s in root}
    assert names["pothole"].findtext("service_name") == "Яма на дороге"
    assert names["pothole"].findtext("metadata") == "true"
    assert names["street-dirty"].findtext("metadata") == "false"


async def test_a_service_definition_maps_every_attribute_type(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    pothole = await reason_by_code(session, "pothole")
    names = {"et": "Nimi", "en": "Name"}
    body = {
        "code": "open311-all-types",
        "category_id": str(pothole.category_id),
        "names": {"et": "Kõik tüübid", "en": "All types"},
        "service_code": "all-types",
        "sla_amount": 3,
        "attributes": [
            {"code": "one_line", "names": names, "type": "string", "max_length": 20},
            {"code": "story", "names": names, "type": "text", "required": True},
            {"code": "count", "names": names, "type": "number", "min_value": 1, "max_value": 9},
            {"code": "day", "names": names, "type": "date"},
            {"code": "moment", "names": names, "type": "datetime"},
            {
                "code": "pick",
                "names": names,
                "type": "single_value_list",
                "values": [{"key": "a", "names": {"et": "A", "en": "Ay"}}],
            },
            {
                "code": "picks",
                "names": names,
                "type": "multi_value_list",
                "values": [
                    {"key": "x", "names": {"et": "X"}},
                    {"key": "y", "names": {"et": "Y"}},
                ],
            },
        ],
    }
    created = await client.post(
        "/v1/admin/catalog/reasons", json=body, headers=bearer(settings, admin)
    )
    assert created.status_code == 201, created.text

    as_json = await client.get(f"{BASE}/services/all-types.json", params={"lang": "en"})
    assert as_json.status_code == 200
    definition = ServiceDefinition.model_validate(as_json.json())
    assert definition.service_code == "all-types"
    assert [(a.code, a.datatype, a.order) for a in definition.attributes] == [
        ("one_line", "string", 1),
        ("story", "text", 2),
        ("count", "number", 3),
        ("day", "datetime", 4),
        ("moment", "datetime", 5),
        ("pick", "singlevaluelist", 6),
        ("picks", "multivaluelist", 7),
    ]
    assert [a.required for a in definition.attributes][:2] == [False, True]
    assert definition.attributes[2].datatype_description == "A number: 1…9"
    assert [(v.key, v.name) for v in definition.attributes[5].values] == [("a", "Ay")]
    for attribute in as_json.json()["attributes"]:
        assert list(attribute) == ATTRIBUTE_FIELDS

    root = xml(await client.get(f"{BASE}/services/all-types.xml"))
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert attributes is not None
    assert set(children(attributes)) == {"attribute"}
    picks = attributes[6]
    assert children(picks) == ATTRIBUTE_FIELDS
    values = picks.find("values")
    assert values is not None
    assert [children(v) for v in values] == [["key", "name"], ["key", "name"]]
    assert picks.findtext("variable") == "true"
    # A service without attributes has an empty list.
    plain = await client.get(f"{BASE}/services/street-dirty.json")
    assert plain.json() == {"service_code": "street-dirty", "attributes": []}


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unknown_things_are_404_in_the_spec_error_list(client: AsyncClient, fmt: str) -> None:
    for path in (
        f"{BASE}/services/no-such-service.{fmt}",
        f"{BASE}/requests/ML-0000-0000.{fmt}",
        f"{BASE}/tokens/{uuid.uuid4()}.{fmt}",
        f"{BASE}/tokens/not-a-token.{fmt}",
        f"{BASE}/nothing-here.{fmt}",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        (error,) = errors_of(answer)
        assert error["code"] == 404
        assert answer.headers["content-type"].startswith(
            "application/json" if fmt == "json" else "text/xml"
        )
    # An unknown format suffix is an unknown resource.
    for path in (f"{BASE}/services.yaml", f"{BASE}/requests.html", f"{BASE}/discovery.csv"):
        answer = await client.get(path)
        assert answer.status_code == 404
        assert errors_of(answer)[0]["code"] == 404


# --- POST requests ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_filing_needs_an_open311_key_sent_where_the_spec_puts_it(
    client: AsyncClient, session: AsyncSession, settings: Settings, fmt: str
) -> None:
    owner = await make_user(session, settings)
    good = await api_key(session, owner, "open311:write")
    other = await api_key(session, owner, "reports:write", "reports:on_behalf")
    url = f"{BASE}/requests.{fmt}"
    for form in (pothole_form(None), pothole_form("mk_not-a-key"), pothole_form(other)):
        refused = await client.post(url, data=form)
        assert refused.status_code == 403, refused.text
        assert errors_of(refused)[0]["code"] == 403
    # A person's sign-in is no Open311 key.
    person = await client.post(url, data=pothole_form(None), headers=bearer(settings, owner))
    assert person.status_code == 403
    as_form = await client.post(url, data=pothole_form(good))
    as_query = await client.post(url, data=pothole_form(None), params={"api_key": good})
    as_header = await client.post(url, data=pothole_form(None), headers={"X-API-Key": good})
    for answer in (as_form, as_query, as_header):
        assert answer.status_code == 201, answer.text


async def test_filing_answers_a_token_and_files_for_a_contact_reporter(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    key = await writer_key(session, settings)
    email = f"open311-{uuid.uuid4().hex[:8]}@example.org"
    form = pothole_form(key, email=email, first_name="Mari", phone="+372 555 0101")
    answer = await client.post(f"{BASE}/requests.json", data=form)
    assert answer.status_code == 201, answer.text
    (created,) = answer.json()
    RequestCreated.model_validate(created)
    assert set(created) == {"token", "service_notice", "account_id"}
    assert "service_request_id" not in created
    assert created["account_id"] is None
    assert "5" in created["service_notice"]  # the pothole's five working days
    report = await session.get(Report, uuid.UUID(created["token"]))
    assert report is not None
    assert report.state == ReportState.submitted
    assert report.filed_on_behalf and report.anonymous_public
    contact = (
        await session.execute(select(User).where(func.lower(User.email) == email))
    ).scalar_one()
    assert contact.contact_only
    assert report.reporter_id == contact.id
    assert report.attributes == {"size": "large"}
    # The phone and name are kept for the department only.
    details = (
        await session.execute(
            select(ReportEvent).where(
                ReportEvent.report_id == report.id, ReportEvent.type == "contact_details"
            )
        )
    ).scalar_one()
    assert details.public is False
    assert details.data == {"first_name": "Mari", "phone": "+372 555 0101"}
    await run_worker()
    assert len(mailbox.to(email)) == 1  # "filed for you by City app", as on behalf

    root = xml(await client.post(f"{BASE}/requests.xml", data=pothole_form(key)))
    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert children(request) == ["token", "service_notice", "account_id"]
    assert request.find("account_id") is not None
    assert request.findtext("account_id") == ""


async def test_without_email_the_key_owner_files_under_their_own_quota(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"report_quota_per_day": 1})
    owner = await make_user(session, settings)
    key = await api_key(session, owner, "open311:write")
    first = await client.post(f"{BASE}/requests.json", data=pothole_form(key, email=None))
    assert first.status_code == 201
    report = await session.get(Report, uuid.UUID(first.json()[0]["token"]))
    assert report is not None
    assert report.reporter_id == owner.id and not report.filed_on_behalf
    second = await client.post(f"{BASE}/requests.xml", data=pothole_form(key, email=None))
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    assert errors_of(second)[0]["code"] == 429


async def test_filings_for_emails_count_against_the_key_like_the_native_api(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"api_key_report_quota_per_day": 2})
    key = await writer_key(session, settings)
    for remaining in ("1", "0"):
        filed = await client.post(f"{BASE}/requests.json", data=pothole_form(key))
        assert filed.status_code == 201
        assert filed.headers["RateLimit-Remaining"] == remaining
    refused = await client.post(f"{BASE}/requests.json", data=pothole_form(key))
    assert refused.status_code == 429
    assert "At most 2 reports" in errors_of(refused)[0]["description"]


async def test_an_idempotency_key_replays_the_first_answer(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await writer_key(session, settings)
    form = pothole_form(key)
    headers = {"Idempotency-Key": "open311-once"}
    first = await client.post(f"{BASE}/requests.json", data=form, headers=headers)
    again = await client.post(f"{BASE}/requests.xml", data=form, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "ETag" not in again.headers and "Location" not in again.headers
    assert xml(again)[0].findtext("token") == first.json()[0]["token"]
    count = await session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.id == uuid.UUID(first.json()[0]["token"]))
    )
    assert count == 1
    changed = await client.post(
        f"{BASE}/requests.json", data={**form, "description": "Another one"}, headers=headers
    )
    assert changed.status_code == 400


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"service_code": None}, "service_code"),
        ({"lat": None, "long": None}, "location is required"),
        ({"long": None}, "lat and long go together"),
        ({"lat": "north"}, "numbers"),
        ({"lat": "59.437", "long": "24.7536"}, "outside"),  # Tallinn
        ({"description": None}, "description"),
        ({"attribute[size]": None}, "attribute[size]: required"),
        ({"attribute[size]": "enormous"}, "attribute[size]: must be one of"),
        ({"email": "not-an-email"}, "email"),
        ({"address_id": "not-a-building"}, "address_id"),
        ({"lat": None, "long": None, "address_string": "Nowhere Street 999999"}, "address_string"),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    changes: dict[str, Any],
    expected: str,
) -> None:
    key = await writer_key(session, settings)
    answer = await client.post(f"{BASE}/requests.xml", data=pothole_form(key, **changes))
    assert answer.status_code == 400, answer.text
    errors = errors_of(answer)
    assert all(error["code"] == 400 for error in errors)
    assert any(expected in str(error["description"]) for error in errors), errors
    unknown = await client.post(
        f"{BASE}/requests.json", data=pothole_form(key, service_code="no-such-service")
    )
    assert unknown.status_code == 404


async def test_attributes_of_lists_and_unknown_parameters(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await writer_key(session, settings)
    png = _png()
    form = {
        "api_key": key,
        "service_code": "illegal-dumping",
        "lat": str(KESKLINN[0]),
        "long": str(KESKLINN[1]),
        "description": "Tyres and a sofa in the park.",
        "attribute[waste_kind][]": ["tyres", "furniture"],
        "attribute[report_url]": "https://fixmystreet.example/report/1",  # not ours: ignored
        "jurisdiction_id": "tartu.ee",
        "no_such_parameter": "ignored",
    }
    answer = await client.post(
        f"{BASE}/requests.json", data=form, files={"media": ("dump.png", png, "image/png")}
    )
    assert answer.status_code == 201, answer.text
    report = await session.get(Report, uuid.UUID(answer.json()[0]["token"]))
    assert report is not None
    assert report.attributes == {"waste_kind": ["furniture", "tyres"]}
    # A reason that needs a photo left draft with it, straight to moderation.
    assert report.state == ReportState.submitted
    assert report.photo_count == 1
    without_photo = await client.post(f"{BASE}/requests.json", data=form)
    assert without_photo.status_code == 400
    assert "photo" in errors_of(without_photo)[0]["description"]
    wrong = await client.post(
        f"{BASE}/requests.json",
        data={**form, "attribute[waste_kind][]": ["tyres", "gold"]},
        files={"media": ("dump.png", png, "image/png")},
    )
    assert wrong.status_code == 400
    assert "attribute[waste_kind]" in errors_of(wrong)[0]["description"]


def _png(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="PNG")
    return out.getvalue()


async def test_a_place_by_building_or_by_address(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await writer_key(session, settings)
    building = (await client.get("/v1/buildings", params={"q": "Kaunase pst 13"})).json()["items"][
        0
    ]
    by_id = await client.post(
        f"{BASE}/requests.json",
        data=pothole_form(key, lat=None, long=None, address_id=building["id"]),
    )
    by_address = await client.post(
        f"{BASE}/requests.json",
        data=pothole_form(key, lat=None, long=None, address_string="Kaunse 13"),
    )
    for answer in (by_id, by_address):
        assert answer.status_code == 201, answer.text
        report = await session.get(Report, uuid.UUID(answer.json()[0]["token"]))
        assert report is not None
        assert report.building_id == uuid.UUID(building["id"])
    unknown = await client.post(
        f"{BASE}/requests.json",
        data=pothole_form(key, lat=None, long=None, address_id=str(uuid.uuid4())),
    )
    assert unknown.status_code in (400, 404)


# --- reading requests ---------------------------------------------------------------------


async def test_requests_show_public_reports_without_personal_data(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings, description="Kõnnitee auk ja яма")
    reporter = await session.get(User, report.reporter_id)
    assert reporter is not None
    hidden = await file_report(session, reporter)  # still awaiting moderation
    answer = await client.get(f"{BASE}/requests.json")
    assert answer.status_code == 200
    requests = answer.json()
    codes = [r["service_request_id"] for r in requests]
    assert report.tracking_code in codes
    assert hidden.tracking_code not in codes
    assert reporter.email not in answer.text
    assert "Private Person" not in answer.text
    mine = next(r for r in requests if r["service_request_id"] == report.tracking_code)
    ServiceRequest.model_validate(mine)
    assert list(mine) == REQUEST_FIELDS
    assert mine["status"] == "open"
    assert mine["service_code"] == "pothole"
    assert mine["description"] == "Kõnnitee auk ja яма"
    assert mine["lat"] == pytest.approx(KESKLINN[0]) and mine["long"] == pytest.approx(KESKLINN[1])
    assert mine["agency_responsible"]
    # W3C date-times with the city's offset (Tallinn: +02:00 or +03:00).
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert mine[name][-6:] in ("+02:00", "+03:00"), mine[name]
        assert "." not in mine[name]
    assert report.due_at is not None
    assert datetime.fromisoformat(mine["expected_datetime"]) == report.due_at.replace(microsecond=0)

    root = xml(await client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests"
    assert set(children(root)) == {"request"}
    for request in root:
        assert children(request) == REQUEST_FIELDS
    one = await client.get(f"{BASE}/requests/{report.tracking_code}.xml")
    (request,) = xml(one)
    assert request.findtext("service_request_id") == report.tracking_code
    single = await client.get(f"{BASE}/requests/{report.tracking_code.lower()}.json")
    assert [r["service_request_id"] for r in single.json()] == [report.tracking_code]
    assert (await client.get(f"{BASE}/requests/{hidden.tracking_code}.json")).status_code == 404


async def test_xml_escapes_markup_and_keeps_estonian_and_russian_text(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    text = 'Auk <b>"tee"</b> & kõnnitee; яма & «лужа» \x0b end'
    report = await public_report(session, settings, description="placeholder")
    # Input refuses control characters today; rows written before that may hold them.
    await session.execute(sql_update(Report).where(Report.id == report.id).values(description=text))
    answer = await client.get(f"{BASE}/requests/{report.tracking_code}.xml")
    assert answer.status_code == 200, answer.text
    assert b"<b>" not in answer.content
    assert b"&lt;b&gt;" in answer.content and b"&amp;" in answer.content
    (request,) = xml(answer)
    # Everything survives but the control character XML 1.0 cannot carry.
    assert request.findtext("description") == text.replace("\x0b", "")
    assert "яма".encode() in answer.content and "kõnnitee".encode() in answer.content
    as_json = await client.get(f"{BASE}/requests/{report.tracking_code}.json")
    assert as_json.json()[0]["description"] == text


async def test_date_windows_status_codes_and_pages(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    now = datetime.now(UTC)
    old = await public_report(session, settings, when=now - timedelta(days=120))
    recent = await public_report(session, settings, reason_code="street-dirty", attributes={})
    closed = await public_report(session, settings, point=ANNELINN)
    closed.state = ReportState.closed
    await session.flush()

    async def codes(**params: Any) -> list[str]:
        answer = await client.get(f"{BASE}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    default = await codes()
    assert recent.tracking_code in default and old.tracking_code not in default
    window = {
        "start_date": (now - timedelta(days=125)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (now - timedelta(days=100)).isoformat(),
    }
    assert await codes(**window) == [old.tracking_code]
    assert old.tracking_code in await codes(
        start_date=(now - timedelta(days=121)).date().isoformat()
    )
    assert await codes(service_request_id=f"{old.tracking_code},{recent.tracking_code}") == [
        recent.tracking_code,
        old.tracking_code,
    ]  # ids override the window
    assert await codes(service_code="street-dirty") == [recent.tracking_code]
    assert closed.tracking_code in await codes(status="closed")
    assert closed.tracking_code not in await codes(status="open")
    assert recent.tracking_code in await codes(status="open,closed")
    assert await codes(jurisdiction_id="") == await codes(jurisdiction_id="tartu.ee") == default
    first, second = await codes(page_size="1"), await codes(page_size="1", page="2")
    assert len(first) == len(second) == 1 and first != second
    assert first + second == default[:2]
    box = f"{ANNELINN[1] - 0.01},{ANNELINN[0] - 0.01},{ANNELINN[1] + 0.01},{ANNELINN[0] + 0.01}"
    assert closed.tracking_code in await codes(bbox=box)
    assert recent.tracking_code not in await codes(bbox=box)

    for params in (
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        {"start_date": "2026-01-01T00:00:00"},  # no offset
        {"start_date": "yesterday"},
        {"status": "pending"},
        {"page_size": "1001"},
        {"page": "0"},
        {"bbox": "1,2,3"},
    ):
        for fmt in ("json", "xml"):
            refused = await client.get(f"{BASE}/requests.{fmt}", params=params)
            assert refused.status_code == 400, params
            assert errors_of(refused)[0]["code"] == 400


async def test_at_most_a_thousand_requests_are_answered(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings)
    # 1,000 more copies of it, each with its own id and tracking code.
    table = table_of(Report)
    columns = [c.name for c in table.columns if c.name not in ("id", "tracking_code")]
    names = ", ".join(columns)
    await session.execute(
        text(
            f"INSERT INTO report (id, tracking_code, {names}) "  # noqa: S608 (column names)
            f"SELECT gen_random_uuid(), 'ML-T' || lpad(n::text, 7, '0'), {names} "
            "FROM report, generate_series(1, 1000) AS n WHERE id = :id"
        ),
        {"id": report.id},
    )
    answer = await client.get(f"{BASE}/requests.json")
    assert len(answer.json()) == 1000
    last_page = await client.get(f"{BASE}/requests.json", params={"page": "2"})
    assert len(last_page.json()) == 1


async def test_extensions_add_what_meielinn_knows(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings)
    plain = await client.get(f"{BASE}/requests/{report.tracking_code}.json")
    assert plain.status_code == 200, plain.text
    assert "extended_attributes" not in plain.json()[0]
    extended = await client.get(
        f"{BASE}/requests/{report.tracking_code}.json", params={"extensions": "true"}
    )
    attributes = extended.json()[0]["extended_attributes"]
    assert attributes["tracking_code"] == report.tracking_code
    assert attributes["state"] == "accepted"
    assert attributes["round"] == 1
    assert attributes["department_code"]
    assert attributes["due_datetime"] == extended.json()[0]["expected_datetime"]
    assert attributes["overdue"] is False
    assert attributes["media_urls"] == []
    root = xml(
        await client.get(
            f"{BASE}/requests/{report.tracking_code}.xml", params={"extensions": "true"}
        )
    )
    element = root[0].find("extended_attributes")
    assert element is not None
    assert element.findtext("department_code") == attributes["department_code"]
    assert children(root[0])[-1] == "extended_attributes"


async def test_extensions_never_show_the_departments_internal_priority(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The native API hides a report's priority below staff level; Open311 reads are public."""
    report = await public_report(session, settings)
    priority = ResponsePriority(
        department_id=report.department_id, code="vip-urgent", name="Mayor's street"
    )
    session.add(priority)
    await session.flush()
    report.priority_id = priority.id
    await session.flush()
    for fmt in ("json", "xml"):
        answer = await client.get(
            f"{BASE}/requests/{report.tracking_code}.{fmt}", params={"extensions": "true"}
        )
        assert answer.status_code == 200
        assert "extended_attributes" in answer.text
        assert "vip-urgent" not in answer.text and "Mayor" not in answer.text
        assert "priority" not in answer.text
    native = await client.get(f"/v1/reports/{report.id}")
    assert native.status_code == 200 and "vip-urgent" not in native.text


# --- tokens and the round trip ------------------------------------------------------------


async def test_round_trip_from_filing_through_moderation_to_an_answer(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await writer_key(session, settings)
    crm = await api_key(session, await make_user(session, settings), "open311:updates")
    moderator = await make_user(session, settings, roles=((Role.moderator, None),))
    png = _png()
    filed = await client.post(
        f"{BASE}/requests.json",
        data=pothole_form(key),
        files={"media": ("hole.png", png, "image/png")},
    )
    assert filed.status_code == 201, filed.text
    token = filed.json()[0]["token"]

    waiting = await client.get(f"{BASE}/tokens/{token}.json")
    assert waiting.status_code == 200
    assert waiting.json() == [{"service_request_id": None, "token": token}]
    (pending,) = xml(await client.get(f"{BASE}/tokens/{token}.xml"))
    assert children(pending) == ["service_request_id", "token"]
    assert pending.findtext("service_request_id") == ""

    accepted = await client.post(
        f"/v1/moderation/reports/{token}/accept",
        headers={**bearer(settings, moderator), "If-Match": '"2"'},  # filed, then its photo
    )
    assert accepted.status_code == 200, accepted.text
    code = accepted.json()["tracking_code"]
    due = datetime.fromisoformat(accepted.json()["due_at"])

    resolved = await client.get(f"{BASE}/tokens/{token}.json")
    TokenAnswer.model_validate(resolved.json()[0])
    assert resolved.json() == [{"service_request_id": code, "token": token}]
    (request,) = (await client.get(f"{BASE}/requests/{code}.json")).json()
    assert request["status"] == "open"
    assert datetime.fromisoformat(request["expected_datetime"]) == due.replace(microsecond=0)
    assert request["media_url"].startswith("http://testserver/v1/reports/")
    photo = await client.get(request["media_url"].removeprefix("http://testserver"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"

    answered = await client.post(
        f"{BASE}/servicerequestupdates.json",
        data={
            "api_key": crm,
            "service_request_id": code,
            "status": "FIXED",
            "description": "Filled with asphalt & rolled; «готово».",
            "update_id": "crm-1",
        },
    )
    assert answered.status_code == 200, answered.text
    (closed,) = xml(await client.get(f"{BASE}/requests/{code}.xml"))
    assert closed.findtext("status") == "closed"
    assert closed.findtext("status_notes") == "Filled with asphalt & rolled; «готово»."
    report = await session.get(Report, uuid.UUID(token))
    assert report is not None
    await session.refresh(report)
    assert report.state == ReportState.answered and report.answered_at is not None

    rejected = await client.post(f"{BASE}/requests.json", data=pothole_form(key))
    other = rejected.json()[0]["token"]
    refused = await client.post(
        f"/v1/moderation/reports/{other}/reject",
        json={"code": "other", "text": "Not a pothole.", "version": 1},
        headers=bearer(settings, moderator),
    )
    assert refused.status_code == 200
    gone = await client.get(f"{BASE}/tokens/{other}.xml")
    assert gone.status_code == 404
    assert "rejected" in errors_of(gone)[0]["description"]


# --- servicerequestupdates ----------------------------------------------------------------


async def test_updates_list_the_public_timeline_in_the_upper_case_vocabulary(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings)
    crm = await api_key(session, await make_user(session, settings), "open311:updates")
    url = f"{BASE}/servicerequestupdates.json"
    steps = [
        {"status": "OPEN", "description": "Seen by the road crew."},
        {"status": "IN_PROGRESS", "description": "Crew on the way."},
        {"status": "NO_FURTHER_ACTION", "description": "Private road: nothing to do."},
    ]
    for number, step in enumerate(steps):
        posted = await client.post(
            url,
            data={
                "api_key": crm,
                "service_request_id": report.tracking_code,
                "update_id": f"u{number}",
                **step,
            },
        )
        assert posted.status_code == 200, posted.text
    answer = await client.get(url)
    assert answer.status_code == 200
    mine = [u for u in answer.json() if u["service_request_id"] == report.tracking_code]
    for update in mine:
        RequestUpdate.model_validate(update)
        assert list(update) == UPDATE_FIELDS
    assert [(u["status"], u["description"]) for u in mine] == [
        ("OPEN", ""),  # the acceptance
        ("OPEN", "Seen by the road crew."),
        ("IN_PROGRESS", "Crew on the way."),
        ("NO_FURTHER_ACTION", "Private road: nothing to do."),
    ]
    root = xml(await client.get(f"{BASE}/servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    assert set(children(root)) == {"request_update"}
    assert children(root[0]) == UPDATE_FIELDS
    # Internal events never show.
    internal = await session.scalar(
        select(func.count())
        .select_from(ReportEvent)
        .where(ReportEvent.report_id == report.id, ~col(ReportEvent.public))
    )
    assert internal  # the filing event
    assert len(mine) == 4


async def test_posting_updates_goes_through_the_life_cycle(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings)
    owner = await make_user(session, settings)
    crm = await api_key(session, owner, "open311:updates")
    writer = await api_key(session, owner, "open311:write")
    url = f"{BASE}/servicerequestupdates.xml"

    def update(key: str | None = crm, **fields: str) -> dict[str, str]:
        data = {"service_request_id": report.tracking_code, **fields}
        if key is not None:
            data["api_key"] = key
        return data

    for refused_key in (None, writer, "mk_bad"):
        refused = await client.post(url, data=update(refused_key, status="OPEN", description="x"))
        assert refused.status_code == 403
    illegal = await client.post(url, data=update(status="CLOSED"))
    assert illegal.status_code == 400
    assert "accepted" in errors_of(illegal)[0]["description"]
    for status in ("DUPLICATE", "INTERNAL_REFERRAL", "PENDING"):
        assert (await client.post(url, data=update(status=status))).status_code == 400
    assert (await client.post(url, data=update(status="OPEN"))).status_code == 400  # no text
    unknown = await client.post(
        url, data={**update(status="OPEN"), "service_request_id": "ML-0000-0000"}
    )
    assert unknown.status_code == 404

    # The case system's id keys the update's replay: a longer one is refused, not a 500.
    too_long = await client.post(url, data=update(status="IN_PROGRESS", update_id="u" * 250))
    assert too_long.status_code == 400
    assert "update_id" in errors_of(too_long)[0]["description"]
    first = await client.post(url, data=update(status="IN_PROGRESS", update_id="crm-7"))
    again = await client.post(url, data=update(status="IN_PROGRESS", update_id="crm-7"))
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    (created,) = xml(first)
    assert created.tag == "request_update"
    assert xml(again)[0].findtext("update_id") == created.findtext("update_id")
    await session.refresh(report)
    assert report.state == ReportState.in_progress
    events = (
        (
            await session.execute(
                select(ReportEvent).where(
                    ReportEvent.report_id == report.id, ReportEvent.type == "start_work"
                )
            )
        )
        .scalars()
        .all()
    )
    assert len(events) == 1
    assert events[0].data["external_update_id"] == "crm-7"
    assert str(events[0].id) == created.findtext("update_id")


# --- media --------------------------------------------------------------------------------


async def test_media_urls_are_fetched_only_from_allowed_addresses(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await writer_key(session, settings)
    for url in (
        "http://127.0.0.1:9/photo.png",
        "http://localhost/photo.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/photo.png",
        "http://[::1]/photo.png",
        "file:///etc/passwd",
        "ftp://example.org/photo.png",
    ):
        refused = await client.post(f"{BASE}/requests.json", data=pothole_form(key, media_url=url))
        assert refused.status_code == 400, url
        assert "media_url" in errors_of(refused)[0]["description"]


def test_text_and_datetime_attributes_are_checked() -> None:
    names = {"et": "Nimi"}
    definitions = [
        {"code": "story", "names": names, "type": "text", "max_length": 30},
        {"code": "moment", "names": names, "type": "datetime"},
    ]
    cleaned = validate_attribute_values(
        definitions, {"story": "Line one\nline two", "moment": "2026-11-23T10:00:00+02:00"}
    )
    assert cleaned == {"story": "Line one\nline two", "moment": "2026-11-23T10:00:00+02:00"}
    for wrong in (
        {"moment": "2026-11-23T10:00:00"},  # no offset
        {"moment": "soon"},
        {"moment": "1999-01-01T00:00:00Z"},
        {"story": "x" * 31},
        {"story": 12},
    ):
        with pytest.raises(InvalidInput):
            validate_attribute_values(definitions, wrong)


async def test_answers_close_and_wait_for_answer_moderation_where_asked(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    crm = await api_key(session, await make_user(session, settings), "open311:updates")
    url = f"{BASE}/servicerequestupdates.json"
    report = await public_report(session, settings)

    def update(status: str, text: str | None = None) -> dict[str, str]:
        data = {"api_key": crm, "service_request_id": report.tracking_code, "status": status}
        return {**data, "description": text} if text is not None else data

    assert (await client.post(url, data=update("FIXED"))).status_code == 400  # no answer text
    assert (await client.post(url, data=update("FIXED", "Patched."))).status_code == 200
    # The reporter keeps the rating window (and with it the reopen): the case system cannot
    # close an answered report before it ends.
    refused = await client.post(url, data=update("CLOSED"))
    assert refused.status_code == 400
    assert "rating window" in refused.json()[0]["description"]
    await session.refresh(report)
    assert report.state == ReportState.answered and report.closed_at is None
    response = (
        await session.execute(select(ReportResponse).where(ReportResponse.report_id == report.id))
    ).scalar_one()
    assert response.state == ResponseState.published and response.outcome == "fixed"
    current = (
        await session.execute(select(ReportRound).where(ReportRound.report_id == report.id))
    ).scalar_one()
    assert current.answered_at is not None and current.on_time is True
    (request,) = (await client.get(f"{BASE}/requests/{report.tracking_code}.json")).json()
    assert (request["status"], request["status_notes"]) == ("closed", "Patched.")
    # The answer's text is on the public timeline, as the update's description.
    updates = (await client.get(f"{BASE}/servicerequestupdates.json")).json()
    assert [u["description"] for u in updates if u["service_request_id"] == report.tracking_code][
        -1
    ] == "Patched."

    moderated = await public_report(session, settings)
    reason = await session.get(Reason, moderated.reason_id)
    assert reason is not None
    reason.needs_answer_moderation = True
    await session.flush()
    answered = await client.post(
        url,
        data={
            "api_key": crm,
            "service_request_id": moderated.tracking_code,
            "status": "NOT_COUNCILS_RESPONSIBILITY",
            "description": "A private yard.",
        },
    )
    assert answered.status_code == 200
    await session.refresh(moderated)
    assert moderated.state == ReportState.accepted  # until a moderator publishes the answer
    pending = (
        await session.execute(
            select(ReportResponse).where(ReportResponse.report_id == moderated.id)
        )
    ).scalar_one()
    assert pending.state == ResponseState.pending_moderation
    assert pending.outcome == "not_ours"
    (request,) = (await client.get(f"{BASE}/requests/{moderated.tracking_code}.json")).json()
    assert (request["status"], request["status_notes"]) == ("open", None)
    # The update window: nothing after now.
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await client.get(url, params={"start_date": later})).json() == []


async def test_open311_posts_are_rate_limited_per_key(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"open311_posts_per_minute": 1})
    key = await writer_key(session, settings)
    assert (await client.post(f"{BASE}/requests.json", data=pothole_form(key))).status_code == 201
    limited = await client.post(f"{BASE}/requests.xml", data=pothole_form(key))
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    assert errors_of(limited)[0]["code"] == 429
    other = await writer_key(session, settings)
    assert (await client.post(f"{BASE}/requests.json", data=pothole_form(other))).status_code == 201


async def test_closed_from_a_case_system_closes_an_unanswered_question_as_the_life_cycle_does(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """CLOSED on a report whose question waits for the reporter closes it as every close
    does: closed_at set, the round ended, the close on the timeline after the question."""
    crm = await api_key(session, await make_user(session, settings), "open311:updates")
    url = f"{BASE}/servicerequestupdates.json"
    report = await public_report(session, settings)
    report.state = ReportState.awaiting_info
    await session.flush()
    closed = await client.post(
        url,
        data={"api_key": crm, "service_request_id": report.tracking_code, "status": "CLOSED"},
    )
    assert closed.status_code == 200, closed.text
    await session.refresh(report)
    assert report.state == ReportState.closed and report.closed_at is not None
    current = (
        await session.execute(select(ReportRound).where(ReportRound.report_id == report.id))
    ).scalar_one()
    assert current.ended_at == report.closed_at


async def test_no_unmoderated_public_text_on_a_reason_that_moderates_answers(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """``OPEN`` with a description is a public status note: on a reason whose answers wait
    for a moderator it is refused, as the queue refuses it; an answer still waits."""
    crm = await api_key(session, await make_user(session, settings), "open311:updates")
    url = f"{BASE}/servicerequestupdates.json"
    report = await public_report(session, settings)
    reason = await session.get(Reason, report.reason_id)
    assert reason is not None
    reason.needs_answer_moderation = True
    await session.flush()
    base = {"api_key": crm, "service_request_id": report.tracking_code}
    for status in ("OPEN", "IN_PROGRESS"):
        refused = await client.post(
            url, data={**base, "status": status, "description": "The owner has a permit."}
        )
        assert refused.status_code == 400, refused.text
        assert "moderated" in refused.json()[0]["description"]
    updates = await client.get(url)
    assert updates.status_code == 200
    assert "The owner has a permit." not in updates.text
    # Without a text the state still changes; with an answer the text waits for moderation.
    started = await client.post(url, data={**base, "status": "IN_PROGRESS"})
    assert started.status_code == 200, started.text
    answered = await client.post(url, data={**base, "status": "FIXED", "description": "Removed."})
    assert answered.status_code == 200, answered.text
    pending = (
        await session.execute(select(ReportResponse).where(ReportResponse.report_id == report.id))
    ).scalar_one()
    assert pending.state == ResponseState.pending_moderation
