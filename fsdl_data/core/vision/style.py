"""A self-supervised style target: "vividness" measured from the pixels themselves.

Nobody labels style; the lecture's advice is to label data with the data. The classifier's
style head learns this measure, so it can score photos it has never seen measured.
"""

from __future__ import annotations

import numpy as np
import torch

from fsdl_data.core.vision.data import NORMALIZE_MEAN, NORMALIZE_STD, to_batch

LUMA = (0.299, 0.587, 0.114)


def luma(pixels: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W pixels in [0, 1] -> N x H x W luma."""
    weights = torch.tensor(LUMA, dtype=pixels.dtype)[None, :, None, None]
    return (pixels * weights).sum(dim=1)


def vividness_batch(x: torch.Tensor) -> torch.Tensor:
    """Per normalised image (N x 3 x H x W), in [0, 1]: half mean chroma (saturation), half
    luminance spread (contrast)."""
    pixels = (x * NORMALIZE_STD + NORMALIZE_MEAN).clamp(0.0, 1.0)
    low, high = torch.aminmax(pixels, dim=1)  # one pass over the channels, not two
    chroma = (high - low).mean(dim=(1, 2))
    contrast = (luma(pixels).flatten(1).std(dim=1, correction=0) / 0.35).clamp(max=1.0)
    return (0.5 * chroma / 0.6 + 0.5 * contrast).clamp(0.0, 1.0)


def vividness(pixels: np.ndarray) -> float:
    """Of one H x W x 3 uint8 image."""
    return float(vividness_batch(to_batch(pixels[None]))[0])
