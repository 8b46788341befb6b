"""The client's address: who sent a request, behind the proxies the operator trusts (contract §9.5,
`COMFORT_TRUSTED_PROXIES`).

Only when the peer of the connection is a trusted proxy is the forwarding header believed: its
entries, read from the right (the one the nearest proxy appended) leftwards, are skipped while they
are trusted proxies themselves; the first that is not is the client. Everything left of it is
what the client (or anyone) wrote, and is never read. `X-Forwarded-For` is read when present (what
nginx and ingress-nginx set), else RFC 7239 `Forwarded` (its `for=`): a trusted proxy must set or
drop `X-Forwarded-For`, so that a client's own copy never reaches the service (deploy/README.md).

Every entry is an IP address (with a port or brackets as the headers write them); an entry that is
not one (`unknown`, an obfuscated `_name`, garbage) ends the walk at the proxy that passed it on,
whose address is then the client's: a misconfigured proxy lumps its clients together rather than
letting one of them choose its address. A request with no peer address (a Unix socket) is
`None`.

`client_address(request)` is the one function every edge that keys on an address calls: the
API-key guessing throttle, the summary's token check and the audit trail's address hash (the
socket side's `realtime.transport.socket_address` may call it with the socket's opening request).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from aiohttp import web
from multidict import MultiMapping

from ..appkeys import CLIENT_ADDRESSES

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Entries read from the right at most: a chain of proxies is short, the header may not be.
MAX_HOPS = 32


def parse_address(entry: str) -> Address | None:
    """An address as `X-Forwarded-For` or a `Forwarded` `for=` writes it, or None: `1.2.3.4`,
    `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`, `"[2001:db8::1]"`. IPv4-mapped IPv6 is read
    as the IPv4 address."""
    text = entry.strip().strip('"').strip()
    if text.startswith("["):
        text, closed, port = text[1:].partition("]")
        if not closed or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddresses:
    """Tells the client's address from a request's peer and headers."""

    def __init__(self, trusted: Iterable[Network]) -> None:
        self.trusted: tuple[Network, ...] = tuple(trusted)

    def is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def of(self, peer: str | None, headers: MultiMapping[str]) -> str | None:
        """The client address of a request whose connection came from `peer`."""
        if peer is None or not self.trusted:
            return peer
        nearest = parse_address(peer)
        if nearest is None or not self.is_trusted(nearest):
            return peer
        for entry in reversed(_chain(headers)[-MAX_HOPS:]):
            address = parse_address(entry)
            if address is None:
                break  # a proxy passed on what is not an address: it is the client
            nearest = address
            if not self.is_trusted(address):
                break
        return str(nearest)


def _chain(headers: MultiMapping[str]) -> Sequence[str]:
    """The forwarding entries, left to right, from `X-Forwarded-For` or else `Forwarded`."""
    forwarded_for = headers.getall("X-Forwarded-For", [])
    if forwarded_for:
        return [part for value in forwarded_for for part in value.split(",") if part.strip()]
    entries: list[str] = []
    for value in headers.getall("Forwarded", []):
        for element in value.split(","):
            for pair in element.split(";"):
                name, sep, found = pair.strip().partition("=")
                if sep and name.strip().lower() == "for":
                    entries.append(found)
    return entries


def client_address(request: web.Request) -> str | None:
    """The address of the client that sent `request` (see the module's docstring)."""
    return request.app[CLIENT_ADDRESSES].of(request.remote, request.headers)
