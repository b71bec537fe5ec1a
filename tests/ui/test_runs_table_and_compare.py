"""The runs table (chosen columns, sorting by a header, nested runs, checkboxes) and the compare page, in a
real browser against a real UI server over an mlruns folder our client filled. State lives in the URL."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow_client import MlflowClient
from mlflow_client.entities import Metric, Param, RunTag
from mlflow_client.ui import UIServer
from playwright.sync_api import Page, expect

Shot = Callable[[str], Path]
T0 = 1_700_000_000_000


@pytest.fixture
def sweep(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(UI URL, experiment id, run ids by name): a parent ``sweep`` with two trials, and a ``solo`` run."""
    root = tmp_path / "mlruns"
    ids: dict[str, str] = {}
    with MlflowClient(str(root)) as c:
        experiment_id = c.create_experiment("sweeps")
        plan = (("sweep", None, None, None), ("trial-a", "0.01", 0.2, "sweep"), ("trial-b", "0.1", 0.5, "sweep"))
        for n, (name, lr, loss, parent) in enumerate((*plan, ("solo", "1", 0.9, None))):
            run = c.create_run(experiment_id, run_name=name, start_time=T0 + n * 1000)
            ids[name] = run.info.run_id
            tags = [RunTag("mlflow.parentRunId", ids[parent])] if parent else []
            params = [Param("lr", lr), Param("batch", "32")] if lr else []
            metrics = [Metric("loss", loss + (3 - s) * 0.1, T0 + s, s) for s in range(4)] if loss else []
            c.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    with UIServer(str(root), port=0) as server:
        yield server.url, experiment_id, ids


def _names(page: Page) -> list[str]:
    return [t.strip().removeprefix("↳ ") for t in page.locator("#runs tbody tr td:nth-child(2)").all_inner_texts()]


def test_children_sit_under_their_parent_and_chosen_columns_sort_by_a_header(
    page: Page, sweep: tuple[str, str, dict[str, str]], shot: Shot
) -> None:
    url, experiment_id, ids = sweep
    page.goto(f"{url}/experiments/{experiment_id}")
    expect(page.locator("#runs tbody tr")).to_have_count(4)
    assert _names(page) == ["solo", "sweep", "trial-b", "trial-a"]  # newest first, trials under their sweep
    expect(page.locator(f'#runs tr[data-run-id="{ids["trial-a"]}"]')).to_have_attribute("data-depth", "1")
    expect(page.locator(f'#runs tr[data-run-id="{ids["solo"]}"]')).not_to_have_attribute("data-depth", "1")
    indent = page.locator(f'#runs tr[data-run-id="{ids["trial-a"]}"] .nest').evaluate(
        "e => parseFloat(getComputedStyle(e).paddingLeft)"
    )
    assert indent > 10, indent  # the CSS indents a child
    shot("nested")

    page.get_by_text("Columns", exact=True).click()
    chooser = page.locator("#column-chooser")
    expect(chooser.get_by_label("metrics.loss")).to_be_visible()
    expect(chooser.get_by_label("params.batch")).to_be_visible()
    chooser.get_by_label("metrics.loss").check()
    chooser.get_by_label("params.lr").check()
    shot("chooser")
    chooser.get_by_role("button", name="Show columns").click()
    expect(page).to_have_url(f"{url}/experiments/{experiment_id}?columns=metrics.loss,params.lr")
    expect(page.locator("#runs thead th")).to_have_text(
        ["Select", "Run name", "Status", "Start time", "Duration", "User", "metrics.loss", "params.lr"]
    )
    row = page.locator(f'#runs tr[data-run-id="{ids["trial-b"]}"] td')
    expect(row.nth(6)).to_have_text("0.5")
    expect(row.nth(7)).to_have_text("0.1")
    shot("columns")

    page.get_by_role("link", name="metrics.loss").click()
    expect(page).to_have_url(
        f"{url}/experiments/{experiment_id}?order_by=metrics.loss+ASC&columns=metrics.loss%2Cparams.lr"
    )
    expect(page.locator("#runs thead th[aria-sort=ascending]")).to_contain_text("metrics.loss")
    names = _names(page)
    after_sweep = names[names.index("sweep") + 1 :][:2]
    assert after_sweep == ["trial-a", "trial-b"], names  # under their sweep, by loss up
    assert names == ["solo", "sweep", "trial-a", "trial-b"], names  # the sweep (no loss) sorts last, as in MLflow
    shot("sorted-ascending")
    page.get_by_role("link", name="metrics.loss").click()
    expect(page).to_have_url(
        f"{url}/experiments/{experiment_id}?order_by=metrics.loss+DESC&columns=metrics.loss%2Cparams.lr"
    )
    expect(page.locator("#runs thead th[aria-sort=descending]")).to_contain_text("metrics.loss")
    assert _names(page)[0] == "solo"  # the highest loss
    names = _names(page)
    assert names[names.index("sweep") + 1 :][:2] == ["trial-b", "trial-a"], names  # now by loss down
    shot("sorted-descending")

    page.goto(f"{url}/experiments/{experiment_id}?columns=params.batch,metrics.nope,bogus")  # a shared link
    expect(page.locator("#runs thead th").nth(6)).to_have_text("params.batch")
    expect(page.locator("#runs thead th")).to_have_count(8)  # bogus (no entity) dropped, an absent key kept
    expect(page.locator(f'#runs tr[data-run-id="{ids["trial-a"]}"] td').nth(6)).to_have_text("32")


