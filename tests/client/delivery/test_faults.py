"""Asynchronous logging against the stub's faults: nothing lost, nothing twice, the caller never waits.

Each test logs through the public API (``synchronous=False``), lets the stub fail in one way, then
flushes and compares what the server holds with what was logged, point by point.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow_client import MlflowClient, RunOperations, flush_async_logging
from mlflow_client._delivery import existing_delivery
from mlflow_client._delivery.spool import status
from mlflow_client.entities import Metric, Param, RunTag
from mlflow_client.exceptions import AsyncLoggingError, DeliveryTimeout, InvalidParameterValue, SpoolFull

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.real_server import free_port


@pytest.fixture(params=["sql", "file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The stub's two stores: SQLite (ignores an exact duplicate metric, as MLflow's SQL store) and an
    mlruns folder (keeps it, as MLflow's file store)."""
    return None if request.param == "sql" else str(tmp_path / "mlruns")


@pytest.fixture
def server(backend: str | None) -> Iterator[StubServer]:
    with StubServer(port=0, backend_store_uri=backend) as stub:
        yield stub


def _run(client: MlflowClient, name: str = "e") -> str:
    exp = client.create_experiment(name)
    return client.create_run(exp).info.run_id


def _log_steps(client: MlflowClient, run_id: str, n: int, key: str = "loss") -> list[RunOperations]:
    ops = []
    for step in range(n):
        op = client.log_metric(
            run_id, key, step * 0.5, timestamp=1_700_000_000_000 + step, step=step, synchronous=False
        )
        assert isinstance(op, RunOperations)
        ops.append(op)
    return ops


def _assert_exactly_once(client: MlflowClient, run_id: str, n: int, key: str = "loss") -> None:
    history = client.get_metric_history(run_id, key)
    steps = Counter(m.step for m in history)
    assert len(history) == n, (
        f"{len(history)} points for {n} logged; repeated: {[s for s, c in steps.items() if c > 1][:5]}"
    )
    assert sorted(steps) == list(range(n))
    assert all(m.value == m.step * 0.5 for m in history)


def test_a_repeated_batch_is_ignored_by_the_sql_store_and_kept_by_the_file_store(
    server: StubServer, backend: str | None
) -> None:
    """What the client's own check is for: the stub matches MLflow's two stores (tests/test_interop_real_server
    pins the same on a real mlflow server)."""
    client = MlflowClient(server.url)
    run_id = _run(client)
    batch = [Metric("m", 1.0, 10, 1), Metric("m", 2.0, 11, 2)]
    for _ in range(2):
        client.log_batch(run_id, metrics=batch, params=[Param("p", "v")], tags=[RunTag("t", "v")])
    assert len(client.get_metric_history(run_id, "m")) == (2 if backend is None else 4)
    assert client.get_run(run_id).data.params == {"p": "v"}


@pytest.mark.parametrize(
    "rules",
    [
        [FaultRule(kind="503", rpc="logBatch", count=4)],
        [FaultRule(kind="429", rpc="logBatch", count=3, retry_after="1")],
        [
            FaultRule(kind="503", rpc="logBatch", count=2, retry_after="1"),
            FaultRule(kind="500", rpc="logBatch", count=2),
        ],
        [FaultRule(kind="reset", rpc="logBatch", count=3)],
        [FaultRule(kind="drop", rpc="logBatch", count=3)],
        [FaultRule(kind="502", rpc="logBatch", count=2), FaultRule(kind="drop", rpc="logBatch", count=2)],
    ],
    ids=["503", "429-retry-after", "503-then-500", "reset", "drop-after-apply", "502-and-drop"],
)
def test_faults_delay_delivery_but_lose_and_repeat_nothing(
    server: StubServer, spool: Path, rules: list[FaultRule]
) -> None:
    client = MlflowClient(server.url)
    run_id = _run(client)
    server.faults.configure(rules)
    _log_steps(client, run_id, 2500)
    client.log_param(run_id, "lr", 0.01, synchronous=False)
    client.set_tag(run_id, "phase", "a", synchronous=False)
    client.set_tag(run_id, "phase", "b", synchronous=False)
    flush_async_logging()
    assert all(rule.count == 0 for rule in server.faults.rules), "every fault fired"
    _assert_exactly_once(client, run_id, 2500)
    data = client.get_run(run_id).data
    assert data.params == {"lr": "0.01"} and data.tags["phase"] == "b"
    assert status(str(spool)) == []  # everything delivered: the journal is gone, no dead letters


