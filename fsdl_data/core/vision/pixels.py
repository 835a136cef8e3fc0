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


def pixel_stats_of_many(pixels: np.ndarray) -> list[PixelStats]:
    """The statistics of N thumbnails (N x H x W x 3 uint8), one record each."""
    columns = pixel_stats_columns(pixels)
    return [
        PixelStats(**{name: value.item() for name, value in zip(columns, values, strict=True)})
        for values in zip(*columns.values(), strict=True)
    ]


# The statistics are defined on channel values v / 255 and computed exactly in integers: luma is
# (299 R + 587 G + 114 B) / 255,000, so "luma < 0.3" is "299 R + 587 G + 114 B < 76,500"; "red
# more than green + 0.05" is "20 (R - G) > 255", and so on. No per-pixel float (or rounding) at all.
_LUMA_WEIGHTS = (299, 587, 114)
_DARK_BELOW = 76_500  # 0.3 x 255 x 1000
_SKIN_RED_FROM, _SKIN_GAP_FROM = 141, 13  # the least R with R/255 > 0.55; R-G with > 0.05
_WHITE_FROM = 205  # the least value with v/255 > 0.8
_LEVEL_SHIFT = 6  # floor(4 v / 255), clipped to 3, is v >> 6: 4 levels per channel


def pixel_stats_columns(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics of N thumbnails (N x H x W x 3 uint8) as one array per PixelStats field,
    in a few passes of integer array operations over the batch: per photo, numpy's call
    overhead would cost more than the arithmetic (and hold the GIL the decoding threads beside
    it need). The channels are made planes once, so every later pass reads contiguous bytes."""
    count, h, w = pixels.shape[:3]
    if not count:
        return {name: np.zeros(0, np.int64 if name == "colors" else np.float64)
                for name in PixelStats.__dataclass_fields__}  # fmt: skip
    red, green, blue = np.ascontiguousarray(np.moveaxis(pixels, -1, 0))  # 3 x N x H x W
    luma = red.astype(np.int32) * _LUMA_WEIGHTS[0]
    luma += green * np.int32(_LUMA_WEIGHTS[1])
    luma += blue * np.int32(_LUMA_WEIGHTS[2])
    luma = luma.reshape(count, -1)
    top = np.s_[:, : h // 4]
    top_pixels = (h // 4) * w
    top_blue = blue[top].reshape(count, -1).sum(axis=1, dtype=np.int64)
    top_blue -= red[top].reshape(count, -1).sum(axis=1, dtype=np.int64)
    center = np.s_[:, h * 5 // 16 : h * 11 // 16, w * 5 // 16 : w * 11 // 16]
    c_red, c_green, c_blue = red[center], green[center], blue[center]
    center_pixels = c_red[0].size
    skin = (
        (c_red.astype(np.int16) - c_green >= _SKIN_GAP_FROM)
        & (c_green > c_blue)
        & (c_red >= _SKIN_RED_FROM)
    )
    white = np.minimum(np.minimum(c_red, c_green), c_blue) >= _WHITE_FROM
    codes = (red >> _LEVEL_SHIFT) << 4 | (green >> _LEVEL_SHIFT) << 2 | (blue >> _LEVEL_SHIFT)
    present = np.bitwise_or.reduce(  # a bit per colour code (64) per photo
        np.left_shift(np.uint64(1), codes.reshape(count, -1), dtype=np.uint64), axis=1
    )
    return {
        "brightness": luma.sum(axis=1, dtype=np.int64) / (255_000 * h * w),
        "dark_share": np.count_nonzero(luma < _DARK_BELOW, axis=1) / (h * w),
        "top_blue": top_blue / (255 * top_pixels),
        "center_skin": np.count_nonzero(skin.reshape(count, -1), axis=1) / center_pixels,
        "center_white": np.count_nonzero(white.reshape(count, -1), axis=1) / center_pixels,
        "colors": np.bitwise_count(present).astype(np.int64),
    }


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
    levels = pixels >> _LEVEL_SHIFT  # 4 levels per channel, as the colour count has them
    codes = (levels[..., 0] << 4) | (levels[..., 1] << 2) | levels[..., 2]
    image = np.arange(count, dtype=np.int32)[:, np.newaxis] * 64
    codes = codes.reshape(count, -1).astype(np.int32) + image
    histogram = np.bincount(codes.ravel(), minlength=count * 64)
    histogram = histogram.reshape(count, 64).astype(np.float32) / (h * w)
    g = FEATURE_GRID  # sums down each band of rows, then across each band of columns
    rows = pixels.reshape(count, g, h // g, w * 3).sum(axis=2, dtype=np.uint32)
    blocks = rows.reshape(count, g, g, w // g, 3).sum(axis=3).reshape(count, -1)
    blocks = blocks.astype(np.float32) / (255.0 * (h // g) * (w // g))
    weights = [np.float32(w / 255_000) for w in _LUMA_WEIGHTS]
    luma = pixels[..., 0] * weights[0] + pixels[..., 1] * weights[1] + pixels[..., 2] * weights[2]
    e = EDGE_GRID
    edges = []
    for gradient in (np.diff(luma, axis=2, append=luma[:, :, -1:]),
                     np.diff(luma, axis=1, append=luma[:, -1:, :])):  # fmt: skip
        bands = np.abs(gradient).reshape(count, e, h // e, w).sum(axis=2)
        edges.append(
            bands.reshape(count, e, e, w // e).sum(axis=3).reshape(count, -1) * (e * e / (h * w))
        )
    return np.concatenate([histogram, blocks, *edges], axis=1).astype(np.float32)
