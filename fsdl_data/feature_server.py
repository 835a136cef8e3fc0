"""The feature server: `fsdl-data features serve` (Starlette on uvicorn, one worker).

POST /get-online-features answers in Feast's request and response shapes
(core.features.serving), plus each value's known-at; GET /health answers 200 once the online
store has answered. Every answered request goes to the served log (core.features.served) unless
logging is off: its request and response bytes, appended to a bounded buffer that another
process writes to the lake, so the request path never decodes, encodes or writes for the log.
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
        raw = await request.body()
        try:
            parsed = parse_request(_loads(raw))
        except (BadRequest, ValueError) as error:
            return _json({"error": str(error)}, 400)
        now = datetime.now(UTC)
        answer = _dumps(get_online_features(store, parsed, now))
        if log is not None:
            log.append(parsed.at or now, raw, answer)
        return Response(answer, media_type="application/json")

    async def health(_: Request) -> Response:
        state: dict[str, Any] = {"status": "ok" if ready["ok"] else "starting"}
        if log is not None:
            state["served_log"] = {"dropped_requests": log.dropped, "buffered_bytes": log.pending}
        return _json(state, 200 if ready["ok"] else 503)

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
