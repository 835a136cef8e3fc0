"""The agreement gate gates: a day whose annotators do not agree keeps its human labels out of
labeled_set, and so out of the next night's training labels, until a new export passes; the
small-sample minimum is one the default world's volume reaches, so the gate can block there."""

import datetime as dt
from dataclasses import replace

import dagster as dg
import numpy as np
import polars as pl
import pytest

from fsdl_data.assets.labels.weak import LabeledSetConfig, labeled_set
from fsdl_data.checks.labels import labeled_set_agreement
from fsdl_data.core.labels.agreement import MIN_UNITS_FOR_ALPHA
from fsdl_data.core.labels.consensus import annotator_consensus
from fsdl_data.core.labels.functions import LABELING_FUNCTIONS
from fsdl_data.core.labels.human import HUMAN_LABELS
from fsdl_data.core.labels.labeled_set import training_labels
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.world.spec import WorldSpec

FIRST = dt.date(2026, 1, 1)


def _day_labels(day: dt.date, photos: list[int], agree: float, rng: np.random.Generator):
    """Three annotators per photo, each giving the photo's class with probability `agree`, else
    a class at random; tagged with their day as the window input is."""
    rows = []
    for photo in photos:
        truth = CONTENT_CLASSES[int(rng.integers(len(CONTENT_CLASSES)))]
        for who in rng.choice(["a", "b", "c", "d", "e"], size=3, replace=False):
            label = truth if rng.uniform() < agree else str(rng.choice(CONTENT_CLASSES))
            rows.append({"photo_id": photo, "annotator": str(who), "label": label,
                         "ground_truth": False, "annotation_id": photo * 10 + len(rows) % 3})  # fmt: skip
    table = pl.DataFrame(rows).with_columns(
        [pl.lit(None).alias(c) for c in HUMAN_LABELS if c not in rows[0]]
    )
    return table.select(list(HUMAN_LABELS)).cast(HUMAN_LABELS).with_columns(day=pl.lit(day))


def _matrix(day: dt.date, photos: list[int], rng: np.random.Generator) -> pl.DataFrame:
    votes = {lf.name: rng.integers(-1, len(CONTENT_CLASSES), len(photos)).astype(np.int8)
             for lf in LABELING_FUNCTIONS}  # fmt: skip
    return pl.DataFrame({"photo_id": photos, **votes, "classifier_version": [None] * len(photos)},
                        schema_overrides={"classifier_version": pl.String}).with_columns(
        day=pl.lit(day)
    )  # fmt: skip


def _night(day: dt.date, human: pl.DataFrame, matrix: pl.DataFrame) -> dg.Output:
    """labeled_set for `day`, invoked as Dagster would with its inputs (the consensus tagged
    with its day, as its window input is)."""
    consensus = annotator_consensus(human, CONTENT_CLASSES)
    context = dg.build_asset_context(partition_key=day.isoformat())
    return labeled_set(context=context, config=LabeledSetConfig(), label_matrix=matrix,
                       human_consensus=consensus.photos.with_columns(day=pl.lit(day)), human_labels=human,
                       annotator_quality=consensus.annotators)  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_a_blocked_days_labels_are_absent_from_the_next_nights_training_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_day = round(WorldSpec().photos_per_day * WorldSpec().seed_label_fraction)  # the world's
    days = [FIRST + dt.timedelta(days=i) for i in range(3)]
    photos = {d: list(range(1000 * (i + 1), 1000 * (i + 1) + 40)) for i, d in enumerate(days)}
    human = {d: photos[d][:per_day] for d in days}
    agree = {days[0]: 0.95, days[1]: 0.15 + 0.1 * rng.uniform(), days[2]: 0.95}
    labels = {d: _day_labels(d, human[d], agree[d], rng) for d in days}
    matrices = {d: _matrix(d, photos[d], rng) for d in days}
    outputs = {}
    for i, day in enumerate(days):
        outputs[day] = _night(day, labels[day], pl.concat([matrices[d] for d in days[: i + 1]]))
    blocked = outputs[days[1]]
    assert blocked.metadata["human_labels"].value.startswith("HELD OUT: Krippendorff's alpha")
    assert blocked.metadata["human_labels_held_out"].value > 0
    assert outputs[days[0]].metadata["human_labels"].value.startswith("admitted")
    assert outputs[days[2]].metadata["human_labels"].value.startswith("admitted")
    # the next night's classifier reads every labeled_set partition so far
    training = training_labels(
        pl.concat([outputs[d].value for d in days]), use_weak=True, weak_min_confidence=0.0
    )
    humans = set(training.filter(pl.col("source") == "human")["photo_id"].to_list())
    assert humans.isdisjoint(human[days[1]])
    assert set(human[days[0]]) <= humans
    # a new export of the blocked day with agreement restored lets its labels in
    fixed = _day_labels(days[1], human[days[1]], 0.95, rng)
    again = _night(days[1], fixed, pl.concat([matrices[d] for d in days[:2]]))
    assert again.metadata["human_labels"].value.startswith("admitted")
    readmitted = training_labels(again.value, use_weak=False, weak_min_confidence=1.0)
    assert set(human[days[1]]) <= set(readmitted["photo_id"].to_list())
    # and the check says the same as the asset
    check = labeled_set_agreement(
        labeled_set=pl.DataFrame(),
        human_labels=labels[days[1]],
        annotator_quality=annotator_consensus(labels[days[1]], CONTENT_CLASSES).annotators,
    )
    assert not check.passed and check.severity.value == "ERROR"
    assert "held out of labeled_set" in check.description


