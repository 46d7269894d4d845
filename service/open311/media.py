"""Fetching an Open311 request's ``media_url`` without letting it reach inside the city's
network, hold the database, or fill the memory.

* **Counted first.** A request carries at most ``MEIELINN_PHOTOS_PER_REPORT`` photos, files
  and URLs together (400 beyond), and its quota is checked, before anything is fetched
  (:func:`check_count`, :func:`check_quota`).
* **Outside any transaction.** The router commits what the request did so far (the API key's
  last use) before fetching, so no pooled connection waits on a remote server; filing then
  runs in a new transaction, which takes the quota's lock again and counts again.
* **One budget per request.** All URLs together get ``MEIELINN_MEDIA_FETCH_TIMEOUT_SECONDS``
  and ``MEIELINN_MEDIA_FETCH_MAX_BYTES`` (each one also the photo size limit); bodies are
  streamed to temporary files, deleted when the request is done.
* **The address guard of webhooks** (``service.outbound``): every address the host resolves
  to must be public (IPv6 carrying a private IPv4 address and site-local ``fec0::/10``
  included) unless the operator lists its network in
  ``MEIELINN_MEDIA_FETCH_ALLOWED_NETWORKS``. The connection goes to the checked address,
  with the host name kept for ``Host`` and TLS; redirects are followed at most three times,
  each checked again; proxies from the environment are not used.
* **Errors say what is wrong with the URL, not what the remote server said**: its status,
  headers or body are none of the client's business (the URL may point at a server the
  client could not reach itself).

What arrives then goes through the photo pipeline like an upload.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.config import Settings
from service.errors import InvalidInput, PayloadTooLarge
from service.open311.formats import Open311Error
from service.outbound import parse_address, refusal
from service.reports import filing

MAX_REDIRECTS = 3
Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


class MediaRefused(InvalidInput):
    slug, title = "media-url-refused", "The media_url cannot be fetched"


@dataclass(frozen=True)
class FetchedFile:
    """One fetched body on disk, and the type its server declared."""

    path: Path
    content_type: str | None

    async def read(self) -> bytes:
        return await anyio.to_thread.run_sync(self.path.read_bytes)


def check_count(files: int, urls: int, settings: Settings) -> None:
    """400 when a request carries more photos than a report may."""
    limit = settings.photos_per_report
    if files + urls > limit:
        raise Open311Error(
            f"At most {limit} photos per request (media and media_url together); "
            f"{files + urls} were sent."
        )


async def check_quota(
    session: AsyncSession, settings: Settings, actor: Actor, on_behalf: bool, now: datetime
) -> None:
    """429 when the filing would be over its daily quota, before anything is fetched for it
    (the key's own quota when it files for someone by ``email``, else its owner's)."""
    if on_behalf:
        limit = settings.api_key_report_quota_per_day
        await filing.take_quota(session, limit, now, api_key_id=actor.api_key_id)
    else:
        limit = settings.report_quota_per_day
        await filing.take_quota(session, limit, now, reporter_id=actor.user_id)


def allowed_networks(setting: str) -> Networks:
    return [ipaddress.ip_network(part.strip()) for part in setting.split(",") if part.strip()]


async def _resolve(host: str, port: int, networks: Networks) -> str:
    """The first address of ``host``; refused when any of its addresses is not allowed."""
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise MediaRefused(f"media_url: the host {host} is not known.", field="media_url") from None
    addresses = [parse_address(str(info[4][0])) for info in found]
    if not addresses:
        raise MediaRefused(f"media_url: the host {host} is not known.", field="media_url")
    for address in addresses:
        if any(address in network for network in networks):
            continue
        why = refusal(address)
        if why is not None:
            raise MediaRefused(
                f"media_url points at a private or reserved address ({why}); only public "
                "addresses are fetched.",
                field="media_url",
            )
    return str(addresses[0])


@dataclass
class _Budget:
    bytes_left: int
    total: int

    def spend(self, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise PayloadTooLarge(
                f"The media at media_url are larger than {self.total} bytes together.",
                field="media_url",
            )


@asynccontextmanager
async def fetched_media(urls: list[str], settings: Settings) -> AsyncIterator[list[FetchedFile]]:
    """Fetch every URL within the request's budget into temporary files, deleted on exit."""
    directory = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, None, "meielinn-media-"))
    try:
        yield await _fetch_all(urls, settings, directory)
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, directory, True)


async def _fetch_all(urls: list[str], settings: Settings, directory: Path) -> list[FetchedFile]:
    networks = allowed_networks(settings.media_fetch_allowed_networks)
    budget = _Budget(settings.media_fetch_max_bytes, settings.media_fetch_max_bytes)
    time_limit = settings.media_fetch_timeout_seconds
    files: list[FetchedFile] = []
    try:
        with anyio.fail_after(time_limit):
            async with httpx.AsyncClient(
                timeout=time_limit, follow_redirects=False, trust_env=False
            ) as client:
                for index, url in enumerate(urls):
                    target = directory / f"{index}.media"
                    files.append(
                        await _fetch(
                            client, url, target, settings.photo_max_bytes, budget, networks
                        )
                    )
    except TimeoutError:
        raise MediaRefused(
            f"media_url: the media took longer than {time_limit:g} s together to fetch.",
            field="media_url",
        ) from None
    except (httpx.HTTPError, ValueError, OSError):
        raise MediaRefused("media_url could not be fetched.", field="media_url") from None
    return files


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    target: Path,
    max_bytes: int,
    budget: _Budget,
    networks: Networks,
) -> FetchedFile:
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
                    "media_url did not answer with the media (the server refused or does not "
                    "have it).",
                    field="media_url",
                )
            size = 0
            async with await anyio.open_file(target, "wb") as out:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"The media at media_url is larger than {max_bytes} bytes.",
                            field="media_url",
                        )
                    budget.spend(len(chunk))
                    await out.write(chunk)
            return FetchedFile(target, response.headers.get("content-type"))
        finally:
            await response.aclose()
    raise MediaRefused("media_url redirects too often.", field="media_url")
