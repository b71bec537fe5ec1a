"""The ``wasbs://`` artifact store against a real Azure Blob emulator (Azurite, on loopback): URI forms
(``wasbs``, ``wasb``, ``abfss``), MLflow's credential order, round trips (sha256 of every file), block
uploads and ranged downloads, refusal of blob names escaping the download folder, errors naming the blob,
a wrong key that never shows, a missing SDK, interop with MLflow's own repository both ways, and a real
``mlflow server`` whose default artifact root is the container (the client moves the bytes)."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.artifacts import get_repository
from mlflow_client.artifacts._azure import AzureBlobArtifactRepository, parse_azure_uri
from mlflow_client.exceptions import MlflowConnectionError, MlflowException

from tests.client.trees import hashes, make_tree
from tests.real_server import free_port, real_mlflow_server
from tests.stores import azure_server

MiB = 1024 * 1024
HOST = f"{azure_server.ACCOUNT}.blob.core.windows.net"

# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[azure_server.AzuriteServer]:
    with azure_server.running(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def az_env(azurite: azure_server.AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> azure_server.AzuriteServer:
    """Azurite's connection string in the environment (for both clients), nothing else of Azure's."""
    for name in ("AZURE_STORAGE_ACCESS_KEY", "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in azurite.env.items():
        monkeypatch.setenv(name, value)
    return azurite


@pytest.fixture
def container(az_env: azure_server.AzuriteServer) -> Iterator[Any]:
    """A new container, as a plain azure-storage-blob ``ContainerClient`` to look at what was stored."""
    name = az_env.new_container()
    with az_env.service() as service:
        yield service.get_container_client(name)


def _root(container: Any, path: str = "artifacts") -> str:
    return f"wasbs://{container.container_name}@{HOST}/{path}"


def _repo(uri: str, **options: Any) -> AzureBlobArtifactRepository:
    repo = get_repository(uri, settings=Settings.from_env(), **options)
    assert isinstance(repo, AzureBlobArtifactRepository)
    return repo


def _names(container: Any) -> set[str]:
    return {b.name for b in container.list_blobs()}


def _mlflow_repo(uri: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(uri)


# -- URIs, settings and registry ----------------------------------------------------------------------


def test_get_repository_picks_azure_for_each_uri_form() -> None:
    cases = {
        "wasbs://cont@acct.blob.core.windows.net/a/b/": ("cont", "acct", "blob.core.windows.net", "a/b"),
        "wasb://cont@acct.blob.core.windows.net": ("cont", "acct", "blob.core.windows.net", ""),
        "wasbs://c@gov.blob.core.usgovcloudapi.net/x": ("c", "gov", "blob.core.usgovcloudapi.net", "x"),
        "wasbs://c@cn.blob.core.chinacloudapi.cn/x%20y": ("c", "cn", "blob.core.chinacloudapi.cn", "x%20y"),
        # ADLS Gen2: the file system is the container, reached on the account's blob endpoint; decoded as MLflow
        "abfss://fs@acct.dfs.core.windows.net/p/q%20r": ("fs", "acct", "blob.core.windows.net", "p/q r"),
        "abfss://fs@acct.dfs.core.usgovcloudapi.net/": ("fs", "acct", "blob.core.usgovcloudapi.net", ""),
    }
    for uri, expected in cases.items():
        assert parse_azure_uri(uri) == expected, uri
        repo = get_repository(uri, settings=Settings())
        assert isinstance(repo, AzureBlobArtifactRepository)
        assert (repo.container, repo.account, repo.suffix, repo.root) == expected
    for bad in ("wasbs://acct.blob.core.windows.net/p", "wasbs://c@acct.example.com/p", "abfss://no-at-sign/p"):
        with pytest.raises(MlflowException, match="expected") as info:
            get_repository(bad, settings=Settings())
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_settings_read_the_azure_variables() -> None:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=c2VjcmV0a2V5;BlobEndpoint=http://h/a",
        "AZURE_STORAGE_ACCESS_KEY": "YWNjZXNza2V5",
        "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "42",
    }
    s = Settings.from_env(env)
    assert s.azure_storage_connection_string == env["AZURE_STORAGE_CONNECTION_STRING"]
    assert s.azure_storage_access_key == "YWNjZXNza2V5" and s.artifact_upload_download_timeout == 42
    assert "c2VjcmV0a2V5" not in repr(s) and "YWNjZXNza2V5" not in repr(s)


def test_credentials_follow_mlflows_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection string, else account key on https://<account>.blob.<suffix>, else DefaultAzureCredential."""
    key = "YWNjZXNza2V5"
    conn = "DefaultEndpointsProtocol=http;AccountName=other;AccountKey=c2VjcmV0a2V5;BlobEndpoint=http://10.9.9.9/other"
    both = Settings(azure_storage_connection_string=conn, azure_storage_access_key=key)
    client = AzureBlobArtifactRepository("wasbs://c@acct.blob.core.windows.net/p", settings=both)._service()
    assert client.url.startswith("http://10.9.9.9/other") and client.account_name == "other"
    by_key = AzureBlobArtifactRepository(
        "abfss://fs@acct.dfs.core.usgovcloudapi.net/p", settings=Settings(azure_storage_access_key=key)
    )._service()
    assert by_key.url.startswith("https://acct.blob.core.usgovcloudapi.net") and by_key.credential.account_key == key

    monkeypatch.setitem(sys.modules, "azure.identity", None)
    repo = AzureBlobArtifactRepository("wasbs://c@acct.blob.core.windows.net/p", settings=Settings())
    with pytest.raises(MlflowException, match="AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY") as info:
        repo.list_artifacts()
    assert "azure-identity" in info.value.message and info.value.error_code == "UNAUTHENTICATED"


