"""The department queue of the staff console.

``/staff/queue`` is ``GET /v1/departments/{id}/queue`` as a page: the same query parameters
(checked by the API route's own declarations), the same service, a bulk action through the
service of ``POST …/queue/bulk``. The report workspace each row opens is
``service.web.pages.staff_workspace``.
"""

import functools
import inspect
import uuid
from collections.abc import Mapping
from typing import Any, get_type_hints
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, ValidationError, create_model
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from service.auth.models import Role
from service.catalog.service import reason_choices
from service.city import service as city
from service.errors import AppError, NotFound
from service.queues import bulk, priorities, queue
from service.queues import router as queue_api
from service.queues.access import require_power
from service.queues.repository import QueueFilters
from service.queues.schemas import (
    BulkAction,
    BulkWorkRequest,
    QueueSort,
)
from service.reports.states import OPEN_STATES, ReportState
from service.web.dependencies import CSRF, PageContext, role_page
from service.web.forms import FormErrors, app_error, field_errors, parse
from service.web.i18n import N_, translate
from service.web.pages import report_words
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# The roles of the department work API (admins act as supervisors everywhere).
WORKERS = (Role.staff, Role.supervisor, Role.admin)
WorkPage = Depends(role_page(*WORKERS))

# --- the queue's filters: the API route's own query parameters ------------------------------

FILTERS = (
    "state", "reason", "district", "priority", "assignee", "overdue", "text", "limit", "cursor"
)  # fmt: skip


def _query_model() -> Any:
    """The filters of ``GET /v1/departments/{id}/queue`` as a model, built from the route's
    own declarations (types, limits, defaults), so a page checks exactly what the API does."""
    hints = get_type_hints(queue_api.department_queue, include_extras=True)
    parameters = inspect.signature(queue_api.department_queue).parameters
    fields: dict[str, Any] = {name: (hints[name], parameters[name].default) for name in FILTERS}
    return create_model("QueueQuery", __config__=ConfigDict(extra="ignore"), **fields)


QueueQuery = _query_model()

# The residents' names of states and outcomes, with the staff's wording where it differs.
STATE_NAMES = report_words.STATE_NAMES | {
    ReportState.awaiting_info: N_("Waiting for the reporter"),
    ReportState.transferred: N_("Being transferred"),
}
QUEUE_STATES = [state for state in ReportState if state in OPEN_STATES]
OUTCOME_NAMES = report_words.OUTCOME_NAMES
# A bulk action's result for one report, by its status.
BULK_RESULTS = {
    0: N_("Failed"),
    200: N_("Done"),
    403: N_("Needs the department's supervisor"),
    404: N_("Not in this queue"),
    409: N_("Its state does not allow this"),
    412: N_("It changed meanwhile"),
    422: N_("Not valid for this report"),
}
BULK_ACTIONS = {
    BulkAction.assign: N_("Assign to"),
    BulkAction.status_note: N_("Post a public status note"),
}


