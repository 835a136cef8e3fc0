"""Injected defects are what the log says they are: each kind recorded against the line or
object it touched, and the damage is the damage named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fsdl_data.core.world.activity import DAY_MS
from fsdl_data.core.world.defects import DefectLog, corrupt_images, corrupt_log_lines


def lines_for(rng: np.random.Generator, n: int, start_ms: int) -> list[bytes]:
    return [
        json.dumps({"event_id": f"e{i}", "event_type": str(rng.choice(["view", "like", "post"])),
                    "user_id": int(rng.integers(1, 50)), "photo_id": int(rng.integers(1, 99)),
                    "ts": start_ms + int(rng.integers(0, DAY_MS)), "client": "ios"}, separators=(",", ":")).encode()  # as clients write
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_log_defect_is_recorded_and_is_what_it_says(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = 1_767_225_600_000 + int(rng.integers(0, 100)) * DAY_MS
    lines = lines_for(rng, int(rng.integers(50, 3000)), start)
    log = DefectLog()
    out = corrupt_log_lines(rng, lines, start, log)
    by_id = {json.loads(line)["event_id"]: json.loads(line) for line in lines}
    assert len(out) == len(lines) + len(log.items["duplicate_event"]) + len(
        log.items["conflicting_duplicate"]
    )
    assert len(log.items) == 8  # every kind at least once
    tail = out[len(lines) :]
    for ref in log.items["malformed_json"]:
        line = next(o for o in out[: len(lines)] if f'"{ref}"'.encode() in o and o not in lines)
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)

    def parsed(ref: str) -> dict:
        index = next(i for i, line in enumerate(lines) if json.loads(line)["event_id"] == ref)
        return json.loads(out[index])

    for ref in log.items["wrong_type"]:
        assert isinstance(parsed(ref)["user_id"], str)
    for ref in log.items["missing_field"]:
        assert "event_type" not in parsed(ref)
    for ref in log.items["too_late"]:
        assert parsed(ref)["ts"] == start - 10 * DAY_MS
    for ref in log.items["future_event"]:
        assert parsed(ref)["ts"] == start + 3 * DAY_MS
    for ref in log.items["non_utf8"]:
        index = next(i for i, line in enumerate(lines) if f'"{ref}"'.encode() in line)
        with pytest.raises(UnicodeDecodeError):
            out[index].decode("utf-8")
    copies = [json.loads(t) for t in tail]
    for ref in log.items["duplicate_event"]:
        assert by_id[ref] in copies
    for ref in log.items["conflicting_duplicate"]:
        (twin,) = [c for c in copies if c["event_id"] == ref and c != by_id[ref]]
        assert twin["event_type"] != by_id[ref]["event_type"]
    assert json.loads(log.to_json()) == log.items


@pytest.mark.parametrize("seed", [0, 1])
def test_images_are_truncated_or_emptied_as_recorded(seed: int) -> None:
    rng = np.random.default_rng(seed)
    blobs = {f"photos/{i}.jpg": bytes(rng.integers(0, 255, int(rng.integers(30, 300)), dtype=np.uint8))
             for i in range(int(rng.integers(2, 400)))}  # fmt: skip
    before = dict(blobs)
    log = DefectLog()
    corrupt_images(rng, blobs, log)
    touched = set(log.items.get("corrupt_image", [])) | set(log.items.get("zero_byte_image", []))
    assert len(touched) >= 2
    for key in log.items.get("corrupt_image", []):
        assert blobs[key] == before[key][: len(before[key]) // 3]
    for key in log.items.get("zero_byte_image", []):
        assert blobs[key] == b""
    assert all(blobs[k] == before[k] for k in before if k not in touched)
