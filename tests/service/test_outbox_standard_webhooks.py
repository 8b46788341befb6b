"""Standard Webhooks on vendor deliveries (contract §9.6 and §8), checked with the verifiers a
vendor would trust: `standardwebhooks` from PyPI in this process and from npm in Node, on real
deliveries (a first attempt answered 500, then its retry) caught by a real local aiohttp
receiver, for a `whsec_` secret and for a plain one; our signer against the test vectors
published with those libraries; and the verification snippets of docs/vendor-webhooks.md, which
these tests extract and run as written."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from service.outbox import sign_standard, signature_headers
from tests.service.outbox_helpers import Receiver, tenants_with_webhook
from tests.service.pacing_helpers import PacingFactory, live_pair

pytest_plugins = ["tests.service.pacing_fixtures", "tests.service.outbox_fixtures"]

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "vendor-webhooks.md"
NODE_DIR = ROOT / "tests" / "js"
NODE_SCRIPT = NODE_DIR / "verify_deliveries.mjs"

# A secret as Standard Webhooks and Svix hand them out (the libraries' own test secret), and a
# plain one beyond ASCII, so that "its UTF-8 bytes" is what is proven.
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLAIN = "plain sécret ✓ 0123456789"
WRONG = {WHSEC: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", PLAIN: "plain sécret ✓ 0123456780"}
# What may differ between two attempts of one delivery: the moment and what signs it.
PER_ATTEMPT = {"Comfort-Signature", "webhook-timestamp", "webhook-signature"}


def doc_snippet(name: str) -> str:
    """The fenced code block of docs/vendor-webhooks.md marked `<!-- tested: name … -->`."""
    found = re.search(
        rf"<!-- tested: {re.escape(name)}\b[^>]*-->\n```\w+\n(.*?)\n```", DOC.read_text(), re.S
    )
    assert found, f"docs/vendor-webhooks.md has no block marked `tested: {name}`"
    return found.group(1)


def doc_python(name: str) -> dict[str, Any]:
    """Run a Python snippet of the doc; its names, as a vendor's module would have them."""
    namespace: dict[str, Any] = {"__name__": f"vendor_webhooks_{name.replace('-', '_')}"}
    exec(compile(doc_snippet(name), f"{DOC}:{name}", "exec"), namespace)
    return namespace


def library_secret(secret: str) -> str | bytes:
    """What §9.6 says the libraries must be given: a `whsec_` secret as it is, else its bytes."""
    return secret if secret.startswith("whsec_") else secret.encode()


def refused(verifier: Any, body: bytes, headers: dict[str, str]) -> bool:
    """The Python library refuses this: at construction or at verification, by any error."""
    try:
        verifier().verify(body, headers)
    except Exception:
        return True
    return False


