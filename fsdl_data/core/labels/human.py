"""Human labels from Label Studio exports: parse, validate, deduplicate, route to their day.

Real exports vary: a JSON list of tasks or one task object; `annotations`, or `completions` in
older exports; `completed_by` an integer or a user object (only its id is kept: no e-mail or name
reaches a table); `was_cancelled` annotations; `ground_truth` marking gold; `lead_time` and
`updated_at` present or not; the photo named by `data.photo_id` (an integer or a string of digits)
or only by `data.image`, the URL our queue gave it. Only the content control's choices (the
labeling config's `from_name`) are the label; other controls' and non-choice regions are ignored
and named in `ignored`. Every annotation becomes one row. A row that cannot be used keeps a `rejected_reason` (a code) and a
`rejected_detail` (what exactly), never dropped; a file that cannot be read at all is one
quarantine row naming the file and the parser's message, and the other files still load.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.labels.studio import FROM_NAME, REVIEW_FIELD
from fsdl_data.core.storage.objects import Listed, ObjectStore, listing_digest

HUMAN_LABELS = {
    "project": pl.Int64,  # the Label Studio project: annotation ids are unique only within one
    "task_id": pl.Int64,
    "annotation_id": pl.Int64,
    "photo_id": pl.Int64,
    "annotator": pl.String,
    "label": pl.String,
    "ground_truth": pl.Boolean,
    "created_at": pl.String,
    "updated_at": pl.String,
    "lead_time": pl.Float64,  # seconds the annotator spent, as Label Studio measured it
    "source_file": pl.String,
    "rejected_reason": pl.String,
    "rejected_detail": pl.String,
    "ignored": pl.String,  # regions of the annotation that are not the content choice, and why
    "review": pl.Boolean,  # made on a task that sent the photo back for review (review_reason)
}

EXPORT_PREFIXES = ("labels/seed", "labels/gold")  # each with its day folders
IMPORT_PREFIX = "labels/import/"  # Label Studio exports dropped by people: any file name
MAX_EXPORT_BYTES = 256 * 1024 * 1024  # a bigger file is quarantined, not read into memory

# reasons that are bookkeeping, not bad data: the annotation itself is counted once
BOOKKEEPING_REASONS = ("duplicate", "superseded", "reviewed_again")


def label_studio_keys(store: ObjectStore, day: str) -> list[str]:
    """The day's Label Studio exports: the seed set's and the expert's gold set's."""
    return [
        key
        for prefix in EXPORT_PREFIXES
        for key in (o.key for o in store.list(day_folder(prefix, day)))
        if key.endswith(".json")
    ]


def import_files(store: ObjectStore) -> list[Listed]:
    """Everything dropped under labels/import/ (any name), with its size and when it arrived,
    from the listing alone."""
    return sorted(store.list(IMPORT_PREFIX), key=lambda info: info.key)


def read_label_studio(
    store: ObjectStore,
    keys: list[str],
    known_photo_ids: set[int] | None,
    classes: tuple[str, ...],
    max_bytes: int = MAX_EXPORT_BYTES,
    *,
    photo_keys: Mapping[str, int] | None = None,
    from_name: str = FROM_NAME,
) -> pl.DataFrame:
    """The rows of the export files `keys`; `photo_keys` and `from_name` as `parse_label_studio`."""
    frames = [
        _read_one(store, k, known_photo_ids, classes, max_bytes, photo_keys or {}, from_name)
        for k in keys
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)


def _read_one(
    store: ObjectStore,
    key: str,
    known: set[int] | None,
    classes: tuple[str, ...],
    max_bytes: int,
    photo_keys: Mapping[str, int],
    from_name: str,
) -> pl.DataFrame:
    """One export's rows; a file over `max_bytes` is one quarantine row, never read. With no
    photo catalogue (`known` None), the photos the export names are taken as known."""
    info = store.head(key)
    if info is not None and info.size > max_bytes:
        return _too_large(key, info.size, max_bytes)
    export = store.get(key)
    known = photos_named(export, photo_keys) if known is None else known
    return parse_label_studio(
        export, known, classes, source_file=key, photo_keys=photo_keys, from_name=from_name
    )


def _too_large(key: str, size: int, max_bytes: int) -> pl.DataFrame:
    return quarantine(key, "too_large", f"{size:,} bytes > the {max_bytes:,} byte limit")


def quarantine(source_file: str | None, reason: str, detail: str) -> pl.DataFrame:
    """One row that stands for a whole file that could not be read."""
    row = _row(None, None, None, None, reason, source_file)
    return pl.DataFrame([{**row, "rejected_detail": detail}], schema=HUMAN_LABELS)


@dataclass(frozen=True)
class DayImport:
    """The rows of labels/import/ that belong to one day, and what was routed elsewhere."""

    rows: pl.DataFrame  # HUMAN_LABELS
    other_days: int  # annotations of photos that are not this day's


def import_for_day(
    store: ObjectStore,
    files: Iterable[Listed],
    day: str,
    day_photo_ids: set[int],
    classes: tuple[str, ...],
    max_bytes: int = MAX_EXPORT_BYTES,
    *,
    photo_keys: Mapping[str, int] | None = None,
    from_name: str = FROM_NAME,
) -> DayImport:
    """Annotations from labels/import/ for `day`'s partition. An annotation belongs to the day of
    its photo; a task that names `data.day` (our queue writes it) but a photo that day does not
    have is rejected there as unknown; a file that cannot be read, and a task with neither a
    usable photo id nor a day, are reported on the day the file arrived. `photo_keys` and
    `from_name` as `parse_label_studio`."""
    photo_keys = photo_keys or {}
    frames, other = [], 0
    for info in files:
        arrival = (
            info.last_modified.astimezone(dt.UTC).date().isoformat() if info.last_modified else None
        )
        if info.size > max_bytes:
            if arrival == day:
                frames.append(_too_large(info.key, info.size, max_bytes))
            continue
        raw = store.get(info.key)
        tasks = _tasks_of(raw)
        if isinstance(tasks, str):  # the file as a whole is unreadable
            if arrival == day:
                frames.append(quarantine(info.key, "malformed_export", tasks))
            continue
        for task in tasks:
            photo, task_day = _photo_and_day(task, photo_keys)
            mine = photo is not None and photo in day_photo_ids
            unknown_here = task_day == day  # names this day, yet a photo it does not have
            unplaced = task_day is None and photo is None and arrival == day
            if mine or unknown_here or unplaced:
                frames.append(
                    _task_rows(task, day_photo_ids, classes, info.key, photo_keys, from_name)
                )
            else:
                other += 1
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)
    return DayImport(rows, other)


def photos_named(export: bytes, photo_keys: Mapping[str, int] | None = None) -> set[int]:
    """The photo ids an export's tasks name in `data.photo_id`, or by `data.image` through
    `photo_keys` (none for an unreadable file)."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return set()
    keys = photo_keys or {}
    return {photo for task in tasks if (photo := _photo_and_day(task, keys)[0]) is not None}


