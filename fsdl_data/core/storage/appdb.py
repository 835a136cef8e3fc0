"""The app database of the photo-sharing app: SQLite by default, Postgres in production.

SQLAlchemy Core (already a Dagster dependency) keeps one code path for both dialects.
Timestamps are stored as naive UTC.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from fsdl_data.core.storage.urls import redact_url

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another's lock

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("signup_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
)

photos = sa.Table(
    "photos",
    metadata,
    sa.Column("photo_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("location", sa.String(64), nullable=False),
    sa.Column("posted_at", sa.DateTime, nullable=False, index=True),
    sa.Column("object_key", sa.String(256), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
)


def naive_utc(moment: datetime) -> datetime:
    """The database's convention: naive datetimes in UTC (aware ones are converted)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class AppDatabase:
    def __init__(self, url: str) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://") :]
        self.url = url
        # A dead connection (a restarted server) is noticed before use, and connecting gives up
        # after 10 s instead of hanging: the step fails clearly and its retry policy takes over.
        connect_args = {"connect_timeout": 10} if url.startswith("postgresql") else {}
        self.engine = sa.create_engine(
            url, future=True, pool_pre_ping=True, connect_args=connect_args
        )
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"AppDatabase({redact_url(self.url)})"

    def create_schema(self) -> None:
        self.retrying(lambda: metadata.create_all(self.engine))

    def retrying(self, work: Callable[[], T], attempts: int = 20) -> T:
        """`work` (a whole transaction), again after a short random pause while SQLite reports
        the database locked beyond its busy timeout, or Postgres a serialization failure or a
        deadlock: concurrent writers then all land instead of failing."""
        for attempt in range(attempts):
            try:
                return work()
            except sa.exc.OperationalError as error:
                if attempt == attempts - 1 or not _transient(error):
                    raise
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]], chunk: int = 5000) -> int:
        with self.engine.begin() as conn:
            for i in range(0, len(rows), chunk):
                conn.execute(table.insert(), list(rows[i : i + chunk]))
        return len(rows)

    def delete_in(self, table: sa.Table, column: str, values: Sequence[Any]) -> int:
        """Delete the rows whose `column` is one of `values` (in one transaction)."""
        with self.engine.begin() as conn:
            return conn.execute(table.delete().where(table.c[column].in_(list(values)))).rowcount

    def photos_posted_between(
        self, start: datetime, end: datetime, batch: int = 2000
    ) -> Iterator[dict[str, Any]]:
        """Photos with start <= posted_at < end, read in keyset pages by (updated_at, photo_id).

        Keyset paging (not OFFSET) keeps each page cheap and gives a watermark that is valid
        even if rows are appended while we read.
        """
        cursor: tuple[datetime, int] | None = None
        start, end = naive_utc(start), naive_utc(end)
        with self.engine.connect() as conn:
            while True:
                q = sa.select(photos).where(photos.c.posted_at >= start, photos.c.posted_at < end)
                if cursor is not None:
                    q = q.where(
                        sa.tuple_(photos.c.updated_at, photos.c.photo_id) > sa.tuple_(*cursor)
                    )
                q = q.order_by(photos.c.updated_at, photos.c.photo_id).limit(batch)
                rows = [dict(r._mapping) for r in conn.execute(q)]
                if not rows:
                    return
                yield from rows
                cursor = (rows[-1]["updated_at"], rows[-1]["photo_id"])

    def photo_rows_as_stored(
        self, start: datetime, end: datetime, batch: int = 2000
    ) -> Iterator[dict[str, Any]]:
        """Like `photos_posted_between`, but as the database holds the rows, so a drifted row
        (a NULL, bytes that are not UTF-8, a time that is not one) is read, never an error, and
        then judged by the caller: on SQLite, text columns come as bytes and times as their
        text. Rows whose `posted_at` is NULL or not a time cannot fall in any day's window; they
        are read with the day in which they were last updated (`updated_at`), so none is lost."""
        sqlite = self.engine.dialect.name == "sqlite"
        text_columns = ("title", "location", "object_key")
        columns = [
            sa.cast(photos.c[c.name], sa.LargeBinary).label(c.name)
            if sqlite and c.name in text_columns
            else sa.cast(photos.c[c.name], sa.Text).label(c.name)
            if sqlite and isinstance(c.type, sa.DateTime)
            else photos.c[c.name]
            for c in photos.columns
        ]
        updated = sa.cast(photos.c.updated_at, sa.Text) if sqlite else photos.c.updated_at
        no_time = (
            sa.func.datetime(photos.c.posted_at).is_(None)
            if sqlite
            else photos.c.posted_at.is_(None)
        )
        start, end = naive_utc(start), naive_utc(end)
        in_window = sa.or_(
            sa.and_(photos.c.posted_at >= start, photos.c.posted_at < end),
            sa.and_(no_time, photos.c.updated_at >= start, photos.c.updated_at < end),
        )
        cursor: tuple[Any, Any] | None = None
        with self.engine.connect() as conn:
            while True:
                q = sa.select(*columns).where(in_window)
                if cursor is not None:
                    q = q.where(
                        sa.tuple_(updated, photos.c.photo_id)
                        > sa.tuple_(sa.literal(cursor[0], updated.type), sa.literal(cursor[1]))
                    )
                q = q.order_by(updated, photos.c.photo_id).limit(batch)
                rows = [dict(r._mapping) for r in conn.execute(q)]
                if not rows:
                    return
                yield from rows
                cursor = (rows[-1]["updated_at"], rows[-1]["photo_id"])

    def users_signed_up_before(self, end: datetime) -> list[dict[str, Any]]:
        end = naive_utc(end)
        with self.engine.connect() as conn:
            q = sa.select(users).where(users.c.signup_at < end).order_by(users.c.user_id)
            return [dict(r._mapping) for r in conn.execute(q)]

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL (readers never block the writer, nor it them) and a busy timeout (a writer waits for
    another's lock instead of failing at once)."""
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _transient(error: sa.exc.OperationalError) -> bool:
    text = str(error.orig).lower()
    return any(
        word in text for word in ("database is locked", "deadlock", "could not serialize", "busy")
    )
