"""The error middleware (service/http/middleware.py): every failure is the error envelope."""

from __future__ import annotations

from service.app import AUDIT, STORE
from service.store.base import AuditQuery
from tests.conftest import LiveServer


async def test_errors_for_unknown_paths_are_structured(live_server: LiveServer):
    status, err = await live_server.api.call("GET", "/api/v1/nothing-here")
    assert status == 404 and err["error"]["code"] == "not_found"
    status, err = await live_server.api.call("PUT", "/api/v1/sessions")
    assert status == 405 and err["error"]["code"]


async def test_webhook_failures_are_the_same_envelope_counted_and_audited(
    live_server: LiveServer,
):
    """The webhook routes raise into the one middleware: the error envelope, the metrics and
    the audit entry are the REST routes' own."""
    answers = [
        await live_server.api.call("POST", "/webhooks/nobody/zoom", raw=b"{}"),
        await live_server.api.call("POST", "/webhooks/demo/jitsi/not-an-event", raw=b"{}"),
    ]
    for status, body in answers:
        assert status == 404
        assert body == {"error": {"code": "not_found", "message": "no webhook endpoint here"}}
    await live_server.app[AUDIT].flush(close_window=True)
    audited = await live_server.app[STORE].read_audit(AuditQuery(action_prefix="rest.POST /webh"))
    # No signature was checked: the callers proved nothing, so they are counted (issue 13).
    assert sorted((e.actor, e.action, e.outcome, e.tenant_id) for e in audited) == [
        ("anonymous", "rest.POST /webhooks/{tenant}/jitsi/{event}", "404", "demo"),
        ("anonymous", "rest.POST /webhooks/{tenant}/{platform}", "404", None),
    ]
    assert {(e.detail["count"], e.detail["reason"]) for e in audited} == {(1, "not_found")}
    async with live_server.api.http.get(live_server.url + "/metrics") as r:
        metrics = await r.text()
    assert (
        'comfort_http_requests_total{route="/webhooks/{tenant}/{platform}",status="404"} 1.0'
        in metrics
    )
