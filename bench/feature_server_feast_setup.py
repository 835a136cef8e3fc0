"""Run by bench/feature_server.py with a Feast virtualenv's python (never the project's): a
Feast repo (SQLite online store) holding the same user features the fsdl-data server is
measured on, so both servers answer the same requests."""

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.types import Int64

NAMES = ("logins_1d", "views_7d", "likes_7d", "posts_1d")


def main(repo: Path, users: int) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        f"project: bench\nregistry: {repo}/registry.db\nprovider: local\nonline_store:\n"
        f"  type: sqlite\n  path: {repo}/online.db\nentity_key_serialization_version: 3\n"
    )
    as_of = datetime.now(UTC) - timedelta(hours=2)
    frame = pd.DataFrame(
        {"user_id": list(range(users)), "as_of": [as_of] * users,
         **{name: [i % 97 for i in range(users)] for name in NAMES}}
    )  # fmt: skip
    path = repo / "user.parquet"
    frame.to_parquet(path)
    user = Entity(name="user", join_keys=["user_id"])
    view = FeatureView(
        name="user", entities=[user], ttl=timedelta(days=3650),
        schema=[Field(name=name, dtype=Int64) for name in NAMES],
        source=FileSource(path=str(path), timestamp_field="as_of"), online=True,
    )  # fmt: skip
    store = FeatureStore(repo_path=str(repo))
    store.apply([user, view])
    store.write_to_online_store("user", frame)


if __name__ == "__main__":
    os.environ.setdefault("FEAST_USAGE", "False")
    main(Path(sys.argv[1]), int(sys.argv[2]))