def test_a_person_selects_two_runs_compares_them_and_sees_both_series_and_the_differing_param(
    page: Page, sweep: tuple[str, str, dict[str, str]], shot: Shot
) -> None:
    url, experiment_id, ids = sweep
    page.goto(f"{url}/experiments/{experiment_id}")
    page.get_by_label("Select trial-a").check()
    page.get_by_label("Select trial-b").check()  # in the table's order: b, then a
    shot("selected")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(f"{url}/compare?runs={ids['trial-b']},{ids['trial-a']}")
    chart = page.locator('figure.compare-chart[data-metric="loss"]')
    expect(chart).to_have_attribute("data-series", "2")
    legend = chart.locator(".u-legend th")
    expect(legend).to_have_text(["Step", "trial-b", "trial-a"])
    canvas = chart.locator(".uplot canvas")
    expect(canvas).to_be_visible()
    chart.locator(".u-over").hover()  # the legend shows each run's value at the hovered step
    values = chart.locator(".u-legend td.u-value")
    expect(values).to_have_count(3)
    assert values.nth(1).inner_text() != values.nth(2).inner_text()
    diff = page.locator("#param-diff")
    expect(diff.locator('tr[data-param="lr"]')).to_have_class("differs")
    expect(diff.locator('tr[data-param="lr"] td')).to_have_text(["0.1", "0.01"])
    expect(diff.locator('tr[data-param="batch"]')).not_to_have_class("differs")
    colour = diff.locator('tr[data-param="lr"] td').first.evaluate("e => getComputedStyle(e).backgroundColor")
    plain = diff.locator('tr[data-param="batch"] td').first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != plain, (colour, plain)  # highlighted on screen, not only in the markup
    shot("compare")

    # what the form sends without script (runs repeated) is read the same
    page.goto(f"{url}/compare?runs={ids['solo']}&runs={ids['trial-a']}&runs={ids['sweep']}")
    expect(page.locator("#compare-runs li")).to_have_count(3)
    expect(chart).to_have_attribute("data-series", "2")  # the sweep logged no loss
    expect(page.locator('#param-diff tr[data-param="batch"] em')).to_have_text("missing")
    expect(page.locator('#param-diff tr[data-param="batch"]')).to_have_class("differs")
    shot("compare-three")


def test_compare_refuses_no_runs_and_too_many_and_404s_an_unknown_one(sweep: tuple[str, str, dict[str, str]]) -> None:
    url, _, ids = sweep
    for query, status in (("", 400), ("runs=" + ",".join(f"r{i}" for i in range(21)), 400), ("runs=nope", 404)):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{url}/compare?{query}", timeout=10)
        assert caught.value.code == status, query
    with urllib.request.urlopen(f"{url}/compare?runs={ids['solo']}", timeout=10) as answer:
        assert b"Comparing 1 runs" in answer.read()
