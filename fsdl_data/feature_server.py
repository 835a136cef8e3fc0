"""The feature server: `fsdl-data features serve` (Starlette on uvicorn, one worker).

POST /get-online-features answers in Feast's request and response shapes
(core.features.serving), plus each value's known-at; GET /health answers 200 once the online
store has answered. Every served value goes to the served log (core.features.served) unless
logging is off; the log is written in the background, so the request path never waits on it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fsdl_data.core.features.online import OnlineStore
from fsdl_data.core.features.served import ServedLog
from fsdl_data.core.features.serving import (
    BadRequest,
    RawJson,
    decoded,
    get_online_features,
    parse_request,
)

try:  # a faster JSON codec when installed (fsdl_data[serving])
    import orjson

    def _raw(value: Any) -> Any:
        if isinstance(value, RawJson):  # stored JSON goes out as it is
            return orjson.Fragment(str.__str__(value))
        raise TypeError(type(value))

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, default=_raw, option=orjson.OPT_PASSTHROUGH_SUBCLASS)

    _loads = orjson.loads
except ImportError:  # pragma: no cover

    def _dumps(obj: Any) -> bytes:
        return json.dumps(decoded(obj) if "results" in obj else obj, separators=(",", ":")).encode()

    _loads = json.loads


def _json(obj: Any, status: int = 200) -> Response:
    return Response(_dumps(obj), status_code=status, media_type="application/json")


def build_app(store: OnlineStore, log: ServedLog | None = None) -> Starlette:
    ready = {"ok": False}

    async def get_online(request: Request) -> Response:
        try:
            parsed = parse_request(_loads(await request.body()))
        except (BadRequest, ValueError) as error:
            return _json({"error": str(error)}, 400)
        body, served = get_online_features(store, parsed, datetime.now(UTC))
        if log is not None:
            log.append(served)
        return _json(body)

    async def health(_: Request) -> Response:
        return _json({"status": "ok"} if ready["ok"] else {"status": "starting"},
                     200 if ready["ok"] else 503)  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        store.records("user", ["0"], None)  # the store answers (and its table exists)
        if log is not None:
            log.start()
        ready["ok"] = True
        try:
            yield
        finally:
            ready["ok"] = False
            if log is not None:
                log.close()
            store.close()

    return Starlette(
        routes=[
            Route("/get-online-features", get_online, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def run(store: OnlineStore, log: ServedLog | None, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(store, log), host=host, port=port, log_level="warning",
                access_log=False, loop="auto", http="auto")  # fmt: skip
