"""Whereby against its webhooks page (data/whereby_webhooks_page.json).

Source: whereby/docs@4449da8 `meeting-content-and-quality/insights-suite-and-api/webhooks.md`
(docs.whereby.com, "Tracking room events with Webhooks"): the example event object, the
`Whereby-Signature: t=…,v1=…` header, and the Node example that verifies
`${t}.${JSON.stringify(body)}` with HMAC-SHA256 hex, run here in Node (node_signers.py).
"""

from __future__ import annotations

import json
import time

import pytest
from node_signers import node_hmac, node_hmac_of_stringified
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind, parse_signature_header

PAGE = load("whereby_webhooks_page")
SECRET = "whereby-webhook-secret"
CONFIG = {"secret": SECRET}


def signed_as_the_page_verifies(raw: str, t: str) -> dict[str, str]:
    digest = node_hmac_of_stringified(raw, SECRET, f"{t}.{{body}}")
    return {"Whereby-Signature": f"t={t},v1={digest}", "Content-Type": "application/json"}


def test_the_pages_header_example_has_the_shape_we_parse() -> None:
    t, signatures = parse_signature_header(PAGE["header_example"])
    assert t == "1606227791" and len(signatures) == 1 and len(signatures[0]) == 64


def test_the_example_as_printed_is_not_json_and_is_refused_not_crashed() -> None:
    """The page prints the example without a comma after "subdomain": not a body Whereby sends."""
    t = str(int(time.time()))
    raw = PAGE["example_as_printed"]
    digest = node_hmac(f"{t}.{raw}", SECRET)
    req = request(raw, {"Whereby-Signature": f"t={t},v1={digest}"}, received_at=time.time())
    from integrations.base import InvalidPayload

    with pytest.raises(InvalidPayload):
        receive("whereby", req, CONFIG)


def test_the_example_signed_as_the_page_verifies_is_a_join() -> None:
    """The page's room.client.joined example (its one missing comma restored), pretty-printed
    as the page prints it, signed over JSON.stringify(body): a host's join of meeting "134"
    by externalId "<custom-id>", deduplicated by the event's id."""
    t = str(int(time.time()))
    raw = PAGE["example_repaired"]
    (event,) = receive(
        "whereby",
        request(raw, signed_as_the_page_verifies(raw, t), received_at=time.time()),
        CONFIG,
    ).events
    assert (event.kind, event.meeting_key, event.participant_ref, event.host_hint) == (
        PlatformEventKind.PARTICIPANT_JOINED,
        "134",
        "<custom-id>",
        True,
    )
    assert event.delivery_key == json.loads(raw)["id"]


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("room.client.left", PlatformEventKind.PARTICIPANT_LEFT),
        ("room.session.ended", PlatformEventKind.SESSION_ENDED),
    ],
)
def test_the_example_as_the_other_event_types_the_page_lists(
    event_type: str, kind: PlatformEventKind
) -> None:
    body = json.loads(PAGE["example_repaired"])
    body["type"] = event_type
    raw = json.dumps(body, separators=(",", ":"))
    t = str(int(time.time()))
    (event,) = receive(
        "whereby",
        request(raw, signed_as_the_page_verifies(raw, t), received_at=time.time()),
        CONFIG,
    ).events
    assert (event.kind, event.meeting_key) == (kind, "134")


def test_a_stale_or_altered_example_is_refused() -> None:
    raw = PAGE["example_repaired"]
    old = str(int(time.time()) - 301)
    with pytest.raises(InvalidSignature):
        receive(
            "whereby",
            request(raw, signed_as_the_page_verifies(raw, old), received_at=time.time()),
            CONFIG,
        )
    t = str(int(time.time()))
    headers = signed_as_the_page_verifies(raw, t)
    with pytest.raises(InvalidSignature):
        receive(
            "whereby", request(raw.replace("134", "135"), headers, received_at=time.time()), CONFIG
        )
