"""Open311 against real HTTP servers on loopback: a published client library (``georeport``
from PyPI, unchanged) reading the running app in JSON and XML, and ``media_url`` fetched from
a server only when its address is allowed."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import pytest
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

from service import outbound
from service.config import Settings
from service.notifications.webhooks import targets
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
        # What the remote server answered is not the client's to learn (a status, a header).
        assert "404" not in errors_of(missing)[0]["description"]


def _counting_server(hits: list[str], release: asyncio.Event | None = None) -> Starlette:
    png = _png()
    answer = release or asyncio.Event()

    async def photo(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(png, media_type="image/png")

    async def never(request: Request) -> Response:
        hits.append(request.url.path)
        await answer.wait()  # a server that does not answer (until the test is done)
        return Response(b"")

    return Starlette(routes=[Route("/photo{n}.png", photo), Route("/never", never)])


async def test_media_urls_are_counted_and_quota_checked_before_anything_is_fetched(
    app: Any, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    key = await api_key(session, await make_user(session, settings), "open311:write")
    hits: list[str] = []
    app.state.settings = settings.model_copy(
        update={"media_fetch_allowed_networks": "127.0.0.0/8", "api_key_report_quota_per_day": 1}
    )
    async with serving(_counting_server(hits)) as base:
        six = [f"{base}/photo{n}.png" for n in range(6)]
        for fmt in ("json", "xml"):
            refused = await client.post(
                f"{BASE}/requests.{fmt}", data={**pothole_form(key), "media_url[]": six}
            )
            assert refused.status_code == 400
            assert "At most 5 photos" in errors_of(refused)[0]["description"]
        # Files and URLs count together.
        files = [("media", (f"p{n}.png", _png(), "image/png")) for n in range(3)]
        mixed = await client.post(
            f"{BASE}/requests.json",
            data={**pothole_form(key), "media_url[]": six[:3]},
            files=files,
        )
        assert mixed.status_code == 400
        assert hits == []

        filed = await client.post(
            f"{BASE}/requests.json", data={**pothole_form(key), "media_url[]": six[:2]}
        )
        assert filed.status_code == 201, filed.text
        assert len(hits) == 2
        # The key's daily quota is spent: refused before its URLs are fetched.
        over = await client.post(
            f"{BASE}/requests.json", data={**pothole_form(key), "media_url": six[0]}
        )
        assert over.status_code == 429
        assert len(hits) == 2


async def test_media_urls_share_one_budget_and_ignore_proxies_from_the_environment(
    app: Any,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy httpx would use if it read the environment: nothing listens there.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    key = await api_key(session, await make_user(session, settings), "open311:write")
    hits: list[str] = []
    release = asyncio.Event()
    allowed = settings.model_copy(update={"media_fetch_allowed_networks": "127.0.0.0/8"})
    async with serving(_counting_server(hits, release)) as base:
        app.state.settings = allowed
        direct = await client.post(
            f"{BASE}/requests.json", data=pothole_form(key, media_url=f"{base}/photo1.png")
        )
        assert direct.status_code == 201, direct.text

        one_photo = len(_png())
        app.state.settings = allowed.model_copy(
            update={"media_fetch_max_bytes": one_photo + one_photo // 2}
        )
        two = [f"{base}/photo1.png", f"{base}/photo2.png"]
        too_big = await client.post(
            f"{BASE}/requests.json", data={**pothole_form(key), "media_url[]": two}
        )
        assert too_big.status_code == 400
        assert "together" in errors_of(too_big)[0]["description"]

        app.state.settings = allowed.model_copy(update={"media_fetch_timeout_seconds": 0.3})
        slow = await client.post(
            f"{BASE}/requests.json",
            data={**pothole_form(key), "media_url[]": [f"{base}/photo1.png", f"{base}/never"]},
        )
        assert slow.status_code == 400
        assert "longer than 0.3 s together" in errors_of(slow)[0]["description"]
        release.set()


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "fec0::1",  # site-local
        "fc00::1",
        "fe80::1",
        "::1",
        "100.64.0.1",
        "169.254.169.254",
    ],
)
async def test_the_address_guard_of_media_and_webhooks(
    address: str, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    assert outbound.refusal(ipaddress.ip_address(address)) is not None
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(targets.RefusedTarget):
        await targets.resolve(f"https://{host}/hook", allow_private=False, time_limit=2)
    key = await api_key(session, await make_user(session, settings), "open311:write")
    refused = await client.post(
        f"{BASE}/requests.json", data=pothole_form(key, media_url=f"http://{host}/photo.png")
    )
    assert refused.status_code == 400
    assert "private or reserved" in errors_of(refused)[0]["description"]


def test_public_addresses_pass_the_guard() -> None:
    for address in (
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
        "64:ff9b::5db8:d70e",
    ):
        assert outbound.refusal(ipaddress.ip_address(address)) is None, address
