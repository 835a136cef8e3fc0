"""The online feature store: the latest value of every feature of every entity, for serving.

Three backends behind one small protocol (`OnlineStore`), chosen by URL: the app database
(`sqlite://`, the embedded default; `postgresql://` in production) or Redis (`redis://`). One
record per (entity, id, feature): the value (JSON), its event time and known-at time. An upsert
replaces a record only with a newer one (later event time, or the same event time published
later), atomically, so upserts commute and concurrent writers never lose one: replaying old
partitions never overwrites fresher values.

Reads are as of a moment `at`: a value is served (`ok`) only when its event time <= at, its
known-at <= at and it is within its TTL (event time > at - ttl); otherwise its status says why
(`not_yet_known`, `expired`, `missing`) and no value is given. The store keeps the newest version
only, so asking for a moment before it was published answers `not_yet_known`, never a value
nobody had then.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fsdl_data.core.calendar import nightly_publish_time
from fsdl_data.core.features.definitions import (
    ENTITY_KEY,
    EVENT_TIME,
    KNOWN_AT,
    FeatureDefinition,
    features_of,
)
from fsdl_data.core.storage.appdb import AppDatabase, naive_utc

metadata = sa.MetaData()
online_features = sa.Table(
    "online_features",
    metadata,
    sa.Column("entity", sa.String(16), primary_key=True),
    sa.Column("entity_id", sa.String(64), primary_key=True),
    sa.Column("feature", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),  # JSON
    sa.Column("event_time", sa.DateTime, nullable=False),
    sa.Column("known_at", sa.DateTime, nullable=False),
)
ONLINE_ROWS = {
    "entity": pl.String,
    "entity_id": pl.String,
    "feature": pl.String,
    "value": pl.String,
    "event_time": pl.Datetime("us", "UTC"),
    "known_at": pl.Datetime("us", "UTC"),
}
OK, NOT_YET_KNOWN, EXPIRED, MISSING = "ok", "not_yet_known", "expired", "missing"


class Record(NamedTuple):
    """One stored value: what every backend reads back (a tuple: cheap to make, and the
    serving path makes one per value)."""

    entity_id: str
    feature: str
    value: str | None  # JSON
    event_time: datetime  # aware, UTC
    known_at: datetime  # aware, UTC


@dataclass(frozen=True)
class OnlineValue:
    feature: str
    value: Any
    event_time: datetime | None
    known_at: datetime | None
    status: str  # OK, NOT_YET_KNOWN, EXPIRED or MISSING

    def as_json(self) -> dict[str, Any]:
        """What `features get --json` prints for one feature (times ISO 8601 with offset)."""
        return {
            "feature": self.feature,
            "value": self.value,
            "event_time": self.event_time.isoformat() if self.event_time else None,
            "known_at": self.known_at.isoformat() if self.known_at else None,
            "status": self.status,
        }


class OnlineStore(Protocol):
    """What a backend does: newest-wins upserts and reads of some entities' records."""

    def upsert(self, records: Sequence[Record], entity: str) -> int: ...

    def records(
        self, entity: str, entity_ids: Sequence[str], features: Sequence[str] | None = None
    ) -> list[Record]: ...

    def clear(self) -> None: ...

    def forget(self, entity: str, entity_ids: Sequence[str]) -> int:
        """Deletes every feature of these entities (the right to be forgotten); returns how
        many values went."""
        ...

    def close(self) -> None: ...


def newest_per_key(records: Sequence[Record]) -> list[Record]:
    """The newest record of each (id, feature) in a batch, in one order for every writer (so one
    statement never touches a row twice, and concurrent Postgres upserts never deadlock)."""
    newest: dict[tuple[str, str], Record] = {}
    for r in records:
        held = newest.get((r.entity_id, r.feature))
        if held is None or (r.event_time, r.known_at) > (held.event_time, held.known_at):
            newest[(r.entity_id, r.feature)] = r
    return [newest[key] for key in sorted(newest)]


