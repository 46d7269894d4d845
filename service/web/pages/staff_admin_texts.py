"""The administration of what the city says and sends: response templates (their texts in
Estonian, English and Russian, as the API stores them) and webhook endpoints with their
delivery log.

A webhook's signing secret is encrypted at rest and given once, in the answer that creates the
endpoint (or rotates its secret), exactly as the API gives it; afterwards only its hint is
shown. That answer is therefore the page itself, not a redirect to a page that would have to
keep the secret to show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from service.city import service as city
from service.errors import AppError, NotFound
from service.feedback import templates
from service.feedback.schemas import AUTO_STATES, TemplateCreate, TemplateUpdate
from service.notifications.events import EVENT_TYPES
from service.notifications.router import webhook_public
from service.notifications.schemas import WebhookCreate, WebhookUpdate
from service.notifications.webhooks import service as webhooks
from service.web.dependencies import CSRF, PageContext
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages.report_words import OUTCOME_NAMES, STATE_NAMES
from service.web.pages.staff_admin import AdminPage, done_message, field_of, form_values
from service.web.pages.staff_admin_catalogue import admin_catalogue, catalogue_reasons
from service.web.templating import render

router = APIRouter(include_in_schema=False)

LANGUAGES = (
    ("et", N_("Text in Estonian")),
    ("en", N_("Text in English")),
    ("ru", N_("Text in Russian")),
)
TEMPLATE_FIELDS = ("code", "reason_id", "department_id", "outcome", "apply_on_state")
DONE = {
    "created": N_("The template was added."),
    "saved": N_("The template was saved."),
    "deleted": N_("The template was deleted."),
    "webhook-deleted": N_("The webhook was deleted with its delivery log."),
    "saved-webhook": N_("The webhook was saved."),
    "disabled": N_("The webhook was disabled: nothing is delivered to it."),
    "enabled": N_("The webhook was enabled again; its failures are forgotten."),
}
DELIVERY_STATES = {
    "pending": N_("Waiting"),
    "sent": N_("Delivered"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
}
# The webhook services' refusals say the URL or the event names in English; the page says
# which field is wrong in the reader's language.
WEBHOOK_REFUSALS = {
    "url": N_("This address cannot receive webhooks: it must be reachable on the internet."),
    "event_types": N_("Choose among the events listed."),
}
REFUSALS = (
    N_("No such reason."),
    N_("No such department."),
    N_("A template keeps its texts; change them instead."),
)


# --- response templates -----------------------------------------------------------------------


def _template_values(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form as it was sent (for showing it again) and as the API's body."""
    shown: dict[str, Any] = form_values(form, *TEMPLATE_FIELDS)
    texts = form_values(form, *(f"text_{code}" for code, _ in LANGUAGES))
    shown.update(texts)
    shown["active"] = form.get("active") == "on"
    body: dict[str, Any] = {k: v for k, v in shown.items() if not k.startswith("text_")}
    body["texts"] = {name.removeprefix("text_"): text for name, text in texts.items()}
    return shown, body


def _template_errors(exc: ValidationError, page: PageContext) -> FormErrors:
    errors = field_errors(exc, page.language)
    for code, _ in LANGUAGES:
        if code in errors:
            errors[f"text_{code}"] = errors.pop(code)
    if "texts" in errors:
        errors["text_et"] = errors.pop("texts")
    if "" in errors:
        # The schema's whole-body rule: a reason or a department, one of the two.
        errors["reason_id"] = translate(
            page.language, N_("Choose a reason or a department, one of the two.")
        )
        del errors[""]
    return errors


