"""The administration of the staff console (``/staff/admin``): users and their role grants,
and API keys.

Each page is an admin route of ``service.auth.router`` as a page: the same request schemas
check the forms, the same service functions act, and the same rules hold (an admin cannot
revoke their own admin role or disable their own account; an API key acts for the admin who
creates it and its key is shown once, in the answer to the form that created it). Reading a
user's name and address is written to the audit log as the API's reads are.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model
from starlette.responses import RedirectResponse, Response

from service.auth import router as auth_api
from service.auth import service as auth
from service.auth.models import BUILDING_ROLES, DEPARTMENT_ROLES, Role
from service.auth.router import SearchText, api_key_public, user_private
from service.auth.schemas import ApiKeyCreate, RoleGrantCreate
from service.auth.scopes import Scope
from service.city import service as city
from service.errors import AppError, InvalidInput, NotFound
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# Every administration page: admins only (403 page for anyone else, as the API's 403).
AdminPage = Depends(role_page(Role.admin))

PAGE_SIZE = 50
SearchQuery: TypeAdapter[str] = TypeAdapter(SearchText)

ROLE_NAMES = {
    Role.ambassador: N_("Ambassador"),
    Role.staff: N_("Department staff"),
    Role.supervisor: N_("Supervisor"),
    Role.moderator: N_("Moderator"),
    Role.coordinator: N_("Training coordinator"),
    Role.idea_office: N_("Idea office"),
    Role.lab_manager: N_("Living lab manager"),
    Role.admin: N_("Administrator"),
}
SCOPE_NAMES = {
    Scope.reports_write: N_("File and edit reports as the key's owner"),
    Scope.reports_read: N_("Read the owner's own reports"),
    Scope.reports_on_behalf: N_("File reports for a resident named by email"),
    Scope.reports_private: N_("Read every report with its personal data"),
    Scope.open311_write: N_("Open311: file service requests"),
    Scope.open311_updates: N_("Open311: post status updates of public reports"),
    Scope.ideas_write: N_("Propose ideas as the key's owner"),
}
DONE = {
    "granted": N_("The role was granted."),
    "revoked": N_("The role was revoked."),
    "disabled": N_("The account was disabled: its sessions and tokens no longer work."),
    "enabled": N_("The account was enabled again."),
    "key-revoked": N_("The API key was revoked: it no longer works."),
}
# The services' refusals a form may meet, said in the reader's language by ``app_error``.
REFUSALS = (
    N_("Admins cannot remove their own admin role."),
    N_("Admins cannot disable their own account."),
    N_("The user holds this role already."),
    N_("No such department."),
    N_("No such building."),
    N_("expires_at is in the past."),
    N_("The cursor is not valid."),
)
ROLE_SCOPE_MESSAGES = {
    "department_id": N_("This role is held for a department: choose one."),
    "building_id": N_("This role is held for a building: choose one."),
}
NOT_SCOPED = N_("This role is not held for one department or building: leave this empty.")


def done_message(page: PageContext, request: Request, messages: Mapping[str, str]) -> str:
    """The confirmation a redirect after a form asked for (``?done=…``), in words."""
    done = request.query_params.get("done", "")
    return translate(page.language, messages[done]) if done in messages else ""


def form_values(form: Mapping[str, Any], *names: str) -> dict[str, str]:
    """The named fields of a form as stripped strings; empty fields left out."""
    found: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found


def local_instant(page: PageContext, raw: str | None) -> str | datetime | None:
    """A browser's date-and-time field (no offset) read as the city's local time; anything
    else is left for the schema to judge."""
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if local.tzinfo is None:
        return local.replace(tzinfo=ZoneInfo(page.settings.timezone))
    return local


def field_of(exc: AppError, default: str) -> str:
    """The form field a service's refusal names (its ``field``), or ``default``."""
    field = exc.extensions.get("field")
    return field if isinstance(field, str) else default


def refusal(page: PageContext, exc: AppError, field: str) -> FormErrors:
    """A service's refusal by its field; the role scope's sentences in plain words."""
    errors = app_error(exc, page.language, field_of(exc, field))
    for name, message in ROLE_SCOPE_MESSAGES.items():
        if exc.detail.endswith(f"needs a {name}."):
            errors = FormErrors({name: translate(page.language, message)})
        elif exc.detail.endswith(f"is not scoped to a {name.removesuffix('_id')}."):
            errors = FormErrors({name: translate(page.language, NOT_SCOPED)})
    return errors


