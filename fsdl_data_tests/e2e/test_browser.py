"""The UI in a real browser: Debian's Chromium driven by Playwright against `dagster dev` on a
demo instance. Opens the asset graph, an asset page and its plot, materializes one partition
from the asset's Materialize dialog and sees the run succeed. Screenshots are saved under
test-artifacts/browser/ (FSDL_TEST_ARTIFACTS overrides). Marker `browser` (make test-heavy)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsdl_data_tests.conftest import service_missing
from fsdl_data_tests.processes import free_port, stop_group

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("FSDL_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"
DAYS = ["2026-01-01", "2026-01-02"]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        json.dumps({"query": query}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make demo` then `make dev`, as a new user runs them, in a folder of their own."""
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} (run `make browser-deps`: apt-get install chromium)")
    root = tmp_path_factory.mktemp("ui")
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, root / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(root), "FSDL_HOME": str(root / ".fsdl")}
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "fsdl-data"), "demo", "--days", str(len(DAYS)), "--photos-per-day", "120",
         "--users", "100", "--events-per-day", "2000"],
        cwd=root, env=env, check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    port = free_port()
    log = (root / "dagster-dev.log").open("wb")
    server = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        f"dagster dev did not start: see {root / 'dagster-dev.log'}"
                    ) from None
                time.sleep(1)
        _graphql(url, "mutation { setNuxSeen }")  # no first-visit modal
        yield url
    finally:
        stop_group(server)
        log.close()


@pytest.fixture
def page(ui: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_asset_graph_and_an_asset_page_with_its_plot(ui: str, page) -> None:
    page.goto(f"{ui}/asset-groups")
    for group in ("sources", "labels", "vision", "models"):
        page.get_by_text(group, exact=True).last.wait_for()
    page.screenshot(path=ARTIFACTS / "1-asset-graph.png")
    page.goto(f"{ui}/assets/labeling_queue?view=lineage")
    for asset in ("photo_classifications", "labeled_set", "human_labels"):
        page.get_by_text(asset, exact=True).first.wait_for()
    page.get_by_text("100% filled").nth(3).wait_for()  # every partition shown holds data
    page.screenshot(path=ARTIFACTS / "1-labeling-queue-lineage.png")

    page.goto(f"{ui}/assets/photo_classifications")
    page.get_by_text("The classifier's most likely content class.").wait_for()  # column docs
    page.locator("a", has_text="vision.py").first.wait_for()  # a link to its code
    page.screenshot(path=ARTIFACTS / "2-asset-page.png")
    page.locator("tr", has_text="confusion_vs_human").get_by_text("[Show Markdown]").click()
    plot = page.locator('img[src^="data:image/png"]').first
    plot.wait_for()
    assert plot.evaluate("img => img.naturalWidth") > 100  # a real, decoded picture
    page.wait_for_timeout(800)  # let the dialog finish fading in
    page.screenshot(path=ARTIFACTS / "3-confusion-matrix.png")


def test_the_calendar_is_the_worlds_days_and_one_partition_materializes(ui: str, page) -> None:
    page.goto(f"{ui}/assets/users")
    page.get_by_role("button", name="Materialize…").click()
    page.get_by_role("button", name="All", exact=True).click()
    page.get_by_text(f"{len(DAYS)} partitions", exact=True).wait_for()  # nothing else is shown
    box = page.get_by_placeholder(f"ex: {DAYS[0]}, {DAYS[1]}")
    box.fill(DAYS[-1])
    box.press("Enter")
    page.screenshot(path=ARTIFACTS / "4-materialize-one-partition.png")
    page.get_by_role("button", name="Launch 1 run").click()
    page.get_by_text("Launched run").first.wait_for()
    query = (
        "{ runsOrError(limit: 1) { ... on Runs { results { runId status tags { key value } } } } }"
    )
    run_id = _graphql(ui, query)["runsOrError"]["results"][0]["runId"]
    page.goto(f"{ui}/runs")
    page.get_by_role("link", name=run_id[:8]).first.click()  # the run, as a user finds it
    page.wait_for_url(f"**/runs/{run_id}**")
    page.get_by_text(f"partition: {DAYS[-1]}").wait_for()
    page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "5-run-succeeded.png")
    run = _graphql(ui, query)["runsOrError"]["results"][0]
    assert run["runId"] == run_id and run["status"] == "SUCCESS"
    assert {"key": "dagster/partition", "value": DAYS[-1]} in run["tags"]