def test_the_default_world_labels_enough_photos_twice_for_the_gate_to_block() -> None:
    spec = WorldSpec()
    assert spec.annotators_per_task >= 2
    assert round(spec.photos_per_day * spec.seed_label_fraction) >= MIN_UNITS_FOR_ALPHA


def _world_like_day(rng: np.random.Generator, accuracies: list[float], photos: int) -> list:
    """One day's units: each photo's class drawn, three of the annotators answering it, each
    right with their accuracy and otherwise mostly a look-alike class."""
    units = []
    for _ in range(photos):
        truth = int(rng.integers(len(CONTENT_CLASSES)))
        unit = []
        for who in rng.choice(len(accuracies), size=3, replace=False):
            if rng.uniform() < accuracies[who]:
                unit.append(truth)
            elif rng.uniform() < 0.6:
                unit.append((truth + 1) % len(CONTENT_CLASSES))
            else:
                unit.append(int(rng.integers(len(CONTENT_CLASSES))))
        units.append(unit)
    return units


def test_honest_days_rarely_block_and_careless_days_almost_always_do() -> None:
    """At the world's volume alpha swings widely for the same annotators, so the gate blocks
    only when alpha is confidently below the threshold."""
    from fsdl_data.core.labels.agreement import (
        MIN_ALPHA,
        AgreementReport,
        agreement_outcome,
        alpha_upper_bound,
        krippendorff_alpha,
    )

    rng = np.random.default_rng(3)
    photos = round(WorldSpec().photos_per_day * WorldSpec().seed_label_fraction)

    def blocked(units: list) -> tuple[bool, bool]:
        alpha = krippendorff_alpha(units)
        high = alpha_upper_bound(units)
        assert high is not None and alpha is not None and high >= alpha
        outcome = agreement_outcome(AgreementReport(len(units), 3 * len(units), 0.5, alpha, high))
        return (not outcome.passed and outcome.severe), alpha < MIN_ALPHA

    days = 40
    honest = [blocked(_world_like_day(rng, list(rng.uniform(0.75, 0.97, 5)), photos))
              for _ in range(days)]  # fmt: skip
    careless = [blocked(_world_like_day(rng, list(rng.uniform(0.15, 0.4, 5)), photos))
                for _ in range(days)]  # fmt: skip
    assert sum(b for b, _ in honest) <= days * 0.05
    assert sum(b for b, _ in careless) >= days * 0.9
    perfect = [[c, c, c] for c in range(len(CONTENT_CLASSES))] * 4
    assert alpha_upper_bound(perfect) == 1.0


def _gate_graph(day: str) -> list:
    """A day whose annotators disagree, the agreement check, a stand-in labeled_set (its human
    labels already held out) and a stand-in for everything after it (the classifier)."""
    from fsdl_data.partitions import bind_calendar, daily

    rng = np.random.default_rng(7)
    per_day = round(WorldSpec().photos_per_day * WorldSpec().seed_label_fraction)
    disagreeing = _day_labels(FIRST, list(range(per_day)), 0.1, rng)
    quality = annotator_consensus(disagreeing, CONTENT_CLASSES).annotators

    @dg.asset(name="human_labels", partitions_def=daily)
    def human_labels_as_exported() -> pl.DataFrame:
        return disagreeing

    @dg.asset(name="annotator_quality", partitions_def=daily)
    def annotator_quality_as_estimated() -> pl.DataFrame:
        return quality

    @dg.asset(name="labeled_set", partitions_def=daily)
    def labeled_set_with_humans_held_out() -> pl.DataFrame:
        return pl.DataFrame({"photo_id": [1]})

    @dg.asset(partitions_def=daily)
    def photo_classifier(labeled_set: pl.DataFrame) -> int:  # stands for all after labeled_set
        return len(labeled_set)

    calendar = dg.DailyPartitionsDefinition(start_date=day, end_date="2026-01-02")
    return bind_calendar([human_labels_as_exported, annotator_quality_as_estimated,
                          labeled_set_with_humans_held_out, photo_classifier,
                          labeled_set_agreement], calendar)  # fmt: skip


def test_a_day_the_gate_blocks_still_trains_that_night() -> None:
    """The gate holds the day's human labels out of labeled_set (above); it does not stop what
    follows labeled_set: the night's classifier (and so the popularity model) still trains."""
    day = FIRST.isoformat()
    result = dg.materialize_to_memory(_gate_graph(day), partition_key=day, raise_on_error=False)
    (gate,) = result.get_asset_check_evaluations()
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert "held out of labeled_set" in (gate.description or "")
    made = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "photo_classifier" in made


def test_the_cli_counts_a_failed_gate_as_a_failure_that_blocked_nothing() -> None:
    """`fsdl-data check` said "1 blocking failures" for any failed ERROR check: the gate's
    failure is named ERROR but counted apart, since nothing was stopped by it."""
    from fsdl_data.cli.checks import failures
    from fsdl_data.cli.runner import materialize_days

    day = FIRST.isoformat()
    defs = dg.Definitions(
        assets=_gate_graph(day),  # the check's definition among them, bound to the calendar
        jobs=[dg.define_asset_job("nightly")],
        resources={"io_manager": dg.mem_io_manager},
    )
    (run,) = materialize_days(defs, "nightly", [day], dg.DagsterInstance.ephemeral(), "CRITICAL")
    (gate,) = run.outcomes
    assert not gate.passed and gate.severity == "ERROR" and not gate.blocking
    assert "photo_classifier" in run.materialized
    blocked, others = failures(run.outcomes)
    assert blocked == [] and others == [gate]
    stopped = replace(gate, blocking=True)  # what a blocking check's failure is counted as
    assert failures([stopped, gate]) == ([stopped], [gate])
