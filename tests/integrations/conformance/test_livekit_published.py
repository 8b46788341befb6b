"""LiveKit against its server SDKs' own webhook tests (data/livekit_sdk_webhook_tests.json).

Sources: livekit/python-sdks@08f7e84 `livekit-api/tests/test_webhook.py`, livekit/node-sdks@7c0768f
`packages/livekit-server-sdk/src/WebhookReceiver.test.ts`, and how LiveKit's server sends a
webhook, livekit/protocol@004f18c `webhook/url_notifier.go` (bare JWT in Authorization, valid
5 minutes, base64 SHA-256 of the body as its `sha256` claim). Tokens are minted with
livekit-api's AccessToken, as those tests mint theirs; livekit-api's WebhookReceiver
cross-checks each one.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

import pytest
from livekit.api import AccessToken, TokenVerifier, WebhookReceiver
from published import load, receive, request

from integrations.base import InvalidSignature

DATA = load("livekit_sdk_webhook_tests")
# The SDK tests' secrets are short on purpose; PyJWT warns about them.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
HEADERS = {"Content-Type": "application/webhook+json"}


def token(vector: dict[str, str], body: str, ttl: timedelta = timedelta(minutes=5)) -> str:
    at = AccessToken(vector["api_key"], vector["api_secret"]).with_ttl(ttl)
    at.claims.sha256 = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return at.to_jwt()


def config(vector: dict[str, str]) -> dict[str, str]:
    return {"api_key": vector["api_key"], "api_secret": vector["api_secret"]}


@pytest.mark.parametrize("sdk", ["python", "node"])
def test_webhook_receiver_vector_verifies(sdk: str) -> None:
    """test_webhook_receiver / "should receive and decode WebhookEvent": the SDK test's body
    with a token for its key and secret, sent as LiveKit's server sends it (bare JWT)."""
    vector = DATA[sdk]
    jwt = token(vector, vector["body"])
    WebhookReceiver(TokenVerifier(vector["api_key"], vector["api_secret"])).receive(
        vector["body"], jwt
    )
    outcome = receive(
        "livekit",
        request(vector["body"], {**HEADERS, "Authorization": jwt}, received_at=time.time()),
        config(vector),
    )
    assert outcome.events == ()  # room_started: not followed
    bearer = {**HEADERS, "Authorization": f"Bearer {jwt}"}
    receive("livekit", request(vector["body"], bearer, received_at=time.time()), config(vector))


def test_node_vector_sha256_is_the_bodys() -> None:
    """WebhookReceiver.test.ts gives the sha256 claim for its body: it is the base64 SHA-256."""
    vector = DATA["node"]
    assert (
        base64.b64encode(hashlib.sha256(vector["body"].encode()).digest()).decode()
        == vector["sha256"]
    )


def test_bad_hash_is_refused() -> None:
    """test_bad_hash: a token whose sha256 is of "wrong_hash"."""
    vector = DATA["python"]
    jwt = token(vector, "wrong_hash")
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own test expects any error
        WebhookReceiver(TokenVerifier(vector["api_key"], vector["api_secret"])).receive(
            vector["body"], jwt
        )
    with pytest.raises(InvalidSignature):
        receive(
            "livekit",
            request(vector["body"], {**HEADERS, "Authorization": jwt}, received_at=time.time()),
            config(vector),
        )


def test_mismatched_api_key_secret_is_refused() -> None:
    """test_mismatched_api_key_secret: signed with "badkey"/"badsecret"."""
    vector = DATA["python"]
    jwt = token({"api_key": "badkey", "api_secret": "badsecret"}, vector["body"])
    with pytest.raises(InvalidSignature):
        receive(
            "livekit",
            request(vector["body"], {**HEADERS, "Authorization": jwt}, received_at=time.time()),
            config(vector),
        )


def test_expired_token_is_refused() -> None:
    """test_expired_token: `exp` a minute ago (here through the token's TTL, which this
    livekit-api derives `exp` from); LiveKit's verifier allows no more than its leeway."""
    vector = DATA["python"]
    jwt = token(vector, vector["body"], ttl=timedelta(seconds=-60))
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own test expects any error
        WebhookReceiver(TokenVerifier(vector["api_key"], vector["api_secret"])).receive(
            vector["body"], jwt
        )
    late = time.time() + 61  # beyond our 60 s leeway, too
    with pytest.raises(InvalidSignature):
        receive(
            "livekit",
            request(vector["body"], {**HEADERS, "Authorization": jwt}, received_at=late),
            config(vector),
        )
