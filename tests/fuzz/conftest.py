"""Fuzzing with hypothesis: the parsers of untrusted input raise only their package's errors.

A short, derandomized run is part of every `pytest` run (`make test`). `make fuzz` runs the same
properties with `OUTPOST_FUZZ_EXAMPLES` examples per property and fresh seeds, over and over
until `OUTPOST_FUZZ_SECONDS` have passed (one hour by default); see the README. A per-example
deadline turns a hang or a super-linear parse into a failure with the input that caused it.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("OUTPOST_FUZZ_EXAMPLES", "40"))
LONG = "OUTPOST_FUZZ_EXAMPLES" in os.environ

settings.register_profile(
    "outpost-fuzz",
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    derandomize=not LONG,
    database=None if not LONG else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("outpost-fuzz")