def test_a_call_never_waits_for_the_network(spool: Path) -> None:
    """A server that accepts connections and never answers (a hung network path): calls return at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(100)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        client = MlflowClient(url, timeout=300)
        done = threading.Event()

        def train() -> None:
            for step in range(5000):
                client.log_metric("run-1", "loss", 1.0, step=step, synchronous=False)
            done.set()

        thread = threading.Thread(target=train)
        thread.start()
        # If a call waited on the network it would wait for the 300 s timeout; 60 s is a generous bound.
        assert done.wait(60), "logging blocked on a server that never answers"
        [server] = status(str(spool))
        assert server.pending == 5000 and server.runs() == {"run-1": 5000}
        with pytest.raises(DeliveryTimeout, match="stays in the spool"):
            flush_async_logging(timeout=0.5)
    finally:
        listener.close()


def test_an_outage_keeps_data_until_the_server_is_back(tmp_path: Path, spool: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'stub.db'}"
    with StubServer(port=port, backend_store_uri=db) as first:
        client = MlflowClient(first.url, timeout=5)
        run_id = _run(client)
        _log_steps(client, run_id, 500)
        flush_async_logging()
    # The server is gone: logging goes on, into the spool.
    for step in range(500, 3000):
        client.log_metric(run_id, "loss", step * 0.5, timestamp=1_700_000_000_000 + step, step=step, synchronous=False)
    with pytest.raises(DeliveryTimeout):
        flush_async_logging(timeout=1.0)
    [held] = status(str(spool))
    assert held.pending >= 2500 - 1000  # what the sender holds in memory is in the journal too
    with StubServer(port=port, backend_store_uri=db):
        flush_async_logging()
        _assert_exactly_once(client, run_id, 3000)


def test_a_refused_item_is_isolated_dead_lettered_and_raised(
    server: StubServer, spool: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = MlflowClient(server.url)
    run_id = _run(client)
    client.log_param(run_id, "lr", "0.1")
    ops = _log_steps(client, run_id, 600)
    bad = client.log_param(run_id, "lr", "0.2", synchronous=False)  # a conflict: refused for good
    client.set_tag(run_id, "after", "yes", synchronous=False)
    with caplog.at_level(logging.WARNING, logger="mlflow_client"), pytest.raises(AsyncLoggingError) as info:
        assert bad is not None
        bad.wait()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and info.value.http_status == 400
    assert isinstance(info.value.failures[0], InvalidParameterValue)
    for op in ops:
        op.wait()  # everything around it landed
    flush_async_logging()  # the failure was raised by wait() already
    _assert_exactly_once(client, run_id, 600)
    data = client.get_run(run_id).data
    assert data.params == {"lr": "0.1"} and data.tags["after"] == "yes"
    assert any(run_id in r.getMessage() and "'lr'" in r.getMessage() for r in caplog.records)
    [held] = status(str(spool))
    assert held.pending == 0 and held.dead_letters == 1
    [line] = (Path(held.folder) / "dead-letter.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["op"] == "param" and entry["key"] == "lr" and entry["value"] == "0.2"
    assert entry["run_id"] == run_id and entry["error_code"] == "INVALID_PARAMETER_VALUE"


def test_unwaited_failures_are_raised_by_flush_once(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url)
    run_id = _run(client)
    client.log_param(run_id, "a", "1")
    client.log_param(run_id, "a", "2", synchronous=False)
    with pytest.raises(AsyncLoggingError, match="1 asynchronous logging operation"):
        flush_async_logging()
    flush_async_logging()


def test_a_deleted_run_is_dead_lettered_without_a_request_per_item(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url)
    run_id = _run(client)
    client.delete_run(run_id)
    before = server.httpd.requests["logBatch"]
    _log_steps(client, run_id, 1000)
    with pytest.raises(AsyncLoggingError) as info:
        flush_async_logging()
    assert len(info.value.failures) >= 1
    assert server.httpd.requests["logBatch"] - before <= 2
    [held] = status(str(spool))
    assert held.dead_letters == 1000


def test_end_run_delivers_the_runs_data_first(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url)
    run_id = _run(client)
    server.faults.configure([FaultRule(kind="503", rpc="logBatch", count=3)])
    _log_steps(client, run_id, 300)
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    _assert_exactly_once(client, run_id, 300)
    log = list(server.httpd.request_log)
    assert log.index("updateRun") > max(i for i, rpc in enumerate(log) if rpc == "logBatch")


def test_end_run_during_an_outage_returns_and_keeps_the_status_spooled(tmp_path: Path, spool: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'stub.db'}"
    with StubServer(port=port, backend_store_uri=db) as first:
        client = MlflowClient(first.url, timeout=5, drain_timeout=1)
        run_id = _run(client)
    _log_steps(client, run_id, 100)
    client.set_terminated(run_id, "FAILED")  # returns after drain_timeout: nothing raised, nothing lost
    with StubServer(port=port, backend_store_uri=db):
        flush_async_logging()
        assert client.get_run(run_id).info.status == "FAILED"
        _assert_exactly_once(client, run_id, 100)


def test_log_batch_params_tags_and_inputs_asynchronously(server: StubServer, spool: Path) -> None:
    from mlflow_client.entities import Dataset, DatasetInput, InputTag

    client = MlflowClient(server.url)
    run_id = _run(client)
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(250)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(150)]
    op = client.log_batch(run_id, metrics, params, tags, synchronous=False)
    dataset = DatasetInput(Dataset("train", "d1", "local", "/data"), [InputTag("mlflow.data.context", "training")])
    inputs = client.log_inputs(run_id, [dataset], synchronous=False)
    assert op is not None and inputs is not None
    op.wait()
    inputs.wait()
    run = client.get_run(run_id)
    assert len(run.data.params) == 250 and len([k for k in run.data.tags if k.startswith("t")]) == 150
    assert len(client.get_metric_history(run_id, "m")) == 2500
    assert run.inputs is not None and [d.dataset.name for d in run.inputs.dataset_inputs] == ["train"]


def test_bad_arguments_raise_at_the_call_and_nothing_is_spooled(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url)
    with pytest.raises(InvalidParameterValue, match="step"):
        client.log_metric("r", "loss", 1.0, step="one", synchronous=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValue, match="metric 'loss'"):
        client.log_metric("r", "loss", "high", synchronous=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValue, match="run_id"):
        client.log_metric(None, "loss", 1.0, synchronous=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValue, match="Names may only contain"):
        client.set_tag("r", "bad|key", 1, synchronous=False)
    assert existing_delivery(server.url, client._settings) is None or status(str(spool)) == []


def test_the_cap_is_a_loud_error(spool: Path) -> None:
    client = MlflowClient(f"http://127.0.0.1:{free_port()}", spool_max_mb=1)
    accepted = 0
    with pytest.raises(SpoolFull, match="MLFLOW_CLIENT_SPOOL_MAX_MB"):
        for step in range(100_000):
            client.log_param("run-1", f"p{step}", "x" * 200, synchronous=False)
            accepted += 1
    [held] = status(str(spool))
    assert held.pending == accepted > 1000  # every accepted call is kept; the refused one raised


def test_ending_a_missing_run_raises_what_a_direct_call_would(server: StubServer, spool: Path) -> None:
    from mlflow_client.exceptions import ResourceNotFound

    client = MlflowClient(server.url)
    run_id = _run(client)
    _log_steps(client, run_id, 10)  # this process now logs asynchronously to the server
    with pytest.raises(ResourceNotFound):
        client.set_terminated("no-such-run")
    client.set_terminated(run_id)
    assert client.get_run(run_id).info.status == "FINISHED"


@pytest.mark.parametrize("seed", [1, 2])
def test_random_faults_on_every_rpc_still_give_exactly_what_was_logged(
    server: StubServer, spool: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded faults of every kind on every RPC the sender uses (log-batch, and the history and run
    lookups it makes to check what landed), three runs at once: the end state is exactly what was logged.
    The backoff is shortened so that a hundred failures take seconds, not minutes."""
    from mlflow_client._delivery import sender

    monkeypatch.setattr(sender, "BACKOFF_FIRST", 0.01)
    monkeypatch.setattr(sender, "_EXIT_BACKOFF_MAX", 0.05)
    client = MlflowClient(server.url)
    runs = [_run(client, f"r{i}") for i in range(3)]
    server.faults.configure(
        [
            FaultRule(kind="drop", probability=0.15),
            FaultRule(kind="503", probability=0.15),
            FaultRule(kind="reset", probability=0.1),
            FaultRule(kind="429", probability=0.05, retry_after="0"),
            FaultRule(kind="502", probability=0.05),
        ],
        seed=seed,
    )
    for step in range(1500):
        for i, run_id in enumerate(runs):
            op = client.log_metric(
                run_id, "loss", step * 0.5, timestamp=1_700_000_000_000 + step, step=step, synchronous=False
            )
            if step % 100 == 0:
                client.set_tag(run_id, "epoch", str(step), synchronous=False)
                client.log_param(run_id, f"p{step}", str(i), synchronous=False)
        if step % 100 == 99:
            assert op is not None
            op.wait()  # an epoch's end: many smaller requests, so that many faults fire
    flush_async_logging()
    fired = sum(rule.fired for rule in server.faults.rules)
    server.faults.configure([])
    assert fired >= 10
    for i, run_id in enumerate(runs):
        _assert_exactly_once(client, run_id, 1500)
        data = client.get_run(run_id).data
        assert data.tags["epoch"] == "1400"
        assert data.params == {f"p{step}": str(i) for step in range(0, 1500, 100)}
    assert status(str(spool)) == []


def test_the_cap_counts_only_what_is_undelivered(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url, spool_max_mb=1)
    run_id = _run(client)
    for epoch in range(10):  # about 4 MB of records in all, through a 1 MiB cap
        ops = [
            client.log_metric(
                run_id, "loss", step * 0.5, timestamp=1_700_000_000_000 + step, step=step, synchronous=False
            )
            for step in range(6000 * epoch, 6000 * (epoch + 1))
        ]
        assert ops[-1] is not None
        ops[-1].wait()
    _assert_exactly_once(client, run_id, 60_000)


def test_calls_within_the_buffering_time_go_in_one_request(server: StubServer, spool: Path) -> None:
    client = MlflowClient(server.url, async_buffering_seconds=2.0)
    run_id = _run(client)
    ops = _log_steps(client, run_id, 100)
    client.log_param(run_id, "p", "1", synchronous=False)
    client.set_tag(run_id, "t", "1", synchronous=False)
    ops[-1].wait()  # a waiter does not wait out the buffering: it sends what is there
    assert server.httpd.requests["logBatch"] == 1
    _assert_exactly_once(client, run_id, 100)
