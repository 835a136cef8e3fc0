"""Label issues found by our confident learning (core.labels.issues) beside cleanlab's
`find_label_issues` (its defaults), on the same labels and out-of-sample probabilities in the
same run: precision and recall of the flagged items against the labels we corrupted.

Each run draws a classification problem at random (3-6 classes with a random prior, Gaussian
classes in 2-8 dimensions at random separations), corrupts a share of the labels through a
random class-to-class noise matrix, and gets out-of-sample probabilities by 5-fold
cross-validation of a Gaussian classifier (numpy; no model ever sees the item it scores).
cleanlab runs in its own virtualenv (`python -m venv /tmp/cleanlab-venv &&
/tmp/cleanlab-venv/bin/pip install cleanlab`), never the project's.

    .venv/bin/python bench/label_issues.py --cleanlab /tmp/cleanlab-venv [--runs 3] [--n 3000]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cleanlab", type=Path, required=True, help="a virtualenv with cleanlab")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh draw")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"{args.runs} random problems per noise rate, {args.n} items, seed {seed}; median "
          f"[range] over problems; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    rng = np.random.default_rng(seed)
    for noise in (0.05, 0.1, 0.2):
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "cleanlab": []}
        for _ in range(args.runs):
            features, true, given = problem(rng, args.n, noise)
            probabilities = out_of_sample(features, given, rng)
            wrong = np.flatnonzero(true != given)
            results["ours"].append(scored(find_label_issues(given, probabilities).index, wrong))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "data.npz"
                np.savez(path, labels=given, probabilities=probabilities)
                out = subprocess.run([str(args.cleanlab / "bin" / "python"), "-c", CLEANLAB, str(path)],
                                     check=True, capture_output=True, text=True)  # fmt: skip
            results["cleanlab"].append(
                scored(np.array(json.loads(out.stdout), dtype=np.int64), wrong)
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
