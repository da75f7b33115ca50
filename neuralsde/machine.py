"""What machine produced a number: library versions, CPU, cores and threads, for the JSON of
benchmarks and experiments (one definition, so every result file says the same things)."""

from __future__ import annotations

import contextlib
import os
import platform
from datetime import datetime

import torch

__all__ = ["machine", "torch_threads"]


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as handle:
            return next((line.split(":", 1)[1].strip() for line in handle
                         if line.startswith("model name")), None)
    except OSError:
        return platform.processor() or platform.machine() or None


def machine(**extra) -> dict:
    """Versions (torch, torchsde, Python), the CPU's name, cores, torch threads and the date,
    plus any ``extra`` entries."""
    import torchsde

    return {"torch": torch.__version__, "torchsde": torchsde.__version__,
            "threads": torch.get_num_threads(), "cpu": _cpu_name(), "cores": os.cpu_count(),
            "python": platform.python_version(),
            "date": datetime.now().isoformat(timespec="seconds"), **extra}


@contextlib.contextmanager
def torch_threads(n: int):
    """torch with ``n`` CPU threads inside, the caller's setting restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
