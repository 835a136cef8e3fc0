"""Feature server latency and throughput: `fsdl-data features serve` on each online-store
backend (SQLite, Postgres, Redis), with and without the served log, beside Feast's own feature
server on the same features and the same client in the same run (when a Feast virtualenv is
given; `pip install feast` into a separate one, never the project's).

The client is asyncio over raw keep-alive HTTP/1.1 connections (no HTTP library in the way),
in this process; the server is one uvicorn worker in another. Each configuration runs `--runs`
times for `--seconds`, every server in turn within each run; printed: p50 / p99 / p99.9 latency (ms) and requests/s, the median of the
runs with their range. Goals (issue 18.6): p99 <= 2 ms at batch 1, <= 10 ms at batch 50,
>= 2,000 requests/s on 2 cores, client included.

    .venv/bin/python bench/feature_server.py [--backends sqlite,postgres,redis] [--feast VENV]
        [--no-log-variant]

Feast's reference runs from /tmp/feast-venv when it exists, or the virtualenv --feast names;
the served log's cost (issue 18.7, <= +10% p99) is printed with --no-log-variant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fsdl_data.core.features import online  # noqa: E402
from fsdl_data.core.features.definitions import USER_FEATURES  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/11"
FEATURES = [f"user:{name}" for name in USER_FEATURES]
FEAST_SETUP = Path(__file__).with_name("feature_server_feast_setup.py")
FEAST_VENV = Path("/tmp/feast-venv")  # where docs/features.md says to make Feast's virtualenv


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(url: str, users: int) -> None:
    """`users` users' features, fresh (as of two hours ago) so the server serves them."""
    as_of = datetime.now(UTC) - timedelta(hours=2)
    table = pl.DataFrame(
        {"user_id": list(range(users)), "as_of": [as_of] * users, "known_at": [as_of] * users,
         **{name: [i % 97 for i in range(users)] for name in USER_FEATURES}},
        schema_overrides={"as_of": pl.Datetime("us", "UTC"), "known_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    store = online.open_online_store(url)
    try:
        store.clear() if url.startswith("redis") else None
        online.upsert(store, online.online_rows(table, "user"))
    finally:
        store.close()


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the server never became healthy")


async def client(port: int, batch: int, users: int, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while time.perf_counter() < until:
            body = json.dumps(
                {"features": FEATURES, "entities": {"user_id": rng.sample(range(users), batch)}}
            ).encode()
            head = (f"POST /get-online-features HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
            start = time.perf_counter()
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if b" 200 " not in status_line:
                raise RuntimeError(f"server answered {status_line!r}")
    finally:
        writer.close()


def measure(port: int, batch: int, users: int, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *[client(port, batch, users, until, latencies) for _ in range(clients)]
        )

    asyncio.run(main())
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": pct(0.5), "p99": pct(0.99), "p99.9": pct(0.999), "rps": len(ordered) / seconds}


def summary(runs: list[dict[str, float]]) -> str:
    parts = []
    for metric, fmt in (("p50", ".2f"), ("p99", ".2f"), ("p99.9", ".2f"), ("rps", ".0f")):
        values = [r[metric] for r in runs]
        parts.append(
            f"{metric} {statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"
        )
    return "  ".join(parts)


def start_ours(url: str, log: bool, home: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSDL_")}
    env |= {"FSDL_HOME": str(home), "FSDL_ONLINE_STORE_URL": url, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "fsdl_data.cli", "features", "serve", "--port", str(port)]
    process = subprocess.Popen(args + ([] if log else ["--no-log"]), env=env, cwd=home,
                               stdout=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    wait_healthy(port, process)
    return process, port


def start_feast(venv: Path, users: int, work: Path) -> tuple[subprocess.Popen, int]:
    repo = work / "feast_repo"
    subprocess.run([str(venv / "bin" / "python"), str(FEAST_SETUP), str(repo), str(users)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [str(venv / "bin" / "feast"), "serve", "-h", "127.0.0.1", "-p", str(port),
         "--no-access-log", "-w", "1", "--max-requests", "100000000"],  # no worker restarts
        cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_healthy(port, process)
    return process, port


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def postgres_url() -> tuple[str, str]:
    import psycopg2

    name = f"fsdl_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def bench(servers: dict[str, int], args: argparse.Namespace) -> None:
    """Every server, run by run in turn (so a change in the machine's load falls on all of
    them alike, not on whichever happened to run then)."""
    for port in servers.values():
        measure(port, 1, args.users, args.clients, 1.0)  # warm up
    costs = []
    for batch in (1, 50):
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in servers}
        for _ in range(args.runs):
            for label, port in servers.items():
                runs[label].append(measure(port, batch, args.users, args.clients, args.seconds))
        for label in servers:
            print(f"{label:28s} batch {batch:3d}: {summary(runs[label])}", flush=True)
        for label in servers:
            bare = label.replace("logged", "no log")
            if "logged" in label and bare in runs:
                logged, unlogged = (
                    statistics.median(r["p99"] for r in runs[x]) for x in (label, bare)
                )
                costs.append(f"{label.split('(')[1].split(',')[0]:8s} batch {batch:3d}: "
                             f"p99 {logged:.2f} ms logged vs {unlogged:.2f} ms without: "
                             f"{(logged / unlogged - 1) * 100:+.0f}%")  # fmt: skip
    if costs:
        print("served-log cost (median p99, logged against no log, same runs; goal <= +10%):")
        print("\n".join(f"  {line}" for line in costs), flush=True)


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres,redis")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--feast",
        type=Path,
        default=FEAST_VENV if (FEAST_VENV / "bin" / "feast").exists() else None,
        help=f"a virtualenv with feast installed (default {FEAST_VENV} when it has one)",
    )
    parser.add_argument(
        "--no-log-variant", action="store_true", help="also measure without the served log"
    )
    args = parser.parse_args()
    print(f"{args.users} users x {len(FEATURES)} features, {args.clients} clients, "
          f"{args.runs} runs x {args.seconds:g} s, servers in turn; median [range] over runs; "
          f"latency in ms; {os.cpu_count()} CPUs (shared); at start {load()}", flush=True)  # fmt: skip
    if args.feast is None:
        print(f"no Feast reference: no virtualenv at {FEAST_VENV} and no --feast VENV", flush=True)
    if not args.no_log_variant:
        print("served-log cost not measured: add --no-log-variant", flush=True)
    processes: list[subprocess.Popen] = []
    servers: dict[str, int] = {}
    databases: list[str] = []
    redis_used = False
    with tempfile.TemporaryDirectory(prefix="fsdl-bench-serve-") as tmp:
        work = Path(tmp)
        try:
            if args.feast:
                process, servers["feast (sqlite)"] = start_feast(args.feast, args.users, work)
                processes.append(process)
            for backend in args.backends.split(","):
                if backend == "sqlite":
                    url = f"sqlite:///{work / 'online.db'}"
                elif backend == "postgres":
                    url, name = postgres_url()
                    databases.append(name)
                else:
                    url, redis_used = REDIS_URL, True
                populate(url, args.users)
                for logged in (True, False) if args.no_log_variant else (True,):
                    home = work / f"{backend}-{'logged' if logged else 'unlogged'}"
                    home.mkdir()
                    process, port = start_ours(url, logged, home)
                    processes.append(process)
                    servers[f"fsdl-data ({backend}, {'logged' if logged else 'no log'})"] = port
            bench(servers, args)
            for label, port in servers.items():
                if "logged" in label:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as answer:
                        log = json.load(answer)["served_log"]
                    print(f"{label}: {log['dropped_requests']} requests dropped from the log")
        finally:
            for process in processes:
                stop(process)
            for name in databases:
                drop_postgres(name)
            if redis_used:
                store = online.open_online_store(REDIS_URL)
                store.clear()
                store.close()
    print(f"at end {load()}", flush=True)


if __name__ == "__main__":
    main()
