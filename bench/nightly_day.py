"""Benchmark: the whole graph for one demo day (1,000 photos, ~200,000 events) on this machine.

Seeds a world of --days days, runs the nightly graph for each (in process, as `make demo` does),
and prints:
  1. wall time of the last night (steady state: ingest, features, classifier retrain on all labels
     so far, inference, labels, training set, snapshot, model);
  2. photo_classifications throughput against the forward pass alone on random tensors of the
     same shape (the bound), as a ratio;
  3. the model's held-out figures, against the labels and against the world's hidden truth.
Run: `make bench-nightly`.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import fresh_embedded_home


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--photos", type=int, default=1000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=2)
    a = p.parse_args()

    fresh_embedded_home()

    import dagster as dg
    import numpy as np
    import polars as pl
    import torch

    from fsdl_data.cli.runner import materialize_days
    from fsdl_data.config import Settings
    from fsdl_data.core.modeling.metrics import spearman
    from fsdl_data.core.modeling.popularity import PopularityModel
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store
    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.versioning.snapshots import load_table
    from fsdl_data.core.versioning.store import SnapshotStore
    from fsdl_data.core.vision import registry
    from fsdl_data.core.vision.infer import classify, classify_pixels
    from fsdl_data.core.vision.model import Classifier
    from fsdl_data.core.vision.pixels import IMAGE_SIZE, thumbnails_from_bytes
    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec
    from fsdl_data.definitions import defs

    settings = Settings.from_env()
    spec = WorldSpec(photos_per_day=a.photos, users=a.users, events_per_day=a.events)
    store, db = open_object_store(settings.object_store_url), AppDatabase(settings.app_db_url)
    t0 = time.perf_counter()
    reports = seed_world(spec, a.days, store, db, settings.truth_dir)
    print(f"world: {a.days} days x {a.photos} photos, last day {reports[-1].events:,} log lines "
          f"(generated in {time.perf_counter() - t0:.1f} s)")  # fmt: skip

    instance = dg.DagsterInstance.ephemeral()
    days = [r.day for r in reports]

    def step_seconds(run_id: str, prefix: str) -> float:
        stats = instance.get_run_step_stats(run_id)
        return sum(s.end_time - s.start_time for s in stats if s.step_key.startswith(prefix))

    for day in days:
        t0 = time.perf_counter()
        (run,) = materialize_days(defs, "nightly", [day], instance, world_clock=True)
        night_s = time.perf_counter() - t0
        steps = ", ".join(
            f"{name} {step_seconds(run.run_id, name):.2f} s"
            for name in ("photo_classifier", "training_snapshot", "raw_photos_snapshot",
                         "labeled_set_snapshot")
        )  # fmt: skip
        night_lake = Lake(open_object_store(settings.lake_url))
        truth = pl.concat(
            [pl.read_parquet(f) for f in (settings.truth_dir / "photos").glob("*.parquet")]
        )
        made = night_lake.read("photo_classifications", day).join(truth, on="photo_id")
        accuracy = float((made["predicted_class"] == made["content"]).mean())
        card = night_lake.read("photo_classifier").row(0, named=True)
        start = registry.read_card(night_lake.store, card["version"]).details.get("warm_from")
        print(f"  night {day}: {night_s:5.1f} s {'ok' if run.success else 'FAILED'} ({steps}); "
              f"classifier {'warm from ' + start[:8] if start else 'from scratch'}, accuracy on "
              f"the day's photos vs hidden content {accuracy:.3f}")  # fmt: skip
    if not run.success:
        print("the last night failed:", run.failed_checks, file=sys.stderr)
        return 1
    print(
        f"1. whole graph, one day ({days[-1]}, {torch.get_num_threads()} torch threads): {night_s:.1f} s wall"
    )

    lake = Lake(open_object_store(settings.lake_url))
    clf = Classifier.from_bytes(lake.store.get(lake.read("photo_classifier")["model_key"][0]))
    pixels = lake.read("photo_pixels", days[-1]).sort("photo_id")
    ids, keys = pixels["photo_id"].to_list(), pixels["key"].to_list()
    thumbs = thumbnails_from_bytes(pixels["thumbnail"].to_list())
    batch = a.batch_size  # the asset's default (InferenceConfig)
    classify_pixels(clf, ids[:batch], keys[:batch], thumbs[:batch], batch)  # warm-up
    t0 = time.perf_counter()
    stored = classify_pixels(clf, ids, keys, thumbs, batch)
    pipeline = len(ids) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    decoded = classify(clf, ids, keys, store.get, a.batch_size, a.num_workers)
    decoding = len(ids) / (time.perf_counter() - t0)

    def forward_rate(size: int) -> float:
        """The forward pass alone on random tensors of batch `size`: images/s."""
        x = torch.randn(size, 3, IMAGE_SIZE, IMAGE_SIZE)
        with torch.inference_mode():
            clf.net(x)
            t0 = time.perf_counter()
            n = 0
            while n < len(ids):
                clf.net(x)
                n += size
        return n / (time.perf_counter() - t0)

    bound = max(forward_rate(size) for size in (32, 64, 128, 256))  # the best batch's
    same = float(np.abs(stored["p_" + CONTENT_CLASSES[0]].to_numpy()
                        - decoded["p_" + CONTENT_CLASSES[0]].to_numpy()).max())  # fmt: skip
    print(f"2. photo_classifications (the asset's path: stored model-sized pixels, batch {batch}): "
          f"{pipeline:,.0f} images/s vs the forward pass alone at its best batch size {bound:,.0f} images/s: ratio "
          f"{pipeline / bound:.2f}; fetching and decoding JPEGs instead: {decoding:,.0f} images/s "
          f"({decoding / bound:.2f}); max |difference| of class probabilities between the two "
          f"paths {same:.1e}")  # fmt: skip

    m = lake.read("popularity_model").row(0, named=True)
    model = PopularityModel.from_bytes(lake.store.get(m["model_key"]))
    snapshots = SnapshotStore(lake.store)
    rows = load_table(snapshots, snapshots.read(m["snapshot_version"], "training_set"))
    held = rows.filter(pl.col("snapshot_part") == m["held_out_day"])
    truth = pl.concat(
        [pl.read_parquet(f) for f in (settings.truth_dir / "photos").glob("*.parquet")]
    )
    j = held.join(truth, on="photo_id")
    vs_truth = spearman(model.predict(j), j["log_popularity"].to_numpy())
    ceiling = spearman(j["log_popularity"].to_numpy(), j["likes_24h"].to_numpy())
    print(f"3. popularity_model on held-out {m['held_out_day']} ({m['test_rows']} photos, trained on "
          f"{m['train_rows']}): rank corr {m['spearman']:.3f} (baseline {m['baseline_spearman']:.3f}), "
          f"AUC above-median {m['auc_above_median']:.3f} (baseline {m['baseline_auc']:.3f}); "
          f"rank corr with hidden popularity {vs_truth:.3f} (hidden popularity itself vs likes: {ceiling:.3f}); "
          f"promoted={m['promoted']}")  # fmt: skip
    cls = lake.read("photo_classifications", days[-1]).join(truth, on="photo_id")
    acc = float((cls["predicted_class"] == cls["content"]).mean())
    info = lake.read("photo_classifier").row(0, named=True)
    print(f"   photo_classifier {clf.version}: trained on {info['labeled_photos']} human-labeled photos; "
          f"accuracy on the day's {len(cls)} photos against hidden content {acc:.3f} (chance 0.2)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
