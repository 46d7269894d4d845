"""Filing a report from the browser: ``POST /v1/reports`` and ``POST …/photos`` in one form.

The steps work without JavaScript: a reason is chosen from the catalogue's object types and
categories (one grouped list), the place is given by its coordinates (a map click or the
phone's position fill them in where scripts run) or found by address (the API's building
search); with a reason and a place the open reports of the same category nearby are offered
to support instead (the API's ``/v1/reports/nearby``). The reason's attributes are form
fields generated from its definitions, checked by the catalogue's own validation.

The form carries a one-time key made when it was rendered: it is the filing's
``Idempotency-Key``, so a form sent twice files one report. The report, its photos (checked
and cleaned by the photo service) and, when its reason needs a photo, its sending to
moderation happen in one transaction: all or nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import StringConstraints, TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from service import idempotency
from service.catalog.schemas import AttributeDefinition, Catalog, ReasonPublic
from service.catalog.service import catalog_tree
from service.city import service as city
from service.city.schemas import BuildingSummary
from service.errors import AppError, NotFound, TooManyRequests
from service.fields import PlainText
from service.ratelimit import RateLimitItemPerHour
from service.reports import filing, lifecycle, photos, views
from service.reports.access import REPORTER
from service.reports.models import DESCRIPTION_MAX
from service.reports.schemas import NearbyReport, ReportCreate
from service.reports.states import ReportState
from service.web.dependencies import CSRF, PageContext, PersonPage
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages.home import DEFAULT_CENTRE
from service.web.pages.report_words import STATE_NAMES, STATE_TONES
from service.web.pages.reports import TrackingCode, report_of, writer
from service.web.templating import render

router = APIRouter(include_in_schema=False)

NEARBY = 5
FILING_PATH = "/reports/new"
# The API's building search ``q``.
AddressQuery = TypeAdapter(
    Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), PlainText
    ]
)
TEXT_FIELDS = ("reason_id", "lat", "lon", "address_text", "description", "once")
MESSAGES = {
    "place": N_(
        "Choose the place: click the map, use your position, find the address or give "
        "the coordinates."
    ),
    "reason": N_("Choose what the report is about."),
    "photo_needed": N_("This reason needs a photo: add one."),
    "too_many_photos": N_("Too many photos for one report."),
    "photo_type": N_("The photo must be a JPEG, PNG, WebP or HEIC image."),
    "photo_size": N_("The photo is too large."),
    "sending": N_("Your report is being sent; look for it under My reports in a moment."),
    "reused": N_("This form was already sent with other content; open a new form."),
    "quota": N_("You have filed as many reports as a day allows; try again tomorrow."),
    "outside": N_("This place is outside the city."),
    "unavailable": N_("This reason cannot be chosen now; choose another."),
}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _on_earth(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _reasons(catalog: Catalog) -> dict[uuid.UUID, tuple[str, str, ReasonPublic]]:
    """The catalogue's reasons by id, with their object type's and category's names."""
    found: dict[uuid.UUID, tuple[str, str, ReasonPublic]] = {}
    for object_type in catalog.object_types:
        for category in object_type.categories:
            for reason in category.reasons:
                found[reason.id] = (object_type.name, category.name, reason)
    return found


