"""Liveness, readiness and metrics (service/http/health.py)."""

from __future__ import annotations

from tests.conftest import LiveServer


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
