"""How many threads torch may use in a step: the cores that nothing beside it is using.

torch starts one intra-op thread per core. When other work shares the cores (a sibling step
under the multiprocess executor, another run, another program), oversubscribed threads wait
on each other at every parallel region: on this project's 2-core machine two threads beside
a busy sibling are slower and far more erratic than one (`bench/torch_threads.py`; the
nightly bench prints both beside the count chosen). So a step that runs alone (the in-process
executor of the CLI and the demo, a Celery `gpu` worker started with `-c 1`, a Kubernetes pod)
gets every core it may run on, and one that has company gets what the company leaves.

`thread_count` decides from arguments: what the step runs beside is measured by its caller
(the Dagster resource counts the run's executing steps; `cores_busy_beside` samples the
machine) and FSDL_TORCH_THREADS / FSDL_PARALLEL_STEPS arrive through Settings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def torch_threads(cpus: int, steps_beside: int = 0, busy_beside: float = 0.0) -> int:
    """The cores left to this step, at least one: `cpus` it may run on, less one per step
    running beside it (`steps_beside`) or the cores other work was seen to keep busy
    (`busy_beside`), whichever is more (a busy sibling step is both), rounded to the nearest
    whole core."""
    taken = max(float(max(0, steps_beside)), max(0.0, busy_beside))
    return max(1, min(cpus, round(cpus - taken)))


def thread_count(
    explicit: int | None = None,
    parallel_steps: int | None = None,
    *,
    cpus: int,
    steps_beside: int = 0,
    busy_beside: float = 0.0,
) -> int:
    """`explicit` if given; else, when the deployment says how many steps share the machine
    (`parallel_steps`), the cores divided among them; else what `torch_threads` leaves."""
    if explicit:
        return max(1, explicit)
    if parallel_steps:
        return max(1, cpus // parallel_steps)
    return torch_threads(cpus, steps_beside, busy_beside)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset`
    narrows), not the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _cpu_jiffies(stat: Path) -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores from /proc/stat's `cpu` line."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def cores_busy_beside(
    window_s: float = 0.2, stat: Path = Path("/proc/stat"), machine_cores: int | None = None
) -> float:
    """How many cores other processes kept busy over the last `window_s` seconds (this
    process's own CPU time in the window taken out); 0.0 where /proc/stat cannot be read."""
    machine_cores = machine_cores or os.cpu_count() or 1
    before, own_before, start = _cpu_jiffies(stat), time.process_time(), time.monotonic()
    time.sleep(window_s)
    after, own_after, wall = _cpu_jiffies(stat), time.process_time(), time.monotonic() - start
    if before is None or after is None or after[1] <= before[1]:
        return 0.0
    busy = machine_cores * (after[0] - before[0]) / (after[1] - before[1])
    return max(0.0, busy - (own_after - own_before) / wall)


def use_torch_threads(count: int) -> int:
    """Set torch's intra-op threads for this process; returns the count."""
    import torch

    torch.set_num_threads(count)
    return count
