"""Benchmark: torch's thread count against the steps that share the cores.

Trains the photo classifier (fixed steps) and runs inference on model-sized photos with 1 and 2
torch threads, alone and beside a busy sibling process (what a parallel step is under the
multiprocess executor), and prints the median and spread of --repeats runs of each. The policy in
fsdl_data/core/vision/threads.py follows from it. Run: `make bench-threads`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import numpy as np


def _busy(stop: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x += i * i


def _time_once(
    threads: int, images: np.ndarray, labels: list[str], steps: int
) -> tuple[float, float]:
    import torch

    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.vision.infer import classify_pixels
    from fsdl_data.core.vision.train import TrainConfig, train_classifier

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    classifier, _ = train_classifier(
        images, labels, CONTENT_CLASSES, "bench", TrainConfig(steps=steps)
    )
    t1 = time.perf_counter()
    ids = list(range(len(images)))
    classify_pixels(classifier, ids, [str(i) for i in ids], images, 64, "cpu")
    return t1 - t0, time.perf_counter() - t1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--photos", type=int, default=4000)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()

    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.vision.pixels import IMAGE_SIZE

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (a.photos, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    labels = [CONTENT_CLASSES[i] for i in rng.integers(0, len(CONTENT_CLASSES), a.photos)]
    _time_once(1, images[:200], labels[:200], 5)  # warm-up

    print(f"{a.photos} photos, {a.steps} training steps, {a.repeats} runs each; median (min-max) s")
    print(f"{'sibling step':<14}{'threads':>8}{'train':>24}{'inference':>24}")
    for busy in (False, True):
        stop = multiprocessing.Event()
        sibling = multiprocessing.Process(target=_busy, args=(stop,)) if busy else None
        if sibling:
            sibling.start()
        try:
            for threads in (1, 2):
                runs = [_time_once(threads, images, labels, a.steps) for _ in range(a.repeats)]
                cells = []
                for column in zip(*runs, strict=True):
                    cells.append(
                        f"{statistics.median(column):.2f} ({min(column):.2f}-{max(column):.2f})"
                    )
                label = "busy" if busy else "none"
                print(f"{label:<14}{threads:>8}{cells[0]:>24}{cells[1]:>24}", flush=True)
        finally:
            stop.set()
            if sibling:
                sibling.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
