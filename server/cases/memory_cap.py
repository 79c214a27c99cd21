"""The extraction worker's memory cap (``RLIMIT_AS``) and whether a failure happened at it.

Libraries do not always say ``MemoryError`` when an allocation fails under the cap: lxml reports
an ``XMLSyntaxError('unknown error')`` and pypdf wraps what it catches in ``PdfReadError``. A parse
failure while the process's peak address space (``VmPeak``, Linux ``/proc/self/status``) reached
most of the cap is therefore taken as "needs more memory", not as a damaged file.
"""

from __future__ import annotations

import resource

_NEAR = 0.8  # of the cap: a failure after the peak reached this much is a memory failure


def limit_memory(max_bytes: int) -> None:
    """Cap this process's address space at ``max_bytes`` bytes (0: leave it uncapped)."""
    if max_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def near_cap() -> bool:
    """True when this process has a cap and its peak address space came within 80% of it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return False
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024 >= _NEAR * soft
    except OSError:
        return False
    return False