def days_named(export: bytes) -> set[str]:
    """The days an export's tasks name in `data.day` (our queue writes it): the partitions whose
    human labels it changes. Empty for a file that is unreadable or names none."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return set()
    return {day for task in tasks if (day := _photo_and_day(task, {})[1]) is not None}


def changed_exports_by_day(
    seen: dict[str, str], listing: dict[str, str], read: Callable[[str], bytes]
) -> tuple[dict[str, str], list[str]]:
    """For the export files new or changed since `seen` (key -> fingerprint, as `listing`): a
    digest per day they name, of those files and fingerprints (the same files give the same
    digest, a run key), and the files that name no day."""
    by_day: dict[str, dict[str, str]] = {}
    unplaced = []
    for key in sorted(k for k, fingerprint in listing.items() if seen.get(k) != fingerprint):
        days = days_named(read(key))
        if not days:
            unplaced.append(key)
        for day in days:
            by_day.setdefault(day, {})[key] = listing[key]
    digests = {day: listing_digest(files) for day, files in by_day.items()}
    return dict(sorted(digests.items())), unplaced


def _tasks_of(export: bytes) -> list[Any] | str:
    """The tasks in an export, or why there are none: a JSON list of tasks or one task object."""
    try:
        parsed = json.loads(export)
    except UnicodeDecodeError as error:
        return f"not UTF-8 text: {error}"
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error}"
    if isinstance(parsed, dict) and "data" in parsed:
        return [parsed]
    if not isinstance(parsed, list):
        return f"expected a JSON list of tasks or one task object, got {type(parsed).__name__}"
    return parsed


def _photo_and_day(task: Any, photo_keys: Mapping[str, int]) -> tuple[int | None, str | None]:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        return None, None
    day = data.get("day")
    try:
        day = dt.date.fromisoformat(day).isoformat() if isinstance(day, str) else None
    except ValueError:
        day = None
    return _task_photo(data, photo_keys), day


def _task_photo(data: dict[str, Any], photo_keys: Mapping[str, int]) -> int | None:
    """`data.photo_id`, else the photo whose object key `data.image` opens."""
    if data.get("photo_id") is not None:
        return _photo_id(data["photo_id"])
    image = data.get("image")
    return photo_of_image(image, photo_keys) if isinstance(image, str) else None


def photo_of_image(url: str, photo_keys: Mapping[str, int]) -> int | None:
    """The photo an image URL opens, by its object key (`photo_keys`: key -> photo id): the `d`
    of Label Studio's local-files URL, or the path of a presigned S3 or plain URL, matched on
    whole path segments from the right so a bucket or store prefix before the key does not
    matter; query strings (signatures, expiry) are ignored."""
    parts = urlsplit(url)
    local = parse_qs(parts.query).get("d")
    path = unquote(local[0] if local else parts.path).strip("/")
    segments = path.split("/")
    for start in range(len(segments)):
        photo = photo_keys.get("/".join(segments[start:]))
        if photo is not None:
            return photo
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _photo_id(value: Any) -> int | None:
    """A photo id as an integer, or as a string of digits (what a CSV or a hand-made task
    gives)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return _int(value)


