"""Model-sized pixels and simple statistics of a photo, computed once when it is ingested.

`raw_photos` must fully decode every photo to validate it; keeping a model-sized copy then
means training, inference and labeling functions read pixels instead of decoding JPEGs again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fsdl_data.core.vision.decode import decode_rgb

IMAGE_SIZE = 64  # the classifier's input side; here so reading pixels needs no torch
THUMBNAIL_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)


@dataclass(frozen=True)
class PixelStats:
    """Crude, explainable statistics in [0, 1] (or a count) for rules over pixels."""

    brightness: float  # mean luma
    dark_share: float  # share of pixels with luma below 0.3
    top_blue: float  # blue minus red in the top quarter: a sky
    center_skin: float  # share of skin-toned pixels in the centre
    center_white: float  # share of near-white pixels in the centre: a plate
    colors: int  # distinct colours at 4 levels per channel: flat designs have few

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def thumbnail(data: bytes) -> np.ndarray:
    """IMAGE_SIZE x IMAGE_SIZE x 3 uint8: exactly what the classifier sees."""
    return decode_rgb(data, IMAGE_SIZE)


def thumbnail_bytes(pixels: np.ndarray) -> bytes:
    return np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()


def thumbnails_from_bytes(blobs: list[bytes]) -> np.ndarray:
    """N x H x W x 3 uint8 from stored thumbnails, in one buffer."""
    if not blobs:
        return np.zeros((0, *THUMBNAIL_SHAPE), dtype=np.uint8)
    return np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), *THUMBNAIL_SHAPE)


def pixel_stats(pixels: np.ndarray) -> PixelStats:
    """The statistics of one H x W x 3 thumbnail."""
    return pixel_stats_of_many(pixels[np.newaxis])[0]


def pixel_stats_of_many(pixels: np.ndarray) -> list[PixelStats]:
    """The statistics of N thumbnails (N x H x W x 3 uint8) in one pass of array operations:
    per photo, numpy's call overhead would cost more than the arithmetic (and hold the GIL
    that the decoding threads beside it need)."""
    count = len(pixels)
    if not count:
        return []
    px = pixels.astype(np.float32) / 255.0
    red, green, blue = px[..., 0], px[..., 1], px[..., 2]
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    h, w = luma.shape[1:]
    top = px[:, : h // 4]
    center = px[:, h * 5 // 16 : h * 11 // 16, w * 5 // 16 : w * 11 // 16]
    c_red, c_green, c_blue = center[..., 0], center[..., 1], center[..., 2]
    skin = (c_red > c_green + 0.05) & (c_green > c_blue) & (c_red > 0.55)
    levels = (px * 4).astype(np.int32).clip(0, 3)
    codes = (levels[..., 0] * 16 + levels[..., 1] * 4 + levels[..., 2]).reshape(count, -1)
    present = np.zeros((count, 64), dtype=bool)
    present[np.arange(count)[:, np.newaxis], codes] = True
    image_axes = (1, 2)
    columns = zip(
        luma.mean(axis=image_axes, dtype=np.float64),
        (luma < 0.3).mean(axis=image_axes),
        (top[..., 2] - top[..., 0]).mean(axis=image_axes, dtype=np.float64),
        skin.mean(axis=image_axes),
        (center.min(axis=3) > 0.8).mean(axis=image_axes),
        present.sum(axis=1),
        strict=True,
    )
    return [
        PixelStats(
            brightness=float(brightness),
            dark_share=float(dark),
            top_blue=float(top_blue),
            center_skin=float(skin_share),
            center_white=float(white),
            colors=int(colors),
        )
        for brightness, dark, top_blue, skin_share, white, colors in columns
    ]
