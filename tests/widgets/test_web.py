"""The widget routes over HTTP (service/http/web.py): the bundle's type and caching, the embed pages'
and /demo's security headers, token escaping, framing by COMFORT_ALLOWED_ORIGINS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict

from service.http.web import BUNDLE, BundleCache
from tests.conftest import ServerFactory
from tests.widgets.conftest import WIDGETS


async def get(url: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, CIMultiDict(resp.headers), await resp.text()


def csp(headers: CIMultiDict[str]) -> dict[str, str]:
    policy = headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1]
        for part in (p.strip() for p in policy.split(";"))
    }


@pytest.fixture
def fake_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "comfort.js"
    path.write_text("export const version = 1;\n")
    return path


async def test_bundle_is_javascript_revalidated_by_etag(
    server_factory: ServerFactory, fake_bundle: Path
) -> None:
    server = await server_factory()
    server.app[BUNDLE].candidates = (fake_bundle,)
    status, headers, body = await get(server.url + "/widgets/comfort.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == fake_bundle.read_text()
    status, _, _ = await get(
        server.url + "/widgets/comfort.js", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304

    fake_bundle.write_text("export const version = 2; // rebuilt\n")
    status, again, body = await get(
        server.url + "/widgets/comfort.js", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 200 and "rebuilt" in body and again["ETag"] != headers["ETag"]


async def test_missing_bundle_answers_503_saying_how_to_build_it(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = await server_factory()
    server.app[BUNDLE].candidates = (tmp_path / "nowhere.js",)
    status, _, body = await get(server.url + "/widgets/comfort.js")
    assert status == 503
    assert "make install" in body


@pytest.mark.parametrize("role", ["client", "therapist"])
async def test_embed_page_loads_the_module_with_the_token_escaped(
    server_factory: ServerFactory, role: str
) -> None:
    server = await server_factory()
    status, headers, body = await get(f"{server.url}/embed/{role}?token=abc%22%3E%3Cscript%3Ex")
    assert status == 200
    assert f'<comfort-{role} token="abc&quot;&gt;&lt;script&gt;x"></comfort-{role}>' in body
    assert '<script type="module" src="/widgets/comfort.js"></script>' in body
    assert body.count("<script") == 1  # no inline script anywhere
    policy = csp(headers)
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"].startswith("'self'")
    assert "ws://127.0.0.1" in policy["connect-src"]
    assert policy["frame-ancestors"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers


async def test_embed_page_without_token_says_so(server_factory: ServerFactory) -> None:
    server = await server_factory()
    status, headers, body = await get(server.url + "/embed/client")
    assert status == 400
    assert "join token" in body
    assert "Content-Security-Policy" in headers


async def test_framing_follows_allowed_origins_and_https_gets_hsts(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(allowed_origins=["https://app.zoom.us", "https://vendor.example"])
    _, headers, _ = await get(
        server.url + "/embed/client?token=t", **{"X-Forwarded-Proto": "https"}
    )
    assert csp(headers)["frame-ancestors"] == "https://app.zoom.us https://vendor.example"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


async def test_demo_creates_a_session_per_visit_in_the_demo_tenant(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(demo=True)
    status, headers, first = await get(server.url + "/demo")
    _, _, second = await get(server.url + "/demo")
    assert status == 200
    assert "<comfort-client token=" in first and "<comfort-therapist token=" in first
    assert first != second  # a new session, so new tokens
    assert csp(headers)["script-src"] == "'self'"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_demo_is_not_served_when_off(server_factory: ServerFactory) -> None:
    server = await server_factory(demo=False)
    status, _, _ = await get(server.url + "/demo")
    assert status == 404


def test_bundle_cache_prefers_the_first_existing_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.js", tmp_path / "b.js"
    second.write_text("b")
    cache = BundleCache((first, second))
    assert cache.get() is not None and cache.get().body == b"b"  # type: ignore[union-attr]
    first.write_text("a")
    assert cache.get().body == b"a"  # type: ignore[union-attr]


def test_widgets_unit_tests_pass() -> None:
    """The outbox and replay unit tests (node's test runner) run as part of the Python suite."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("node is not installed")
    if not (WIDGETS / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGETS, check=True)
    result = subprocess.run([npm, "test"], cwd=WIDGETS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
