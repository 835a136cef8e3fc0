"""The statistics of many thumbnails at once are exactly those of the definitions on each
thumbnail alone: the reference below works in exact fractions of channel values v / 255, one
image and one rational inequality at a time, so any rounding or threshold slip shows."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fsdl_data.core.vision.pixels import pixel_stats, pixel_stats_of_many


def _share(mask: np.ndarray) -> float:
    return float(Fraction(int(mask.sum()), mask.size))


def _reference(pixels: np.ndarray) -> dict[str, float | int]:
    px = pixels.astype(np.int64)
    red, green, blue = px[..., 0], px[..., 1], px[..., 2]
    luma_1000 = 299 * red + 587 * green + 114 * blue  # 1000 x 255 x luma
    h, w = luma_1000.shape
    top = px[: h // 4]
    center = px[h * 5 // 16 : h * 11 // 16, w * 5 // 16 : w * 11 // 16]
    c_red, c_green, c_blue = center[..., 0], center[..., 1], center[..., 2]
    # red > green + 0.05, green > blue, red > 0.55, on v / 255
    skin = (20 * (c_red - c_green) > 255) & (c_green > c_blue) & (20 * c_red > 11 * 255)
    levels = np.minimum(4 * px // 255, 3)  # floor(4 v / 255), 4 levels per channel
    codes = levels[..., 0] * 16 + levels[..., 1] * 4 + levels[..., 2]
    return {
        "brightness": float(Fraction(int(luma_1000.sum()), 255_000 * h * w)),
        "dark_share": _share(10 * luma_1000 < 3 * 255_000),  # luma < 0.3
        "top_blue": float(Fraction(int((top[..., 2] - top[..., 0]).sum()), 255 * top[..., 0].size)),
        "center_skin": _share(skin),
        "center_white": _share(5 * center.min(axis=2) > 4 * 255),  # every channel > 0.8
        "colors": len(np.unique(codes)),
    }


@pytest.mark.parametrize("seed", range(8))
def test_many_at_once_equal_the_definitions_one_at_a_time_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count, side = int(rng.integers(1, 40)), int(rng.choice([4, 16, 33, 64]))
    pixels = rng.integers(0, 256, (count, side, side, 3)).astype(np.uint8)
    levels = int(rng.integers(2, 6))  # flat designs (few colours) and near-white plates too
    pixels[: count // 2] = pixels[: count // 2] // (256 // levels) * (255 // levels)
    # values at every threshold: the channel values where a rational inequality flips
    edges = np.array([63, 64, 127, 128, 191, 192, 140, 141, 204, 205, 0, 13, 255], np.uint8)
    third = count // 3
    pixels[third : 2 * third] = rng.choice(edges, pixels[third : 2 * third].shape)
    expected = [_reference(image) for image in pixels]
    assert [stats.as_dict() for stats in pixel_stats_of_many(pixels)] == expected
    assert pixel_stats(pixels[0]).as_dict() == expected[0]
    assert pixel_stats_of_many(pixels[:0]) == []


def test_content_features_are_the_histogram_block_means_and_gradients_they_say() -> None:
    from fsdl_data.core.vision.pixels import EDGE_GRID, FEATURE_GRID, content_features

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(5, 64, 64, 3), dtype=np.uint8)
    pixels[0] = rng.integers(0, 256, size=3)  # one flat colour: no gradient anywhere
    pixels[1, :, ::2] = 0  # vertical stripes: gradients across, none down
    pixels[1, :, 1::2] = 255
    features = content_features(pixels)
    g, e = FEATURE_GRID, EDGE_GRID
    assert features.shape == (5, 64 + 3 * g * g + 2 * e * e)
    np.testing.assert_allclose(features[:, :64].sum(axis=1), 1.0, rtol=1e-6)
    assert features[0, :64].max() == 1.0  # all its pixels in one colour cell
    blocks = pixels.reshape(5, g, 64 // g, g, 64 // g, 3).mean(axis=(2, 4)).reshape(5, -1) / 255
    np.testing.assert_allclose(features[:, 64 : 64 + 3 * g * g], blocks, rtol=1e-5)
    across, down = features[:, -2 * e * e : -e * e], features[:, -e * e :]
    assert np.abs(features[0, -2 * e * e :]).max() == 0.0
    assert across[1].min() > 0.9 and down[1].max() == 0.0
    assert content_features(pixels[:0]).shape == (0, features.shape[1])


def test_luma_exactly_at_the_dark_threshold_is_not_dark() -> None:
    # 299 R + 587 G + 114 B = 76,500 exactly (luma 0.3): R = 0, G = 0 has no solution, so
    # find one and check the boundary is strict
    r, g, b = next(
        (r, g, (76_500 - 299 * r - 587 * g) // 114)
        for r in range(256)
        for g in range(256)
        if (76_500 - 299 * r - 587 * g) % 114 == 0
        and 0 <= (76_500 - 299 * r - 587 * g) // 114 < 256
    )
    image = np.zeros((4, 4, 3), np.uint8)
    image[...] = (r, g, b)
    assert pixel_stats(image).dark_share == 0.0
    image[0, 0] = (r, g, b - 1) if b else (r, g - 1, b)
    assert pixel_stats(image).dark_share == 1 / 16
