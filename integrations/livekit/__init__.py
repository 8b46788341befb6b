"""LiveKit: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.livekit.webhook import ADAPTER

__all__ = ["ADAPTER"]
