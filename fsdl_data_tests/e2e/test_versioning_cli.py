"""Dataset versioning as a user drives it: `snapshot` verbs on a folder, time-travel SQL, lineage
from a model to its sources, rebuilding a snapshot to the same hash, a Hugging Face export."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]


def fsdl(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsdl_data.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Three nights of a small world, materialized through the CLI on a persistent instance."""
    root = tmp_path_factory.mktemp("versioning")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(root / "fsdl")
    (root / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    small = ["--photos-per-day", "120", "--users", "80", "--events-per-day", "3000"]
    assert fsdl(["world", "seed", "--days", "3", *small], root, env).returncode == 0
    r = fsdl(["materialize"], root, env)
    assert r.stdout.count(": ok run") >= 2, (
        r.stdout + r.stderr
    )  # a tiny world's model may fail its gate
    return root, env


def ids(output: str) -> list[str]:
    return re.findall(r"^([0-9a-f]{12}) ", output, flags=re.MULTILINE)


def test_folder_snapshots_status_diff_checkout_verify_gc(tmp_path: Path, world) -> None:
    root, env = world
    folder = tmp_path / "audio"
    for i in range(6):
        (folder / f"part{i % 2}").mkdir(parents=True, exist_ok=True)
        (folder / f"part{i % 2}" / f"{i}.wav").write_bytes(os.urandom(200 + i))
    r = fsdl(["snapshot", "add", str(folder), "--name", "audio"], root, env)
    assert r.returncode == 0 and "6 files" in r.stdout and "6 read" in r.stdout, r.stderr
    first = ids(r.stdout)[0]
    r = fsdl(["snapshot", "status", "audio", str(folder)], root, env)
    assert r.returncode == 0 and "up to date" in r.stdout
    (folder / "part0" / "0.wav").write_bytes(b"new take")
    (folder / "part1" / "9.wav").write_bytes(b"added")
    r = fsdl(["snapshot", "status", "audio", str(folder)], root, env)
    assert "modified  part0/0.wav" in r.stdout and "added     part1/9.wav" in r.stdout
    r = fsdl(["snapshot", "add", str(folder), "--name", "audio"], root, env)
    assert "2 read, 5 unchanged" in r.stdout
    second = ids(r.stdout)[0]
    r = fsdl(["snapshot", "diff", first, second], root, env)
    assert "1 added, 0 removed, 1 changed" in r.stdout
    r = fsdl(["snapshot", "checkout", first, str(tmp_path / "back")], root, env)
    assert r.returncode == 0
    for i in range(6):
        path = Path(f"part{i % 2}") / f"{i}.wav"
        if i != 0:
            assert (tmp_path / "back" / path).read_bytes() == (folder / path).read_bytes()
    assert fsdl(["snapshot", "checkout", first, str(tmp_path / "back")], root, env).returncode == 1
    assert "all blobs intact" in fsdl(["snapshot", "verify"], root, env).stdout
    r = fsdl(["snapshot", "gc", "--keep", "1", "--name", "audio"], root, env)
    assert r.returncode == 0 and "removed 1 snapshots" in r.stdout
    assert fsdl(["snapshot", "verify", second], root, env).returncode == 0
    r = fsdl(["snapshot", "show", first], root, env)
    assert r.returncode == 1 and "no snapshot" in r.stderr and "Traceback" not in r.stderr
    for verb in ("add", "status", "list", "show", "diff", "checkout", "verify", "gc"):
        assert fsdl(["snapshot", verb, "--help"], root, env).returncode == 0


def test_table_snapshots_time_travel_diff_and_export(tmp_path: Path, world) -> None:
    root, env = world
    r = fsdl(["snapshot", "list"], root, env)
    assert r.returncode == 0
    names = {line.split()[1]: line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()}
    assert {"training_set", "labeled_set", "raw_photos"} <= set(names)
    labeled = names["labeled_set"]
    r = fsdl(
        [
            "sql",
            "--snapshot",
            labeled,
            "SELECT source, count(*) AS n FROM labeled_set GROUP BY 1 ORDER BY 1",
        ],
        root,
        env,
    )
    assert r.returncode == 0 and "weak" in r.stdout and "human" in r.stdout, r.stderr
    r = fsdl(["snapshot", "show", names["raw_photos"]], root, env)
    assert "objects" in r.stdout and "key key" in r.stdout
    history = [
        line.split()[0]
        for line in fsdl(
            ["snapshot", "list", "--name", "labeled_set"], root, env
        ).stdout.splitlines()[1:]
    ]
    r = fsdl(["snapshot", "diff", history[0], history[-1]], root, env)
    assert (
        "rows by photo_id" in r.stdout and "added" in r.stdout and "label flips (label)" in r.stdout
    )
    r = fsdl(
        ["export", names["training_set"], str(tmp_path / "hf"), "--license", "cc-by-4.0"], root, env
    )
    assert r.returncode == 0 and (tmp_path / "hf" / "README.md").is_file()
    assert list((tmp_path / "hf" / "data").glob("train-*.parquet"))
    assert (
        "snapshot_part" not in fsdl(["snapshot", "diff", history[0], history[-1]], root, env).stdout
    )
    r = fsdl(["snapshot", "diff", names["labeled_set"], names["training_set"]], root, env)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "same table" in r.stderr
    import datasets

    for name in ("training_set", "labeled_set", "raw_photos"):  # every snapshot kind loads
        out = tmp_path / "kinds" / name
        r = fsdl(["export", name, str(out)], root, env)
        assert r.returncode == 0, r.stderr
        rows = int(re.search(r"([\d,]+) rows", r.stdout).group(1).replace(",", ""))
        assert datasets.load_dataset(str(out), split="train").num_rows == rows
        streamed = datasets.load_dataset(str(out), split="train", streaming=True)
        assert sum(1 for _ in streamed) == rows
    r = fsdl(["export", "latest", str(tmp_path / "hf")], root, env)  # replaces the export above
    assert r.returncode == 0 and f"exported {names['training_set']}" in r.stdout, r.stderr
    r = fsdl(["snapshot", "show", names["raw_photos"], "--objects"], root, env)
    assert r.returncode == 0 and len(r.stdout.splitlines()) > 1


def test_lineage_from_model_to_object_versions_and_rebuild(world) -> None:
    root, env = world
    r = fsdl(["sql", "SELECT version, snapshot_version FROM popularity_model"], root, env)
    version = re.search(r"│ ([0-9a-f]{12}) ", r.stdout).group(1)
    r = fsdl(["lineage", version], root, env)
    assert r.returncode == 0, r.stderr
    for step in ("popularity_model", "training_snapshot", "training_set[", "user_features[",
                 "photo_classifier", "labeled_set[", "label_matrix[", "photo_pixels[", "objects",
                 "photo_metadata[", "watermark", "events[", "raw_events["):  # fmt: skip
        assert step in r.stdout, step
    assert fsdl(["lineage", "nope"], root, env).returncode == 1
    listed = re.search(r"listed by fsdl-data snapshot show ([0-9a-f]{12}) --objects", r.stdout)
    assert listed, r.stdout  # object versions as a raw_photos snapshot recorded them
    objects = fsdl(["snapshot", "show", listed.group(1), "--objects"], root, env).stdout
    assert re.search(r"^photos/\S+\t\d+\t[0-9a-f]{64}\t\S+\t\S+$", objects, re.MULTILINE)
    chain = json.loads(fsdl(["lineage", "latest", "--json"], root, env).stdout)

    def walk(step: dict):
        yield step
        for parent in step["parents"]:
            yield from walk(parent)

    parents: dict[str, set[str]] = {}  # each classifier version -> its parents' assets
    for step in walk(chain):
        if step["asset"] == "photo_classifier":
            parents.setdefault(step["data_versions"][0], set()).update(
                p["asset"] for p in step["parents"]
            )
    assert len(parents) >= 2 and all("labeled_set" in p for p in parents.values()), parents
    r = fsdl(["lineage", "training_set"], root, env)  # a snapshot, by name
    assert (
        r.returncode == 0
        and r.stdout.startswith("training_snapshot")
        and "training_set[" in r.stdout
    )
    snapshot = json.loads(
        (root / "fsdl" / "lake" / "models" / "popularity_model" / f"{version}.json").read_text()
    )["snapshot"]
    r = fsdl(["rebuild", snapshot[:12]], root, env)
    assert r.returncode == 0 and "== identical to" in r.stdout, r.stdout + r.stderr
    assert " - DEBUG - " not in r.stderr, r.stderr[-2000:]  # a line per partition, as materialize
    history = fsdl(["snapshot", "list", "--name", "training_set"], root, env).stdout.splitlines()
    oldest = history[1].split()[0]  # taken nights before the newest: its partitions only
    r = fsdl(["rebuild", oldest], root, env)
    assert r.returncode == 0 and f"== identical to {oldest}" in r.stdout, r.stdout + r.stderr
    photos = fsdl(["snapshot", "list", "--name", "raw_photos"], root, env).stdout.splitlines()
    first = photos[1].split()[0]  # raw_photos is made in one step with photo_pixels
    r = fsdl(["rebuild", first], root, env)
    assert r.returncode == 0 and f"== identical to {first}" in r.stdout, r.stdout + r.stderr


def test_every_mistake_is_one_line(tmp_path: Path, s3_env: str, s3_bucket: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(tmp_path / "fsdl")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3000):  # `show --objects` prints more than a pipe holds
        (folder / f"{i:04d}.jpg").write_bytes(b"%d" % i)
    os.mkfifo(folder / "pipe")

    def one_line(r: subprocess.CompletedProcess, *words: str) -> None:
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert all(w in lines[0] for w in words), lines[0]

    r = fsdl(["snapshot", "add", str(folder), "--name", "photos"], tmp_path, env)
    assert r.returncode == 0 and "3000 files" in r.stdout, r.stderr
    assert "skipped pipe: a FIFO" in r.stderr
    one_line(fsdl(["snapshot", "add", str(folder), "--name", "training_set"], tmp_path, env),
             "reserved")  # fmt: skip
    (tmp_path / "a-file").write_text("x")
    one_line(fsdl(["snapshot", "checkout", "photos", str(tmp_path / "a-file")], tmp_path, env),
             "is a file")  # fmt: skip
    missing = tmp_path / "no-such-folder"
    one_line(fsdl(["snapshot", "add", f"file://{missing}", "--name", "s"], tmp_path, env),
             "is not a folder")  # fmt: skip
    assert not missing.exists()  # refused, not created empty
    one_line(fsdl(["snapshot", "add", f"s3://nobucket-{s3_bucket}/x", "--name", "s"], tmp_path, env),
             "NoSuchBucket")  # fmt: skip
    away = {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    one_line(fsdl(["snapshot", "add", f"s3://{s3_bucket}/x", "--name", "s"], tmp_path, away),
             "cannot reach the object store")  # fmt: skip
    shown = subprocess.Popen([sys.executable, "-m", "fsdl_data.cli", "snapshot", "show", "photos",
                              "--objects"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)  # fmt: skip
    assert shown.stdout.readline().startswith(b"path")
    shown.stdout.close()  # `| head -1`
    assert shown.wait(60) != 1 and b"Traceback" not in shown.stderr.read()
    r = fsdl(["snapshot", "show", "photos", "--objects"], tmp_path, env)
    assert len(r.stdout.splitlines()) == 3001 and "0042.jpg\t2\t" in r.stdout


def test_forget_a_user_across_the_graph(world) -> None:
    """Last in this module: it erases a user from the shared world."""
    root, env = world
    home = root / "fsdl"
    training = pl.concat([pl.read_parquet(p) for p in
                          (home / "lake" / "tables" / "training_set").glob("*/data.parquet")])  # fmt: skip
    user = training["user_id"].value_counts(sort=True)["user_id"][0]
    card = next((home / "lake" / "models" / "popularity_model").glob("*.json"))
    model, recorded = card.stem, json.loads(card.read_text())["snapshot"]
    assert fsdl(["forget", "--verify", f"user:{user}"], root, env).returncode == 2
    r = fsdl(["forget", f"user:{user}"], root, env)
    assert r.returncode == 0 and "snapshots rewritten" in r.stdout, r.stdout + r.stderr
    r = fsdl(["forget", "--verify", f"user:{user}"], root, env)
    assert r.returncode == 0 and f"user:{user}: 0 occurrences" in r.stdout, r.stdout
    assert fsdl(["snapshot", "verify"], root, env).returncode == 0
    r = fsdl(["lineage", model], root, env)  # the model's recorded snapshot id still resolves
    assert r.returncode == 0 and "erased erasure" in r.stdout and ", now " in r.stdout, r.stdout
    r = fsdl(["rebuild", recorded[:12]], root, env)  # the erased snapshot's hash, reproduced
    assert r.returncode == 0 and "== identical to" in r.stdout, r.stdout + r.stderr
