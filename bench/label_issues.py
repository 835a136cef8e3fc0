"""Label issues found by our confident learning (core.labels.issues) beside cleanlab's
`find_label_issues` (its defaults), on the same labels and out-of-sample probabilities in the
same run: precision and recall of the flagged items against the labels that are wrong.

Part 1, the world (skip with --skip-world): per seed, a world with injected label errors
(WorldSpec.label_error_rate: every annotator wrong on a share of seed-set photos, the expert
wrong on a share of gold) runs the part of the nightly graph label_issues needs (its upstream,
the photo classifier, users) for --days days, as configured by default.
Then, on every day's labeled set (gold, human and weak labels) and the same cross-fitted
out-of-sample probabilities the label_issues asset uses (core.labels.issues.cross_fit_labels),
ours and cleanlab's flags are scored against the hidden truth (a label is wrong when it is not
the photo's content). The asset's own flags (each day's partition, cross-fitted on its trailing
window) are scored too. Each seed runs in a fresh process (the definitions read FSDL_HOME once), all side by side.

Part 2, random problems (skip with --skip-random): each run draws a classification problem at random (3-6 classes with a random prior, Gaussian
classes in 2-8 dimensions at random separations), corrupts a share of the labels through a
random class-to-class noise matrix, and gets out-of-sample probabilities by 5-fold
cross-validation of a Gaussian classifier (numpy; no model ever sees the item it scores).
cleanlab runs in its own virtualenv (`python -m venv /tmp/cleanlab-venv &&
/tmp/cleanlab-venv/bin/pip install cleanlab`), never the project's.

    .venv/bin/python bench/label_issues.py --cleanlab /tmp/cleanlab-venv [--seeds 3] [--days 3]
        [--photos 300] [--label-errors 0.1] [--runs 3] [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsdl_data.core.labels.issues import find_label_issues

CLEANLAB = """
import json, sys
import numpy as np
from cleanlab.filter import find_label_issues
data = np.load(sys.argv[1])
flagged = find_label_issues(data["labels"], data["probabilities"],
                            return_indices_ranked_by="self_confidence")
print(json.dumps([int(i) for i in flagged]))
"""


def problem(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, ...]:
    """(features, true labels, given labels) of a random problem."""
    k, d = int(rng.integers(3, 7)), int(rng.integers(2, 9))
    prior = rng.dirichlet(np.full(k, 3.0))
    true = rng.choice(k, size=n, p=prior)
    means = rng.normal(scale=rng.uniform(1.0, 2.5), size=(k, d))
    features = means[true] + rng.normal(size=(n, d)) * rng.uniform(0.6, 1.4, size=d)
    transition = rng.dirichlet(np.ones(k - 1), size=k)  # where a corrupted label of class i goes
    given = true.copy()
    corrupt = rng.uniform(size=n) < noise
    for i in range(k):
        rows = np.flatnonzero(corrupt & (true == i))
        others = [j for j in range(k) if j != i]
        given[rows] = rng.choice(others, size=len(rows), p=transition[i])
    return features, true, given


def out_of_sample(features: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class probabilities by 5-fold cross-validation of a Gaussian classifier (class means,
    one shared diagonal variance, the fold's class prior), fitted on the given labels."""
    k = int(labels.max()) + 1
    folds = rng.permutation(len(labels)) % 5
    probabilities = np.zeros((len(labels), k))
    for fold in range(5):
        train, test = folds != fold, folds == fold
        x, y = features[train], labels[train]
        present = np.array([(y == j).any() for j in range(k)])
        means = np.array(
            [x[y == j].mean(axis=0) if present[j] else x.mean(axis=0) for j in range(k)]
        )
        variance = ((x - means[y]) ** 2).mean(axis=0) + 1e-6
        prior = np.bincount(y, minlength=k) / len(y) + 1e-9
        log = -0.5 * (((features[test][:, None, :] - means[None]) ** 2) / variance).sum(axis=2)
        log += np.log(prior)
        log -= log.max(axis=1, keepdims=True)
        odds = np.exp(log)
        probabilities[test] = odds / odds.sum(axis=1, keepdims=True)
    return probabilities


def scored(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float]:
    hits = np.isin(flagged, wrong).sum()
    return hits / max(len(flagged), 1), hits / max(len(wrong), 1)


def cleanlab_flags(venv: Path, labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, labels=labels, probabilities=probabilities)
        out = subprocess.run([str(venv / "bin" / "python"), "-c", CLEANLAB, str(path)],
                             check=True, capture_output=True, text=True)  # fmt: skip
    return np.array(json.loads(out.stdout), dtype=np.int64)