def given_values(params: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The named, non-empty values of a query or form (``state`` may repeat)."""
    found: dict[str, Any] = {}
    for name in names:
        if name == "state" and hasattr(params, "getlist"):
            states = [str(v) for v in params.getlist("state") if str(v).strip()]
            if states:
                found["state"] = states
            continue
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found


async def _my_departments(page: PageContext) -> list[Any]:
    """The departments the person works in by their grants (supervisors: their own; the
    queue then covers the departments below too, as the API's queue does)."""
    actor = page.person
    ids: list[uuid.UUID] = []
    for role in (Role.staff, Role.supervisor):
        for department_id in actor.departments(role):
            if department_id not in ids:
                ids.append(department_id)
    return [await city.get_department(page.session, department_id) for department_id in ids]


def _query_string(params: Mapping[str, Any], **changes: Any) -> str:
    """A bookmarkable query of the queue: the filters in force with ``changes``."""
    pairs: list[tuple[str, str]] = []
    for name in ("department", *FILTERS):
        if name in changes:
            value = changes[name]
            if value is not None:
                pairs.append((name, str(value)))
            continue
        if name == "state" and hasattr(params, "getlist"):
            pairs.extend(("state", str(v)) for v in params.getlist("state") if str(v))
        elif params.get(name):
            pairs.append((name, str(params.get(name))))
    return urlencode(pairs)


def _bulk_results(params: QueryParams) -> list[tuple[str, int]]:
    """``done=<report id>:<status>`` pairs of a bulk action, as the redirect carried them."""
    results = []
    for raw in params.getlist("done")[:100]:
        report_id, _, status = raw.partition(":")
        try:
            results.append((str(uuid.UUID(report_id)), int(status)))
        except ValueError:
            continue
    return results


async def _queue(
    page: PageContext,
    params: QueryParams,
    *,
    bulk_errors: FormErrors | None = None,
    bulk_values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    actor = page.person
    departments = await _my_departments(page)
    chosen = params.get("department")
    department_id: uuid.UUID | None = None
    if chosen:
        try:
            department_id = uuid.UUID(chosen)
        except ValueError:
            raise NotFound("No such department.") from None
    elif departments:
        department_id = departments[0].id
    errors = FormErrors()
    result = None
    colleagues: list[Any] = []
    priority_list: list[Any] = []
    department = None
    filters_given = given_values(params, FILTERS)
    if department_id is not None:
        # 404 for no such department, 403 for one the person does not work in (as the API).
        department = await city.get_department(page.session, department_id)
        try:
            query = parse(QueueQuery, filters_given)
            assignee_id, unassigned = queue.assignee_filter(actor, query.assignee)
            filters = QueueFilters(
                states=query.state,
                reason_id=query.reason,
                district_id=query.district,
                priority_id=query.priority,
                assignee_id=assignee_id,
                unassigned=unassigned,
                overdue=query.overdue,
                text=query.text,
            )
            result = await queue.department_queue(
                page.session,
                actor,
                department_id,
                filters,
                subtree=True,
                sort=QueueSort.due_at,
                now=page.now,
                language=str(page.language),
                limit=min(query.limit, 100),
                cursor=query.cursor,
            )
        except ValidationError as exc:
            errors = field_errors(exc, page.language)
            status_code = 422
        except AppError as exc:
            if exc.status in (403, 404):
                raise
            errors = app_error(exc, page.language, "text")
            status_code = exc.status
        if result is None:
            await require_power(page.session, actor, department_id, hide=False)
        colleagues = await queue.colleagues(page.session, actor, department_id)
        priority_list = await priorities.list_priorities(
            page.session, actor, department_id, include_inactive=False
        )
    reasons = await reason_choices(page.session, str(page.language))
    results = _bulk_results(params)
    codes = (
        {str(item.report.id): item.report.tracking_code for item in result.items} if result else {}
    )
    next_query = (
        _query_string(params, department=department_id, cursor=result.next_cursor)
        if result and result.next_cursor
        else None
    )
    return render(
        page,
        "staff/queue.html",
        status_code=status_code,
        departments=departments,
        department=department,
        result=result,
        errors=errors,
        filters=filters_given,
        states=QUEUE_STATES,
        state_names=STATE_NAMES,
        reasons=reasons,
        state_words={state: translate(page.language, name) for state, name in STATE_NAMES.items()},
        colleagues=colleagues,
        priorities=priority_list,
        bulk_results=results,
        bulk_result_names=BULK_RESULTS,
        bulk_actions=BULK_ACTIONS,
        bulk_errors=bulk_errors or FormErrors(),
        bulk_values=bulk_values or {},
        codes=codes,
        next_query=next_query,
        back=_query_string(params, department=department_id, cursor=None),
        # One link per district and state: the rows share them, so each is built once.
        query_of=functools.cache(
            lambda **changes: _query_string(params, department=department_id, **changes)
        ),
    )


@router.get("/staff/queue")
async def department_queue(request: Request, page: PageContext = WorkPage) -> Response:
    return await _queue(page, request.query_params)


@router.post("/staff/queue/bulk", dependencies=[CSRF])
async def bulk_work(request: Request, page: PageContext = WorkPage) -> Response:
    form = await request.form()
    back = QueryParams(str(form.get("back") or ""))
    try:
        department_id = uuid.UUID(str(form.get("department") or ""))
    except ValueError:
        raise NotFound("No such department.") from None
    values: dict[str, Any] = given_values(form, ("action", "user_id", "text"))
    if values.get("action") != BulkAction.assign:
        values.pop("user_id", None)
    if values.get("action") != BulkAction.status_note:
        values.pop("text", None)
    values["report_ids"] = [str(v) for v in form.getlist("report_ids")]
    try:
        body = parse(BulkWorkRequest, values)
    except ValidationError as exc:
        errors = field_errors(exc, page.language)
        if "" in errors and values.get("action") == BulkAction.assign and "user_id" not in values:
            del errors[""]
            errors["user_id"] = translate(page.language, N_("Choose a colleague."))
        if "" in errors and values.get("action") == BulkAction.status_note and "text" not in values:
            del errors[""]
            errors["text"] = translate(page.language, N_("Fill in this field."))
        if "text" in errors:
            errors["note"] = errors.pop("text")
        if "report_ids" in errors:
            del errors["report_ids"]
            errors[""] = translate(page.language, N_("Choose at least one report."))
        return await _queue(page, back, bulk_errors=errors, bulk_values=values, status_code=422)
    results = await bulk.bulk(page.session, page.person, department_id, body, page.now)
    done = [("done", f"{item.id}:{item.status}") for item in results]
    target = _query_string(back, department=department_id, cursor=None)
    return RedirectResponse(f"/staff/queue?{target}&{urlencode(done)}", status_code=303)
