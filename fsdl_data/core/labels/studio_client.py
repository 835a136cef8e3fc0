"""A small client for Label Studio's HTTP API: the calls the labeling loop needs, on the standard
library alone (no SDK to pin beside our own dependencies).

Authentication takes either kind of Label Studio token: a personal access token (a JWT refresh
token, exchanged for a short-lived access token, as Label Studio requires) or a legacy token
(`Authorization: Token ...`, which an organization must enable).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
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

    def _authorization(self) -> str:
        if not self._personal:
            return f"Token {self._token}"
        if self._access is None:
            answer = self._call("POST", "/api/token/refresh/", {"refresh": self._token}, auth=False)
            self._access = answer["access"]
        return f"Bearer {self._access}"

    def _call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", self._authorization())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:500].decode(errors="replace")
            raise LabelStudioError(f"{method} {path}: HTTP {error.code}: {detail}") from None
        return json.loads(raw) if raw else None

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