def world_run(seed: int, days: int, photos: int, label_errors: float, venv: Path) -> dict:
    """One world: the nightly graph for `days` days, then ours and cleanlab on the same
    cross-fitted probabilities, and the asset's own flags; precision and recall against truth."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import fresh_embedded_home, nights_up_to

    fresh_embedded_home()
    import polars as pl

    from fsdl_data.config import Settings
    from fsdl_data.core.labels.issues import cross_fit_labels
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store
    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec

    settings = Settings.from_env()
    spec = WorldSpec(seed=seed, photos_per_day=photos, users=max(200, photos),
                     events_per_day=20 * photos, label_error_rate=label_errors)  # fmt: skip
    reports = seed_world(spec, days, open_object_store(settings.object_store_url),
                         AppDatabase(settings.app_db_url), settings.truth_dir)  # fmt: skip
    day_keys = [r.day for r in reports]
    nights_up_to("label_issues", day_keys, seed)
    lake = Lake(open_object_store(settings.lake_url))
    labeled = pl.concat([lake.read("labeled_set", d) for d in day_keys])
    pixels = pl.concat([lake.read("photo_pixels", d) for d in day_keys])
    truth = pl.concat(
        [pl.read_parquet(settings.truth_dir / "photos" / f"{d}.parquet") for d in day_keys]
    ).select("photo_id", "content")
    fitted = cross_fit_labels(labeled, pixels, CONTENT_CLASSES)
    assert fitted is not None, "no labeled photos"
    rows = fitted.rows.join(truth, on="photo_id", how="left", maintain_order="left")
    wrong = np.flatnonzero((rows["label"] != rows["content"]).to_numpy())
    ours = find_label_issues(fitted.given, fitted.probabilities).index
    theirs = cleanlab_flags(venv, fitted.given, fitted.probabilities)
    asset = pl.concat([lake.read("label_issues", d) for d in day_keys])
    flagged = asset.filter(pl.col("issue"))["photo_id"]
    asset_wrong = asset.join(truth, on="photo_id").filter(pl.col("label") != pl.col("content"))
    hits = flagged.is_in(asset_wrong["photo_id"].implode()).sum()
    by_source = {
        source: int(rows.filter(pl.col("source") == source).height)
        for source in ("gold", "human", "weak")
    }
    wrong_by_source = dict(rows[wrong].group_by("source").len().iter_rows())
    return {
        "labels": len(rows),
        "wrong": len(wrong),
        "labels_by_source": by_source,
        "wrong_by_source": wrong_by_source,
        "accuracy": float((fitted.probabilities.argmax(axis=1) == np.array(
            [CONTENT_CLASSES.index(c) for c in rows["content"]])).mean()),
        "ours": scored(ours, wrong),
        "cleanlab": scored(theirs, wrong),
        "asset": (hits / max(len(flagged), 1), hits / max(len(asset_wrong), 1)),
    }  # fmt: skip


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def world(args: argparse.Namespace) -> None:
    print(f"1. world: {args.seeds} seeds x {args.days} days x {args.photos} photos, label error "
          f"rate {args.label_errors}, label_issues' part of the nightly graph as configured by default; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)  # fmt: skip
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--world-run",
                str(seed),
                "--days",
                str(args.days),
                "--photos",
                str(args.photos),
                "--label-errors",
                str(args.label_errors),
                "--cleanlab",
                str(args.cleanlab),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(args.seeds)
    ]  # side by side: each world is one process, mostly single-threaded
    results = []
    for seed, run in enumerate(runs):
        stdout, _ = run.communicate()
        if run.returncode:
            raise SystemExit(f"world seed {seed} failed (exit {run.returncode})")
        result = json.loads(stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"   seed {seed}: {result['labels']} labels {result['labels_by_source']}, "
              f"{result['wrong']} wrong {result['wrong_by_source']}; cross-fitted accuracy "
              f"{result['accuracy']:.3f}; precision/recall ours {result['ours'][0]:.3f}/"
              f"{result['ours'][1]:.3f}, cleanlab {result['cleanlab'][0]:.3f}/"
              f"{result['cleanlab'][1]:.3f}, asset {result['asset'][0]:.3f}/"
              f"{result['asset'][1]:.3f}", flush=True)  # fmt: skip
    for name in ("ours", "cleanlab", "asset"):
        print(f"   {name:8s}  precision {spread([r[name][0] for r in results])}  "
              f"recall {spread([r[name][1] for r in results])}")  # fmt: skip
    print(f"   load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cleanlab", type=Path, required=True, help="a virtualenv with cleanlab")
    parser.add_argument("--seeds", type=int, default=3, help="worlds")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--photos", type=int, default=300, help="photos a day")
    parser.add_argument("--label-errors", type=float, default=0.1)
    parser.add_argument("--skip-world", action="store_true")
    parser.add_argument("--skip-random", action="store_true")
    parser.add_argument("--world-run", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh draw")
    args = parser.parse_args()
    if args.world_run is not None:
        result = world_run(args.world_run, args.days, args.photos, args.label_errors, args.cleanlab)
        print(json.dumps(result))
        return
    if not args.skip_world:
        world(args)
    if not args.skip_random:
        random_problems(args)


def random_problems(args: argparse.Namespace) -> None:
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"2. {args.runs} random problems per noise rate, {args.n} items, seed {seed}; median "
          f"[range] over problems; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    rng = np.random.default_rng(seed)
    for noise in (0.05, 0.1, 0.2):
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "cleanlab": []}
        for _ in range(args.runs):
            features, true, given = problem(rng, args.n, noise)
            probabilities = out_of_sample(features, given, rng)
            wrong = np.flatnonzero(true != given)
            results["ours"].append(scored(find_label_issues(given, probabilities).index, wrong))
            results["cleanlab"].append(
                scored(cleanlab_flags(args.cleanlab, given, probabilities), wrong)
            )
        for name, pairs in results.items():
            parts = []
            for metric, values in (
                ("precision", [p for p, _ in pairs]),
                ("recall", [r for _, r in pairs]),
            ):
                parts.append(
                    f"{metric} {statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"
                )
            print(f"noise {noise:.2f}  {name:8s}  {'  '.join(parts)}", flush=True)


if __name__ == "__main__":
    main()
