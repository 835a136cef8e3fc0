from pathlib import Path

import pytest

from fsdl_data.config import Settings
from fsdl_data.core.vision.threads import cores_busy_beside, thread_count, torch_threads


@pytest.mark.parametrize("cpus", [1, 2, 3, 8, 16])
def test_a_step_alone_gets_every_core(cpus: int) -> None:
    assert torch_threads(cpus) == cpus
    assert torch_threads(cpus, steps_beside=0, busy_beside=0.1) == cpus  # noise is not company


def test_company_takes_cores_whichever_way_it_is_seen() -> None:
    assert torch_threads(2, steps_beside=1) == 1  # a sibling step of the run
    assert torch_threads(2, busy_beside=1.9) == 1  # other programs on the cores
    assert torch_threads(16, steps_beside=3) == 13
    assert torch_threads(16, busy_beside=4.2) == 12
    assert torch_threads(16, steps_beside=3, busy_beside=2.6) == 13  # a busy sibling is both
    assert torch_threads(16, steps_beside=2, busy_beside=5.0) == 11
    assert torch_threads(2, steps_beside=8, busy_beside=30.0) == 1  # never zero


def _threads(env: dict[str, str], cpus: int, **beside: float) -> int:
    settings = Settings.from_env(env)
    return thread_count(settings.torch_threads, settings.parallel_steps, cpus=cpus, **beside)


def test_environment_sets_the_policy() -> None:
    assert _threads({}, cpus=2) == 2  # alone (the in-process executor): every core
    assert _threads({}, cpus=2, steps_beside=1) == 1
    assert _threads({"FSDL_PARALLEL_STEPS": "4"}, cpus=8, busy_beside=7.0) == 2  # told: divide
    assert _threads({"FSDL_TORCH_THREADS": "3", "FSDL_PARALLEL_STEPS": "1"}, cpus=8) == 3


def test_a_bad_setting_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="FSDL_TORCH_THREADS='many': give a whole number"):
        Settings.from_env({"FSDL_TORCH_THREADS": "many"})
    with pytest.raises(
        ValueError, match="FSDL_PARALLEL_STEPS='0': give a whole number, at least 1"
    ):
        Settings.from_env({"FSDL_PARALLEL_STEPS": "0"})


class _Stat:
    """A /proc/stat whose `cpu` line advances by given jiffies at each read."""

    def __init__(self, tmp_path: Path, steps: list[tuple[int, int]]) -> None:
        self.path, self.steps, self.busy, self.idle = tmp_path / "stat", iter(steps), 0, 0

    def read_text(self) -> str:
        busy, idle = next(self.steps)
        self.busy, self.idle = self.busy + busy, self.idle + idle
        # user nice system idle iowait irq softirq steal: busy split over user and system
        return f"cpu  {self.busy // 2} 0 {self.busy - self.busy // 2} {self.idle} 0 0 0 0\ncpu0 1\n"


def test_busy_cores_are_read_from_the_machines_counters(tmp_path: Path) -> None:
    # 4 cores; between the two reads, 300 of 400 jiffies busy: 3 cores (less this process's
    # own CPU in the window, which sleeps)
    stat = _Stat(tmp_path, [(1000, 5000), (300, 100)])
    busy = cores_busy_beside(0.01, stat, machine_cores=4)  # type: ignore[arg-type]
    assert busy == pytest.approx(3.0, abs=0.1)
    idle = _Stat(tmp_path, [(10, 10), (0, 400)])
    assert cores_busy_beside(0.01, idle, machine_cores=4) == 0.0  # type: ignore[arg-type]
    assert cores_busy_beside(0.01, tmp_path / "missing") == 0.0  # no /proc: nothing seen
