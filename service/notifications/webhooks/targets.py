"""Where a webhook may be sent: the guard against server-side request forgery.

An admin account (or whoever took it over) must not be able to make the worker send
requests into the network it runs in: the metadata service at 169.254.169.254, the
database, Redis, an intranet. So a webhook URL is refused when its host resolves to any
address that is not public (``service.outbound``, the guard Open311's ``media_url`` uses
too: private, loopback, link-local, multicast, reserved, unspecified, site-local, and IPv6
that carries such an IPv4 address) unless ``MEIELINN_WEBHOOK_ALLOW_PRIVATE`` says otherwise.

The check runs when the URL is saved and again at every delivery, because DNS can change
in between. At delivery the host is resolved once and the request is sent to that very
address (:meth:`Target.pinned_url`, with the ``Host`` header and TLS server name of the
original host), so a second lookup cannot swap in another address after the check.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from service.outbound import IPAddress, parse_address, refusal

__all__ = ["RefusedTarget", "Target", "parse", "refusal", "resolve"]

DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedTarget(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the address its host resolved to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit(parts._replace(netloc=f"{literal}:{self.port}"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials in it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise RefusedTarget("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise RefusedTarget("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("credentials do not belong in the URL; the signature authenticates")
    return scheme, parts.hostname, port or DEFAULT_PORTS[scheme]


async def resolve(url: str, *, allow_private: bool, time_limit: float) -> Target:
    """Check ``url`` and resolve its host once; :class:`RefusedTarget` when it may not be
    used (every address the host resolves to must be public, unless ``allow_private``)."""
    scheme, host, port = parse(url)
    try:
        async with asyncio.timeout(time_limit):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
    except (OSError, TimeoutError) as exc:
        raise RefusedTarget(f"the host {host} does not resolve ({exc})") from exc
    addresses = [parse_address(str(info[4][0])) for info in infos]
    if not addresses:
        raise RefusedTarget(f"the host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise RefusedTarget(f"{host} resolves to {why}")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
