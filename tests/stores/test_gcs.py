"""The ``gs://`` artifact store against a real GCS JSON API (gcp-storage-emulator in a subprocess, on
loopback): round trips (sha256 of every file), resumable uploads and ranged downloads in parts, object names
escaping the download folder refused, errors naming the object, a credentials error that shows no secret,
an unreachable endpoint, a missing SDK, interop with MLflow's own repository both ways, and a real
`mlflow server` whose default artifact root is the bucket (the client moves the bytes; the server lists)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import google.auth.transport.requests
import pytest
from google.cloud import storage  # type: ignore[import-untyped]
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.artifacts import get_repository
from mlflow_client.artifacts._gcs import DEFAULT_TIMEOUT, GCSArtifactRepository
from mlflow_client.exceptions import ConfigurationError, MlflowConnectionError, MlflowException

from tests.client.trees import hashes, make_tree
from tests.real_server import free_port, real_mlflow_server
from tests.stores import gcs_server

MiB = 1024 * 1024
_GCS_VARIABLES = (
    "STORAGE_EMULATOR_HOST",
    "API_ENDPOINT_OVERRIDE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "MLFLOW_GCS_UPLOAD_CHUNK_SIZE",
    "MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE",
    "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT",
)

# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gcs_server.GCSServer]:
    with gcs_server.running(tmp_path_factory.mktemp("gcs")) as srv:
        yield srv


@pytest.fixture
def gcs_env(server: gcs_server.GCSServer, monkeypatch: pytest.MonkeyPatch) -> gcs_server.GCSServer:
    """The emulator's variables, nothing of the user's Google setup."""
    for name in _GCS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    return server


@pytest.fixture
def raw(gcs_env: gcs_server.GCSServer) -> Any:
    """A plain google-cloud-storage client on the emulator, to look at what the repository stored."""
    return storage.Client()


@pytest.fixture
def root(gcs_env: gcs_server.GCSServer) -> str:
    return gcs_env.new_root()


def _repo(uri: str, **options: Any) -> GCSArtifactRepository:
    repo = get_repository(uri, settings=Settings.from_env(), **options)
    assert isinstance(repo, GCSArtifactRepository)
    return repo


def _bucket(uri: str) -> str:
    return uri.split("/")[2]


def _names(raw: Any, uri: str) -> set[str]:
    return {blob.name for blob in raw.list_blobs(_bucket(uri))}


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, str]]]:
    """(method, url, headers in lower case) of every request the SDK sends through google-auth's session."""
    seen: list[tuple[str, str, dict[str, str]]] = []
    real = google.auth.transport.requests.AuthorizedSession.request

    def spy(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        seen.append((method, url, {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}))
        return real(self, method, url, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth.transport.requests.AuthorizedSession, "request", spy)
    return seen


# -- URIs, settings, the SDK --------------------------------------------------------------------------


def test_get_repository_picks_gcs() -> None:
    for uri, bucket, prefix in (
        ("gs://my-bucket/a/b/", "my-bucket", "a/b"),
        ("gs://bkt", "bkt", ""),
        ("GS://b/x", "b", "x"),
    ):
        repo = get_repository(uri, settings=Settings())
        assert isinstance(repo, GCSArtifactRepository)
        assert (repo.bucket, repo.root) == (bucket, prefix)
        assert repr(repo) == f"GCSArtifactRepository({uri!r})"
    for bad in ("gs:///no-bucket", "gs:no-bucket"):
        with pytest.raises(MlflowException, match="not a GCS URI") as info:
            get_repository(bad, settings=Settings())
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_settings_give_chunk_sizes_and_timeout() -> None:
    env = {
        "MLFLOW_GCS_UPLOAD_CHUNK_SIZE": str(2 * MiB),
        "MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE": str(3 * MiB),
        "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "17",
    }
    repo = GCSArtifactRepository("gs://b/p", settings=Settings.from_env(env))
    assert (repo.upload_chunk_size, repo.download_chunk_size, repo.timeout) == (2 * MiB, 3 * MiB, 17)
    unset = GCSArtifactRepository("gs://b/p", settings=Settings())
    assert (unset.upload_chunk_size, unset.download_chunk_size, unset.timeout) == (None, None, DEFAULT_TIMEOUT)
    assert DEFAULT_TIMEOUT == 60  # google-cloud-storage's, which MLflow keeps
    never_env = {"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "-1"}
    never = GCSArtifactRepository("gs://b/p", settings=Settings.from_env(never_env))
    assert never.timeout is None and never._calls()["timeout"] is None  # -1: no timeout, as MLflow reads it
    for bad in ("0", "-2"):
        with pytest.raises(ConfigurationError, match=r"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT\) .*or -1 for none"):
            Settings.from_env({"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": bad})
    with pytest.raises(MlflowException, match="multiple of 262144") as info:
        GCSArtifactRepository("gs://b/p", settings=Settings(gcs_upload_chunk_size=1000))
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(ConfigurationError, match="MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE must be a whole number"):
        Settings.from_env({"MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE": "4MB"})


def test_the_timeout_reaches_every_request(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts: list[Any] = []
    real = google.auth.transport.requests.AuthorizedSession.request

    def spy(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if "/o" in url:  # not the SDK's own background fetch of bucket metadata (10 s)
            timeouts.append(kwargs.get("timeout"))
        return real(self, method, url, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth.transport.requests.AuthorizedSession, "request", spy)
    monkeypatch.setenv("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "23")
    (tmp_path / "f.txt").write_text("x")
    repo = _repo(root)
    repo.log_artifact(tmp_path / "f.txt")
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.list_artifacts()
    repo.download_artifacts("f.txt", dst)
    assert len(timeouts) >= 3 and all(t in (23, (23, 23)) for t in timeouts), timeouts


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    repo = get_repository("gs://bkt/x", settings=Settings())  # building the repository needs no SDK
    (tmp_path / "f.txt").write_text("x")
    for call in (
        lambda: repo.log_artifact(tmp_path / "f.txt"),
        repo.list_artifacts,
        lambda: repo.download_artifacts("", tmp_path),
    ):
        with pytest.raises(ImportError, match=r"pip install 'mlflow-client\[gcs\]'"):
            call()


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, mlflow_client.artifacts._gcs; assert 'google.cloud.storage' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


# -- against the emulator -----------------------------------------------------------------------------


def test_round_trip_nested_folders_and_empty_files(root: str, raw: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=30)
    repo = _repo(root)
    repo.log_artifacts(src, "data")
    repo.log_artifact(src / "a.txt")
    prefix = root.split("/", 3)[3]
    assert _names(raw, root) == {f"{prefix}/data/{rel}" for rel in expected} | {f"{prefix}/a.txt"}

    top = repo.list_artifacts()
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [("a.txt", False, 6), ("data", True, None)]
    sub = repo.list_artifacts("data/sub")
    assert [(f.path, f.is_dir, f.file_size) for f in sub] == [
        ("data/sub/b.bin", False, 70_000),
        ("data/sub/deeper", True, None),
    ]
    assert repo.list_artifacts("data/a.txt") == []  # a file lists nothing
    assert repo.list_artifacts("no/such/folder") == []

    dst = tmp_path / "dst"
    dst.mkdir()
    local = repo.download_artifacts("data", dst)
    assert local == str(dst / "data")
    assert hashes(Path(local)) == expected
    single = repo.download_artifacts("data/sub/b.bin", tmp_path / "dst")
    assert hashlib.sha256(Path(single).read_bytes()).hexdigest() == expected["sub/b.bin"]
    everything = Path(repo.download_artifacts(""))  # a new temporary folder
    assert hashes(everything) == {"a.txt": expected["a.txt"], **{f"data/{k}": v for k, v in expected.items()}}
    assert not list(tmp_path.rglob("*.part"))
    with repo._open_remote("data/sub/b.bin") as chunks:
        assert hashlib.sha256(b"".join(chunks)).hexdigest() == expected["sub/b.bin"]
    repo.close()
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "data"]  # a closed repository reconnects


def test_content_type_is_guessed_as_mlflow_does(root: str, raw: Any, tmp_path: Path) -> None:
    (tmp_path / "cfg.json").write_text("{}")
    (tmp_path / "blob").write_bytes(b"\0")
    _repo(root).log_artifacts(tmp_path)
    bucket = raw.bucket(_bucket(root))
    prefix = root.split("/", 3)[3]
    assert bucket.get_blob(f"{prefix}/cfg.json").content_type == "application/json"
    assert bucket.get_blob(f"{prefix}/blob").content_type == "application/octet-stream"


def test_folder_markers_are_not_files(root: str, raw: Any) -> None:
    bucket = raw.bucket(_bucket(root))
    bucket.blob("root/dir/").upload_from_string(b"")
    bucket.blob("root/dir/f.txt").upload_from_string(b"x")
    repo = _repo(f"gs://{_bucket(root)}/root")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("dir", True)]
    assert [(f.path, f.is_dir) for f in repo.list_artifacts("dir")] == [("dir/f.txt", False)]


def test_big_files_move_in_parts(root: str, tmp_path: Path, requests_seen: list[Any]) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * MiB))
    repo = _repo(root, upload_chunk_size=MiB, download_chunk_size=4 * MiB)
    repo.log_artifact(big)
    parts = [h.get("content-range") for m, _, h in requests_seen if m == "PUT" and h.get("content-range")]
    assert len(parts) == 20, parts  # a resumable upload, one request per MiB
    assert parts[0] == f"bytes 0-{MiB - 1}/{20 * MiB}" and parts[-1] == f"bytes {19 * MiB}-{20 * MiB - 1}/{20 * MiB}"

    requests_seen.clear()
    dst = tmp_path / "dst"
    dst.mkdir()
    got = repo.download_artifacts("big.bin", dst)
    ranges = [h.get("range") for m, url, h in requests_seen if m == "GET" and "alt=media" in url]
    assert len(ranges) == 5 and ranges[0] == f"bytes=0-{4 * MiB - 1}", ranges
    assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()

    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(MiB))
    requests_seen.clear()
    repo.log_artifact(small)  # up to the SDK's 8 MiB: one request, as MLflow's
    assert [m for m, url, _ in requests_seen if "/o" in url] == ["POST"]


