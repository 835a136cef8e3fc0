"""The statistics of many thumbnails at once are exactly those of the plain arithmetic on each
thumbnail converted to floats (the reference below, the implementation before batching)."""

from __future__ import annotations

import numpy as np
import pytest

from fsdl_data.core.vision.pixels import pixel_stats, pixel_stats_of_many


def _reference(pixels: np.ndarray) -> dict[str, float | int]:
    px = pixels.astype(np.float32) / 255.0
    red, green, blue = px[..., 0], px[..., 1], px[..., 2]
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    h, w = luma.shape
    top = px[: h // 4]
    center = px[h * 5 // 16 : h * 11 // 16, w * 5 // 16 : w * 11 // 16]
    c_red, c_green, c_blue = center[..., 0], center[..., 1], center[..., 2]
    skin = (c_red > c_green + 0.05) & (c_green > c_blue) & (c_red > 0.55)
    levels = (px * 4).astype(np.int32).clip(0, 3)
    codes = levels[..., 0] * 16 + levels[..., 1] * 4 + levels[..., 2]
    return {
        "brightness": float(luma.mean()),
        "dark_share": float((luma < 0.3).mean()),
        "top_blue": float((top[..., 2] - top[..., 0]).mean()),
        "center_skin": float(skin.mean()),
        "center_white": float((center.min(axis=2) > 0.8).mean()),
        "colors": len(np.unique(codes)),
    }


@pytest.mark.parametrize("seed", range(6))
def test_many_at_once_equal_one_at_a_time_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count, side = int(rng.integers(1, 40)), int(rng.choice([4, 16, 33, 64]))
    pixels = rng.integers(0, 256, (count, side, side, 3)).astype(np.uint8)
    levels = int(rng.integers(2, 6))  # flat designs (few colours) and near-white plates too
    pixels[: count // 2] = pixels[: count // 2] // (256 // levels) * (255 // levels)
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
