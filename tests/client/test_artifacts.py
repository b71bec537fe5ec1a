"""Artifact repositories and the client's artifact methods: round trips (sha256 of every file) against
the stub's proxy, a real `mlflow server` and a local folder; multipart and its fallback; refusal of
paths escaping the download folder; no truncated file after a dropped download; bounded memory."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import importlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from mlflow_client import MlflowClient
from mlflow_client._transport import HttpTransport, RetryPolicy
from mlflow_client.artifacts import ArtifactRepository, get_repository
from mlflow_client.artifacts._common import Progress
from mlflow_client.artifacts._local import LocalArtifactRepository
from mlflow_client.artifacts._proxy import ProxyArtifactRepository
from mlflow_client.entities import FileInfo
from mlflow_client.exceptions import MlflowException

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.client.trees import hashes, make_tree

# -- helpers ------------------------------------------------------------------------------------------


def _no_partials(root: Path) -> None:
    assert not [p for p in root.rglob("*.part")], "a temporary download file was left behind"


@pytest.fixture
def client(stub: StubServer) -> Iterator[MlflowClient]:
    with MlflowClient(stub.url) as c:
        yield c


def _new_run(client: MlflowClient, artifact_location: str | None = None) -> str:
    exp = client.create_experiment(f"art-{uuid.uuid4().hex[:8]}", artifact_location=artifact_location)
    return client.create_run(exp).info.run_id


# -- registry -----------------------------------------------------------------------------------------


def test_get_repository_picks_by_scheme(tmp_path: Path) -> None:
    assert isinstance(get_repository(str(tmp_path)), LocalArtifactRepository)
    assert isinstance(get_repository(tmp_path.as_uri()), LocalArtifactRepository)
    with HttpTransport("http://127.0.0.1:1") as transport:
        repo = get_repository("mlflow-artifacts:/1/abc/artifacts", transport=transport)
        assert isinstance(repo, ProxyArtifactRepository) and repo.root == "1/abc/artifacts"
        repo = get_repository(
            "http://127.0.0.1:1/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts", transport=transport
        )
        assert isinstance(repo, ProxyArtifactRepository) and repo.transport is transport
        assert repo.root == "1/r/artifacts"


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("hdfs://me:hunter2@namenode:8020/x", "HDFS is not supported"),
        ("viewfs://me:hunter2@cluster/x", "HDFS (viewfs) is not supported"),
        ("dbfs://me:hunter2@databricks/x", "DBFS is not supported"),
        ("uc://me:hunter2@catalog/x", "Unity Catalog volumes are not supported"),
    ],
)
def test_unsupported_stores_say_so_and_the_way_round(uri: str, needle: str) -> None:
    with pytest.raises(MlflowException) as info:
        get_repository(uri)
    message = info.value.message
    assert needle in message and "--serve-artifacts" in message and "mlflow-artifacts:" in message
    assert "hunter2" not in message and "me:***@" in message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unknown_scheme_hides_the_password() -> None:
    with pytest.raises(MlflowException, match=r"Unknown artifact store scheme 'gopher'") as info:
        get_repository("gopher://me:hunter2@h/x")
    assert "hunter2" not in info.value.message


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("ftp://me:hunter2@h:21/a", "ftp://me:***@h:21/a"),
        ("sftp://me@h/a", "sftp://me@h/a"),
        (
            "https://a.blob.core.windows.net/c/x?sv=2024&sig=abc%2Fdef&comp=list",
            "https://a.blob.core.windows.net/c/x?sv=***&sig=***&comp=list",
        ),
        ("s3://bucket/key", "s3://bucket/key"),
        ("/plain/path", "/plain/path"),
        ("ftp://me:p@ss:w@rd@h/a", "ftp://me:***@h/a"),
    ],
)
def test_redact_uri(uri: str, shown: str) -> None:
    from mlflow_client.artifacts._common import redact_uri

    assert redact_uri(uri) == shown


# -- round trips ---------------------------------------------------------------------------------------


def _round_trip(client: MlflowClient, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src)
    client.log_artifacts(run_id, src, "data")
    client.log_artifact(run_id, src / "a.txt")
    client.log_text(run_id, "some text", "notes/readme.txt")
    client.log_dict(run_id, {"k": [1, 2]}, "cfg/params.json")
    top = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert top == {"a.txt": False, "cfg": True, "data": True, "notes": True}
    sub = {f.path: (f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "data/sub")}
    assert sub == {"data/sub/b.bin": (False, 70_000), "data/sub/deeper": (True, None)}

    dst = tmp_path / "dst"
    dst.mkdir()
    local = client.download_artifacts(run_id, "data", dst)
    assert Path(local) == (dst / "data").resolve()
    assert hashes(Path(local)) == expected
    whole = tmp_path / "whole"
    whole.mkdir()
    client.download_artifacts(run_id, "", whole)
    got = hashes(whole)
    assert {k[len("data/") :]: v for k, v in got.items() if k.startswith("data/")} == expected
    assert (whole / "notes/readme.txt").read_text() == "some text"
    assert json.loads((whole / "cfg/params.json").read_text()) == {"k": [1, 2]}
    one = client.download_artifacts(run_id, "data/sub/b.bin", tmp_path / "dst")
    assert hashlib.sha256(Path(one).read_bytes()).hexdigest() == expected["sub/b.bin"]
    _no_partials(tmp_path)


def test_round_trip_through_the_stub_proxy(client: MlflowClient, tmp_path: Path) -> None:
    _round_trip(client, _new_run(client), tmp_path)


@pytest.mark.mlflow_server
def test_round_trip_through_a_real_mlflow_server(mlflow_server_url: str, tmp_path: Path) -> None:
    with MlflowClient(mlflow_server_url) as client:
        _round_trip(client, _new_run(client), tmp_path)


def test_round_trip_through_a_local_file_store(client: MlflowClient, tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_id = _new_run(client, artifact_location=store.as_uri())
    assert (client.get_run(run_id).info.artifact_uri or "").startswith("file:")
    _round_trip(client, run_id, tmp_path)
    assert list(store.rglob("data/sub/deeper/c.json"))


def test_local_repository_keeps_empty_folders(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "empty_dir" / "inner").mkdir(parents=True)
    (src / "f").write_bytes(b"x")
    repo = get_repository((tmp_path / "root").as_uri())
    repo.log_artifacts(src, "x")
    assert (tmp_path / "root/x/empty_dir/inner").is_dir()
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts("x", dst)
    assert (dst / "x/empty_dir/inner").is_dir() and (dst / "x/f").read_bytes() == b"x"


def test_log_dict_yaml(client: MlflowClient, tmp_path: Path) -> None:
    yaml = importlib.import_module("yaml")
    run_id = _new_run(client)
    client.log_dict(run_id, {"a": {"b": 1}}, "conf.yaml")
    path = client.download_artifacts(run_id, "conf.yaml", tmp_path)
    assert yaml.safe_load(Path(path).read_text()) == {"a": {"b": 1}}


def test_log_dict_yaml_without_pyyaml_is_a_clear_error(client: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(MlflowException, match="PyYAML"):
        client.log_dict(_new_run(client), {"a": 1}, "conf.yml")


def test_fluent_artifacts(stub: StubServer, tmp_path: Path) -> None:
    import mlflow_client

    mlflow_client.set_tracking_uri(stub.url)
    try:
        with mlflow_client.start_run() as run:
            src = tmp_path / "f.txt"
            src.write_text("fluent")
            mlflow_client.log_artifact(str(src), "a")
            mlflow_client.log_text("t", "b/t.txt")
            mlflow_client.log_dict({"x": 1}, "d.json")
            (tmp_path / "dir").mkdir()
            (tmp_path / "dir" / "g").write_text("g")
            mlflow_client.log_artifacts(str(tmp_path / "dir"), "c")
            uri = mlflow_client.get_artifact_uri()
            assert uri == run.info.artifact_uri
            assert mlflow_client.get_artifact_uri("a/f.txt") == uri + "/a/f.txt"
            run_id = run.info.run_id
        with MlflowClient(stub.url) as c:
            assert sorted(f.path for f in c.list_artifacts(run_id)) == ["a", "b", "c", "d.json"]
    finally:
        mlflow_client.set_tracking_uri(None)


# -- multipart -----------------------------------------------------------------------------------------


def _proxy_repo(url: str, run_root: str, **options: Any) -> tuple[HttpTransport, ProxyArtifactRepository]:
    transport = HttpTransport(url)
    repo = get_repository(f"mlflow-artifacts:/{run_root}", transport=transport, **options)
    assert isinstance(repo, ProxyArtifactRepository)
    return transport, repo


def test_multipart_upload_when_the_server_offers_it(tmp_path: Path) -> None:
    data = os.urandom(1_000_003)
    (tmp_path / "big.bin").write_bytes(data)
    with StubServer(port=0, multipart=True) as server:
        transport, repo = _proxy_repo(server.url, "mp", multipart_threshold=100_000, part_size=64 * 1024)
        calls: list[str] = []
        original = transport.request

        def spy(method: str, path: str, **kw: Any) -> bytes:
            calls.append(f"{method} {path}")
            return original(method, path, **kw)

        transport.request = spy  # type: ignore[method-assign]
        repo.log_artifact(str(tmp_path / "big.bin"), "x")
        assert any("/mpu/create/" in c for c in calls) and any("/mpu/complete/" in c for c in calls)
        assert not any(c.startswith("PUT ") for c in calls)  # parts went to presigned URLs, not the proxy
        out = Path(repo.download_artifacts("x/big.bin", tmp_path))
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
        repo.close()
        transport.close()


def test_multipart_falls_back_to_one_streamed_put_on_501(stub: StubServer, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    (tmp_path / "big.bin").write_bytes(data)
    transport, repo = _proxy_repo(stub.url, "fb", multipart_threshold=100_000, part_size=64 * 1024)
    with transport:
        repo.log_artifact(str(tmp_path / "big.bin"))
        (tmp_path / "d").mkdir()
        out = Path(repo.download_artifacts("big.bin", tmp_path / "d"))
        assert out.read_bytes() == data


@pytest.mark.parametrize("size", [10_000, 2 * 1024 * 1024], ids=["one-body", "streamed"])
def test_upload_is_retried_after_a_transient_503(tmp_path: Path, size: int) -> None:
    from mlflow_client.artifacts._proxy import SMALL_BODY

    assert (size <= SMALL_BODY) == (size == 10_000)  # one case per upload path
    (tmp_path / "f.bin").write_bytes(os.urandom(size))
    rule = FaultRule(kind="503", rpc="uploadArtifact", count=1)
    with StubServer(port=0, faults=[rule]) as server:
        transport = HttpTransport(server.url, retry_policy=RetryPolicy(backoff_factor=0, backoff_jitter=0))
        repo = get_repository("mlflow-artifacts:/r", transport=transport)
        with transport:
            repo.log_artifact(str(tmp_path / "f.bin"))
            assert rule.fired == 1
            (tmp_path / "d").mkdir()
            out = repo.download_artifacts("f.bin", tmp_path / "d")
            assert Path(out).read_bytes() == (tmp_path / "f.bin").read_bytes()


@pytest.mark.mlflow_server
def test_multipart_falls_back_on_a_real_server_without_it(mlflow_server_url: str, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    (tmp_path / "big.bin").write_bytes(data)
    with MlflowClient(mlflow_server_url) as client:
        run_id = _new_run(client)
        uri = client.get_run(run_id).info.artifact_uri or ""
    transport, repo = _proxy_repo(
        mlflow_server_url, uri.split(":", 1)[1].lstrip("/"), multipart_threshold=1, part_size=65536
    )
    with transport:
        repo.log_artifact(str(tmp_path / "big.bin"), "m")
        (tmp_path / "d").mkdir()
        assert Path(repo.download_artifacts("m/big.bin", tmp_path / "d")).read_bytes() == data


def test_artifact_uris_with_a_host(stub: StubServer, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"hosted")
    host = stub.url.split("://", 1)[1]
    with HttpTransport("http://127.0.0.1:1") as other:
        for uri in (f"mlflow-artifacts://{host}/h1", f"{stub.url}/api/2.0/mlflow-artifacts/artifacts/h2"):
            repo = get_repository(uri, transport=other)  # another server: the repository opens its own
            assert isinstance(repo, ProxyArtifactRepository) and repo.transport is not other
            repo.log_artifact(str(tmp_path / "f"))
            assert [f.path for f in repo.list_artifacts()] == ["f"]
            repo.close()


# -- safety --------------------------------------------------------------------------------------------


class _FakeRepo(ArtifactRepository):
    """A repository whose listing is whatever the test says, and whose files all contain b"pwned"."""

    def __init__(self, listing: dict[str, list[FileInfo]]) -> None:
        super().__init__("fake://store")
        self.listing = listing
        self.opened: list[str] = []

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        return self.listing.get(path or "", [])

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        self.opened.append(remote_path)
        yield iter([b"pwned"])


@pytest.mark.parametrize(
    "evil",
    ["../evil", "/abs", "a/../../x", "..", "C:/win", "c:evil", "a\\..\\..\\x", "..\\evil"],
)
def test_download_refuses_paths_escaping_the_destination(tmp_path: Path, evil: str) -> None:
    dst = tmp_path / "inside" / "dst"
    dst.mkdir(parents=True)
    repo = _FakeRepo({"": [FileInfo("ok.txt", False, 5), FileInfo(evil, False, 5)]})
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("", dst)
    assert repo.opened == []  # checked before anything was fetched
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_download_refuses_a_nested_listing_that_climbs_out(tmp_path: Path) -> None:
    repo = _FakeRepo({"": [FileInfo("d", True, None)], "d": [FileInfo("d/../../x", False, 1)]})
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("", tmp_path)
    repo = _FakeRepo({"": [FileInfo("d", True, None)], "d": [FileInfo("other/x", False, 1)]})
    with pytest.raises(MlflowException, match="not inside the listed folder"):
        repo.download_artifacts("", tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_download_refuses_to_follow_a_symlink_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "link").symlink_to(outside, target_is_directory=True)
    repo = _FakeRepo({"": [FileInfo("link", True, None)], "link": [FileInfo("link/x", False, 5)]})
    with pytest.raises(MlflowException, match="outside"):
        repo.download_artifacts("", dst)
    assert list(outside.iterdir()) == []


def test_download_refuses_an_unsafe_requested_path(tmp_path: Path) -> None:
    repo = _FakeRepo({})
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("../x", tmp_path)


class _EvilListingHandler(http.server.BaseHTTPRequestHandler):
    """A malicious 'server': its listing names ../evil; its files are b"pwned"."""

    def do_GET(self) -> None:
        if self.path.startswith("/api/2.0/mlflow-artifacts/artifacts?"):
            body = json.dumps({"files": [{"path": "../evil", "is_dir": False, "file_size": 5}]}).encode()
        else:
            body = b"pwned"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_malicious_proxy_listing_writes_nothing_outside(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilListingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dst = tmp_path / "dst"
        dst.mkdir()
        transport, repo = _proxy_repo(f"http://127.0.0.1:{server.server_address[1]}", "1/r/artifacts")
        with transport, pytest.raises(MlflowException, match="Refusing"):
            repo.download_artifacts("", dst)
        assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_dropped_download_leaves_no_file_under_its_final_name(tmp_path: Path) -> None:
    # A server that promises 1 MB and hangs up after 100 kB.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    request = conn.recv(65536)
                    if request.startswith(b"GET /api/2.0/mlflow-artifacts/artifacts?"):  # the listing: empty
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                    else:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100_000)

    threading.Thread(target=serve, daemon=True).start()
    try:
        transport = HttpTransport(f"http://127.0.0.1:{port}", retry_policy=RetryPolicy(max_retries=0))
        repo = get_repository("mlflow-artifacts:/r", transport=transport)
        with transport, pytest.raises(MlflowException) as err:
            repo.download_artifacts("model.bin", tmp_path)
        assert "model.bin" in err.value.message and "mlflow-artifacts:/r" in err.value.message
        assert list(tmp_path.iterdir()) == []
    finally:
        listener.close()


def test_a_reset_download_from_the_stub_leaves_no_file(tmp_path: Path) -> None:
    with StubServer(port=0, faults=[]) as server:
        transport, repo = _proxy_repo(server.url, "r", max_workers=1)
        with transport:
            src = tmp_path / "src"
            src.mkdir()
            (src / "f.bin").write_bytes(os.urandom(200_000))
            repo.log_artifact(str(src / "f.bin"))
            server.faults.configure([FaultRule(kind="reset", rpc="downloadArtifact")])
            dst = tmp_path / "dst"
            dst.mkdir()
            transport.retry_policy = RetryPolicy(max_retries=0)
            with pytest.raises(MlflowException, match=r"f\.bin"):
                repo.download_artifacts("f.bin", dst)
            assert list(dst.iterdir()) == []


def test_upload_failure_names_the_file_and_the_store(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    transport = HttpTransport("http://127.0.0.1:1", retry_policy=RetryPolicy(max_retries=0))
    repo = get_repository("mlflow-artifacts:/1/r/artifacts", transport=transport)
    with transport, pytest.raises(MlflowException) as err:
        repo.log_artifact(str(tmp_path / "f.txt"))
    assert "f.txt" in err.value.message and "mlflow-artifacts:/1/r/artifacts" in err.value.message


def test_progress_is_silent_without_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("x", 10)
    progress.add(10)
    progress.close()
    assert capsys.readouterr().err == ""
    shown = Progress("x", 10, enabled=True)
    shown.add(10)
    shown.close()
    assert "100%" in capsys.readouterr().err
    unknown = Progress("y", 0, enabled=True)  # a size not known beforehand: bytes so far, not a percentage
    unknown.add(3 << 20)
    unknown.add(512)
    unknown.close()
    err = capsys.readouterr().err
    assert err.endswith("\ry 3.0 MiB\n") and "%" not in err


# -- concurrency and memory ---------------------------------------------------------------------------


def test_many_small_files_go_concurrently_on_a_bounded_pool(tmp_path: Path) -> None:
    active = peak = 0
    lock = threading.Lock()

    class Slow(LocalArtifactRepository):
        def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
            nonlocal active, peak
            import time

            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            super()._log_file(local_file, artifact_path, progress)
            with lock:
                active -= 1

    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        (src / f"f{i}").write_text(str(i))
    Slow(str(tmp_path / "root")).log_artifacts(src)
    from mlflow_client.artifacts._common import DEFAULT_MAX_WORKERS

    assert max(16, min(2 * (os.cpu_count() or 10), 20)) == DEFAULT_MAX_WORKERS  # 16, or MLflow's if more
    assert peak == DEFAULT_MAX_WORKERS  # tasks that mostly wait get every worker
    assert len(list((tmp_path / "root").iterdir())) == 40


def test_uploads_to_a_slow_server_use_every_worker(tmp_path: Path) -> None:
    """A stub that takes 30 ms per upload (its latency fault): the uploads after the probe go all at once."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        (src / f"f{i:02d}").write_bytes(os.urandom(100))
    active = peak = 0
    lock = threading.Lock()
    with StubServer(port=0, faults=[FaultRule(kind="latency", rpc="uploadArtifact", latency_ms=30)]) as server:
        transport, repo = _proxy_repo(server.url, "slow", max_workers=6)
        put = repo._put

        def counted_put(local_file: str, remote: str, size: int, progress: Progress, data: bytes | None = None) -> None:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            try:
                put(local_file, remote, size, progress, data)
            finally:
                with lock:
                    active -= 1

        repo._put = counted_put  # type: ignore[method-assign]
        repo.log_artifacts(src)
        names = sorted(f.path for f in repo.list_artifacts())
        transport.close()
    assert names == [f"f{i:02d}" for i in range(20)]
    assert peak == 6