def test_progress_counts_the_bytes_both_ways(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow_client.artifacts import _common

    moved: list[int] = []
    monkeypatch.setattr(_common.Progress, "add", lambda self, n: moved.append(n))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * MiB + 5))  # above 8 MiB: a resumable upload
    (tmp_path / "small.txt").write_bytes(b"x" * 1000)
    repo = _repo(root, upload_chunk_size=4 * MiB)
    repo.log_artifact(big)
    assert sum(moved) == big.stat().st_size and len(moved) >= 3
    moved.clear()
    repo.log_artifact(tmp_path / "small.txt")
    assert sum(moved) == 1000
    moved.clear()
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts("", dst)
    assert sum(moved) == big.stat().st_size + 1000


def test_a_download_is_read_in_big_blocks(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK streams a download in requests' blocks of 8 KiB, 25,600 trips through urllib3 for 200 MB; the
    tuned session's responses read 1 MiB at a time, and the SDK still checks the whole object's hash."""
    from mlflow_client.artifacts import _common

    data = os.urandom(3 * MiB + 5)
    (tmp_path / "b.bin").write_bytes(data)
    repo = _repo(root)
    repo.log_artifact(tmp_path / "b.bin")
    moved: list[int] = []
    monkeypatch.setattr(_common.Progress, "add", lambda self, n: moved.append(n))
    dst = tmp_path / "dst"
    dst.mkdir()
    assert Path(repo.download_artifacts("b.bin", dst)).read_bytes() == data
    assert moved == [MiB, MiB, MiB, 5]


def test_reading_a_missing_object_names_it(root: str) -> None:
    repo = _repo(root)
    with pytest.raises(MlflowException) as info, repo._open_remote("nope.bin") as chunks:
        list(chunks)
    assert f"{root}/nope.bin" in info.value.message and info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_given_client_is_used_and_not_closed(root: str, raw: Any, tmp_path: Path) -> None:
    closed: list[bool] = []
    raw.close = lambda: closed.append(True)
    (tmp_path / "f.txt").write_text("x")
    repo = _repo(root, gcs_client=raw)
    repo.log_artifact(tmp_path / "f.txt")
    repo.close()
    assert closed == [] and [f.path for f in repo.list_artifacts()] == ["f.txt"]


def test_names_escaping_the_destination_are_refused(root: str, raw: Any, tmp_path: Path) -> None:
    bucket = raw.bucket(_bucket(root))
    bucket.blob("root/ok.txt").upload_from_string(b"fine")
    bucket.blob("root/../evil").upload_from_string(b"evil")
    bucket.blob("root/a/../../evil2").upload_from_string(b"evil")
    assert {"root/../evil", "root/a/../../evil2"} <= _names(raw, root)  # the store holds such names
    repo = _repo(f"gs://{_bucket(root)}/root")
    dst = tmp_path / "inner" / "dst"
    dst.mkdir(parents=True)
    for path in ("", "a"):
        with pytest.raises(MlflowException, match=r"Refusing artifact path .*\.\.") as info:
            repo.download_artifacts(path, dst)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("../evil", dst)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dst", "inner"]  # nothing written anywhere


def test_a_listing_outside_the_prefix_is_refused(root: str, tmp_path: Path) -> None:
    """A misbehaving server answering with names outside the requested prefix."""

    class Page(list[Any]):
        prefixes: ClassVar[set[str]] = {"elsewhere/dir/"}

    class Lying:
        def list_blobs(self, *args: Any, **kwargs: Any) -> Any:
            return type("It", (), {"pages": [Page()]})()

    repo = _repo(root, gcs_client=Lying())
    with pytest.raises(MlflowException, match=rf"Refusing object gs://{_bucket(root)}/elsewhere/dir/"):
        repo.download_artifacts("", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failures_name_the_file_and_the_store(root: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    with pytest.raises(MlflowException) as up:
        _repo(f"gs://{missing}/p").log_artifact(tmp_path / "f.txt", "d")
    assert str(tmp_path / "f.txt") in up.value.message and f"gs://{missing}/p/d/f.txt" in up.value.message
    assert up.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException) as down:
        _repo(root).download_artifacts("nope.txt", dst)
    assert f"{root}/nope.txt" in down.value.message and down.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(dst.iterdir()) == []  # no partial file

    with pytest.raises(MlflowException, match=rf"Failed to list gs://{missing}/p/") as listing:
        _repo(f"gs://{missing}/p").list_artifacts()
    assert listing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_unreachable_endpoint_is_a_connection_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _GCS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    (tmp_path / "f.txt").write_text("x")
    repo = GCSArtifactRepository("gs://bkt/p", settings=Settings(), retry=None)  # the SDK's retries last 120 s
    with pytest.raises(MlflowConnectionError, match=r"gs://bkt/p/f.txt"):
        repo.log_artifact(tmp_path / "f.txt")
    with pytest.raises(MlflowConnectionError, match=r"Failed to list gs://bkt/p/"):
        repo.list_artifacts()


# -- secrets ------------------------------------------------------------------------------------------


class _EchoingTokenServer(BaseHTTPRequestHandler):
    """A token endpoint that refuses every assertion and quotes it, and the key id, in its error text."""

    key_id = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        answer = {"error": "invalid_grant", "error_description": f"bad key {self.key_id}; got {body}"}
        data = json.dumps(answer).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_credentials_error_shows_no_secret(
    server: gcs_server.GCSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A service-account key file with a real RSA key; its token endpoint (on loopback) refuses the signed
    assertion and echoes it and the key id back. What this proves: that echo, which google-auth puts in its
    RefreshError text, reaches none of our messages, our repr, nor the text of any log record (nor any field
    of a record not logged by google's libraries). The private key itself never leaves google-auth (it only
    signs with it); it is checked for too. A real token endpoint answers "invalid_grant: Invalid JWT
    Signature." and echoes nothing, so this is the worst case.

    What google's libraries log is not ours to fix: google-auth's DEBUG "Response received..." records carry
    the endpoint's answer in their structured ``httpResponse`` field (its design), and google-cloud-storage
    3.x fetches each bucket's metadata in a background thread for its OpenTelemetry attributes (tracing on or
    not) and logs that fetch's failure, google-auth's text included, in a DEBUG message;
    DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=true stops the latter, so it is set here."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_id = f"keyid{uuid.uuid4().hex}"
    _EchoingTokenServer.key_id = key_id
    token_server = HTTPServer(("127.0.0.1", 0), _EchoingTokenServer)
    thread = threading.Thread(target=token_server.serve_forever, daemon=True)
    thread.start()
    creds = tmp_path / "sa.json"
    creds.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": key_id,
                "private_key": pem,
                "client_email": "someone@test-project.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": f"http://127.0.0.1:{token_server.server_address[1]}/token",
            }
        )
    )
    for name in _GCS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # A custom endpoint without STORAGE_EMULATOR_HOST: the SDK authenticates, with the key file.
    monkeypatch.setenv("API_ENDPOINT_OVERRIDE", server.url)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    monkeypatch.setenv("DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA", "true")
    caplog.set_level(logging.DEBUG)
    (tmp_path / "f.txt").write_text("x")
    repo = GCSArtifactRepository("gs://bkt/p", settings=Settings.from_env())
    try:
        with pytest.raises(MlflowException) as info:
            repo.log_artifact(tmp_path / "f.txt")
        with pytest.raises(MlflowException) as listing:
            repo.list_artifacts()
    finally:
        token_server.shutdown()
        token_server.server_close()
    err = info.value
    assert err.error_code == "UNAUTHENTICATED" and listing.value.error_code == "UNAUTHENTICATED"
    assert "gs://bkt/p/f.txt" in err.message and "RefreshError: invalid_grant" in err.message
    key_body = pem.splitlines()[5]  # a line from the middle of the key
    for secret in (key_id, key_body, "assertion", "eyJ"):  # eyJ: the start of any JWT (the signed assertion)
        for shown in (str(err), repr(err), str(listing.value), repr(repo), caplog.text):
            assert secret not in shown
        for record in caplog.records:
            assert secret not in record.getMessage(), record.name
            if not record.name.startswith("google."):
                assert secret not in repr(vars(record)), record.name
    assert caplog.records  # DEBUG records were captured (google-auth's, urllib3's): the check above saw them
    cause = err.__cause__
    assert cause is not None and key_id in str(cause)  # the echo was there to hide


# -- interop with MLflow's own repository -------------------------------------------------------------


def _mlflow_repo(uri: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(uri)


def test_what_we_write_mlflow_reads(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src)
    ours = _repo(root)
    ours.log_artifacts(src, "data")
    ours.log_artifact(src / "sub" / "b.bin")
    theirs = _mlflow_repo(root)
    assert [(f.path, f.is_dir, f.file_size) for f in theirs.list_artifacts("data")] == [
        (f.path, f.is_dir, f.file_size) for f in ours.list_artifacts("data")
    ]
    dst = tmp_path / "dst"
    dst.mkdir()
    got = Path(theirs.download_artifacts("", str(dst)))
    assert hashes(got) == {"b.bin": expected["sub/b.bin"], **{f"data/{k}": v for k, v in expected.items()}}


def test_what_mlflow_writes_we_read(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src)
    theirs = _mlflow_repo(root)
    theirs.log_artifacts(str(src), "data")
    theirs.log_artifact(str(src / "a.txt"))
    ours = _repo(root)
    assert [(f.path, f.is_dir, f.file_size) for f in ours.list_artifacts("data/sub")] == [
        (f.path, f.is_dir, f.file_size) for f in theirs.list_artifacts("data/sub")
    ]
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(ours.download_artifacts("", dst))) == {
        "a.txt": expected["a.txt"],
        **{f"data/{k}": v for k, v in expected.items()},
    }


# -- a real `mlflow server` whose default artifact root is the bucket --------------------------------


@pytest.mark.mlflow_server
def test_mlflow_server_with_a_gcs_artifact_root(root: str, raw: Any, tmp_path: Path) -> None:
    """The server records gs:// artifact URIs; the client uploads and downloads the bytes itself."""
    bucket = _bucket(root)
    args = ("--default-artifact-root", f"gs://{bucket}/mlartifacts", "--no-serve-artifacts")
    with real_mlflow_server(extra_args=args) as url, MlflowClient(url) as client:  # STORAGE_EMULATOR_HOST inherited
        exp = client.create_experiment(f"gcs-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        run_id = run.info.run_id
        assert run.info.artifact_uri == f"gs://{bucket}/mlartifacts/{exp}/{run_id}/artifacts"

        src = tmp_path / "src"
        expected = make_tree(src, many=30)
        client.log_artifacts(run_id, src, "data")
        client.log_artifact(run_id, src / "sub" / "b.bin")
        client.log_text(run_id, "some text", "notes/readme.txt")

        prefix = f"mlartifacts/{exp}/{run_id}/artifacts"
        blobs = raw.bucket(bucket)
        assert hashlib.sha256(blobs.blob(f"{prefix}/b.bin").download_as_bytes()).hexdigest() == expected["sub/b.bin"]
        assert blobs.blob(f"{prefix}/notes/readme.txt").download_as_bytes() == b"some text"
        assert {n for n in _names(raw, root) if n.startswith("mlartifacts/")} == {
            f"{prefix}/data/{k}" for k in expected
        } | {f"{prefix}/b.bin", f"{prefix}/notes/readme.txt"}

        # the server lists the bucket itself (its own google-cloud-storage, same emulator)
        top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
        assert top == {("b.bin", False), ("data", True), ("notes", True)}

        dst = tmp_path / "dst"
        dst.mkdir()
        assert hashes(Path(client.download_artifacts(run_id, "data", dst))) == expected
        assert Path(client.download_artifacts(run_id, "notes/readme.txt", dst)).read_text() == "some text"


def test_the_sdk_session_has_a_connection_per_worker_and_reads_proxies_once(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests' pool keeps 10 connections (more workers would open and discard connections, with a warning
    each) and scans the environment for proxies at every request: the repository sets both once."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/my-ca.pem")
    repo = _repo(root, max_workers=24)
    (tmp_path / "f.txt").write_text("x")
    repo.log_artifact(tmp_path / "f.txt")  # through the tuned session
    session = repo._gcs()._http
    assert session.trust_env is False and session.verify == "/etc/my-ca.pem" and not session.proxies
    assert session.get_adapter(repo._gcs().api_endpoint)._pool_maxsize == 24
    repo.close()
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")  # the emulator is http://127.0.0.1:<port>
    proxied = _repo(root)
    assert proxied._gcs()._http.proxies.get("http") == "http://proxy.invalid:3128"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = _repo(root)
    assert "http" not in direct._gcs()._http.proxies
    given = storage.Client()  # a client handed in is the caller's: left as it is
    assert _repo(root, gcs_client=given)._gcs()._http.trust_env is True
