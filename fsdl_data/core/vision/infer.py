"""Batched inference: decode in workers, forward on the best device, one row per photo."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
import torch

from fsdl_data.core.vision.data import PhotoDataset, photo_loader
from fsdl_data.core.vision.model import Classifier


def classify(
    classifier: Classifier,
    photo_ids: Sequence[int],
    keys: Sequence[str],
    fetch: Callable[[str], bytes],
    batch_size: int = 64,
    num_workers: int = 2,
    device: str = "cpu",
) -> pl.DataFrame:
    """Content-class probabilities, predicted class and style score per photo, with the
    classifier version on every row."""
    net = classifier.net.to(device).eval()
    loader = photo_loader(PhotoDataset(keys, fetch), batch_size, num_workers, device)
    probs, styles, index = [], [], []
    with torch.inference_mode():
        for idx, xb in loader:
            logits, style = net(xb.to(device, non_blocking=True))
            probs.append(torch.softmax(logits, 1).cpu())
            styles.append(style.cpu())
            index.append(idx)
    n = len(classifier.classes)
    p = torch.cat(probs) if probs else torch.zeros((0, n))
    order = torch.cat(index).argsort() if index else torch.zeros(0, dtype=torch.long)
    p = p[order]
    st = (torch.cat(styles) if styles else torch.zeros(0))[order]
    cols = {f"p_{c}": p[:, i].numpy() for i, c in enumerate(classifier.classes)}
    return pl.DataFrame(
        {
            "photo_id": pl.Series(list(photo_ids), dtype=pl.Int64),
            "key": pl.Series(list(keys), dtype=pl.String),
            **{k: pl.Series(v, dtype=pl.Float32) for k, v in cols.items()},
            "predicted_class": pl.Series(
                [classifier.classes[i] for i in p.argmax(1).tolist()], dtype=pl.String
            ),
            "style_score": pl.Series(st.numpy(), dtype=pl.Float32),
            "classifier_version": pl.Series([classifier.version] * len(keys), dtype=pl.String),
        }
    )
