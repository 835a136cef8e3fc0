"""Procedural photos: five visual content classes and a continuous style ("vividness").

Drawn with numpy so a classifier has something real to learn, and fast enough for
thousands of JPEGs a minute.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

SIZES = (96, 112, 128, 144, 160)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy / h, xx / w


def _landscape(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    img = np.empty((h, w, 3), np.float32)
    sky_top, sky_low = (
        rng.uniform([20, 60, 150], [70, 120, 230]),
        rng.uniform([150, 180, 220], [220, 230, 255]),
    )
    t = y[..., None]
    img[:] = sky_top * (1 - t) + sky_low * t
    horizon = rng.uniform(0.4, 0.7) + 0.05 * np.sin(
        2 * np.pi * (x * rng.uniform(1, 3) + rng.uniform())
    )
    ground = rng.uniform([30, 90, 20], [110, 160, 70])
    img[y > horizon] = ground
    if rng.uniform() < 0.6:
        cy, cx, r = rng.uniform(0.1, 0.35), rng.uniform(0.15, 0.85), rng.uniform(0.05, 0.12)
        img[((y - cy) ** 2 + (x - cx) ** 2 < r**2) & (y <= horizon)] = (250, 220, 90)
    return img


def _food(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform([90, 60, 30], [170, 120, 80])
    cy, cx, r = rng.uniform(0.45, 0.55), rng.uniform(0.45, 0.55), rng.uniform(0.32, 0.44)
    img[(y - cy) ** 2 + (x - cx) ** 2 < r**2] = (240, 240, 235)
    for _ in range(rng.integers(2, 5)):
        by, bx = cy + rng.uniform(-0.5, 0.5) * r, cx + rng.uniform(-0.5, 0.5) * r
        br = rng.uniform(0.15, 0.35) * r
        color = rng.choice([(200, 40, 30), (230, 140, 30), (60, 150, 50), (240, 200, 60)])
        img[(y - by) ** 2 + (x - bx) ** 2 < br**2] = color
    return img


def _portrait(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(60, 200, size=3)
    cx, cy = rng.uniform(0.42, 0.58), rng.uniform(0.4, 0.5)
    ry, rx = rng.uniform(0.22, 0.3), rng.uniform(0.15, 0.22)
    img[(y > 0.78) & (np.abs(x - cx) < 0.35)] = rng.uniform(20, 90, size=3)
    img[((y - cy + 0.08) / (ry * 1.05)) ** 2 + ((x - cx) / (rx * 1.1)) ** 2 < 1] = rng.uniform(
        10, 70, 3
    )
    img[((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1] = rng.uniform(
        [180, 120, 90], [240, 190, 160]
    )
    for side in (-1, 1):
        ex = cx + side * rx * 0.4
        img[(y - cy + 0.03) ** 2 + (x - ex) ** 2 < 0.0009] = (30, 30, 40)
    return img


def _city(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.array([10, 15, 45]) * (1 - y[..., None]) + np.array([40, 40, 80]) * y[..., None]
    left = 0.0
    while left < 1.0:
        bw = rng.uniform(0.08, 0.2)
        top = rng.uniform(0.2, 0.7)
        body = (x >= left) & (x < left + bw * 0.9) & (y > top)
        img[body] = rng.uniform(50, 100)
        win = body & ((y * h * 0.25) % 1 < 0.45) & ((x * w * 0.25) % 1 < 0.45)
        lit = win & (rng.uniform(size=(h, w)) < 0.6)
        img[lit] = (250, 220, 120)
        left += bw
    return img


def _pattern(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    angle, freq = rng.uniform(0, np.pi), rng.uniform(4, 10)
    colors = rng.uniform(0, 255, size=(3, 3))
    phase = (np.cos(angle) * x + np.sin(angle) * y) * freq
    if rng.uniform() < 0.5:
        idx = np.floor(phase).astype(int) % 3
    else:
        idx = (np.floor(x * freq).astype(int) + np.floor(y * freq).astype(int)) % 2
    return colors[idx].astype(np.float32)


_RENDERERS = {
    "landscape": _landscape,
    "food": _food,
    "portrait": _portrait,
    "city": _city,
    "pattern": _pattern,
}


def render_photo(rng: np.random.Generator, content: str, style: float) -> np.ndarray:
    """An RGB uint8 image of `content`; style in [0, 1] scales saturation and contrast."""
    h, w = int(rng.choice(SIZES)), int(rng.choice(SIZES))
    img = _RENDERERS[content](rng, h, w)
    gray = img.mean(axis=2, keepdims=True)
    img = gray + (img - gray) * (0.25 + 1.5 * style)  # saturation
    img = 128 + (img - 128) * (0.55 + 0.9 * style)  # contrast
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode_jpeg(pixels: np.ndarray, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
