"""The platforms' client adapters served to browsers (service/http/web.py); the widget routes are
tested in tests/widgets/test_web.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.http.web import ADAPTER_DIRS
from tests.conftest import LiveServer, ServerFactory

ROOT = Path(__file__).resolve().parents[3]
PLATFORMS = sorted(p.parent.name for p in (ROOT / "integrations").glob("*/sdk.js"))
# An ES module import or re-export, static or dynamic, of anything at all.
IMPORT = re.compile(r"^\s*(import\b|export\s+(\*|\{[^}]*\})\s+from\b)|\bimport\s*\(", re.M)
COMMENT = re.compile(r"/\*.*?\*/|^\s*//.*$", re.S | re.M)


async def test_platform_client_modules_are_served_as_javascript_and_nothing_else(
    live_server: LiveServer,
):
    http = live_server.api.http
    async with http.get(live_server.url + "/integrations/jitsi/sdk.js") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
        assert "export" in await r.text()
    for path in (
        "/integrations/base.py",
        "/integrations/../service/settings.py",
        "/integrations/%2e%2e/pyproject.toml",
        "/integrations/nope.js",
        "/integrations/sdk-common.js",  # bundled into each adapter; not a module of its own
        "/integrations/jitsi/external-api.d.ts",
        "/integrations/zoom/webhook.py",
    ):
        async with http.get(live_server.url + path) as r:
            assert r.status == 404, path


def test_every_platform_has_a_client_adapter() -> None:
    expected = [
        "zoom",
        "daily",
        "jaas",
        "jitsi",
        "whereby",
        "livekit",
        "twilio",
        "vonage",
        "generic",
    ]
    assert sorted(expected) == PLATFORMS


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_each_adapter_is_served_self_contained_with_cors(
    server_factory: ServerFactory, platform: str
) -> None:
    """Contract §9.7: each platform adapter module imports nothing (a vendor may copy it alone),
    and is served with CORS for the allowed origins (`*` includes them), as the npm package
    ships it."""
    server = await server_factory(allowed_origins=["https://vendor.example"])
    http = server.api.http
    url = f"{server.url}/integrations/{platform}/sdk.js"
    async with http.get(url, headers={"Origin": "https://vendor.example"}) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        body = await r.text()
    assert IMPORT.search(COMMENT.sub("", body)) is None, f"{platform}/sdk.js imports something"
    assert re.search(r"^export\s*\{[^}]*\bcreateAdapter\b", body, re.M), "exports createAdapter"
    built = next(d for d in ADAPTER_DIRS if (d / "sdk-contract.js").is_file())
    assert body == (built / platform / "sdk.js").read_text()


async def test_module_errors_carry_the_same_cors_headers(server_factory: ServerFactory) -> None:
    server = await server_factory(allowed_origins=["https://vendor.example"])
    async with server.api.http.get(
        server.url + "/integrations/nope/sdk.js", headers={"Origin": "https://vendor.example"}
    ) as r:
        assert r.status == 404
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert (await r.json())["error"]["code"] == "not_found"


async def test_unbuilt_adapters_answer_503_saying_how_to_build_them(
    server_factory: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.http.web.ADAPTER_DIRS", (tmp_path / "nowhere",))
    server = await server_factory()
    async with server.api.http.get(server.url + "/integrations/daily/sdk.js") as r:
        assert r.status == 503 and "make install" in await r.text()
        assert r.headers["Access-Control-Allow-Origin"] == "*"
