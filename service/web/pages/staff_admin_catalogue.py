"""The administration of the catalogue and of routing: the routing preview, the catalogue
(object types, categories, reasons) with a reason's main settings, and the routing rules.

The routing preview is ``GET /v1/routing/preview`` itself: its query is checked by the API
route's own declarations and answered by the route, so the page says what the API says for the
same input. The other forms post to the services of the catalogue's and the city's admin
routes with their request schemas.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Mapping
from typing import Any, get_type_hints

from fastapi import APIRouter, Request
from pydantic import ConfigDict, ValidationError, create_model
from starlette.responses import RedirectResponse, Response

from service.calendar import TimeUnit
from service.catalog import service as catalog
from service.catalog.schemas import ReasonUpdate
from service.city import service as city
from service.city.districts.service import districts_geojson
from service.city.routing import router as routing_api
from service.city.routing import service as routing
from service.city.schemas import RoutingRuleCreate
from service.errors import AppError, NotFound
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages.staff_admin import AdminPage, done_message, form_values
from service.web.templating import render

router = APIRouter(include_in_schema=False)

PREVIEW_FIELDS = ("reason", "lat", "lon", "building_id")


def _preview_query() -> Any:
    """The preview's query parameters as a model, from the API route's own declarations."""
    hints = get_type_hints(routing_api.routing_preview, include_extras=True)
    parameters = inspect.signature(routing_api.routing_preview).parameters
    fields: dict[str, Any] = {}
    for name in PREVIEW_FIELDS:
        default = parameters[name].default
        fields[name] = (hints[name], ... if default is inspect.Parameter.empty else default)
    return create_model("PreviewQuery", __config__=ConfigDict(extra="ignore"), **fields)


PreviewQuery = _preview_query()

# The routing service's explanations (English), so the page says them in the reader's language.
EXPLANATIONS = (
    N_("The reason concerns a building; its managing organisation owns it."),
    N_("A rule for this reason in this district."),
    N_("A rule for this reason in any district."),
    N_("A rule for the reason's category in this district."),
    N_("A rule for the reason's category in any district."),
    N_("No rule matched; the city dispatcher takes it."),
)
UNITS = {
    TimeUnit.working_days: N_("working days"),
    TimeUnit.working_hours: N_("working hours"),
    TimeUnit.calendar_hours: N_("hours round the clock"),
}
DONE = {
    "rule": N_("The routing rule was added."),
    "rule-removed": N_("The routing rule was removed."),
    "reason": N_("The reason was saved."),
}
REFUSALS = (N_("No such reason."), N_("No such category."), N_("No such district."))


def catalogue_reasons(tree: Any) -> list[tuple[Any, Any, Any]]:
    """(object type, category, reason) of the catalogue, in its order."""
    return [(kind, c, r) for kind in tree.object_types for c in kind.categories for r in c.reasons]


async def admin_catalogue(page: PageContext) -> Any:
    """``GET /v1/admin/catalog``: inactive entries too, named in the reader's language."""
    return await catalog.catalog_tree(page.session, str(page.language), include_inactive=True)


# --- the routing preview -----------------------------------------------------------------------


@router.get("/staff/admin/routing")
async def routing_preview(request: Request, page: PageContext = AdminPage) -> Response:
    params = request.query_params
    values = form_values(params, *PREVIEW_FIELDS)
    address = (params.get("address") or "").strip()
    tree = await admin_catalogue(page)
    errors = FormErrors()
    buildings: list[Any] = []
    if address:
        if 2 <= len(address) <= 120:
            buildings = await city.search_buildings(page.session, address, 10)
            if not buildings:
                errors["address"] = translate(page.language, N_("No building has this address."))
        else:
            errors["address"] = translate(page.language, N_("Give two to 120 characters."))
    preview = None
    status_code = 200
    if values.get("reason") and (values.get("lat") or values.get("lon")):
        try:
            query = parse(PreviewQuery, values)
            preview = await routing_api.routing_preview(
                page.person, page.session, query.reason, query.lat, query.lon, query.building_id
            )
        except ValidationError as exc:
            errors.update(field_errors(exc, page.language))
            status_code = 422
        except AppError as exc:
            if exc.status >= 500:
                raise
            errors.update(app_error(exc, page.language, "reason"))
            status_code = exc.status
    elif "preview" in params:
        if not values.get("reason"):
            errors["reason"] = translate(page.language, N_("Choose a reason."))
        if not values.get("lat") and not address:
            errors["lat"] = translate(page.language, N_("Give a point or find an address."))
        status_code = 422
    return render(
        page,
        "staff/admin/routing.html",
        status_code=status_code,
        reasons=catalogue_reasons(tree),
        values=values,
        address=address,
        buildings=buildings,
        errors=errors,
        preview=preview,
        explanation=translate(page.language, preview.explanation) if preview else "",
    )


