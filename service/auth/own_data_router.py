"""The person's own data: ``GET /v1/me/export`` and ``DELETE /v1/me`` (PRODUCT.md §9).

Both need a signed-in person (``PersonActor``): an API key never exports or erases its
owner."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse

from service.auth import own_data
from service.auth.dependencies import PersonActor, SettingsDep, client_ip
from service.auth.schemas import ErasureRequest
from service.auth.throttle import SignInThrottle
from service.clock import NowDep
from service.db import SessionDep
from service.errors import PROBLEM
from service.privacy.erasure import export_chunks

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get(
    "/export",
    summary="All of my data, as one JSON document (streamed section by section)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The account, reports, ratings, training and notifications "
            "sections; each package of the service contributes its own.",
        },
        401: PROBLEM,
        403: PROBLEM,
        404: PROBLEM,
    },
)
async def export_me(
    actor: PersonActor, request: Request, session: SessionDep, now: NowDep
) -> StreamingResponse:
    person = await own_data.begin_export(session, actor)
    return StreamingResponse(
        export_chunks(request.app.state.sessionmaker, person, now),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="meielinn-export-{person.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase my account: personal data removed, reports kept anonymised",
    description="Confirmed with the account's password. Accounts holding the city's roles "
    "(staff, supervisor, moderator, coordinator, admin) are refused with 409 until an "
    "administrator removes the roles.",
    responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 429: PROBLEM},
)
async def erase_me(
    body: ErasureRequest,
    actor: PersonActor,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    # Checking the password is a sign-in attempt: a stolen access token must not become a
    # way to guess it.
    throttle = SignInThrottle(
        request.app.state.rate_limiter, request.app.state.redis, request.app.state.settings
    )
    await throttle.admit(actor.email, client_ip(request) or "unknown")
    await own_data.erase_me(session, settings, actor, body.password, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
