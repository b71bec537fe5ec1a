"""Metrics: log-metric, the latest-value rule (step, then timestamp, then value), get-history, bulk-interval."""

from __future__ import annotations

from typing import Any

import pytest

from conformance_tests._api import Api, metric_map

NO_SUCH_RUN = "f" * 32


def _log(api: Api, run_id: str, value: Any, timestamp: Any, step: Any = 0, key: str = "m") -> None:
    api.ok(
        "POST", "runs/log-metric", {"run_id": run_id, "key": key, "value": value, "timestamp": timestamp, "step": step}
    )


def _history(api: Api, run_id: str, key: str = "m", **params: Any) -> dict[str, Any]:
    return api.history(run_id, key, **params)


def test_log_metric_appears_in_run(api: Api, run_id: str) -> None:
    _log(api, run_id, 0.5, 100, 1)
    assert metric_map(api.get_run(run_id)) == {"m": 0.5}


def test_log_metric_requires_timestamp(api: Api, run_id: str) -> None:
    api.error(
        "POST",
        "runs/log-metric",
        {"run_id": run_id, "key": "m", "value": 1.0},
        status=400,
        code="INVALID_PARAMETER_VALUE",
    )


def test_log_metric_requires_key(api: Api, run_id: str) -> None:
    body = {"run_id": run_id, "value": 1.0, "timestamp": 1}
    api.error("POST", "runs/log-metric", body, status=400, code="INVALID_PARAMETER_VALUE")


def test_log_metric_rejects_negative_timestamp(api: Api, run_id: str) -> None:
    body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": -1}
    api.error("POST", "runs/log-metric", body, status=400, code="INVALID_PARAMETER_VALUE")


def test_log_metric_to_unknown_run_is_404(api: Api) -> None:
    body = {"run_id": NO_SUCH_RUN, "key": "m", "value": 1.0, "timestamp": 1}
    api.error("POST", "runs/log-metric", body, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_log_metric_accepts_int64_as_strings(api: Api, run_id: str) -> None:
    _log(api, run_id, 2.5, "1700000000123", "7")
    points = _history(api, run_id)["metrics"]
    assert [(p["timestamp"], p["step"]) for p in points] == [(1700000000123, 7)]


def test_nan_metric_round_trips_as_nan_string(api: Api, run_id: str) -> None:
    _log(api, run_id, "NaN", 100)
    assert [p["value"] for p in _history(api, run_id)["metrics"]] == ["NaN"]


def test_latest_metric_prefers_higher_step(api: Api, run_id: str) -> None:
    _log(api, run_id, 2.0, 100, step=2)
    _log(api, run_id, 1.0, 500, step=1)
    assert metric_map(api.get_run(run_id)) == {"m": 2.0}


def test_latest_metric_prefers_later_timestamp_at_same_step(api: Api, run_id: str) -> None:
    _log(api, run_id, 1.0, 200, step=3)
    _log(api, run_id, 2.0, 100, step=3)
    assert metric_map(api.get_run(run_id)) == {"m": 1.0}


def test_latest_metric_prefers_larger_value_at_same_step_and_timestamp(api: Api, run_id: str) -> None:
    _log(api, run_id, 5.0, 100, step=1)
    _log(api, run_id, 3.0, 100, step=1)
    assert metric_map(api.get_run(run_id)) == {"m": 5.0}


def test_metric_history_returns_every_point(api: Api, run_id: str) -> None:
    for i in range(5):
        _log(api, run_id, float(i), 1000 + i, step=i)
    points = _history(api, run_id)["metrics"]
    assert sorted((p["step"], p["timestamp"], p["value"]) for p in points) == [
        (i, 1000 + i, float(i)) for i in range(5)
    ]
    assert {p["key"] for p in points} == {"m"}


def test_metric_history_is_in_timestamp_order(api: Api, run_id: str) -> None:
    for value, ts, step in [(1.0, 300, 3), (2.0, 100, 1), (3.0, 200, 2)]:
        _log(api, run_id, value, ts, step)
    assert [p["timestamp"] for p in _history(api, run_id)["metrics"]] == [100, 200, 300]


def test_metric_history_of_unknown_key_is_empty(api: Api, run_id: str) -> None:
    assert not _history(api, run_id, key="nope").get("metrics")


def test_metric_history_without_max_results_returns_every_point(api: Api, run_id: str) -> None:
    # Clients send a page size (the spec's client default); a server must still answer one that does not.
    # MLflow 3.11 reads the missing size as 0: no points, and a page token it then refuses.
    for step in range(3):
        _log(api, run_id, float(step), 100 + step, step)
    page = api.ok("GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert sorted(p["step"] for p in page.get("metrics", [])) == [0, 1, 2], page
    assert not page.get("next_page_token"), page


def test_metric_history_pages_have_no_duplicates_or_gaps(api: Api, run_id: str) -> None:
    for i in range(7):
        _log(api, run_id, float(i), 1000 + i, step=i)
    seen: list[int] = []
    token: str | None = None
    for _ in range(10):
        page = _history(api, run_id, max_results=2, **({"page_token": token} if token else {}))
        assert len(page.get("metrics", [])) <= 2, page
        seen += [p["step"] for p in page.get("metrics", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert sorted(seen) == list(range(7)), seen


@pytest.mark.capability("bulk-interval")
def test_bulk_interval_returns_points_of_each_run(api: Api, experiment_id: str) -> None:
    runs = [api.create_run(experiment_id) for _ in range(2)]
    for n, run in enumerate(runs):
        for step in range(3):
            _log(api, run, float(n * 10 + step), 100 + step, step)
    data = api.ok("GET", "metrics/get-history-bulk-interval", params={"run_ids": runs, "metric_key": "m"})
    got = sorted((p["run_id"], p["step"], p["value"]) for p in data["metrics"])
    assert got == sorted((run, s, float(n * 10 + s)) for n, run in enumerate(runs) for s in range(3))


@pytest.mark.capability("bulk-interval")
def test_bulk_interval_honours_step_range(api: Api, run_id: str) -> None:
    for step in range(10):
        _log(api, run_id, float(step), 100 + step, step)
    params = {"run_ids": [run_id], "metric_key": "m", "start_step": 2, "end_step": 4}
    data = api.ok("GET", "metrics/get-history-bulk-interval", params=params)
    assert sorted(p["step"] for p in data["metrics"]) == [2, 3, 4]


@pytest.mark.capability("bulk-interval")
def test_bulk_interval_rejects_101_runs(api: Api) -> None:
    params = {"run_ids": [f"{i:032x}" for i in range(101)], "metric_key": "m"}
    api.error("GET", "metrics/get-history-bulk-interval", params=params, status=400, code="INVALID_PARAMETER_VALUE")
