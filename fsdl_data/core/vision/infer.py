"""Batched inference: one row per photo, the classifier version on every row.

Two entry points over the same forward pass: `classify` fetches and decodes JPEGs in DataLoader
workers (for photos without a stored thumbnail), `classify_pixels` runs on model-sized pixels
already decoded at ingestion; `classify_rows` runs it on a photo_pixels table, which is what the
graph uses, and `classify_as_of` with the classifier as known before a day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import polars as pl
import torch

from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.data import PhotoDataset, photo_loader, to_batch
from fsdl_data.core.vision.model import Classifier
from fsdl_data.core.vision.pixels import thumbnails_from_bytes


def _forward(
    classifier: Classifier, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities and style scores, in the order of the batches' indices."""
    net = classifier.net.to(device).eval()
    probs, styles, index = [], [], []
    with torch.inference_mode():
        for idx, xb in batches:
            logits, style = net(xb.to(device, non_blocking=True))
            probs.append(torch.softmax(logits, 1).cpu())
            styles.append(style.cpu())
            index.append(idx)
    if not probs:
        return torch.zeros((0, len(classifier.classes))), torch.zeros(0)
    order = torch.cat(index).argsort()
    return torch.cat(probs)[order], torch.cat(styles)[order]


def _table(
    classifier: Classifier,
    photo_ids: Sequence[int],
    keys: Sequence[str],
    p: torch.Tensor,
    style: torch.Tensor,
) -> pl.DataFrame:
    cols = {f"p_{c}": p[:, i].numpy() for i, c in enumerate(classifier.classes)}
    return pl.DataFrame(
        {
            "photo_id": pl.Series(list(photo_ids), dtype=pl.Int64),
            "key": pl.Series(list(keys), dtype=pl.String),
            **{k: pl.Series(v, dtype=pl.Float32) for k, v in cols.items()},
            "predicted_class": pl.Series(
                [classifier.classes[i] for i in p.argmax(1).tolist()], dtype=pl.String
            ),
            "style_score": pl.Series(style.numpy(), dtype=pl.Float32),
            "classifier_version": pl.Series([classifier.version] * len(keys), dtype=pl.String),
        }
    )


def classify(
    classifier: Classifier,
    photo_ids: Sequence[int],
    keys: Sequence[str],
    fetch: Callable[[str], bytes],
    batch_size: int = 64,
    num_workers: int = 2,
    device: str = "cpu",
) -> pl.DataFrame:
    """Fetch, decode (in `num_workers` processes) and classify photos by object key."""
    loader = photo_loader(PhotoDataset(keys, fetch), batch_size, num_workers, device)
    p, style = _forward(classifier, iter(loader), device)
    return _table(classifier, photo_ids, keys, p, style)


def classify_pixels(
    classifier: Classifier,
    photo_ids: Sequence[int],
    keys: Sequence[str],
    pixels: np.ndarray,
    batch_size: int = 256,
    device: str = "cpu",
) -> pl.DataFrame:
    """Classify model-sized N x H x W x 3 uint8 pixels: no fetching, no decoding."""

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(pixels), batch_size):
            stop = min(start + batch_size, len(pixels))
            batch = to_batch(pixels[start:stop])
            if device == "cuda":
                batch = batch.pin_memory()
            yield torch.arange(start, stop), batch

    p, style = _forward(classifier, batches(), device)
    return _table(classifier, photo_ids, keys, p, style)


def classify_rows(
    classifier: Classifier, pixels: pl.DataFrame, batch_size: int = 256, device: str = "cpu"
) -> pl.DataFrame:
    """Classify the rows of a photo_pixels table (photo_id, key, thumbnail), in its order."""
    return classify_pixels(
        classifier,
        pixels["photo_id"].to_list(),
        pixels["key"].to_list(),
        thumbnails_from_bytes(pixels["thumbnail"].to_list()),
        batch_size,
        device,
    )


def classify_as_of(
    store: ObjectStore, day: str, pixels: pl.DataFrame
) -> tuple[str | None, pl.DataFrame | None]:
    """The version and outputs of the classifier as known before `day` (the registry's newest
    trained on earlier labels) on the rows of `pixels`; (None, None) before there is one, and
    no outputs when there are no rows."""
    card = registry.classifier_as_of(store, day)
    if card is None:
        return None, None
    if pixels.is_empty():
        return card.version, None
    return card.version, classify_rows(registry.load_classifier(store, card.version), pixels)
