"""mySociety's ``servicerequestupdates`` extension of GeoReport v2: updates to public
reports (``GET``) and the city case system's updates (``POST``, an API key with
``open311:updates``), through the same life-cycle services as staff actions
(``updates.py``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import StringConstraints

from service import idempotency
from service.auth.dependencies import SettingsDep
from service.auth.policy import PUBLIC
from service.clock import NowDep
from service.db import SessionDep
from service.fields import PlainText
from service.open311 import service, updates
from service.open311.formats import (
    Open311Error,
    Open311Route,
    render,
)
from service.open311.params import (
    Fmt,
    IdempotencyKey,
    Jurisdiction,
    Open311Updater,
    Text,
    city_zone,
    date_param,
    first_value,
    integer,
    parameters_of,
)
from service.open311.schemas import (
    MAX_REQUESTS,
    RequestUpdate,
    UpdateCreated,
    json_and_xml,
)
from service.ratelimit import RateLimiterDep, RateLimitItemPerMinute

# Included by router.py (under its prefix), before its catch-all route.
router = APIRouter(route_class=Open311Route, dependencies=[PUBLIC])


# --- mySociety's servicerequestupdates ------------------------------------------------------


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Updates of public reports in a window, oldest first (mySociety's extension)",
    response_model=None,
    responses=json_and_xml(list[RequestUpdate]),
)
async def list_updates(
    fmt: Fmt,
    session: SessionDep,
    now: NowDep,
    start_date: Text = None,
    end_date: Text = None,
    page: Annotated[
        Annotated[str, StringConstraints(max_length=6), PlainText] | None, Query()
    ] = None,
    page_size: Annotated[
        Annotated[str, StringConstraints(max_length=4), PlainText] | None, Query()
    ] = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    zone = await city_zone(session)
    start, end = service.date_window(
        date_param("start_date", start_date, zone), date_param("end_date", end_date, zone), now
    )
    size = integer("page_size", page_size, MAX_REQUESTS, 1, MAX_REQUESTS)
    number = integer("page", page, 1, 1, 100_000)
    found = await updates.list_updates(session, start, end, (number - 1) * size, size, zone)
    return render(fmt, "service_request_updates", found)


UPDATE_FORM: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"}
                        for name in (
                            "api_key",
                            "service_request_id",
                            "status",
                            "description",
                            "update_id",
                            "updated_datetime",
                        )
                    },
                    "required": ["service_request_id", "status"],
                }
            }
        }
    }
}


# The case system's own id of an update: long enough for any id, short enough to key it.
MAX_UPDATE_ID = 200


@router.post(
    "/servicerequestupdates.{fmt}",
    summary="A department's update from the city's case system (api_key with open311:updates)",
    response_model=None,
    responses=json_and_xml(list[UpdateCreated]),
    openapi_extra=UPDATE_FORM,
)
async def post_update(
    fmt: Fmt,
    request: Request,
    actor: Open311Updater,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    now: NowDep,
    once: idempotency.IdempotentPostDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    await limiter.enforce(
        RateLimitItemPerMinute(settings.open311_posts_per_minute),
        "open311-post",
        str(actor.api_key_id),
        detail=f"At most {settings.open311_posts_per_minute} Open311 requests a minute.",
    )
    parameters = parameters_of(request, await request.form())
    update_id = first_value(parameters, "update_id")
    if update_id is not None and len(update_id) > MAX_UPDATE_ID:
        # It keys the update's replay (``servicerequestupdate:<update_id>``).
        raise Open311Error(f"update_id: at most {MAX_UPDATE_ID} characters.")
    zone = await city_zone(session)
    new = updates.NewUpdate(
        service_request_id=first_value(parameters, "service_request_id"),
        status=first_value(parameters, "status"),
        description=first_value(parameters, "description"),
        update_id=update_id,
        updated_datetime=date_param(
            "updated_datetime", first_value(parameters, "updated_datetime"), zone
        ),
    )

    async def work() -> idempotency.Answer:
        created = await updates.post_update(session, actor, new, now, settings)
        return idempotency.Answer(200, json.dumps(created).encode())

    answer = await once.run(
        actor,
        idempotency_key,
        path="/open311/v2/servicerequestupdates",
        payload={k: v for k, v in vars(new).items() if v is not None},
        work=work,
        # A case system sends its own update_id: a second post of it is the same update.
        default_key=f"servicerequestupdate:{new.update_id}" if new.update_id else None,
    )
    return render(
        fmt,
        "service_request_updates",
        json.loads(answer.body),
        status_code=answer.status_code,
        headers=answer.response_headers(),
    )
