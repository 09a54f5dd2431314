"""What this machine offers a run: its CPUs (as this process may use them) and its CUDA devices.

Counted without importing torch, so the sweep can plan its workers cheaply.
"""
from __future__ import annotations

import os
import shutil
import subprocess


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
