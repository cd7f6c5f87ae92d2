"""`trace(event)`: one line per page or fragment run in $LMC_DASHBOARD_TRACE, for benchmarks.

Call it at the top of a page and inside each fragment, so that the benchmark and the tests can
check that a widget in a fragment reruns only that fragment; nothing happens when it is unset.
"""

from __future__ import annotations

import time

from dashboard.settings import load_settings


def trace(event: str) -> None:
    """Append `<time> <event>` to $LMC_DASHBOARD_TRACE; nothing when unset."""
    # The environment is read on every call: it is cheap, and tests change it between apps.
    path = load_settings().trace_file
    if path is not None:
        with open(path, "a") as f:
            f.write(f"{time.time():.4f} {event}\n")
