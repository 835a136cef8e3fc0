"""Importing real Label Studio exports dropped under labels/import/: every shape Label Studio
produces is read, every bad input ends in a rejected row or a quarantined file with a reason,
and nothing else is lost."""

import calendar
import json
import os
import time
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.labels.human import (
    apply_reviews,
    changed_exports_by_day,
    deduplicate,
    import_files,
    import_for_day,
    parse_label_studio,
    rejection_counts,
)
from fsdl_data.core.storage.backends.local import LocalObjectStore

CLASSES = ("city", "food", "landscape")
DAY = "2026-01-02"
PHOTOS = {1, 2, 3}


def annotation(aid: int, choices: list[str], **extra: object) -> dict:
    return {
        "id": aid,
        "completed_by": 7,
        "created_at": "2026-01-03T10:00:00.000000Z",
        "updated_at": "2026-01-03T10:00:00.000000Z",
        "lead_time": 4.5,
        "result": [
            {
                "id": f"r{aid}",
                "from_name": "content",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": choices},
            }
        ],
        **extra,
    }


def task(tid: int, photo: int | None, annotations: list[dict], **data: object) -> dict:
    payload = {"image": f"/data/local-files/?d=photos/{photo}.jpg", **data}
    if photo is not None:
        payload["photo_id"] = photo
    return {"id": tid, "data": payload, "annotations": annotations, "predictions": []}


def test_every_shape_label_studio_exports_is_read() -> None:
    user = {"id": 12, "email": "amy@example.com", "first_name": "Amy", "last_name": "Lee"}
    export = [
        task(101, 1, [annotation(1, ["city"], completed_by=user)]),
        task(102, 2, [annotation(2, ["food"], ground_truth=True)]),
        task(103, 3, [annotation(3, [], was_cancelled=True, result=[])]),
    ]
    rows = parse_label_studio(json.dumps(export).encode(), PHOTOS, CLASSES, source_file="x.json")
    by_id = {r["annotation_id"]: r for r in rows.iter_rows(named=True)}
    assert by_id[1]["annotator"] == "12" and by_id[1]["label"] == "city"
    assert by_id[1]["lead_time"] == 4.5 and by_id[1]["updated_at"].startswith("2026-01-03")
    assert by_id[2]["ground_truth"] is True and by_id[2]["rejected_reason"] is None
    assert by_id[3]["rejected_reason"] == "cancelled"
    text = rows.write_csv()
    assert "amy@example.com" not in text and "Amy" not in text and "Lee" not in text
    single = parse_label_studio(json.dumps(export[0]).encode(), PHOTOS, CLASSES)  # one task object
    assert single["label"].to_list() == ["city"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (task(1, 1, [annotation(1, ["city", "food"])]), "not_exactly_one_choice"),
        (task(1, 1, [annotation(1, ["unicorn"])]), "unknown_class"),
        (task(1, 99, [annotation(1, ["city"])]), "unknown_photo_id"),
        (task(1, 1, [annotation(1, ["city"], was_cancelled=True)]), "cancelled"),
        (
            task(
                1, 1, [annotation(1, ["city"], result=[{"type": "rectanglelabels", "value": {}}])]
            ),
            "not_exactly_one_choice",
        ),
    ],
)
def test_unusable_annotations_are_rejected_with_a_reason(payload: dict, reason: str) -> None:
    rows = parse_label_studio(json.dumps([payload]).encode(), PHOTOS, CLASSES)
    assert rows["rejected_reason"].to_list() == [reason]


def test_a_list_of_non_objects_rejects_each_and_keeps_the_rest() -> None:
    export = json.dumps([1, "two", task(5, 1, [annotation(1, ["city"])])]).encode()
    rows = parse_label_studio(export, PHOTOS, CLASSES)
    assert rows["rejected_reason"].to_list() == ["malformed_task", "malformed_task", None]
    assert rows["rejected_detail"][0] == "not an object"


def test_truncated_json_is_quarantined_with_the_parser_message() -> None:
    good = json.dumps([task(5, 1, [annotation(1, ["city"])])]).encode()
    rows = parse_label_studio(good[:-7], PHOTOS, CLASSES, source_file="labels/import/cut.json")
    assert rows["rejected_reason"].to_list() == ["malformed_export"]
    assert rows["source_file"][0] == "labels/import/cut.json"
    assert rows["rejected_detail"][0].startswith("not valid JSON: ")  # json's own message follows


