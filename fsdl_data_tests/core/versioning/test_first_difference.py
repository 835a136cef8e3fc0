"""What `fsdl-data rebuild` names as the first difference: a changed code version before the
bytes it changed (after a label-model change it said only 'now has other bytes')."""

from __future__ import annotations

import random

from fsdl_data.core.versioning.manifests import FileEntry, Manifest
from fsdl_data.core.versioning.snapshots import first_difference


def _manifest(files: list[FileEntry], code: dict[str, str]) -> Manifest:
    return Manifest(name="labeled_set", kind="table", files=tuple(files), code=code)


def test_a_code_change_is_named_before_the_bytes() -> None:
    for seed in range(20):
        chance = random.Random(seed)
        files = [FileEntry(f"date=2026-01-{d:02d}/data.parquet", f"{chance.getrandbits(64):x}",
                           chance.randrange(1, 10**6)) for d in range(1, chance.randrange(2, 9))]  # fmt: skip
        touched = set(chance.sample(range(len(files)), chance.randrange(1, len(files) + 1)))
        rebuilt = [f._replace(sha256="0" + f.sha256) if i in touched else f
                   for i, f in enumerate(files)]  # fmt: skip
        asset = chance.choice(["weak_labels", "labeled_set", "training_set"])
        said = first_difference(_manifest(files, {asset: "aaaa"}),
                                _manifest(rebuilt, {asset: "bbbb"}))  # fmt: skip
        assert said == (f"code {asset}: bbbb (recorded aaaa); "
                        f"{len(touched)} of {len(files)} files have other bytes"), said  # fmt: skip
        same_code = first_difference(_manifest(files, {asset: "aaaa"}),
                                     _manifest(rebuilt, {asset: "aaaa"}))  # fmt: skip
        first = files[min(touched)].path  # paths sort by day
        assert same_code.startswith(f"{first} now has other bytes"), same_code
