"""deploy/nginx/nginx.conf: WebSocket upgrades and long-polls reach the replicas, stay open
longer than the Socket.IO heartbeat, stick to one replica, and no token reaches the access log."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from service.app import MAX_BODY_BYTES
from tests.deploy.support import DEPLOY, default_port, heartbeat_seconds, load_yaml_documents

CONF = (DEPLOY / "nginx" / "nginx.conf").read_text()
# The configuration without its comments (the commented TLS example is not in force).
ACTIVE = "\n".join(line.split("#", 1)[0] for line in CONF.splitlines())


def block(text: str, header: str) -> str:
    """The body of the first `header { … }` block, braces balanced."""
    start = text.index(header)
    open_at = text.index("{", start)
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at + 1 : i]
    raise AssertionError(f"unbalanced block {header}")


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)?", value)
    assert match, value
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60}[unit]


def size_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmM]?)", value)
    assert match, value
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]


def directive(text: str, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)]


SOCKETS = block(ACTIVE, "location /socket.io/")
SERVER = block(ACTIVE, "server {")
PROXIED = {
    header: block(ACTIVE, header)
    for header in re.findall(r"^\s*(location [^{]+)\{", ACTIVE, re.MULTILINE)
    if "proxy_pass" in block(ACTIVE, header)
}


def without_blocks(text: str) -> str:
    """`text` with its nested `{ … }` blocks removed: the directives of this level only."""
    out, depth = [], 0
    for char in text:
        depth += char == "{"
        if depth == 0:
            out.append(char)
        depth -= char == "}"
    return "".join(out)


def headers_sent(location: str) -> dict[str, str]:
    """The proxy_set_header a location's requests carry. nginx inherits the server's
    proxy_set_header directives only into a location that sets none of its own."""
    own = re.findall(r"^\s*proxy_set_header\s+(\S+)\s+([^;]+);", without_blocks(location), re.M)
    inherited = re.findall(
        r"^\s*proxy_set_header\s+(\S+)\s+([^;]+);", without_blocks(SERVER), re.MULTILINE
    )
    return {name.lower(): value.strip() for name, value in (own or inherited)}


def test_socket_io_requests_are_upgraded_to_websockets() -> None:
    assert "proxy_http_version 1.1" in ACTIVE
    headers = headers_sent(SOCKETS)
    assert headers["upgrade"] == "$http_upgrade"
    connection = headers["connection"]
    mapping = block(ACTIVE, f"map $http_upgrade {connection}")
    assert re.search(r"default\s+upgrade;", mapping)
    assert directive(SOCKETS, "proxy_pass") == ["http://comfort"]


def test_timeouts_outlive_the_socket_io_heartbeat() -> None:
    """A quiet WebSocket sends nothing for up to ping_interval + ping_timeout (45 s): a proxy
    timeout at or below that cuts healthy connections."""
    heartbeat = heartbeat_seconds()
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        (value,) = directive(SOCKETS, name)
        assert seconds(value) >= heartbeat + 15, f"{name} {value} vs heartbeat {heartbeat}s"
    assert directive(SOCKETS, "proxy_buffering") == ["off"]


def test_long_polling_sticks_to_one_replica() -> None:
    upstream = block(ACTIVE, "upstream comfort")
    sticky = re.search(r"^\s*(ip_hash|hash\s+\$\S+)", upstream, re.MULTILINE)
    assert sticky, "long-polling needs sticky sessions"
    # The Engine.IO sid is issued by the replica that got the handshake, which carries no sid:
    # hashing on it does not send the next request back there.
    assert "$arg_sid" not in sticky.group(1)


def test_the_upstream_lists_the_compose_replicas_on_the_service_port() -> None:
    upstream = block(ACTIVE, "upstream comfort")
    servers = [s.split()[0] for s in directive(upstream, "server")]
    (compose,) = load_yaml_documents(DEPLOY / "compose.yaml")
    replicas = sorted(n for n in compose["services"] if n.startswith("comfort-"))
    assert sorted(servers) == [f"{r}:{default_port()}" for r in replicas]


def test_bodies_the_service_accepts_pass_and_forwarding_headers_are_set() -> None:
    (limit,) = directive(ACTIVE, "client_max_body_size")
    assert size_bytes(limit) >= MAX_BODY_BYTES
    assert directive(ACTIVE, "proxy_set_header X-Forwarded-For") == ["$proxy_add_x_forwarded_for"]
    assert directive(ACTIVE, "proxy_set_header X-Forwarded-Proto")
    assert "TLS" in CONF and "ssl_certificate" in CONF, "TLS notes for the operator"


def test_every_proxied_request_carries_the_client_address_host_and_scheme() -> None:
    """Contract §9.5: the service believes nginx's X-Forwarded-For (COMFORT_TRUSTED_PROXIES) and
    takes its right-most address that is not a trusted proxy: nginx appends the address it sees
    to what the client sent, and drops a `Forwarded` header the client made up. Socket.IO
    requests too (a location with a proxy_set_header of its own would inherit none of these)."""
    assert set(PROXIED) >= {"location /socket.io/ ", "location / "}
    for name, location in PROXIED.items():
        headers = headers_sent(location)
        assert headers.get("x-forwarded-for") == "$proxy_add_x_forwarded_for", name
        assert headers.get("forwarded") == '""', name
        assert headers.get("host") == "$host", name
        assert headers.get("x-forwarded-proto"), name


def test_metrics_are_never_proxied() -> None:
    """Contract §9.5: /metrics is served on the replicas' metrics port, which nginx never names."""
    assert re.fullmatch(r"\s*return 404;\s*", block(ACTIVE, "location = /metrics"))
    upstream = block(ACTIVE, "upstream comfort")
    assert {s.split()[0].rsplit(":", 1)[1] for s in directive(upstream, "server")} == {
        str(default_port())
    }


def test_the_access_log_never_records_query_strings() -> None:
    """Embed pages carry the join token in the URL: the log format uses $uri, never $request,
    $request_uri, $args or $query_string."""
    (fmt,) = re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", ACTIVE)
    assert "$uri" in fmt
    for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$arg_"):
        assert leaky not in fmt, leaky
    for log in directive(ACTIVE, "access_log"):
        assert log == "off" or log.split()[-1] == "comfort", log


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    """`nginx -t` on the file, with the replicas' names pointed at loopback (they resolve
    only inside the compose network)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        re.sub(r"comfort-\d+:", "127.0.0.1:", CONF).replace("/tmp/nginx.pid", str(tmp_path / "pid"))
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
