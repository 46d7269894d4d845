"""The OpenAPI document, completed in one place after FastAPI generated it.

* Every error answer is a problem document (service/errors.py): each ``application/problem+json``
  response gets the :data:`PROBLEM_SCHEMA`, and FastAPI's own 422 (``HTTPValidationError`` as
  ``application/json``, which the API never sends) is replaced by the problem.
* Every operation lists the errors any request may meet, whatever the route declares: 400 for
  a body that cannot be parsed, 413 for one over the size limit, 401 where it reads
  credentials, 403 where its access policy (service/auth/policy.py) asks for a caller, 422
  where it takes parameters or a body.
* ``links`` (:data:`LINKS`) say how the ids an answer returns feed other operations: a report
  filed is fetched, changed, photographed, supported and withdrawn; a webhook, an API key, a
  programme and its sessions, a department and an Open311 request likewise. Clients and
  stateful API tests (tests/test_fuzz_*.py) follow them.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from service.auth.policy import Caller, Policy, route_policy
from service.errors import PROBLEM_MEDIA_TYPE

METHODS = ("get", "put", "post", "patch", "delete")
VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457 problem details). ``type`` is a stable relative URI "
    "clients may switch on; other members carry the problem's particulars.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "errors": {
            "type": "array",
            "description": "The fields that are missing or invalid.",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}

# Links, by the answer they start from: (method, path, status) → name → (method, path, the
# target's parameters as runtime expressions). The path's own parameters come from the request
# (``$request.path.x``) or from the answer's body (``$response.body#/pointer``).
Target = tuple[str, str, dict[str, str]]
REPORT = "/v1/reports/{report_id}"
BY_ID = {"report_id": "$response.body#/id"}
SAME_REPORT = {"report_id": "$request.path.report_id"}
REPORT_NEXT: dict[str, Target] = {
    "GetReport": ("get", REPORT, BY_ID),
    "ChangeReport": ("patch", REPORT, BY_ID),
    "AddPhoto": ("post", REPORT + "/photos", BY_ID),
    "Support": ("put", REPORT + "/support", BY_ID),
    "Subscribe": ("put", REPORT + "/subscription", BY_ID),
    "Timeline": ("get", REPORT + "/timeline", BY_ID),
    "Withdraw": ("post", REPORT + "/withdraw", BY_ID),
}
WEBHOOK = "/v1/admin/webhooks/{webhook_id}"
WEBHOOK_ID = {"webhook_id": "$response.body#/id"}
WEBHOOK_NEXT: dict[str, Target] = {
    "GetWebhook": ("get", WEBHOOK, WEBHOOK_ID),
    "ChangeWebhook": ("patch", WEBHOOK, WEBHOOK_ID),
    "Deliveries": ("get", WEBHOOK + "/deliveries", WEBHOOK_ID),
    "RotateSecret": ("post", WEBHOOK + "/rotate-secret", WEBHOOK_ID),
    "DeleteWebhook": ("delete", WEBHOOK, WEBHOOK_ID),
}
PROGRAMME = "/v1/training/programmes/{programme_id}"
PROGRAMME_ID = {"programme_id": "$response.body#/id"}
PROGRAMME_NEXT: dict[str, Target] = {
    "GetProgramme": ("get", PROGRAMME, PROGRAMME_ID),
    "ChangeProgramme": ("patch", PROGRAMME, PROGRAMME_ID),
    "AddSession": ("post", PROGRAMME + "/sessions", PROGRAMME_ID),
    "Publish": ("post", PROGRAMME + "/publish", PROGRAMME_ID),
    "Enrol": ("post", PROGRAMME + "/enrolments", PROGRAMME_ID),
    "Participants": ("get", PROGRAMME + "/participants", PROGRAMME_ID),
}
SESSION = "/v1/training/sessions/{session_id}"
SESSION_ID = {"session_id": "$response.body#/id"}
DEPARTMENT = "/v1/admin/departments/{department_id}"
DEPARTMENT_ID = {"department_id": "$response.body#/id"}
DEPARTMENT_NEXT: dict[str, Target] = {
    "GetDepartment": ("get", DEPARTMENT, DEPARTMENT_ID),
    "ChangeDepartment": ("patch", DEPARTMENT, DEPARTMENT_ID),
    "Queue": ("get", "/v1/departments/{department_id}/queue", DEPARTMENT_ID),
    "Priorities": ("get", "/v1/departments/{department_id}/priorities", DEPARTMENT_ID),
}
CALENDAR = "/v1/admin/calendars/{calendar_id}"
CALENDAR_ID = {"calendar_id": "$response.body#/id"}
OPEN311_FIRST = {
    "service_request_id": "$response.body#/0/service_request_id",
    "fmt": "$request.path.fmt",
}

LINKS: dict[tuple[str, str, str], dict[str, Target]] = {
    ("post", "/v1/reports", "201"): REPORT_NEXT,
    ("get", REPORT, "200"): {
        name: REPORT_NEXT[name] for name in ("ChangeReport", "AddPhoto", "Support", "Withdraw")
    },
    ("patch", REPORT, "200"): {"GetReport": REPORT_NEXT["GetReport"]},
    ("put", REPORT + "/support", "200"): {
        "Unsupport": ("delete", REPORT + "/support", SAME_REPORT),
        "GetReport": ("get", REPORT, SAME_REPORT),
    },
    ("put", REPORT + "/subscription", "200"): {
        "Unsubscribe": ("delete", REPORT + "/subscription", SAME_REPORT),
    },
    ("post", REPORT + "/withdraw", "200"): {"GetReport": ("get", REPORT, SAME_REPORT)},
    ("post", REPORT + "/photos", "201"): {
        "GetPhoto": (
            "get",
            REPORT + "/photos/{photo_id}",
            {**SAME_REPORT, "photo_id": "$response.body#/id"},
        ),
        "DeletePhoto": (
            "delete",
            REPORT + "/photos/{photo_id}",
            {**SAME_REPORT, "photo_id": "$response.body#/id"},
        ),
    },
    ("post", "/v1/admin/webhooks", "201"): WEBHOOK_NEXT,
    ("patch", WEBHOOK, "200"): {
        name: WEBHOOK_NEXT[name] for name in ("GetWebhook", "RotateSecret", "DeleteWebhook")
    },
    ("post", "/v1/api-keys", "201"): {
        "RevokeKey": ("delete", "/v1/api-keys/{key_id}", {"key_id": "$response.body#/id"}),
    },
    ("post", "/v1/training/programmes", "201"): PROGRAMME_NEXT,
    ("patch", PROGRAMME, "200"): {
        name: PROGRAMME_NEXT[name] for name in ("GetProgramme", "AddSession", "Publish")
    },
    ("post", PROGRAMME + "/publish", "200"): {
        "Enrol": ("post", PROGRAMME + "/enrolments", PROGRAMME_ID),
        "Start": ("post", PROGRAMME + "/start", PROGRAMME_ID),
    },
    ("post", PROGRAMME + "/sessions", "201"): {
        "ChangeSession": ("patch", SESSION, SESSION_ID),
        "Attendance": ("get", SESSION + "/attendance", SESSION_ID),
        "RecordAttendance": ("put", SESSION + "/attendance", SESSION_ID),
        "CheckIn": ("post", SESSION + "/check-in", SESSION_ID),
    },
    ("post", PROGRAMME + "/enrolments", "201"): {
        "Leave": (
            "delete",
            PROGRAMME + "/enrolments/me",
            {"programme_id": "$request.path.programme_id"},
        ),
        "Participants": (
            "get",
            PROGRAMME + "/participants",
            {"programme_id": "$request.path.programme_id"},
        ),
    },
    ("post", "/v1/admin/departments", "201"): DEPARTMENT_NEXT,
    ("patch", DEPARTMENT, "200"): {"GetDepartment": DEPARTMENT_NEXT["GetDepartment"]},
    ("post", "/v1/admin/calendars", "201"): {
        "GetCalendar": ("get", CALENDAR, CALENDAR_ID),
        "ChangeCalendar": ("patch", CALENDAR, CALENDAR_ID),
    },
    ("get", "/open311/v2/requests.{fmt}", "200"): {
        "GetRequest": ("get", "/open311/v2/requests/{service_request_id}.{fmt}", OPEN311_FIRST),
    },
    ("post", "/open311/v2/requests.{fmt}", "200"): {
        "GetToken": (
            "get",
            "/open311/v2/tokens/{token}.{fmt}",
            {"token": "$response.body#/0/token", "fmt": "$request.path.fmt"},
        ),
    },
}


def _problem() -> dict[str, Any]:
    return {"schema": {"$ref": PROBLEM_REF}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: _problem()}}


def _complete_errors(operation: dict[str, Any], path: str, policy: Policy | None) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        content = response.get("content") or {}
        if status == "422" and content.get("application/json", {}).get("schema") == {
            "$ref": VALIDATION_ERROR_REF
        }:
            del content["application/json"]
            content[PROBLEM_MEDIA_TYPE] = {}
            response["content"] = content
        if PROBLEM_MEDIA_TYPE in content and not content[PROBLEM_MEDIA_TYPE].get("schema"):
            content[PROBLEM_MEDIA_TYPE] = _problem()
    # Open311 answers its errors in its own format; its routes declare them themselves.
    if path.startswith("/open311/"):
        return
    implied: dict[str, str] = {}
    if "requestBody" in operation:
        implied["400"] = "The body cannot be parsed"
        implied["413"] = "The body is over the size limit"
    if operation.get("parameters") or "requestBody" in operation:
        implied["422"] = "Validation error"
    # Credentials, when sent, are checked even where a route also serves anonymous callers.
    if operation.get("security"):
        implied["401"] = "Authentication required"
    if policy is not None and policy.caller is not Caller.anyone:
        implied["401"] = "Authentication required"
        implied["403"] = "Forbidden"
    for status, description in implied.items():
        response = responses.setdefault(status, _error(description))
        # A route answering an error in another format (an HTML page) still answers the
        # framework's errors (request validation, the body limit) as problems.
        response.setdefault("content", {}).setdefault(PROBLEM_MEDIA_TYPE, _problem())


def _operation_ids(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _add_links(document: dict[str, Any]) -> None:
    ids = _operation_ids(document)
    for (method, path, status), targets in LINKS.items():
        response = document["paths"][path][method]["responses"][status]
        response["links"] = {
            name: {"operationId": ids[(target_method, target_path)], "parameters": parameters}
            for name, (target_method, target_path, parameters) in targets.items()
        }


def complete(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """``document`` with problems, implied errors and links added (see the module)."""
    document = deepcopy(document)
    policies = {
        (method.lower(), str(context.path)): route_policy(context.dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                _complete_errors(operation, path, policies.get((method, path)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    if VALIDATION_ERROR_REF not in repr(document["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    _add_links(document)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (and to ``make openapi``)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
