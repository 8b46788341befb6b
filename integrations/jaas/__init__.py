"""JaaS (8x8): webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.jaas.webhook import ADAPTER

__all__ = ["ADAPTER"]
