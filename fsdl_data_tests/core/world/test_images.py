"""core.world.images: a photo of each class is an RGB image of one of the known sizes, style
makes it more vivid, and a JPEG of it decodes to the same size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fsdl_data.core.world.images import SIZES, encode_jpeg, render_photo
from fsdl_data.core.world.spec import CONTENT_CLASSES


def _saturation(pixels: np.ndarray) -> float:
    return float((pixels.astype(float) - pixels.mean(axis=2, keepdims=True)).std())


@pytest.mark.parametrize("content", CONTENT_CLASSES)
def test_each_class_renders_and_style_is_vividness(content: str) -> None:
    dull = render_photo(np.random.default_rng(3), content, 0.0)
    vivid = render_photo(np.random.default_rng(3), content, 1.0)  # the same draw, more style
    assert dull.dtype == np.uint8 and dull.ndim == 3 and dull.shape[2] == 3
    assert dull.shape[0] in SIZES and dull.shape[1] in SIZES and dull.shape == vivid.shape
    assert _saturation(vivid) > _saturation(dull)
    assert np.array_equal(dull, render_photo(np.random.default_rng(3), content, 0.0))
    decoded = Image.open(io.BytesIO(encode_jpeg(vivid)))
    assert decoded.format == "JPEG" and decoded.size == (vivid.shape[1], vivid.shape[0])
