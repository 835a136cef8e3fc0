import pytest

from fsdl_data.config import Settings
from fsdl_data.core.vision.threads import thread_count, torch_threads


def test_cores_are_shared_among_parallel_steps() -> None:
    assert torch_threads(2, 2) == 1
    assert torch_threads(16, 4) == 4
    assert torch_threads(16, 1) == 16
    assert torch_threads(2, 8) == 1  # never zero


def _threads(env: dict[str, str], cpus: int) -> int:
    settings = Settings.from_env(env)
    return thread_count(settings.torch_threads, settings.parallel_steps, cpus)


def test_environment_sets_the_policy() -> None:
    assert _threads({}, cpus=2) == 1  # multiprocess default: a step per core
    assert _threads({"FSDL_PARALLEL_STEPS": "1"}, cpus=8) == 8  # a gpu worker, -c 1
    assert _threads({"FSDL_TORCH_THREADS": "3", "FSDL_PARALLEL_STEPS": "1"}, cpus=8) == 3


def test_a_bad_setting_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="FSDL_TORCH_THREADS='many': give a whole number"):
        Settings.from_env({"FSDL_TORCH_THREADS": "many"})
    with pytest.raises(
        ValueError, match="FSDL_PARALLEL_STEPS='0': give a whole number, at least 1"
    ):
        Settings.from_env({"FSDL_PARALLEL_STEPS": "0"})
