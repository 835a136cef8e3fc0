import pytest

from fsdl_data.core.vision.threads import threads_from_env, torch_threads


def test_cores_are_shared_among_parallel_steps() -> None:
    assert torch_threads(2, 2) == 1
    assert torch_threads(16, 4) == 4
    assert torch_threads(16, 1) == 16
    assert torch_threads(2, 8) == 1  # never zero


def test_environment_sets_the_policy() -> None:
    assert threads_from_env({}, cpus=2) == 1  # multiprocess default: a step per core
    assert threads_from_env({"FSDL_PARALLEL_STEPS": "1"}, cpus=8) == 8  # a gpu worker, -c 1
    assert threads_from_env({"FSDL_TORCH_THREADS": "3", "FSDL_PARALLEL_STEPS": "1"}, cpus=8) == 3


def test_a_bad_setting_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="whole number of threads"):
        threads_from_env({"FSDL_TORCH_THREADS": "many"}, cpus=2)
