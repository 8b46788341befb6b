"""Self-hosted Jitsi Meet: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.jitsi.webhook import ADAPTER

__all__ = ["ADAPTER"]
