"""Decoding and batching photos for torch: decoding runs in DataLoader workers so it overlaps
the forward pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fsdl_data.core.vision.decode import decode_rgb
from fsdl_data.core.vision.pixels import IMAGE_SIZE

NORMALIZE_MEAN, NORMALIZE_STD = 0.5, 0.25  # pixels in [0, 1] -> (p - mean) / std, every channel


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> 3 x H x W normalised float32."""
    return to_batch(pixels[None])[0]


def to_batch(pixels: np.ndarray) -> torch.Tensor:
    """N x H x W x 3 uint8 -> N x 3 x H x W normalised float32, as to_tensor on each image.
    In torch, in place: 6x faster than the same arithmetic in numpy (measured), which kept
    inference on stored pixels at half the forward pass's rate."""
    # from_numpy warns on read-only arrays (pixels decoded from Parquet are): copy only those
    pixels = np.require(pixels, requirements=["C_CONTIGUOUS", "WRITEABLE"])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).to(torch.float32)
    return x.div_(255.0).sub_(NORMALIZE_MEAN).div_(NORMALIZE_STD).contiguous()


class PhotoDataset(Dataset):
    """Photos by key, fetched through `fetch` (object-store bytes) and decoded to IMAGE_SIZE."""

    def __init__(self, keys: Sequence[str], fetch: Callable[[str], bytes]) -> None:
        self.keys = list(keys)
        self.fetch = fetch

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        return i, to_tensor(decode_rgb(self.fetch(self.keys[i]), IMAGE_SIZE))


def photo_loader(dataset: Dataset, batch_size: int, num_workers: int, device: str) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device == "cuda",
        prefetch_factor=4 if num_workers else None,
        persistent_workers=False,
        multiprocessing_context="fork" if num_workers else None,
    )
