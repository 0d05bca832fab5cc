"""Keep freed memory for reuse: large numpy temporaries without fresh pages each batch.

glibc hands allocations above its mmap threshold (128 KiB to start) straight to
the kernel and gives them back on free, and trims the heap top back too, so
every batch's large temporaries (a 256-face chunk's hyper-synthesis
activations are several MB each) arrive as fresh pages that fault in one by
one. Where a page fault is dear (virtual machines, sandboxed containers) that
is most of the cost of an elementwise pass: on the 2-core benchmark machine a
14 MB add took 90 ms on fresh pages and 6 ms on reused ones.
:func:`keep_freed_memory` raises both thresholds once per process (glibc's
``mallopt``), so freed blocks stay in the heap and the next batch reuses them.
Peak memory is unchanged; what the process has freed is not returned to the
system until it exits. ``FACECODEC_KEEP_MEMORY=0`` leaves the allocator alone;
elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: allocations up to this size come from the heap (glibc caps the mmap threshold at 32 MiB
#: on 64-bit unless it is set explicitly, as here)
MMAP_THRESHOLD = 1 << 30
_done = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (once per process); True if it now does."""
    global _done
    if _done:
        return True
    if os.environ.get("FACECODEC_KEEP_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc
        return False
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _done