def _instant(stamp: str | None) -> int | None:
    """An ISO 8601 time as microseconds since the epoch, offsets and fractions included (a time
    without an offset is taken as UTC), so versions are compared as times, never as text."""
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int((moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1_000_000)


def _annotator(completed_by: Any) -> str | None:
    """The annotator's id only: Label Studio gives an integer or a user object (whose e-mail and
    names must not reach a table); our simulated world gives a name."""
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("id")
    if isinstance(completed_by, bool) or completed_by is None:
        return None
    if isinstance(completed_by, int | str):
        return str(completed_by)
    return None


def _choices(annotation: dict[str, Any], from_name: str) -> tuple[list[Any], list[str]] | None:
    """The choices an annotation made in the content control `from_name`, and what was ignored
    (regions of other controls, regions that are not choices, each named with its reason; a
    choice region without `from_name`, as hand-made exports have, is taken as the content's);
    None when its `result` is not Label Studio's shape."""
    result = annotation.get("result") or []
    if not isinstance(result, list):
        return None
    chosen: list[Any] = []
    ignored = []
    for region in result:
        if not isinstance(region, dict):
            return None
        name = f"region {region.get('id')!r}" if region.get("id") is not None else "a region"
        if region.get("type") != "choices":
            ignored.append(f"{name}: a {region.get('type')!r} region, not a choice")
            continue
        if region.get("from_name", from_name) != from_name:  # unnamed: hand-made, taken as ours
            ignored.append(f"{name}: control {region.get('from_name')!r}, not {from_name!r}")
            continue
        value = region.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("choices", []), list):
            return None
        chosen += value.get("choices", [])
    return chosen, ignored


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _row(
    task: Any, annotation: Any, photo_id: Any, label: Any, reason: str | None, source: str | None
) -> dict[str, Any]:
    task = task if isinstance(task, dict) else {}
    annotation = annotation if isinstance(annotation, dict) else {}
    project = _int(annotation.get("project"))
    return {
        "project": _int(task.get("project")) if project is None else project,
        "task_id": _int(task.get("id")),
        "annotation_id": _int(annotation.get("id")),
        "photo_id": _photo_id(photo_id),
        "annotator": _annotator(annotation.get("completed_by")),
        "label": label if isinstance(label, str) else None,
        "ground_truth": annotation.get("ground_truth") is True,
        "created_at": _text(annotation.get("created_at")),
        "updated_at": _text(annotation.get("updated_at")),
        "lead_time": _number(annotation.get("lead_time")),
        "source_file": source,
        "rejected_reason": reason,
        "rejected_detail": None,
        "ignored": None,
        "review": False,
    }


