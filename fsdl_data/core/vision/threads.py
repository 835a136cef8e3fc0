"""How many threads torch may use in a step: the machine's cores shared by the steps that run
beside it.

torch starts one intra-op thread per core. Under the multiprocess executor other steps run on
the same cores, and oversubscribed threads wait on each other: on this project's 2-core machine
two threads beside a busy sibling step train slower and far more erratically than one
(`bench/torch_threads.py`). A step that has the machine to itself (a Celery `gpu` worker started
with `-c 1`, a Kubernetes pod) uses every core.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

THREADS_ENV = "FSDL_TORCH_THREADS"  # an explicit count wins
PARALLEL_STEPS_ENV = "FSDL_PARALLEL_STEPS"  # steps sharing this machine's cores


def torch_threads(cpus: int, parallel_steps: int) -> int:
    """Cores per step, at least one."""
    return max(1, cpus // max(1, parallel_steps))


def threads_from_env(env: Mapping[str, str] | None = None, cpus: int | None = None) -> int:
    """FSDL_TORCH_THREADS if set; else the cores divided among FSDL_PARALLEL_STEPS steps, which
    defaults to the multiprocess executor's parallelism (one step per core)."""
    env = os.environ if env is None else env
    cpus = cpus or os.cpu_count() or 1
    explicit = env.get(THREADS_ENV)
    if explicit:
        try:
            return max(1, int(explicit))
        except ValueError:
            raise ValueError(
                f"{THREADS_ENV}={explicit!r}: give a whole number of threads"
            ) from None
    parallel = env.get(PARALLEL_STEPS_ENV)
    try:
        steps = int(parallel) if parallel else cpus
    except ValueError:
        raise ValueError(
            f"{PARALLEL_STEPS_ENV}={parallel!r}: give a whole number of steps"
        ) from None
    return torch_threads(cpus, steps)


def use_torch_threads(env: Mapping[str, str] | None = None) -> int:
    """Set torch's intra-op threads for this process; returns the count."""
    import torch

    count = threads_from_env(env)
    torch.set_num_threads(count)
    return count
