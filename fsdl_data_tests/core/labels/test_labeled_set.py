"""The labeled set's precedence and provenance, the classifier's training selection, and the
labeling-function analysis against counts made by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels.analysis import day_statistics, drifted, lf_analysis
from fsdl_data.core.labels.consensus import CONSENSUS
from fsdl_data.core.labels.functions import LabelingFunction, labeling_functions_version
from fsdl_data.core.labels.labeled_set import (
    build_labeled_set,
    label_day,
    label_model_version,
    training_labels,
    weak_labels,
)

CLASSES = ("cat", "dog")


def consensus(rows: list[dict]) -> pl.DataFrame:
    base = {"confidence": 0.9, "annotations": 3, "annotators": ["x", "y"], "agreement": 1.0,
            "gold_label": None}  # fmt: skip
    return pl.DataFrame([{**base, **r} for r in rows], schema=CONSENSUS)


def test_precedence_gold_over_human_over_weak() -> None:
    weak = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, 4],
            "weak_label": ["dog", "dog", "dog", None],
            "weak_confidence": [0.7, 0.8, 0.95, None],
            "labeling_functions": [["f"], ["f", "g"], ["g"], []],
        }
    )
    human = consensus(
        [
            {"photo_id": 1, "label": "cat", "gold_label": "cat"},
            {"photo_id": 2, "label": "cat", "confidence": 0.6},
            {"photo_id": 9, "label": "cat"},  # not a photo of this day: ignored
        ]
    )
    df = build_labeled_set(
        weak, human, label_model_version="lm1", functions_version="lf1", classifier_version=None
    )
    rows = {r["photo_id"]: r for r in df.iter_rows(named=True)}
    assert df["photo_id"].to_list() == [1, 2, 3, 4]
    assert (rows[1]["source"], rows[1]["label"], rows[1]["confidence"]) == ("gold", "cat", 0.995)
    assert (rows[2]["source"], rows[2]["label"], rows[2]["confidence"]) == ("human", "cat", 0.6)
    assert rows[2]["weak_label"] == "dog" and rows[2]["labeling_functions"] == ["f", "g"]
    assert (rows[3]["source"], rows[3]["label"], rows[3]["confidence"]) == ("weak", "dog", 0.95)
    assert rows[4]["source"] is None and rows[4]["label"] is None
    assert rows[2]["annotators"] == ["x", "y"] and rows[3]["annotators"] == []
    assert set(df["label_model_version"]) == {"lm1"} and set(df["labeling_functions_version"]) == {
        "lf1"
    }


def test_training_labels_take_weak_rows_only_above_the_threshold() -> None:
    df = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, 4, 5],
            "label": ["cat", "dog", "dog", "cat", None],
            "source": ["gold", "human", "weak", "weak", None],
            "confidence": [0.995, 0.5, 0.95, 0.7, None],
        }
    )
    strict = training_labels(df, use_weak=False, weak_min_confidence=0.0)
    assert strict["photo_id"].to_list() == [1, 2] and strict["trusted"].all()
    loose = training_labels(df, use_weak=True, weak_min_confidence=0.9)
    assert loose["photo_id"].to_list() == [1, 2, 3]
    assert loose["trusted"].to_list() == [True, True, False]


def test_weak_labels_and_their_version() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    votes = {
        name: np.where(
            rng.uniform(size=400) < 0.6, np.where(rng.uniform(size=400) < acc, y, 1 - y), -1
        )
        for name, acc in (("f", 0.9), ("g", 0.8), ("h", 0.7))
    }
    matrix = pl.DataFrame(
        {"photo_id": np.arange(400), **{k: v.astype(np.int8) for k, v in votes.items()}}
    )
    labels, model, _ = weak_labels(matrix, matrix.head(50), ["f", "g", "h"], CLASSES)
    assert model is not None and len(labels) == 50
    voted = labels.filter(pl.col("weak_label").is_not_null())
    assert (voted["labeling_functions"].list.len() > 0).all()
    accuracy = (
        voted["weak_label"] == pl.Series([CLASSES[v] for v in y[voted["photo_id"].to_numpy()]])
    ).mean()
    assert accuracy > 0.8
    v1 = label_model_version(matrix, ["f", "g", "h"], "lf1", 0)
    assert v1 == label_model_version(matrix, ["f", "g", "h"], "lf1", 0)
    assert v1 != label_model_version(matrix, ["f", "g", "h"], "lf2", 0)
    assert v1 != label_model_version(
        matrix.with_columns(pl.lit(-1, pl.Int8).alias("h")), ["f", "g", "h"], "lf1", 0
    )
    none, no_model, _ = weak_labels(matrix.head(0), matrix.head(3), ["f"], CLASSES)
    assert no_model is None and none["weak_label"].null_count() == 3


FUNCTIONS = [
    LabelingFunction("says_cat", "d", "team:t", lambda p: None, "cat", ""),
    LabelingFunction("says_any", "d", "team:t", lambda p: None, None, ""),
]


def test_day_statistics_by_hand() -> None:
    matrix = pl.DataFrame(
        {"photo_id": [1, 2, 3, 4], "says_cat": [0, 0, -1, 0], "says_any": [0, 1, 1, -1]},
        schema={"photo_id": pl.Int64, "says_cat": pl.Int8, "says_any": pl.Int8},
    )
    human = consensus(
        [{"photo_id": 1, "label": "cat", "gold_label": "cat"}, {"photo_id": 2, "label": "dog"},
         {"photo_id": 3, "label": "dog", "annotators": []}]  # photo 3: gold-less, annotator-less
    )  # fmt: skip
    stats = {
        r["labeling_function"]: r
        for r in day_statistics(matrix, human, FUNCTIONS, CLASSES).iter_rows(named=True)
    }
    cat, any_ = stats["says_cat"], stats["says_any"]
    assert (cat["votes"], cat["coverage"]) == (3, 0.75)
    assert cat["overlap"] == 0.5  # photos 1 and 2 have another vote
    assert cat["conflict"] == 0.25  # photo 2: cat vs dog
    assert (cat["gold_n"], cat["gold_accuracy"]) == (1, 1.0)
    assert (cat["human_n"], cat["human_accuracy"]) == (2, 0.5)  # photo 1 right, photo 2 wrong
    assert (any_["human_n"], any_["human_accuracy"]) == (2, 1.0)
    assert any_["votes_for"] == "any"


def test_trailing_means_and_drift() -> None:
    days = [date(2026, 1, d) for d in range(1, 5)]
    frames = []
    for i, day in enumerate(days):
        cat = [0] * 10 if i < 3 else [0] * 3 + [-1] * 7  # coverage 1.0, then 0.3 on the last day
        new = [-1] * 10 if i < 2 else [1] * 10  # a function that started voting on day 3
        frames.append(pl.DataFrame({"photo_id": list(range(i * 10, i * 10 + 10)), "says_cat": cat,
                                    "says_any": new, "day": [day] * 10},
                                   schema={"photo_id": pl.Int64, "says_cat": pl.Int8, "says_any": pl.Int8, "day": pl.Date}))  # fmt: skip
    matrices = pl.concat(frames)
    human = consensus([]).with_columns(pl.lit(None, pl.Date).alias("day"))
    out = lf_analysis(matrices, human, days[-1], FUNCTIONS, CLASSES)
    rows = {r["labeling_function"]: r for r in out.iter_rows(named=True)}
    assert (
        rows["says_cat"]["trailing_days"] == 3 and rows["says_cat"]["coverage_trailing_mean"] == 1.0
    )
    assert rows["says_any"]["trailing_days"] == 1  # only the day it voted counts as a baseline
    found = drifted(out, coverage_change=0.1, accuracy_change=0.15)
    assert [(d.labeling_function, d.what) for d in found] == [("says_cat", "coverage")]
    assert lf_analysis(matrices, human, date(2026, 2, 1), FUNCTIONS, CLASSES).is_empty()
    first = lf_analysis(matrices, human, days[0], FUNCTIONS, CLASSES)
    assert first["coverage_trailing_mean"].null_count() == 2 and not drifted(
        first, coverage_change=0.1, accuracy_change=0.1
    )


def test_functions_version_follows_the_code() -> None:
    a = labeling_functions_version(FUNCTIONS)
    changed = [FUNCTIONS[0], LabelingFunction("says_any", "d", "team:t", lambda p: None, None, "x")]
    assert a == labeling_functions_version(FUNCTIONS) != labeling_functions_version(changed)


def test_a_new_classifier_is_a_new_baseline_for_rules_that_read_it() -> None:
    reads = LabelingFunction(
        "says_cat", "d", "team:t", lambda p: None, "cat", "", reads_classifier=True
    )
    days = [date(2026, 1, d) for d in (1, 2, 3)]
    frames = [
        pl.DataFrame(
            {
                "photo_id": range(i * 10, i * 10 + 10),
                "says_cat": [0] * (3 + 3 * i) + [-1] * (7 - 3 * i),
                "classifier_version": [version] * 10,
                "day": [day] * 10,
            },
            schema={
                "photo_id": pl.Int64,
                "says_cat": pl.Int8,
                "classifier_version": pl.String,
                "day": pl.Date,
            },
        )
        for i, (day, version) in enumerate(zip(days, ["a", "a", "b"], strict=True))
    ]
    human = consensus([]).with_columns(pl.lit(None, pl.Date).alias("day"))
    matrices = pl.concat(frames)
    out = lf_analysis(matrices, human, days[-1], [reads], CLASSES)
    assert out["trailing_days"].to_list() == [0]  # classifier b has no earlier days
    same = matrices.with_columns(pl.lit("a").alias("classifier_version"))
    assert lf_analysis(same, human, days[-1], [reads], CLASSES)["trailing_days"].to_list() == [2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_day_is_labeled_by_a_model_fitted_on_the_whole_window(seed: int) -> None:
    """label_day fits on every day of the window, labels only the day asked for, records the
    day's classifier, and ranks gold > human > weak, whatever the window's random shape."""
    rng = np.random.default_rng(seed)
    names = ["f", "g", "h"]
    days = [date(2026, 1, d) for d in range(1, int(rng.integers(2, 6)) + 1)]
    sizes = rng.integers(20, 60, len(days))
    y = rng.integers(0, 2, int(sizes.sum()))
    votes = {n: np.where(rng.uniform(size=len(y)) < 0.7, y, -1).astype(np.int8) for n in names}
    matrix = pl.DataFrame(
        {
            "photo_id": np.arange(len(y)),
            **votes,
            "classifier_version": np.repeat([f"c{i}" for i in range(len(days))], sizes).tolist(),
            "day": np.repeat(days, sizes).tolist(),
        },
        schema_overrides={"day": pl.Date},
    )
    day = days[int(rng.integers(0, len(days)))]
    today = matrix.filter(pl.col("day") == day)
    ids = today["photo_id"].to_list()
    gold, human = int(ids[0]), int(ids[1])
    human_rows = consensus(
        [
            {"photo_id": gold, "label": "dog", "gold_label": "cat"},
            {"photo_id": human, "label": "cat"},
        ]
    )
    result = label_day(matrix, human_rows, day, names, CLASSES, "lf1", seed)
    table = result.table
    assert table["photo_id"].to_list() == sorted(ids)
    rows = {r["photo_id"]: r for r in table.iter_rows(named=True)}
    assert rows[gold]["source"] == "gold" and rows[gold]["label"] == "cat"
    assert rows[human]["source"] == "human" and rows[human]["label"] == "cat"
    assert set(table["classifier_version"]) == {f"c{days.index(day)}"}
    assert result.model_version == label_model_version(matrix, names, "lf1", seed)
    assert set(table["label_model_version"]) == {result.model_version}
    # the model saw the whole window: fitting on the day alone gives another version
    if len(matrix) > len(today):
        assert result.model_version != label_model_version(today, names, "lf1", seed)
    expected = weak_labels(matrix, today, names, CLASSES, seed).table
    weak_rows = table.filter(pl.col("source") == "weak")
    assert weak_rows.select("photo_id", "weak_label").equals(
        expected.filter(pl.col("photo_id").is_in(weak_rows["photo_id"].implode())).select(
            "photo_id", "weak_label"
        )
    )
    counts = result.source_counts()
    assert sum(counts.values()) == len(ids) and counts["gold"] == 1 and counts["human"] == 1
    assert counts.get("unlabeled", 0) == table["source"].null_count()
    assert set(result.class_balance()) == set(CLASSES)
    assert sum(result.class_balance().values()) == pytest.approx(1.0, abs=0.01)
    assert list(result.function_accuracies()) == names


def test_a_day_without_votes_has_no_label_model() -> None:
    matrix = pl.DataFrame(
        {"photo_id": [1, 2], "f": [-1, -1], "classifier_version": [None, None],
         "day": [date(2026, 1, 1)] * 2},
        schema={"photo_id": pl.Int64, "f": pl.Int8, "classifier_version": pl.String,
                "day": pl.Date},
    )  # fmt: skip
    result = label_day(matrix.head(0), consensus([]), date(2026, 1, 1), ["f"], CLASSES, "lf1")
    assert result.model is None and result.model_version is None
    assert result.class_balance() == {} and result.function_accuracies() == {}
    assert result.table.is_empty() and result.source_counts() == {}
