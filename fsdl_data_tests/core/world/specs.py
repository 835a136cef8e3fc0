"""Random small world specs for the world's unit tests: a start day, sizes and a seed drawn per
seed, so no test leans on one world's numbers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from fsdl_data.core.world.spec import WorldSpec


def random_spec(seed: int) -> WorldSpec:
    rng = np.random.default_rng(seed)
    return WorldSpec(
        seed=seed,
        start_date=date(2026, 1, 1) + timedelta(days=int(rng.integers(0, 300))),
        photos_per_day=int(rng.integers(5, 30)),
        users=int(rng.integers(20, 60)),
        events_per_day=int(rng.integers(300, 1500)),
    )
