"""A self-supervised style target: "vividness" measured from the pixels themselves.

Nobody labels style; the lecture's advice is to label data with the data. The classifier's
style head learns this measure, so it can score photos it has never seen measured.
"""

from __future__ import annotations

import numpy as np


def vividness(pixels: np.ndarray) -> float:
    """In [0, 1]: half mean chroma (saturation), half luminance spread (contrast)."""
    px = pixels.astype(np.float32) / 255.0
    chroma = (px.max(axis=2) - px.min(axis=2)).mean()
    luma = px @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    contrast = min(1.0, float(luma.std()) / 0.35)
    return float(np.clip(0.5 * chroma / 0.6 + 0.5 * contrast, 0.0, 1.0))
