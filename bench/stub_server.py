"""The stub server against a real ``mlflow server``: start-up time and request throughput.

Run with ``python -m bench.stub_server`` (PYTHONPATH at the repository root). Both servers run as
subprocesses on loopback; every process started here is stopped on the way out, failure included.
Targets: stub ready <= 0.5 s after spawn; stub throughput >= 2x MLflow's on both workloads.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.real_server import _mlflow_cli, free_port, mlflow_server_cmd

STUB_STARTS = 5
MLFLOW_STARTS = 3
STUB_REQUESTS = 2000
MLFLOW_REQUESTS = 200
THREADS = 4
WARMUP_PER_THREAD = 10
BATCH_METRICS = 100
RUN_ENTITIES = 50  # metrics, params and tags each, on the run fetched by the get-run workload
STARTUP_TIMEOUT = 60.0
STUB_STARTUP_TARGET = 0.5
THROUGHPUT_TARGET = 2.0
API = "/api/2.0/mlflow"
JSON = {"Content-Type": "application/json"}


@dataclass
class Server:
    """A server subprocess in its own process group (``mlflow server`` forks uvicorn and a job runner)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    ready_s: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        # Children that outlive the leader (MLflow's job runner takes seconds to go) are killed.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.05)  # waiting for processes to exit, not synchronising on timing
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def fail(self, why: str) -> RuntimeError:
        tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
        return RuntimeError(f"{self.name}: {why}\n{tail}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _spawn(name: str, cmd: list[str], workdir: Path, pipe_stdout: bool) -> Server:
    log_path = workdir / f"{name}-{uuid.uuid4().hex[:8]}.log"
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE if pipe_stdout else log,
            stderr=log,
            start_new_session=True,
        )
    return Server(name, proc, log_path)


