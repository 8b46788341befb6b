"""Zoom: webhook adapter (webhook.py), client SDK adapter (sdk.js)."""

from integrations.zoom.webhook import ADAPTER

__all__ = ["ADAPTER"]