def test_the_same_export_twice_counts_each_annotation_once() -> None:
    export = json.dumps([task(5, 1, [annotation(1, ["city"]), annotation(2, ["food"])])]).encode()
    rows = deduplicate(
        pl.concat(
            [
                parse_label_studio(export, PHOTOS, CLASSES, source_file="labels/import/a.json"),
                parse_label_studio(export, PHOTOS, CLASSES, source_file="labels/import/b.json"),
            ]
        )
    )
    accepted = rows.filter(pl.col("rejected_reason").is_null())
    assert sorted(accepted["annotation_id"].to_list()) == [1, 2]
    assert rejection_counts(rows) == {"duplicate": 2}


def test_a_later_update_of_an_annotation_replaces_the_older() -> None:
    old = task(5, 1, [annotation(1, ["city"])])
    new = task(5, 1, [annotation(1, ["food"], updated_at="2026-01-04T09:00:00.000000Z")])
    rows = deduplicate(
        pl.concat(
            [
                parse_label_studio(
                    json.dumps([new]).encode(), PHOTOS, CLASSES, "labels/import/1.json"
                ),
                parse_label_studio(
                    json.dumps([old]).encode(), PHOTOS, CLASSES, "labels/import/2.json"
                ),
            ]
        )
    )
    assert rows.filter(pl.col("rejected_reason").is_null())["label"].to_list() == ["food"]
    assert rejection_counts(rows) == {"superseded": 1}


def test_seed_and_import_ids_do_not_collide() -> None:
    """Label Studio numbers annotations per instance: the same id in a seed export and an import
    is two annotations."""
    export = json.dumps([task(5, 1, [annotation(1, ["city"])])]).encode()
    rows = deduplicate(
        pl.concat(
            [
                parse_label_studio(export, PHOTOS, CLASSES, f"labels/seed/date={DAY}/s.json"),
                parse_label_studio(export, PHOTOS, CLASSES, "labels/import/mine.json"),
            ]
        )
    )
    assert rows["rejected_reason"].null_count() == 2


def _drop(store: LocalObjectStore, root: Path, key: str, data: bytes, arrived: str) -> None:
    store.put(key, data)
    stamp = calendar.timegm(time.strptime(arrived + " 12", "%Y-%m-%d %H"))
    os.utime(root / key, (stamp, stamp))