async def _template_form(
    page: PageContext,
    *,
    template: Any = None,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    tree = await admin_catalogue(page)
    departments = await city.list_departments(page.session, include_inactive=True)
    if values is None and template is not None:
        values = {
            "outcome": template.outcome or "",
            "apply_on_state": template.apply_on_state or "",
            "active": template.active,
            **{f"text_{code}": text for code, text in template.texts.items()},
        }
    return render(
        page,
        "staff/admin/template.html",
        status_code=status_code,
        item=template,
        reasons=catalogue_reasons(tree),
        departments=sorted(departments, key=lambda d: d.name),
        outcomes=OUTCOME_NAMES,
        states=[(s, STATE_NAMES[s]) for s in STATE_NAMES if s in AUTO_STATES],
        languages=LANGUAGES,
        errors=errors or FormErrors(),
        values=values if values is not None else {"active": True},
    )


@router.get("/staff/admin/templates")
async def template_list(request: Request, page: PageContext = AdminPage) -> Response:
    """``GET /v1/admin/response-templates``."""
    found = [templates.template_public(t) for t in await templates.list_templates(page.session)]
    tree = await admin_catalogue(page)
    departments = await city.list_departments(page.session, include_inactive=True)
    return render(
        page,
        "staff/admin/templates.html",
        templates=found,
        reason_names={r.id: r.name for _, _, r in catalogue_reasons(tree)},
        department_names={d.id: d.name for d in departments},
        outcomes=OUTCOME_NAMES,
        state_names=STATE_NAMES,
        message=done_message(page, request, DONE),
    )


@router.get("/staff/admin/templates/new")
async def new_template(page: PageContext = AdminPage) -> Response:
    return await _template_form(page)


@router.post("/staff/admin/templates", dependencies=[CSRF])
async def create_template(request: Request, page: PageContext = AdminPage) -> Response:
    """``POST /v1/admin/response-templates``."""
    shown, body = _template_values(await request.form())
    try:
        created = parse(TemplateCreate, body)
        async with page.session.begin_nested():
            template = await templates.create_template(page.session, created)
    except ValidationError as exc:
        errors = _template_errors(exc, page)
        return await _template_form(page, errors=errors, values=shown, status_code=422)
    except AppError as exc:
        errors = app_error(exc, page.language, field_of(exc, "code"))
        return await _template_form(page, errors=errors, values=shown, status_code=exc.status)
    return RedirectResponse(f"/staff/admin/templates?done=created#t-{template.id}", status_code=303)


@router.get("/staff/admin/templates/{template_id}")
async def template_page(template_id: uuid.UUID, page: PageContext = AdminPage) -> Response:
    template = templates.template_public(await templates.get_template(page.session, template_id))
    return await _template_form(page, template=template)


@router.post("/staff/admin/templates/{template_id}", dependencies=[CSRF])
async def update_template(
    template_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    """``PATCH /v1/admin/response-templates/{id}`` with every field of the form: an empty
    outcome or state clears it, as ``null`` does in the API."""
    template = templates.template_public(await templates.get_template(page.session, template_id))
    shown, body = _template_values(await request.form())
    changes = {
        "outcome": body.get("outcome"),
        "apply_on_state": body.get("apply_on_state"),
        "texts": body["texts"],
        "active": body["active"],
    }
    try:
        update = parse(TemplateUpdate, changes)
        async with page.session.begin_nested():
            await templates.update_template(page.session, template_id, update)
    except ValidationError as exc:
        errors = _template_errors(exc, page)
        return await _template_form(
            page, template=template, errors=errors, values=shown, status_code=422
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        field = field_of(exc, "text_et")
        errors = app_error(exc, page.language, "text_et" if field == "texts" else field)
        return await _template_form(
            page, template=template, errors=errors, values=shown, status_code=exc.status
        )
    return RedirectResponse(f"/staff/admin/templates?done=saved#t-{template_id}", status_code=303)


@router.post("/staff/admin/templates/{template_id}/delete", dependencies=[CSRF])
async def delete_template(template_id: uuid.UUID, page: PageContext = AdminPage) -> Response:
    """``DELETE /v1/admin/response-templates/{id}`` (answers written from it keep their text)."""
    await templates.delete_template(page.session, template_id)
    return RedirectResponse("/staff/admin/templates?done=deleted", status_code=303)


# --- webhooks ---------------------------------------------------------------------------------


async def _webhooks_page(
    page: PageContext,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        page,
        "staff/admin/webhooks.html",
        status_code=status_code,
        webhooks=[webhook_public(w) for w in await webhooks.list_webhooks(page.session)],
        event_types=sorted(EVENT_TYPES),
        errors=errors or FormErrors(),
        values=values or {"active": True},
        message=message,
    )


@router.get("/staff/admin/webhooks")
async def webhook_list(request: Request, page: PageContext = AdminPage) -> Response:
    return await _webhooks_page(page, message=done_message(page, request, DONE))


def _secret_page(page: PageContext, webhook: Any, secret: str, status_code: int) -> Response:
    return render(
        page,
        "staff/admin/webhook_secret.html",
        status_code=status_code,
        webhook=webhook_public(webhook),
        secret=secret,
    )


@router.post("/staff/admin/webhooks", dependencies=[CSRF])
async def create_webhook(request: Request, page: PageContext = AdminPage) -> Response:
    """``POST /v1/admin/webhooks``: the answer shows the secret, once."""
    form = await request.form()
    values: dict[str, Any] = form_values(form, "url", "description")
    values["event_types"] = [str(v) for v in form.getlist("event_types")]
    values["active"] = form.get("active") == "on"
    try:
        body = parse(WebhookCreate, values)
        async with page.session.begin_nested():
            webhook, secret = await webhooks.create_webhook(
                page.session, page.person, page.settings, body, page.now
            )
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "event_types" in errors:
            errors["event_types"] = translate(page.language, N_("Choose at least one event."))
        return await _webhooks_page(page, errors=errors, values=values, status_code=422)
    except AppError as exc:
        field = field_of(exc, "url")
        errors = FormErrors(
            {field: translate(page.language, WEBHOOK_REFUSALS.get(field, WEBHOOK_REFUSALS["url"]))}
        )
        return await _webhooks_page(page, errors=errors, values=values, status_code=exc.status)
    return _secret_page(page, webhook, secret, 201)


async def _webhook_page(
    page: PageContext,
    webhook_id: uuid.UUID,
    request: Request,
    *,
    message: str = "",
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and len(cursor) > 512:
        cursor = None
    webhook = webhook_public(await webhooks.get_webhook(page.session, webhook_id))
    try:
        rows, next_cursor = await webhooks.list_deliveries(
            page.session, webhook_id, cursor=cursor, limit=50
        )
    except AppError as exc:
        if exc.status != 422:
            raise
        rows, next_cursor = await webhooks.list_deliveries(
            page.session, webhook_id, cursor=None, limit=50
        )
    return render(
        page,
        "staff/admin/webhook.html",
        status_code=status_code,
        webhook=webhook,
        event_types=sorted(EVENT_TYPES),
        errors=errors or FormErrors(),
        values=values
        or {
            "url": webhook.url,
            "description": webhook.description,
            "event_types": webhook.event_types,
        },
        deliveries=[(row.NotificationDelivery, row.event_type) for row in rows],
        next_cursor=next_cursor,
        delivery_states=DELIVERY_STATES,
        message=message,
    )


@router.get("/staff/admin/webhooks/{webhook_id}")
async def webhook_page(
    webhook_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    """``GET /v1/admin/webhooks/{id}`` and its ``…/deliveries``, newest first."""
    return await _webhook_page(page, webhook_id, request, message=done_message(page, request, DONE))


async def _edit_webhook(page: PageContext, webhook_id: uuid.UUID, request: Request) -> Response:
    """``PATCH /v1/admin/webhooks/{id}`` with the address, description and events."""
    form = await request.form()
    values: dict[str, Any] = form_values(form, "url")
    values["description"] = str(form.get("description") or "")
    values["event_types"] = [str(v) for v in form.getlist("event_types")]
    try:
        body = parse(WebhookUpdate, values)
        async with page.session.begin_nested():
            await webhooks.update_webhook(
                page.session, page.person, page.settings, webhook_id, body, page.now
            )
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "event_types" in errors:
            errors["event_types"] = translate(page.language, N_("Choose at least one event."))
        if "url" not in values:
            errors["url"] = translate(page.language, N_("Fill in this field."))
        return await _webhook_page(
            page, webhook_id, request, errors=errors, values=values, status_code=422
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        field = field_of(exc, "url")
        said = WEBHOOK_REFUSALS.get(field, WEBHOOK_REFUSALS["url"])
        errors = FormErrors({field: translate(page.language, said)})
        return await _webhook_page(
            page, webhook_id, request, errors=errors, values=values, status_code=exc.status
        )
    return RedirectResponse(f"/staff/admin/webhooks/{webhook_id}?done=saved-webhook", 303)


@router.post("/staff/admin/webhooks/{webhook_id}/{change}", dependencies=[CSRF])
async def change_webhook(
    webhook_id: uuid.UUID, change: str, request: Request, page: PageContext = AdminPage
) -> Response:
    """``PATCH …/{id}`` (the form, or ``active``), ``DELETE …/{id}`` and ``POST
    …/{id}/rotate-secret``."""
    if change == "edit":
        return await _edit_webhook(page, webhook_id, request)
    if change in ("disable", "enable"):
        body = WebhookUpdate(active=change == "enable")
        await webhooks.update_webhook(
            page.session, page.person, page.settings, webhook_id, body, page.now
        )
        return RedirectResponse(
            f"/staff/admin/webhooks/{webhook_id}?done={change}d", status_code=303
        )
    if change == "delete":
        await webhooks.delete_webhook(page.session, page.person, webhook_id)
        return RedirectResponse("/staff/admin/webhooks?done=webhook-deleted", status_code=303)
    if change == "rotate-secret":
        webhook, secret = await webhooks.rotate_secret(
            page.session, page.person, page.settings, webhook_id, page.now
        )
        return _secret_page(page, webhook, secret, 200)
    raise NotFound("No such action.")
