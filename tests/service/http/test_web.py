"""The platforms' client adapters served to browsers (service/http/web.py); the widget routes are
tested in tests/widgets/test_web.py."""

from __future__ import annotations

from tests.conftest import LiveServer


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
    ):
        async with http.get(live_server.url + path) as r:
            assert r.status == 404, path
