"""Human labels from Label Studio exports: parse, validate, deduplicate, route to their day.

Real exports vary: a JSON list of tasks or one task object; `completed_by` an integer or a user
object (only its id is kept: no e-mail or name reaches a table); `was_cancelled` annotations;
`ground_truth` marking gold; `lead_time` and `updated_at` present or not. Every annotation
becomes one row. A row that cannot be used keeps a `rejected_reason` (a code) and a
`rejected_detail` (what exactly), never dropped; a file that cannot be read at all is one
quarantine row naming the file and the parser's message, and the other files still load.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.storage.objects import Listed, ObjectStore, listing_digest

HUMAN_LABELS = {
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
}

EXPORT_PREFIXES = ("labels/seed", "labels/gold")  # each with its day folders
IMPORT_PREFIX = "labels/import/"  # Label Studio exports dropped by people: any file name
MAX_EXPORT_BYTES = 256 * 1024 * 1024  # a bigger file is quarantined, not read into memory

# reasons that are bookkeeping, not bad data: the annotation itself is counted once
BOOKKEEPING_REASONS = ("duplicate", "superseded")


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
) -> pl.DataFrame:
    frames = [_read_one(store, k, known_photo_ids, classes, max_bytes) for k in keys]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)


def _read_one(
    store: ObjectStore, key: str, known: set[int] | None, classes: tuple[str, ...], max_bytes: int
) -> pl.DataFrame:
    """One export's rows; a file over `max_bytes` is one quarantine row, never read. With no
    photo catalogue (`known` None), the photos the export names are taken as known."""
    info = store.head(key)
    if info is not None and info.size > max_bytes:
        return _too_large(key, info.size, max_bytes)
    export = store.get(key)
    known = photos_named(export) if known is None else known
    return parse_label_studio(export, known, classes, source_file=key)


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
) -> DayImport:
    """Annotations from labels/import/ for `day`'s partition. An annotation belongs to the day of
    its photo; a task that names `data.day` (our queue writes it) but a photo that day does not
    have is rejected there as unknown; a file that cannot be read, and a task with neither a
    usable photo id nor a day, are reported on the day the file arrived."""
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
            photo, task_day = _photo_and_day(task)
            mine = photo is not None and photo in day_photo_ids
            unknown_here = task_day == day  # names this day, yet a photo it does not have
            unplaced = task_day is None and photo is None and arrival == day
            if mine or unknown_here or unplaced:
                frames.append(_task_rows(task, day_photo_ids, classes, info.key))
            else:
                other += 1
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)
    return DayImport(rows, other)


def photos_named(export: bytes) -> set[int]:
    """The photo ids an export's tasks name in `data.photo_id` (none for an unreadable file)."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return set()
    return {photo for task in tasks if (photo := _photo_and_day(task)[0]) is not None}


def days_named(export: bytes) -> set[str]:
    """The days an export's tasks name in `data.day` (our queue writes it): the partitions whose
    human labels it changes. Empty for a file that is unreadable or names none."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return set()
    return {day for task in tasks if (day := _photo_and_day(task)[1]) is not None}


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


def _photo_and_day(task: Any) -> tuple[int | None, str | None]:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        return None, None
    day = data.get("day")
    try:
        day = dt.date.fromisoformat(day).isoformat() if isinstance(day, str) else None
    except ValueError:
        day = None
    return _photo_id(data.get("photo_id")), day


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


def _choices(annotation: dict[str, Any]) -> list[Any] | None:
    """The choices an annotation made, or None when its `result` is not Label Studio's shape."""
    result = annotation.get("result") or []
    if not isinstance(result, list):
        return None
    chosen = []
    for region in result:
        if not isinstance(region, dict):
            return None
        if region.get("type") != "choices":
            continue
        value = region.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("choices", []), list):
            return None
        chosen += value.get("choices", [])
    return chosen


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _row(
    task: Any, annotation: Any, photo_id: Any, label: Any, reason: str | None, source: str | None
) -> dict[str, Any]:
    task = task if isinstance(task, dict) else {}
    annotation = annotation if isinstance(annotation, dict) else {}
    return {
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
    }


def _task_rows(
    task: Any, known_photo_ids: set[int], classes: tuple[str, ...], source: str | None
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
    pid = _photo_id(data.get("photo_id"))
    for ann in annotations or []:
        choices = _choices(ann) if isinstance(ann, dict) else None
        if choices is None:
            rows.append(_row(task, ann, pid, None, "malformed_annotation", source))
            continue
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
        rows.append(_row(task, ann, pid, label, reason, source))
    return pl.DataFrame(rows, schema=HUMAN_LABELS)


def parse_label_studio(
    export: bytes,
    known_photo_ids: set[int],
    classes: tuple[str, ...],
    source_file: str | None = None,
) -> pl.DataFrame:
    """One row per annotation of one export file. A file that is neither a JSON list of tasks
    nor one task is one `malformed_export` row (the parser's message in `rejected_detail`); a
    task or annotation not in Label Studio's shape a `malformed_task` / `malformed_annotation`
    row; the file's other tasks are still read."""
    tasks = _tasks_of(export)
    if isinstance(tasks, str):
        return quarantine(source_file, "malformed_export", tasks)
    frames = [_task_rows(task, known_photo_ids, classes, source_file) for task in tasks]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)


def deduplicate(rows: pl.DataFrame) -> pl.DataFrame:
    """Each annotation counted once: among rows of the same `annotation_id` from the same kind of
    file (seed, gold or import), the newest `updated_at` (else `created_at`; compared as times,
    offsets and fractions included; ties: the later file) stays as it is; the others are kept as `duplicate` (same timestamp) or `superseded`."""
    if rows.is_empty():
        return rows
    stamp = (
        pl.coalesce("updated_at", "created_at")
        .map_elements(_instant, return_dtype=pl.Int64)
        .fill_null(-1)
    )
    origin = pl.col("source_file").fill_null("").str.split("/").list.slice(0, 2).list.join("/")
    ranked = rows.with_row_index("_order").with_columns(_stamp=stamp, _origin=origin)
    keyed = ranked.filter(pl.col("annotation_id").is_not_null())
    newest = (
        keyed.sort(["_stamp", "source_file", "_order"])
        .group_by(["_origin", "annotation_id"], maintain_order=True)
        .agg(pl.col("_order").last().alias("_keep"), pl.col("_stamp").last().alias("_newest"))
    )
    marked = ranked.join(newest, on=["_origin", "annotation_id"], how="left").with_columns(
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
