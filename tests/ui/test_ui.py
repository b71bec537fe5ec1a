"""The UI in a real browser (Debian's chromium through playwright) against a real UI server on loopback,
over an mlruns folder our client filled, and over the stub server through http; used as a person would.

No sleeps: playwright's ``expect`` and locators wait for what they check. The two timings at the end are
printed (``-s`` shows them), not asserted: the machine they run on decides them.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow_client import MlflowClient
from mlflow_client.entities import Metric, Param, RunTag
from mlflow_client.ui import PAGE_SIZE, UIServer
from playwright.sync_api import Browser, Dialog, Page, expect

from server_stub.server import StubServer

Shot = Callable[[str], Path]
SCRIPT_NAME = "<script>alert(1)</script>"


@pytest.fixture
def mlruns(tmp_path: Path) -> Path:
    """Two experiments; ``churn`` has three runs, one of them with a loss history and a script for a name."""
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        churn = c.create_experiment("churn-model")
        c.create_experiment("vision")
        for name, loss, lr in (("run-good", 0.2, "0.01"), ("run-bad", 0.5, "0.1"), (SCRIPT_NAME, 0.4, "1")):
            run = c.create_run(churn, run_name=name)
            start = run.info.start_time
            metrics = [Metric("loss", loss + (4 - step) * 0.1, start + step, step) for step in range(5)]
            c.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", lr)], tags=[RunTag("team", "<b>ml</b>")])
            c.set_terminated(run.info.run_id, end_time=start + 61_500)
    return root


@pytest.fixture
def ui_url(mlruns: Path) -> Iterator[str]:
    with UIServer(str(mlruns), port=0) as server:
        yield server.url


def _rows(page: Page) -> int:
    return page.locator("#runs tbody tr").count()


def test_a_person_finds_an_experiment_filters_its_runs_and_sees_a_runs_chart(
    page: Page, ui_url: str, shot: Shot
) -> None:
    page.goto(ui_url + "/")
    expect(page.get_by_role("link", name="churn-model")).to_be_visible()
    expect(page.get_by_role("link", name="vision")).to_be_visible()
    shot("home")

    page.get_by_role("searchbox", name="Search experiments by name").fill("CHURN")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(f"{ui_url}/?q=CHURN")
    expect(page.get_by_role("link", name="vision")).to_have_count(0)
    shot("search")

    page.get_by_role("link", name="churn-model").click()
    expect(page.locator("#runs tbody tr")).to_have_count(3)
    expect(page.locator("#runs")).to_contain_text("FINISHED")
    expect(page.locator("#runs")).to_contain_text("1m01s")  # the duration column
    shot("experiment")

    page.get_by_role("searchbox", name="Filter runs").fill("metrics.loss < 0.3")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    assert "filter=metrics.loss" in page.url  # the filter lives in the URL
    expect(page.get_by_role("link", name="run-good")).to_be_visible()
    shot("filtered")

    page.get_by_role("link", name="run-good").click()
    expect(page.locator("#params")).to_contain_text("lr")
    expect(page.locator("#params")).to_contain_text("0.01")
    expect(page.locator("#metrics")).to_contain_text("0.2")
    expect(page.locator("#tags")).to_contain_text("<b>ml</b>")  # a tag's markup is text
    chart = page.locator('figure.chart[data-metric="loss"]')
    expect(chart).to_have_class("chart drawn")
    expect(chart).to_have_attribute("data-points", "5")
    canvas = chart.locator(".uplot canvas")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, box
    shot("run")


def test_a_script_in_a_run_name_is_shown_as_text_and_never_runs(page: Page, ui_url: str, shot: Shot) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(ui_url + "/")
    page.get_by_role("link", name="churn-model").click()
    link = page.get_by_role("link", name=SCRIPT_NAME)
    expect(link).to_be_visible()
    shot("experiment")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SCRIPT_NAME)
    expect(page.locator("figure.chart.drawn")).to_have_count(1)  # the page's own script ran to the end
    shot("run")
    assert SCRIPT_NAME in page.inner_text("body")
    assert page.locator("main script").count() == 0
    assert dialogs == []


def test_a_bad_filter_shows_the_stores_message_on_the_page(page: Page, ui_url: str, shot: Shot) -> None:
    page.goto(ui_url + "/")
    page.get_by_role("link", name="churn-model").click()
    page.get_by_role("searchbox", name="Filter runs").fill("metrics.loss <<< 1")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_contain_text("Expected a value, found '<' at position 14")
    expect(page.get_by_role("searchbox", name="Filter runs")).to_have_value("metrics.loss <<< 1")
    assert _rows(page) == 0
    shot("bad-filter")


def test_the_ui_is_read_only_and_sends_no_inline_script_policy(ui_url: str) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        request = urllib.request.Request(ui_url + "/", data=b"{}", method=method)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 405, method
        assert caught.value.headers["Allow"] == "GET, HEAD"
    with urllib.request.urlopen(urllib.request.Request(ui_url + "/", method="HEAD"), timeout=10) as answer:
        assert answer.status == 200
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    for missing in ("/static/../_server.py", "/static/VENDORED.md", "/runs/nope", "/elsewhere"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(ui_url + missing, timeout=10)
        assert caught.value.code == 404, missing


def test_a_100k_point_history_draws_in_one_chart(page: Page, tmp_path: Path, shot: Shot) -> None:
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        run = c.create_run(c.create_experiment("long"), run_name="long-run")
        t0 = run.info.start_time
        points = [Metric("loss", 1 / (1 + step), t0 + step, step) for step in range(100_000)]
        c.log_batch(run.info.run_id, metrics=points)
    with UIServer(str(root), port=0) as server:
        started = time.perf_counter()
        page.goto(f"{server.url}/runs/{run.info.run_id}")
        chart = page.locator("figure.chart")
        expect(chart).to_have_attribute("data-points", "100000", timeout=60_000)
        elapsed = time.perf_counter() - started
        box = chart.locator(".uplot canvas").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, box
        shot("run-100k")
    print(f"\nUI timing: run page with a 100,000-point history interactive in {elapsed * 1000:.0f} ms")


@pytest.fixture
def stub_with_10k_runs() -> Iterator[tuple[StubServer, str]]:
    with StubServer(port=0) as stub, MlflowClient(stub.url) as c:
        experiment_id = c.create_experiment("many")
        started = time.perf_counter()

        def create(i: int) -> None:
            c.create_run(experiment_id, run_name=f"run-{i:05d}", start_time=1_700_000_000_000 + i)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(10_000)))
        print(f"\ncreated 10,000 runs on the stub in {time.perf_counter() - started:.1f} s")
        yield stub, experiment_id


def test_the_runs_table_pages_through_10k_runs_over_http(
    page: Page, stub_with_10k_runs: tuple[StubServer, str], shot: Shot
) -> None:
    stub, experiment_id = stub_with_10k_runs
    with UIServer(stub.url, port=0) as server:
        started = time.perf_counter()
        page.goto(f"{server.url}/experiments/{experiment_id}")
        expect(page.locator("#runs tbody tr")).to_have_count(PAGE_SIZE)
        elapsed = time.perf_counter() - started
        expect(page.locator("#runs tbody tr").first).to_contain_text("run-09999")  # newest first
        shot("page-1")
        page.get_by_role("link", name="Next page").click()
        expect(page).to_have_url(re.compile(r"page_token="))
        expect(page.locator("#runs tbody tr")).to_have_count(PAGE_SIZE)
        expect(page.locator("#runs tbody tr").first).to_contain_text("run-09899")
        shot("page-2")
    print(
        f"\nUI timing: runs table, first page of an experiment with 10,000 runs (over http) in {elapsed * 1000:.0f} ms"
    )


def test_the_stub_serves_the_same_ui_at_its_root_behind_its_auth(browser: Browser, tmp_path: Path) -> None:
    secret = "s3cret-pw-only-on-the-server"
    with StubServer(port=0, basic_auth=("alice", secret)) as stub:
        with MlflowClient(stub.url, username="alice", password=secret) as c:
            run = c.create_run(c.create_experiment("on-the-stub"), run_name="stub-run")
            c.log_batch(run.info.run_id, metrics=[Metric("acc", s / 10, 1_700_000_000_000 + s, s) for s in range(10)])
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(stub.url + "/", timeout=10)
        assert caught.value.code == 401  # the UI is behind the stub's auth, as its API is
        context = browser.new_context(http_credentials={"username": "alice", "password": secret})
        try:
            page = context.new_page()
            page.goto(stub.url + "/")
            page.get_by_role("link", name="on-the-stub").click()
            page.get_by_role("link", name="stub-run").click()
            chart = page.locator('figure.chart[data-metric="acc"]')
            expect(chart).to_have_attribute("data-points", "10")
            page.screenshot(path=str(tmp_path / "stub-run.png"), full_page=True)
            assert secret not in page.content()
        finally:
            context.close()
