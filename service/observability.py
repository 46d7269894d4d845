"""Structured JSON logs, request ids, Prometheus metrics and the request body limit.

The middleware is plain ASGI (no ``BaseHTTPMiddleware``) so that it adds no task per request
and sees streamed bodies as they arrive.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TextIO

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, problem_response
from service.log_privacy import PrivateJsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

REQUEST_LATENCY = Histogram(
    "meielinn_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS_TOTAL = Counter(
    "meielinn_http_requests_total", "HTTP requests served.", ["method", "route", "status"]
)
SLA_LAG = Histogram(
    "meielinn_sla_timer_lag_seconds",
    "Seconds from an SLA timer's time (due, reminder, escalation) to when it fired.",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 300),
)
OUTBOX_BACKLOG = Gauge(
    "meielinn_outbox_backlog", "Outbox jobs due and not done, as the last sweep saw them."
)
OVERDUE_ROUNDS = Gauge("meielinn_overdue_rounds", "Open rounds past their due time.")
WORKER_BEAT_AGE = Gauge(
    "meielinn_worker_heartbeat_age_seconds", "Seconds since the freshest worker heartbeat."
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "meielinn_outbox_oldest_due_seconds", "How late the oldest due outbox job is, in seconds."
)
JOB_OUTCOMES = Counter("meielinn_job_outcomes_total", "Worker job outcomes.", ["job", "outcome"])

access_log = logging.getLogger("meielinn.access")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def log_handler(stream: TextIO) -> logging.Handler:
    """JSON lines on ``stream``, each with the current request id (if any); database errors
    are described without the values they quote (``service.log_privacy``)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        PrivateJsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter())
    return handler


def configure_logging(level: str = "INFO") -> None:
    """JSON logs on stderr (:func:`log_handler`)."""
    handler = log_handler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours, in another format.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error", "arq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("arq.worker").filters[:] = [_RoutineJobFilter()]
    # The PDF library's font subsetting reports every table it writes: not for this log.
    logging.getLogger("fontTools").setLevel(max(logging.WARNING, root.level))


