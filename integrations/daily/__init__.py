"""Daily: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.daily.webhook import ADAPTER

__all__ = ["ADAPTER"]
