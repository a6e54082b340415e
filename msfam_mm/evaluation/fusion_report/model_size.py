"""Parameters, multiply-accumulates and CPU frames/s of a fusion network,
and where the measurement ran.

Example:
    >>> info = complexity(net, repeats=3)   # doctest: +SKIP
    >>> info['params'], info['fps']         # doctest: +SKIP
    (4220065, 0.29)
"""
import math
import os
import platform
import subprocess
import time
from typing import Tuple

import numpy as np

__all__ = ['complexity', 'cpu_name', 'git_commit']


def complexity(net, repeats: int, size: Tuple[int, int] = (512, 640),
               macs_size: Tuple[int, int] = (256, 320)) -> dict:
    """Parameters, MACs at ``macs_size`` (H, W; mmengine counts
    multiply-adds as "flops", docs/architecture.md) and, with ``repeats``
    > 0, frames/s of the fp32 forward pass at ``size`` on the CPU (one
    untimed warm-up pass first when ``repeats`` >= 2)."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    x = torch.rand(1, 1, *macs_size)
    info = get_model_complexity_info(net, inputs=(x, x.clone()),
                                     show_table=False, show_arch=False)
    out = dict(params=int(sum(p.numel() for p in net.parameters())),
               macs=float(info['flops']), macs_size=tuple(macs_size))
    if repeats > 0:
        vis, ir = torch.rand(1, 1, *size), torch.rand(1, 1, *size)
        times = []
        with torch.no_grad():
            if repeats >= 2:
                net(vis, ir)  # warm-up (oneDNN primitive creation)
            for _ in range(repeats):
                t0 = time.perf_counter()
                net(vis, ir)
                times.append(time.perf_counter() - t0)
        out.update(seconds=times, fps=1.0 / float(np.median(times)),
                   threads=torch.get_num_threads(), size=tuple(size),
                   load=os.getloadavg()[0] if hasattr(os, 'getloadavg')
                   else math.nan)
    return out


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the platform's."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(cwd: str) -> str:
    """The short commit of the checkout at ``cwd`` ('unknown' outside
    git)."""
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                              cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
