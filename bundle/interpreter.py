"""Is this Python safe to read bundles with? The check behind `bundle verify` and friends.

CPython's `tarfile` before 3.11.10 / 3.12.5 parses pax headers with regular expressions that
backtrack (CVE-2024-6232): a crafted header of 64 KiB takes seconds, and chains of them minutes.
The strict reader parses pax headers itself (`bundle.tarheaders`), so `tarfile`'s code is never
reached; refusing to verify on a flawed interpreter keeps it that way if that ever changes.
The fix is detected by what the interpreter's `tarfile` contains, not by its version number:
distributions backport it (Debian 12's 3.11.2-6+deb12u4 and later carry it).
"""

from __future__ import annotations

import os
import sys
import tarfile

from bundle.errors import BundleError

FLAW = "CVE-2024-6232"
MINIMUM = "3.11.10 or later, or 3.12.5 or later (or a distribution build carrying the fix)"
# The fix added this precompiled expression for the pax record length; flawed builds lack it.
_FIX_MARKER = "_header_length_prefix_re"
# For machines without any patched Python: the reader's own header parsing still protects them.
OVERRIDE = "OUTPOST_ACCEPT_CVE_2024_6232"


def tarfile_is_patched(module: object = tarfile) -> bool:
    """True when the `tarfile` module carries the CVE-2024-6232 fix."""
    return hasattr(module, _FIX_MARKER)


def require_patched_tarfile() -> None:
    """Refuse to read bundles on an interpreter whose `tarfile` has the known flaw.

    Raises:
        BundleError: the flaw is there and `OUTPOST_ACCEPT_CVE_2024_6232=1` is not set.
    """
    if tarfile_is_patched() or os.environ.get(OVERRIDE) == "1":
        return
    version = ".".join(str(n) for n in sys.version_info[:3])
    raise BundleError(
        f"interpreter check failed: this Python ({version}, {sys.executable}) has the tarfile"
        f" header-parsing flaw {FLAW}; run Outpost on Python {MINIMUM}"
        f" (`make install` picks one when it is on PATH), or set {OVERRIDE}=1 to rely on the"
        " reader's own header checks alone"
    )
