"""Fuzzing every operation of the API from the committed OpenAPI document with schemathesis
(tests/test_fuzz.py as an anonymous caller, tests/test_fuzz_admin.py as an admin; two files
so that the two runs can go to two test workers): no answer is a 5xx, and every successful
answer conforms to the document (status code, media type, headers and body schema).

Requests go through the in-process app inside the test's transaction, like every other
test. Ids in paths and bodies are, in about half the cases, swapped for ids of rows that
exist (the admin's own report, a department, a calendar, a reason …), so that generated
bodies reach the services and the database instead of stopping at a 404.

The run is seeded and derandomized, so a failure reproduces. ``make test`` runs a few
examples per operation; ``make fuzz`` the same with many more (``MEIELINN_FUZZ_EXAMPLES``,
``MEIELINN_FUZZ_SEED``).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import schemathesis
from httpx import AsyncClient, Headers, Response
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.models import Role, RoleGrant
from service.auth.schemas import ApiKeyCreate
from service.catalog.models import Category, ObjectType
from service.city.models import Building, Calendar, District, RoutingRule
from service.config import Settings
from service.ops.models import WorkerHeartbeat
from tests.factories import (
    actor_of,
    bearer,
    file_report,
    make_department,
    make_user,
    reason_by_code,
)

Case = schemathesis.Case[Any]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("MEIELINN_FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("MEIELINN_FUZZ_SEED", "20260601"))
# Walks through operations linked by the ids they return (``make fuzz`` only).
WORKFLOWS = int(os.environ.get("MEIELINN_FUZZ_WORKFLOWS", "0"))

DOCUMENT = ROOT / "openapi" / "openapi.json"
# Operations only a signed-in caller gets past the 401 of: for the anonymous caller their
# boundary cases (the coverage phase, most of the run's requests) would only meet the 401.
SIGNED_IN_ONLY = r"^/v1/(admin|moderation|api-keys|me)(/|$)"


def _config(*, anonymous: bool) -> schemathesis.Config:
    options: dict[str, Any] = {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
    }
    if anonymous:
        options["operations"] = [
            {"include-path-regex": SIGNED_IN_ONLY, "phases": {"coverage": {"enabled": False}}}
        ]
    return schemathesis.Config.from_dict(options)


def fuzz_schema(*, anonymous: bool) -> schemathesis.BaseSchema:
    """The API's document, set up for one caller's run."""
    return schemathesis.openapi.from_path(DOCUMENT, config=_config(anonymous=anonymous))


# Every answer must not be a 5xx. Successful answers must match the document exactly; error
# answers are problem documents, which the document does not describe for every operation.
SERVER_ERRORS = [checks.not_a_server_error]
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

# The client, its app and the test's transaction are shared by an operation's examples on
# purpose: each request is its own savepoint, and all of it is rolled back at the end.
SHARED_FIXTURES = hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


async def existing_rows(session: AsyncSession, settings: Settings) -> Known:
    """Ids of rows that exist, by the name of the path parameter or body field that takes
    them; and the admin whose report, key and grants they are."""
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    other = await make_user(session, settings)
    grant = RoleGrant(user_id=other.id, role=Role.moderator)
    session.add(grant)
    department = await make_department(session)
    calendar = Calendar(name="Night shift")
    session.add(calendar)
    # A worker is running (its heartbeat), as in any working installation: /readyz/workers
    # then answers 200, and its 503 is tested where no worker runs (tests/test_ops.py).
    beat = datetime.now(UTC)
    session.add(WorkerHeartbeat(worker_name="fuzz", first_beat_at=beat, last_beat_at=beat))
    reason = await reason_by_code(session, "pothole")
    report = await file_report(session, admin)
    duplicate = await file_report(session, other)
    key, _ = await auth.create_api_key(
        session,
        actor_of(admin, (Role.admin, None)),
        ApiKeyCreate(name="Partner", scopes=["reports:read"]),
        datetime.now(UTC),
    )
    await session.flush()

    async def first(model: Any) -> str:
        return str((await session.execute(select(model.id).limit(1))).scalar_one())

    ids = {
        "report_id": str(report.id),
        "of": str(duplicate.id),
        "tracking_code": report.tracking_code,
        "reason_id": str(reason.id),
        "reason": str(reason.id),
        "category_id": str(reason.category_id),
        "object_type_id": await first(ObjectType),
        "department_id": str(department.id),
        "parent_id": await first(type(department)),
        "calendar_id": str(calendar.id),
        "district_id": await first(District),
        "building_id": await first(Building),
        "rule_id": await first(RoutingRule),
        "user_id": str(other.id),
        "owner_id": str(other.id),
        "grant_id": str(grant.id),
        "key_id": str(key.id),
        "/v1/admin/catalog/categories/{item_id}": await first(Category),
        "/v1/admin/catalog/object-types/{item_id}": await first(ObjectType),
    }
    return Known(ids=ids, admin_headers=bearer(settings, admin))


def _swap_ids(case: Case, ids: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        # item_id names an object type or a category, by path.
        known = ids.get(case.path if name == "item_id" else name)
        if known is not None:
            case.path_parameters[name] = known
    for name, value in (case.query or {}).items():
        if name in ids and _is_uuid(value):
            case.query[name] = ids[name]
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            if name in ids and _is_uuid(value):
                case.body[name] = ids[name]


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


async def send(case: Case, client: AsyncClient, headers: dict[str, str]) -> Response:
    """The case's request, through the in-process app, with ``headers`` over its own."""
    # requests encodes the generated body (JSON, form, multipart) exactly as schemathesis
    # means it; the bytes then go through the ASGI client in this test's event loop.
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://testserver")
    prepared = requests.Request(**kwargs).prepare()
    sent_headers = Headers(dict(prepared.headers))
    sent_headers.update(headers)
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return await client.request(
        str(prepared.method), str(prepared.url), headers=sent_headers, content=body
    )


def check(case: Case, response: Response | schemathesis.Response) -> None:
    status = response.status_code
    case.validate_response(response, checks=CONFORMANCE if 200 <= status < 300 else SERVER_ERRORS)


async def exercise(case: Case, client: AsyncClient, headers: dict[str, str]) -> None:
    check(case, await send(case, client, headers))


@dataclass
class Known:
    ids: dict[str, str]
    admin_headers: dict[str, str]
    examples: Iterator[int] = field(default_factory=itertools.count)

    def swap_ids(self, case: Case) -> None:
        """Every other example (the order is deterministic) uses existing ids."""
        if next(self.examples) % 2 == 0:
            _swap_ids(case, self.ids)
