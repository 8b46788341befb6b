"""Hypothesis profiles for the fuzz suites, chosen by HYPOTHESIS_PROFILE.

`quick` (the default, run by `make test`) keeps each target to a few seconds; `deep` (run by
`make fuzz`) runs tens of thousands of cases per target (FUZZ_DEEP_EXAMPLES, 20,000 by
default). The fuzz tests carry `FUZZ` explicitly, so other hypothesis tests of the suite keep
Hypothesis' own default profile. Quick runs are derandomised, so a CI failure replays locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "print_blob": True,
}

settings.register_profile("quick", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile(
    "deep",
    max_examples=int(os.environ.get("FUZZ_DEEP_EXAMPLES", "20000")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **_COMMON,
)

PROFILE = "deep" if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else "quick"
FUZZ = settings(settings.get_profile(PROFILE))
DEEP = PROFILE == "deep"
#: For the properties run once per platform (8): a quarter of a target's examples each on the
#: deep profile, so that each property gets twice a target's in all.
FUZZ_PER_PLATFORM = settings(FUZZ, max_examples=max(60, FUZZ.max_examples // 4)) if DEEP else FUZZ
