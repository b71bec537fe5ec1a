"""``sync``: local folder -> server, server -> server, server -> local folder; idempotent and resumable."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow_client import MlflowClient
from mlflow_client._delivery.batching import history_key
from mlflow_client.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from mlflow_client.sync import SOURCE_RUN_TAG, SYNC_STATE_TAG, SyncError, sync

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.real_server import free_port

ROOT = Path(__file__).resolve().parents[2]
OURS = "mlflow_client."


def write_source(client: MlflowClient, suffix: str = "") -> None:
    """Two experiments (``train``, ``old`` + ``suffix``) with nested, deleted, failed and running runs, every
    kind of data."""
    exp = client.create_experiment("train" + suffix, tags={"team": "ml", "mlflow.note.content": "notes"})
    parent = client.create_run(exp, start_time=1_700_000_000_000, run_name="parent", tags={"mlflow.user": "alice"})
    pid = parent.info.run_id
    client.log_batch(
        pid,
        metrics=[Metric("loss", 1 / (i + 1), 1_700_000_000_000 + i, i) for i in range(2500)]
        + [Metric("odd", math.nan, 5, 0), Metric("odd", math.inf, 6, 1), Metric("odd", 2.0, 6, 1)],
        params=[Param("lr", "0.01"), Param("layers", "3")],
        tags=[RunTag("stage", "final"), RunTag("mlflow.source.name", "train.py")],
    )
    dataset = Dataset("iris", "d41d8", "local", "/data/iris.csv")
    client.log_inputs(pid, [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    client.log_text(pid, "hello", "notes/readme.txt")
    client.log_dict(pid, {"a": 1}, "config.json")
    client.set_terminated(pid, "FINISHED", 1_700_000_500_000)
    child = client.create_run(exp, run_name="child", tags={"mlflow.parentRunId": pid, "mlflow.user": "bob"})
    client.log_metric(child.info.run_id, "loss", 0.5, timestamp=1_700_000_000_001, step=3)
    client.set_terminated(child.info.run_id, "FAILED", 1_700_000_600_000)
    running = client.create_run(exp, run_name="running")
    client.log_param(running.info.run_id, "p", "1")
    gone = client.create_run(exp, run_name="gone")
    client.log_metric(gone.info.run_id, "m", 1.0, step=1)
    client.delete_run(gone.info.run_id)
    old = client.create_experiment("old" + suffix)
    client.create_run(old, run_name="in-old")
    client.delete_experiment(old)


def snapshot(client: MlflowClient) -> dict[str, Any]:
    """Everything sync promises to copy, keyed by names (ids differ between stores)."""
    out: dict[str, Any] = {}
    for exp in client.iter_experiments(ViewType.ALL):
        runs = list(client.iter_runs([exp.experiment_id], "", ViewType.ALL))
        names = {r.info.run_id: r.info.run_name for r in runs}
        state: dict[str, Any] = {}
        for run in runs:
            tags = {k: v for k, v in run.data.tags.items() if not k.startswith(OURS)}
            if "mlflow.parentRunId" in tags:
                tags["mlflow.parentRunId"] = str(names.get(tags["mlflow.parentRunId"], "?"))
            # history_key: NaN equals NaN, and +-Infinity the largest float a SQL store returns for it.
            histories = {
                key: [
                    history_key(m.timestamp, m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)
                ]
                for key in run.data.metrics
            }
            inputs = run.inputs.dataset_inputs if run.inputs is not None else []
            state[str(run.info.run_name)] = {
                "status": run.info.status,
                "times": (run.info.start_time, run.info.end_time),
                "user": run.info.user_id,
                "lifecycle": run.info.lifecycle_stage,
                "params": run.data.params,
                "tags": tags,
                "histories": {k: sorted(v, key=repr) for k, v in histories.items()},
                "inputs": sorted((d.dataset.name, d.dataset.digest, d.dataset.source) for d in inputs),
                "files": client.list_artifact_files(run.info.run_id),
            }
        exp_tags = {k: v for k, v in exp.tags.items() if not k.startswith(OURS)}
        out[exp.name] = (exp.lifecycle_stage, exp_tags, state)
    return out


def _canonical(snap: dict[str, Any]) -> str:
    return json.dumps(snap, sort_keys=True, default=repr)


@pytest.fixture
def source(tmp_path: Path) -> str:
    folder = str(tmp_path / "mlruns")
    write_source(MlflowClient(folder))
    return folder


def test_a_local_store_lands_on_a_server_whole_and_a_second_sync_adds_nothing(source: str, stub: StubServer) -> None:
    report = sync(source, stub.url)
    assert report.ok and report.count("copied") == 5, report.summary()
    theirs = snapshot(MlflowClient(stub.url))
    theirs.pop("Default")
    mine = snapshot(MlflowClient(source))
    mine.pop("Default")
    assert _canonical(theirs) == _canonical(mine)
    writes = {k: v for k, v in stub.httpd.requests.items() if not k.startswith(("get", "search", "list"))}
    again = sync(source, stub.url)
    assert again.ok and again.count("skipped") == 5 and again.count("copied") == 0
    after = {k: v for k, v in stub.httpd.requests.items() if not k.startswith(("get", "search", "list"))}
    assert after == writes  # nothing written the second time


def test_new_data_in_a_run_is_added_by_the_next_sync(source: str, stub: StubServer) -> None:
    sync(source, stub.url)
    local = MlflowClient(source)
    train = local.get_experiment_by_name("train")
    assert train is not None
    [running] = [r for r in local.search_runs([train.experiment_id]) if r.info.run_name == "running"]
    local.log_metric(running.info.run_id, "acc", 0.9, timestamp=7, step=1)
    local.log_text(running.info.run_id, "more", "late.txt")
    local.set_terminated(running.info.run_id, "FINISHED", 1_700_000_900_000)
    report = sync(source, stub.url)
    assert report.count("updated") == 1 and report.count("skipped") == 4
    [outcome] = [r for r in report.runs if r.action == "updated"]
    assert (outcome.points, outcome.files) == (1, 1)
    remote = MlflowClient(stub.url)
    copy = remote.get_run(outcome.dst_run_id)  # type: ignore[arg-type]
    assert copy.info.status == "FINISHED" and copy.data.metrics == {"acc": 0.9}
    assert remote.list_artifact_files(copy.info.run_id) == [("late.txt", 4)]


def test_a_run_that_failed_half_way_is_finished_by_the_next_sync(
    source: str, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    stub.faults.configure([FaultRule(kind="500", rpc="logInputs")])
    report = sync(source, stub.url)
    failed = [r for r in report.runs if r.action == "failed"]
    assert len(failed) == 1 and not report.ok  # only the parent has inputs
    remote = MlflowClient(stub.url)
    train = remote.get_experiment_by_name("train")
    assert train is not None
    copies = {
        r.data.tags[SOURCE_RUN_TAG]: r for r in remote.search_runs([train.experiment_id], run_view_type=ViewType.ALL)
    }
    assert copies[failed[0].src_run_id].data.tags[SYNC_STATE_TAG] == "incomplete"  # never marked done
    stub.faults.configure([])
    again = sync(source, stub.url)
    assert again.ok and again.count("updated") == 1 and again.count("skipped") == 4
    theirs, mine = snapshot(remote), snapshot(MlflowClient(source))
    theirs.pop("Default")
    mine.pop("Default")
    assert _canonical(theirs) == _canonical(mine)


def test_server_to_local_backup_and_on_to_another_server(source: str, tmp_path: Path) -> None:
    with StubServer(port=0) as first, StubServer(port=0) as second:
        sync(source, first.url)
        backup = str(tmp_path / "backup")
        assert sync(first.url, backup).ok
        assert sync(backup, second.url).ok
        a, b, c = (snapshot(MlflowClient(uri)) for uri in (first.url, backup, second.url))
        assert _canonical(a) == _canonical(b) == _canonical(c)


def test_only_what_is_asked_and_a_dry_run_writes_nothing(source: str, stub: StubServer) -> None:
    dry = sync(source, stub.url, dry_run=True)
    assert dry.count("would copy") == 5 and MlflowClient(stub.url).get_experiment_by_name("train") is None
    local = MlflowClient(source)
    train = local.get_experiment_by_name("train")
    assert train is not None
    parent = next(r for r in local.search_runs([train.experiment_id]) if r.info.run_name == "parent")
    report = sync(source, stub.url, run_ids=[parent.info.run_id])
    assert [r.action for r in report.runs] == ["copied"]
    report = sync(source, stub.url, experiments=["old"])
    assert [r.experiment for r in report.runs] == ["old"]


def test_an_experiment_of_the_same_name_is_merged_into(source: str, stub: StubServer) -> None:
    remote = MlflowClient(stub.url)
    exp = remote.create_experiment("train", tags={"team": "theirs"})
    mine = remote.create_run(exp, run_name="already-there")
    sync(source, stub.url)
    runs = {r.info.run_name for r in remote.search_runs([exp], run_view_type=ViewType.ALL)}
    assert runs == {"already-there", "parent", "child", "running", "gone"}
    assert remote.get_experiment(exp).tags["team"] == "theirs"  # kept; missing tags are added
    assert remote.get_experiment(exp).tags["mlflow.note.content"] == "notes"
    assert remote.get_run(mine.info.run_id).data.tags.get(SOURCE_RUN_TAG) is None


def test_bad_stores_are_clear_errors_and_nothing_is_written(source: str, tmp_path: Path) -> None:
    with pytest.raises(SyncError, match="cannot reach DST"):
        sync(source, f"http://127.0.0.1:{free_port()}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SyncError, match="not a tracking store"):
        sync(str(tmp_path / "empty"), str(tmp_path / "dst"))
    with pytest.raises(SyncError, match="not a tracking store"):
        sync(str(tmp_path / "missing"), str(tmp_path / "dst"))
    assert not (tmp_path / "dst").exists() or not any((tmp_path / "dst").iterdir())


def test_the_command_line(source: str, stub: StubServer) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "mlflow_client", "sync", source, stub.url]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("5 runs copied, 0 updated, 0 unchanged, 0 failed; 2505 metric points, 2 files")
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "0 runs copied, 0 updated, 5 unchanged" in again.stdout
    down = subprocess.run(
        [*cmd[:-1], f"http://127.0.0.1:{free_port()}"], env=env, capture_output=True, text=True, check=False
    )
    assert down.returncode == 1 and down.stderr.startswith("error: cannot reach DST") and "Traceback" not in down.stderr


@pytest.mark.mlflow_server
def test_mlflows_own_client_reads_what_a_sync_wrote(tmp_path: Path, mlflow_server_url: str) -> None:
    import uuid

    import mlflow

    # The real server is shared by the session: experiment names of this test's own.
    suffix = "-" + uuid.uuid4().hex[:6]
    source = str(tmp_path / "own-mlruns")
    local = MlflowClient(source)
    write_source(local, suffix)
    report = sync(source, mlflow_server_url, experiments=[f"train{suffix}", f"old{suffix}"])
    assert report.ok and report.count("copied") == 5, report.summary()
    assert sync(source, mlflow_server_url, experiments=[f"train{suffix}", f"old{suffix}"]).count("skipped") == 5
    theirs = mlflow.MlflowClient(mlflow_server_url)
    exp = theirs.get_experiment_by_name(f"train{suffix}")
    assert exp is not None
    runs = {r.info.run_name: r for r in theirs.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)}
    local_exp = local.get_experiment_by_name(f"train{suffix}")
    assert local_exp is not None
    mine = {r.info.run_name: r for r in local.search_runs([local_exp.experiment_id], run_view_type=ViewType.ALL)}
    assert set(runs) == set(mine)
    for name, run in runs.items():
        src = mine[name]
        assert (run.info.status, run.info.start_time, run.info.end_time, run.info.lifecycle_stage) == (
            src.info.status,
            src.info.start_time,
            src.info.end_time,
            src.info.lifecycle_stage,
        )
        assert run.data.params == src.data.params
        assert {k: v for k, v in run.data.tags.items() if k.startswith("mlflow.source")} == {
            k: v for k, v in src.data.tags.items() if k.startswith("mlflow.source")
        }
        for key in src.data.metrics:
            ours = sorted(
                (history_key(m.timestamp, m.step, m.value) for m in local.get_metric_history(src.info.run_id, key)),
                key=repr,
            )
            official = theirs.get_metric_history(run.info.run_id, key)
            assert sorted((history_key(m.timestamp, m.step, m.value) for m in official), key=repr) == ours, (name, key)
    parent = runs["parent"]
    assert runs["child"].data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert sorted(f.path for f in theirs.list_artifacts(parent.info.run_id)) == ["config.json", "notes"]
    assert parent.inputs is not None and [d.dataset.name for d in parent.inputs.dataset_inputs] == ["iris"]
    old = theirs.get_experiment_by_name(f"old{suffix}")
    assert old is not None and old.lifecycle_stage == "deleted"


def test_a_child_copied_before_its_parent_points_to_the_parents_copy_after_the_next_sync(
    source: str, stub: StubServer
) -> None:
    local = MlflowClient(source)
    train = local.get_experiment_by_name("train")
    assert train is not None
    runs = {r.info.run_name: r for r in local.search_runs([train.experiment_id])}
    first = sync(source, stub.url, run_ids=[runs["child"].info.run_id])  # as an uploader of ended runs may
    [child] = first.runs
    remote = MlflowClient(stub.url)
    assert remote.get_run(child.dst_run_id).data.tags["mlflow.parentRunId"] == runs["parent"].info.run_id  # type: ignore[arg-type]
    second = sync(source, stub.url)
    assert [r.action for r in second.runs if r.src_run_id == runs["child"].info.run_id] == ["updated"]
    parent_copy = next(r.dst_run_id for r in second.runs if r.src_run_id == runs["parent"].info.run_id)
    assert remote.get_run(child.dst_run_id).data.tags["mlflow.parentRunId"] == parent_copy  # type: ignore[arg-type]
    assert sync(source, stub.url).count("skipped") == 5


def test_a_sync_cut_off_mid_way_stops_with_a_clear_error_and_the_next_one_finishes(
    source: str, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow_client.exceptions import InvalidParameterValue

    with pytest.raises(InvalidParameterValue, match="workers"):
        sync(source, stub.url, workers=0)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    stub.faults.configure([FaultRule(kind="reset", rpc="logBatch")])
    with pytest.raises(SyncError, match="lost DST"):
        sync(source, stub.url, workers=3)
    remote = MlflowClient(stub.url)
    train = remote.get_experiment_by_name("train")
    assert train is not None
    states = [
        r.data.tags[SYNC_STATE_TAG] for r in remote.search_runs([train.experiment_id], run_view_type=ViewType.ALL)
    ]
    assert states and all(s == "incomplete" for s in states)  # nothing half-copied is marked done
    stub.faults.configure([])
    assert sync(source, stub.url, workers=1).ok
    theirs, mine = snapshot(remote), snapshot(MlflowClient(source))
    theirs.pop("Default")
    mine.pop("Default")
    assert _canonical(theirs) == _canonical(mine)
