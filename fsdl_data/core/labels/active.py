"""Active learning: which photos a human should label next.

A label helps the classifier most where it is least sure. Each candidate gets an uncertainty
from the classifier's probabilities (1 - margin between its two likeliest classes, so 0 is
certain and 1 a coin toss) plus 1 when the label model's weak label disagrees with the
classifier's choice (two independent views in conflict). The queue takes the most uncertain
candidates within the day's budget; `random` draws the same number uniformly (the baseline
`bench/active_learning.py` compares against).

Re-review: labels already given can be wrong. The day's top label issues (core.labels.issues,
the label_issues asset) go into the queue first, within a budget of their own, each with its
`review_reason` for the annotator; a photo is sent back for review at most once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import numpy as np
import polars as pl

STRATEGIES = ("uncertainty", "random")

SCORED = {
    "photo_id": pl.Int64,
    "predicted_class": pl.String,
    "score": pl.Float64,  # the classifier's probability of its choice
    "margin": pl.Float64,
    "weak_label": pl.String,
    "disagrees": pl.Boolean,
    "uncertainty": pl.Float64,
}


def uncertainty(
    classifications: pl.DataFrame, classes: tuple[str, ...], weak: pl.DataFrame | None = None
) -> pl.DataFrame:
    """`classifications`: photo_id and a `p_<class>` column per class (photo_classifications);
    `weak`: photo_id and the label model's `weak_label`, where it voted."""
    probabilities = classifications.select([f"p_{c}" for c in classes]).to_numpy().astype(float)
    if len(probabilities):
        top = np.sort(probabilities, axis=1)[:, ::-1]
        margin = top[:, 0] - (top[:, 1] if len(classes) > 1 else 0.0)
        best = probabilities.argmax(axis=1)
    else:
        margin, best = np.zeros(0), np.zeros(0, dtype=int)
    scored = pl.DataFrame(
        {
            "photo_id": classifications["photo_id"].cast(pl.Int64),
            "predicted_class": pl.Series([classes[i] for i in best], dtype=pl.String),
            "score": pl.Series(probabilities.max(axis=1) if len(best) else [], dtype=pl.Float64),
            "margin": pl.Series(margin, dtype=pl.Float64),
        }
    )
    if weak is None:
        weak = pl.DataFrame(schema={"photo_id": pl.Int64, "weak_label": pl.String})
    scored = scored.join(weak.select("photo_id", "weak_label"), on="photo_id", how="left")
    disagrees = pl.col("weak_label").is_not_null() & (
        pl.col("weak_label") != pl.col("predicted_class")
    )
    return (
        scored.with_columns(disagrees=disagrees)
        .with_columns(uncertainty=(1 - pl.col("margin")) + pl.col("disagrees").cast(pl.Float64))
        .select(list(SCORED))
    )


def _draw(photo_id: int, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{photo_id}".encode()).hexdigest()


def select_for_labeling(
    scored: pl.DataFrame,
    budget: int,
    strategy: str = "uncertainty",
    seed: int = 0,
    exclude: Collection[int] = (),
) -> pl.DataFrame:
    """Up to `budget` rows of `scored` not in `exclude` (already labeled or queued), ranked from
    1. Deterministic: uncertainty ties break by photo id; `random` is a seeded hash order, so a
    photo's draw does not depend on which others are candidates."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if budget < 0:
        raise ValueError(f"budget {budget}: give a number of photos, 0 or more")
    candidates = scored.filter(~pl.col("photo_id").is_in(list(exclude)))
    if strategy == "uncertainty":
        ordered = candidates.sort(["uncertainty", "photo_id"], descending=[True, False])
    else:
        draws = pl.Series([_draw(p, seed) for p in candidates["photo_id"]], dtype=pl.String)
        ordered = candidates.with_columns(_draw=draws).sort("_draw").drop("_draw")
    return (
        ordered.head(budget)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )


LABELING_QUEUE = {
    "rank": pl.Int64,
    "photo_id": pl.Int64,
    "photo_day": pl.Date,
    "key": pl.String,
    **{k: v for k, v in SCORED.items() if k != "photo_id"},
    "classifier_version": pl.String,
    # why a labeled photo is back (a likely label error, from label_issues); null: a new photo
    "review_reason": pl.String,
}


def handled_photos(human_labels: pl.DataFrame, earlier_queues: pl.DataFrame) -> set[int]:
    """Photos a human has already seen: annotated (accepted, or skipped as cancelled) or sent to
    Label Studio in an earlier queue. None of them is queued again."""
    seen = human_labels.filter(
        pl.col("rejected_reason").is_null() | (pl.col("rejected_reason") == "cancelled")
    )["photo_id"].drop_nulls()
    return set(seen.to_list()) | set(earlier_queues["photo_id"].to_list())


def reviewed_photos(earlier_queues: pl.DataFrame) -> set[int]:
    """Photos an earlier queue already sent back for review (queues from before reviews existed
    have no `review_reason` column: none)."""
    if "review_reason" not in earlier_queues.columns:
        return set()
    return set(earlier_queues.filter(pl.col("review_reason").is_not_null())["photo_id"].to_list())


def reviews_due(issues: pl.DataFrame, reviews: int, reviewed: Collection[int]) -> pl.DataFrame:
    """photo_id and review_reason of the `reviews` likeliest label errors in `issues`
    (label_issues rows: `issue`, `issue_rank`, `review_reason`), less those reviewed before,
    likeliest first."""
    if reviews < 0:
        raise ValueError(f"reviews {reviews}: give a number of photos, 0 or more")
    return (
        issues.filter(pl.col("issue") & ~pl.col("photo_id").is_in(list(reviewed)))
        .sort("issue_rank")
        .head(reviews)
        .select("photo_id", "review_reason")
    )


def build_queue(
    classifications: pl.DataFrame,
    labeled: pl.DataFrame,
    already: Collection[int],
    classes: tuple[str, ...],
    budget: int,
    strategy: str = "uncertainty",
    seed: int = 0,
    review: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The day's labeling queue (LABELING_QUEUE). `classifications`: photo_classifications rows of
    the candidate days with their `day`; `labeled`: labeled_set rows (its `weak_label`, and the
    photos gold or human labels already cover); `already`: `handled_photos`. None of those is
    queued again, except the photos in `review` (`reviews_due`): they come first, with their
    reason, beside the `budget` new ones."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if review is None:
        review = pl.DataFrame(schema={"photo_id": pl.Int64, "review_reason": pl.String})
    covered = labeled.filter(pl.col("source").is_in(["gold", "human"]))["photo_id"].to_list()
    weak = labeled.select("photo_id", "weak_label").filter(pl.col("weak_label").is_not_null())
    scored = uncertainty(classifications, classes, weak)
    back = review.join(scored, on="photo_id", how="inner", maintain_order="left")
    exclude = set(already) | set(covered) | set(back["photo_id"].to_list())
    chosen = select_for_labeling(scored, budget, strategy, seed, exclude).drop("rank")
    both = pl.concat([back, chosen.with_columns(review_reason=pl.lit(None, pl.String))],
                     how="diagonal_relaxed").with_row_index("rank", offset=1)  # fmt: skip
    details = classifications.select(
        "photo_id", pl.col("day").alias("photo_day"), "key", "classifier_version"
    )
    return (
        both.with_columns(pl.col("rank").cast(pl.Int64))
        .join(details, on="photo_id", how="left")
        .select(list(LABELING_QUEUE))
        .cast(LABELING_QUEUE)
        .sort("rank")
    )
