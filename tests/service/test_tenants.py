"""service/tenants.py: a `webhook_secret` must give a key for `webhook-signature` (contract
§9.6). A `whsec_` secret — a Standard Webhooks or Svix secret, pasted as given — is read as base64
after the prefix, and refused when the tenants file is read if it is not canonical, padded
standard base64 of a key (the libraries disagree on anything else), with a message naming the
tenant and `webhook_secret` and never quoting the secret. The URL rules of the same file are in
test_webhook_targets.py."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks import Webhook

from service.outbox import sign_standard, signature_headers
from service.tenants import Tenant, TenantRegistry, TenantsFileError, standard_webhooks_key
from tests.fuzz.profiles import FUZZ
from tests.service.tenants_helpers import refused_with, tenants_file

KEY = bytes(range(200, 232))  # 32 bytes, as a Standard Webhooks secret may be (24 to 64)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("whsec_", id="nothing after the prefix"),
        pytest.param("whsec_not base64!", id="not base64"),
        pytest.param("whsec_" + base64.b64encode(KEY[:23]).decode().rstrip("="), id="unpadded"),
        pytest.param("whsec_" + base64.urlsafe_b64encode(KEY).decode(), id="url-safe alphabet"),
        pytest.param("whsec_QR==", id="non-canonical trailing bits"),
        pytest.param("whsec_" + base64.b64encode(KEY).decode() + "\n", id="a trailing newline"),
        pytest.param("whsec_" + base64.b64encode(KEY).decode() + " ", id="a trailing space"),
        pytest.param("whsec_" + base64.b64encode(KEY).decode()[:-4] + "é" * 4, id="beyond ASCII"),
        pytest.param("", id="empty"),
    ],
)
def test_a_secret_that_gives_no_key_is_refused_naming_webhook_secret(
    tmp_path: Path, secret: str
) -> None:
    message = refused_with(tenants_file(tmp_path, secret=secret))
    assert message.startswith("[tenants.acme]: webhook_secret: "), message
    remainder = secret.removeprefix("whsec_").strip()
    assert not remainder or remainder not in message, "the secret is quoted"


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # Standard Webhooks' and Svix's own example
        "whsec_" + base64.b64encode(KEY[:25]).decode(),  # padded with "=="
        "whsec_" + base64.b64encode(KEY[:26]).decode(),  # padded with "="
        "whsec_" + base64.b64encode(KEY).decode(),
    ],
)
def test_a_whsec_secret_keys_as_the_standard_webhooks_library_reads_it(
    tmp_path: Path, secret: str
) -> None:
    registry = TenantRegistry.from_file(tenants_file(tmp_path, secret=secret))
    tenant = registry.get("acme")
    assert tenant is not None and tenant.webhook_secret is not None
    assert standard_webhooks_key(tenant.webhook_secret.get_secret_value()) == base64.b64decode(
        secret[6:]
    )
    # The PyPI library, given the secret as it is, signs as the service does.
    at = datetime(2026, 11, 25, 21, 55, tzinfo=UTC)
    expected = Webhook(secret).sign("dlv_1", at, '{"id":"dlv_1"}')
    assert sign_standard(secret, "dlv_1", int(at.timestamp()), b'{"id":"dlv_1"}') == expected


@pytest.mark.parametrize(
    "secret",
    [
        "whsec-test-0123456789",
        "WHSEC_abc",
        "whsec",
        " whsec_" + base64.b64encode(KEY).decode(),  # a space before: not the prefix
        "plain sécret ✓ with\\backslash",
    ],
)
def test_any_other_secret_keys_with_its_utf8_bytes(tmp_path: Path, secret: str) -> None:
    registry = TenantRegistry.from_file(tenants_file(tmp_path, secret=secret))
    tenant = registry.get("acme")
    assert tenant is not None and tenant.webhook_secret is not None
    assert tenant.webhook_secret.get_secret_value() == secret
    assert standard_webhooks_key(secret) == secret.encode("utf-8")


def test_check_tenants_says_which_key_is_wrong_without_the_secret(tmp_path: Path) -> None:
    """What an operator sees: `comfort check-tenants` exits naming the tenant and the key (as
    `comfort serve` does: both read the file with `TenantRegistry.from_file`)."""
    secret = "whsec_" + base64.urlsafe_b64encode(KEY).decode()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMFORT_")}
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "check-tenants",
            str(tenants_file(tmp_path, secret=secret)),
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1
    assert "[tenants.acme]: webhook_secret: " in checked.stderr
    assert "standard base64" in checked.stderr
    assert secret[6:] not in checked.stderr + checked.stdout


# All of Unicode, lone surrogates included, and text near the `whsec_` form.
ANY_TEXT = st.text(st.characters(codec=None, categories=None))
NEAR_WHSEC = st.builds(
    "".join,
    st.lists(
        st.sampled_from(["whsec_", "=", "==", "+", "/", "-", "_", " ", "\n", "\ud800", "é"])
        | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", max_size=8)
        | ANY_TEXT,
        max_size=8,
    ),
)


def refusal_of(secret: str) -> str:
    with pytest.raises(ValueError) as refused:
        standard_webhooks_key(secret)
    return f"Value error, {refused.value}"


# Each refusal says one of these, and so quotes nothing of the secret.
REFUSALS = {refusal_of(""), refusal_of("plain \ud800"), refusal_of("whsec_")}


@pytest.mark.fuzz
@FUZZ
@given(secret=ANY_TEXT | NEAR_WHSEC)
@example(secret="plain \ud800 secret")
@example(secret="whsec_QUJD\udfff")
def test_any_secret_gives_a_key_or_a_clear_refusal_that_quotes_nothing(secret: str) -> None:
    """Whatever is written, a tenant is built with a key for both signatures, or refused with a
    ValidationError on `webhook_secret` alone, saying one of the documented reasons."""
    try:
        tenant = Tenant(
            id="acme",
            api_key_sha256="0" * 64,
            webhook_secret=secret,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        (error,) = exc.errors()
        assert error["loc"] == ("webhook_secret",)
        assert error["msg"] in REFUSALS
        assert refusal_of(secret) == error["msg"]
        return
    key = standard_webhooks_key(secret)
    assert key
    assert tenant.webhook_secret is not None
    signature_headers(tenant.webhook_secret.get_secret_value(), "dlv_1", 0, b"{}")


@pytest.mark.fuzz
@FUZZ
@given(key=st.binary(min_size=1, max_size=96))
def test_every_key_written_as_whsec_base64_is_read_back(key: bytes) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    assert standard_webhooks_key(secret) == key
    assert sign_standard(secret, "dlv_1", 1, b"{}") == Webhook(secret).sign(
        "dlv_1", datetime.fromtimestamp(1, UTC), "{}"
    )


@pytest.mark.fuzz
@FUZZ
@given(raw=st.binary(max_size=64))
def test_raw_bytes_as_a_secret_in_the_file_are_read_or_refused_clearly(raw: bytes) -> None:
    """Whatever bytes stand between the quotes (a secret pasted in another encoding, say), the
    file is read or refused with a TenantsFileError, never a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tenants.toml"
        path.write_bytes(
            b'[tenants.acme]\napi_key = "acme-key-0123456789abcdef"\nwebhook_secret = "'
            + raw
            + b'"\n'
        )
        try:
            registry = TenantRegistry.from_file(path)
        except TenantsFileError as exc:
            assert len(raw) < 6 or raw not in str(exc).encode(errors="surrogateescape")
            return
    tenant = registry.get("acme")
    assert tenant is not None and tenant.webhook_secret is not None
    assert standard_webhooks_key(tenant.webhook_secret.get_secret_value())
