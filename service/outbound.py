"""Where the server may send a request a user aimed: the guard against server-side request
forgery, shared by webhooks (``notifications.webhooks.targets``) and Open311's ``media_url``
(``open311.media``).

An address is public unless it is unspecified, loopback, link-local (the cloud metadata
service at 169.254.169.254), multicast, private, reserved, IPv6 site-local (``fec0::/10``,
deprecated but still routed by some networks) or otherwise not global (shared address space,
documentation ranges). IPv6 addresses that carry an IPv4 address reach that address, so they
are judged by it: IPv4-mapped (``::ffff:10.0.0.1``), IPv4-compatible (``::10.0.0.1``), 6to4
(``2002:0a00:0001::``) and NAT64 (``64:ff9b::10.0.0.1``). Callers resolve a host once, check
every address it resolves to, and connect to the checked address (so a second DNS answer
cannot swap it), without proxies from the environment.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Checked in this order; the first that holds names the refusal.
NON_PUBLIC = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: mapped, 6to4 or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a request may not go to ``address``, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            why = refusal(embedded)
            return f"{address} embeds {why}" if why else None
        if address in IPV4_COMPATIBLE and int(address) > 1:
            # Deprecated, never public (reserved below); named by what it would reach.
            why = refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            if why:
                return f"{address} embeds {why}"
        if address.is_site_local:
            return f"{address} is a site-local address"
    for attribute, label in NON_PUBLIC:
        if getattr(address, attribute):
            return f"{address} is {label} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def parse_address(text: str) -> IPAddress:
    """An address as a resolver gives it (a link-local IPv6 address comes with its zone,
    ``fe80::1%eth0``: the zone is no address)."""
    return ipaddress.ip_address(text.partition("%")[0])