class SqlOnlineStore:
    """The `online_features` table of the app database (SQLite or Postgres). On SQLite the app
    database runs in WAL mode with a busy timeout (core.storage.appdb), and a write that still
    finds the database locked is retried, so concurrent writer processes all land."""

    ATTEMPTS = 20

    def __init__(self, db: AppDatabase) -> None:
        self.db = db
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            ensure_table(self.db)
            self._ready = True

    def upsert(self, records: Sequence[Record], entity: str, chunk: int = 5000) -> int:
        self._ensure()
        rows = [
            {"entity": entity, "entity_id": r.entity_id, "feature": r.feature, "value": r.value,
             "event_time": naive_utc(r.event_time), "known_at": naive_utc(r.known_at)}
            for r in newest_per_key(records)
        ]  # fmt: skip
        insert = postgresql.insert if self.db.engine.dialect.name == "postgresql" else sqlite.insert

        def write() -> None:
            with self.db.engine.begin() as conn:
                for start in range(0, len(rows), chunk):
                    statement = insert(online_features).values(rows[start : start + chunk])
                    new = statement.excluded
                    newer = (new.event_time > online_features.c.event_time) | (
                        (new.event_time == online_features.c.event_time)
                        & (new.known_at > online_features.c.known_at)
                    )
                    conn.execute(
                        statement.on_conflict_do_update(
                            index_elements=["entity", "entity_id", "feature"],
                            set_={"value": new.value, "event_time": new.event_time,
                                  "known_at": new.known_at},
                            where=newer,
                        )
                    )  # fmt: skip

        if rows:
            self.db.retrying(write)
        if len(rows) >= self.ANALYZE_AFTER and self.db.engine.dialect.name == "postgresql":
            self._analyze()
        return len(rows)

    # A push this large refreshes Postgres's statistics at once: planned with the stale ones of
    # a table that was small (or empty), the serving read filters every row of the entity kind
    # instead of looking its ids up in the key (measured 16 ms instead of 1 ms at 50 ids).
    ANALYZE_AFTER = 1000

    def _analyze(self) -> None:
        with self.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("ANALYZE online_features")
            )

    def records(
        self, entity: str, entity_ids: Sequence[str], features: Sequence[str] | None = None
    ) -> list[Record]:
        """One indexed query on one held connection and cursor (the serving path: no pool
        checkout, no statement compilation per call); a dropped connection is replaced once. On
        Postgres the query is a statement prepared once per connection with one generic plan
        (parsed and planned once, whatever the ids: `entity_id = ANY($2)`; a custom plan per
        call cost more than the read at one id), reading times as integer microseconds
        (decoding timestamps cost more than the query); every feature of the ids is read, in
        one index range per id, and those not asked for are left out here."""
        self._ensure()
        ids = list(entity_ids)
        if not ids:
            return []
        postgres = self.db.engine.dialect.name == "postgresql"
        if postgres:
            sql, params = _PG_EXECUTE, (entity, ids)
        else:
            sql = _select("?", len(ids), None if features is None else len(features))
            params = (entity, *ids, *(features or ()))
        for attempt in range(2):
            try:
                cursor = self._reader()
                cursor.execute(sql, params)
                found = cursor.fetchall()
                break
            except Exception as error:  # a driver error: the held connection may be gone
                self._drop_reader()
                if attempt or not isinstance(error, self._driver_errors()):
                    raise
        made: dict[int | str | datetime, datetime] = {}  # a push shares its times: convert once
        convert = _moment if postgres else _utc
        out = []
        wanted = None if features is None or not postgres else set(features)
        for entity_id, feature, value, event, known in found:
            if wanted is not None and feature not in wanted:
                continue
            event_time = made.get(event)
            if event_time is None:
                event_time = made[event] = convert(event)
            known_at = made.get(known)
            if known_at is None:
                known_at = made[known] = convert(known)
            out.append(Record(entity_id, feature, value, event_time, known_at))
        return out

    _held: Any = None  # the held connection, for reads
    _cursor: Any = None  # its cursor

    def _reader(self) -> Any:
        """The held connection's cursor. On Postgres the connection is detached from the pool
        (its session settings, the generic plan and autocommit, stay with it and are never
        handed to another user of the pool)."""
        if self._held is None:
            held = self.db.engine.raw_connection()
            if self.db.engine.dialect.name == "postgresql":
                held.driver_connection.autocommit = True  # each read sees the latest commit
                cursor = held.cursor()
                cursor.execute(_PG_PREPARE)
                cursor.execute("SET plan_cache_mode = force_generic_plan")
                cursor.close()
                held.detach()
            self._held, self._cursor = held, held.cursor()
        return self._cursor

    def _drop_reader(self) -> None:
        if self._held is not None:
            try:
                self._held.invalidate()
            finally:
                self._held = self._cursor = None

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (self.db.engine.dialect.loaded_dbapi.OperationalError,
                self.db.engine.dialect.loaded_dbapi.InterfaceError)  # fmt: skip

    def forget(self, entity: str, entity_ids: Sequence[str]) -> int:
        self._ensure()
        table = online_features

        def delete() -> int:
            with self.db.engine.begin() as conn:
                where = (table.c.entity == entity) & table.c.entity_id.in_(list(entity_ids))
                return conn.execute(table.delete().where(where)).rowcount

        return self.db.retrying(delete) if entity_ids else 0

    def clear(self) -> None:
        self._drop_reader()
        self.db.engine.dispose()
        with self.db.engine.begin() as conn:
            metadata.drop_all(conn)
        self._ready = False

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = self._cursor = None
        self.db.dispose()


