"""How many threads torch may use in a step: the machine's cores shared by the steps that run
beside it.

torch starts one intra-op thread per core. Under the multiprocess executor other steps run on
the same cores, and oversubscribed threads wait on each other: on this project's 2-core machine
two threads beside a busy sibling step train slower and far more erratically than one
(`bench/torch_threads.py`). A step that has the machine to itself (a Celery `gpu` worker started
with `-c 1`, a Kubernetes pod) uses every core. The counts come from Settings
(FSDL_TORCH_THREADS, FSDL_PARALLEL_STEPS) as arguments.
"""

from __future__ import annotations

import os


def torch_threads(cpus: int, parallel_steps: int) -> int:
    """Cores per step, at least one."""
    return max(1, cpus // max(1, parallel_steps))


def thread_count(
    explicit: int | None = None, parallel_steps: int | None = None, cpus: int | None = None
) -> int:
    """`explicit` if given; else the cores divided among `parallel_steps` steps, which defaults
    to the multiprocess executor's parallelism (one step per core)."""
    if explicit:
        return max(1, explicit)
    cpus = cpus or os.cpu_count() or 1
    return torch_threads(cpus, parallel_steps or cpus)


def use_torch_threads(count: int) -> int:
    """Set torch's intra-op threads for this process; returns the count."""
    import torch

    torch.set_num_threads(count)
    return count
