"""experiments/search and runs/search: filter grammar, order_by, view types, max_results and paging."""

from __future__ import annotations

from typing import Any

from conformance_tests._api import Api, unique

IPV = "INVALID_PARAMETER_VALUE"


def _runs(api: Api, experiment_id: str, **fields: Any) -> list[str]:
    data = api.ok("POST", "runs/search", {"experiment_ids": [experiment_id], **fields})
    return [r["info"]["run_id"] for r in data.get("runs", [])]


def _all_pages(api: Api, rpc: str, body: dict[str, Any], items: str, ident: Any) -> list[Any]:
    seen: list[Any] = []
    token: str | None = None
    for _ in range(50):
        method = "POST"
        page = api.ok(method, rpc, {**body, **({"page_token": token} if token else {})})
        got = page.get(items, [])
        assert len(got) <= body["max_results"], f"page of {len(got)} > max_results {body['max_results']}"
        seen += [ident(x) for x in got]
        token = page.get("next_page_token")
        if not token:
            return seen
    raise AssertionError("paging never ended")


def _scored_runs(api: Api, experiment_id: str) -> dict[str, str]:
    """Runs a (acc 0.9, p=x, tag t=1, FINISHED), b (acc 0.5, p=y), c (no acc)."""
    ids = {}
    for name, start in (("a", 1000), ("b", 2000), ("c", 3000)):
        ids[name] = api.create_run(experiment_id, run_name=name, start_time=start)
    api.ok("POST", "runs/log-metric", {"run_id": ids["a"], "key": "acc", "value": 0.9, "timestamp": 1})
    api.ok("POST", "runs/log-metric", {"run_id": ids["b"], "key": "acc", "value": 0.5, "timestamp": 1})
    api.ok("POST", "runs/log-parameter", {"run_id": ids["a"], "key": "p", "value": "x"})
    api.ok("POST", "runs/log-parameter", {"run_id": ids["b"], "key": "p", "value": "y"})
    api.ok("POST", "runs/set-tag", {"run_id": ids["a"], "key": "t", "value": "1"})
    api.ok("POST", "runs/update", {"run_id": ids["a"], "status": "FINISHED", "end_time": 5000})
    return ids


def test_search_experiments_filters_by_name(api: Api) -> None:
    name = unique()
    exp_id = api.create_experiment(name)
    data = api.ok("POST", "experiments/search", {"filter": f"name = '{name}'", "max_results": 10})
    assert [e["experiment_id"] for e in data["experiments"]] == [exp_id]


def test_search_experiments_pages_have_no_duplicates_or_gaps(api: Api) -> None:
    prefix = unique("paging")
    ids = {api.create_experiment(f"{prefix}-{i}") for i in range(5)}
    body = {"filter": f"name LIKE '{prefix}%'", "max_results": 2}
    seen = _all_pages(api, "experiments/search", body, "experiments", lambda e: e["experiment_id"])
    assert sorted(seen) == sorted(ids), seen


def test_search_experiments_view_type_selects_deleted(api: Api) -> None:
    name = unique()
    exp_id = api.create_experiment(name)
    api.ok("POST", "experiments/delete", {"experiment_id": exp_id})
    body = {"filter": f"name = '{name}'", "max_results": 10}
    assert not api.ok("POST", "experiments/search", body).get("experiments")
    deleted = api.ok("POST", "experiments/search", {**body, "view_type": "DELETED_ONLY"})
    assert [e["experiment_id"] for e in deleted["experiments"]] == [exp_id]


def test_search_runs_filters_by_metric(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, filter="metrics.acc > 0.7") == [ids["a"]]


def test_search_runs_filters_by_param(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, filter="params.p = 'y'") == [ids["b"]]


def test_search_runs_filters_by_tag(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, filter="tags.t = '1'") == [ids["a"]]


def test_search_runs_filters_by_status_attribute(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, filter="attributes.status = 'FINISHED'") == [ids["a"]]


def test_search_runs_combines_clauses_with_and(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, filter="metrics.acc > 0.1 and params.p = 'y'") == [ids["b"]]


def test_search_runs_rejects_malformed_filter(api: Api, experiment_id: str) -> None:
    body = {"experiment_ids": [experiment_id], "filter": "metrics.acc >"}
    api.error("POST", "runs/search", body, status=400, code=IPV)


def test_search_runs_default_order_is_newest_start_time_first(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id) == [ids["c"], ids["b"], ids["a"]]


def test_search_runs_order_by_metric_ascending(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, order_by=["metrics.acc ASC"]) == [ids["b"], ids["a"], ids["c"]]


def test_search_runs_order_by_metric_descending_puts_missing_last(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, order_by=["metrics.acc DESC"]) == [ids["a"], ids["b"], ids["c"]]


def test_search_runs_order_by_start_time_ascending(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    assert _runs(api, experiment_id, order_by=["attributes.start_time ASC"]) == [ids["a"], ids["b"], ids["c"]]


def test_search_runs_run_view_type_selects_lifecycle(api: Api, experiment_id: str) -> None:
    ids = _scored_runs(api, experiment_id)
    api.ok("POST", "runs/delete", {"run_id": ids["b"]})
    assert set(_runs(api, experiment_id)) == {ids["a"], ids["c"]}
    assert _runs(api, experiment_id, run_view_type="DELETED_ONLY") == [ids["b"]]
    assert set(_runs(api, experiment_id, run_view_type="ALL")) == set(ids.values())


def test_search_runs_respects_max_results(api: Api, experiment_id: str) -> None:
    _scored_runs(api, experiment_id)
    data = api.ok("POST", "runs/search", {"experiment_ids": [experiment_id], "max_results": 2})
    assert len(data["runs"]) == 2
    assert data.get("next_page_token"), "a next_page_token is required when more runs match"


def test_search_runs_pages_have_no_duplicates_or_gaps(api: Api, experiment_id: str) -> None:
    ids = {api.create_run(experiment_id, start_time=1000 + i) for i in range(7)}
    body = {"experiment_ids": [experiment_id], "max_results": 3}
    seen = _all_pages(api, "runs/search", body, "runs", lambda r: r["info"]["run_id"])
    assert sorted(seen) == sorted(ids), seen


def test_search_runs_rejects_max_results_0(api: Api, experiment_id: str) -> None:
    body = {"experiment_ids": [experiment_id], "max_results": 0}
    api.error("POST", "runs/search", body, status=400, code=IPV)


def test_search_runs_across_experiments(api: Api) -> None:
    exps = [api.create_experiment() for _ in range(2)]
    ids = {api.create_run(e) for e in exps}
    data = api.ok("POST", "runs/search", {"experiment_ids": exps})
    assert {r["info"]["run_id"] for r in data["runs"]} == ids
