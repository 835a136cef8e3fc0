"""Object-store backends by URL scheme: a new backend (GCS, Azure, ...) is one module here
implementing `ObjectStore` (fsdl_data.core.storage.objects) plus one line in BACKENDS. Modules
are imported when their scheme is first opened, so the local path never imports boto3."""

from __future__ import annotations

import importlib
from typing import Any

BACKENDS = {
    "file": "fsdl_data.core.storage.backends.local:LocalObjectStore",
    "s3": "fsdl_data.core.storage.backends.s3:S3ObjectStore",
}


def backend_for(scheme: str) -> Any:
    """The backend class registered for `scheme`."""
    try:
        module, name = BACKENDS[scheme].split(":")
    except KeyError:
        raise ValueError(
            f"no object-store backend for {scheme}://: use one of "
            + ", ".join(f"{s}://" for s in BACKENDS)
        ) from None
    return getattr(importlib.import_module(module), name)
