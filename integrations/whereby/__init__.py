"""Whereby Embedded: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.whereby.webhook import ADAPTER

__all__ = ["ADAPTER"]
