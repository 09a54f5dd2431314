"""What this machine offers a run: its CPUs (as this process may use them) and its CUDA devices,
and how this process's memory allocator keeps what a training step frees.

Counted without importing torch, so the sweep can plan its workers cheaply.
"""
from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import sys

# glibc's mallopt parameters (malloc.h), and the largest block it lets the heap serve (32 MiB,
# its ceiling for M_MMAP_THRESHOLD on 64-bit machines).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCK_CEILING = 32 * 2**20
KEEP_FREED_BYTES = 2**30


def visible_gpus() -> list[int]:
    """CUDA devices this process may use, counted without importing torch: CUDA_VISIBLE_DEVICES
    when set, else ``nvidia-smi -L``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [e for e in visible.split(",") if e.strip()]
        # CUDA stops at the first invalid entry; -1 is the usual way to hide every device.
        count = next((i for i, e in enumerate(entries) if e.strip().startswith("-")), len(entries))
        return list(range(count))
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(range(sum(line.startswith("GPU ") for line in listed.splitlines())))


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: a container's or ``taskset``'s share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads_per_process(processes: int) -> int:
    """Threads for each of ``processes`` CPU processes running at once, so that they share the
    cores: oversubscribed torch threads slow every process down several times."""
    return max(1, usable_cpus() // processes)


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc keep the memory a training step frees for the next step (blocks up to 32 MiB
    from its heap, up to 1 GiB of free heap kept), instead of handing it back to the system and
    taking it again, zeroed page by page: a GLAM step at batch 32 on one CPU thread took ~6,000
    page faults and 10 ms of kernel time (2-3 % of the step) that way. Where allocations come
    from changes no value. Once per process; False where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Setting either turns glibc's adaptive thresholds off, so both are set, the block size first.
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_CEILING)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
