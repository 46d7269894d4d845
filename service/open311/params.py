"""What Open311 requests carry: the format suffix, the spec's optional parameters (an
empty one is an absent one), dates, lists, the API key where the spec puts it, and form
bodies with ``attribute[code]`` fields. Shared by the routers of this package."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Path, Query, Request, Security
from pydantic import StringConstraints
from starlette.datastructures import FormData

from service.auth import sessions as auth
from service.auth.actor import Actor
from service.auth.dependencies import api_key_scheme, client_ip
from service.auth.policy import Caller, Policy, declare
from service.auth.scopes import Scope
from service.catalog.schemas import pick_language
from service.city import service as city
from service.clock import NowDep
from service.db import SessionDep
from service.errors import Forbidden
from service.fields import PlainText
from service.open311.formats import (
    Format,
    Open311Error,
    parse_format,
)
from service.open311.schemas import (
    RequestStatus,
)


async def format_of(
    fmt: Annotated[str, Path(max_length=10, description="json or xml"), PlainText],
) -> Format:
    return parse_format(fmt)


# First in every signature: an unknown suffix is 404 before anything else is looked at.
Fmt = Annotated[Format, Depends(format_of)]
Jurisdiction = Annotated[
    Annotated[str, StringConstraints(max_length=200), PlainText] | None,
    Query(description="Accepted and ignored: this server serves one city."),
]
Text = Annotated[Annotated[str, StringConstraints(max_length=2000), PlainText] | None, Query()]


def optional(value: str | None) -> str | None:
    """The spec's optional arguments: empty is absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def language_of(lang: str | None, accept_language: str | None) -> str:
    return pick_language(lang, accept_language)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def integer(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    value = optional(raw)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Open311Error(f"{name}: a whole number from {low} to {high}.")
    return int(value)


def comma_list(raw: str | None) -> list[str] | None:
    value = optional(raw)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()] or None


async def city_zone(session: Any) -> Any:
    return (await city.current_city_calendar(session)).zone


def date_param(name: str, raw: str | None, zone: Any) -> datetime | None:
    """A W3C date-time with its offset (``2026-01-01T00:00:00Z``), or a date (the start of
    that day in the city)."""
    value = optional(raw)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(f"{name}: a W3C date-time such as 2026-01-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        if "T" in value:
            raise Open311Error(f"{name}: give the offset from UTC (Z or ±hh:mm).")
        moment = datetime.combine(moment.date(), time(0), zone)
    return moment


def bbox_param(raw: str | None) -> tuple[float, float, float, float] | None:
    value = optional(raw)
    if value is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in value.split(","))
    except ValueError:
        raise Open311Error("bbox: min_lon,min_lat,max_lon,max_lat.") from None
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise Open311Error("bbox: corners out of range or in the wrong order.")
    return min_lon, min_lat, max_lon, max_lat


def statuses(raw: str | None) -> list[RequestStatus] | None:
    names = comma_list(raw)
    if names is None:
        return None
    try:
        return [RequestStatus(name.lower()) for name in names]
    except ValueError:
        raise Open311Error("status: open or closed (comma-separated).") from None


def open311_key(scope: Scope) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting an API key that carries ``scope``, sent as the ``api_key``
    form or query parameter or as ``X-API-Key``; 403 otherwise (a person's sign-in does not
    count: Open311 writes are made by integrations)."""

    @declare(Policy(Caller.api_key, scope=scope))
    async def dependency(
        request: Request,
        session: SessionDep,
        now: NowDep,
        form_key: Annotated[
            Annotated[str, StringConstraints(max_length=200), PlainText] | None,
            Form(alias="api_key"),
        ] = None,
        query_key: Annotated[
            Annotated[str, StringConstraints(max_length=200), PlainText] | None,
            Query(alias="api_key"),
        ] = None,
        header_key: Annotated[str | None, Security(api_key_scheme)] = None,
    ) -> Actor:
        key = optional(form_key) or optional(query_key) or optional(header_key)
        if key is None:
            raise Forbidden("api_key: required.")
        actor = await auth.actor_from_api_key(session, key, now, client_ip(request))
        if not actor.holds_scope(scope):
            raise Forbidden(f"api_key: the key lacks the scope {scope}.")
        return actor

    return dependency


Open311Writer = Annotated[Actor, Depends(open311_key(Scope.open311_write))]
Open311Updater = Annotated[Actor, Depends(open311_key(Scope.open311_updates))]
IdempotencyKey = Annotated[
    Annotated[str, StringConstraints(max_length=2000), PlainText] | None,
    Header(
        alias="Idempotency-Key",
        description="Send the same key again to get the same answer without a second request.",
    ),
]


ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
POST_FIELDS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
)
REQUEST_FORM: dict[str, Any] = {
    "requestBody": {
        "content": {
            content_type: {
                "schema": {
                    "type": "object",
                    "properties": {
                        **{name: {"type": "string"} for name in ("api_key", *POST_FIELDS)},
                        "attribute[code]": {"type": "string", "description": "per attribute"},
                        "media_url": {"type": "string", "description": "one or more"},
                        "media": {"type": "string", "format": "binary"},
                    },
                    "required": ["service_code"],
                }
            }
            for content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        }
    }
}


def parameters_of(request: Request, form: FormData) -> dict[str, list[Any]]:
    """Query and form parameters together (the form wins), each with all its values."""
    found: dict[str, list[Any]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    posted: dict[str, list[Any]] = {}
    for key, item in form.multi_items():
        posted.setdefault(key, []).append(item)
    found.update(posted)
    return found


def first_value(parameters: dict[str, list[Any]], name: str) -> str | None:
    values = [v for v in parameters.get(name, []) if isinstance(v, str)]
    return optional(values[0]) if values else None
