"""Vonage Video (OpenTok): webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.vonage.webhook import ADAPTER

__all__ = ["ADAPTER"]