# --- the catalogue and its routing rules ---------------------------------------------------------


async def _catalogue_page(
    page: PageContext,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    tree = await admin_catalogue(page)
    found = await city.list_departments(page.session, include_inactive=True)
    districts = (await districts_geojson(page.session, 1000))["features"]
    return render(
        page,
        "staff/admin/catalogue.html",
        status_code=status_code,
        tree=tree,
        reasons=catalogue_reasons(tree),
        categories=[(kind, c) for kind in tree.object_types for c in kind.categories],
        rules=await routing.list_routing_rules(page.session),
        departments=sorted(found, key=lambda d: d.name),
        department_names={d.id: d.name for d in found},
        districts=sorted(
            ((f["id"], f["properties"]["name"]) for f in districts), key=lambda x: x[1]
        ),
        reason_names={str(r.id): r.name for _, _, r in catalogue_reasons(tree)},
        category_names={str(c.id): c.name for kind in tree.object_types for c in kind.categories},
        units=UNITS,
        errors=errors or FormErrors(),
        values=values or {},
        message=message,
    )


@router.get("/staff/admin/catalogue")
async def catalogue_page(request: Request, page: PageContext = AdminPage) -> Response:
    return await _catalogue_page(page, message=done_message(page, request, DONE))


@router.post("/staff/admin/routing-rules", dependencies=[CSRF])
async def add_rule(request: Request, page: PageContext = AdminPage) -> Response:
    """``POST /v1/admin/routing-rules``: a reason or a category, a district or any, and the
    department."""
    form = await request.form()
    values = form_values(form, "reason_id", "category_id", "district_id", "department_id")
    try:
        body = parse(RoutingRuleCreate, values)
        async with page.session.begin_nested():
            await routing.create_routing_rule(page.session, body)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "" in errors:
            errors = FormErrors(
                {
                    "reason_id": translate(
                        page.language, N_("Choose a reason or a category, not both.")
                    )
                }
            )
        return await _catalogue_page(page, errors=errors, values=values, status_code=422)
    except AppError as exc:
        errors = app_error(exc, page.language, "reason_id")
        return await _catalogue_page(page, errors=errors, values=values, status_code=exc.status)
    return RedirectResponse("/staff/admin/catalogue?done=rule#rules", status_code=303)


@router.post("/staff/admin/routing-rules/{rule_id}/remove", dependencies=[CSRF])
async def remove_rule(rule_id: uuid.UUID, page: PageContext = AdminPage) -> Response:
    """``DELETE /v1/admin/routing-rules/{id}``."""
    await routing.delete_routing_rule(page.session, rule_id)
    return RedirectResponse("/staff/admin/catalogue?done=rule-removed#rules", status_code=303)


REASON_FIELDS = ("sla_amount", "sla_unit", "moderation_sla_hours", "duplicate_radius_m")
REASON_FLAGS = ("needs_answer_moderation", "requires_photo", "building_bound", "active")


async def _reason_page(
    page: PageContext,
    reason_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    reason = catalog.reason_public(
        await catalog.get_reason(page.session, reason_id), str(page.language)
    )
    shown = reason.model_dump() | dict(values or {})
    return render(
        page,
        "staff/admin/reason.html",
        status_code=status_code,
        reason=reason,
        values=shown,
        units=UNITS,
        errors=errors or FormErrors(),
    )


@router.get("/staff/admin/catalogue/reasons/{reason_id}")
async def reason_page(reason_id: uuid.UUID, page: PageContext = AdminPage) -> Response:
    return await _reason_page(page, reason_id)


@router.post("/staff/admin/catalogue/reasons/{reason_id}", dependencies=[CSRF])
async def update_reason(
    reason_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    """``PATCH /v1/admin/catalog/reasons/{id}`` with the reason's main settings: the deadline,
    the moderation deadline, the duplicate radius and its flags (a box left empty is off)."""
    form = await request.form()
    values: dict[str, Any] = form_values(form, *REASON_FIELDS)
    for flag in REASON_FLAGS:
        values[flag] = form.get(flag) == "on"
    try:
        body = parse(ReasonUpdate, values)
        async with page.session.begin_nested():
            await catalog.update_reason(page.session, reason_id, body)
    except ValidationError as exc:
        return await _reason_page(
            page, reason_id, errors=field_errors(exc, page.language), values=values, status_code=422
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = app_error(exc, page.language, "sla_amount")
        return await _reason_page(
            page, reason_id, errors=errors, values=values, status_code=exc.status
        )
    return RedirectResponse("/staff/admin/catalogue?done=reason", status_code=303)
