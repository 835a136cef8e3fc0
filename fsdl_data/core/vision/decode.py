"""Image decoding: the one place that turns object bytes into pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError


@dataclass(frozen=True)
class ImageInfo:
    width: int | None
    height: int | None
    error: str | None


MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)


def decode_photo(data: bytes, size: int | None = None) -> tuple[ImageInfo, np.ndarray | None]:
    """One full decode: the image's size (or why it cannot be decoded) and, when it decodes,
    its RGB pixels (resized to size x size if given). An image that claims more than
    MAX_PIXELS is refused from its header, before a byte of it is decompressed."""
    if not data:
        return ImageInfo(None, None, "empty object (0 bytes)"), None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                return ImageInfo(
                    img.width,
                    img.height,
                    f"too many pixels: {img.width}x{img.height} is over the limit of "
                    f"{MAX_PIXELS:,} (a decompression bomb, or not a photo)",
                ), None
            img.load()  # a full decode: truncated files fail here, not at open()
            info = ImageInfo(img.width, img.height, None)
            return info, _rgb(img, size)
    except UnidentifiedImageError as e:  # its message names the BytesIO's address: not stable
        return ImageInfo(None, None, f"{type(e).__name__}: cannot identify the image format"), None
    except Exception as e:  # PIL raises several unrelated types for bad files
        return ImageInfo(None, None, f"{type(e).__name__}: {e}"), None


def inspect_image(data: bytes) -> ImageInfo:
    """Width and height of a fully decoded image, or why it could not be decoded."""
    return decode_photo(data)[0]


def _rgb(img: Image.Image, size: int | None) -> np.ndarray:
    img = img.convert("RGB")
    if size is not None:
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def decode_rgb(data: bytes, size: int | None = None) -> np.ndarray:
    """HxWx3 uint8 pixels, optionally resized to size x size."""
    with Image.open(io.BytesIO(data)) as img:
        return _rgb(img, size)