@functools.lru_cache(maxsize=1024)
def _select(mark: str, ids: int, features: int | None) -> str:
    """The read for `ids` ids (and `features` features, or all): the same text for the same
    shape, so the driver's statement cache keeps it prepared."""
    sql = ("SELECT entity_id, feature, value, event_time, known_at FROM online_features "
           f"WHERE entity = {mark} AND entity_id IN ({', '.join([mark] * ids)})")  # fmt: skip
    if features is not None:
        sql += f" AND feature IN ({', '.join([mark] * features)})"
    return sql


_PG_PREPARE = (
    "PREPARE fsdl_online_read (text, text[]) AS SELECT entity_id, feature, value, "
    "(extract(epoch FROM event_time) * 1000000)::int8, "
    "(extract(epoch FROM known_at) * 1000000)::int8 "
    "FROM online_features WHERE entity = $1 AND entity_id = ANY($2)"
)  # times are naive UTC, so their epoch is UTC's
_PG_EXECUTE = "EXECUTE fsdl_online_read (%s, %s)"


def _utc(moment: datetime | str) -> datetime:
    """A stored time (naive UTC; SQLite returns it as text) as an aware UTC datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC)


# Newest wins, atomically: replace a field only if (event, known) is newer than the stored one.
_REDIS_UPSERT = """
local written = 0
for i = 1, #ARGV, 4 do
  local field, event, known, value = ARGV[i], tonumber(ARGV[i+1]), tonumber(ARGV[i+2]), ARGV[i+3]
  local old = redis.call('HGET', KEYS[math.floor(i / 4) + 1], field)
  local replace = true
  if old then
    local old_event, old_known = string.match(old, '^(%-?%d+) (%-?%d+) ')
    old_event, old_known = tonumber(old_event), tonumber(old_known)
    replace = event > old_event or (event == old_event and known > old_known)
  end
  if replace then
    redis.call('HSET', KEYS[math.floor(i / 4) + 1], field, ARGV[i+1] .. ' ' .. ARGV[i+2] .. ' ' .. value)
    written = written + 1
  end
