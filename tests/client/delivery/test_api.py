"""MLflow's asynchronous logging API on our client: names, defaults, return values, and the knobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow_client
import pytest
from mlflow_client import MlflowClient, RunOperations, config, fluent
from mlflow_client._delivery import delivery_for, journal, sender
from mlflow_client._delivery.spool import status
from mlflow_client.exceptions import Unauthenticated

from server_stub import StubServer
from tests.real_server import free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def tracking(stub: StubServer, spool: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    mlflow_client.set_tracking_uri(stub.url)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    yield stub
    while mlflow_client.active_run():
        mlflow_client.end_run()
    mlflow_client.set_tracking_uri(None)
    config._async_logging = None


def test_fluent_calls_return_run_operations_and_end_run_delivers_first(tracking: StubServer) -> None:
    with mlflow_client.start_run() as run:
        ops = [
            mlflow_client.log_metric("loss", 0.5, step=1, synchronous=False),
            mlflow_client.log_metrics({"acc": 0.9, "f1": 0.8}, step=1, synchronous=False),
            mlflow_client.log_param("lr", 0.01, synchronous=False),
            mlflow_client.log_params({"bs": 32}, synchronous=False),
            mlflow_client.set_tag("phase", "train", synchronous=False),
            mlflow_client.set_tags({"team": "ml"}, synchronous=False),
        ]
        assert all(isinstance(op, RunOperations) for op in ops)
        assert mlflow_client.log_metric("sync", 1.0) is None  # synchronous by default, as in MLflow
        assert mlflow_client.log_param("sync_p", 2) == 2
    finished = MlflowClient(tracking.url).get_run(run.info.run_id)  # end_run waited for the data, then ended
    assert finished.info.status == "FINISHED"
    assert finished.data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8, "sync": 1.0}
    assert finished.data.params == {"lr": "0.01", "bs": "32", "sync_p": "2"}
    assert finished.data.tags["phase"] == "train" and finished.data.tags["team"] == "ml"


def test_the_environment_and_enable_async_logging_choose_the_default(
    tracking: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    client = MlflowClient(tracking.url)
    run_id = client.create_run("0").info.run_id
    assert isinstance(client.log_metric(run_id, "m", 1.0), RunOperations)
    assert client.log_metric(run_id, "m", 2.0, synchronous=True) is None  # the argument wins
    config.enable_async_logging(False)
    assert client.log_metric(run_id, "m", 3.0) is None  # code wins over the environment
    config.enable_async_logging()
    op = client.set_tag(run_id, "t", "v")
    assert isinstance(op, RunOperations)
    op.wait()
    assert op.done() and client.get_run(run_id).data.tags["t"] == "v"
    mlflow_client.flush_async_logging()
    assert len(client.get_metric_history(run_id, "m")) == 3


def test_asynchronous_calls_to_a_local_store_are_done_at_once(tmp_path: Path, spool: Path) -> None:
    client = MlflowClient(str(tmp_path / "mlruns"))
    run_id = client.create_run("0").info.run_id
    op = client.log_metric(run_id, "m", 1.0, synchronous=False)
    assert isinstance(op, RunOperations) and op.done()
    op.wait()
    assert client.get_run(run_id).data.metrics == {"m": 1.0}
    assert not spool.exists() or status(str(spool)) == []


def test_bad_credentials_keep_the_data_and_are_raised_to_waiters(spool: Path) -> None:
    with StubServer(port=0, basic_auth=("alice", "right")) as stub:
        good = MlflowClient(stub.url, username="alice", password="right")
        run_id = good.create_run("0").info.run_id
        bad = MlflowClient(f"{stub.url}/", username="alice", password="wrong")  # another client, same server
        op = bad.log_metric(run_id, "m", 1.0, synchronous=False)
        assert op is not None
        with pytest.raises(Unauthenticated):
            op.wait(timeout=30)
        [held] = status(str(spool))
        assert held.pending == 1 and held.dead_letters == 0  # kept, not dead-lettered


def test_memory_stays_bounded_during_an_outage(spool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender, "WINDOW", 1000)
    client = MlflowClient(f"http://127.0.0.1:{free_port()}")
    for step in range(30_000):
        client.log_metric("run-1", "loss", 1.0, step=step, synchronous=False)
    delivery = client._delivery()
    with pytest.raises(mlflow_client.exceptions.DeliveryTimeout):
        delivery.flush(timeout=0.5)
    assert 0 < delivery.sender.pending() <= 1000  # what is in memory; the rest waits on disk
    assert status(str(spool))[0].pending == 30_000


def test_fsync_at_flush_end_of_run_and_every_call_when_asked(
    stub: StubServer, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = journal._fdatasync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(journal, "_fdatasync", counting)
    client = MlflowClient(stub.url, spool_fsync_seconds=3600)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "m", 1.0, synchronous=False)
    assert synced == []  # not at each call
    mlflow_client.flush_async_logging()
    assert len(synced) >= 1
    client.log_metric(run_id, "m", 2.0, synchronous=False)
    before = len(synced)
    client.set_terminated(run_id)
    assert len(synced) > before
    every = MlflowClient(stub.url, spool_fsync_seconds=0, spool_dir=str(spool / "other"))
    before = len(synced)
    for step in range(5):
        every.log_metric(run_id, "n", 1.0, step=step, synchronous=False)
    assert len(synced) - before >= 5


def test_one_sender_per_process_and_server(stub: StubServer, spool: Path) -> None:
    a, b = MlflowClient(stub.url), MlflowClient(stub.url + "/")
    assert a._delivery() is b._delivery() is delivery_for(stub.url, a._settings)
    assert "password" not in repr(a._delivery()) and repr(a).startswith("MlflowClient(")


def test_spool_status_command_lists_pending_per_run(spool: Path) -> None:
    client = MlflowClient(f"http://127.0.0.1:{free_port()}")
    for step in range(7):
        client.log_metric("run-a", "m", 1.0, step=step, synchronous=False)
    client.log_param("run-b", "p", "1", synchronous=False)
    env = {**os.environ, "MLFLOW_CLIENT_SPOOL_DIR": str(spool), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "mlflow_client", "spool", "status"]
    text = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    assert "8 operations pending" in text and "run run-a: 7" in text and "run run-b: 1" in text
    assert "running, sends them itself" in text
    data = json.loads(subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    [server] = data["servers"]
    assert server["pending"] == 8 and server["runs"] == {"run-a": 7, "run-b": 1}
    flush = subprocess.run([*cmd[:-1], "flush", "--timeout", "1"], env=env, capture_output=True, text=True, check=False)
    assert flush.returncode == 1 and "running process" in flush.stderr  # this test's process holds them


def test_spool_flush_says_why_when_the_server_is_unreachable(spool: Path) -> None:
    env = {**os.environ, "MLFLOW_CLIENT_SPOOL_DIR": str(spool), "PYTHONPATH": str(ROOT)}
    url = f"http://127.0.0.1:{free_port()}"
    code = (
        "from mlflow_client import MlflowClient\n"
        f"c = MlflowClient({url!r}, drain_timeout=0)\n"
        "for i in range(10): c.log_metric('r', 'm', 1.0, step=i, synchronous=False)\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    flush = subprocess.run(
        [sys.executable, "-m", "mlflow_client", "spool", "flush", "--timeout", "2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert flush.returncode == 1
    assert "sent 0 operations, 10 left" in flush.stdout
    assert "error:" in flush.stderr and "Connection refused" in flush.stderr and "Traceback" not in flush.stderr


def test_a_refusal_does_not_hide_the_exception_of_the_with_block(tracking: StubServer) -> None:
    with pytest.raises(ZeroDivisionError), mlflow_client.start_run() as run:
        mlflow_client.log_param("p", "1")
        mlflow_client.log_param("p", "2", synchronous=False)  # refused by the server
        _ = 1 / 0
    assert MlflowClient(tracking.url).get_run(run.info.run_id).info.status == "FAILED"
    with pytest.raises(mlflow_client.exceptions.AsyncLoggingError), mlflow_client.start_run():
        mlflow_client.log_param("q", "1")
        mlflow_client.log_param("q", "2", synchronous=False)  # no exception in the block: end_run raises it


def test_an_unusable_spool_folder_is_a_clear_error_and_sync_logging_still_works(
    stub: StubServer, tmp_path: Path
) -> None:
    from mlflow_client.exceptions import ConfigurationError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = MlflowClient(stub.url, spool_dir=str(blocker / "spool"))  # constructing is fine
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "m", 1.0)
    with pytest.raises(ConfigurationError, match="MLFLOW_CLIENT_SPOOL_DIR"):
        client.log_metric(run_id, "m", 2.0, synchronous=False)
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [1.0]
