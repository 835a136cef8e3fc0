"""Benchmark: the label model against majority vote and an oracle, and weak labels on the world.

Part 1 (synthetic, Snorkel's setting): 100,000 items x 10 labeling functions, class prior
0.3/0.7, coverages 0.1-0.6, accuracies 0.55-0.9; then the same with the last 3 functions
replaced by 95%-identical copies of the weakest. Prints accuracy on covered items of our label
model, majority vote and the oracle (the Bayes posterior under the true parameters and copy
structure), the label model's largest error in estimated accuracies, and fit time (median and
range of 3; part 1c times the issue's sizes).

Part 2 (the world): seeds a world, runs the nightly graph for --days days, then trains the photo
classifier (same code and config as the asset) on (a) the seed set's majority vote, (b) the
labeled set's gold + human rows, (c) (b) plus weak labels at or above each confidence threshold,
and prints each one's accuracy against the hidden content of the photos of one more day that no
classifier has seen. Run: `make bench-labels`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import fresh_embedded_home


def synthetic(seed: int) -> None:
    from fsdl_data.core.labels.label_model import LabelModel, majority_vote
    from fsdl_data.core.labels.synthetic import covered_accuracy, generate, oracle_proba

    rng = np.random.default_rng(seed)
    accuracies = rng.uniform(0.55, 0.9, 10)
    coverages = rng.uniform(0.1, 0.6, 10)
    print("1. synthetic: 100,000 items, prior 0.3/0.7, accuracies 0.55-0.9, coverages 0.1-0.6")
    for copies in (0, 3):
        independent = 10 - copies
        data = generate(
            100_000,
            [0.3, 0.7],
            accuracies[:independent],
            coverages[:independent],
            copies_of_weakest=copies,
            seed=seed,
        )
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            model = LabelModel(cardinality=2, seed=0).fit(data.L)
            times.append(time.perf_counter() - t0)
        ours = covered_accuracy(model.predict(data.L), data)
        majority = covered_accuracy(majority_vote(data.L, 2), data)
        oracle = covered_accuracy(oracle_proba(data).argmax(axis=1), data)
        error = float(np.abs(model.lf_accuracies() - data.accuracies).max())
        what = "independent" if not copies else f"last {copies} = 95% copies of the weakest"
        print(f"   {what:38s} label model {ours:.4f}  majority {majority:.4f}  oracle {oracle:.4f}  "
              f"(gap to oracle {100 * (oracle - ours):+.2f} pt)  max accuracy error {error:.3f}  "
              f"class balance {model.class_balance().round(3).tolist()}  "
              f"fit {np.median(times):.2f} s [{min(times):.2f}, {max(times):.2f}]")  # fmt: skip


def structure_grid(matrices: int, items: int, family: str | None = None) -> None:
    """Ours, majority vote, the exact oracle and (when importable, e.g. with
    PYTHONPATH=/tmp/labelmodel-snorkel) Snorkel 0.10's LabelModel with its defaults, on structures
    drawn at random (fsdl_data.core.labels.synthetic.random_structure): accuracy on covered
    items and expected calibration error (against the labels, and against the oracle's
    probability that the top class is right, which has no label noise), per family, median and
    range over matrices, and how many matrices fall below majority vote by more than 0.5 point.
    With `family`, only the matrices of that family among the first `matrices`."""
    from fsdl_data.core.labels.label_model import ABSTAIN, LabelModel, majority_vote
    from fsdl_data.core.labels.synthetic import expected_calibration_error, random_structure

    try:
        import torch
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        torch.set_num_threads(1)  # as ours runs BLAS: threads only fight on a shared machine
    except ImportError:
        SnorkelLabelModel = None
    cells: dict[str, list[dict[str, float]]] = {}
    for seed in range(matrices):
        structure = random_structure(seed)
        if family is not None and structure.family != family:
            continue
        L, y = structure.sample(items, seed)
        covered = (L != ABSTAIN).any(axis=1)
        truth = y[covered]
        oracle = structure.oracle_proba(L)[covered]

        def measure(
            proba: np.ndarray,
            covered: np.ndarray = covered,
            truth: np.ndarray = truth,
            oracle: np.ndarray = oracle,
        ) -> tuple[float, float, float]:
            proba = proba[covered]
            picked = proba.argmax(axis=1)
            right = (picked == truth).astype(float)
            return (
                float(right.mean()),
                expected_calibration_error(proba, right),
                expected_calibration_error(proba, oracle[np.arange(len(picked)), picked]),
            )

        row = {}
        row["ours"], row["ours_ece"], row["ours_ece_oracle"] = measure(
            LabelModel(structure.k).fit(L).predict_proba(L)
        )
        row["majority"] = float((majority_vote(L, structure.k)[covered] == truth).mean())
        row["oracle"], row["oracle_ece"], _ = measure(structure.oracle_proba(L))
        if SnorkelLabelModel is not None and L.shape[1] < 3:  # Snorkel refuses fewer than 3
            row["snorkel"] = row["snorkel_ece"] = float("nan")
        elif SnorkelLabelModel is not None:
            snorkel = SnorkelLabelModel(cardinality=structure.k, verbose=False)
            snorkel.fit(L, seed=0, progress_bar=False)
            row["snorkel"], row["snorkel_ece"], _ = measure(snorkel.predict_proba(L))
        cells.setdefault(structure.family, []).append(row)
    columns = ["ours", "majority", "oracle", "ours_ece", "ours_ece_oracle", "oracle_ece"]
    if SnorkelLabelModel is not None:
        columns[3:3] = ["snorkel"]
        columns.append("snorkel_ece")
    print(f"1b. random structures: {matrices} matrices x {items:,} items; per family the median "
          f"[min, max] over its matrices; accuracy on covered items; ECE against the labels "
          f"(ours_ece_oracle: against the oracle's probability)"
          + ("" if SnorkelLabelModel else " (Snorkel not importable: not measured)"))  # fmt: skip
    print("| family | n | " + " | ".join(columns) + " | below majority | below snorkel |")
    print("|---" * (len(columns) + 4) + "|")
    for family, rows in sorted(cells.items()):
        parts = []
        for column in columns:
            values = np.array([r[column] for r in rows])
            parts.append(
                f"{np.nanmedian(values):.3f} [{np.nanmin(values):.3f}, {np.nanmax(values):.3f}]"
            )
        below = sum(r["ours"] < r["majority"] - 0.005 for r in rows)
        below_snorkel = (
            sum(r["ours"] < r["snorkel"] - 0.005 for r in rows if not np.isnan(r["snorkel"]))
            if SnorkelLabelModel is not None
            else "-"
        )
        print(
            f"| {family} | {len(rows)} | " + " | ".join(parts) + f" | {below} | {below_snorkel} |"
        )


def unnamed_structures(items: int) -> None:
    """Structures the test grid does not name, built from the same blocks: 4 near-copies of the
    strongest function, two groups of 3 near-copies, one adversarial function (right less often
    than chance), 7 functions that err together on a quarter of the items, and 6 copies at 50%
    agreement of a function barely above chance; each beside 5 independent functions, 3 seeds
    (2, 3 and 4 classes). Prints ours, majority vote, Snorkel 0.10 with its defaults (when
    importable), the oracle, and our ECE against the oracle's probability."""
    from fsdl_data.core.labels.label_model import ABSTAIN, LabelModel, majority_vote
    from fsdl_data.core.labels.synthetic import (
        Structure,
        _Block,
        _table,
        expected_calibration_error,
    )

    try:
        import torch
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        torch.set_num_threads(1)
    except ImportError:
        SnorkelLabelModel = None

    def table(rng: np.random.Generator, k: int, accuracy: float, coverage: float) -> np.ndarray:
        return _table(rng, k, np.full(k, coverage), np.full(k, accuracy), False)

    print(f"1d. structures the grid does not name, {items:,} items each")
    for name in ("copies_of_strongest", "two_copy_groups", "adversarial", "big_co_erring",
                 "low_agreement_copies"):  # fmt: skip
        for seed in range(3):
            rng = np.random.default_rng(seed)
            k = [2, 3, 4][seed % 3]
            prior = rng.dirichlet(np.full(k, 3.0))
            blocks = [
                _Block(
                    "single", [table(rng, k, rng.uniform(1 / k + 0.15, 0.9), rng.uniform(0.2, 0.8))]
                )
                for _ in range(5)
            ]
            if name == "copies_of_strongest":
                t = table(rng, k, 0.85, 0.6)
                blocks.append(_Block("copies", [t] * 4, agreement=rng.uniform(0.5, 1)))
            elif name == "two_copy_groups":
                for _ in range(2):
                    t = table(rng, k, 1 / k + 0.2, 0.5)
                    blocks.append(_Block("copies", [t] * 3, agreement=rng.uniform(0.5, 1)))
            elif name == "adversarial":
                blocks.append(_Block("single", [table(rng, k, 0.5 / k, 0.6)]))
            elif name == "big_co_erring":
                trap_votes = np.zeros((k, k))
                for c in range(k):
                    trap_votes[c, (c + 1) % k] = 1.0
                members = [table(rng, k, 0.8, 0.7) for _ in range(7)]
                blocks.append(
                    _Block("co_erring", members, trap=np.full(k, 0.25), trap_votes=trap_votes)
                )
            else:
                t = table(rng, k, 1 / k + 0.1, 0.7)
                blocks.append(_Block("copies", [t] * 6, agreement=0.5))
            structure = Structure(name, k, prior, blocks)
            L, y = structure.sample(items, seed)
            covered = (L != ABSTAIN).any(axis=1)
            proba = LabelModel(k).fit(L).predict_proba(L)[covered]
            oracle = structure.oracle_proba(L)[covered]
            truth = y[covered]
            ours = float((proba.argmax(axis=1) == truth).mean())
            majority = float((majority_vote(L, k)[covered] == truth).mean())
            best = float((oracle.argmax(axis=1) == truth).mean())
            ece = expected_calibration_error(
                proba, oracle[np.arange(len(proba)), proba.argmax(axis=1)]
            )
            snorkel = float("nan")
            if SnorkelLabelModel is not None:
                model = SnorkelLabelModel(cardinality=k, verbose=False)
                model.fit(L, seed=0, progress_bar=False)
                snorkel = float((model.predict_proba(L)[covered].argmax(axis=1) == truth).mean())
            print(f"   {name:22s} seed {seed} k={k} m={L.shape[1]:2d}  ours {ours:.3f}  majority "
                  f"{majority:.3f}  snorkel {snorkel:.3f}  oracle {best:.3f}  ECE {ece:.3f}")  # fmt: skip


