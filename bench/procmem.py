"""Peak memory of a child process and the processes it starts, sampled from /proc.

Not ru_maxrss from wait4: a forked child starts with its parent's resident pages, and the
kernel keeps that high-water mark across exec, so a big parent (pytest with a model loaded)
inflates the child's figure; and ru_maxrss is one process's peak, not the sum over a pool.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path


def peak_rss_mb(proc: subprocess.Popen, every: float = 0.02) -> float:
    """MB: the largest sum of VmRSS over `proc` and its descendants, sampled until it exits."""
    peak = 0.0
    while proc.poll() is None:
        tree, total = [proc.pid], 0
        while tree:
            pid = tree.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                tree += [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                         for c in (t / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        peak = max(peak, total / 1024)
        time.sleep(every)
    return peak
