"""Image decoding: the one place that turns object bytes into pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class ImageInfo:
    width: int | None
    height: int | None
    error: str | None


def inspect_image(data: bytes) -> ImageInfo:
    """Width and height of a fully decoded image, or why it could not be decoded."""
    if not data:
        return ImageInfo(None, None, "empty object (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # a full decode: truncated files fail here, not at open()
            return ImageInfo(img.width, img.height, None)
    except Exception as e:  # PIL raises several unrelated types for bad files
        return ImageInfo(None, None, f"{type(e).__name__}: {e}")


def decode_rgb(data: bytes, size: int | None = None) -> np.ndarray:
    """HxWx3 uint8 pixels, optionally resized to size x size."""
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        if size is not None:
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.uint8)