def fit_times(repeats: int) -> None:
    """Fit time at 100,000 items (Snorkel's setting, independent functions), wall and CPU, with
    the load average: the machine may be shared."""
    import os

    from fsdl_data.core.labels.label_model import LabelModel
    from fsdl_data.core.labels.synthetic import generate

    rng = np.random.default_rng(0)
    for m in (10, 50):
        data = generate(100_000, [0.3, 0.7], rng.uniform(0.55, 0.9, m), rng.uniform(0.1, 0.6, m))
        walls, cpus = [], []
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            LabelModel(cardinality=2).fit(data.L)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        print(f"1c. fit 100,000 x {m}: median {np.median(walls):.2f} s "
              f"[{min(walls):.2f}, {max(walls):.2f}] wall, {np.median(cpus):.2f} s "
              f"[{min(cpus):.2f}, {max(cpus):.2f}] CPU over {repeats} fits "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip


def confidence_bands(labeled, truth) -> None:
    """Accuracy of the weak labels (rows whose label is the label model's) per confidence band,
    and of the labels admitted at each threshold, against the photos' hidden content."""
    import polars as pl

    weak = (
        labeled.filter(pl.col("weak_label").is_not_null())
        .join(truth.select("photo_id", "content"), on="photo_id")
        .with_columns(right=pl.col("weak_label") == pl.col("content"))
    )
    edges = [0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001]
    print(f"   weak labels per confidence band ({len(weak)} photos with a weak label):")
    for low, high in itertools.pairwise(edges):
        band = weak.filter((pl.col("weak_confidence") >= low) & (pl.col("weak_confidence") < high))
        if len(band):
            print(f"     [{low:.2f}, {min(high, 1.0):.2f}): {len(band):5d} labels, mean confidence "
                  f"{band['weak_confidence'].mean():.3f}, accuracy {band['right'].mean():.3f}")  # fmt: skip
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        admitted = weak.filter(pl.col("weak_confidence") >= threshold)
        if len(admitted):
            print(f"     admitted at >= {threshold:.2f}: {len(admitted):5d} labels, accuracy "
                  f"{admitted['right'].mean():.3f}")  # fmt: skip


def world(days: int, photos: int, thresholds: list[float]) -> None:
    fresh_embedded_home()
    import dagster as dg
    import polars as pl

    from fsdl_data.cli.runner import materialize_days
    from fsdl_data.config import Settings
    from fsdl_data.core.labels.human import majority_labels
    from fsdl_data.core.labels.labeled_set import training_labels
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store
    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.vision.infer import classify_pixels
    from fsdl_data.core.vision.pixels import thumbnails_from_bytes
    from fsdl_data.core.vision.train import TrainConfig, train_classifier
    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec
    from fsdl_data.definitions import defs

    settings = Settings.from_env()
    spec = WorldSpec(photos_per_day=photos, users=1000, events_per_day=20_000)
    store = open_object_store(settings.object_store_url)
    reports = seed_world(
        spec, days + 1, store, AppDatabase(settings.app_db_url), settings.truth_dir
    )
    day_keys = [r.day for r in reports]
    instance = dg.DagsterInstance.ephemeral()
    t0 = time.perf_counter()
    for run in materialize_days(defs, "nightly", day_keys, instance, world_clock=True):
        if not run.success:
            print("night failed:", run.day, run.failed_checks, file=sys.stderr)
    print(f"2. world: {days} + 1 days x {photos} photos through the nightly graph "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    lake = Lake(open_object_store(settings.lake_url))
    train_days, test_day = day_keys[:-1], day_keys[-1]
    labeled = pl.concat([lake.read("labeled_set", d) for d in train_days])
    pixels = pl.concat([lake.read("photo_pixels", d) for d in train_days])
    human = pl.concat([lake.read("human_labels", d) for d in train_days])
    truth = pl.concat(
        [pl.read_parquet(settings.truth_dir / "photos" / f"{d}.parquet") for d in day_keys]
    )
    test = lake.read("photo_pixels", test_day).join(truth, on="photo_id")
    confidence_bands(labeled, truth)
    config = TrainConfig()

    def score(rows: pl.DataFrame, name: str) -> None:
        rows = rows.join(pixels.select("photo_id", "thumbnail"), on="photo_id").sort("photo_id")
        classifier, report = train_classifier(
            thumbnails_from_bytes(rows["thumbnail"].to_list()), rows["label"].to_list(),
            CONTENT_CLASSES, name, config, holdout_eligible=rows["trusted"].to_list(),
        )  # fmt: skip
        out = classify_pixels(classifier, test["photo_id"].to_list(), test["key"].to_list(),
                              thumbnails_from_bytes(test["thumbnail"].to_list()))  # fmt: skip
        accuracy = float((out["predicted_class"] == test["content"]).mean())
        label_accuracy = float(
            (
                rows.join(truth, on="photo_id")["label"]
                == rows.join(truth, on="photo_id")["content"]
            ).mean()
        )
        print(f"   {name:44s} {len(rows):5d} labels ({label_accuracy:.3f} right): accuracy on "
              f"{test_day}'s {len(test)} unseen photos {accuracy:.3f} (validation {report.val_accuracy:.3f})")  # fmt: skip

    seed_votes = human.filter(~pl.col("ground_truth") & pl.col("rejected_reason").is_null())
    majority = (
        majority_labels(seed_votes).select("photo_id", "label").with_columns(trusted=pl.lit(True))
    )
    score(majority, "seed set, majority vote (before)")
    score(
        training_labels(labeled, use_weak=False, weak_min_confidence=1.0),
        "labeled_set: gold + human consensus",
    )
    for threshold in thresholds:
        rows = training_labels(labeled, use_weak=True, weak_min_confidence=threshold)
        score(rows, f"labeled_set + weak labels >= {threshold:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--photos", type=int, default=1000)
    p.add_argument("--thresholds", type=float, nargs="*", default=[0.5, 0.8, 0.9, 0.95])
    p.add_argument("--skip-world", action="store_true")
    p.add_argument("--matrices", type=int, default=200, help="random structures in the grid")
    p.add_argument("--items", type=int, default=5_000, help="items per random structure")
    p.add_argument("--repeats", type=int, default=5, help="fits timed per size")
    p.add_argument("--family", default=None, help="only this family's matrices of the grid")
    p.add_argument("--unnamed", action="store_true", help="also structures the grid does not name")
    a = p.parse_args()
    synthetic(a.seed)
    structure_grid(a.matrices, a.items, a.family)
    if a.unnamed:
        unnamed_structures(10_000)
    fit_times(a.repeats)
    if not a.skip_world:
        world(a.days, a.photos, a.thresholds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
