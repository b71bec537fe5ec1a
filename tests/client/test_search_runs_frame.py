"""``mlflow_client.search_runs`` against ``mlflow.search_runs`` on the same data: the same DataFrame.

Each comparison runs both on one store (a real ``mlflow server``, the stub, a local ``mlruns`` folder) and
checks the frames with ``pandas.testing.assert_frame_equal``, dtypes included.
"""

from __future__ import annotations

import math
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import mlflow_client
import pandas as pd
import pytest
from mlflow_client import MlflowClient, _runs_frame, _tracking_uri, fluent
from mlflow_client.entities import Metric, Param, RunTag
from mlflow_client.exceptions import InvalidParameterValue

T0 = 1_700_000_000_000


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)


@contextmanager
def tracking(uri: str) -> Iterator[None]:
    """Both fluent APIs pointed at ``uri``; both put back afterwards (other tests share this process)."""
    ours_before = _tracking_uri._set_uri
    mlflow.set_tracking_uri(uri)
    mlflow_client.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri("")
        mlflow_client.set_tracking_uri(ours_before)


def both(uri: str, **kwargs: Any) -> tuple[Any, Any]:
    with tracking(uri):
        return mlflow_client.search_runs(**kwargs), mlflow.search_runs(**kwargs)


def assert_same_frame(uri: str, **kwargs: Any) -> pd.DataFrame:
    ours, theirs = both(uri, **kwargs)
    assert isinstance(ours, pd.DataFrame)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=True, check_column_type=True)
    return ours


def populate(client: MlflowClient) -> tuple[str, list[str]]:
    """An experiment of five runs with differing metrics, params and tags, a NaN, a running and a failed run."""
    exp = client.create_experiment(f"frame-{uuid.uuid4().hex}")
    specs: list[tuple[dict[str, float], dict[str, str], dict[str, str], str | None]] = [
        ({"loss": 0.5, "acc": 0.9}, {"lr": "0.1", "depth": "3"}, {"team": "a"}, "FINISHED"),
        ({"loss": float("nan")}, {"lr": "0.2"}, {"team": "b", "extra": "x"}, "FINISHED"),
        ({"acc": 0.7, "f1": 1.0, "inf": float("inf")}, {"depth": "5", "opt": "adam"}, {}, None),
        ({}, {}, {"only": "tag"}, "FAILED"),
        ({"loss": 0.1, "acc": 0.95, "f1": 0.5}, {"lr": "0.3", "depth": "4", "opt": "sgd"}, {"team": "a"}, "FINISHED"),
    ]
    run_ids = []
    for i, (metrics, params, tags, status) in enumerate(specs):
        run = client.create_run(exp, start_time=T0 + i * 1000, run_name=f"r{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, T0, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if status is not None:
            client.set_terminated(run.info.run_id, status, end_time=T0 + i * 1000 + 500)
        run_ids.append(run.info.run_id)
    return exp, run_ids


@pytest.fixture
def populated(server_url: str) -> tuple[str, str, list[str]]:
    with MlflowClient(server_url) as client:
        exp, run_ids = populate(client)
    return server_url, exp, run_ids


def test_frame_matches_mlflow(populated: tuple[str, str, list[str]]) -> None:
    url, exp, run_ids = populated
    frame = assert_same_frame(url, experiment_ids=[exp])
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert list(frame["run_id"]) == run_ids[::-1]  # start_time DESC
    assert str(frame["start_time"].dtype).endswith(", UTC]")
    running = frame[frame["run_id"] == run_ids[2]]
    assert running["end_time"].isna().all() and (running["status"] == "RUNNING").all()
    assert math.isnan(frame.loc[frame["run_id"] == run_ids[1], "metrics.loss"].iloc[0])  # logged NaN
    assert frame.loc[frame["run_id"] == run_ids[3], "params.lr"].isna().all()  # missing param


def test_column_order_matches_with_many_keys(server_url: str) -> None:
    # Column order within metrics.*, params.* and tags.* follows set iteration, which depends on how the sets
    # are built once they hold more than a handful of keys: rows bring 3 to 40 new keys here.
    with MlflowClient(server_url) as client:
        exp = client.create_experiment(f"frame-keys-{uuid.uuid4().hex}")
        for i, count in enumerate((3, 12, 40, 7)):
            run = client.create_run(exp, start_time=T0 + i)
            keys = [f"k{i}_{j}" if j % 2 else f"shared_{j}" for j in range(count)]
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, float(j), T0, 0) for j, k in enumerate(keys)],
                params=[Param(k, str(j)) for j, k in enumerate(keys)],
                tags=[RunTag(k, str(j)) for j, k in enumerate(keys)],
            )
    frame = assert_same_frame(server_url, experiment_ids=[exp])
    assert len([c for c in frame.columns if c.startswith("params.")]) == 50  # 20 shared, 30 of one run each


def test_order_by_and_filter_match(populated: tuple[str, str, list[str]]) -> None:
    url, exp, run_ids = populated
    ordered = assert_same_frame(url, experiment_ids=[exp], order_by=["metrics.acc DESC", "params.lr"])
    assert ordered["run_id"].iloc[0] == run_ids[4]
    filtered = assert_same_frame(url, experiment_ids=[exp], filter_string="metrics.acc > 0.8")
    assert sorted(filtered["run_id"]) == sorted([run_ids[0], run_ids[4]])
    running = assert_same_frame(url, experiment_ids=[exp], filter_string="attributes.status = 'RUNNING'")
    assert list(running["run_id"]) == [run_ids[2]] and running["end_time"].isna().all()  # no end time at all


