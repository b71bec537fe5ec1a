"""The runs table's sorting and nesting through ``UIApp`` (the routes without sockets) over a real mlruns
folder: keys that need backticks sort, a cycle of parents loses no run, and an order_by the store refuses is
shown on the page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from mlflow_client import MlflowClient
from mlflow_client.entities import Metric
from mlflow_client.ui import UIApp


def _get(app: UIApp, target: str) -> str:
    status, _, body, _ = app.handle("GET", target)
    assert status == 200 and isinstance(body, bytes), status
    return body.decode()


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/runs/[0-9a-f]+">([^<]+)</a>', html)


def test_a_key_with_a_space_or_a_dot_sorts_and_a_cycle_of_parents_loses_no_run(tmp_path: Path) -> None:
    with MlflowClient(str(tmp_path / "mlruns")) as c:
        experiment_id = c.create_experiment("keys")
        ids = {}
        for value in (3, 1, 2):
            run = c.create_run(experiment_id, run_name=f"r{value}")
            c.log_batch(run.info.run_id, metrics=[Metric("val loss", value, 1, 0), Metric("a.b", -value, 1, 0)])
            ids[f"r{value}"] = run.info.run_id
        app = UIApp(c)
        path = f"/experiments/{experiment_id}?"
        assert _names(_get(app, path + urlencode({"order_by": "metrics.`val loss` ASC"}))) == ["r1", "r2", "r3"]
        assert _names(_get(app, path + urlencode({"order_by": "metrics.`a.b` ASC"}))) == ["r3", "r2", "r1"]
        html = _get(app, path + urlencode({"columns": "metrics.a.b,metrics.val loss"}))
        assert "order_by=metrics.%60a.b%60+ASC" in html  # the headers sort by the backticked keys
        assert "order_by=metrics.%60val+loss%60+ASC" in html
        repeated = _get(app, path + urlencode([("columns", "metrics.a.b"), ("columns", "metrics.val loss")]))
        assert re.findall(r'class="sort" href="[^"]*">([^<]+)<', repeated)[2:] == ["metrics.a.b", "metrics.val loss"]
        assert "Invalid order_by clause" in _get(app, path + urlencode({"order_by": "metrics.loss SIDEWAYS"}))

        c.set_tag(ids["r3"], "mlflow.parentRunId", ids["r1"])  # r3 under r1 and r1 under r3: a cycle
        c.set_tag(ids["r1"], "mlflow.parentRunId", ids["r3"])
        html = _get(app, path + urlencode({"order_by": "metrics.`val loss` ASC"}))
        assert _names(html) == ["r2", "r1", "r3"]  # none lost: the cycle is broken at its first run
        assert f'<tr data-run-id="{ids["r3"]}" class="child" data-depth="1">' in html
