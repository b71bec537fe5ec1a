"""The README's screenshot of the run page is made here, by the suite's own code:

    MLFLOW_CLIENT_UI_SCREENSHOT=docs/ui-run-page.png .venv/bin/python -m pytest tests/ui/test_readme_screenshot.py

Without the variable the same page is drawn and checked, and the picture goes to the test's tmp_path.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from mlflow_client import MlflowClient
from mlflow_client.entities import Metric, Param, RunTag
from mlflow_client.ui import UIServer
from playwright.sync_api import Browser, expect

from .test_run_artifacts import _png

ENV = "MLFLOW_CLIENT_UI_SCREENSHOT"
T0 = 1_700_000_000_000


def save_run_page_screenshot(browser: Browser, root: Path, target: Path) -> Path:
    """Fill ``root`` with a run like a person's (metrics, params, tags, artifacts), open its page in a
    browser and save a PNG of it as ``target``."""
    with MlflowClient(str(root)) as c:
        run = c.create_run(c.create_experiment("churn-model"), run_name="xgboost-depth-6", start_time=T0)
        run_id = run.info.run_id
        metrics = [Metric("train_loss", 0.7 * math.exp(-s / 40) + 0.05, T0 + s * 2000, s) for s in range(200)]
        metrics += [Metric("val_auc", 0.93 - 0.35 * math.exp(-s / 30), T0 + s * 2000, s) for s in range(200)]
        params = [Param("max_depth", "6"), Param("learning_rate", "0.05"), Param("n_estimators", "200")]
        c.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("team", "growth")])
        c.log_text(run_id, "Trained on 2024-Q1 data; holdout = last 4 weeks.\n", "notes.txt")
        c.log_text(
            run_id, json.dumps({"features": ["tenure", "plan", "usage_30d"], "target": "churned"}), "config.json"
        )
        c.log_text(run_id, "threshold,precision,recall\n0.3,0.71,0.88\n0.5,0.80,0.74\n0.7,0.89,0.52\n", "pr.csv")
        picture = root.parent / "roc.png"
        picture.write_bytes(_png(120, 60))
        c.log_artifact(run_id, str(picture), "plots")
        c.set_terminated(run_id, end_time=T0 + 400_000)
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        with UIServer(str(root), port=0) as server:
            page.goto(f"{server.url}/runs/{run_id}")
            expect(page.locator("figure.chart.drawn")).to_have_count(2)
            expect(page.locator('li[data-path="pr.csv"] table tbody tr')).to_have_count(3)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
    finally:
        context.close()
    return target


def test_the_readme_screenshot_of_the_run_page_is_made_by_the_suite(browser: Browser, tmp_path: Path) -> None:
    wanted = os.environ.get(ENV)
    target = Path(wanted) if wanted else tmp_path / "ui-run-page.png"
    saved = save_run_page_screenshot(browser, tmp_path / "mlruns", target)
    data = saved.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert 10_000 < len(data) < 200_000, len(data)  # a real page, and small enough for the repository
