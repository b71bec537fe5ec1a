"""The run page's x axis in a real browser: step, wall time, relative time, chosen by a link and kept in the URL."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from mlflow_client import MlflowClient
from mlflow_client.entities import Metric
from mlflow_client.ui import UIServer
from playwright.sync_api import Page, expect

Shot = Callable[[str], Path]
START = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def test_the_x_axis_switches_between_step_wall_time_and_relative_time(page: Page, tmp_path: Path, shot: Shot) -> None:
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        run = c.create_run(c.create_experiment("axes"), run_name="timed", start_time=START)
        # steps 0..4, 30 s apart, starting 10 s after the run did
        c.log_batch(
            run.info.run_id, metrics=[Metric("loss", 1 / (1 + s), START + 10_000 + s * 30_000, s) for s in range(5)]
        )
        c.log_text(run.info.run_id, "hello", "logs/out.txt")
    with UIServer(str(root), port=0) as server:
        page.goto(f"{server.url}/runs/{run.info.run_id}")
        chart = page.locator('figure.chart[data-metric="loss"]')
        # uPlot draws the axes on a canvas; the legend's first row names the x series and shows its value
        label = chart.locator(".u-legend th").first
        hovered = chart.locator(".u-legend td.u-value").first
        expect(chart).to_have_attribute("data-x-max", "4")
        expect(chart).to_have_attribute("data-x-min", "0")
        expect(label).to_have_text("Step")
        chart.locator(".u-over").hover()  # the middle of the plot: step 2 of 0..4
        expect(hovered).to_have_text("2")
        shot("step")

        page.get_by_role("link", name="Relative time (s)").click()
        expect(page).to_have_url(f"{server.url}/runs/{run.info.run_id}?x=relative")
        expect(chart).to_have_attribute("data-x-min", "10")  # seconds since the run started
        expect(chart).to_have_attribute("data-x-max", "130")
        expect(label).to_have_text("Relative time (s)")
        chart.locator(".u-over").hover()
        expect(hovered).to_have_text("70")  # step 2: 10 s + 2 x 30 s
        shot("relative")

        page.get_by_role("link", name="Wall time").click()
        expect(page).to_have_url(f"{server.url}/runs/{run.info.run_id}?x=wall")
        expect(chart).to_have_attribute("data-x-min", str((START + 10_000) / 1000).removesuffix(".0"))
        expect(label).to_have_text("Wall time")
        expect(page.get_by_role("link", name="Wall time")).to_have_attribute("aria-current", "true")
        chart.locator(".u-over").hover()  # a time axis shows the hovered point as a date and a clock time
        moment = datetime.datetime.fromtimestamp((START + 70_000) / 1000)  # the browser's zone is ours
        expect(hovered).to_contain_text(f"{moment:%Y-%m-%d} {moment.hour % 12 or 12}:{moment:%M}")
        shot("wall")

        page.get_by_role("link", name="logs/").click()  # browsing the artifacts keeps the axis
        expect(page).to_have_url(f"{server.url}/runs/{run.info.run_id}?x=wall&path=logs")
        expect(label).to_have_text("Wall time")
        expect(page.locator('li[data-path="logs/out.txt"] pre')).to_have_text("hello")

        page.goto(f"{server.url}/runs/{run.info.run_id}?x=bogus")  # an unknown axis falls back to steps
        expect(label).to_have_text("Step")