async def capture_delivery_and_retry(
    pacing_factory: PacingFactory, receiver: Receiver, secret: str
) -> list[tuple[dict[str, str], bytes]]:
    """A session ended by the vendor: its `session.ended` delivery answered 500, then retried."""
    receiver.fail_first = 1
    server = await pacing_factory(tenants=tenants_with_webhook(receiver.url, secret=secret))
    sid, _, _ = await live_pair(server)
    status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert status == 200
    await receiver.wait(lambda: len(receiver.received) >= 2)
    return [(headers, body) for headers, body, _ in receiver.received[:2]]


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
async def test_a_delivery_and_its_retry_verify_with_the_python_library(
    pacing_factory: PacingFactory, receiver: Receiver, secret: str
) -> None:
    attempts = await capture_delivery_and_retry(pacing_factory, receiver, secret)
    (first, body), (retry, retried_body) = attempts
    delivery = orjson.loads(body)
    assert delivery["type"] == "session.ended"
    assert retried_body == body  # byte-identical
    unchanged = {k: v for k, v in first.items() if k not in PER_ATTEMPT}
    assert unchanged == {k: v for k, v in retry.items() if k not in PER_ATTEMPT}
    assert int(retry["webhook-timestamp"]) >= int(first["webhook-timestamp"])
    comfort_webhook = doc_python("standard-webhooks-python")["comfort_webhook"]
    verify_comfort = doc_python("comfort-signature-python")["verify_comfort_signature"]
    for headers, raw in attempts:
        assert headers["webhook-id"] == delivery["id"] == headers["Comfort-Delivery"]
        assert "." not in headers["webhook-id"]  # the spec: no `.` in an id, it delimits
        stamp = headers["webhook-timestamp"]
        assert headers["Comfort-Signature"].startswith(f"t={stamp},v1=")  # the same moment
        assert abs(int(stamp) - time.time()) < 60
        # The library as §9.6 says to call it, and through the doc's snippet.
        assert Webhook(library_secret(secret)).verify(raw, headers) == delivery
        assert comfort_webhook(secret).verify(raw, headers) == delivery
        with pytest.raises(WebhookVerificationError):
            comfort_webhook(secret).verify(raw + b" ", headers)
        forged = raw.replace(b'"by":"vendor"', b'"by":"client"')
        assert forged != raw
        with pytest.raises(WebhookVerificationError):
            comfort_webhook(secret).verify(forged, headers)
        with pytest.raises(WebhookVerificationError):
            comfort_webhook(WRONG[secret]).verify(raw, headers)
        # Comfort-Signature keeps its key, the secret as written (`whsec_` and all).
        assert verify_comfort(headers["Comfort-Signature"], raw, secret)
        assert not verify_comfort(headers["Comfort-Signature"], raw + b" ", secret)
    # Each key form is the one and only: the other reading of the secret does not verify.
    headers, raw = attempts[0]
    if secret.startswith("whsec_"):
        assert refused(lambda: Webhook(secret.encode()), raw, headers)
        stamp = headers["webhook-timestamp"]
        decoded = hmac.new(base64.b64decode(secret[6:]), f"{stamp}.".encode() + raw, "sha256")
        assert headers["Comfort-Signature"] != f"t={stamp},v1={decoded.hexdigest()}"
    else:
        assert refused(lambda: Webhook(secret), raw, headers)  # the docs' warning: bytes


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
async def test_the_same_deliveries_verify_with_the_npm_library_in_node(
    pacing_factory: PacingFactory, receiver: Receiver, secret: str, tmp_path: Path
) -> None:
    """The captured delivery and retry, written to a file, checked by Node with the doc's
    snippets: the npm `standardwebhooks` package, and the hand-written Comfort-Signature check."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the npm standardwebhooks cross-check needs it")
    if not (NODE_DIR / "node_modules" / "standardwebhooks").is_dir():
        pytest.fail("tests/js/node_modules is missing: run `make install`")
    attempts = await capture_delivery_and_retry(pacing_factory, receiver, secret)
    capture = tmp_path / "deliveries.json"
    capture.write_text(
        json.dumps(
            {
                "secret": secret,
                "wrong_secret": WRONG[secret],
                "attempts": [
                    {"body": base64.b64encode(raw).decode(), "headers": headers}
                    for headers, raw in attempts
                ],
            },
            ensure_ascii=False,
        )
    )
    # The snippets as a vendor's modules, finding the npm package as a vendor's project would.
    (tmp_path / "node_modules").symlink_to(NODE_DIR / "node_modules", target_is_directory=True)
    standard = tmp_path / "standard-webhooks.mjs"
    standard.write_text(doc_snippet("standard-webhooks-node"))
    comfort = tmp_path / "comfort-signature.mjs"
    comfort.write_text(doc_snippet("comfort-signature-node"))
    node = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_SCRIPT),
        str(standard),
        str(comfort),
        str(capture),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(node.communicate(), 30)
    assert node.returncode == 0, err.decode()
    delivery = orjson.loads(attempts[0][1])
    refusal = {"ok": False, "error": "WebhookVerificationError"}
    for report in json.loads(out):
        assert report["verified"] == {"ok": True, "value": delivery}
        assert report["tampered"] == refusal
        assert report["wrongSecret"] == refusal
        assert report["comfortSignature"] is True
        assert report["comfortSignatureTampered"] is False
        if not secret.startswith("whsec_"):
            # The docs' warning: a string in "raw" format is not the UTF-8 bytes beyond ASCII.
            assert report["rawString"] == refusal


# Test vectors published with the Standard Webhooks libraries: github.com/standard-webhooks/
# standard-webhooks at b2fa7b8719fb75d326b591077f5d1b385cfcdfae. The specification
# (spec/standard-webhooks.md) shows an example `webhook-signature` but not the secret behind it,
# so its libraries' tests are where the vectors are.
PUBLISHED_VECTORS = [
    pytest.param(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        # the same vector in javascript, go, ruby, csharp and php's tests
        id="libraries/python/tests/test_webhooks.py::test_sign_function",
    ),
    pytest.param(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        b'{"email":"test@example.com","username":"test_user"}',
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        id="libraries/rust/src/lib.rs::test_sign",
    ),
]


@pytest.mark.parametrize(("secret", "msg_id", "timestamp", "body", "expected"), PUBLISHED_VECTORS)
def test_the_signer_gives_the_published_signatures(
    secret: str, msg_id: str, timestamp: int, body: bytes, expected: str
) -> None:
    assert sign_standard(secret, msg_id, timestamp, body) == expected
    headers = signature_headers(secret, msg_id, timestamp, body)
    assert headers["webhook-id"] == msg_id
    assert headers["webhook-timestamp"] == str(timestamp)
    assert headers["webhook-signature"] == expected
