"""Fuzz suites: the hypothesis profiles live in `profiles.py` (HYPOTHESIS_PROFILE=quick|deep);
importing it here registers them before any test module is collected."""

from __future__ import annotations

from tests.fuzz import profiles  # noqa: F401
