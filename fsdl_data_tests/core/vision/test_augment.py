"""Augmentation is batched, seeded and part of the classifier's version: a rerun is identical."""

import numpy as np
import torch

from fsdl_data.core.vision.augment import Augmentation
from fsdl_data.core.vision.data import to_batch
from fsdl_data.core.vision.train import TrainConfig, model_version, train_classifier

CLASSES = ("a", "b")


def _images(n: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def test_the_same_seed_augments_a_batch_identically() -> None:
    x = to_batch(_images(8))
    policy = Augmentation()
    first = policy(x, torch.Generator().manual_seed(3))
    again = policy(x, torch.Generator().manual_seed(3))
    other = policy(x, torch.Generator().manual_seed(4))
    assert first.shape == x.shape
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(Augmentation.none()(x, torch.Generator().manual_seed(3)), x)


def test_policy_and_seed_are_in_the_version_and_a_rerun_gives_the_same_weights() -> None:
    base = TrainConfig(steps=8, batch_size=8, seed=1)
    policies = [Augmentation(), Augmentation(brightness=0.3), Augmentation.none()]
    versions = {
        model_version("labels", TrainConfig(steps=8, batch_size=8, seed=seed, augmentation=p))
        for seed in (1, 2)
        for p in policies
    }
    assert len(versions) == 6
    labels = ["a", "b"] * 20
    one, _ = train_classifier(_images(), labels, CLASSES, "v", base)
    two, _ = train_classifier(_images(), labels, CLASSES, "v", base)
    for p, q in zip(one.net.state_dict().values(), two.net.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_each_cropped_image_is_a_window_of_its_own_reflect_padded_image() -> None:
    # an oracle: every offset of the padded image, tried by hand; the crop must be one of them,
    # of the same image, and the offsets must vary (not one shift for the whole batch)
    rng = np.random.default_rng(7)
    for _ in range(5):
        n, side, padding = (
            int(rng.integers(2, 12)),
            int(rng.integers(8, 20)),
            int(rng.integers(1, 5)),
        )
        x = torch.from_numpy(rng.standard_normal((n, 3, side, side)).astype(np.float32))
        policy = Augmentation(flip=False, crop_padding=padding, brightness=0.0, contrast=0.0,
                              saturation=0.0)  # fmt: skip
        out = policy(x, torch.Generator().manual_seed(int(rng.integers(1 << 30))))
        padded = np.pad(x.numpy(), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2), "reflect")
        offsets = set()
        for i in range(n):
            shifts = range(2 * padding + 1)
            found = [(top, left) for top in shifts for left in shifts if np.array_equal(
                padded[i, :, top : top + side, left : left + side], out[i].numpy())]  # fmt: skip
            assert found, f"image {i} is no window of its padded image"
            offsets.add(found[0])
        assert n < 6 or len(offsets) > 1
