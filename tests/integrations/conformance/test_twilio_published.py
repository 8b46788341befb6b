"""Twilio against twilio-python's own RequestValidator test cases (data/twilio_*.json).

Source: twilio/twilio-python@306691e `tests/unit/test_request_validator.py` (ValidationTest).
Each case is also checked with the installed twilio package's RequestValidator itself.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlsplit

import pytest
from published import load, receive, request
from twilio.request_validator import RequestValidator

from integrations import ADAPTERS
from integrations.base import InvalidSignature, WebhookRequest

CASES = load("twilio_request_validator_cases")
CONFIG = {"auth_token": CASES["token"]}


def verify(req: WebhookRequest) -> None:
    ADAPTERS["twilio"].verify(req, CONFIG)


def at(uri: str, body: str, signature: str) -> WebhookRequest:
    parts = urlsplit(uri)
    return request(
        body,
        {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
        received_at=0,
        url=uri,
        path=parts.path,
        query=parts.query,
    )


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["test"])
def test_request_validator_case(case: dict[str, str]) -> None:
    """ValidationTest's test_validation, test_validation_removes_port_on_https/_http and
    test_validation_adds_port_on_https/_http: what RequestValidator accepts, we accept."""
    assert RequestValidator(CASES["token"]).validate(
        case["uri"], CASES["params"], case["signature"]
    )
    body = urlencode(CASES["params"])
    verify(at(case["uri"], body, case["signature"]))


def test_compute_signature_and_duplicate_parameters() -> None:
    """test_compute_signature and test_compute_signature_duplicate_multi_dict: parameters
    sorted by name, each name's values sorted and de-duplicated."""
    body = urlencode([tuple(pair) for pair in CASES["duplicate_params"]])
    verify(at(CASES["uri"], body, CASES["duplicate_expected"]))
    with pytest.raises(InvalidSignature):
        verify(at(CASES["uri"], body + "&Digits=9999", CASES["duplicate_expected"]))


def test_validation_of_body() -> None:
    """test_compute_hash_unicode and test_validation_of_body_succeeds: a JSON body signed
    through `bodySHA256` in the query."""
    assert hashlib.sha256(CASES["body"].encode()).hexdigest() == CASES["body_hash"]
    case = CASES["body_case"]
    assert RequestValidator(CASES["token"]).validate(case["uri"], CASES["body"], case["signature"])
    verify(at(case["uri"], CASES["body"], case["signature"]))
    with pytest.raises(InvalidSignature):
        verify(at(case["uri"], CASES["body"] + " ", case["signature"]))


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["test"])
def test_a_case_signed_for_another_path_is_refused(case: dict[str, str]) -> None:
    body = urlencode(CASES["params"])
    other = case["uri"].replace("/myapp.php", "/other.php")
    assert not RequestValidator(CASES["token"]).validate(other, CASES["params"], case["signature"])
    with pytest.raises(InvalidSignature):
        verify(at(other, body, case["signature"]))


def test_the_parsed_callback_reads_the_signed_form() -> None:
    """The same verified form, as a Video room callback, is read by its RoomName and identity."""
    params = {
        **CASES["params"],
        "StatusCallbackEvent": "participant-connected",
        "RoomName": "r",
        "RoomSid": "RM1",
        "SequenceNumber": "3",
        "ParticipantIdentity": "c-ref",
    }
    signature = RequestValidator(CASES["token"]).compute_signature(CASES["uri"], params)
    uri = CASES["uri"]
    (event,) = receive("twilio", at(uri, urlencode(params), signature), CONFIG).events
    assert (event.meeting_key, event.participant_ref, event.delivery_key) == ("r", "c-ref", "RM1:3")
