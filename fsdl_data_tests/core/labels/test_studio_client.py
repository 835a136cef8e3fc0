"""The Label Studio client against a stand-in server on loopback that answers as Label Studio's
API does: which token goes in which header, that a personal token is exchanged once, that task
listings are paged to the end, that a refused call is one line naming the call, and that a
project is opened with its local-files storage before its tasks."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from fsdl_data.core.labels.studio_client import LabelStudio, LabelStudioError, open_project

PERSONAL = "header.payload.signature"  # a JWT's shape: a personal access token


class StandIn:
    """What the server saw, and the tasks it holds."""

    def __init__(self, tasks: int, paged_as_dict: bool) -> None:
        self.calls: list[tuple[str, str, str | None, Any]] = []  # method, path, auth, body
        self.tasks = [{"id": i} for i in range(tasks)]
        self.paged_as_dict = paged_as_dict


def handler_for(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            url = urlparse(self.path)
            state.calls.append((self.command, url.path, self.headers.get("Authorization"), body))
            if url.path == "/api/token/refresh/":
                return self._answer(200, {"access": f"access-for-{body['refresh']}"})
            if url.path == "/api/projects/" and body.get("title") == "refused":
                return self._answer(400, {"detail": "title taken"})
            if url.path == "/api/projects/":
                return self._answer(201, {"id": 7})
            if url.path == "/api/storages/localfiles/":
                return self._answer(201, {"id": 3})
            if url.path.endswith("/import"):
                return self._answer(201, {"task_count": len(body)})
            if url.path == "/api/tasks/":
                query = parse_qs(url.query)
                page, size = int(query["page"][0]), int(query["page_size"][0])
                batch = state.tasks[(page - 1) * size : page * size]
                return self._answer(200, {"tasks": batch} if state.paged_as_dict else batch)
            return self._answer(404, {"detail": "no such call"})

        do_GET = do_POST = do_PATCH = _handle

    return Handler


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, StandIn]]:
    tasks, as_dict = getattr(request, "param", (0, False))
    state = StandIn(tasks, as_dict)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def test_a_legacy_token_goes_as_is_and_a_personal_one_is_exchanged_once(served) -> None:
    url, state = served
    legacy = LabelStudio(url, "abc123")
    assert not legacy.uses_personal_token
    legacy.create_project("p", "<View/>")
    assert state.calls[-1][2] == "Token abc123"
    personal = LabelStudio(url + "/", PERSONAL)
    assert personal.uses_personal_token
    personal.create_project("p", "<View/>")
    personal.create_project("q", "<View/>")
    refreshes = [c for c in state.calls if c[1] == "/api/token/refresh/"]
    assert len(refreshes) == 1 and refreshes[0][2] is None  # the exchange itself is unauthenticated
    assert refreshes[0][3] == {"refresh": PERSONAL}
    assert state.calls[-1][2] == state.calls[-2][2] == f"Bearer access-for-{PERSONAL}"


@pytest.mark.parametrize(
    "served",
    [
        (n, as_dict)
        for n in [*random.Random(5).sample(range(0, 350), 3), 100]
        for as_dict in (False, True)
    ],
    indirect=True,
)
def test_tasks_are_read_page_by_page_to_the_end(served) -> None:
    url, state = served
    found = LabelStudio(url, "t").tasks(7)
    assert found == state.tasks
    pages = [c for c in state.calls if c[1] == "/api/tasks/"]
    assert len(pages) == len(state.tasks) // 100 + 1


def test_a_refused_call_is_one_line_naming_the_call(served) -> None:
    url, _ = served
    with pytest.raises(
        LabelStudioError, match=r"POST /api/projects/: HTTP 400: .*title taken"
    ) as e:
        LabelStudio(url, "t").create_project("refused", "<View/>")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("local", [True, False])
def test_a_project_gets_its_local_files_storage_before_its_tasks(served, local: bool) -> None:
    url, state = served
    tasks = [{"data": {"image": f"/data/local-files/?d=photos/{i}.jpg"}} for i in range(4)]
    root = Path("/srv/objects")
    project = open_project(
        LabelStudio(url, "t"), "queue", "<View/>", tasks, root if local else None
    )
    assert project == 7
    paths = [c[1] for c in state.calls]
    imported = paths.index("/api/projects/7/import")
    assert state.calls[imported][3] == tasks
    storages = [c for c in state.calls if c[1] == "/api/storages/localfiles/"]
    if local:
        (storage,) = storages
        assert paths.index("/api/storages/localfiles/") < imported
        assert storage[3]["path"] == str(root / "photos") and storage[3]["project"] == 7
    else:
        assert storages == []
