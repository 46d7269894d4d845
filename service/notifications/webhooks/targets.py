"""Where a webhook may be sent: the guard against server-side request forgery.

An admin account (or whoever took it over) must not be able to make the worker send
requests into the network it runs in: the metadata service at 169.254.169.254, the
database, Redis, an intranet. So a webhook URL is refused when its host resolves to any
address that is not public — private, loopback, link-local, multicast, reserved,
unspecified — unless ``MEIELINN_WEBHOOK_ALLOW_PRIVATE`` says otherwise.

The check runs when the URL is saved and again at every delivery, because DNS can change
in between. At delivery the host is resolved once and the request is sent to that very
address (:meth:`Target.pinned_url`, with the ``Host`` header and TLS server name of the
original host), so a second lookup cannot swap in another address after the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Checked in this order; the first that holds names the refusal.
NON_PUBLIC = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
)


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


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 carried in IPv6 (mapped, 6to4, NAT64) reaches that IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            why = refusal(embedded)
            return f"{address} embeds {why}" if why else None
    for attribute, label in NON_PUBLIC:
        if getattr(address, attribute):
            return f"{address} is {label} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


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
    # A link-local IPv6 address comes with its zone (fe80::1%eth0): the zone is no address.
    addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if not addresses:
        raise RefusedTarget(f"the host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise RefusedTarget(f"{host} resolves to {why}")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
