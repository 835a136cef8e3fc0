"""Benchmark: does labeling the photos the classifier is least sure of pay, and does augmentation?

1. Active learning. A pool of world photos with hidden content, a held-out test set, and an
   annotator who answers with the truth. Start from --initial random labels; each round, train
   the classifier from scratch on the labels so far, score the pool and label --budget more,
   chosen by `select_for_labeling` (uncertainty: 1 - margin) or at random. Prints test accuracy
   after every round for both strategies, per seed and the mean over --seeds seeds.
2. Augmentation. The same labels, trained with the default policy (flip, crop, colour jitter)
   and without; test accuracy per seed and the mean, at two label counts.
Run: `make bench-active`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_photos(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """n world photos as the classifier sees them (64x64 from a JPEG), with their content."""
    from fsdl_data.core.vision.pixels import thumbnail
    from fsdl_data.core.world.images import encode_jpeg, render_photo
    from fsdl_data.core.world.population import _CONTENT_PROBS
    from fsdl_data.core.world.spec import CONTENT_CLASSES

    rng = np.random.default_rng(seed)
    content = rng.choice(len(CONTENT_CLASSES), size=n, p=_CONTENT_PROBS)
    labels = [CONTENT_CLASSES[i] for i in content]
    images = np.stack(
        [thumbnail(encode_jpeg(render_photo(rng, c, float(rng.beta(2, 2))))) for c in labels]
    )
    return images, labels


def accuracy(classifier, images: np.ndarray, labels: list[str]) -> float:
    from fsdl_data.core.vision.infer import classify_pixels

    ids = list(range(len(images)))
    out = classify_pixels(classifier, ids, [str(i) for i in ids], images, 256, "cpu")
    return float(np.mean(np.array(out["predicted_class"].to_list()) == np.array(labels)))


def run_rounds(pool, pool_labels, test, test_labels, strategy: str, seed: int, a) -> list[float]:
    import polars as pl

    from fsdl_data.core.labels.active import select_for_labeling, uncertainty
    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.vision.infer import classify_pixels
    from fsdl_data.core.vision.train import TrainConfig, train_classifier

    rng = np.random.default_rng(seed)
    labeled = set(rng.choice(len(pool), size=a.initial, replace=False).tolist())
    curve = []
    for round_number in range(a.rounds + 1):
        rows = sorted(labeled)
        classifier, _ = train_classifier(
            pool[rows], [pool_labels[i] for i in rows], CONTENT_CLASSES, "bench",
            TrainConfig(steps=a.steps, seed=seed, val_share=0.0),
        )  # fmt: skip
        curve.append(accuracy(classifier, test, test_labels))
        if round_number == a.rounds:
            break
        ids = list(range(len(pool)))
        scored = uncertainty(
            classify_pixels(classifier, ids, [str(i) for i in ids], pool, 256, "cpu"),
            CONTENT_CLASSES,
        )
        chosen = select_for_labeling(scored, a.budget, strategy, seed * 1000 + round_number,
                                     exclude=labeled)  # fmt: skip
        labeled |= set(chosen["photo_id"].cast(pl.Int64).to_list())
    return curve


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pool", type=int, default=3000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--initial", type=int, default=60)
    p.add_argument("--budget", type=int, default=60)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()

    import torch

    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.vision.augment import Augmentation
    from fsdl_data.core.vision.train import TrainConfig, train_classifier

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    pool, pool_labels = make_photos(a.pool, 1)
    test, test_labels = make_photos(a.test, 2)
    print(f"{a.pool} pool photos, {a.test} test photos ({time.perf_counter() - t0:.1f} s to make); "
          f"{a.initial} random labels, then {a.rounds} rounds of {a.budget}, {a.steps} steps each")  # fmt: skip

    print("\n1. test accuracy after each round (labels:",
          ", ".join(str(a.initial + r * a.budget) for r in range(a.rounds + 1)) + ")")  # fmt: skip
    curves: dict[str, list[list[float]]] = {"uncertainty": [], "random": []}
    for seed in range(a.seeds):
        for strategy in curves:
            curve = run_rounds(pool, pool_labels, test, test_labels, strategy, seed, a)
            curves[strategy].append(curve)
            print(f"  seed {seed} {strategy:<12}" + " ".join(f"{x:.3f}" for x in curve), flush=True)
    for strategy, runs in curves.items():
        mean = np.mean(runs, axis=0)
        print(f"  mean   {strategy:<12}" + " ".join(f"{x:.3f}" for x in mean))
    gain = np.mean(curves["uncertainty"], axis=0) - np.mean(curves["random"], axis=0)
    print("  uncertainty - random  " + " ".join(f"{x:+.3f}" for x in gain))

    print("\n2. augmentation: test accuracy on the same labels, with and without")
    for n in (300, 1500):
        results: dict[str, list[float]] = {"with": [], "without": []}
        for seed in range(a.seeds):
            rows = np.random.default_rng(100 + seed).choice(a.pool, size=n, replace=False)
            for name, policy in (("with", Augmentation()), ("without", Augmentation.none())):
                config = TrainConfig(steps=a.steps * 2, seed=seed, val_share=0.0,
                                     augmentation=policy)  # fmt: skip
                classifier, _ = train_classifier(
                    pool[rows], [pool_labels[i] for i in rows], CONTENT_CLASSES, "bench", config
                )
                results[name].append(accuracy(classifier, test, test_labels))
        cells = "  ".join(
            f"{name} {np.mean(v):.3f} ({', '.join(f'{x:.3f}' for x in v)})"
            for name, v in results.items()
        )
        print(f"  {n} labels, {a.steps * 2} steps: {cells}", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
