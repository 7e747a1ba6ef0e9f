"""Hypothesis profiles: ``ci`` (the default, a few seconds) and ``long`` for a real hunt.

OTCAUTH_FUZZ_PROFILE=long scripts/test tests/fuzz   # 60 times the examples (6,000, not 100)
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

# Our own time bound is checked per request; Hypothesis's deadline would flake on a busy machine.
_COMMON: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=100, database=None, **_COMMON)
settings.register_profile("long", max_examples=6000, **_COMMON)
settings.load_profile(os.environ.get("OTCAUTH_FUZZ_PROFILE", "ci"))
