"""Keep freed memory inside the process, so the next batch does not fault in fresh pages.

glibc's malloc hands every large block (over 128 KiB at first) to the kernel with `mmap` and
back with `munmap` when it is freed, and it returns the top of its heap once enough there is
free. It adapts both limits to what the program frees, but a forward pass allocates and frees
activations of many sizes batch after batch, so each batch still asks the kernel for pages it has
just given back, and the kernel zeroes every page again on first touch. On the 2-core
development VM (2026-12-03, `small` preset, 2 threads, this module off with `LMC_MALLOC=system`):

| run | page faults, system malloc | with these settings | clips/s |
|---|---|---|---|
| memory pass over 500 test clips, batch 4 | 594,000 | 585 | 99 -> 123 |
| the same, batch 16 | 1,070,000 | 17,400 | 93 -> 134 |
| evaluation 10 -> 10 of 128 clips, batch 32 | 215,000 | 1,900 | 25.7 -> 28.9 |

(best of two alternating rounds each; training iterations fault little either way.)

`keep_freed_memory` raises glibc's mmap threshold to its maximum (32 MiB: larger blocks are
still mapped) and lets the heap keep up to 1 GiB of free memory before giving it back. The cost is
a resident size that stays at the process's peak (up to that 1 GiB more), so it is the choice of
a whole process, not of a library: the entry points that want it apply it (every command line,
through `lmc.cli.run`; the dashboard's server; the CPU bench's children), and `import lmc` alone
changes nothing outside lmc (a notebook may call `keep_freed_memory()` itself).
`LMC_MALLOC=system` leaves the system's malloc as it is (as does any other C library than glibc,
or another operating system than Linux). Nothing computed changes, only where memory comes from.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # glibc's upper limit for it on 64-bit systems
TRIM_THRESHOLD = 1 << 30
TOP_PAD = 64 << 20

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the settings above (once per process); True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if os.environ.get("LMC_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # not glibc (musl's mallopt does nothing)
        return False
    return all(
        libc.mallopt(parameter, value) == 1
        for parameter, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
    )