end
return written
"""
# A read of some features of many entities in one command and one reply: every field, in key
# then feature order, joined by NUL (which no JSON text contains), '' where a field is absent.
# One bulk string parses in one step where a pipeline's replies parse value by value.
_REDIS_READ = """
local out, n = {}, #ARGV
for i = 1, #KEYS do
  local found = redis.call('HMGET', KEYS[i], unpack(ARGV))
  for j = 1, n do out[#out + 1] = found[j] or '' end
end
return table.concat(out, '\\0')
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _command(*args: str) -> bytes:
    """A Redis command in the protocol's own framing (RESP: an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def _micros(moment: datetime) -> int:
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _moments() -> Callable[[int | bytes], datetime]:
    """Microseconds since the epoch (an int, or its digits) as an aware UTC datetime, each
    distinct one converted once: the values of one push share their times."""
    made: dict[int | bytes, datetime] = {}

    def moment(micros: int | bytes) -> datetime:
        found = made.get(micros)
        if found is None:
            found = made[micros] = _moment(int(micros))
        return found

    return moment


class RedisOnlineStore:
    """One hash per entity (`<prefix>:<entity>:<id>`), one field per feature holding
    "<event µs> <known µs> <JSON value>"; the newest-wins rule runs inside Redis (a Lua
    script), so concurrent writers never lose an upsert."""

    def __init__(self, url: str, prefix: str = "fsdl:online") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._upsert = self.client.register_script(_REDIS_UPSERT)
        self._read = self.client.register_script(_REDIS_READ)
        self._no_script = redis.exceptions.NoScriptError
        self._gone = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self._held: Any = None  # a connection held for reads (the serving path)
        self._lock = threading.Lock()

    def _key(self, entity: str, entity_id: str) -> str:
        return f"{self.prefix}:{entity}:{entity_id}"

    def upsert(self, records: Sequence[Record], entity: str, chunk: int = 500) -> int:
        for start in range(0, len(records), chunk):
            keys, args = [], []
            for r in records[start : start + chunk]:
                keys.append(self._key(entity, r.entity_id))
                value = "null" if r.value is None else r.value
                args += [r.feature, _micros(r.event_time), _micros(r.known_at), value]
            self._upsert(keys=keys, args=args)
        return len(records)

    def records(
        self, entity: str, entity_ids: Sequence[str], features: Sequence[str] | None = None
    ) -> list[Record]:
        """Named features: one script call (_REDIS_READ) on a held connection; every feature:
        one HGETALL per id, pipelined."""
        ids = list(entity_ids)
        if not ids:
            return []
        made: dict[bytes, datetime] = {}  # a push shares its times: convert once
        out = []
        if features is not None:
            names = list(features)
            reply = self._read_fields([self._key(entity, i) for i in ids], names)
            for position, stored in enumerate(reply.split(b"\0")):
                if stored:
                    event, known, value = stored.split(b" ", 2)
                    event_time = made.get(event)
                    if event_time is None:
                        event_time = made[event] = _moment(int(event))
                    known_at = made.get(known)
                    if known_at is None:
                        known_at = made[known] = _moment(int(known))
                    out.append(Record(ids[position // len(names)], names[position % len(names)],
                                      None if value == b"null" else value.decode(),
                                      event_time, known_at))  # fmt: skip
            return out
        moment = _moments()
        pipe = self.client.pipeline(transaction=False)
        for entity_id in ids:
            pipe.hgetall(self._key(entity, entity_id))
        for entity_id, found in zip(ids, pipe.execute(), strict=True):
            for field, stored in found.items():
                event, known, value = stored.split(b" ", 2)
                out.append(Record(entity_id, field.decode(),
                                  None if value == b"null" else value.decode(),
                                  moment(event), moment(known)))  # fmt: skip
        return out

    def _read_fields(self, keys: list[str], names: list[str]) -> bytes:
        """_REDIS_READ's reply for these keys and fields: the command packed here and sent on a
        connection held for reads (the client's command path, pool checkout and general packer
        cost more than Redis takes to answer at one id). A dropped connection is reconnected
        and a script Redis no longer holds (a restart, SCRIPT FLUSH) is loaded, once each."""
        command = _command("EVALSHA", self._read.sha, str(len(keys)), *keys, *names)
        with self._lock:
            for attempt in range(3):
                if self._held is None:
                    self._held = self.client.connection_pool.get_connection()
                try:
                    self._held.send_packed_command([command], check_health=False)
                    return self._held.read_response()
                except self._no_script:
                    if attempt == 2:
                        raise
                    self.client.script_load(_REDIS_READ)
                except self._gone:
                    self._held.disconnect()  # the next send connects again
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def forget(self, entity: str, entity_ids: Sequence[str]) -> int:
        keys = [self._key(entity, entity_id) for entity_id in entity_ids]
        if not keys:
            return 0
        pipe = self.client.pipeline(transaction=True)
        for key in keys:
            pipe.hlen(key)
        pipe.delete(*keys)
        *counts, _ = pipe.execute()
        return sum(counts)

    def clear(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start : start + 1000])

    def close(self) -> None:
        if self._held is not None:
            self.client.connection_pool.release(self._held)
            self._held = None
        self.client.close()


def open_online_store(url: str) -> OnlineStore:
    """The backend a URL names: redis://... or an app-database URL (sqlite://, postgresql://)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisOnlineStore(url)
    return SqlOnlineStore(AppDatabase(url))


def as_store(store: OnlineStore | AppDatabase) -> OnlineStore:
    return SqlOnlineStore(store) if isinstance(store, AppDatabase) else store


def ensure_table(db: AppDatabase, attempts: int = 10) -> None:
    """Creates `online_features` unless it exists; writers starting at once may race to create
    it (Postgres then reports a duplicate type, SQLite that it exists): the loser tries again."""
    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.schema.CreateTable(online_features, if_not_exists=True))
            return
        except sa.exc.DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def online_rows(features: pl.DataFrame, entity: str) -> pl.DataFrame:
    """A feature table (one version per entity) in the online store's long format."""
    key, event_time = ENTITY_KEY[entity], EVENT_TIME[entity]
    names = [f.name for f in features_of(entity)]
    if features.is_empty():
        return pl.DataFrame(schema=ONLINE_ROWS)
    encoded = features.select(
        pl.lit(entity).alias("entity"),
        pl.col(key).cast(pl.String).alias("entity_id"),
        pl.col(event_time).alias("event_time"),
        pl.col(KNOWN_AT).alias("known_at"),
        *[pl.col(n).map_elements(json.dumps, return_dtype=pl.String).alias(n) for n in names],
    )
    return (
        encoded.unpivot(
            index=["entity", "entity_id", "event_time", "known_at"],
            on=names,
            variable_name="feature",
            value_name="value",
        )
        .select(list(ONLINE_ROWS))
        .cast(ONLINE_ROWS)
        .sort("entity", "entity_id", "feature")
    )


