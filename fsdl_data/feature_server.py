"""The feature server: `fsdl-data features serve` (a bare ASGI app on uvicorn, one worker).

POST /get-online-features answers in Feast's request and response shapes
(core.features.serving), plus each value's known-at; GET /health answers 200 once the online
store has answered. Every answered request goes to the served log (core.features.served) unless
logging is off: its served columns, encoded once (orjson) and appended to a bounded buffer that
another process writes to the lake, so the request path never decodes or writes for the log.
A request without "at" is served as of `read_moment` (core.features.online), the rule `features
get` follows: now, or in a generated world, its latest time; the world's last day is read at
start and again every WORLD_REFRESH_S seconds off the request path (`world append` may add one).

The app is plain ASGI rather than a framework: two routes need no router, and the request path
is then only the body read, one parse, one store read per entity kind and one encode (a
framework's request objects and middleware cost more than the store read at batch 1). uvicorn
runs it on uvloop and httptools when they are installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from fsdl_data.core.features.online import OnlineStore
from fsdl_data.core.features.served import ServedLog
from fsdl_data.core.features.serving import (
    REQUEST_SHAPE,
    BadRequest,
    RawJson,
    answer,
    decoded,
    feature_catalog,
    parse_request,
    response,
)

WORLD_REFRESH_S = 30.0
_log = logging.getLogger("uvicorn.error")  # shown at the server's log level (warning)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

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


async def _answer(send: Send, body: bytes, status: int = 200) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await receive()
        body += message.get("body", b"")
    return body


class FeatureServer:
    """The ASGI app: lifespan (the store answers, the served log starts; on shutdown the log
    drains and the store closes), POST /get-online-features and GET /health."""

    def __init__(self, store: OnlineStore, log: ServedLog | None = None,
                 world_day: Callable[[], str | None] | None = None) -> None:  # fmt: skip
        self.store, self.log = store, log
        self.catalog = feature_catalog()  # built once: no feature metadata per request
        self.ready = False
        self._world_day = world_day  # where the world's last day is read from (None: no world)
        self.world_day: str | None = None  # the last day read
        self.world_error: str | None = None  # why the last re-read failed, while it fails
        self._watch: asyncio.Task | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = (scope["method"], scope["path"])
            if route == ("POST", "/get-online-features"):
                await self.get_online_features(receive, send)
            elif route == ("GET", "/health"):
                await self.health(send)
            else:
                known = scope["path"] in ("/get-online-features", "/health")
                await _answer(send, _dumps({"error": f"no route {route[0]} {route[1]}: POST "
                              "/get-online-features or GET /health"}), 405 if known else 404)  # fmt: skip
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def get_online_features(self, receive: Receive, send: Send) -> None:
        raw = await _body(receive)
        try:
            body = _loads(raw)
        except ValueError as error:  # orjson's and json's decode errors are ValueErrors
            message = f"the body is not JSON ({error}): send {REQUEST_SHAPE}"
            await _answer(send, _dumps({"error": message}), 400)
            return
        try:
            parsed = parse_request(body, self.catalog)
        except (BadRequest, ValueError) as error:
            await _answer(send, _dumps({"error": str(error)}), 400)
            return
        served = answer(self.store, parsed, datetime.now(UTC), self.world_day)
        body_out = _dumps(response(served))
        if self.log is not None:
            self.log.append(served)
        await _answer(send, body_out)

    async def health(self, send: Send) -> None:
        state: dict[str, Any] = {"status": "ok" if self.ready else "starting"}
        if self.world_error is not None:
            state["world_read_error"] = self.world_error
        if self.log is not None:
            state["served_log"] = {"dropped_requests": self.log.dropped,
                                   "buffered_bytes": self.log.pending}  # fmt: skip
        await _answer(send, _dumps(state), 200 if self.ready else 503)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.store.records("user", ["0"], None)  # the store answers (table exists)
                    if self._world_day is not None:
                        self.world_day = self._world_day()
                    if self.log is not None:
                        self.log.start()
                except Exception as error:  # reported to uvicorn, which exits saying why
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                if self._world_day is not None:
                    self._watch = asyncio.create_task(self._watch_world())
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                if self._watch is not None:
                    self._watch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._watch
                if self.log is not None:
                    self.log.close()
                self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _watch_world(self) -> None:
        """Re-reads the world's last day every WORLD_REFRESH_S seconds, in a thread. A failed
        read keeps the last day; it is said once in the server's log (and then once when a read
        works again) and shown by /health while it lasts, so a stale world is never silent."""
        assert self._world_day is not None
        while True:
            await asyncio.sleep(WORLD_REFRESH_S)
            try:
                self.world_day = await asyncio.to_thread(self._world_day)
            except Exception as error:
                if self.world_error is None:
                    _log.warning("cannot re-read the world's last day (%s); serving as of %s "
                                 "until a read works", error, self.world_day)  # fmt: skip
                self.world_error = f"{type(error).__name__}: {error}"
                continue
            if self.world_error is not None:
                _log.warning("the world's last day reads again: %s", self.world_day)
                self.world_error = None


def build_app(store: OnlineStore, log: ServedLog | None = None,
              world_day: Callable[[], str | None] | None = None) -> FeatureServer:  # fmt: skip
    return FeatureServer(store, log, world_day)


def run(store: OnlineStore, log: ServedLog | None, host: str, port: int,
        world_day: Callable[[], str | None] | None = None) -> None:  # fmt: skip
    import uvicorn

    uvicorn.run(build_app(store, log, world_day), host=host, port=port, log_level="warning",
                access_log=False, loop="auto", http="auto", lifespan="on")  # fmt: skip