def attribute_fields(
    reason: ReasonPublic, language: str, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """The reason's attributes as form fields: name, label, type, options, value."""
    fields = []
    for raw in reason.attributes:
        definition = AttributeDefinition.model_validate(raw)
        hint = definition.description.pick(language) if definition.description else ""
        fields.append(
            {
                "name": f"attr_{definition.code}",
                "code": definition.code,
                "label": definition.names.pick(language),
                "type": definition.type,
                "required": definition.required,
                "hint": hint,
                "options": [(v.key, v.names.pick(language)) for v in definition.values or []],
                "min": definition.min_value,
                "max": definition.max_value,
                "max_length": definition.max_length,
                "value": values.get(
                    definition.code, [] if definition.type == "multi_value_list" else ""
                ),
            }
        )
    return fields


def _attribute_values(form: FormData, reason: ReasonPublic, zone: str) -> dict[str, Any]:
    """What the form sent for the reason's attributes, as the API takes them (a browser's
    local date and time gets the city's offset)."""
    values: dict[str, Any] = {}
    for raw in reason.attributes:
        code, kind = raw["code"], raw["type"]
        name = f"attr_{code}"
        if kind == "multi_value_list":
            chosen = [v for v in form.getlist(name) if isinstance(v, str) and v]
            if chosen:
                values[code] = chosen
            continue
        value = form.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        if kind == "datetime":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    value = moment.replace(tzinfo=ZoneInfo(zone)).isoformat()
        values[code] = value
    return values


async def _form_page(
    page: PageContext,
    *,
    reason_id: str | None,
    values: dict[str, Any],
    attributes: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
    address: str = "",
) -> Response:
    language = str(page.language)
    catalog = await catalog_tree(page.session, language)
    reasons = _reasons(catalog)
    errors = errors if errors is not None else FormErrors()
    chosen: tuple[str, str, ReasonPublic] | None = None
    try:
        chosen = reasons.get(uuid.UUID(reason_id)) if reason_id else None
    except ValueError:
        chosen = None
    if reason_id and chosen is None:
        errors.setdefault("reason_id", translate(page.language, MESSAGES["reason"]))
    buildings: list[BuildingSummary] = []
    if address.strip():
        try:
            query = AddressQuery.validate_python(address)
        except ValidationError as exc:
            errors.setdefault("address", next(iter(field_errors(exc, page.language).values())))
        else:
            buildings = await city.search_buildings(page.session, query, 10)
    lat, lon = _float(values.get("lat")), _float(values.get("lon"))
    nearby: list[NearbyReport] = []
    if chosen is not None and lat is not None and lon is not None and _on_earth(lat, lon):
        nearby = await views.nearby(page.session, chosen[2].id, lat, lon, language, NEARBY)
    return render(
        page,
        "report_new.html",
        status_code=status_code,
        catalog=catalog,
        chosen=chosen,
        reason=chosen[2] if chosen else None,
        fields=attribute_fields(chosen[2], language, attributes or {}) if chosen else [],
        values=values,
        errors=errors,
        address=address,
        buildings=buildings,
        nearby=nearby,
        once=values.get("once") or str(uuid.uuid4()),
        description_max=DESCRIPTION_MAX,
        photo_max_mb=round(page.settings.photo_max_bytes / 1_048_576, 1),
        centre=DEFAULT_CENTRE,
        photos_per_report=page.settings.photos_per_report,
        state_names=STATE_NAMES,
        state_tones=STATE_TONES,
    )


@router.get(FILING_PATH)
async def new_report(
    page: PersonPage,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    lat: Annotated[str | None, Query(max_length=40)] = None,
    lon: Annotated[str | None, Query(max_length=40)] = None,
    address: Annotated[str | None, Query(max_length=200)] = None,
    address_text: Annotated[str | None, Query(max_length=300)] = None,
    description: Annotated[str | None, Query(max_length=DESCRIPTION_MAX)] = None,
    anonymous_public: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    await writer(page)
    values = {
        "lat": lat or "",
        "lon": lon or "",
        "address_text": address_text or "",
        "description": description or "",
        "anonymous_public": bool(anonymous_public),
    }
    return await _form_page(page, reason_id=reason, values=values, address=address or "")


def _place_errors(errors: FormErrors, language: Any) -> FormErrors:
    """The schema's whole-form complaint about the place belongs next to the coordinates."""
    if "" in errors:
        errors.pop("")
        errors.setdefault("lat", translate(language, MESSAGES["place"]))
    return errors


def _service_errors(exc: AppError, language: Any) -> FormErrors:
    """A refusal of the filing or photo services, next to the field it is about."""
    if isinstance(exc, idempotency.KeyInFlight):
        return FormErrors({"": translate(language, MESSAGES["sending"])})
    if isinstance(exc, idempotency.KeyReused):
        return FormErrors({"": translate(language, MESSAGES["reused"])})
    if isinstance(exc, filing.QuotaExceeded):
        return FormErrors({"": translate(language, MESSAGES["quota"])})
    if isinstance(exc, city.OutsideCity):
        return FormErrors({"lat": translate(language, MESSAGES["outside"])})
    if isinstance(exc, filing.ReasonUnavailable):
        return FormErrors({"reason_id": translate(language, MESSAGES["unavailable"])})
    if isinstance(exc, photos.UnsupportedMediaType):
        return FormErrors({"photos": translate(language, MESSAGES["photo_type"])})
    if exc.status == 413:
        return FormErrors({"photos": translate(language, MESSAGES["photo_size"])})
    attribute_errors = exc.extensions.get("attribute_errors") or []
    if attribute_errors:
        errors = FormErrors()
        for item in attribute_errors:
            message = (
                N_("Fill in this field.")
                if item.get("problem") == "required"
                else N_("This value is not valid.")
            )
            errors.setdefault(f"attr_{item.get('attribute')}", translate(language, message))
        return errors
    return app_error(exc, language, str(exc.extensions.get("field") or ""))


async def _photos_of(form: FormData, limit: int) -> list[tuple[bytes, str | None]]:
    """The chosen photos' bytes (at most ``limit`` + 1 of each, as the API reads them) and
    declared types; a file input left empty sends a part without a name, skipped."""
    found = []
    for item in form.getlist("photos"):
        if isinstance(item, UploadFile) and item.filename:
            found.append((await item.read(limit + 1), item.content_type))
    return found


@router.post(FILING_PATH, dependencies=[CSRF])
async def file_report(page: PersonPage, request: Request) -> Response:
    actor = await writer(page)
    settings = page.settings
    form = await request.form(max_files=settings.photos_per_report + 1)
    values: dict[str, Any] = {
        name: value for name in TEXT_FIELDS if isinstance(value := form.get(name), str)
    }
    values["anonymous_public"] = form.get("anonymous_public") == "1"
    values["text_in_open_data"] = form.get("text_in_open_data") == "1"
    language = str(page.language)
    catalog = _reasons(await catalog_tree(page.session, language))
    reason_id = str(values.get("reason_id") or "")
    try:
        chosen = catalog.get(uuid.UUID(reason_id))
    except ValueError:
        chosen = None
    attributes = _attribute_values(form, chosen[2], settings.timezone) if chosen is not None else {}

    async def again(errors: FormErrors, status_code: int) -> Response:
        return await _form_page(
            page,
            reason_id=reason_id,
            values=values,
            attributes=attributes,
            errors=errors,
            status_code=status_code,
        )

    fields = {
        "reason_id": reason_id,
        "lat": _float(values.get("lat")) if values.get("lat") else None,
        "lon": _float(values.get("lon")) if values.get("lon") else None,
        "address_text": (values.get("address_text") or "").strip() or None,
        "description": (values.get("description") or "").strip() or None,
        "attributes": attributes,
        "anonymous_public": values["anonymous_public"],
        "text_in_open_data": values["text_in_open_data"],
    }
    if form.get("step") == "nearby":
        return await again(FormErrors(), 200)
    errors = FormErrors()
    for name in ("lat", "lon"):
        if values.get(name) and fields[name] is None:
            errors[name] = translate(page.language, N_("Give a number."))
    try:
        body = parse(ReportCreate, {k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        found = _place_errors(field_errors(exc, page.language), page.language)
        return await again(FormErrors({**found, **errors}), 422)
    if errors:
        return await again(errors, 422)
    pictures = await _photos_of(form, settings.photo_max_bytes)
    if len(pictures) > settings.photos_per_report:
        return await again(
            FormErrors({"photos": translate(page.language, MESSAGES["too_many_photos"])}), 422
        )
    if any(len(raw) > settings.photo_max_bytes for raw, _ in pictures):
        return await again(
            FormErrors({"photos": translate(page.language, MESSAGES["photo_size"])}), 413
        )
    if chosen is not None and chosen[2].requires_photo and not pictures:
        return await again(
            FormErrors({"photos": translate(page.language, MESSAGES["photo_needed"])}), 422
        )

    async def work() -> idempotency.Answer:
        filed = await filing.file_report(page.session, actor, body, page.now, settings=settings)
        report = filed.report
        for raw, kind in pictures:
            await request.app.state.rate_limiter.enforce(
                RateLimitItemPerHour(settings.photo_uploads_per_hour),
                "photo-upload",
                str(actor.user_id),
                detail=f"At most {settings.photo_uploads_per_hour} photo uploads an hour.",
            )
            await photos.attach_photo(page.session, settings, actor, report, raw, kind, page.now)
        if report.state == ReportState.draft and pictures:
            await lifecycle.send_draft(page.session, actor, report, page.now)
        shown = await views.view(
            page.session, actor, page.now, language, report_id=report.id, level=REPORTER
        )
        return idempotency.Answer(
            201, shown.model_dump_json().encode(), location=f"/reports/{shown.tracking_code}"
        )

    once = idempotency.IdempotentPost(
        page.session, request.app.state.redis, page.now, settings.idempotency_hours
    )
    payload = {
        **body.model_dump(mode="json"),
        "photos": [hashlib.sha256(raw).hexdigest() for raw, _ in pictures],
    }
    try:
        async with page.session.begin_nested():
            answer = await once.run(
                actor, values.get("once") or None, path=FILING_PATH, payload=payload, work=work
            )
    except TooManyRequests as exc:
        return await again(_service_errors(exc, page.language), 429)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return await again(_service_errors(exc, page.language), exc.status)
    code = json.loads(answer.body)["tracking_code"]
    return RedirectResponse(f"/reports/{code}/filed", status_code=303)


@router.get("/reports/{tracking_code}/filed")
async def filed(page: PersonPage, tracking_code: TrackingCode) -> Response:
    """The confirmation with the tracking code, for the report's reporter."""
    report = await report_of(page, tracking_code)
    if report.private is None or report.private.reporter.id != page.person.user_id:
        raise NotFound("No such report.")
    return render(
        page, "report_filed.html", report=report, state_names=STATE_NAMES, state_tones=STATE_TONES
    )