def upsert(store: OnlineStore | AppDatabase, rows: pl.DataFrame) -> int:
    """Writes `rows` (ONLINE_ROWS) where they are newer than what the store holds."""
    store = as_store(store)
    written = 0
    for (entity,), part in rows.partition_by("entity", as_dict=True).items():
        records = [
            Record(r["entity_id"], r["feature"], r["value"], r["event_time"], r["known_at"])
            for r in part.iter_rows(named=True)
        ]
        written += store.upsert(records, str(entity))
    return written


def read_rows(
    store: OnlineStore | AppDatabase, entity: str, entity_ids: Iterable[str]
) -> pl.DataFrame:
    """The stored rows of some entities (ONLINE_ROWS), untouched by TTL."""
    found = as_store(store).records(entity, list(entity_ids))
    return pl.DataFrame(
        [(entity, r.entity_id, r.feature, r.value, r.event_time, r.known_at) for r in found],
        schema=ONLINE_ROWS,
        orient="row",
    )


def status_of(feature: FeatureDefinition, record: Record | None, at: datetime) -> str:
    """Whether a stored value is served at `at`, or why not: the module docstring's rule, the
    one place it is decided (reads, the feature server and the parity gate all call it)."""
    if record is None:
        return MISSING
    if record.event_time > at or record.known_at > at:
        return NOT_YET_KNOWN
    if feature.ttl is not None and record.event_time <= at - feature.ttl:
        return EXPIRED
    return OK


