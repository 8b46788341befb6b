"""The platforms' own published material (data/*.json, each naming its source), and a way to
hand one request to an adapter as the service would."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integrations import ADAPTERS
from integrations.base import WebhookOutcome, WebhookRequest

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    assert data.get("source") or all("source" in v for v in data.values() if isinstance(v, dict))
    return data


def request(
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    received_at: float,
    url: str = "https://comfort.example.com/webhooks/acme/x",
    path: str = "/webhooks/acme/x",
    query: str = "",
) -> WebhookRequest:
    raw = body.encode() if isinstance(body, str) else body
    return WebhookRequest("POST", url, path, query, headers, raw, received_at)


def receive(platform: str, req: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
    """Verify then parse, as the webhook route does."""
    adapter = ADAPTERS[platform]
    adapter.verify(req, config)
    return adapter.parse(req, config)