def test_run_view_type_matches(populated: tuple[str, str, list[str]]) -> None:
    url, exp, run_ids = populated
    with MlflowClient(url) as client:
        client.delete_run(run_ids[0])
    deleted = assert_same_frame(url, experiment_ids=[exp], run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert list(deleted["run_id"]) == [run_ids[0]]
    every = assert_same_frame(url, experiment_ids=[exp], run_view_type=mlflow.entities.ViewType.ALL)
    assert len(every) == len(run_ids)


def test_paging_and_max_results_match(populated: tuple[str, str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, exp, run_ids = populated
    # Pages of two runs on both sides, so that three runs take two requests.
    monkeypatch.setattr(_runs_frame, "NUM_RUNS_PER_PAGE_PANDAS", 2)
    monkeypatch.setattr(mlflow.tracking.fluent, "NUM_RUNS_PER_PAGE_PANDAS", 2)
    frame = assert_same_frame(url, experiment_ids=[exp], max_results=3)
    assert list(frame["run_id"]) == run_ids[:1:-1]
    assert len(assert_same_frame(url, experiment_ids=[exp])) == len(run_ids)


def test_list_output_matches(populated: tuple[str, str, list[str]]) -> None:
    url, exp, _ = populated
    ours, theirs = both(url, experiment_ids=[exp], output_format="list", order_by=["attributes.start_time"])
    assert isinstance(ours[0], mlflow_client.entities.Run)
    assert [r.info.run_id for r in ours] == [r.info.run_id for r in theirs]
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.data.params == other.data.params and mine.data.tags == other.data.tags
        assert str(mine.data.metrics) == str(other.data.metrics)  # NaN == NaN as text


def test_empty_result_matches(populated: tuple[str, str, list[str]]) -> None:
    url, exp, _ = populated
    frame = assert_same_frame(url, experiment_ids=[exp], filter_string="params.lr = 'nothing'")
    assert frame.empty and list(frame.columns[:2]) == ["run_id", "experiment_id"]


def test_experiment_names_match(populated: tuple[str, str, list[str]], caplog: pytest.LogCaptureFixture) -> None:
    url, exp, run_ids = populated
    with MlflowClient(url) as client:
        name = client.get_experiment(exp).name
    frame = assert_same_frame(url, experiment_names=[name, "no-such-experiment-" + uuid.uuid4().hex])
    assert sorted(frame["run_id"]) == sorted(run_ids)
    assert "Cannot retrieve experiment by name no-such-experiment-" in caplog.text  # skipped, as MLflow does
    missing = assert_same_frame(url, experiment_names=["no-such-experiment-" + uuid.uuid4().hex])
    assert missing.empty


def test_search_all_experiments_matches(populated: tuple[str, str, list[str]]) -> None:
    url, _, run_ids = populated
    frame = assert_same_frame(url, search_all_experiments=True, max_results=50_000)
    assert set(run_ids) <= set(frame["run_id"])


def test_default_experiment_from_env_matches(
    populated: tuple[str, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, exp, run_ids = populated
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", exp)
    frame = assert_same_frame(url)
    assert sorted(frame["run_id"]) == sorted(run_ids)


def test_local_file_store_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no tracking URI: ./mlruns, written by our FileStore
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.17 refuses file stores unless told
    with MlflowClient() as client:
        exp, run_ids = populate(client)
    ours_before = _tracking_uri._set_uri
    mlflow_client.set_tracking_uri(None)
    try:
        ours = mlflow_client.search_runs(experiment_ids=[exp], order_by=["metrics.acc"])
    finally:
        mlflow_client.set_tracking_uri(ours_before)
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    try:
        theirs = mlflow.search_runs(experiment_ids=[exp], order_by=["metrics.acc"])
    finally:
        mlflow.set_tracking_uri("")
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=True)
    assert sorted(ours["run_id"]) == sorted(run_ids)


# -- bad input --------------------------------------------------------------------------------------


def test_unknown_output_format_is_refused_by_name(stub_url: str) -> None:
    with tracking(stub_url), pytest.raises(InvalidParameterValue, match="output_format"):
        mlflow_client.search_runs(experiment_ids=["0"], output_format="csv")  # type: ignore[call-overload]


def test_ids_and_names_together_are_refused(stub_url: str) -> None:
    with tracking(stub_url), pytest.raises(InvalidParameterValue, match="experiment_ids or experiment_names"):
        mlflow_client.search_runs(experiment_ids=["0"], experiment_names=["Default"])


def test_bad_max_results_and_order_by_are_refused_by_name(stub_url: str) -> None:
    with tracking(stub_url):
        with pytest.raises(InvalidParameterValue, match="max_results"):
            mlflow_client.search_runs(experiment_ids=["0"], max_results="10")  # type: ignore[call-overload]
        with pytest.raises(InvalidParameterValue, match="order_by"):
            mlflow_client.search_runs(experiment_ids=["0"], order_by="metrics.a")  # type: ignore[call-overload]


def test_pandas_missing_names_the_extra(stub_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with tracking(stub_url):
        with pytest.raises(ImportError, match=r"pip install 'mlflow-client\[pandas\]'"):
            mlflow_client.search_runs(experiment_ids=["0"])
        assert isinstance(mlflow_client.search_runs(experiment_ids=["0"], output_format="list"), list)


def test_import_does_not_load_pandas() -> None:
    code = "import sys, mlflow_client; mlflow_client.search_runs; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