def read_moment(records: Iterable[Record], world_day: str | None, now: datetime) -> datetime:
    """The moment a read that names none is served as of: the one clock rule of `fsdl-data
    features get` without --at and of the feature server without "at". Outside a generated
    world (`world_day` None), now. In a generated world whose last day is `world_day`, the
    world's latest time: when its last night published, or the newest known-at among the
    values read if later (a night re-run on the wall clock, or published since the world was
    read): a world's clock stands where its newest publication does, not at the wall clock,
    which lies after every simulated day and would find each value past its TTL."""
    if world_day is None:
        return now
    return max([nightly_publish_time(world_day), *(r.known_at for r in records)])


def vector_of(entity: str, records: Sequence[Record], at: datetime) -> list[OnlineValue] | None:
    """Every feature of one entity as served at `at`, from its stored records; None when
    there are none."""
    if not records:
        return None
    found = {r.feature: r for r in records}
    return [serve(feature, found.get(feature.name), at) for feature in features_of(entity)]


def serve(feature: FeatureDefinition, record: Record | None, at: datetime) -> OnlineValue:
    """One value as served at `at`."""
    status = status_of(feature, record, at)
    if record is None:
        return OnlineValue(feature.name, None, None, None, status)
    value = json.loads(record.value) if status == OK and record.value is not None else None
    return OnlineValue(feature.name, value, record.event_time, record.known_at, status)


def read_vector(
    store: OnlineStore | AppDatabase, entity: str, entity_id: str, at: datetime
) -> list[OnlineValue] | None:
    """Every feature of one entity as served at `at`; None when the store has no row for it."""
    return vector_of(entity, as_store(store).records(entity, [entity_id]), at)


STATUS_WORDS = {
    EXPIRED: "expired (older than its TTL)",
    NOT_YET_KNOWN: "not yet known (published or describing a later time)",
}


def vector_lines(
    entity: str, entity_id: str, moment: datetime, vector: list[OnlineValue]
) -> list[str]:
    """A served vector in words: what `fsdl-data features get` prints and online_features shows."""
    lines = [
        f"{entity}:{entity_id} as served at {moment.isoformat(timespec='seconds')}:",
        f"  {'feature':14s} {'value':>12s}  {'event time':25s} {'known at':25s} status",
    ]
    for v in vector:
        shown = "-" if v.value is None else str(v.value)
        when = v.event_time.isoformat() if v.event_time else "-"
        known = v.known_at.isoformat() if v.known_at else "-"
        lines.append(
            f"  {v.feature:14s} {shown:>12s}  {when:25s} {known:25s} {STATUS_WORDS.get(v.status, v.status)}"
        )
    expired = [v.feature for v in vector if v.status == EXPIRED]
    if expired:
        lines.append(f"{len(expired)} expired: not served; materialize newer days to refresh them")
    later = [v.feature for v in vector if v.status == NOT_YET_KNOWN]
    if later:
        lines.append(f"{len(later)} not yet known at {moment.isoformat()}: not served")
    return lines


def served_sample(store: OnlineStore | AppDatabase, pushed: pl.DataFrame) -> str:
    """The first user's and photo's vectors of a push (ONLINE_ROWS), read back from the store as
    served at the push's newest known_at, as Markdown: what `fsdl-data features get` prints."""
    if pushed.is_empty():
        return "nothing pushed"
    moment = pushed["known_at"].max()
    blocks = []
    for entity in ("user", "photo"):
        ids = pushed.filter(pl.col("entity") == entity)["entity_id"]
        if ids.is_empty():
            continue
        entity_id = str(ids.sort()[0])
        vector = read_vector(store, entity, entity_id, moment)
        if vector:
            text = "\n".join(vector_lines(entity, entity_id, moment, vector))
            blocks.append(f"`fsdl-data features get {entity}:{entity_id}`\n\n```\n{text}\n```")
    return "\n\n".join(blocks) or "nothing pushed"