def _task_rows(
    task: Any,
    known_photo_ids: set[int],
    classes: tuple[str, ...],
    source: str | None,
    photo_keys: Mapping[str, int],
    from_name: str,
) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    data = task.get("data") if isinstance(task, dict) else None
    annotations = task.get("annotations") if isinstance(task, dict) else None
    if annotations is None and isinstance(task, dict):
        annotations = task.get("completions")  # Label Studio's older exports
    if not isinstance(data, dict) or not isinstance(annotations, list | type(None)):
        what = (
            "not an object"
            if not isinstance(task, dict)
            else "no `data` object or `annotations` list"
        )
        rows.append(
            {**_row(task, None, None, None, "malformed_task", source), "rejected_detail": what}
        )
        return pl.DataFrame(rows, schema=HUMAN_LABELS)
    pid = _task_photo(data, photo_keys)
    review = bool(data.get(REVIEW_FIELD))  # our queue names why a photo is back; else ""
    for ann in annotations or []:
        found = _choices(ann, from_name) if isinstance(ann, dict) else None
        if found is None:
            rows.append(_row(task, ann, pid, None, "malformed_annotation", source))
            continue
        choices, ignored = found
        label = choices[0] if len(choices) == 1 else None
        if pid is None or pid not in known_photo_ids:
            reason = "unknown_photo_id"
        elif ann.get("was_cancelled") is True:
            reason = "cancelled"
        elif not isinstance(label, str):
            reason = "not_exactly_one_choice"
        elif label not in classes:
            reason = "unknown_class"
        elif _annotator(ann.get("completed_by")) is None:
            reason = "no_annotator"  # a vote nobody cast cannot be weighed or agreed with
        else:
            reason = None
        row = _row(task, ann, pid, label, reason, source)
        row["review"] = review
        if ignored:
            row["ignored"] = "; ".join(ignored)
        if reason == "not_exactly_one_choice":
            row["rejected_detail"] = f"{len(choices)} choices in control {from_name!r}"
        rows.append(row)
    return pl.DataFrame(rows, schema=HUMAN_LABELS)


