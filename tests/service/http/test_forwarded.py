"""The client's address behind trusted proxies (service/http/forwarded.py, contract §9.5): the
rule on its own, then real requests from a trusted and an untrusted peer, seen through the one
thing that keys on it from outside, the API-key guessing throttle."""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest
from multidict import CIMultiDict

from service.http.forwarded import ClientAddresses, Network, parse_address
from tests.conftest import ServerFactory

NETS: list[Network] = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def seen(
    peer: str | None, headers: list[tuple[str, str]], trusted: list[Network] = NETS
) -> str | None:
    return ClientAddresses(trusted).of(peer, CIMultiDict(headers))


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # An untrusted peer: its headers are not read.
        ("203.0.113.5", [("X-Forwarded-For", "198.51.100.1")], "203.0.113.5"),
        ("203.0.113.5", [("Forwarded", "for=198.51.100.1")], "203.0.113.5"),
        # A trusted peer: the right-most entry that is not trusted.
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1")], "198.51.100.1"),
        ("10.0.0.2", [("X-Forwarded-For", "1.1.1.1, 198.51.100.1, 10.9.9.9")], "198.51.100.1"),
        # What the client wrote left of its own address is never read.
        ("10.0.0.2", [("X-Forwarded-For", "10.0.0.7, 198.51.100.1")], "198.51.100.1"),
        # Repeated headers are one list, in order.
        (
            "10.0.0.2",
            [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "198.51.100.1, 10.1.1.1")],
            "198.51.100.1",
        ),
        # Every hop trusted: the left-most.
        ("10.0.0.2", [("X-Forwarded-For", "10.0.0.9, 10.0.0.8")], "10.0.0.9"),
        # No header from a trusted peer: the peer.
        ("10.0.0.2", [], "10.0.0.2"),
        # Ports, brackets, IPv6, IPv4-mapped.
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1:4711")], "198.51.100.1"),
        ("10.0.0.2", [("X-Forwarded-For", "[2001:db8::1]:4711")], "2001:db8::1"),
        ("10.0.0.2", [("X-Forwarded-For", "2001:db8::1")], "2001:db8::1"),
        ("::ffff:10.0.0.2", [("X-Forwarded-For", "198.51.100.1")], "198.51.100.1"),
        ("fd00::1", [("X-Forwarded-For", "::ffff:198.51.100.1")], "198.51.100.1"),
        # RFC 7239 Forwarded, when there is no X-Forwarded-For.
        (
            "10.0.0.2",
            [("Forwarded", 'for=1.1.1.1, for="[2001:db8::2]:80";proto=https, for=10.3.3.3')],
            "2001:db8::2",
        ),
        (
            "10.0.0.2",
            [("Forwarded", "for=1.1.1.1"), ("X-Forwarded-For", "198.51.100.1")],
            "198.51.100.1",
        ),
        # Not an address: the walk ends at the proxy that passed it on.
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1, unknown")], "10.0.0.2"),
        ("10.0.0.2", [("X-Forwarded-For", "garbage, 10.0.0.3")], "10.0.0.3"),
        ("10.0.0.2", [("Forwarded", "for=_hidden")], "10.0.0.2"),
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1\udcff")], "10.0.0.2"),
        (None, [("X-Forwarded-For", "198.51.100.1")], None),
    ],
)
def test_the_client_is_the_right_most_untrusted_entry_from_a_trusted_peer(
    peer: str | None, headers: list[tuple[str, str]], client: str | None
) -> None:
    assert seen(peer, headers) == client


def test_no_trusted_proxies_reads_no_header() -> None:
    assert seen("10.0.0.2", [("X-Forwarded-For", "198.51.100.1")], trusted=[]) == "10.0.0.2"


def test_a_long_chain_is_read_from_the_right_only() -> None:
    chain = ", ".join(["10.0.0.1"] * 10_000)
    assert seen("10.0.0.2", [("X-Forwarded-For", f"198.51.100.1, {chain}")]) == "10.0.0.1"


@pytest.mark.parametrize(
    "entry", ["", "unknown", "_hidden", "1.2.3", "1.2.3.4.5", "[::1", "::1]", "host:80"]
)
def test_what_is_not_an_address_is_none(entry: str) -> None:
    assert parse_address(entry) is None


async def guess(
    server_url: str, http: aiohttp.ClientSession, headers: dict[str, str], key: str
) -> int:
    async with http.get(
        f"{server_url}/api/v1/sessions/ses_none",
        headers={"Authorization": f"Bearer {key}", **headers},
    ) as resp:
        return int(resp.status)


async def test_an_untrusted_peer_cannot_choose_its_address(server_factory: ServerFactory) -> None:
    """The test client (127.0.0.1) is not a trusted proxy here: a new X-Forwarded-For (or
    Forwarded) on every guess does not escape the throttle."""
    server = await server_factory(trusted_proxies=["10.0.0.0/8"], auth_failure_limit=3)
    http = server.api.http
    assert http is not None
    statuses = []
    for i in range(6):
        headers = (
            {"X-Forwarded-For": f"198.51.100.{i}"} if i % 2 else {"Forwarded": f"for=192.0.2.{i}"}
        )
        statuses.append(await guess(server.url, http, headers, f"wrong-key-{i}-0123456789"))
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429, 429]
    # A valid key is still answered, from that very address.
    assert await guess(server.url, http, {}, server.api_key) == 404


async def test_behind_a_trusted_proxy_each_client_has_its_own_count(
    server_factory: ServerFactory,
) -> None:
    """127.0.0.1 is the trusted proxy: the clients it forwards for are counted apart, whether
    it says so with X-Forwarded-For or Forwarded, and what a client wrote left of its own
    address changes nothing."""
    server = await server_factory(trusted_proxies=["127.0.0.1"], auth_failure_limit=3)
    http = server.api.http
    assert http is not None
    # The guesser rotates what it writes itself; the proxy appends its real address.
    for i in range(3):
        headers = {"X-Forwarded-For": f"192.0.2.{i}, 203.0.113.9"}
        assert await guess(server.url, http, headers, f"wrong-{i}-0123456789") == 401
    assert await guess(server.url, http, {"Forwarded": "for=203.0.113.9"}, "wrong-x-012345") == 429
    assert await guess(server.url, http, {"X-Forwarded-For": "203.0.113.9"}, "w-0123456789") == 429
    # Another client behind the same proxy, and the proxy's own requests, are not refused.
    other = {"Forwarded": 'for="[2001:db8::7]:1234"'}
    assert await guess(server.url, http, other, "wrong-y-0123456789") == 401
    assert await guess(server.url, http, {}, "wrong-z-0123456789") == 401
    # A valid key is answered for the guesser too.
    assert await guess(server.url, http, {"X-Forwarded-For": "203.0.113.9"}, server.api_key) == 404