def _wait_health(server: Server, poller: httpx.Client, deadline: float, interval: float) -> None:
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise server.fail(f"exited with {server.proc.returncode} before answering /health")
        try:
            if poller.get(f"{server.url}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(interval)  # polling a readiness probe
    raise server.fail(f"no /health after {STARTUP_TIMEOUT}s")


def start_stub(workdir: Path, poller: httpx.Client, stack: contextlib.ExitStack) -> Server:
    """``python -m server_stub --port 0`` (in-memory store); ready time runs from spawn to /health 200."""
    cmd = [sys.executable, "-m", "server_stub", "--port", "0", "--artifacts-destination", str(workdir / "stub-art")]
    start = time.perf_counter()
    server = _spawn("stub", cmd, workdir, pipe_stdout=True)
    stack.callback(server.stop)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert server.proc.stdout is not None
    line = b""
    if select.select([server.proc.stdout], [], [], STARTUP_TIMEOUT)[0]:
        line = server.proc.stdout.readline()
    prefix = b"stub server listening on "
    if not line.startswith(prefix):
        raise server.fail(f"unexpected first line {line!r}")
    server.url = line[len(prefix) :].decode().strip()
    _wait_health(server, poller, deadline, interval=0.005)
    server.ready_s = time.perf_counter() - start
    return server


def start_mlflow(workdir: Path, poller: httpx.Client, stack: contextlib.ExitStack) -> Server:
    """``mlflow server`` as ``tests/real_server.py`` starts it: SQLite store, proxied artifacts, 1 worker."""
    run_dir = Path(tempfile.mkdtemp(prefix="mlflow-", dir=workdir))
    port = free_port()
    cmd = mlflow_server_cmd(_mlflow_cli(), port, f"sqlite:///{run_dir / 'mlflow.db'}", str(run_dir / "artifacts"))
    start = time.perf_counter()
    server = _spawn("mlflow", cmd, run_dir, pipe_stdout=False)
    stack.callback(server.stop)
    server.url = f"http://127.0.0.1:{port}"
    _wait_health(server, poller, time.monotonic() + STARTUP_TIMEOUT, interval=0.02)
    server.ready_s = time.perf_counter() - start
    return server


Starter = Callable[[Path, httpx.Client, contextlib.ExitStack], Server]


def startup_series(start: Starter, n: int, workdir: Path, stack: contextlib.ExitStack) -> tuple[list[float], Server]:
    """Start ``n`` servers one after another; all but the last are stopped at once, the last is returned."""
    times: list[float] = []
    # Built before any spawn: creating an httpx.Client (its SSL context) costs milliseconds.
    with httpx.Client(timeout=2.0, trust_env=False) as poller:
        for i in range(n):
            server = start(workdir, poller, stack)
            times.append(server.ready_s)
            if i < n - 1:
                server.stop()
    return times, server


# -- throughput ---------------------------------------------------------------------------------------


def _post(client: httpx.Client, path: str, body: object) -> Any:
    response = client.post(f"{API}/{path}", content=json.dumps(body), headers=JSON)
    if response.status_code != 200:
        raise RuntimeError(f"setup {path}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def _new_run(client: httpx.Client) -> str:
    experiment = _post(client, "experiments/create", {"name": f"bench-{uuid.uuid4().hex}"})
    run = _post(client, "runs/create", {"experiment_id": experiment["experiment_id"], "start_time": _now_ms()})
    return str(run["run"]["info"]["run_id"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _log_batch_requests(client: httpx.Client, n: int) -> Iterator[httpx.Request]:
    """``n`` log-batch requests of ``BATCH_METRICS`` metrics to a run of this client's own."""
    run_id = _new_run(client)
    ts = _now_ms()
    for step in range(n):
        metrics = [
            {"key": f"m{k}", "value": step + k / 100, "timestamp": ts + step, "step": step}
            for k in range(BATCH_METRICS)
        ]
        body = json.dumps({"run_id": run_id, "metrics": metrics})
        yield client.build_request("POST", f"{API}/runs/log-batch", content=body, headers=JSON)


def _get_run_requests(client: httpx.Client, n: int) -> Iterator[httpx.Request]:
    """``n`` get-run requests for a run holding ``RUN_ENTITIES`` metrics, params and tags."""
    run_id = _new_run(client)
    ts = _now_ms()
    r = range(RUN_ENTITIES)
    _post(
        client,
        "runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [{"key": f"metric_{i}", "value": i * 0.5, "timestamp": ts, "step": 0} for i in r],
            "params": [{"key": f"param_{i}", "value": f"value-{i}"} for i in r],
            "tags": [{"key": f"tag_{i}", "value": f"tag-value-{i}"} for i in r],
        },
    )
    check = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert len(check["metrics"]) == len(check["params"]) == RUN_ENTITIES, "the fetched run lacks entities"
    for _ in range(n):
        yield client.build_request("GET", f"{API}/runs/get", params={"run_id": run_id})


Workload = Callable[[httpx.Client, int], Iterator[httpx.Request]]


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    first_error: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_load(url: str, workload: Workload, total: int) -> Load:
    """``total`` requests over ``THREADS`` threads, each on its own keep-alive ``httpx.Client``.

    Requests are built (and bodies JSON-encoded) before the clock starts; each thread warms up its
    connection with ``WARMUP_PER_THREAD`` requests, then all start together at a barrier.
    """
    shares = [total // THREADS + (i < total % THREADS) for i in range(THREADS)]
    barrier = threading.Barrier(THREADS + 1, timeout=120)
    errors: list[str] = []
    lock = threading.Lock()

    def send(client: httpx.Client, request: httpx.Request) -> None:
        try:
            response = client.send(request)
            if response.status_code != 200:
                why = f"HTTP {response.status_code}: {response.text[:200]}"
            else:
                return
        except httpx.HTTPError as err:
            why = f"{type(err).__name__}: {err}"
        with lock:
            errors.append(why)

    def worker(share: int) -> None:
        with httpx.Client(base_url=url, timeout=60.0, trust_env=False) as client:
            try:
                requests = list(workload(client, WARMUP_PER_THREAD + share))
            except BaseException:
                barrier.abort()
                raise
            for request in requests[:WARMUP_PER_THREAD]:
                send(client, request)
            barrier.wait()
            for request in requests[WARMUP_PER_THREAD:]:
                send(client, request)

    threads = [threading.Thread(target=worker, args=(share,), daemon=True) for share in shares]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return Load(total, seconds, len(errors), errors[0] if errors else "")


# -- report ---------------------------------------------------------------------------------------------


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-stub-server-"))
    print(f"machine: nproc={os.cpu_count()}, {platform.machine()}, {platform.system()} {platform.release()}")
    print(f"python: {platform.python_implementation()} {platform.python_version()}  ({sys.executable})")
    print(
        f"load: {THREADS} client threads, one keep-alive httpx.Client each, {WARMUP_PER_THREAD} warm-up requests each"
    )
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        stub_times, stub = startup_series(start_stub, STUB_STARTS, workdir, stack)
        stub_batch = run_load(stub.url, _log_batch_requests, STUB_REQUESTS)
        stub_get = run_load(stub.url, _get_run_requests, STUB_REQUESTS)
        stub.stop()
        mlflow_times, mlflow = startup_series(start_mlflow, MLFLOW_STARTS, workdir, stack)
        mlflow_batch = run_load(mlflow.url, _log_batch_requests, MLFLOW_REQUESTS)
        mlflow_get = run_load(mlflow.url, _get_run_requests, MLFLOW_REQUESTS)
        mlflow.stop()

    stub_start, mlflow_start = statistics.median(stub_times), statistics.median(mlflow_times)
    print(f"start-up samples (s): stub {[round(t, 3) for t in stub_times]}")
    print(f"                      mlflow {[round(t, 2) for t in mlflow_times]}")
    print()
    print(f"{'case':<44}{'stub':>12}{'mlflow':>12}{'ratio':>9}  target")
    ok_start = stub_start <= STUB_STARTUP_TARGET
    ratio = mlflow_start / stub_start
    print(
        f"{f'start-up to /health 200 (median {STUB_STARTS}/{MLFLOW_STARTS})':<44}{stub_start:>11.3f}s"
        f"{mlflow_start:>11.2f}s{ratio:>8.1f}x  stub <= {STUB_STARTUP_TARGET} s: {'ok' if ok_start else 'MISSED'}"
    )
    passed = ok_start
    rows = [
        (f"log-batch, {BATCH_METRICS} metrics/request (req/s)", stub_batch, mlflow_batch),
        (f"get-run, {RUN_ENTITIES} metrics+params+tags (req/s)", stub_get, mlflow_get),
    ]
    errors = 0
    for name, ours, theirs in rows:
        ratio = ours.rate / theirs.rate
        ok = ratio >= THROUGHPUT_TARGET
        passed &= ok
        print(
            f"{name:<44}{ours.rate:>12.1f}{theirs.rate:>12.1f}{ratio:>8.2f}x  >= {THROUGHPUT_TARGET:g}x: "
            f"{'ok' if ok else 'MISSED'}"
        )
        errors += ours.errors + theirs.errors
    print(f"requests timed: stub {STUB_REQUESTS}, mlflow {MLFLOW_REQUESTS} per workload (after warm-up)")
    for label, load in [
        ("stub log-batch", stub_batch),
        ("stub get-run", stub_get),
        ("mlflow log-batch", mlflow_batch),
        ("mlflow get-run", mlflow_get),
    ]:
        if load.errors:
            print(f"errors in {label}: {load.errors} (first: {load.first_error})")
    print(f"non-200 responses or transport errors: {errors}")
    print("all targets met" if passed else "some targets MISSED")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
