"""What the app shows at its edge: API docs that need no internet, and the client address
behind reverse proxies (only trusted ones may name it)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from httpx import ASGITransport, AsyncClient

from service.auth.dependencies import client_ip
from service.config import Settings

ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_docs_load_every_asset_from_the_app(client: AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html
    assert "https://" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [url for url in urls if url.rsplit(".", 1)[-1] in {"js", "css", "png"}]
    assert any(url.endswith(".js") for url in assets), html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    for url in assets:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        expected = ASSET_TYPES["." + url.rsplit(".", 1)[-1]]
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
        assert len(asset.content) > 1000
    # The document the page renders is served locally too.
    spec = re.search(r"""(?:url: |spec-url=)['"]([^'"]+)['"]""", html)
    assert spec is not None
    assert (await client.get(spec.group(1))).json()["info"]["title"] == "meielinn"


@pytest.fixture
def seen_address(app: FastAPI) -> FastAPI:
    """The app with one extra route answering the address the rate limits key on."""

    async def whoami(request: Request) -> dict[str, str | None]:
        return {"ip": client_ip(request)}

    app.add_api_route("/test/whoami", whoami, include_in_schema=False)
    return app


async def _client(app: FastAPI, peer: str) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=(peer, 40000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def from_stranger(seen_address: FastAPI) -> AsyncIterator[AsyncClient]:
    async for client in _client(seen_address, "203.0.113.7"):
        yield client


@pytest.fixture
async def from_proxy(seen_address: FastAPI) -> AsyncIterator[AsyncClient]:
    # MEIELINN_FORWARDED_ALLOW_IPS defaults to 127.0.0.1: a proxy on the same machine.
    async for client in _client(seen_address, "127.0.0.1"):
        yield client


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    from_stranger: AsyncClient,
) -> None:
    response = await from_stranger.get("/test/whoami", headers={"X-Forwarded-For": "198.51.100.1"})
    assert response.json() == {"ip": "203.0.113.7"}


async def test_a_trusted_proxy_names_the_client(from_proxy: AsyncClient) -> None:
    # The proxy appends the peer it saw; anything a client wrote before that is not believed
    # past the first untrusted hop.
    response = await from_proxy.get(
        "/test/whoami", headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.1"}
    )
    assert response.json() == {"ip": "198.51.100.1"}


async def _register(client: AsyncClient, number: int, forwarded_for: str) -> int:
    response = await client.post(
        "/v1/auth/register",
        json={"email": f"edge{number}@example.org", "password": "x" * 12, "display_name": "E"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


async def test_per_address_limit_ignores_forwarded_for_from_an_untrusted_peer(
    seen_address: FastAPI, from_stranger: AsyncClient, settings: Settings
) -> None:
    seen_address.state.settings = settings.model_copy(update={"registrations_per_hour_per_ip": 2})
    # A stranger inventing a new address per request still counts as one address.
    statuses = [await _register(from_stranger, n, f"198.51.100.{n}") for n in range(3)]
    assert statuses[0] < 300
    assert statuses[1] < 300
    assert statuses[2] == 429


async def test_per_address_limit_counts_the_clients_a_trusted_proxy_names(
    seen_address: FastAPI, from_proxy: AsyncClient, settings: Settings
) -> None:
    seen_address.state.settings = settings.model_copy(update={"registrations_per_hour_per_ip": 2})
    statuses = [await _register(from_proxy, n, f"198.51.100.{n}") for n in range(3)]
    assert all(status < 300 for status in statuses), statuses
    # The same client behind the proxy is limited as itself.
    assert await _register(from_proxy, 10, "198.51.100.0") < 300
    assert await _register(from_proxy, 11, "198.51.100.0") == 429