@router.get("/staff/admin")
async def admin_index(page: PageContext = AdminPage) -> Response:
    return render(page, "staff/admin/index.html")


# --- users ------------------------------------------------------------------------------------


def _users_query() -> Any:
    """``GET /v1/admin/users``'s query (q, cursor, limit) from the route's own declarations."""
    hints = get_type_hints(auth_api.list_users, include_extras=True)
    parameters = inspect.signature(auth_api.list_users).parameters
    names = ("q", "cursor", "limit")
    fields: dict[str, Any] = {name: (hints[name], parameters[name].default) for name in names}
    return create_model("UsersQuery", __config__=ConfigDict(extra="ignore"), **fields)


UsersQuery = _users_query()


@router.get("/staff/admin/users")
async def users(request: Request, page: PageContext = AdminPage) -> Response:
    """``GET /v1/admin/users`` as a page: the route itself answers (the search, its keyset
    pages and the audit record of the admin's read), so the page lists what the API lists."""
    params = request.query_params
    values = form_values(params, "q", "cursor", "limit")
    errors = FormErrors()
    found = None
    try:
        query = parse(UsersQuery, {"limit": PAGE_SIZE, **values})
        found = await auth_api.list_users(
            page.person, page.session, query.q, query.cursor, query.limit
        )
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
    except InvalidInput as exc:
        errors = app_error(exc, page.language, "q")
    if errors and "q" not in errors:
        errors = FormErrors({"q": next(iter(errors.values()))})
    raw = values.get("q", "")
    limit = values.get("limit")
    return render(
        page,
        "staff/admin/users.html",
        status_code=422 if errors else 200,
        users=found.items if found else [],
        q=raw,
        limit=limit,
        errors=errors,
        next_cursor=found.next_cursor if found else None,
        role_names=ROLE_NAMES,
    )


async def _user_page(
    page: PageContext,
    user_id: uuid.UUID,
    *,
    building_q: str = "",
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    form: str = "",
    message: str = "",
    status_code: int = 200,
) -> Response:
    user = user_private(*await auth.user_with_grants(page.session, user_id, reader=page.person))
    departments = await city.list_departments(page.session, include_inactive=True)
    names = {d.id: d.name for d in departments}
    buildings: dict[uuid.UUID, str] = {}
    for grant in user.roles:
        if grant.building_id is not None:
            buildings[grant.building_id] = (
                await city.building_public(page.session, grant.building_id)
            ).address
    errors = errors if errors is not None else FormErrors()
    found: list[Any] = []
    if building_q:
        try:
            query = SearchQuery.validate_python(building_q)
        except ValidationError as exc:
            errors.setdefault("building_q", next(iter(field_errors(exc, page.language).values())))
        else:
            if len(query) >= 2:
                found = await city.search_buildings(page.session, query, 10)
            else:
                errors.setdefault("building_q", translate(page.language, N_("This is too short.")))
    return render(
        page,
        "staff/admin/user.html",
        status_code=status_code,
        user=user,
        department_names=names,
        departments=sorted(departments, key=lambda d: d.name),
        building_names=buildings,
        buildings=found,
        building_q=building_q,
        role_names=ROLE_NAMES,
        department_roles=DEPARTMENT_ROLES,
        building_roles=BUILDING_ROLES,
        errors=errors,
        values=values or {},
        form=form,
        message=message,
        myself=user.id == page.person.user_id,
    )


@router.get("/staff/admin/users/{user_id}")
async def user_page(
    user_id: uuid.UUID, request: Request, page: PageContext = AdminPage
) -> Response:
    return await _user_page(
        page,
        user_id,
        building_q=(request.query_params.get("building_q") or "").strip(),
        message=done_message(page, request, DONE),
    )


