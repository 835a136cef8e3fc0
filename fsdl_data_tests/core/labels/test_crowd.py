"""The Dawid-Skene estimator against crowd-kit's `DawidSkene` (the reference a crowd-kit user
knows): on generated crowds whose size, classes and mix of annotators (skilled, sloppy,
confusing look-alike classes, spammers answering at random or always the same, adversarial
ones who answer a shuffled class) are drawn at random per seed, ours is at least as accurate
against the truth, with gold given to both and to neither."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

from fsdl_data.core.labels.crowd import DawidSkene
from fsdl_data.core.labels.synthetic_crowds import crowd


def _accuracy(labels: dict[int, int], truth: np.ndarray, skip: set[int]) -> float:
    scored = [t for t in labels if t not in skip]
    return float(np.mean([labels[t] == truth[t] for t in scored]))


def _both(seed: int, use_gold: bool) -> tuple[float, float]:
    answers, truth, gold = crowd(seed)
    given = gold if use_gold else None
    ours = DawidSkene().fit(answers, given)
    reference = CrowdKitDawidSkene()
    frame = answers.to_pandas()
    theirs = reference.fit_predict(frame, pd.Series(given) if given else None)
    skip = set(gold)  # scored on the tasks whose truth neither was told
    mine = dict(zip(ours.tasks_, ours.labels_, strict=True))
    return _accuracy(mine, truth, skip), _accuracy(theirs.to_dict(), truth, skip)


@pytest.mark.parametrize("use_gold", [True, False], ids=["gold", "no_gold"])
@pytest.mark.parametrize("seed", range(6))
def test_at_least_as_accurate_as_crowd_kit(seed: int, use_gold: bool) -> None:
    ours, theirs = _both(seed, use_gold)
    assert ours >= theirs, f"ours {ours:.4f} < crowd-kit {theirs:.4f}"


def test_the_attributes_mean_what_crowd_kit_means() -> None:
    answers, truth, gold = crowd(101)
    tasks = answers["task"].unique().to_list()
    spammer = pl.DataFrame({"task": tasks, "worker": ["always-1"] * len(tasks),
                            "label": [1] * len(tasks)})  # fmt: skip
    answers = answers.vstack(spammer)
    ours = DawidSkene().fit(answers, gold)
    theirs = CrowdKitDawidSkene().fit(answers.to_pandas(), pd.Series(gold))
    k = len(ours.classes_)
    assert ours.probas_.shape == (len(ours.tasks_), k)
    assert np.allclose(ours.probas_.sum(axis=1), 1) and np.isclose(ours.priors_.sum(), 1)
    assert ours.errors_.shape == (len(ours.workers_), k, k)
    assert np.allclose(ours.errors_.sum(axis=2), 1)  # P(answer | truth) sums to 1 per truth
    # errors_[w, truth, answer] is crowd-kit's errors_.loc[(worker, answer), truth]: whatever
    # the truth, the spammer answers 1
    w = ours.workers_.index("always-1")
    assert (ours.errors_[w, :, ours.classes_.index(1)] > 0.9).all()
    assert (theirs.errors_.loc[("always-1", 1)] > 0.9).all()
    share = np.bincount(truth, minlength=k) / len(truth)
    assert np.abs(ours.priors_ - share[list(ours.classes_)]).max() < 0.05
    for task, label in gold.items():  # gold fixes its task
        assert ours.probas_[ours.tasks_.index(task), ours.classes_.index(label)] == 1.0


def test_predict_uses_the_fitted_workers() -> None:
    answers, _, _ = crowd(7)
    model = DawidSkene().fit(answers)
    again = dict(model.predict(answers).iter_rows())  # the fit's own tasks: its own labels
    assert again == dict(zip(model.tasks_, model.labels_, strict=True))
    stranger = pl.DataFrame({"task": [answers["task"][0]], "worker": ["never-seen"], "label": [0]})
    assert model.predict_proba(answers.vstack(stranger)).equals(model.predict_proba(answers))
    proba = model.predict_proba(answers)
    assert np.allclose(proba.drop("task").to_numpy(), model.probas_)


def test_labels_outside_the_classes_are_a_one_line_error() -> None:
    answers = pl.DataFrame({"task": [1, 2], "worker": ["a", "b"], "label": ["cat", "emu"]})
    with pytest.raises(ValueError, match="labels outside the classes"):
        DawidSkene().fit(answers, classes=["cat", "dog"])


def test_predicting_labels_outside_the_classes_or_fitting_nothing_is_a_one_line_error() -> None:
    answers, _, _ = crowd(11)
    model = DawidSkene().fit(answers)
    outside = max(model.classes_) + 1  # a class the fit never saw
    odd = pl.DataFrame({"task": [answers["task"][0]], "worker": [answers["worker"][0]],
                        "label": [outside]})  # fmt: skip
    with pytest.raises(ValueError, match="labels outside the classes"):
        model.predict(answers.vstack(odd))
    empty = answers.clear()
    with pytest.raises(ValueError, match="nothing to fit"):
        DawidSkene().fit(empty)
