"""Twilio Video: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.twilio.webhook import ADAPTER

__all__ = ["ADAPTER"]
