"""The nightly popularity model: predicts log(1 + likes in 24 h) from the training set."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import numpy as np
import polars as pl
import torch
from torch import nn

from fsdl_data.core.features.definitions import features_of, model_input_columns
from fsdl_data.core.modeling.metrics import auc, spearman
from fsdl_data.core.versions import code_version, version_of


def feature_matrix(df: pl.DataFrame, classes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric features: classifier outputs (missing: uniform), and every feature whose definition
    names a model input, encoded as it says; missing user features get a flag."""
    n = len(classes)
    cols: dict[str, pl.Expr] = {f"p_{c}": pl.col(f"p_{c}").fill_null(1.0 / n) for c in classes}
    cols["style_score"] = pl.col("style_score").fill_null(0.5)
    cols.update(model_input_columns())
    user_inputs = [f.name for f in features_of("user") if f.model_input is not None]
    if user_inputs:
        cols["no_user_features"] = pl.col(user_inputs[0]).is_null().cast(pl.Float64)
    x = df.select(**cols).to_numpy().astype(np.float32)
    return x, list(cols)


def target(df: pl.DataFrame) -> np.ndarray:
    return np.log1p(df["likes_24h"].to_numpy().astype(np.float32))


@dataclass
class PopularityModel:
    net: nn.Module
    mean: np.ndarray
    std: np.ndarray
    features: list[str]
    classes: list[str]
    version: str

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        x, _ = feature_matrix(df, self.classes)
        with torch.no_grad():
            return self.net(torch.from_numpy((x - self.mean) / self.std)).squeeze(1).numpy()

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save(
            {
                "state_dict": self.net.state_dict(),
                "mean": torch.from_numpy(self.mean),
                "std": torch.from_numpy(self.std),
                "features": self.features,
                "classes": self.classes,
                "version": self.version,
            },
            buf,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PopularityModel:
        obj = torch.load(io.BytesIO(data), weights_only=True)
        net = _mlp(len(obj["features"]))
        net.load_state_dict(obj["state_dict"])
        return cls(
            net.eval(),
            obj["mean"].numpy(),
            obj["std"].numpy(),
            obj["features"],
            obj["classes"],
            obj["version"],
        )


def _mlp(n_in: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, 32), nn.ReLU(), nn.Linear(32, 1))


def model_version(snapshot_version: str, epochs: int, seed: int) -> str:
    """The training code's source hash, the snapshot trained on, and the settings."""
    return version_of(code_version("model"), snapshot_version, epochs, seed)


def train(
    df: pl.DataFrame, classes: list[str], version: str, epochs: int = 400, seed: int = 0
) -> PopularityModel:
    if len(df) < 10:
        raise ValueError(f"only {len(df)} labeled rows to train on: materialize more days first")
    torch.manual_seed(seed)
    x, names = feature_matrix(df, classes)
    y = torch.from_numpy(target(df))
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    net = _mlp(x.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(xt).squeeze(1), y)
        loss.backward()
        opt.step()
    return PopularityModel(net.eval(), mean, std, names, classes, version)


MIN_HELD_OUT_ROWS = 100
"""The fewest held-out rows on which a model is judged against the baseline. The gate asks for
AUC 0.05 above the baseline's; on n rows the AUC of a model with no skill swings with a
standard error of about 1/sqrt(3n) (0.058 at 100 rows, 0.09 at 40), so on fewer rows a pass or a
fail is mostly noise: the model is trained and recorded, not promoted, and the check is skipped
with that reason (a tiny world's third night held out 40 rows and failed on AUC 0.47)."""


@dataclass(frozen=True)
class Evaluation:
    rows: int
    spearman: float
    auc_above_median: float
    baseline_spearman: float
    baseline_auc: float

    @property
    def judged(self) -> bool:
        """Enough held-out rows for `beats_baseline` to mean something (MIN_HELD_OUT_ROWS)."""
        return self.rows >= MIN_HELD_OUT_ROWS

    @property
    def beats_baseline(self) -> bool:
        return (
            self.auc_above_median >= self.baseline_auc + 0.05
            and self.spearman > self.baseline_spearman + 0.1
        )


def evaluate(predictions: np.ndarray, likes: np.ndarray, baseline: np.ndarray) -> Evaluation:
    """Rank correlation with likes and AUC of "above the median", for the model and a baseline."""
    likes = np.asarray(likes, dtype=float)
    positive = likes > np.median(likes)
    return Evaluation(
        rows=len(likes),
        spearman=spearman(predictions, likes),
        auc_above_median=auc(predictions, positive),
        baseline_spearman=spearman(baseline, likes),
        baseline_auc=auc(baseline, positive),
    )