class _InFlight:
    """Counts the tasks running at once: ``seen`` gets the count as each one starts."""

    def __init__(self) -> None:
        self.active = 0
        self.seen: list[int] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def task(self) -> Iterator[int]:
        with self._lock:
            self.active += 1
            self.seen.append(self.active)
            now = self.active
        try:
            yield now
        finally:
            with self._lock:
                self.active -= 1


def _compute(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU (and hold the GIL for it)."""
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def test_tasks_that_only_compute_run_two_at_a_time() -> None:
    """Threads cannot hide waiting that is not there: CPU-bound tasks are not spread over the pool."""
    from mlflow_client.artifacts._common import run_all

    tasks = _InFlight()

    def compute(i: int) -> int:
        with tasks.task():
            _compute(0.003)
        return i

    assert run_all([functools.partial(compute, i) for i in range(30)], max_workers=8) == list(range(30))
    assert max(tasks.seen) <= 2  # wall/CPU is ~1 (the floor of 2 applies); a pool of 8 shows 3 or more


def test_the_pool_grows_when_tasks_wait_after_a_probe_that_saw_none() -> None:
    """The probe's two tasks only compute (it picks two at once); the rest wait, so this process sits
    idle, and the pool doubles up to its bound. Order of results is kept."""
    from mlflow_client.artifacts._common import GROWTH_WINDOW, PROBE_TASKS, run_all

    tasks = _InFlight()

    def task(i: int) -> int:
        with tasks.task():
            if i < PROBE_TASKS:
                _compute(0.003)
            else:
                time.sleep(0.005)  # a wait on a server, not synchronisation
        return i

    count = PROBE_TASKS + GROWTH_WINDOW * 6
    assert run_all([functools.partial(task, i) for i in range(count)], max_workers=8) == list(range(count))
    assert max(tasks.seen) == 8  # 2 -> 4 -> 8; without growth the probe's 2 would hold


def test_the_pool_goes_back_when_more_at_once_is_not_faster() -> None:
    """A store that serves one request at a time, and slows with its queue: this process idles, so the
    pool doubles, but the tasks per second drop; it goes back to two, and the last tasks run two at a time."""
    from mlflow_client.artifacts._common import GROWTH_WINDOW, PROBE_TASKS, run_all

    tasks = _InFlight()
    server = threading.Lock()

    def task(i: int) -> int:
        with tasks.task() as at_once:
            if i < PROBE_TASKS:
                _compute(0.003)
            else:
                with server:
                    time.sleep(0.002 + 0.001 * (at_once - 1))  # a server's work, not synchronisation
        return i

    count = PROBE_TASKS + GROWTH_WINDOW * 8
    assert run_all([functools.partial(task, i) for i in range(count)], max_workers=8) == list(range(count))
    assert max(tasks.seen) == 4  # it tried four (and not eight: four were slower)
    assert max(tasks.seen[-GROWTH_WINDOW * 3 :]) <= 2


@pytest.mark.parametrize(
    ("wall", "cpu", "workers"),
    [
        (0.5e-3, 0.3e-3, 2),  # a server on this machine: half the time is this process's own work
        (0.3e-3, 0.3e-3, 2),  # no waiting at all: still two, so that one stalled transfer does not stop all
        (20e-3, 0.3e-3, 8),  # a server 20 ms away: every worker
        (1e-3, 0.0, 8),  # no measurable CPU
        (0.0, 0.0, 2),
    ],
)
def test_how_many_run_at_once(wall: float, cpu: float, workers: int) -> None:
    from mlflow_client.artifacts._common import concurrency

    assert concurrency(wall, cpu, max_workers=8) == workers


@pytest.mark.parametrize("failing", [0, 1, 5])
def test_the_first_failure_is_raised_whether_probing_or_pooled(failing: int) -> None:
    from mlflow_client.artifacts._common import run_all

    def task(i: int) -> int:
        if i == failing:
            raise MlflowException(f"task {i} failed")
        return i

    with pytest.raises(MlflowException, match=f"task {failing} failed"):
        run_all([functools.partial(task, i) for i in range(10)], max_workers=4)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_200_mb_round_trip_streams(stub: StubServer, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    with open(big, "wb") as f:
        for _ in range(200):
            f.write(block)
            digest.update(block)
    transport, repo = _proxy_repo(stub.url, "mem")
    with transport:
        before = _rss_kb()
        repo.log_artifact(str(big))
        dst = tmp_path / "dst"
        dst.mkdir()
        out = repo.download_artifacts("big.bin", dst)
        growth_mb = (_rss_kb() - before) / 1024
    assert growth_mb < 64, f"RSS grew by {growth_mb:.0f} MB"
    got = hashlib.sha256()
    with open(out, "rb") as f:
        while chunk := f.read(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    print(f"RSS growth for a 200 MB upload+download: {growth_mb:.1f} MB")


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    from mlflow_client.artifacts._common import write_atomically

    def fill(out: BinaryIO) -> None:
        out.write(b"xxx")

    old = os.umask(0o027)
    try:
        write_atomically(str(tmp_path / "new" / "f.txt"), fill, "failed")  # "new" is made too
    finally:
        os.umask(old)
    assert (tmp_path / "new" / "f.txt").read_bytes() == b"xxx"
    assert (tmp_path / "new" / "f.txt").stat().st_mode & 0o777 == 0o640
    _no_partials(tmp_path)


def test_a_file_that_cannot_be_created_is_named_in_the_error(tmp_path: Path) -> None:
    from mlflow_client.artifacts._common import write_atomically

    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(MlflowException, match=r"Failed to download x from store: .*blocker"):
        write_atomically(str(tmp_path / "blocker" / "x"), lambda f: None, "Failed to download x from store")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.parametrize("size", [0, 1, 4096, 10_000])
def test_read_small_returns_the_whole_file_up_to_the_limit(tmp_path: Path, size: int) -> None:
    from mlflow_client.artifacts._common import read_small

    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    assert read_small(str(tmp_path / "f"), 10_000) == (size, data)


def test_read_small_leaves_bigger_files_to_streaming(tmp_path: Path) -> None:
    from mlflow_client.artifacts._common import read_small

    (tmp_path / "f").write_bytes(b"x" * 10_001)
    assert read_small(str(tmp_path / "f"), 10_000) == (10_001, None)


def test_read_small_reads_to_the_end_of_a_file_that_is_not_what_fstat_said(tmp_path: Path) -> None:
    """A pipe reports size 0 and delivers in pieces: what a file growing while read looks like."""
    from mlflow_client.artifacts._common import read_small

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"a" * 5000 + b"b" * 5000))
    writer.start()
    try:
        got = read_small(str(fifo), 10_000)
    finally:
        writer.join()
    assert got == (10_000, b"a" * 5000 + b"b" * 5000)


def test_logging_a_file_that_vanished_names_the_file_and_the_store(stub: StubServer, tmp_path: Path) -> None:
    transport, repo = _proxy_repo(stub.url, "vanished")
    with pytest.raises(MlflowException) as info:
        repo._log_file(str(tmp_path / "gone.txt"), None, Progress("x", 0, enabled=False))
    transport.close()
    assert "gone.txt" in info.value.message and repo.artifact_uri in info.value.message


@pytest.mark.parametrize("kernel", [True, False])
def test_local_store_copies_in_the_kernel_or_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    """Both ways of the file: store (upload and download) give the same bytes; sendfile is used when it works."""
    import errno

    calls: list[int] = []
    sendfile = os.sendfile

    def recording_sendfile(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        calls.append(count)
        if not kernel:
            raise OSError(errno.EINVAL, "not between these files")
        return sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(os, "sendfile", recording_sendfile)
    data = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big.bin").write_bytes(data)
    (tmp_path / "src" / "empty.bin").write_bytes(b"")
    repo = LocalArtifactRepository(str(tmp_path / "store"))
    repo.log_artifacts(tmp_path / "src", "d")
    (tmp_path / "out").mkdir()
    got = repo.download_artifacts("d", tmp_path / "out")
    assert (tmp_path / "store" / "d" / "big.bin").read_bytes() == data
    assert (Path(got) / "big.bin").read_bytes() == data and (Path(got) / "empty.bin").read_bytes() == b""
    assert len(calls) >= 4  # two files each way
    assert sorted(p.name for p in (tmp_path / "out" / "d").iterdir()) == ["big.bin", "empty.bin"]  # no temp files


def test_local_store_copy_failure_mid_file_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after some bytes were copied is not hidden by the fallback, and no partial file is left."""
    import errno

    sendfile = os.sendfile
    sent: list[int] = []

    def failing_second_call(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        if sent:
            raise OSError(errno.EIO, "disk went away")
        sent.append(sendfile(out_fd, in_fd, offset, 1024))
        return sent[-1]

    monkeypatch.setattr(os, "sendfile", failing_second_call)
    (tmp_path / "f.bin").write_bytes(os.urandom(10_000))
    repo = LocalArtifactRepository(str(tmp_path / "store"))
    with pytest.raises(MlflowException) as info:
        repo.log_artifact(tmp_path / "f.bin")
    assert "f.bin" in info.value.message and "disk went away" in info.value.message
    assert not (tmp_path / "store").exists() or list((tmp_path / "store").iterdir()) == []
