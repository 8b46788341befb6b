"""Liveness, readiness and metrics (service/http/health.py)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import LiveServer, start_server
from tests.support import Api, free_port


async def test_health_ready_and_metrics(live_server: LiveServer):
    http = live_server.api.http
    async with http.get(live_server.url + "/healthz") as r:
        assert r.status == 200
    async with http.get(live_server.url + "/readyz") as r:
        body = await r.json()
        assert r.status == 200 and body["store"] == "ok" and body["redis"] == "unset"
    created = await live_server.create_session()
    peer = await live_server.join(created["tokens"]["c-1"])
    await peer.send("pause")
    async with http.get(live_server.url + "/metrics") as r:
        text = await r.text()
    assert 'comfort_sends_total{outcome="ok",type="pause"} 1.0' in text
    assert "comfort_store_append_seconds_bucket" in text
    assert "comfort_store_append_batch_events_count" in text
    assert "comfort_events_delivered_total 0.0" not in text
    assert 'comfort_connections{role="client"} 1.0' in text


async def test_metrics_on_their_own_listener_and_nowhere_else(tmp_path: Path):
    """COMFORT_METRICS_PORT (contract §9.5): the metrics listener (bound to
    COMFORT_METRICS_HOST) serves /metrics and nothing else, with what the service counts; the
    public listener answers 404 there; the listener closes with the service."""
    metrics_port = free_port()
    runner, url, _ = await start_server(
        tmp_path, metrics_port=metrics_port, metrics_host="127.0.0.1"
    )
    metrics_url = f"http://127.0.0.1:{metrics_port}"
    try:
        async with aiohttp.ClientSession() as http:
            live = LiveServer(url=url, app=runner.app, api=Api(url, http=http))
            created = await live.create_session()
            peer = await live.join(created["tokens"]["c-1"])
            await peer.send("pause")
            await peer.close()
            async with http.get(metrics_url + "/metrics") as r:
                assert r.status == 200
                assert 'comfort_sends_total{outcome="ok",type="pause"} 1.0' in await r.text()
            for path in ("/healthz", "/api/v1/openapi.json", "/widgets/comfort.js"):
                async with http.get(metrics_url + path) as r:
                    assert r.status == 404, path
            async with http.get(url + "/metrics") as r:
                assert r.status == 404
                assert (await r.json())["error"]["code"] == "not_found"
            async with http.get(url + "/healthz") as r:
                assert r.status == 200
    finally:
        await runner.cleanup()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(metrics_url + "/metrics"):
            pass
