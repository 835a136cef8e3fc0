"""The object sensors' cursor: every case that breaks key-ordered or newest-day cursors, and a
property test against an obviously correct reference that remembers every object ever seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.ingestion.cursor import (
    LOOKBACK,
    Cursor,
    DayCursor,
    days_to_request,
    new_objects,
    scan,
)
from fsdl_data.core.storage.objects import Listed, listing_digest

T0 = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def obj(key: str, etag: str = "e", minutes: float = 0) -> Listed:
    return Listed(key, etag, T0 + timedelta(minutes=minutes))


def test_first_listing_is_all_new_and_a_second_is_nothing() -> None:
    listing = [obj("a"), obj("b", minutes=1)]
    new, cursor = new_objects(DayCursor(), listing)
    assert new == listing
    assert new_objects(cursor, listing)[0] == []


def test_equal_timestamps_with_keys_before_and_after_the_cursor_are_all_caught() -> None:
    _, cursor = new_objects(DayCursor(), [obj("m")])
    later = [obj("m"), obj("a"), obj("z")]  # same LastModified as the one seen
    assert [o.key for o in new_objects(cursor, later)[0]] == ["a", "z"]


def test_a_re_modified_key_is_new_again_and_does_not_hide_newer_ones() -> None:
    _, cursor = new_objects(DayCursor(), [obj("a"), obj("b", minutes=1)])
    again = [obj("a", etag="e2", minutes=2), obj("b", minutes=1), obj("c", minutes=1.5)]
    assert [o.key for o in new_objects(cursor, again)[0]] == ["a", "c"]


def test_deletions_neither_block_nor_trigger() -> None:
    _, cursor = new_objects(DayCursor(), [obj("a"), obj("b", minutes=1)])
    new, cursor = new_objects(cursor, [obj("b", minutes=1)])  # a deleted
    assert new == []
    assert [o.key for o in new_objects(cursor, [obj("b", minutes=1), obj("c", minutes=2)])[0]] == [
        "c"
    ]


def test_an_object_with_a_clock_behind_inside_the_window_is_caught() -> None:
    _, cursor = new_objects(DayCursor(), [obj("a", minutes=60)])
    late = obj("b", minutes=60 - LOOKBACK.total_seconds() / 60 + 1)
    assert new_objects(cursor, [obj("a", minutes=60), late])[0] == [late]


class Ingests:
    """What a day's latest ingest recorded: the digest of the objects it read."""

    def __init__(self) -> None:
        self.digests: dict[str, str] = {}

    def run(self, requests: list, found) -> list[str]:
        for r in requests:
            self.digests[r.day] = listing_digest(found.listings[r.day])
        return [r.day for r in requests]


def test_late_and_out_of_order_markers_each_request_their_day() -> None:
    ingests = Ingests()
    listings = {"2026-01-01": [obj("events/date=2026-01-01/p0.jsonl.gz")], "2026-01-02": []}
    first = scan(list(listings), Cursor(), lambda d: listings[d])
    assert days_to_request(first, ingests.digests.get, "_SUCCESS") == []  # no marker yet
    listings["2026-01-02"] = [obj("events/date=2026-01-02/_SUCCESS", minutes=5)]
    second = scan(list(listings), first.cursor, lambda d: listings[d])
    assert ingests.run(days_to_request(second, ingests.digests.get, "_SUCCESS"), second) == [
        "2026-01-02"
    ]
    listings["2026-01-01"].append(obj("events/date=2026-01-01/_SUCCESS", minutes=9))  # after
    third = scan(list(listings), second.cursor, lambda d: listings[d])
    assert ingests.run(days_to_request(third, ingests.digests.get, "_SUCCESS"), third) == [
        "2026-01-01"
    ]  # not skipped
    fourth = scan(list(listings), third.cursor, lambda d: listings[d])
    assert days_to_request(fourth, ingests.digests.get, "_SUCCESS") == []


def test_objects_added_to_a_day_already_ingested_request_it_once() -> None:
    ingests = Ingests()
    listings = {"2026-01-01": [obj("photos/date=2026-01-01/1.jpg")]}
    first = scan(list(listings), Cursor(), lambda d: listings[d])
    assert ingests.run(days_to_request(first, ingests.digests.get), first) == ["2026-01-01"]
    listings["2026-01-01"].append(obj("photos/date=2026-01-01/2.jpg", minutes=30))
    second = scan(list(listings), first.cursor, lambda d: listings[d])
    assert [o.key for o in second.new["2026-01-01"]] == ["photos/date=2026-01-01/2.jpg"]
    (request,) = days_to_request(second, ingests.digests.get)
    assert (request.day, request.new_objects) == ("2026-01-01", 1)
    ingests.run([request], second)
    third = scan(list(listings), second.cursor, lambda d: listings[d])
    assert third.new == {} and days_to_request(third, ingests.digests.get) == []


def test_a_first_tick_on_an_ingested_bucket_requests_nothing_but_changed_days() -> None:
    listings = {d: [obj(f"photos/date={d}/1.jpg")] for d in ("2026-01-01", "2026-01-02")}
    ingests = Ingests()
    ingests.digests = {d: listing_digest(v) for d, v in listings.items()}
    listings["2026-01-02"] = []  # its object was deleted: an empty folder is not requested
    listings["2026-01-03"] = [obj("photos/date=2026-01-03/1.jpg")]
    first = scan(list(listings), Cursor(), lambda d: listings[d])
    assert [r.day for r in days_to_request(first, ingests.digests.get)] == ["2026-01-03"]