def test_proxy_variables_are_read_once_for_the_endpoint() -> None:
    """requests would scan the environment at every request; the repository applies the settings' proxy
    and CA bundle once, per endpoint."""
    environ = {
        "AZURE_STORAGE_ACCESS_KEY": "YWNjZXNza2V5",
        "HTTPS_PROXY": "http://proxy.invalid:3128",
        "REQUESTS_CA_BUNDLE": "/etc/my-ca.pem",
    }
    repo = AzureBlobArtifactRepository("wasbs://c@acct.blob.core.windows.net/p", settings=Settings.from_env(environ))
    repo._service()
    assert repo._session.trust_env is False and repo._session.verify == "/etc/my-ca.pem"
    assert repo._session.proxies.get("https") == "http://proxy.invalid:3128"
    bypassed = Settings.from_env({**environ, "NO_PROXY": ".blob.core.windows.net"})
    other = AzureBlobArtifactRepository("wasbs://c@acct.blob.core.windows.net/p", settings=bypassed)
    other._service()
    assert "https" not in other._session.proxies and other._session.verify == "/etc/my-ca.pem"
    repo.close()
    other.close()
    assert repo._session is None  # closed, and built again on next use


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)
    repo = get_repository("wasbs://c@acct.blob.core.windows.net/x", settings=Settings())  # needs no SDK
    (tmp_path / "f.txt").write_text("x")
    for call in (
        lambda: repo.log_artifact(tmp_path / "f.txt"),
        repo.list_artifacts,
        lambda: repo.download_artifacts("", tmp_path),
    ):
        with pytest.raises(ImportError, match=r"pip install 'mlflow-client\[azure\]'"):
            call()


def test_importing_the_module_does_not_import_the_sdk() -> None:
    import subprocess

    code = (
        "import sys, mlflow_client.artifacts._azure as m; "
        "m.AzureBlobArtifactRepository('wasbs://c@a.blob.core.windows.net/p'); "
        "print(any(k.startswith('azure') for k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "False", out.stderr


# -- against Azurite ----------------------------------------------------------------------------------


def test_round_trip_nested_folders_and_empty_files(container: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=30)
    repo = _repo(_root(container, "exp/run/artifacts"))
    repo.log_artifacts(src, "data")
    repo.log_artifact(src / "a.txt")
    assert _names(container) == {f"exp/run/artifacts/data/{rel}" for rel in expected} | {"exp/run/artifacts/a.txt"}

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
    repo.close()


def test_a_root_at_the_container_and_folder_markers(container: Any, tmp_path: Path) -> None:
    container.upload_blob("dir/", b"")  # a "folder" marker some tools create: not a file
    container.upload_blob("dir/f.txt", b"x")
    repo = _repo(f"wasbs://{container.container_name}@{HOST}")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("dir", True)]
    assert [(f.path, f.is_dir) for f in repo.list_artifacts("dir")] == [("dir/f.txt", False)]
    assert hashes(Path(repo.download_artifacts("", tmp_path))) == {"dir/f.txt": hashlib.sha256(b"x").hexdigest()}


