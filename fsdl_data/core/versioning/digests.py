"""Hashes of bytes and of JSON, with the standard library alone (fast to import: the CLI's
`snapshot status` must start in a fraction of a second)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The same object always gives the same bytes: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
