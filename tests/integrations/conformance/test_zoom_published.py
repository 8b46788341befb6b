"""Zoom against Zoom's own webhook-sample, Rivet and URL-validation example (data/zoom_*.json).

Sources: zoom/webhook-sample@e4d48a7 `index.js` (signing: `v0:{x-zm-request-timestamp}:
{JSON.stringify(req.body)}`, HMAC-SHA256 hex, `v0=` prefix; the url_validation answer) and
`README.md` (the logged headers and meeting.started body); zoom/rivet-javascript@7309ea3
(`CommonHttpRequest.isEventVerified`, and the MeetingParticipantJoinedEvent field list);
developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint (the challenge body).
The sample's signing expression is run in Node (node_signers.py).
"""

from __future__ import annotations

import json
import time

import pytest
from node_signers import node_hmac, node_hmac_of_stringified
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind

SAMPLE = load("zoom_webhook_sample")
CHALLENGE = load("zoom_url_validation")
PARTICIPANTS = load("zoom_participant_events")
SECRET = "zoom-webhook-secret-token"  # the sample reads ZOOM_WEBHOOK_SECRET_TOKEN from .env
CONFIG = {"secret_token": SECRET}


def readme_headers(ts: str, signature: str) -> dict[str, str]:
    """README.md's logged headers, with the two signing values filled in (lower case, as logged)."""
    headers: dict[str, str] = json.loads(SAMPLE["readme_headers"])
    headers.update({"x-zm-request-timestamp": ts, "x-zm-signature": signature})
    return headers


def signed_as_the_sample_signs(raw: str, ts: str) -> dict[str, str]:
    digest = node_hmac_of_stringified(raw, SECRET, f"v0:{ts}:{{body}}")
    return readme_headers(ts, f"v0={digest}")


def test_readme_body_signed_as_index_js_signs_it_is_accepted() -> None:
    """The README's meeting.started body, pretty-printed as the README prints it, with the
    signature index.js computes (over JSON.stringify of the parsed body): accepted, no events."""
    ts = str(int(time.time()))
    raw = SAMPLE["readme_body"]
    req = request(raw, signed_as_the_sample_signs(raw, ts), received_at=time.time())
    assert receive("zoom", req, CONFIG).events == ()


def test_raw_body_signature_is_accepted_too() -> None:
    ts = str(int(time.time()))
    raw = SAMPLE["readme_body"]
    digest = node_hmac(f"v0:{ts}:{raw}", SECRET)
    req = request(raw, readme_headers(ts, f"v0={digest}"), received_at=time.time())
    receive("zoom", req, CONFIG)


def test_sample_signature_with_another_secret_or_a_changed_body_is_refused() -> None:
    ts = str(int(time.time()))
    raw = SAMPLE["readme_body"]
    headers = signed_as_the_sample_signs(raw, ts)
    with pytest.raises(InvalidSignature):
        receive("zoom", request(raw, headers, received_at=time.time()), {"secret_token": "other"})
    changed = raw.replace('"type": 4', '"type": 2')
    with pytest.raises(InvalidSignature):
        receive("zoom", request(changed, headers, received_at=time.time()), CONFIG)


def test_url_validation_example_is_answered_as_index_js_answers() -> None:
    """The docs' challenge body; the answer is HMAC-SHA256 hex of plainToken, as index.js
    computes it (the docs' own encryptedToken needs a secret the page does not give)."""
    ts = str(int(time.time()))
    raw = CHALLENGE["body"]
    outcome = receive(
        "zoom", request(raw, signed_as_the_sample_signs(raw, ts), received_at=time.time()), CONFIG
    )
    assert outcome.reply == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": node_hmac("qgg8vlvZRS6UYooatFL8Aw", SECRET),
    }


@pytest.mark.parametrize("meeting_id", ["85123456789", 85123456789])
@pytest.mark.parametrize("action", ["joined", "left"])
def test_participant_events_from_rivets_field_list(meeting_id: object, action: str) -> None:
    """Built from Rivet's MeetingParticipantJoinedEvent/LeftEvent field lists (no published
    example): `object.id` as Rivet's string and as a JSON number; `customer_key` is the ref."""
    body = json.loads(json.dumps(PARTICIPANTS["joined"]))
    body["payload"]["object"]["id"] = meeting_id
    if action == "left":
        body["event"] = "meeting.participant_left"
        body["payload"]["object"]["participant"].update(PARTICIPANTS["left_fields_added"])
    raw = json.dumps(body, separators=(",", ":"))
    ts = str(int(time.time() * 1000))  # milliseconds: read as such
    (event,) = receive(
        "zoom", request(raw, signed_as_the_sample_signs(raw, ts), received_at=time.time()), CONFIG
    ).events
    kind = (
        PlatformEventKind.PARTICIPANT_JOINED
        if action == "joined"
        else PlatformEventKind.PARTICIPANT_LEFT
    )
    assert (event.kind, event.meeting_key, event.participant_ref) == (kind, "85123456789", "c-ref")
