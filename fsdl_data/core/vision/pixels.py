"""Model-sized pixels and simple statistics of a photo, computed once when it is ingested.

`raw_photos` must fully decode every photo to validate it; keeping a model-sized copy then
means training, inference and labeling functions read pixels instead of decoding JPEGs again.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        return dict(vars(self))  # the fields are plain numbers: no deep copy (asdict) needed


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


# Each statistic is a function of channel values (0-255) through these float32 tables: a table
# lookup per pixel instead of converting every thumbnail to floats (the values are those of
# `value / 255.0` in float32, so the figures are exactly the arithmetic on converted pixels).
_UNIT = np.arange(256, dtype=np.float32) / 255.0
_LUMA_RED, _LUMA_GREEN, _LUMA_BLUE = 0.299 * _UNIT, 0.587 * _UNIT, 0.114 * _UNIT
_LEVEL = (_UNIT * 4).astype(np.int32).clip(0, 3)  # 4 levels per channel, for counting colours
_WHITE = _UNIT > 0.8


def pixel_stats_of_many(pixels: np.ndarray) -> list[PixelStats]:
    """The statistics of N thumbnails (N x H x W x 3 uint8) in one pass of array operations:
    per photo, numpy's call overhead would cost more than the arithmetic (and hold the GIL
    that the decoding threads beside it need)."""
    count = len(pixels)
    if not count:
        return []
    h, w = pixels.shape[1:3]
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luma = (_LUMA_RED.take(red) + _LUMA_GREEN.take(green) + _LUMA_BLUE.take(blue)).reshape(
        count, -1
    )
    top = pixels[:, : h // 4]
    top_blue = _UNIT.take(top[..., 2]) - _UNIT.take(top[..., 0])
    center = pixels[:, h * 5 // 16 : h * 11 // 16, w * 5 // 16 : w * 11 // 16]
    c_red, c_green, c_blue = (_UNIT.take(center[..., channel]) for channel in range(3))
    skin = (c_red > c_green + 0.05) & (c_green > c_blue) & (c_red > 0.55)
    white = _WHITE.take(center.min(axis=3))
    codes = _LEVEL.take(red) * 16 + _LEVEL.take(green) * 4 + _LEVEL.take(blue)
    image = np.arange(count, dtype=np.int32)[:, np.newaxis] * 64
    present = np.bincount((codes.reshape(count, -1) + image).ravel(), minlength=count * 64)
    columns = zip(
        luma.mean(axis=1),
        (luma < 0.3).mean(axis=1),
        top_blue.reshape(count, -1).mean(axis=1),
        skin.reshape(count, -1).mean(axis=1),
        white.reshape(count, -1).mean(axis=1),
        np.count_nonzero(present.reshape(count, 64), axis=1),
        strict=True,
    )
    return [
        PixelStats(
            brightness=float(brightness),
            dark_share=float(dark),
            top_blue=float(top_blue),
            center_skin=float(skin_share),
            center_white=float(white_share),
            colors=int(colors),
        )
        for brightness, dark, top_blue, skin_share, white_share, colors in columns
    ]


FEATURE_GRID = 8  # block means on an 8 x 8 grid per channel
EDGE_GRID = 4  # mean absolute luma gradients on a 4 x 4 grid, across and down


def content_features(pixels: np.ndarray) -> np.ndarray:
    """N x D float32 features of N thumbnails (N x H x W x 3 uint8) that no label has touched,
    for a cheap model of content beside the CNN (label_issues cross-fits one on them): the
    colour histogram at 4 levels per channel (64 shares), each channel's mean on an 8 x 8 grid
    (layout: sky above, a plate in the centre) and the mean luma gradient across and down on a
    4 x 4 grid (texture: windows, stripes). H and W must be multiples of the grids."""
    count = len(pixels)
    h, w = pixels.shape[1:3]
    if not count:
        return np.zeros((0, 64 + 3 * FEATURE_GRID**2 + 2 * EDGE_GRID**2), dtype=np.float32)
    levels = pixels >> 6  # 4 levels per channel, as _LEVEL counts them
    codes = (levels[..., 0] << 4) | (levels[..., 1] << 2) | levels[..., 2]
    image = np.arange(count, dtype=np.int32)[:, np.newaxis] * 64
    codes = codes.reshape(count, -1).astype(np.int32) + image
    histogram = np.bincount(codes.ravel(), minlength=count * 64)
    histogram = histogram.reshape(count, 64).astype(np.float32) / (h * w)
    g = FEATURE_GRID  # sums down each band of rows, then across each band of columns
    rows = pixels.reshape(count, g, h // g, w * 3).sum(axis=2, dtype=np.uint32)
    blocks = rows.reshape(count, g, g, w // g, 3).sum(axis=3).reshape(count, -1)
    blocks = blocks.astype(np.float32) / (255.0 * (h // g) * (w // g))
    luma = _LUMA_RED.take(pixels[..., 0]) + _LUMA_GREEN.take(pixels[..., 1])
    luma += _LUMA_BLUE.take(pixels[..., 2])
    e = EDGE_GRID
    edges = []
    for gradient in (np.diff(luma, axis=2, append=luma[:, :, -1:]),
                     np.diff(luma, axis=1, append=luma[:, -1:, :])):  # fmt: skip
        bands = np.abs(gradient).reshape(count, e, h // e, w).sum(axis=2)
        edges.append(
            bands.reshape(count, e, e, w // e).sum(axis=3).reshape(count, -1) * (e * e / (h * w))
        )
    return np.concatenate([histogram, blocks, *edges], axis=1).astype(np.float32)