def test_an_abfss_root_goes_through_the_blob_api(container: Any, tmp_path: Path) -> None:
    """ADLS Gen2 accounts list a directory as an empty blob with metadata hdi_isfolder=true: not a file."""
    container.upload_blob("p/dir", b"", metadata={"hdi_isfolder": "true"})
    container.upload_blob("p/dir/f.txt", b"x")
    repo = _repo(f"abfss://{container.container_name}@{azure_server.ACCOUNT}.dfs.core.windows.net/p")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("dir", True)]
    (tmp_path / "g.txt").write_text("g")
    repo.log_artifact(tmp_path / "g.txt", "dir")
    assert _names(container) == {"p/dir", "p/dir/f.txt", "p/dir/g.txt"}
    dst = tmp_path / "dst"
    dst.mkdir()
    got = hashes(Path(repo.download_artifacts("", dst)))
    assert got == {"dir/f.txt": hashlib.sha256(b"x").hexdigest(), "dir/g.txt": hashlib.sha256(b"g").hexdigest()}


def test_listing_follows_pages(container: Any, tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    for d in ("d1", "d2", "d3"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x").write_text(d)
    lists: list[str] = []

    def spy(request: Any) -> None:
        if "comp=list" in request.http_request.url:
            lists.append(request.http_request.url)

    repo = _repo(_root(container), list_page_size=2, client_options={"raw_request_hook": spy})
    repo.log_artifacts(tmp_path)
    assert [f.path for f in repo.list_artifacts()] == ["d1", "d2", "d3", *(f"f{i}.txt" for i in range(7))]
    assert len(lists) == 5  # 10 entries, 2 per page


def test_big_files_move_in_blocks_and_ranges(container: Any, tmp_path: Path) -> None:
    big, small = tmp_path / "big.bin", tmp_path / "small.bin"
    big.write_bytes(os.urandom(20 * MiB + 123))
    small.write_bytes(os.urandom(4 * MiB))
    ranges: list[str] = []
    lock = threading.Lock()

    def spy(request: Any) -> None:
        if request.http_request.method == "GET" and "x-ms-range" in request.http_request.headers:
            with lock:
                ranges.append(request.http_request.headers["x-ms-range"])

    repo = _repo(
        _root(container, "mp"), block_size=4 * MiB, single_put_size=4 * MiB, client_options={"raw_request_hook": spy}
    )
    repo.log_artifact(big)
    repo.log_artifact(small)
    committed, _ = container.get_blob_client("mp/big.bin").get_block_list("committed")
    assert [b.size for b in committed] == [4 * MiB] * 5 + [123]  # block blob: 6 blocks
    assert container.get_blob_client("mp/small.bin").get_block_list("committed")[0] == []  # one put
    dst = tmp_path / "dst"
    dst.mkdir()
    got = repo.download_artifacts("big.bin", dst)
    assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    assert len(ranges) == 6 and "bytes=0-4194303" in ranges  # the first range, then five more at once
    got = repo.download_artifacts("small.bin", dst)
    assert Path(got).read_bytes() == small.read_bytes()


def test_progress_counts_every_byte(container: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow_client.artifacts import _common

    counted: list[int] = []
    real_add = _common.Progress.add

    def add(self: _common.Progress, n: int) -> None:
        counted.append(n)
        real_add(self, n)

    monkeypatch.setattr(_common.Progress, "add", add)
    (tmp_path / "f.bin").write_bytes(os.urandom(9 * MiB))
    repo = _repo(_root(container), block_size=2 * MiB, single_put_size=2 * MiB)
    repo.log_artifact(tmp_path / "f.bin")
    assert sum(counted) == 9 * MiB and len(counted) > 1
    counted.clear()
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts("f.bin", dst)
    assert sum(counted) == 9 * MiB and len(counted) > 1


@pytest.mark.parametrize("value", [37, -1])
def test_the_transfer_timeout_goes_on_each_request(container: Any, tmp_path: Path, value: int) -> None:
    urls: list[str] = []
    settings = Settings.from_env().with_changes(artifact_upload_download_timeout=value)
    repo = AzureBlobArtifactRepository(
        _root(container),
        settings=settings,
        client_options={"raw_request_hook": lambda r: urls.append(r.http_request.url)},
    )
    (tmp_path / "f.txt").write_text("x")
    repo.log_artifact(tmp_path / "f.txt")
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts("f.txt", dst)
    transfers = [url for url in urls if "comp=list" not in url]  # as in MLflow: transfers, not listings
    assert len(transfers) == 2, urls
    if value == -1:  # no timeout: the requests carry none (the service's own limit applies)
        assert not any("timeout=" in url for url in transfers), urls
    else:
        assert all(f"timeout={value}" in url for url in transfers), urls


def test_blob_names_escaping_the_destination_are_refused(container: Any, tmp_path: Path) -> None:
    # The SDK cannot send a name with "..": Azurite (like Azure) turns "\" into "/", so these are stored as
    # "root/../evil" and "root/a/../../evil2".
    container.upload_blob("root/ok.txt", b"fine")
    container.upload_blob("root/..\\evil", b"evil")
    container.upload_blob("root/a/..\\..\\evil2", b"evil")
    assert {"root/../evil", "root/a/../../evil2"} <= _names(container)
    repo = _repo(_root(container, "root"))
    dst = tmp_path / "inner" / "dst"
    dst.mkdir(parents=True)
    for path in ("", "a"):
        with pytest.raises(MlflowException, match=r"Refusing artifact path .*\.\.") as info:
            repo.download_artifacts(path, dst)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("../evil", dst)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dst", "inner"]  # nothing written anywhere


def test_failures_name_the_file_and_the_store(container: Any, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    with pytest.raises(MlflowException) as up:
        _repo(f"wasbs://{missing}@{HOST}/p").log_artifact(tmp_path / "f.txt", "d")
    assert str(tmp_path / "f.txt") in up.value.message and f"{missing}/p/d/f.txt" in up.value.message
    assert f"wasbs://{missing}@{HOST}/p" in up.value.message
    assert "ContainerNotFound" in up.value.message and up.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException) as down:
        _repo(_root(container, "p")).download_artifacts("nope.txt", dst)
    assert f"{container.container_name}/p/nope.txt" in down.value.message
    assert "nope.txt" in down.value.message and down.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(dst.iterdir()) == []  # no partial file

    with pytest.raises(MlflowException, match=rf"Failed to list {missing}/p/ \(artifact store wasbs://{missing}@"):
        _repo(f"wasbs://{missing}@{HOST}/p").list_artifacts()


DENIED = ("UNAUTHENTICATED", "PERMISSION_DENIED")


@pytest.mark.parametrize(
    ("account", "key", "codes"),
    [
        (azure_server.ACCOUNT, "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleQ==", DENIED),  # wrong key
        (azure_server.ACCOUNT, "not base64 at all: s3cr3t-p4ss", DENIED),  # a key the SDK cannot sign with
        # the real key, wrong account: Azurite knows no such account (Azure: no such host)
        ("otheraccount", azure_server.ACCOUNT_KEY, ("RESOURCE_DOES_NOT_EXIST",)),
    ],
    ids=["wrong-key", "unusable-key", "wrong-account"],
)
def test_a_wrong_key_fails_without_showing_it(
    azurite: azure_server.AzuriteServer,
    account: str,
    key: str,
    codes: tuple[str, ...],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK logs requests (headers included) at DEBUG/INFO
    conn = azure_server.connection_string(azurite.port, account=account, key=key)
    root = azurite.new_root()
    repo = AzureBlobArtifactRepository(root, settings=Settings(azure_storage_connection_string=conn))
    (tmp_path / "f.txt").write_text("x")
    errors = []
    for call in (lambda: repo.log_artifact(tmp_path / "f.txt"), repo.list_artifacts):
        with pytest.raises(MlflowException) as info:
            call()
        errors.append(info.value)
    for err in errors:
        assert err.error_code in codes, err
        assert root in err.message
        for shown in (str(err), repr(err), err.message, repr(repo), caplog.text):
            assert key not in shown and conn not in shown
        assert err.__cause__ is None  # the SDK's exception (its text unchecked) is not chained
    assert caplog.records  # the SDK did log its requests: they were checked


def test_unreachable_endpoint_is_a_connection_error(tmp_path: Path) -> None:
    conn = azure_server.connection_string(free_port())
    (tmp_path / "f.txt").write_text("x")
    repo = AzureBlobArtifactRepository(
        f"wasbs://c@{HOST}/p",
        settings=Settings(azure_storage_connection_string=conn),
        client_options={"retry_total": 0},
    )
    with pytest.raises(MlflowConnectionError, match=r"c/p/f.txt"):
        repo.log_artifact(tmp_path / "f.txt")
    with pytest.raises(MlflowConnectionError, match=rf"wasbs://c@{HOST}/p"):
        repo.list_artifacts()


# -- interop with MLflow's own repository, both ways ---------------------------------------------------


def test_what_ours_writes_mlflow_reads(container: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src)
    root = _root(container, "ours")
    repo = _repo(root, block_size=4 * MiB, single_put_size=4 * MiB)
    repo.log_artifacts(src, "data")
    (tmp_path / "big.bin").write_bytes(os.urandom(9 * MiB))
    repo.log_artifact(tmp_path / "big.bin", "data")
    theirs = _mlflow_repo(root)
    assert [(f.path, f.is_dir) for f in theirs.list_artifacts()] == [("data", True)]
    assert {(f.path, f.is_dir, f.file_size) for f in theirs.list_artifacts("data/sub")} == {
        (f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("data/sub")
    }
    dst = tmp_path / "dst"
    dst.mkdir()
    got = Path(theirs.download_artifacts("data", str(dst)))
    want = {**expected, "big.bin": hashlib.sha256((tmp_path / "big.bin").read_bytes()).hexdigest()}
    assert hashes(got) == want


def test_what_mlflow_writes_ours_reads(container: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src)
    root = _root(container, "theirs")
    _mlflow_repo(root).log_artifacts(str(src), "data")
    _mlflow_repo(root).log_artifact(str(src / "a.txt"))
    repo = _repo(root)
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("a.txt", False), ("data", True)]
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(repo.download_artifacts("data", dst))) == expected
    # the same blob properties as MLflow's uploads: no content type of our own
    (tmp_path / "cfg.json").write_text("{}")
    repo.log_artifact(tmp_path / "cfg.json", "ours")
    _mlflow_repo(root).log_artifact(str(tmp_path / "cfg.json"), "mlflows")
    ours = container.get_blob_client("theirs/ours/cfg.json").get_blob_properties().content_settings
    mlflows = container.get_blob_client("theirs/mlflows/cfg.json").get_blob_properties().content_settings
    assert (ours.content_type, ours.content_encoding) == (mlflows.content_type, mlflows.content_encoding)


# -- a real `mlflow server` whose default artifact root is the container ------------------------------


@pytest.mark.mlflow_server
def test_mlflow_server_with_an_azure_artifact_root(container: Any, tmp_path: Path) -> None:
    """The server records wasbs:// artifact URIs; the client uploads and downloads the bytes itself."""
    root = _root(container, "mlartifacts")
    args = ("--default-artifact-root", root, "--no-serve-artifacts")
    with real_mlflow_server(extra_args=args) as url, MlflowClient(url) as client:  # connection string inherited
        exp = client.create_experiment(f"az-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        run_id = run.info.run_id
        assert run.info.artifact_uri == f"{root}/{exp}/{run_id}/artifacts"

        src = tmp_path / "src"
        expected = make_tree(src, many=30)
        client.log_artifacts(run_id, src, "data")
        client.log_artifact(run_id, src / "sub" / "b.bin")
        client.log_text(run_id, "some text", "notes/readme.txt")

        prefix = f"mlartifacts/{exp}/{run_id}/artifacts"
        body = container.download_blob(f"{prefix}/b.bin").readall()
        assert hashlib.sha256(body).hexdigest() == expected["sub/b.bin"]
        assert container.download_blob(f"{prefix}/notes/readme.txt").readall() == b"some text"
        assert _names(container) == {f"{prefix}/data/{k}" for k in expected} | {
            f"{prefix}/b.bin",
            f"{prefix}/notes/readme.txt",
        }

        # the server's artifact proxy is off: the bytes above cannot have gone through it
        proxied = httpx.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_id}/artifacts/b.bin")
        assert proxied.status_code != 200, proxied.text

        # the server lists the container itself (its own MLflow repository, same connection string)
        top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
        assert top == {("b.bin", False), ("data", True), ("notes", True)}
        assert {f.path for f in client.list_artifacts(run_id, "data/sub")} == {"data/sub/b.bin", "data/sub/deeper"}

        dst = tmp_path / "dst"
        dst.mkdir()
        assert hashes(Path(client.download_artifacts(run_id, "data", dst))) == expected
        assert Path(client.download_artifacts(run_id, "notes/readme.txt", dst)).read_text() == "some text"
