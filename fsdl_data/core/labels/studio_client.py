"""A small client for Label Studio's HTTP API: the calls the labeling loop needs, on the standard
library alone (no SDK to pin beside our own dependencies).

Authentication takes either kind of Label Studio token: a personal access token (a JWT refresh
token, exchanged for a short-lived access token, as Label Studio requires) or a legacy token
(`Authorization: Token ...`, which an organization must enable).

Images: our queue's tasks open photos by URL. On S3 the URL is presigned and Label Studio's
browser reads it directly; from a local folder it is Label Studio's local-files URL, which
Label Studio serves only from under a Local Storage connection of the project (and with
LOCAL_FILES_SERVING_ENABLED=true and LOCAL_FILES_DOCUMENT_ROOT at the object store's folder):
`open_project` creates that connection on the photos' folder.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from fsdl_data.core.labels.studio import choice_result


class LabelStudioError(RuntimeError):
    """An API call Label Studio refused, with its status and answer."""


class LabelStudio:
    def __init__(self, url: str, token: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = token
        self._personal = token.count(".") == 2  # a JWT: personal access token
        self._access: str | None = None

    @property
    def uses_personal_token(self) -> bool:
        """Whether this client holds a personal access token (else a legacy token)."""
        return self._personal

    def _authorization(self) -> str:
        if not self._personal:
            return f"Token {self._token}"
        if self._access is None:
            answer = self._call("POST", "/api/token/refresh/", {"refresh": self._token}, auth=False)
            self._access = answer["access"]
        return f"Bearer {self._access}"

    def _call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        raw = self._send(method, path, body, auth)
        return json.loads(raw) if raw else None

    def _send(self, method: str, path: str, body: Any = None, auth: bool = True) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", self._authorization())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:500].decode(errors="replace")
            raise LabelStudioError(f"{method} {path}: HTTP {error.code}: {detail}") from None

    def fetch(self, url: str) -> bytes:
        """What Label Studio serves at `url` (a task's `data.image`, say), as its browser would
        get it: a path on this Label Studio, authenticated."""
        return self._send("GET", url if url.startswith("/") else "/" + url)

    def personal_access_token(self) -> str:
        """Creates this user's personal access token (Label Studio allows one) and returns it."""
        return self._call("POST", "/api/token/")["token"]

    def connect_local_files(self, project: int, folder: Path | str, title: str = "photos") -> int:
        """A Local Storage connection of `project` on `folder` (a subfolder of Label Studio's
        LOCAL_FILES_DOCUMENT_ROOT), without which it serves no local-files URL under it."""
        body = {"project": project, "path": str(folder), "title": title, "use_blob_urls": False}
        return self._call("POST", "/api/storages/localfiles/", body)["id"]

    def wait_until_up(self, timeout_s: float = 300.0) -> None:
        """Poll /health until Label Studio answers (its first start migrates its database)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise LabelStudioError(f"Label Studio at {self.url} did not start in {timeout_s} s")
            time.sleep(1)

    def create_project(self, title: str, label_config: str) -> int:
        return self._call("POST", "/api/projects/", {"title": title, "label_config": label_config})[
            "id"
        ]

    def import_tasks(self, project: int, tasks: list[dict[str, Any]]) -> int:
        """Tasks in Label Studio's import format, predictions included; returns how many."""
        return self._call("POST", f"/api/projects/{project}/import", tasks)["task_count"]

    def tasks(self, project: int) -> list[dict[str, Any]]:
        found, page = [], 1
        while True:
            answer = self._call("GET", f"/api/tasks/?project={project}&page={page}&page_size=100")
            batch = answer["tasks"] if isinstance(answer, dict) else answer
            found += batch
            if len(batch) < 100:
                return found
            page += 1

    def create_user(self, email: str, username: str) -> int:
        return self._call("POST", "/api/users/", {"email": email, "username": username})["id"]

    def annotate(
        self,
        task: int,
        label: str | None,
        completed_by: int,
        lead_time: float | None = None,
        cancelled: bool = False,
    ) -> int:
        """One choice (or a skip: `cancelled`) on a task, attributed to `completed_by`."""
        body: dict[str, Any] = {
            "result": choice_result(label, f"answer-{task}-{completed_by}") if label else [],
            "completed_by": completed_by,
            "was_cancelled": cancelled,
        }
        if lead_time is not None:
            body["lead_time"] = lead_time
        return self._call("POST", f"/api/tasks/{task}/annotations/", body)["id"]

    def mark_ground_truth(self, annotation: int) -> None:
        self._call("PATCH", f"/api/annotations/{annotation}/", {"ground_truth": True})

    def export(self, project: int) -> bytes:
        """Every task with its annotations, in Label Studio's JSON export format."""
        request = urllib.request.Request(
            f"{self.url}/api/projects/{project}/export?exportType=JSON&download_all_tasks=true"
        )
        request.add_header("Authorization", self._authorization())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise LabelStudioError(f"export of project {project}: HTTP {error.code}") from None


def open_project(
    studio: LabelStudio,
    title: str,
    label_config: str,
    tasks: list[dict[str, Any]],
    files_root: Path | None = None,
    images_folder: str = "photos",
) -> int:
    """A project with our labeling config and a queue's tasks, able to show their images: with
    `files_root` (the local object store's folder, Label Studio's LOCAL_FILES_DOCUMENT_ROOT) a
    Local Storage connection on its `images_folder`; without it the tasks' presigned URLs need
    none. Returns the project's id."""
    project = studio.create_project(title, label_config)
    if files_root is not None:
        studio.connect_local_files(project, Path(files_root) / images_folder)
    studio.import_tasks(project, tasks)
    return project