@router.post("/staff/admin/users/{user_id}/roles", dependencies=[CSRF])
async def grant(user_id: uuid.UUID, request: Request, page: PageContext = AdminPage) -> Response:
    """``POST /v1/admin/users/{id}/roles``: role, and its department or building."""
    form = await request.form()
    values = form_values(form, "role", "department_id", "building_id")
    try:
        body = parse(RoleGrantCreate, values)
        await auth.grant_role(page.session, page.person, user_id, body)
    except ValidationError as exc:
        return await _user_page(
            page,
            user_id,
            errors=field_errors(exc, page.language),
            values=values,
            form="grant",
            status_code=422,
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _user_page(
            page,
            user_id,
            errors=refusal(page, exc, "role"),
            values=values,
            form="grant",
            status_code=exc.status,
        )
    return RedirectResponse(f"/staff/admin/users/{user_id}?done=granted", status_code=303)


@router.post("/staff/admin/users/{user_id}/roles/{grant_id}/revoke", dependencies=[CSRF])
async def revoke(
    user_id: uuid.UUID, grant_id: uuid.UUID, page: PageContext = AdminPage
) -> Response:
    """``DELETE /v1/admin/users/{id}/roles/{grant_id}``."""
    try:
        await auth.revoke_role(page.session, page.person, user_id, grant_id)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _user_page(
            page,
            user_id,
            errors=app_error(exc, page.language),
            form="roles",
            status_code=exc.status,
        )
    return RedirectResponse(f"/staff/admin/users/{user_id}?done=revoked", status_code=303)


@router.post("/staff/admin/users/{user_id}/{change}", dependencies=[CSRF])
async def disable_or_enable(
    user_id: uuid.UUID, change: str, page: PageContext = AdminPage
) -> Response:
    """``POST /v1/admin/users/{id}/disable`` and ``…/enable``."""
    if change not in ("disable", "enable"):
        raise NotFound("No such action.")
    try:
        await auth.set_disabled(page.session, page.person, user_id, change == "disable", page.now)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _user_page(
            page,
            user_id,
            errors=app_error(exc, page.language),
            form="account",
            status_code=exc.status,
        )
    return RedirectResponse(f"/staff/admin/users/{user_id}?done={change}d", status_code=303)


# --- API keys ---------------------------------------------------------------------------------


async def _keys_page(
    page: PageContext,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    keys = [api_key_public(k) for k in await auth.list_api_keys(page.session)]
    return render(
        page,
        "staff/admin/keys.html",
        status_code=status_code,
        keys=keys,
        scopes=list(Scope),
        scope_names=SCOPE_NAMES,
        errors=errors or FormErrors(),
        values=values or {},
        message=message,
    )


@router.get("/staff/admin/api-keys")
async def api_keys(request: Request, page: PageContext = AdminPage) -> Response:
    return await _keys_page(page, message=done_message(page, request, DONE))


@router.post("/staff/admin/api-keys", dependencies=[CSRF])
async def create_key(request: Request, page: PageContext = AdminPage) -> Response:
    """``POST /v1/api-keys``: the key acts for the admin creating it. The answer is the page
    that shows the key, once: it is not kept anywhere to be shown again (only its hash is
    stored), so this answer is not a redirect, and it is never cached."""
    form = await request.form()
    values: dict[str, Any] = form_values(form, "name", "expires_at")
    values["scopes"] = [str(v) for v in form.getlist("scopes")]
    fields = dict(values)
    fields["expires_at"] = local_instant(page, values.get("expires_at"))
    try:
        body = parse(ApiKeyCreate, fields)
        async with page.session.begin_nested():
            key, secret = await auth.create_api_key(page.session, page.person, body, page.now)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "scopes" in errors:
            errors["scopes"] = translate(page.language, N_("Choose at least one scope."))
        return await _keys_page(page, errors=errors, values=values, status_code=422)
    except AppError as exc:
        return await _keys_page(
            page,
            errors=app_error(exc, page.language, field_of(exc, "name")),
            values=values,
            status_code=exc.status,
        )
    return render(
        page,
        "staff/admin/key_created.html",
        status_code=201,
        key=api_key_public(key),
        secret=secret,
        scope_names=SCOPE_NAMES,
    )


@router.post("/staff/admin/api-keys/{key_id}/revoke", dependencies=[CSRF])
async def revoke_key(key_id: uuid.UUID, page: PageContext = AdminPage) -> Response:
    """``DELETE /v1/api-keys/{id}``."""
    await auth.revoke_api_key(page.session, page.person, key_id, page.now)
    return RedirectResponse("/staff/admin/api-keys?done=key-revoked", status_code=303)
