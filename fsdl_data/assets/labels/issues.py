"""Label issues: the gold, human and weak labels most likely wrong (confident learning on
out-of-sample probabilities); labeling_queue sends the top ones back for review."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at, table
from fsdl_data.assets.labels._windows import DAILY_LABELS, tagged_days, trailing
from fsdl_data.core import plots
from fsdl_data.core.calendar import parse_day
from fsdl_data.core.labels.crossfit import DEFAULT_FOLDS
from fsdl_data.core.labels.issues import day_label_issues, issue_counts, trusted_share
from fsdl_data.core.tables.schemas import CONTENT_CLASSES

ISSUES_WINDOW_DAYS = 7  # the day's labels are cross-fitted beside the 6 days before
TOP_ISSUES_SHOWN = 10


class LabelIssuesConfig(dg.Config):
    folds: int = DEFAULT_FOLDS  # cross-fitting folds: each photo scored by a model of the others
    seed: int = 0  # which fold each photo falls in


@dg.asset(
    **DAILY_LABELS,
    kinds={"python", "parquet"},
    ins={
        "labeled_set": tagged_days(-(ISSUES_WINDOW_DAYS - 1), 0),
        "photo_pixels": dg.AssetIn(partition_mapping=trailing(ISSUES_WINDOW_DAYS)),
    },
    description="Every labeled photo of the day (its gold, human or weak label, as labeled_set "
    "chose it) scored for being wrong: the score, `label_probability`, is the probability of its label under a model "
    "that never trained on it (softmax regression on features of the pixels, cross-fitted over "
    f"{DEFAULT_FOLDS} folds of the trailing {ISSUES_WINDOW_DAYS} days' labels), "
    "`suggested_label` that model's choice. Confident learning flags the likely errors "
    "(`issue`, ranked by `issue_rank` from the likeliest, with a `review_reason`); labeling_queue sends the "
    "top ones back to the annotators. Metadata: counts per source, `top_issues`"
    + plots_at("issues_by_source"),
)
def label_issues(
    context: dg.AssetExecutionContext,
    config: LabelIssuesConfig,
    labeled_set: pl.DataFrame,
    photo_pixels: pl.DataFrame,
) -> dg.Output:
    try:
        df = day_label_issues(labeled_set, photo_pixels, CONTENT_CLASSES,
                              parse_day(context.partition_key), config.folds, config.seed)  # fmt: skip
    except ValueError as error:
        raise dg.Failure(str(error)) from None
    counts = issue_counts(df)
    top = df.filter(pl.col("issue")).head(TOP_ISSUES_SHOWN)
    return table(
        df,
        scored=len(df),
        issues=int(df["issue"].sum()),
        trusted_flagged_share=trusted_share(df),
        **{f"scored/{s}": n for s, (n, _) in counts.items()},
        **{f"issues/{s}": k for s, (_, k) in counts.items()},
        top_issues=dg.MetadataValue.md(_markdown(top)) if len(top) else "no issues",
        issues_by_source=picture(
            plots.counts(list(counts), [k for _, k in counts.values()], "likely label errors")
        ),
    )


def _markdown(top: pl.DataFrame) -> str:
    lines = [
        "| rank | photo | source | label | probability | suggested |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['issue_rank']} | {r['photo_id']} | {r['source']} | {r['label']} "
        f"| {r['label_probability']:.3f} "
        f"| {r['suggested_label']} ({r['suggested_probability']:.2f}) |"
        for r in top.iter_rows(named=True)
    ]
    return "\n".join(lines)
