"""Fetching an Open311 ``media_url`` without letting it reach inside the city's network.

A client's URL is fetched only when every address its host resolves to is public (not
loopback, private, link-local, shared, reserved or multicast: no cloud metadata service, no
database, no admin page), unless the operator lists a network in
``MEIELINN_MEDIA_FETCH_ALLOWED_NETWORKS``. The connection goes to the address that was
checked (so a second DNS answer cannot swap it), with the host name kept for ``Host`` and
TLS. Redirects are followed at most three times, each one checked again; the body is capped
at the photo size limit and the whole fetch at ``MEIELINN_MEDIA_FETCH_TIMEOUT_SECONDS``.
What arrives then goes through the photo pipeline like an upload.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from service.errors import InvalidInput, PayloadTooLarge

MAX_REDIRECTS = 3


class MediaRefused(InvalidInput):
    slug, title = "media-url-refused", "The media_url cannot be fetched"


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str | None


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip()) for part in setting.split(",") if part.strip()]


def _allowed(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in networks):
        return True
    return ip.is_global and not ip.is_multicast


async def _resolve(
    host: str, port: int, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str:
    """The first address of ``host``; refused when any of its addresses is not allowed."""
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise MediaRefused(f"media_url: the host {host} is not known.", field="media_url") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses or not all(_allowed(a, networks) for a in addresses):
        raise MediaRefused(
            "media_url points at a private or reserved address; only public addresses are fetched.",
            field="media_url",
        )
    return addresses[0]


async def fetch_media(url: str, *, max_bytes: int, time_limit: float, allowed: str = "") -> Fetched:
    """The body and declared type of the image at ``url`` (http or https only)."""
    try:
        with anyio.fail_after(time_limit):
            return await _fetch(url, max_bytes, time_limit, allowed_networks(allowed))
    except TimeoutError:
        raise MediaRefused("media_url took too long to answer.", field="media_url") from None
    except (httpx.HTTPError, ValueError):
        raise MediaRefused("media_url could not be fetched.", field="media_url") from None


async def _fetch(
    url: str,
    max_bytes: int,
    time_limit: float,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> Fetched:
    async with httpx.AsyncClient(timeout=time_limit, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise MediaRefused("media_url must be an http or https URL.", field="media_url")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = await _resolve(parts.hostname, port, networks)
            host = f"[{address}]" if ":" in address else address
            pinned = parts._replace(netloc=f"{host}:{port}").geturl()
            request = client.build_request(
                "GET",
                pinned,
                headers={"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "image/*"},
                extensions={"sni_hostname": parts.hostname},
            )
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise MediaRefused(
                        f"media_url answered {response.status_code}.", field="media_url"
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise PayloadTooLarge(
                            f"The media at media_url is larger than {max_bytes} bytes.",
                            field="media_url",
                        )
                return Fetched(bytes(body), response.headers.get("content-type"))
            finally:
                await response.aclose()
    raise MediaRefused("media_url redirects too often.", field="media_url")
