"""Fuzzing every operation of the API from the committed OpenAPI document with schemathesis,
as an anonymous caller (tests/test_fuzz.py), a resident (tests/test_fuzz_resident.py) and an
admin (tests/test_fuzz_admin.py); three files so that the runs can go to three test workers.
Every answer, errors included, must conform to the document: no 5xx, a documented status
code, the documented media type and headers, and a body that matches the documented schema
(error answers are problem documents, service/openapi.py).

Requests go through the in-process app inside the test's transaction, like every other
test. Ids in paths and bodies are, in about half the cases, swapped for ids of rows that
exist (the caller's own report, a department, a calendar, a reason …), so that generated
bodies reach the services and the database instead of stopping at a 404.

Workflows (stateful testing) follow the document's ``links``: a report filed is fetched,
changed, photographed, supported and withdrawn; a webhook, a programme and its sessions …
(service/openapi.py lists them), as the resident and as the admin.

The run is seeded and derandomized, so a failure reproduces. ``make test`` runs a few
examples per operation and a few short workflows; ``make fuzz`` the same with many more
(``MEIELINN_FUZZ_EXAMPLES``, ``MEIELINN_FUZZ_WORKFLOWS``, ``MEIELINN_FUZZ_SEED``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
# Sequences of calls linked by the ids they return, and the calls in each.
WORKFLOWS = int(os.environ.get("MEIELINN_FUZZ_WORKFLOWS", "3"))
WORKFLOW_STEPS = int(os.environ.get("MEIELINN_FUZZ_WORKFLOW_STEPS", "10" if WORKFLOWS > 3 else "5"))

DOCUMENT = ROOT / "openapi" / "openapi.json"
# Operations only a signed-in caller gets past the 401 of: for the anonymous caller their
# boundary cases (the coverage phase, most of the run's requests) would only meet the 401.
SIGNED_IN_ONLY = r"^/v1/(admin|moderation|api-keys|me)(/|$)"
# Likewise operations of staff only for a resident: their boundary cases would meet the 403.
STAFF_ONLY = r"^/v1/(admin|moderation|departments|transfer-requests|extension-requests)(/|$)"
# In `make test` (no MEIELINN_FUZZ_EXAMPLES given) the resident's run leaves the boundary
# cases of every operation to the anonymous and admin runs and keeps its generated examples
# and workflows: the suite stays within its time on two cores. `make fuzz` runs them all.
LONG_RUN = "MEIELINN_FUZZ_EXAMPLES" in os.environ
WITHOUT_COVERAGE = {"anonymous": SIGNED_IN_ONLY, "resident": STAFF_ONLY if LONG_RUN else r"^/"}


def _config(caller: str) -> schemathesis.Config:
    options: dict[str, Any] = {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
    }
    if caller in WITHOUT_COVERAGE:
        options["operations"] = [
            {
                "include-path-regex": WITHOUT_COVERAGE[caller],
                "phases": {"coverage": {"enabled": False}},
            }
        ]
    return schemathesis.Config.from_dict(options)


def fuzz_schema(caller: str) -> schemathesis.BaseSchema:
    """The API's document, set up for one caller's run (anonymous, resident or admin)."""
    return schemathesis.openapi.from_path(DOCUMENT, config=_config(caller))


# Every answer, successful or not, must match the document exactly.
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

# The only 5xx a caller may see: the readiness routes' 503 when their check fails.
READINESS = frozenset({"/readyz", "/readyz/workers"})


def _checks_for(path: str) -> list[Any]:
    """No 5xx anywhere, except a 503 from a readiness route (whose check says so)."""
    if path in READINESS:
        return [_not_a_server_error_but_unready, *CONFORMANCE[1:]]
    return CONFORMANCE


def _not_a_server_error_but_unready(ctx: Any, response: Any, case: Case) -> bool | None:
    if response.status_code == 503 and _says_unready(response):
        return None
    return checks.not_a_server_error(ctx, response, case)


def _says_unready(response: Any) -> bool:
    """The 503's body names a check that is not "ok" (the readiness routes' own verdict)."""
    try:
        body = response.json()
    except ValueError:
        return False
    results = body.get("checks") if isinstance(body, dict) else None
    return isinstance(results, dict) and any(
        isinstance(result, dict) and result.get("status") != "ok" for result in results.values()
    )


# The client, its app and the test's transaction are shared by an operation's examples on
# purpose: each request is its own savepoint, and all of it is rolled back at the end.
SHARED_FIXTURES = hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


async def existing_rows(session: AsyncSession, settings: Settings, caller: str) -> Known:
    """Ids of rows that exist, by the name of the path parameter or body field that takes
    them (the report is the caller's own, the admin's for an anonymous caller); and the
    caller's headers."""
    admin = await make_user(session, settings, roles=((Role.admin, None),))
    resident = await make_user(session, settings)
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
    report = await file_report(session, resident if caller == "resident" else admin)
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
    headers = {
        "anonymous": {},
        "resident": bearer(settings, resident),
        "admin": bearer(settings, admin),
    }[caller]
    return Known(ids=ids, headers=headers)


def _swap_ids(case: Case, ids: dict[str, str], *, paths: bool) -> None:
    for name in (case.path_parameters or {}) if paths else ():
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
    case.validate_response(response, checks=_checks_for(case.path))


async def exercise(case: Case, client: AsyncClient, known: Known) -> None:
    known.swap_ids(case)
    check(case, await send(case, client, known.headers))


def run_workflows(
    schema: schemathesis.BaseSchema,
    client: AsyncClient,
    known: Known,
    connection: AsyncConnection,
    redis: Any,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Sequences of calls where one answer's ids feed the next request (the document's
    links), as ``known``'s caller. Called from a plain test: each call runs on the loop the
    client and the test's transaction live on, which is idle while that test runs. Each
    sequence starts from the same data (a savepoint rolled back, Redis emptied), so that
    Hypothesis can replay and shrink it."""
    run = loop.run_until_complete

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.savepoint = run(connection.begin_nested())
            # Each sequence swaps the same ids, so that Hypothesis can replay it.
            known.examples = itertools.count()

        def teardown(self) -> None:
            run(self.savepoint.rollback())
            run(redis.flushdb())

        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            known.swap_ids(case, paths=False)
            response = run(send(case, client, known.headers))
            return schemathesis.Response.from_any(response)

        def validate_response(
            self, response: schemathesis.Response, case: Case, *args: Any, **kwargs: Any
        ) -> None:
            check(case, response)

    Workflows.run(
        settings=hypothesis_settings(
            max_examples=WORKFLOWS,
            stateful_step_count=WORKFLOW_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


@dataclass
class Known:
    ids: dict[str, str]
    headers: dict[str, str]
    examples: Iterator[int] = field(default_factory=itertools.count)

    def swap_ids(self, case: Case, *, paths: bool = True) -> None:
        """Every other example (the order is deterministic) uses existing ids; in its path
        too unless ``paths`` is false (a workflow's path takes the ids its links give)."""
        if next(self.examples) % 2 == 0:
            _swap_ids(case, self.ids, paths=paths)


_DOCUMENTED = schemathesis.openapi.from_path(DOCUMENT)


def assert_documented(response: Response, method: str, path: str) -> None:
    """``response`` (to ``method`` ``path``, the path as the document names it) conforms to
    the committed document: status code, media type, headers and body; and it is no 5xx
    (but a readiness route's 503)."""
    names = re.findall(r"{(\w+)}", path)
    case = _DOCUMENTED[path][method.upper()].Case(path_parameters=dict.fromkeys(names, "x"))
    case.validate_response(response, checks=_checks_for(path))
