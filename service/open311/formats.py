"""The two wire formats of GeoReport v2 and its error list.

One payload (plain dicts and lists, as the JSON answer is) is rendered either as JSON or,
by ElementTree, as the spec's XML: the root element names the collection
(``<services>``, ``<service_requests>``, ``<service_definition>`` …), each item of a list is
an element named by the singular of its list (``<service>``, ``<request>``, ``<attribute>``,
``<value>``, ``<error>``, ``<request_update>`` …), ``null`` is an empty element, booleans are
``true``/``false``. Characters XML 1.0 cannot carry (most C0 controls) are dropped, so a
stray control character in a description never makes the document unreadable.

Errors under ``/open311`` are the spec's list of ``{code, description}`` in the requested
format, never problem+json: 403 for a missing or bad ``api_key`` (also where the native API
says 401), 404 for an unknown service, request, token or format, 429 (with ``Retry-After``)
for rate limits and quotas, and 400 for everything else a client sent wrong (where the
native API answers 409, 413, 415 or 422).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.conflicts import retry_on_primary
from service.errors import AppError

log = logging.getLogger("meielinn.open311")


class Format(StrEnum):
    json = "json"
    xml = "xml"


MEDIA_TYPES = {
    Format.json: "application/json; charset=utf-8",
    Format.xml: "text/xml; charset=utf-8",
}
# The element of one item of each list; anything else loses its plural "s".
SINGULAR = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "media_urls": "media_url",
}
# XML 1.0 allows tab, newline and carriage return of the C0 controls, and no surrogates or
# U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def parse_format(raw: str) -> Format:
    """The format a path's suffix names; 404 for any other suffix."""
    try:
        return Format(raw)
    except ValueError:
        raise Open311NotFound(f"Unknown format .{raw}: use .json or .xml.") from None


def w3c(instant: datetime | None, zone: Any) -> str | None:
    """A W3C date-time in the city's zone, with its offset and whole seconds
    (``2026-11-23T10:15:30+02:00``)."""
    if instant is None:
        return None
    return instant.astimezone(zone).replace(microsecond=0).isoformat()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, name: str, value: Any) -> None:
    """Append ``value`` to ``element`` as an element called ``name``."""
    child = ElementTree.SubElement(element, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(child, key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _fill(child, SINGULAR.get(name, name.removesuffix("s")), item)
    elif value is not None:
        child.text = _text(value)


def to_xml(root: str, payload: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """The XML document of ``payload`` under ``<root>``: a list becomes one element per item
    (named by :data:`SINGULAR`), a mapping one element per key."""
    element = ElementTree.Element(root)
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            _fill(element, key, value)
    else:
        for item in payload:
            _fill(element, SINGULAR.get(root, root.removesuffix("s")), item)
    body: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def render(
    fmt: Format,
    root: str,
    payload: Mapping[str, Any] | Sequence[Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``payload`` as a response in ``fmt`` (``root`` names the XML root element)."""
    if fmt is Format.json:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        body = to_xml(root, payload)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPES[fmt], headers=headers)


# --- errors -------------------------------------------------------------------------------


class Open311Error(AppError):
    """An error with the spec's own code and descriptions (several may be listed)."""

    status, slug, title = 400, "open311-bad-request", "Bad request"

    def __init__(self, *descriptions: str, **extensions: Any) -> None:
        super().__init__(descriptions[0] if descriptions else None, **extensions)
        self.descriptions = list(descriptions) or [self.title]


class Open311NotFound(Open311Error):
    status, slug, title = 404, "open311-not-found", "Not found"


def _wire_status(status: int) -> int:
    if status in (401, 403):
        return 403
    if status in (404, 429) or status >= 500:
        return status
    return 400


def _descriptions(exc: AppError) -> list[str]:
    if isinstance(exc, Open311Error):
        return exc.descriptions
    problems = exc.extensions.get("attribute_errors")
    if problems:
        return [f"attribute[{p['attribute']}]: {p['problem']}" for p in problems]
    field = exc.extensions.get("field")
    return [f"{field}: {exc.detail}" if field else exc.detail]


def error_response(
    fmt: Format, status: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None
) -> Response:
    """The spec's ``errors`` list: one ``{code, description}`` per problem."""
    wire = _wire_status(status)
    errors = [{"code": wire, "description": text} for text in descriptions]
    return render(fmt, "errors", errors, status_code=wire, headers=headers)


def requested_format(request: Request) -> Format:
    """The format the path asks for; XML (the spec's required format) when it names none."""
    raw = request.path_params.get("fmt") or request.url.path.rsplit(".", 1)[-1]
    return Format(raw) if raw in ("json", "xml") else Format.xml


def _validation_descriptions(exc: RequestValidationError) -> list[str]:
    found = []
    for error in exc.errors():
        name = str(error.get("loc", ("", "parameter"))[-1])
        found.append(f"{name}: {error.get('msg', 'invalid')}")
    return found or ["The request is not valid."]


class Open311Route(APIRoute):
    """A route whose errors are the spec's error list in the requested format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                fmt = requested_format(request)
                headers = {k: v for k, v in exc.headers.items() if k != "WWW-Authenticate"}
                return error_response(fmt, exc.status, _descriptions(exc), headers)
            except RequestValidationError as exc:
                return error_response(requested_format(request), 400, _validation_descriptions(exc))
            except StarletteHTTPException as exc:  # e.g. a multipart body without a boundary
                return error_response(requested_format(request), exc.status_code, [str(exc.detail)])
            except Exception as exc:
                if isinstance(exc, DBAPIError) and retry_on_primary(request.scope):
                    # A replica failed under the read: this answer is replaced by a second
                    # run on the primary (service.replicas).
                    return error_response(requested_format(request), 503, ["Try again."])
                log.exception("open311 request failed", extra={"path": request.url.path})
                return error_response(
                    requested_format(request),
                    500,
                    ["The server could not complete the request; quote X-Request-ID."],
                )

        return route
