"""Platforms without an SDK or webhooks (Doxy.me, any iframe): client overlay adapter only."""
