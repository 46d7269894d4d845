"""Open311 against real HTTP servers on loopback: a published client library (``georeport``
from PyPI, unchanged) reading the running app in JSON and XML, and ``media_url`` fetched from
a server only when its address is allowed."""

from __future__ import annotations

import asyncio
import io
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import uvicorn
from georeport import GeoReport
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from service.config import Settings
from service.reports.models import Report, ReportPhoto
from tests.factories import make_user
from tests.test_open311 import BASE, api_key, errors_of, pothole_form, public_report


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a loopback port of this process; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(10):
            # uvicorn says it has started only through this flag.
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with anyio.fail_after(10):
            await task


async def test_a_published_client_reads_services_and_requests_in_json_and_xml(
    app: Any, session: AsyncSession, settings: Settings
) -> None:
    report = await public_report(session, settings, description="Auk & «яма» <tee>")
    async with serving(app) as base:
        for fmt in ("json", "xml"):
            client = GeoReport(f"{base}/open311/v2", jurisdiction="tartu.ee", output_format=fmt)
            services = await anyio.to_thread.run_sync(client.get_service_list)
            codes = {service["service_code"] for service in services}
            assert {"pothole", "street-dirty"} <= codes
            pothole = next(s for s in services if s["service_code"] == "pothole")
            assert pothole["type"] == "batch"
            assert str(pothole["metadata"]).lower() == "true"

            definition = await anyio.to_thread.run_sync(client.get_service_definition, "pothole")
            attributes = definition["attributes"]
            # xmltodict gives the list of one attribute as its element.
            size = attributes[0] if fmt == "json" else attributes["attribute"]
            assert size["code"] == "size"
            assert size["datatype"] == "singlevaluelist"

            requests = await anyio.to_thread.run_sync(client.get_service_requests)
            requests = requests if isinstance(requests, list) else [requests]
            mine = next(r for r in requests if r["service_request_id"] == report.tracking_code)
            assert mine["status"] == "open"
            assert mine["description"] == "Auk & «яма» <tee>"

            one = await anyio.to_thread.run_sync(client.get_service_request, report.tracking_code)
            assert one["service_request_id"] == report.tracking_code
            assert one["expected_datetime"]

            filtered = await anyio.to_thread.run_sync(
                partial(
                    client.get_service_requests,
                    service_request_id=report.tracking_code,
                    status="open",
                )
            )
            filtered = filtered if isinstance(filtered, list) else [filtered]
            assert [r["service_request_id"] for r in filtered] == [report.tracking_code]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _photo_server() -> Starlette:
    png = _png()

    async def photo(request: Request) -> Response:
        return Response(png, media_type="image/png")

    async def moved(request: Request) -> Response:
        return RedirectResponse("/photo.png")

    async def inward(request: Request) -> Response:
        return RedirectResponse("http://10.0.0.1/photo.png")

    async def text(request: Request) -> Response:
        return Response("not a photo", media_type="image/png")

    return Starlette(
        routes=[
            Route("/photo.png", photo),
            Route("/moved", moved),
            Route("/inward", inward),
            Route("/text", text),
        ]
    )


async def test_media_url_is_fetched_through_the_guard_and_the_photo_pipeline(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await api_key(session, await make_user(session, settings), "open311:write")
    async with serving(_photo_server()) as base:
        # Loopback is refused unless the operator allows it.
        refused = await client.post(
            f"{BASE}/requests.json", data=pothole_form(key, media_url=f"{base}/photo.png")
        )
        assert refused.status_code == 400
        assert "private" in errors_of(refused)[0]["description"]

        app.state.settings = settings.model_copy(
            update={"media_fetch_allowed_networks": "127.0.0.0/8"}
        )
        filed = await client.post(
            f"{BASE}/requests.json",
            data={
                **pothole_form(key),
                "media_url[]": [f"{base}/photo.png", f"{base}/moved"],
            },
        )
        assert filed.status_code == 201, filed.text
        report = await session.get(Report, uuid.UUID(filed.json()[0]["token"]))
        assert report is not None
        assert report.photo_count == 2
        photos = (
            (await session.execute(select(ReportPhoto).where(ReportPhoto.report_id == report.id)))
            .scalars()
            .all()
        )
        assert {photo.content_type for photo in photos} == {"image/jpeg"}  # re-encoded

        # A redirect is checked again: one into a private network is refused unconnected.
        inward = await client.post(
            f"{BASE}/requests.json", data=pothole_form(key, media_url=f"{base}/inward")
        )
        assert inward.status_code == 400
        assert "private" in errors_of(inward)[0]["description"]
        # What arrives must be an image, as an upload must.
        fake = await client.post(
            f"{BASE}/requests.xml", data=pothole_form(key, media_url=f"{base}/text")
        )
        assert fake.status_code == 400
        missing = await client.post(
            f"{BASE}/requests.json", data=pothole_form(key, media_url=f"{base}/nothing")
        )
        assert missing.status_code == 400
        assert "404" in errors_of(missing)[0]["description"]
