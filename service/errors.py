"""Domain errors and their mapping to RFC 9457 problem details (``application/problem+json``).

Services raise subclasses of :class:`AppError`; one set of handlers turns them, request
validation errors, HTTP errors raised by the framework and unexpected exceptions into
problem documents. The ``type`` of each problem is a stable relative URI
(``/problems/<slug>``) that clients may switch on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.conflicts import LOCK_CONFLICT_SQLSTATES, mark_for_retry, retry_on_primary

PROBLEM_MEDIA_TYPE = "application/problem+json"
# OpenAPI ``responses`` entries for endpoints: a problem document, and the usual set of them.
PROBLEM: dict[str, Any] = {"content": {PROBLEM_MEDIA_TYPE: {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    409: PROBLEM,
    422: PROBLEM,
}
log = logging.getLogger("meielinn.errors")


class AppError(Exception):
    """Base of every error a service may raise on purpose."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        keep_changes: bool = False,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = dict(headers or {})
        # True when what the request wrote before failing must stay (an audit record of a
        # failed login, a refresh-token family revoked on reuse): the session commits it.
        self.keep_changes = keep_changes
        self.extensions = extensions


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Bearer realm="meielinn"'}, **extensions
        )


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class InvalidInput(AppError):
    """The request is well-formed but breaks a domain rule (422, with the offending fields)."""

    status, slug, title = 422, "invalid-input", "Invalid input"


class PreconditionFailed(AppError):
    """The object changed since the caller read it (``If-Match`` or a ``version`` field)."""

    status, slug, title = 412, "precondition-failed", "The object has changed"


class PreconditionRequired(AppError):
    status, slug, title = 428, "precondition-required", "Say which version you saw"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int,
        headers: Mapping[str, str] | None = None,
        limit: int | None = None,
        window_seconds: int | None = None,
        **extensions: Any,
    ) -> None:
        retry_after = max(1, retry_after)
        quota_headers = {}
        if limit is not None:
            # The IETF RateLimit fields of an exhausted quota.
            quota_headers = {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry_after),
            }
            if window_seconds is not None:
                quota_headers["RateLimit-Policy"] = f"{limit};w={window_seconds}"
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after), **quota_headers, **(headers or {})},
            retry_after=retry_after,
            **extensions,
        )


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        request_id=_request_id(request),
        **exc.extensions,
    )


def _jsonable_error(error: Mapping[str, Any]) -> dict[str, Any]:
    # Pydantic puts exception objects in ``ctx``; keep only what JSON can carry.
    clean = {"loc": list(error.get("loc", ())), "msg": error.get("msg"), "type": error.get("type")}
    return clean


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422,
        slug="validation-error",
        title="Request validation failed",
        detail="One or more fields are missing or invalid.",
        instance=request.url.path,
        errors=[_jsonable_error(e) for e in exc.errors()],
        request_id=_request_id(request),
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return problem_response(
        exc.status_code,
        slug=slug,
        title=phrase,
        detail=detail,
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
        request_id=_request_id(request),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(
        500,
        slug="internal-error",
        title="Internal server error",
        detail="The server could not complete the request. Quote the request id when reporting.",
        instance=request.url.path,
        # This handler answers from outside the request-id middleware, so set the header here.
        headers={"X-Request-ID": _request_id(request) or ""},
        request_id=_request_id(request),
    )


# PostgreSQL's SQLSTATEs of a database that is slow or busy rather than of a broken request:
# statement_timeout or lock_timeout hit, too many connections, shutting down or starting up.
_BUSY_SQLSTATES = frozenset({"57014", "55P03", "53300", "57P01", "57P02", "57P03"})
# Seconds a client is asked to wait before retrying when the database is busy.
DATABASE_RETRY_AFTER = 2


# A row points at one that does not exist.
FOREIGN_KEY_VIOLATION = "23503"


def sqlstate(exc: DBAPIError) -> str | None:
    """The PostgreSQL SQLSTATE of a database error, when it carries one."""
    original = exc.orig
    # asyncpg's error (SQLAlchemy's adapter keeps it as the cause) carries the SQLSTATE.
    for candidate in (original, getattr(original, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def _database_busy(request: Request, reason: str) -> JSONResponse:
    return problem_response(
        503,
        slug=ServiceUnavailable.slug,
        title=ServiceUnavailable.title,
        detail="The database is busy; try again shortly.",
        instance=request.url.path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        reason=reason,
        request_id=_request_id(request),
    )


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database pool exhausted", extra={"path": request.url.path})
    return _database_busy(request, "database_pool_exhausted")


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if retry_on_primary(request.scope):
        # A replica failed under a public read: run again on the primary (service.replicas).
        log.warning(
            "replica read failed", extra={"path": request.url.path, "sqlstate": sqlstate(exc)}
        )
        return _database_busy(request, "replica_failed")
    if sqlstate(exc) in LOCK_CONFLICT_SQLSTATES:
        # Retried once by RetryOnLockConflict; this answer goes out when the retry fails too.
        log.warning("lock conflict", extra={"path": request.url.path, "sqlstate": sqlstate(exc)})
        mark_for_retry(request.scope)
        return problem_response(
            503,
            slug="lock-conflict",
            title="Conflicting change",
            detail="Another change to the same data was being made at the same moment; "
            "nothing was changed. Try again.",
            instance=request.url.path,
            headers={"Retry-After": "1"},
            reason="lock_conflict",
            request_id=_request_id(request),
        )
    if exc.connection_invalidated or sqlstate(exc) in _BUSY_SQLSTATES:
        log.warning("database busy", extra={"path": request.url.path, "sqlstate": sqlstate(exc)})
        return _database_busy(request, "database_busy")
    return await _unexpected_error(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
