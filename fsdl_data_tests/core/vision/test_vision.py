"""The photo classifier learns real structure; checkpoints round-trip safely; batching is exact."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
import torch

from fsdl_data.core.labels.human import majority_labels, parse_label_studio
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.vision.decode import decode_rgb
from fsdl_data.core.vision.infer import classify
from fsdl_data.core.vision.model import Classifier, pick_device
from fsdl_data.core.vision.pixels import IMAGE_SIZE
from fsdl_data.core.vision.style import vividness
from fsdl_data.core.vision.train import TrainConfig, train_classifier
from fsdl_data.core.world.generator import seed_world
from fsdl_data_tests.helpers import SMALL


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("vision")
    store = LocalObjectStore(root / "obj")
    seed_world(
        replace(SMALL, photos_per_day=200, seed_label_fraction=0.15),
        2,
        store,
        AppDatabase(f"sqlite:///{root}/a.db"),
        root / "t",
    )
    truth = pl.concat([pl.read_parquet(p) for p in (root / "t" / "photos").glob("*.parquet")])
    return store, truth


@pytest.fixture(scope="module")
def trained(world):
    store, truth = world
    ids = set(truth["photo_id"].to_list())
    labels = pl.concat(
        [
            parse_label_studio(store.get(o.key), ids, CONTENT_CLASSES)
            for o in store.list("labels/seed/")
        ]
    )
    maj = majority_labels(labels)
    keys = {
        p: f"photos/date={'2026-01-01' if p <= 200 else '2026-01-02'}/{p}.jpg"
        for p in truth["photo_id"]
    }
    images = [decode_rgb(store.get(keys[p]), IMAGE_SIZE) for p in maj["photo_id"]]
    clf, report = train_classifier(
        images, maj["label"].to_list(), CONTENT_CLASSES, "test-v1", TrainConfig(steps=150)
    )
    return clf, report, keys


def test_classifier_learns_content_and_style_from_noisy_labels(world, trained) -> None:
    store, truth = world
    clf, report, keys = trained
    assert report.n_train >= 40
    out = classify(clf, list(keys), list(keys.values()), store.get, batch_size=32, num_workers=0)
    j = out.join(truth, on="photo_id")
    accuracy = float((j["predicted_class"] == j["content"]).mean())
    assert accuracy > 0.6  # chance is 0.2
    assert np.corrcoef(j["style_score"], j["style"])[0, 1] > 0.5
    assert set(out["classifier_version"]) == {"test-v1"}


def test_checkpoint_roundtrip_weights_only(world, trained) -> None:
    store, _ = world
    clf, _, keys = trained
    again = Classifier.from_bytes(clf.to_bytes())
    assert again.version == clf.version and again.classes == clf.classes
    ids, ks = list(keys)[:20], list(keys.values())[:20]
    a = classify(clf, ids, ks, store.get, num_workers=0)
    b = classify(again, ids, ks, store.get, num_workers=0)
    assert a.equals(b)
    evil = io.BytesIO()
    torch.save({"state_dict": {}, "classes": [], "version": "x", "code": print}, evil)
    with pytest.raises(Exception, match=r"[Ww]eights"):
        Classifier.from_bytes(evil.getvalue())


def test_worker_decoding_and_batching_do_not_change_results(world, trained) -> None:
    store, _ = world
    clf, _, keys = trained
    ids, ks = list(keys)[:70], list(keys.values())[:70]
    serial = classify(clf, ids, ks, store.get, batch_size=64, num_workers=0)
    parallel = classify(clf, ids, ks, store.get, batch_size=16, num_workers=2)
    assert serial["photo_id"].to_list() == parallel["photo_id"].to_list() == ids
    assert np.allclose(serial["p_food"].to_numpy(), parallel["p_food"].to_numpy(), atol=1e-5)
    assert pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_too_few_labels_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="label more photos"):
        train_classifier(
            [np.zeros((64, 64, 3), np.uint8)], ["food"], CONTENT_CLASSES, "v", TrainConfig()
        )
    assert vividness(np.zeros((8, 8, 3), np.uint8)) == 0.0


def test_vividness_is_half_mean_chroma_and_half_luma_spread_of_each_image() -> None:
    # a per-image reference in plain numpy, from the definition in core.vision.style
    rng = np.random.default_rng(5)
    for _ in range(20):
        side = int(rng.integers(2, 24))
        image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        if rng.random() < 0.3:  # flat or grey images too
            image[..., 1] = image[..., 0] if rng.random() < 0.5 else 128
        unit = image.astype(np.float64) / 255
        chroma = (unit.max(axis=2) - unit.min(axis=2)).mean()
        luma = unit @ np.array([0.299, 0.587, 0.114])
        expected = min(1.0, max(0.0, 0.5 * chroma / 0.6 + 0.5 * min(1.0, luma.std() / 0.35)))
        assert vividness(image) == pytest.approx(expected, abs=1e-5)
