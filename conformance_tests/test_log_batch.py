"""log-batch: what it stores, its limits (1000 metrics, 100 params, 100 tags, 1000 in all) and atomicity."""

from __future__ import annotations

from typing import Any

from conformance_tests._api import Api, metric_map, param_map, tag_map

NO_SUCH_RUN = "f" * 32
IPV = "INVALID_PARAMETER_VALUE"


def _metrics(n: int, key: str = "m") -> list[dict[str, Any]]:
    return [{"key": key, "value": float(i), "timestamp": 1000 + i, "step": i} for i in range(n)]


def _params(n: int) -> list[dict[str, str]]:
    return [{"key": f"p{i}", "value": str(i)} for i in range(n)]


def _tags(n: int) -> list[dict[str, str]]:
    return [{"key": f"t{i}", "value": str(i)} for i in range(n)]


def test_log_batch_logs_metrics_params_and_tags(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": _metrics(3), "params": _params(2), "tags": _tags(2)})
    run = api.get_run(run_id)
    assert metric_map(run) == {"m": 2.0}
    assert param_map(run) == {"p0": "0", "p1": "1"}
    assert {k: v for k, v in tag_map(run).items() if k.startswith("t")} == {"t0": "0", "t1": "1"}


def test_log_batch_accepts_1000_metrics(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": _metrics(1000)})
    history = api.history(run_id)
    assert len(history["metrics"]) == 1000


def test_log_batch_rejects_1001_metrics(api: Api, run_id: str) -> None:
    api.error("POST", "runs/log-batch", {"run_id": run_id, "metrics": _metrics(1001)}, status=400, code=IPV)
    assert not metric_map(api.get_run(run_id))


def test_log_batch_rejects_101_params(api: Api, run_id: str) -> None:
    api.error("POST", "runs/log-batch", {"run_id": run_id, "params": _params(101)}, status=400, code=IPV)
    assert not param_map(api.get_run(run_id))


def test_log_batch_rejects_101_tags(api: Api, run_id: str) -> None:
    api.error("POST", "runs/log-batch", {"run_id": run_id, "tags": _tags(101)}, status=400, code=IPV)
    assert "t0" not in tag_map(api.get_run(run_id))


def test_log_batch_rejects_1001_entities_in_total(api: Api, run_id: str) -> None:
    body = {"run_id": run_id, "metrics": _metrics(901), "params": _params(100)}
    api.error("POST", "runs/log-batch", body, status=400, code=IPV)


def test_log_batch_with_an_invalid_metric_stores_nothing(api: Api, run_id: str) -> None:
    metrics = [*_metrics(1, "good"), {"key": "bad", "value": 1.0, "timestamp": -1, "step": 0}]
    body = {"run_id": run_id, "metrics": metrics, "params": _params(1), "tags": _tags(1)}
    api.error("POST", "runs/log-batch", body, status=400, code=IPV)
    run = api.get_run(run_id)
    assert not metric_map(run) and not param_map(run) and "t0" not in tag_map(run)


def test_log_batch_changing_a_param_stores_nothing(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "p0", "value": "x"})
    body = {"run_id": run_id, "metrics": _metrics(1), "params": [{"key": "p0", "value": "y"}]}
    api.error("POST", "runs/log-batch", body, status=400, code=IPV)
    run = api.get_run(run_id)
    assert param_map(run) == {"p0": "x"}
    assert not metric_map(run)


def test_log_batch_rejects_duplicate_param_keys(api: Api, run_id: str) -> None:
    params = [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]
    api.error("POST", "runs/log-batch", {"run_id": run_id, "params": params}, status=400, code=IPV)


def test_log_batch_to_unknown_run_is_404(api: Api) -> None:
    body = {"run_id": NO_SUCH_RUN, "metrics": _metrics(1)}
    api.error("POST", "runs/log-batch", body, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_log_batch_accepts_int64_as_strings(api: Api, run_id: str) -> None:
    metrics = [{"key": "m", "value": 1.5, "timestamp": "1700000000000", "step": "3"}]
    api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
    history = api.history(run_id)
    assert [(p["timestamp"], p["step"]) for p in history["metrics"]] == [(1700000000000, 3)]
