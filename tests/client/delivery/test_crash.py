"""Processes that die, exit, fork and share: what they logged reaches the server exactly once."""

from __future__ import annotations

import base64
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from mlflow_client import MlflowClient, flush_async_logging
from mlflow_client._delivery.spool import status

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.client.delivery.child import T0
from tests.real_server import free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["sql", "file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stub.db'}" if request.param == "sql" else str(tmp_path / "mlruns")


def _child(mode: str, url: str, run_id: str, n: int, spool: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.client.delivery.child", mode, url, run_id, str(n)],
        cwd=ROOT,
        env={**os.environ, "MLFLOW_CLIENT_SPOOL_DIR": str(spool), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    assert got == line, f"child said {got!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"


def _assert_points(client: MlflowClient, run_id: str, n: int) -> None:
    history = client.get_metric_history(run_id, "loss")
    steps = Counter(m.step for m in history)
    assert len(history) == n, (
        f"{len(history)} points for {n}; repeated steps: {[s for s, c in steps.items() if c > 1][:5]}"
    )
    assert sorted(steps) == list(range(n))
    assert all(m.value == m.step / 2 and m.timestamp == T0 + m.step for m in history)


def _poll(condition: object, what: str, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling a condition on the server, not waiting for time to pass


def _run(client: MlflowClient) -> str:
    return client.create_run(client.create_experiment("crash")).info.run_id


def test_sigkill_with_a_batch_in_flight_then_replay_sends_each_point_once(
    backend: str, spool: Path, tmp_path: Path
) -> None:
    with StubServer(port=0, backend_store_uri=backend) as stub:
        client = MlflowClient(stub.url)
        run_id = _run(client)
        # Each batch takes the server 0.5 s, so the child dies with one delivered, one in flight
        # (applied by the server after the child is gone) and the rest never sent.
        stub.faults.configure([FaultRule(kind="latency", rpc="logBatch", latency_ms=500)])
        # A 1 MiB cap makes segments of 128 KiB: the replay crosses several of them.
        child = _child("hang", stub.url, run_id, 5000, spool, MLFLOW_CLIENT_SPOOL_MAX_MB="1")
        _wait_for_line(child, "logged")
        _poll(lambda: stub.httpd.requests["logBatch"] >= 2, "a second batch to reach the server")
        child.send_signal(signal.SIGKILL)
        child.wait()
        _poll(lambda: len(client.get_metric_history(run_id, "loss")) >= 2000, "the batch in flight to land")
        stub.faults.configure([])
        [held] = status(str(spool))
        assert not held.journals[0].alive and held.pending >= 3000  # the rest waits in the dead child's journal
        # A new client of the same server and spool replays it in the background.
        MlflowClient(stub.url)
        flush_async_logging()
        _assert_points(client, run_id, 5000)
        assert status(str(spool)) == []


def test_sigkill_during_an_outage_loses_nothing(spool: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path / 'stub.db'}"
    with StubServer(port=port, backend_store_uri=db) as stub:
        run_id = _run(MlflowClient(stub.url))
    # Nobody listens on the port now; a 4 MiB cap makes segments of 512 KiB, so there are several.
    child = _child("hang", url, run_id, 20_000, spool, MLFLOW_CLIENT_SPOOL_MAX_MB="4")
    _wait_for_line(child, "logged")
    child.send_signal(signal.SIGKILL)
    child.wait()
    [held] = status(str(spool))
    assert held.pending == 20_000 and held.runs() == {run_id: 20_000}
    assert len(list(Path(held.journals[0].folder).glob("*.jsonl"))) >= 3
    with StubServer(port=port, backend_store_uri=db) as stub:
        client = MlflowClient(stub.url)
        flush_async_logging()
        _assert_points(client, run_id, 20_000)


def test_exit_is_bounded_and_says_what_is_left(spool: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path / 'stub.db'}"
    with StubServer(port=port, backend_store_uri=db) as stub:
        run_id = _run(MlflowClient(stub.url))
    child = _child("exit", url, run_id, 3000, spool, MLFLOW_CLIENT_DRAIN_TIMEOUT="2")
    _wait_for_line(child, "logged")
    _, stderr = child.communicate(timeout=120)  # a hang at exit fails here
    assert child.returncode == 0, stderr
    lines = [line for line in stderr.splitlines() if "still in the spool" in line]
    assert len(lines) == 1, stderr
    assert "3000 operations" in lines[0] and "python -m mlflow_client spool flush" in lines[0] and run_id in lines[0]
    assert status(str(spool))[0].pending == 3000
    # The command the line names sends them.
    with StubServer(port=port, backend_store_uri=db) as stub:
        flush = subprocess.run(
            [sys.executable, "-m", "mlflow_client", "spool", "flush", "--timeout", "60"],
            cwd=ROOT,
            env={**os.environ, "MLFLOW_CLIENT_SPOOL_DIR": str(spool), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert flush.returncode == 0, flush.stderr + flush.stdout
        _assert_points(MlflowClient(stub.url), run_id, 3000)
    assert status(str(spool)) == []


def test_exit_with_the_server_up_delivers_everything(backend: str, spool: Path) -> None:
    with StubServer(port=0, backend_store_uri=backend) as stub:
        client = MlflowClient(stub.url)
        run_id = _run(client)
        child = _child("exit", stub.url, run_id, 5000, spool)
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
        assert "still in the spool" not in stderr
        _assert_points(client, run_id, 5000)
        assert status(str(spool)) == []


@pytest.mark.parametrize("child_flushes", [True, False], ids=["child-flushes", "child-just-exits"])
def test_a_forked_child_has_its_own_journal(spool: Path, child_flushes: bool) -> None:
    with StubServer(port=0, backend_store_uri=None) as stub:
        client = MlflowClient(stub.url)
        parent_run, child_run = _run(client), client.create_run("0").info.run_id
        proc = _child(
            "fork", stub.url, parent_run, 2000, spool, CHILD_RUN=child_run, CHILD_FLUSH="1" if child_flushes else "0"
        )
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.split() == ["logged", "flushed"], err
        _assert_points(client, parent_run, 4000)  # nothing of the parent's repeated by the child
        # The child's own points: sent by the child, or found by the parent's flush in the journal the
        # child left behind when it exited without running any exit hook.
        _assert_points(client, child_run, 2000)
        assert status(str(spool)) == []


def test_many_threads_log_to_one_run(spool: Path) -> None:
    with StubServer(port=0) as stub:
        client = MlflowClient(stub.url)
        run_id = _run(client)

        def work(thread: int) -> None:
            for step in range(2000):
                client.log_metric(run_id, f"m{thread}", float(step), timestamp=T0 + step, step=step, synchronous=False)
                if step % 500 == 0:
                    client.set_tag(run_id, f"t{thread}", str(step), synchronous=False)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        flush_async_logging()
        for i in range(8):
            history = client.get_metric_history(run_id, f"m{i}")
            assert sorted(m.step for m in history) == list(range(2000))
        assert {k: v for k, v in client.get_run(run_id).data.tags.items() if k.startswith("t")} == {
            f"t{i}": "1500" for i in range(8)
        }


def test_no_secret_reaches_the_spool_or_the_logs(
    spool: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    password, token = "pw-Zq8-spool-secret", "tok-Xv3-spool-secret"
    with StubServer(port=0, basic_auth=("alice", password)) as stub:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        host = stub.url.removeprefix("http://")
        client = MlflowClient(f"http://alice:{password}@{host}")
        run_id = _run(client)
        with caplog.at_level(logging.DEBUG, logger="mlflow_client"):
            stub.faults.configure([FaultRule(kind="503", rpc="logBatch", count=2)])
            for step in range(100):
                client.log_metric(run_id, "loss", 1.0, step=step, synchronous=False)
            client.log_param(run_id, "p", "1")
            client.log_param(run_id, "p", "2", synchronous=False)  # a dead letter: a file that stays
            with pytest.raises(Exception, match="asynchronous logging operation"):
                flush_async_logging()
            stub.stop()
            client.log_metric(run_id, "after", 1.0, synchronous=False)  # spooled during an outage
        words = [password, token, base64.b64encode(f"alice:{password}".encode()).decode()]
        files = [p for p in spool.rglob("*") if p.is_file()]
        assert any(p.name == "dead-letter.jsonl" for p in files) and any(p.suffix == ".jsonl" for p in files)
        for path in files:
            data = path.read_bytes()
            for word in words:
                assert word.encode() not in data, f"{word[:6]}... in {path}"
        text = caplog.text + repr(client) + repr(client._delivery()) + repr(client._settings)
        for word in words:
            assert word not in text


def test_a_record_this_version_cannot_read_is_dead_lettered_and_the_rest_replayed(spool: Path) -> None:
    import json

    from mlflow_client._delivery.journal import JournalWriter
    from mlflow_client._delivery.records import encode_metric
    from mlflow_client._delivery.spool import server_folder

    with StubServer(port=0) as stub:
        client = MlflowClient(stub.url)
        run_id = _run(client)
        writer = JournalWriter(os.path.join(server_folder(str(spool), stub.url), "gone-1-abc"), 2**20)
        writer.append(encode_metric(run_id, "loss", 0.0, T0, 0))
        writer.append(json.dumps(["z", run_id, "from a newer client"]).encode())
        writer.append(encode_metric(run_id, "loss", 0.5, T0 + 1, 1))
        writer.abandon()  # the process that wrote it is gone
        MlflowClient(stub.url)
        flush_async_logging()
        _assert_points(client, run_id, 2)
        [held] = status(str(spool))
        assert held.pending == 0 and held.dead_letters == 1
        entry = json.loads((Path(held.folder) / "dead-letter.jsonl").read_text())
        assert entry["op"] == "unreadable" and entry["record"] == [2, "z", run_id, "from a newer client"]
