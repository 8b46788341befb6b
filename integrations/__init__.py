"""Video platform integrations: one package per platform, and the registry of webhook adapters."""

from __future__ import annotations

from integrations.base import PlatformAdapter
from integrations.daily import ADAPTER as _DAILY
from integrations.jaas import ADAPTER as _JAAS
from integrations.jitsi import ADAPTER as _JITSI
from integrations.livekit import ADAPTER as _LIVEKIT
from integrations.twilio import ADAPTER as _TWILIO
from integrations.vonage import ADAPTER as _VONAGE
from integrations.whereby import ADAPTER as _WHEREBY
from integrations.zoom import ADAPTER as _ZOOM

#: Webhook adapters by platform name (contract §6). `generic` has none: no webhooks.
ADAPTERS: dict[str, PlatformAdapter] = {
    adapter.name: adapter
    for adapter in (_ZOOM, _DAILY, _JAAS, _JITSI, _WHEREBY, _LIVEKIT, _TWILIO, _VONAGE)
}

__all__ = ["ADAPTERS"]