def test_import_routes_each_annotation_to_its_photos_day(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    mixed = [
        task(1, 1, [annotation(1, ["city"])]),  # a photo of DAY
        task(2, 50, [annotation(2, ["food"])], day="2026-01-01"),  # another day's photo
        task(3, 77, [annotation(3, ["food"])], day=DAY),  # names DAY, a photo DAY lacks
        task(4, None, [annotation(4, ["food"])]),  # nothing to place it by: the arrival day
    ]
    _drop(store, tmp_path, "labels/import/export (3).json", json.dumps(mixed).encode(), DAY)
    _drop(store, tmp_path, "labels/import/broken.json", b'[{"id": 1, "data": {', DAY)
    _drop(store, tmp_path, "labels/import/old-broken.json", b"{", "2025-12-30")
    result = import_for_day(store, import_files(store), DAY, PHOTOS, CLASSES, max_bytes=10_000)
    rows = result.rows
    assert result.other_days == 1
    assert rows.filter(pl.col("rejected_reason").is_null())["annotation_id"].to_list() == [1]
    assert rejection_counts(rows) == {"malformed_export": 1, "unknown_photo_id": 2}
    broken = rows.filter(pl.col("rejected_reason") == "malformed_export")
    assert broken["source_file"].to_list() == ["labels/import/broken.json"]


def test_a_huge_file_is_quarantined_unread(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    _drop(store, tmp_path, "labels/import/huge.json", b"[" + b" " * 5000 + b"]", DAY)
    _drop(store, tmp_path, "labels/import/ok.json",
          json.dumps([task(1, 1, [annotation(1, ["city"])])]).encode(), DAY)  # fmt: skip
    rows = import_for_day(store, import_files(store), DAY, PHOTOS, CLASSES, max_bytes=1000).rows
    assert rejection_counts(rows) == {"too_large": 1}
    assert (
        "5,002 bytes" in rows.filter(pl.col("rejected_reason") == "too_large")["rejected_detail"][0]
    )
    assert rows.filter(pl.col("rejected_reason").is_null())["label"].to_list() == ["city"]


def test_changed_exports_are_grouped_by_the_days_they_name() -> None:
    files = {
        "labels/import/a.json": json.dumps([task(1, 1, [], day="2026-01-02"),
                                            task(2, 5, [], day="2026-01-01")]).encode(),
        "labels/import/b.json": json.dumps(task(3, 2, [], day="2026-01-02")).encode(),
        "labels/import/old.json": json.dumps([task(4, 3, [])]).encode(),  # names no day
        "labels/import/cut.json": b"[{",
    }  # fmt: skip
    listing = {key: f"etag-{i}" for i, key in enumerate(files)}
    digests, unplaced = changed_exports_by_day({}, listing, files.__getitem__)
    assert list(digests) == ["2026-01-01", "2026-01-02"]
    assert unplaced == ["labels/import/cut.json", "labels/import/old.json"]
    assert changed_exports_by_day(listing, listing, files.__getitem__) == ({}, [])  # nothing new
    touched = {**listing, "labels/import/b.json": "etag-new"}
    again, _ = changed_exports_by_day(listing, touched, files.__getitem__)
    assert list(again) == ["2026-01-02"] and again["2026-01-02"] != digests["2026-01-02"]


def test_an_annotation_without_an_annotator_is_rejected_and_never_reaches_consensus() -> None:
    from fsdl_data.core.labels.consensus import annotator_consensus

    export = [
        task(1, 1, [annotation(1, ["city"], completed_by=None), annotation(2, ["food"])]),
        task(2, 2, [annotation(3, ["food"], completed_by={"email": "x@example.com"})]),
    ]
    rows = parse_label_studio(json.dumps(export).encode(), PHOTOS, CLASSES, "labels/import/a.json")
    reasons = dict(zip(rows["annotation_id"], rows["rejected_reason"], strict=True))
    assert reasons == {1: "no_annotator", 2: None, 3: "no_annotator"}
    # even handed every row, unfiltered, the consensus leaves the voter-less ones out (it used
    # to crash sorting annotators with None among them)
    result = annotator_consensus(rows, CLASSES)
    assert set(result.annotators["annotator"].to_list()) == {"7"}
    assert result.photos["photo_id"].to_list() == [1]


def test_updates_are_ordered_as_times_not_as_text() -> None:
    # as text "…10:00:00Z" sorts after "…10:00:00.500000Z"; as times it is earlier; and
    # "11:30+02:00" is 09:30 UTC, earlier than both
    versions = [
        ("2026-01-03T10:00:00.500000Z", "food"),
        ("2026-01-03T10:00:00Z", "city"),
        ("2026-01-03T11:30:00+02:00", "landscape"),
    ]
    frames = [
        parse_label_studio(
            json.dumps([task(5, 1, [annotation(1, [label], updated_at=stamp)])]).encode(),
            PHOTOS,
            CLASSES,
            f"labels/import/{i}.json",
        )
        for i, (stamp, label) in enumerate(versions)
    ]
    rows = deduplicate(pl.concat(frames))
    assert rows.filter(pl.col("rejected_reason").is_null())["label"].to_list() == ["food"]
    assert rejection_counts(rows) == {"superseded": 2}


def test_older_exports_with_completions_are_read() -> None:
    old = {"id": 9, "data": {"photo_id": 2}, "completions": [annotation(4, ["landscape"])]}
    rows = parse_label_studio(json.dumps([old]).encode(), PHOTOS, CLASSES, "x.json")
    assert rows.select("annotation_id", "photo_id", "label", "rejected_reason").rows() == [
        (4, 2, "landscape", None)
    ]


def test_a_photo_id_given_as_a_string_is_read() -> None:
    export = [task(3, None, [annotation(6, ["city"])], photo_id="3")]
    rows = parse_label_studio(json.dumps(export).encode(), PHOTOS, CLASSES, "x.json")
    assert rows.select("photo_id", "label", "rejected_reason").rows() == [(3, "city", None)]


def test_equal_annotation_ids_of_two_projects_are_two_annotations() -> None:
    """Label Studio numbers annotations per instance, not per project, yet two instances (or an
    export merged from two) can repeat an id: the project is part of the key."""
    one = [{**task(5, 1, [annotation(1, ["city"])]), "project": 1}]
    two = [{**task(5, 1, [annotation(1, ["food"], project=2)]), "project": 2}]
    again = [{**task(5, 1, [annotation(1, ["landscape"], updated_at="2026-01-05T00:00:00Z")]),
              "project": 2}]  # fmt: skip
    rows = deduplicate(
        pl.concat(
            [
                parse_label_studio(
                    json.dumps(export).encode(), PHOTOS, CLASSES, f"labels/import/{i}"
                )
                for i, export in enumerate([one, two, again])
            ]
        )
    )
    kept = rows.filter(pl.col("rejected_reason").is_null())
    assert sorted(kept.select("project", "label").rows()) == [(1, "city"), (2, "landscape")]
    assert rejection_counts(rows) == {"superseded": 1}  # project 2's older version only


def region(rid: str, control: str, kind: str, value: dict) -> dict:
    return {"id": rid, "from_name": control, "to_name": "image", "type": kind, "value": value}


def test_only_the_content_controls_choice_is_the_label() -> None:
    """The labeling config's `from_name` decides: a choice in another control (an image-quality
    question, say) and regions that are not choices are ignored, and the row says so."""
    quality = region("q", "quality", "choices", {"choices": ["food"]})
    box = region("b", "content", "rectanglelabels", {"rectanglelabels": ["city"], "x": 1})
    mixed = annotation(1, ["city"])
    mixed["result"] += [quality, box]
    other_only = {**annotation(2, []), "result": [quality]}
    export = [task(5, 1, [mixed]), task(6, 2, [other_only])]
    rows = parse_label_studio(json.dumps(export).encode(), PHOTOS, CLASSES, "x.json")
    first, second = rows.iter_rows(named=True)
    assert (first["label"], first["rejected_reason"]) == ("city", None)
    assert "'q': control 'quality', not 'content'" in first["ignored"]
    assert "'b': a 'rectanglelabels' region, not a choice" in first["ignored"]
    assert second["rejected_reason"] == "not_exactly_one_choice"
    assert second["ignored"] == "region 'q': control 'quality', not 'content'"
    renamed = parse_label_studio(
        json.dumps([task(6, 2, [other_only])]).encode(), PHOTOS, CLASSES, from_name="quality"
    )
    assert renamed.select("label", "rejected_reason").rows() == [("food", None)]


@pytest.mark.parametrize(
    "url",
    [
        "/data/local-files/?d=photos/date%3D2026-01-02/2.jpg",  # the queue's local-files URL
        "http://localhost:9000/bucket/lake/photos/date=2026-01-02/2.jpg"
        "?X-Amz-Signature=abc&X-Amz-Expires=604800",  # presigned, behind a bucket and a prefix
        "s3://bucket/photos/date=2026-01-02/2.jpg",
    ],
)
def test_a_task_with_only_its_image_is_matched_to_the_photo(url: str, tmp_path: Path) -> None:
    keys = {f"photos/date=2026-01-02/{p}.jpg": p for p in PHOTOS}
    bare = {"id": 8, "data": {"image": url}, "annotations": [annotation(9, ["food"])]}
    export = json.dumps([bare]).encode()
    rows = parse_label_studio(export, PHOTOS, CLASSES, "x.json", photo_keys=keys)
    assert rows.select("photo_id", "label", "rejected_reason").rows() == [(2, "food", None)]
    # and the import routes it to that photo's day, not elsewhere
    store = LocalObjectStore(tmp_path)
    store.put("labels/import/bare.json", export)
    routed = import_for_day(store, import_files(store), DAY, {2}, CLASSES, photo_keys=keys)
    assert routed.rows["photo_id"].to_list() == [2] and routed.other_days == 0
    unmatched = parse_label_studio(export, PHOTOS, CLASSES, "x.json", photo_keys={})
    assert unmatched["rejected_reason"].to_list() == ["unknown_photo_id"]


def test_a_review_replaces_the_photos_earlier_annotations_but_never_gold() -> None:
    from fsdl_data.core.labels.consensus import annotator_consensus

    seed_export = [
        task(1, 1, [annotation(1, ["city"]), annotation(2, ["city"], completed_by=8)]),
        task(2, 2, [annotation(3, ["food"]), annotation(4, ["food"], ground_truth=True)]),
        task(3, 3, [annotation(5, ["landscape"])]),
    ]
    why = {"review_reason": "a likely label error: the classifier says food"}
    review_export = [
        task(1, 1, [annotation(11, ["food"], completed_by=9)], **why),
        task(2, 2, [annotation(12, ["city"], completed_by=9)], **why),
        task(3, 3, [annotation(13, ["city"], completed_by=9, was_cancelled=True)], **why),
    ]
    rows = apply_reviews(
        deduplicate(
            pl.concat(
                [
                    parse_label_studio(json.dumps(seed_export).encode(), PHOTOS, CLASSES, "labels/seed/a.json"),
                    parse_label_studio(json.dumps(review_export).encode(), PHOTOS, CLASSES, "labels/import/r.json"),
                ]
            )
        )
    )  # fmt: skip
    reasons = dict(zip(rows["annotation_id"], rows["rejected_reason"], strict=True))
    assert reasons == {
        1: "reviewed_again", 2: "reviewed_again", 11: None,  # two agreeing votes, overturned
        3: "reviewed_again", 4: None, 12: None,  # the expert's gold stays
        5: None, 13: "cancelled",  # a cancelled review replaces nothing
    }  # fmt: skip
    assert rows.filter(pl.col("annotation_id") == 11)["review"].item() is True
    detail = rows.filter(pl.col("annotation_id") == 1)["rejected_detail"].item()
    assert "review annotations 11 replace" in detail
    accepted = rows.filter(pl.col("rejected_reason").is_null())
    labels = dict(annotator_consensus(accepted, CLASSES).photos.select("photo_id", "label").rows())
    assert labels[1] == "food"  # one reviewer over two agreeing votes
    # the rejection check does not count what the review replaced as rejected
    assert rejection_counts(rows) == {"reviewed_again": 3, "cancelled": 1}


def test_reviews_on_random_crowds_replace_exactly_the_earlier_non_gold_votes() -> None:
    import random

    rng = random.Random(20261202)
    for _ in range(40):
        photos = set(range(1, rng.randint(2, 12)))
        seed_tasks, review_tasks, expected, next_id = [], [], {}, 1
        for photo in sorted(photos):
            anns = []
            for _ in range(rng.randint(1, 3)):
                gold = rng.random() < 0.2
                cancelled = rng.random() < 0.15
                anns.append(annotation(next_id, [rng.choice(CLASSES)], completed_by=rng.randint(1, 5),
                                       ground_truth=gold, was_cancelled=cancelled))  # fmt: skip
                expected[next_id] = ("cancelled" if cancelled else None, gold)
                next_id += 1
            seed_tasks.append(task(photo, photo, anns))
            if rng.random() < 0.5:
                usable = rng.random() < 0.8
                review = annotation(next_id, [rng.choice(CLASSES)], completed_by=9,
                                    was_cancelled=not usable)  # fmt: skip
                review_tasks.append(task(1000 + photo, photo, [review], review_reason="check"))
                expected[next_id] = (None if usable else "cancelled", False)
                if usable:
                    for aid in [a["id"] for a in anns]:
                        reason, gold = expected[aid]
                        if reason is None and not gold:
                            expected[aid] = ("reviewed_again", gold)
                next_id += 1
        exports = [
            parse_label_studio(json.dumps(tasks).encode(), photos, CLASSES, f"labels/{name}.json")
            for name, tasks in (("seed/a", seed_tasks), ("import/r", review_tasks))
        ]
        rows = apply_reviews(deduplicate(pl.concat(exports)))
        got = dict(zip(rows["annotation_id"], rows["rejected_reason"], strict=True))
        assert got == {aid: reason for aid, (reason, _) in expected.items()}


def test_tables_written_before_the_review_column_are_not_reviews() -> None:
    export = [task(1, 1, [annotation(1, ["city"]), annotation(2, ["food"], completed_by=8)])]
    rows = parse_label_studio(json.dumps(export).encode(), PHOTOS, CLASSES, "labels/seed/a.json")
    older = rows.with_columns(review=pl.lit(None, pl.Boolean))
    assert apply_reviews(older)["rejected_reason"].to_list() == [None, None]
