"""Offline runs (MLFLOW_CLIENT_OFFLINE=true|auto): recorded locally, uploaded by ``sync --offline`` or in the
background, with the local id on the server's run and the mapping in ``spool status``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.entities import ViewType
from mlflow_client.exceptions import ConfigurationError
from mlflow_client.sync import SOURCE_RUN_TAG, SYNC_STATE_TAG

from server_stub import StubServer
from tests.real_server import free_port

ROOT = Path(__file__).resolve().parents[2]

# A training job as users write it: fluent API, nested run, async and sync logging, an artifact, and
# MlflowClient calls on the side. It prints the ids it saw.
JOB = textwrap.dedent(
    """
    import json, sys
    import mlflow_client as mlflow
    from mlflow_client import MlflowClient

    mlflow.set_experiment("offline-exp")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", "0.01")
        mlflow.set_tag("stage", "train")
        for step in range(300):
            mlflow.log_metric("loss", 1 / (step + 1), step=step, synchronous=step % 2 == 0)
        mlflow.log_text("hello", "notes/readme.txt")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metrics({"acc": 0.5, "f1": 0.25}, step=1)
        if "wait" in sys.argv:  # wait until told (the test starts the server meanwhile)
            print("ready", flush=True)
            sys.stdin.readline()
    ids = {"parent": parent.info.run_id, "child": child.info.run_id}
    if "side" in sys.argv:
        client = MlflowClient()
        side_exp = client.get_experiment_by_name("side-exp")
        side_exp = side_exp or client.get_experiment(client.create_experiment("side-exp"))
        side = client.create_run(side_exp.experiment_id, run_name="side")
        client.log_param(side.info.run_id, "p", "1")
        client.set_terminated(side.info.run_id, "KILLED")
        ids.update(side=side.info.run_id, client=repr(client))
    print(json.dumps(ids))
    """
)


def _env(tmp_path: Path, uri: str, mode: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_CLIENT_OFFLINE": mode,
        "MLFLOW_CLIENT_SPOOL_DIR": str(tmp_path / "spool"),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0.05",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlflow_client", *args], env=env, capture_output=True, text=True, check=False
    )


def _check_uploaded(server_url: str, ids: dict[str, str]) -> dict[str, Any]:
    """The server's copy of the job, checked; returns the server's runs by name."""
    remote = MlflowClient(server_url, offline="false")
    exp = remote.get_experiment_by_name("offline-exp")
    assert exp is not None
    runs = {str(r.info.run_name): r for r in remote.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)}
    if "side" in ids:
        side_exp = remote.get_experiment_by_name("side-exp")
        assert side_exp is not None
        [runs["side"]] = remote.search_runs([side_exp.experiment_id])
    assert set(runs) == set(ids) - {"client"}
    for name in runs:
        assert runs[name].data.tags[SOURCE_RUN_TAG] == ids[name]  # the local id the code saw
        assert runs[name].data.tags[SYNC_STATE_TAG].startswith("complete ")
    parent, child = runs["parent"], runs["child"]
    assert (parent.info.status, child.info.status) == ("FINISHED", "FINISHED")
    assert parent.data.params == {"lr": "0.01"} and parent.data.tags["stage"] == "train"
    loss = remote.get_metric_history(parent.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in loss) == [(s, 1 / (s + 1)) for s in range(300)]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id  # remapped
    assert child.data.metrics == {"acc": 0.5, "f1": 0.25}
    assert remote.list_artifact_files(parent.info.run_id) == [("notes/readme.txt", 5)]
    if "side" in runs:
        assert runs["side"].info.status == "KILLED" and runs["side"].data.params == {"p": "1"}
    return runs


def test_offline_true_never_contacts_the_server_and_sync_uploads_everything(tmp_path: Path, stub: StubServer) -> None:
    uri = stub.url.replace("http://", "http://alice:s3cret@")
    env = _env(tmp_path, uri, "true")
    job = subprocess.run([sys.executable, "-c", JOB, "side"], env=env, capture_output=True, text=True, check=False)
    assert job.returncode == 0, job.stderr
    ids = json.loads(job.stdout.strip().splitlines()[-1])
    assert sum(stub.httpd.requests.values()) == 0  # not one request reached the server
    assert "s3cret" not in ids["client"] and "offline=True" in ids["client"]

    status = _cli(env, "spool", "status")
    assert status.returncode == 0, status.stderr
    assert "3 runs recorded offline, 0 uploaded" in status.stdout and f"run {ids['parent']} not uploaded yet" in (
        status.stdout
    )
    # Uploading needs the server's credentials: the stub has no auth, but MLFLOW_TRACKING_URI's are used.
    up = _cli(env, "sync", "--offline")
    assert up.returncode == 0, up.stderr
    assert "3 runs copied, 0 updated, 0 unchanged, 0 failed; 302 metric points, 1 files" in up.stdout
    runs = _check_uploaded(stub.url, ids)
    assert f"copied run {ids['parent']} -> {runs['parent'].info.run_id}" in up.stdout
    after = json.loads(_cli(env, "spool", "status", "--json").stdout)
    [store] = after["offline"]
    mapping = {r["run_id"]: r["server_run_id"] for r in store["runs"]}
    assert mapping == {ids[name]: runs[name].info.run_id for name in ("parent", "child", "side")}
    assert "s3cret" not in json.dumps(after) and "alice" not in json.dumps(after)
    spool_files = [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]
    assert not any(b"s3cret" in p.read_bytes() for p in spool_files)
    again = _cli(env, "sync", "--offline")
    assert again.returncode == 0 and "0 runs copied, 0 updated, 3 unchanged" in again.stdout


def test_auto_mode_with_no_server_records_offline_and_sync_uploads_later(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, f"http://127.0.0.1:{port}", "auto")
    job = subprocess.run([sys.executable, "-c", JOB], env=env, capture_output=True, text=True, check=False)
    assert job.returncode == 0, job.stderr
    ids = json.loads(job.stdout.strip().splitlines()[-1])
    warnings = [line for line in job.stderr.splitlines() if "cannot be reached" in line]
    assert len(warnings) == 1 and "recording runs offline" in warnings[0]  # once, for both runs
    with StubServer(port=port) as server:
        up = _cli(env, "sync", "--offline")
        assert up.returncode == 0, up.stderr
        _check_uploaded(server.url, ids)


def test_auto_mode_uploads_in_the_background_once_the_server_is_back(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, f"http://127.0.0.1:{port}", "auto")
    job = subprocess.Popen(
        [sys.executable, "-c", JOB, "wait", "side"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert job.stdout is not None and job.stdin is not None
    assert job.stdout.readline().strip() == "ready"  # the runs started while nothing listened on the port
    with StubServer(port=port) as server:
        out, err = job.communicate("go\n", timeout=120)
        assert job.returncode == 0, err
        ids = json.loads(out.strip().splitlines()[-1])
        # The job ended the runs and exited; its uploader sent them before exit (no `sync` was run).
        remote = MlflowClient(server.url)
        exp = remote.get_experiment_by_name("offline-exp")
        assert exp is not None
        runs = {r.info.run_name: r for r in remote.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)}
        assert set(runs) == {"parent", "child"}, err
        side_exp = remote.get_experiment_by_name("side-exp")
        assert side_exp is not None
        # The side run was created by MlflowClient, online: auto mode changes only start_run.
        [runs["side"]] = remote.search_runs([side_exp.experiment_id])
        assert runs["side"].data.tags.get(SOURCE_RUN_TAG) is None and runs["side"].info.run_id == ids["side"]
        assert "offline=True" not in ids["client"]
        assert runs["parent"].data.tags[SOURCE_RUN_TAG] == ids["parent"]
        assert runs["child"].data.tags["mlflow.parentRunId"] == runs["parent"].info.run_id
        status = json.loads(_cli(env, "spool", "status", "--json").stdout)
        [store] = status["offline"]
        assert {r["run_id"]: r["server_run_id"] for r in store["runs"]} == {
            ids["parent"]: runs["parent"].info.run_id,
            ids["child"]: runs["child"].info.run_id,
        }


def test_auto_mode_with_the_server_up_stays_online(tmp_path: Path, stub: StubServer) -> None:
    env = _env(tmp_path, stub.url, "auto")
    job = subprocess.run([sys.executable, "-c", JOB, "side"], env=env, capture_output=True, text=True, check=False)
    assert job.returncode == 0, job.stderr
    ids = json.loads(job.stdout.strip().splitlines()[-1])
    assert "cannot be reached" not in job.stderr
    remote = MlflowClient(stub.url)
    assert remote.get_run(ids["parent"]).data.params == {"lr": "0.01"}  # the server's own id
    assert not (tmp_path / "spool" / "offline").exists()  # nothing made on disk for offline runs


def test_an_unknown_experiment_name_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path, f"http://127.0.0.1:{free_port()}", "auto")
    env["MLFLOW_EXPERIMENT_ID"] = "17"
    code = "import mlflow_client as m\nm.start_run()"
    job = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert job.returncode == 1 and "name of experiment 17 is not known" in job.stderr


def test_the_setting() -> None:
    assert Settings.from_env({"MLFLOW_CLIENT_OFFLINE": "AUTO"}).offline == "auto"
    assert Settings.from_env({"MLFLOW_CLIENT_OFFLINE": "1"}).offline == "true"
    assert Settings.from_env({}).offline == "false"
    assert Settings(offline=True).offline == "true"  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="MLFLOW_CLIENT_OFFLINE must be one of true, false, auto"):
        Settings.from_env({"MLFLOW_CLIENT_OFFLINE": "sometimes"})
    with pytest.raises(ConfigurationError, match="true, false or auto"):
        Settings(offline="maybe")


def test_sync_of_an_offline_store_by_path_and_the_usage_errors(tmp_path: Path, stub: StubServer) -> None:
    env = _env(tmp_path, stub.url, "true")
    client = MlflowClient(stub.url, offline=True, spool_dir=str(tmp_path / "spool"))
    run = client.create_run("0", run_name="by-path")
    client.log_metric(run.info.run_id, "m", 1.0)
    assert sum(stub.httpd.requests.values()) == 0
    store_root = client._store.root  # type: ignore[union-attr]
    done = _cli(env, "sync", str(store_root), stub.url)  # an offline store is an ordinary local store too
    assert done.returncode == 0 and "1 runs copied" in done.stdout, done.stderr
    assert _cli(env, "sync", "--offline", str(store_root)).returncode == 2
    assert _cli(env, "sync", str(store_root)).returncode == 2
    empty = _env(tmp_path / "other", stub.url, "true")
    nothing = _cli(empty, "sync", "--offline")
    assert nothing.returncode == 0 and "No offline runs to upload." in nothing.stdout


@pytest.mark.mlflow_server
def test_an_offline_job_uploaded_to_a_real_server_reads_back_through_mlflows_client(
    tmp_path: Path, mlflow_server_url: str
) -> None:
    import mlflow

    env = _env(tmp_path, mlflow_server_url, "true")
    job = subprocess.run([sys.executable, "-c", JOB], env=env, capture_output=True, text=True, check=False)
    assert job.returncode == 0, job.stderr
    ids = json.loads(job.stdout.strip().splitlines()[-1])
    up = _cli(env, "sync", "--offline")
    assert up.returncode == 0 and "2 runs copied" in up.stdout, up.stderr
    runs = _check_uploaded(mlflow_server_url, ids)
    theirs = mlflow.MlflowClient(mlflow_server_url)
    parent = theirs.get_run(runs["parent"].info.run_id)
    assert parent.data.params == {"lr": "0.01"} and parent.data.tags[SOURCE_RUN_TAG] == ids["parent"]
    history = theirs.get_metric_history(parent.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(s, 1 / (s + 1)) for s in range(300)]
    child = theirs.get_run(runs["child"].info.run_id)
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert [f.path for f in theirs.list_artifacts(parent.info.run_id)] == ["notes"]