@dataclass
class HeldOutFit:
    """A model trained on every snapshot day but the last, and its evaluation on that last day."""

    model: PopularityModel
    evaluation: Evaluation
    held_out_day: str
    train_rows: int
    predicted: np.ndarray  # log(1 + likes) predicted for each held-out row
    actual: np.ndarray  # and what it was


def fit_with_held_out_day(
    rows: pl.DataFrame, classes: list[str], version: str, epochs: int = 400, seed: int = 0
) -> HeldOutFit | None:
    """`rows` carry `snapshot_part`; None when there is only one day (nothing to hold out).
    The baseline is a constant: the training mean, which ranks nothing."""
    held_out_day = max(rows["snapshot_part"].unique().to_list())
    train_rows = rows.filter(pl.col("snapshot_part") != held_out_day)
    test_rows = rows.filter(pl.col("snapshot_part") == held_out_day)
    if train_rows.is_empty():
        return None
    model = train(train_rows, classes, version, epochs, seed)
    baseline = np.full(len(test_rows), float(target(train_rows).mean()))
    predicted = model.predict(test_rows)
    ev = evaluate(predicted, test_rows["likes_24h"].to_numpy(), baseline)
    return HeldOutFit(model, ev, held_out_day, len(train_rows), predicted, target(test_rows))


@dataclass(frozen=True)
class ModelRecord:
    """The one record of a trained model: its card (stored beside the weights, where lineage
    starts), its `popularity_model` table row and the run's metadata are three views of it, so
    a number is written once."""

    version: str
    snapshot_version: str
    held_out_day: str
    train_rows: int
    test_rows: int
    spearman: float
    auc_above_median: float
    baseline_spearman: float
    baseline_auc: float
    promoted: bool

    @classmethod
    def of(cls, fit: HeldOutFit, version: str, snapshot_version: str) -> ModelRecord:
        ev = fit.evaluation
        return cls(
            version=version, snapshot_version=snapshot_version, held_out_day=fit.held_out_day,
            train_rows=fit.train_rows, test_rows=ev.rows, spearman=ev.spearman,
            auc_above_median=ev.auc_above_median, baseline_spearman=ev.baseline_spearman,
            baseline_auc=ev.baseline_auc, promoted=ev.judged and ev.beats_baseline,
        )  # fmt: skip

    @property
    def judged(self) -> bool:
        """Whether the held-out day had enough rows to judge the model (MIN_HELD_OUT_ROWS);
        if not, it is not promoted and its check is skipped, with `check_description` as why."""
        return self.test_rows >= MIN_HELD_OUT_ROWS

    def card(self) -> dict:
        """What the card stores (`snapshot` is the key lineage reads)."""
        return {
            "version": self.version, "snapshot": self.snapshot_version,
            "held_out_day": self.held_out_day, "train_rows": self.train_rows,
            "test_rows": self.test_rows, "spearman": self.spearman,
            "auc_above_median": self.auc_above_median, "promoted": self.promoted,
        }  # fmt: skip

    def row(self, model_key: str) -> pl.DataFrame:
        """The model's one-row `popularity_model` table."""
        fields = dataclasses.asdict(self)
        return pl.DataFrame([{"version": self.version, "model_key": model_key, **fields}])

    def metadata(self) -> dict:
        """The numbers a run shows."""
        return {
            "snapshot_version": self.snapshot_version, "held_out_day": self.held_out_day,
            "spearman": self.spearman, "auc_above_median": self.auc_above_median,
            "baseline_auc": self.baseline_auc, "promoted": self.promoted,
        }  # fmt: skip

    def check_description(self) -> str:
        if not self.judged:
            return (
                f"not judged: held-out {self.held_out_day} has {self.test_rows} rows, fewer than "
                f"the {MIN_HELD_OUT_ROWS} needed to tell a model from the baseline "
                "(MIN_HELD_OUT_ROWS); not promoted"
            )
        return (
            f"held-out {self.held_out_day}: AUC {self.auc_above_median:.3f} vs baseline "
            f"{self.baseline_auc:.3f}, rank correlation {self.spearman:.3f} vs "
            f"{self.baseline_spearman:.3f}"
        )
