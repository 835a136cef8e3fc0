"""Who is to be forgotten, and how to recognise their data in any file we keep.

A subject is `user:<id>` or `photo:<id>`. Its footprint is what names it: the user's id, the ids
of every photo the user posted (a photo belongs to its user, so its labels, features,
classifications and pixels go with it), and those photos' object keys. A row names the subject
when one of its identifying columns does (`user_id`, `photo_id`, `key`/`object_key`, an online
feature's `entity`/`entity_id`, or a raw JSON line in `raw`/`detail`); a JSON document's list
item names it when one of its fields does, at any depth.

`scrub(path, data)` is the one function that erases a footprint from a file's bytes, whatever
the file is (Parquet, JSON, JSON lines, gzipped JSON lines, or a photo object itself): every
place (the lake, the object store, snapshots, exports) calls it.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from fsdl_data.core.versioning.digests import sha256

KINDS = ("user", "photo")
USER_COLUMNS = ("user_id",)
PHOTO_COLUMNS = ("photo_id",)
KEY_COLUMNS = ("key", "object_key")
RAW_COLUMNS = ("raw", "detail")  # raw JSON lines as read, kept for a person to look at
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
LOG_COMPRESSION = 5  # gzip level of a rewritten log: the one the event logs are written with


@dataclass(frozen=True)
class Subject:
    kind: str  # "user" or "photo"
    id: int

    @classmethod
    def parse(cls, text: str) -> Subject:
        """`user:<id>` or `photo:<id>`, else a one-line error saying what to give."""
        kind, _, value = text.strip().partition(":")
        if kind not in KINDS or not value.strip().isdigit():
            raise ValueError(
                f"cannot read the subject {text!r}: give user:<id> or photo:<id> (an integer id)"
            )
        return cls(kind, int(value))

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def digest(self) -> str:
        """What records keep instead of the id: they say an erasure happened, not of whom
        (small integer ids can be guessed from it, so it is pseudonymous, not anonymous)."""
        return sha256(str(self).encode())


@dataclass(frozen=True)
class Footprint:
    """Everything that names a subject: user ids, photo ids, photo object keys, and the SHA-256
    of the photos' bytes (a copy of a photo under another name, e.g. in a folder snapshot, is
    recognised by its content)."""

    users: frozenset[int] = field(default_factory=frozenset)
    photos: frozenset[int] = field(default_factory=frozenset)
    keys: frozenset[str] = field(default_factory=frozenset)
    contents: frozenset[str] = field(default_factory=frozenset)

    def as_dict(self) -> dict[str, list[Any]]:
        return {"users": sorted(self.users), "photos": sorted(self.photos),
                "keys": sorted(self.keys), "contents": sorted(self.contents)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, list[Any]]) -> Footprint:
        return cls(frozenset(d.get("users", ())), frozenset(d.get("photos", ())),
                   frozenset(d.get("keys", ())), frozenset(d.get("contents", ())))  # fmt: skip

    def __bool__(self) -> bool:
        return bool(self.users or self.photos or self.keys)

    def names_key(self, key: str) -> bool:
        """Whether an object key (or a snapshot path, or a URL) is one of the subject's photos:
        it is one of their keys, or ends with "/" and one. Looked up suffix by suffix (as many
        as the key has folders), not key by key: an erasure asks this of every object record of
        every snapshot."""
        keys = self.keys
        if not keys:
            return False
        if key in keys:
            return True
        slash = key.find("/")
        while slash >= 0:
            if key[slash + 1 :] in keys:
                return True
            slash = key.find("/", slash + 1)
        return False

    # --- rows -------------------------------------------------------------------------------
    def row_filter(self, schema: dict[str, Any]) -> Any:
        """A polars expression true on the rows that name the subject, or None when no column
        of `schema` can."""
        import polars as pl

        conditions = []
        for column in USER_COLUMNS:
            if column in schema and self.users:
                conditions.append(pl.col(column).is_in(sorted(self.users)))
        for column in PHOTO_COLUMNS:
            if column in schema and self.photos:
                conditions.append(pl.col(column).is_in(sorted(self.photos)))
        for column in KEY_COLUMNS:
            if column in schema and self.keys and schema[column] == pl.String:
                conditions.append(pl.col(column).is_in(sorted(self.keys)))
        if {"entity", "entity_id"} <= set(schema):
            for entity, ids in (("user", self.users), ("photo", self.photos)):
                if ids:
                    conditions.append((pl.col("entity") == entity)
                                      & pl.col("entity_id").is_in([str(i) for i in sorted(ids)]))  # fmt: skip
        pattern = self._json_pattern()
        for column in RAW_COLUMNS:
            if column in schema and pattern and schema[column] in (pl.String, pl.Binary):
                text = pl.col(column)
                if schema[column] == pl.Binary:
                    text = text.cast(pl.String, strict=False)
                conditions.append(text.str.contains(pattern).fill_null(False))
        if not conditions:
            return None
        found = conditions[0]
        for condition in conditions[1:]:
            found = found | condition
        return found.fill_null(False)

    def _json_pattern(self) -> str | None:
        """A regular expression for a JSON text that names the subject by id."""
        parts = []
        for name, ids in (("user_id", self.users), ("photo_id", self.photos)):
            if ids:
                parts.append(rf'"{name}"\s*:\s*"?(?:{"|".join(str(i) for i in sorted(ids))})\b')
        return "|".join(parts) or None

    # --- JSON documents ---------------------------------------------------------------------
    def names(self, value: Any) -> bool:
        """Whether a JSON value names the subject, at any depth."""
        if isinstance(value, dict):
            for name, inner in value.items():
                is_id = isinstance(inner, int) and not isinstance(inner, bool)
                if is_id and ((name in USER_COLUMNS and inner in self.users)
                              or (name in PHOTO_COLUMNS and inner in self.photos)):  # fmt: skip
                    return True
                if self.names(inner):
                    return True
            return False
        if isinstance(value, list):
            return any(self.names(inner) for inner in value)
        if isinstance(value, str) and self.keys:
            return self.names_key(value.split("?d=")[-1])
        return False

    def without(self, value: Any) -> tuple[Any, int]:
        """A JSON value with every list item that names the subject left out (at any depth),
        and how many were."""
        if isinstance(value, list):
            kept, dropped = [], 0
            for inner in value:
                if self.names(inner):
                    dropped += 1
                else:
                    inner, more = self.without(inner)
                    kept.append(inner)
                    dropped += more
            return kept, dropped
        if isinstance(value, dict):
            out, dropped = {}, 0
            for name, inner in value.items():
                out[name], more = self.without(inner)
                dropped += more
            return out, dropped
        return value, 0


REMOVED = b""  # `Scrubbed.data` of a file that is the subject's whole (a photo object)


@dataclass(frozen=True)
class Scrubbed:
    """A file after erasure: its new bytes (REMOVED: the file goes), and how many rows or items
    named the subject (0: untouched, and `data` is the input)."""

    data: bytes
    erased: int

    @property
    def removed(self) -> bool:
        return self.erased > 0 and self.data == REMOVED


def scrub(path: str, data: bytes, footprint: Footprint, write: bool = True) -> Scrubbed:
    """Erases a footprint from one file's bytes, chosen by its name: a photo object of the
    subject goes whole; Parquet, JSON and JSON lines (gzipped too) lose the rows or items that
    name it; anything else is untouched. With `write` false only counts (for verify)."""
    lower = path.lower()
    if lower.endswith(PHOTO_SUFFIXES):
        mine = footprint.names_key(path) or sha256(data) in footprint.contents
        return Scrubbed(REMOVED, 1) if mine else Scrubbed(data, 0)
    if lower.endswith(".parquet"):
        return _scrub_parquet(data, footprint, write)
    if lower.endswith(".json"):
        return _scrub_json(data, footprint)
    if lower.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return _scrub_lines(data, footprint, lower.endswith(".gz"), write)
    return Scrubbed(data, 0)


def _scrub_parquet(data: bytes, footprint: Footprint, write: bool) -> Scrubbed:
    import polars as pl

    from fsdl_data.core.storage.lake import to_parquet_bytes

    schema = pl.read_parquet_schema(io.BytesIO(data))
    condition = footprint.row_filter(schema)
    if condition is None:
        return Scrubbed(data, 0)
    columns = sorted(set(condition.meta.root_names()))
    found = (
        pl.read_parquet(io.BytesIO(data), columns=columns)
        .select(condition.sum().alias("found"))
        .item()
    )
    if not found:
        return Scrubbed(data, 0)
    if not write:
        return Scrubbed(data, int(found))
    table = pl.read_parquet(io.BytesIO(data))
    return Scrubbed(to_parquet_bytes(table.filter(~condition)), int(found))


def _scrub_json(data: bytes, footprint: Footprint) -> Scrubbed:
    try:
        document = json.loads(data)
    except ValueError:
        return Scrubbed(data, 0)  # not JSON after all: nothing we can recognise
    if not isinstance(document, list | dict):
        return Scrubbed(data, 0)
    kept, dropped = footprint.without(document)
    if not dropped:
        return Scrubbed(data, 0)
    return Scrubbed(json.dumps(kept, indent=1).encode(), dropped)


def _scrub_lines(data: bytes, footprint: Footprint, zipped: bool, write: bool) -> Scrubbed:
    text = gzip.decompress(data) if zipped else data
    pattern = footprint._json_pattern()
    if pattern is None:
        return Scrubbed(data, 0)
    matcher = re.compile(pattern.replace(r"\s", r"[^\S\n]").encode())  # within one line
    starts = sorted({_line_start(text, m.start()) for m in matcher.finditer(text)})
    if not starts:
        return Scrubbed(data, 0)
    if not write:
        return Scrubbed(data, len(starts))
    kept, position = [], 0  # one scan of the whole text finds the lines: a log has many
    for start in starts:
        kept.append(text[position:start])
        end = text.find(b"\n", start)
        position = len(text) if end < 0 else end + 1
    kept.append(text[position:])
    body = b"".join(kept)
    packed = gzip.compress(body, compresslevel=LOG_COMPRESSION, mtime=0) if zipped else body
    return Scrubbed(packed, len(starts))


def _line_start(text: bytes, position: int) -> int:
    """Where the line holding `position` starts (lines end with a newline)."""
    return text.rfind(b"\n", 0, position) + 1