def parse_label_studio(
    export: bytes,
    known_photo_ids: set[int],
    classes: tuple[str, ...],
    source_file: str | None = None,
    *,
    photo_keys: Mapping[str, int] | None = None,
    from_name: str = FROM_NAME,
) -> pl.DataFrame:
    """One row per annotation of one export file. A file that is neither a JSON list of tasks
    nor one task is one `malformed_export` row (the parser's message in `rejected_detail`); a
    task or annotation not in Label Studio's shape a `malformed_task` / `malformed_annotation`
    row; the file's other tasks are still read. The label is the choice made in the control
    `from_name` (the labeling config's Choices name); a task without `data.photo_id` is matched
    to its photo by the object key in `data.image` (`photo_keys`: key -> photo id)."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return quarantine(source_file, "malformed_export", tasks)
    keys = photo_keys or {}
    frames = [
        _task_rows(task, known_photo_ids, classes, source_file, keys, from_name) for task in tasks
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)


def deduplicate(rows: pl.DataFrame) -> pl.DataFrame:
    """Each annotation counted once: among rows of the same `annotation_id` of the same Label
    Studio `project` (ids are unique only within a project; an export without one is its own
    project) from the same kind of file (seed, gold or import), the newest `updated_at` (else `created_at`; compared as times,
    offsets and fractions included; ties: the later file) stays as it is; the others are kept as `duplicate` (same timestamp) or `superseded`."""
    if rows.is_empty():
        return rows
    stamp = (
        pl.coalesce("updated_at", "created_at")
        .map_elements(_instant, return_dtype=pl.Int64)
        .fill_null(-1)
    )
    origin = pl.col("source_file").fill_null("").str.split("/").list.slice(0, 2).list.join("/")
    ranked = rows.with_row_index("_order").with_columns(
        _stamp=stamp, _origin=origin, _project=pl.col("project").fill_null(-1)
    )
    keyed = ranked.filter(pl.col("annotation_id").is_not_null())
    newest = (
        keyed.sort(["_stamp", "source_file", "_order"])
        .group_by(["_origin", "_project", "annotation_id"], maintain_order=True)
        .agg(pl.col("_order").last().alias("_keep"), pl.col("_stamp").last().alias("_newest"))
    )
    key = ["_origin", "_project", "annotation_id"]
    marked = ranked.join(newest, on=key, how="left").with_columns(
        pl.when(pl.col("_keep").is_null() | (pl.col("_keep") == pl.col("_order")))
        .then(pl.col("rejected_reason"))
        .when(pl.col("_stamp") == pl.col("_newest"))
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("superseded"))
        .alias("rejected_reason"),
        pl.when(pl.col("_keep").is_null() | (pl.col("_keep") == pl.col("_order")))
        .then(pl.col("rejected_detail"))
        .otherwise(
            pl.format(
                "annotation {} is counted once, from its newest version", pl.col("annotation_id")
            )
        )
        .alias("rejected_detail"),
    )
    return marked.sort("_order").select(list(HUMAN_LABELS))


def apply_reviews(rows: pl.DataFrame) -> pl.DataFrame:
    """A photo sent back for review (a likely label error: label_issues, then labeling_queue)
    is judged again by its review: once it has a usable review annotation, its earlier
    annotations are kept as `reviewed_again` and leave the consensus, so a review can overturn
    the label it was asked to check rather than add one vote beside it. Gold (an expert's
    answer) is never replaced; rows without a `review` value (older tables) are not reviews."""
    if rows.is_empty():
        return rows
    review = pl.col("review").fill_null(False)
    usable = pl.col("rejected_reason").is_null()
    reviewed = rows.filter(usable & review & pl.col("photo_id").is_not_null())
    if reviewed.is_empty():
        return rows
    review_ids = reviewed.group_by("photo_id").agg(pl.col("annotation_id").sort().alias("_by"))
    marked = rows.join(review_ids, on="photo_id", how="left")
    replaced = usable & ~review & ~pl.col("ground_truth") & pl.col("_by").is_not_null()
    return marked.with_columns(
        pl.when(replaced).then(pl.lit("reviewed_again")).otherwise(pl.col("rejected_reason"))
        .alias("rejected_reason"),
        pl.when(replaced)
        .then(pl.format("the photo was sent back for review; its review annotations {} "
                        "replace this one", pl.col("_by").cast(pl.List(pl.String)).list.join(", ")))
        .otherwise(pl.col("rejected_detail"))
        .alias("rejected_detail"),
    ).select(list(HUMAN_LABELS))  # fmt: skip


def rejection_counts(rows: pl.DataFrame) -> dict[str, int]:
    found = rows.filter(pl.col("rejected_reason").is_not_null()).group_by("rejected_reason").len()
    return dict(sorted(found.iter_rows()))


def majority_labels(labels: pl.DataFrame) -> pl.DataFrame:
    """photo_id -> label by majority of accepted annotations; ties go to the alphabetically first
    label (deterministic). `agreement` is the winning share."""
    ok = labels.filter(pl.col("rejected_reason").is_null())
    out = []
    for pid, group in ok.group_by("photo_id"):
        counts = Counter(group["label"].to_list())
        top = max(counts.values())
        label = min(c for c, n in counts.items() if n == top)
        out.append(
            {"photo_id": pid[0], "label": label, "votes": len(group), "agreement": top / len(group)}
        )
    return pl.DataFrame(
        out,
        schema={
            "photo_id": pl.Int64,
            "label": pl.String,
            "votes": pl.Int64,
            "agreement": pl.Float64,
        },
    ).sort("photo_id")
