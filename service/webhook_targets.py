"""Where vendor webhooks may be sent (contract §9.5): https URLs whose host is a public address.

A tenant's `webhook_url` is checked when the tenants file is read and again at every delivery, so
a name that later resolves to this host, a private network or a cloud metadata address (DNS
rebinding) is refused too. At delivery the check is the HTTP client's resolver
(`CheckedResolver`): aiohttp connects to the very addresses it returned, with no second lookup.
`COMFORT_ALLOW_PRIVATE_WEBHOOKS=1` waives both rules, for development against a local receiver.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

WAIVER = "COMFORT_ALLOW_PRIVATE_WEBHOOKS=1 waives this, for development only"
# NAT64's well-known prefix (RFC 6052): a gateway turns 64:ff9b::a.b.c.d into a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookTargetRefused(OSError):
    """A webhook URL that must not be posted to. The message (for the operator who wrote the
    tenants file) names the host; `reason` (for logs) names neither host nor address."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes `address` no place for a webhook, or None for a public address."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network(
        "100.64.0.0/10"
    ):
        return "shared (carrier-grade NAT)"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not go to `address` (None: it may). An IPv6 address that carries an
    IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64) is judged by the address it carries too."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = [address.ipv4_mapped, address.sixtofour]
        carried += list(address.teredo or ())
        if address in _NAT64:
            carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        for inner in carried:
            if inner is not None and (kind := _kind(inner)) is not None:
                return f"an IPv6 form of {_a(kind)} address"
        if address.ipv4_mapped is not None or address in _NAT64:
            return None  # a public IPv4 address written as IPv6 (DNS64 answers so)
    kind = _kind(address)
    return f"{_a(kind)} address" if kind else None


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _literal(host: str) -> IPAddress | None:
    """The address a URL's host names literally, or None for a name. Legacy IPv4 forms
    (`127.1`, `2130706433`, `0x7f.1`) count as literals: resolvers read them as addresses."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _check_addresses(host: str, addresses: Iterable[str]) -> None:
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]))
        if reason is not None:
            raise WebhookTargetRefused(
                f"the host {host} resolves to {text}, {reason}: vendor webhooks must reach a "
                f"public address ({WAIVER})",
                f"resolves to {reason}",
            )


def _split(url: str) -> tuple[str, int]:
    """The URL's host and port, when it is an https URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookTargetRefused(f"not a URL ({exc})", "not a URL") from None
    if parts.scheme != "https":
        raise WebhookTargetRefused(f"must be an https:// URL ({WAIVER})", "not https")
    if not parts.hostname:
        raise WebhookTargetRefused("has no host", "no host")
    return parts.hostname, port or 443


@dataclass(frozen=True)
class WebhookTargets:
    """The rules for vendor webhook URLs, or their waiver (`allow_private`). The lookups are
    the system's: `getaddrinfo` when the tenants file is read, aiohttp's `ThreadedResolver` at
    delivery (tests give a resolver of their own in place of DNS)."""

    allow_private: bool = False
    getaddrinfo: Callable[..., list[Any]] = field(default=socket.getaddrinfo, repr=False)
    lookup: Callable[[], AbstractResolver] = field(default=ThreadedResolver, repr=False)

    def check_url(self, url: str) -> None:
        """What can be told without a lookup: https, a host, not a non-public literal address.

        Raises:
            WebhookTargetRefused: the URL breaks a rule.
        """
        if self.allow_private:
            return
        host, _ = _split(url)
        literal = _literal(host)
        if literal is not None and (reason := refusal(literal)) is not None:
            raise WebhookTargetRefused(
                f"the host {host} is {reason}: vendor webhooks must reach a public address "
                f"({WAIVER})",
                f"is {reason}",
            )

    def check_at_load(self, url: str) -> None:
        """`check_url`, and the addresses the host resolves to now (blocking: at start only).
        A name that does not resolve yet is let through: each delivery resolves it again.

        Raises:
            WebhookTargetRefused: the URL breaks a rule.
        """
        self.check_url(url)
        if self.allow_private:
            return
        host, port = _split(url)
        if _literal(host) is not None:
            return
        try:
            found = self.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        _check_addresses(host, (str(info[4][0]) for info in found))

    def resolver(self) -> CheckedResolver:
        """The resolver for the HTTP client that delivers webhooks."""
        return CheckedResolver(self, self.lookup())


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that refuses a name resolving to any non-public address, so the
    addresses the client connects to are the ones checked (a name is looked up once per
    connection: no rebinding between the check and the connect)."""

    def __init__(self, targets: WebhookTargets, inner: AbstractResolver) -> None:
        self.targets = targets
        self.inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        if not self.targets.allow_private:
            _check_addresses(host, (r["host"] for r in found))
        return found

    async def close(self) -> None:
        await self.inner.close()