def test_work_per_tick_is_bounded_and_the_sweep_reaches_every_day() -> None:
    days = [f"2026-01-{d:02d}" for d in range(1, 31)]
    listings = {d: [obj(f"photos/date={d}/{i}.jpg") for i in range(100)] for d in days}
    cursor = scan(days, Cursor(), lambda d: listings[d]).cursor  # first tick: all unknown
    listings["2026-01-05"].append(obj("photos/date=2026-01-05/late.jpg", minutes=1))
    found, ticks = {}, 0
    while "2026-01-05" not in found:
        tick = scan(days, cursor, lambda d: listings[d], hot_days=3, max_keys=500)
        assert tick.listed_keys <= 3 * 100 + 500 + 100  # hot days + budget + one day
        found, cursor, ticks = tick.new, tick.cursor, ticks + 1
    assert ticks <= 6  # 27 older days, 5 per tick
    assert [o.key for o in found["2026-01-05"]] == ["photos/date=2026-01-05/late.jpg"]


def test_cursor_round_trips_and_old_or_broken_cursors_start_afresh() -> None:
    listings = {"2026-01-01": [obj("x"), obj("y", minutes=2)]}
    cursor = scan(list(listings), Cursor(), lambda d: listings[d]).cursor
    assert Cursor.from_json(cursor.to_json()) == cursor
    for old in (None, "", "2026-01-03", "{not json", '{"version": 99}'):
        assert Cursor.from_json(old) == Cursor()


# --- property: never skip, never repeat ----------------------------------------------------
operation = st.tuples(
    st.sampled_from(["put", "put", "delete", "tick"]),
    st.integers(0, 3),  # day
    st.integers(0, 4),  # key
    st.integers(0, 10),  # how far behind the clock the object's LastModified is, in minutes
)


@settings(max_examples=150, deadline=None)
@given(operations=st.lists(operation, max_size=60), max_keys=st.integers(1, 12))
def test_every_object_is_reported_exactly_once_against_a_reference(operations, max_keys) -> None:
    """The reference remembers every (key, token) it ever reported; ours keeps a window. With
    clocks behind by less than the look-back window, both report the same objects, each once,
    whatever the order of puts, deletions, equal timestamps and partial sweeps."""
    days = [f"2026-01-0{d + 1}" for d in range(4)]
    state: dict[str, dict[str, Listed]] = {d: {} for d in days}
    cursor, reported, now, version = Cursor(), [], T0, 0

    def tick() -> None:
        nonlocal cursor
        result = scan(days, cursor, lambda d: sorted(state[d].values(), key=lambda o: o.key),
                      hot_days=1, max_keys=max_keys)  # fmt: skip
        cursor = result.cursor
        reported.extend((o.key, o.token) for found in result.new.values() for o in found)

    for kind, day, key, behind in operations:
        now += timedelta(minutes=1)
        name = f"photos/date={days[day]}/{key}.jpg"
        if kind == "put":
            version += 1
            state[days[day]][name] = Listed(name, f"v{version}", now - timedelta(minutes=behind))
        elif kind == "delete":
            state[days[day]].pop(name, None)
        else:
            tick()
    for _ in range(len(days) * 6):  # let the sweep go round
        tick()
    assert len(reported) == len(set(reported))  # never twice
    final = {(o.key, o.token) for objects in state.values() for o in objects.values()}
    assert final <= set(reported)  # never skipped


def test_new_objects_component_sensor_lists_a_bounded_number_of_keys(tmp_path) -> None:
    """The NewObjectsSensor component's tick uses the object sensors' bounded scan: once every
    folder is known, a tick lists the newest folders and a sweep of at most `max_keys` keys,
    not the whole prefix; a change anywhere is still found within one sweep."""
    from fsdl_data.components.sensors import tick
    from fsdl_data.core.storage.backends.local import LocalObjectStore

    store = LocalObjectStore(tmp_path)
    for day in range(10):
        for i in range(5):
            store.put(f"p/d{day}/{i}", b"x")
    listed: list[str] = []
    real_list = store.list

    def counting_list(prefix: str = "", start_after: str | None = None):
        for o in real_list(prefix, start_after):
            listed.append(o.key)
            yield o

    store.list = counting_list  # type: ignore[method-assign]
    state, cursor = tick(store, "p/", None, hot_folders=1, max_keys=5)
    assert state is not None and len(listed) == 50  # a first tick lists every folder
    listed.clear()
    again, cursor = tick(store, "p/", cursor, hot_folders=1, max_keys=5)
    assert again is None and len(listed) == 10  # the newest folder, and one swept
    store.put("p/d3/late", b"y")
    found = None
    for _ in range(9):
        listed.clear()
        found, cursor = tick(store, "p/", cursor, hot_folders=1, max_keys=5)
        assert len(listed) <= 11
        if found:
            break
    assert found is not None and found != state
    assert tick(store, "p/", cursor, hot_folders=1, max_keys=5)[0] is None  # ran once