class _RoutineJobFilter(logging.Filter):
    """The worker's periodic housekeeping (the relay every second, heartbeats, map recounts)
    is logged at DEBUG, so the log shows the work that matters; failures still show."""

    # Every cron job of workers.main (what they change is in the database and the metrics).
    ROUTINE = (
        "relay_outbox",
        "heartbeat",
        "refresh_map_cells",
        "sweep_",
        "_sweep",
        "close_rated_out",
        "purge_idempotency_records",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        if any(name in message for name in self.ROUTINE):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


# Photo uploads: a report's photos, and Open311 requests carrying a ``media`` file.
_UPLOAD_PATH = re.compile(
    r"^(/v1/reports/[^/]+/photos|/v1/ideas/[^/]+/(photos|documents)|/open311/v2/requests\.[a-z]+)$"
)
# The web app's forms that carry files with the rest of the form: a new report, a new or
# edited idea (several photos or documents in one body).
_FORM_UPLOAD_PATH = re.compile(r"^(/reports/new|/ideas/new|/my/ideas/[^/]+)$")


class RequestContextMiddleware:
    """Request id in and out, access log, latency metrics and the request body limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        upload_max_bytes: int | None = None,
        form_upload_max_bytes: int | None = None,
        access_log_level: str = "INFO",
        too_large_page: Callable[[Scope, int, str], Response | None] | None = None,
    ) -> None:
        self.app = app
        # The web edge answers a body over the limit on its paths as a page (scope, status,
        # request id → a response, or None for the problem document).
        self.too_large_page = too_large_page
        self.max_body_bytes = max_body_bytes
        self.access_level = logging.getLevelNamesMapping()[access_log_level.upper()]
        # Photo uploads (POST …/photos) may be larger: the photo plus multipart framing.
        self.upload_max_bytes = max(upload_max_bytes or 0, max_body_bytes)
        self.form_upload_max_bytes = max(form_upload_max_bytes or 0, self.upload_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}
        limit = self.max_body_bytes
        if scope.get("method") == "POST":
            path = scope.get("path", "")
            if _UPLOAD_PATH.match(path):
                limit = self.upload_max_bytes
            elif _FORM_UPLOAD_PATH.match(path):
                limit = self.form_upload_max_bytes

        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            status_holder["status"] = 413
            try:
                await self._too_large(scope, request_id, limit)(scope, receive, send)
            finally:
                self._finish(scope, status_holder["status"], started, self.access_level)
                request_id_var.reset(token)
            return

        received = 0
        cut_off = False
        response_started = False
        content_type = _header(scope, b"content-type") or ""
        nesting = JsonNesting(MAX_JSON_DEPTH) if "json" in content_type.lower() else None
        too_deep = False

        async def limited_receive() -> Message:
            nonlocal received, cut_off, too_deep
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    cut_off = True
                    raise PayloadTooLarge(f"The body is larger than {byte_size(limit)}.")
                if nesting is not None:
                    try:
                        nesting.feed(chunk)
                    except TooDeeplyNested:
                        cut_off = too_deep = True
                        raise
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if cut_off:
                return  # whatever the app answers to a body we cut off is replaced below
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            try:
                await self.app(scope, limited_receive, send_with_id)
            except (PayloadTooLarge, TooDeeplyNested):
                if not cut_off:
                    raise
            if too_deep and not response_started:
                status_holder["status"] = 422
                await problem_response(
                    422,
                    slug="json-too-deep",
                    title="JSON nested too deeply",
                    detail=f"JSON may nest at most {MAX_JSON_DEPTH} levels deep.",
                    max_depth=MAX_JSON_DEPTH,
                    headers={"X-Request-ID": request_id},
                    request_id=request_id,
                )(scope, receive, send)
            elif cut_off and not response_started:
                status_holder["status"] = 413
                await self._too_large(scope, request_id, limit)(scope, receive, send)
        finally:
            self._finish(scope, status_holder["status"], started, self.access_level)
            request_id_var.reset(token)

    def _too_large(self, scope: Scope, request_id: str, limit: int) -> Response:
        if self.too_large_page is not None:
            page = self.too_large_page(scope, 413, request_id)
            if page is not None:
                return page
        return problem_response(
            413,
            slug=PayloadTooLarge.slug,
            title=PayloadTooLarge.title,
            detail=f"The body is larger than {byte_size(limit)}.",
            max_bytes=limit,
            headers={"X-Request-ID": request_id},
            request_id=request_id,
        )

    @staticmethod
    def _finish(scope: Scope, status: int, started: float, level: int) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        REQUEST_LATENCY.labels(scope["method"], template, str(status)).observe(elapsed)
        REQUESTS_TOTAL.labels(scope["method"], template, str(status)).inc()
        access_log.log(
            level,
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": template,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "request_id": request_id_var.get(),
            },
        )


# No document of the API nests deeper than a handful of levels (GeoJSON MultiPolygons: 4
# arrays inside 3 objects); parsing thousands of levels only costs the server time.
MAX_JSON_DEPTH = 32
_JSON_TOKENS = re.compile(rb'[\[\]{}"\\]')


class TooDeeplyNested(Exception):
    pass


class JsonNesting:
    """Counts the nesting of a JSON body as it streams in (brackets outside strings), and
    raises :class:`TooDeeplyNested` past ``max_depth``, before the body is parsed."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, chunk: bytes) -> None:
        for match in _JSON_TOKENS.finditer(chunk):
            token = match.group()
            if self.in_string:
                if self.escaped:
                    # The escaped character is this token only when it directly follows.
                    self.escaped = False
                    if match.start() == self._escape_at + 1:
                        continue
                if token == b"\\":
                    self.escaped = True
                    self._escape_at = match.start()
                elif token == b'"':
                    self.in_string = False
                continue
            if token == b'"':
                self.in_string = True
            elif token in (b"[", b"{"):
                self.depth += 1
                if self.depth > self.max_depth:
                    raise TooDeeplyNested(f"JSON may nest at most {self.max_depth} levels deep.")
            elif token in (b"]", b"}"):
                self.depth -= 1
        self._escape_at = -2 if not self.escaped else self._escape_at - len(chunk)

    _escape_at = -2


def byte_size(count: int) -> str:
    """A size for people: "1048576 bytes (1 MiB)"."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count} bytes ({round(count / size, 2):g} {unit})"
    return f"{count} bytes"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
