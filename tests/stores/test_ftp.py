"""The ``ftp://`` artifact store against a real FTP server (pyftpdlib on loopback, ``ftp_server.py``): URI
parsing, the timeout setting, round trips (sha256 of every file) with MLSD and NLST listings, big files in
blocks, the connection pool, refusal of listed names escaping the download folder, errors naming the file and
the store, a password never shown, interop with MLflow's own FTP repository both ways, and a real
``mlflow server`` whose default artifact root is on the FTP server."""

from __future__ import annotations

import hashlib
import logging
import os
import selectors
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.artifacts import _common, get_repository
from mlflow_client.artifacts._ftp import DEFAULT_TIMEOUT, FTPArtifactRepository
from mlflow_client.exceptions import ConnectionFailed, MlflowConnectionError, MlflowException, RequestTimeout
from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]

from tests.client.trees import hashes, make_tree
from tests.real_server import free_port, real_mlflow_server
from tests.stores import ftp_server
from tests.stores.ftp_server import READER, FTPServer

MiB = 1024 * 1024
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2] / "clients" / "python")

# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServer]:
    with ftp_server.running(tmp_path_factory.mktemp("ftp")) as srv:
        yield srv


@pytest.fixture
def root(server: FTPServer) -> str:
    return server.new_root()


def _repo(uri: str, **options: Any) -> FTPArtifactRepository:
    repo = get_repository(uri, settings=Settings(), **options)
    assert isinstance(repo, FTPArtifactRepository)
    return repo


def _on_disk(server: FTPServer, uri: str) -> Path:
    return server.local(uri.split(f":{server.port}", 1)[1])


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _dst(tmp_path: Path) -> Path:
    dst = tmp_path / "dst"
    dst.mkdir(exist_ok=True)
    return dst


def _tree_with_empty_folder(src: Path) -> dict[str, str]:
    expected = make_tree(src, many=30)
    (src / "sub" / "empty-folder").mkdir()
    return expected


# -- URIs, settings, lazy import ----------------------------------------------------------------------


def test_get_repository_parses_the_ftp_uri() -> None:
    repo = _repo("ftp://me%40corp:p%40ss%3Aw%2Frd@files.example:2121/a/b/")
    assert (repo.host, repo.port, repo.user, repo.path) == ("files.example", 2121, "me@corp", "/a/b")
    assert repo._password == "p@ss:w/rd"  # percent-decoded, as MLflow decodes it
    assert "p%40ss" not in repr(repo) and "p@ss" not in repr(repo)
    assert repr(repo) == "FTPArtifactRepository('ftp://me%40corp:***@files.example:2121/a/b/')"
    anonymous = _repo("FTP://files.example")
    assert (anonymous.host, anonymous.port, anonymous.user, anonymous._password, anonymous.path) == (
        "files.example",
        21,
        "",
        "",
        "/",
    )
    assert _repo("ftp:///x//y").host == "localhost"  # MLflow's default host
    for bad, needle in (
        ("ftp://h:notaport/x", "not a valid FTP URI"),
        ("ftp://h/x?a=1", "query or a fragment"),
        ("ftp://u:pw%0d%0aDELE%20y@h/x", "line break"),  # a decoded password would inject a command
    ):
        with pytest.raises(MlflowException, match=needle) as info:
            _repo(bad)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="not an FTP URI"):
        FTPArtifactRepository("sftp://h/x", settings=Settings())
    with pytest.raises(MlflowException, match="chunk_size must be positive"):
        _repo("ftp://h/x", chunk_size=0)


def test_the_timeout_comes_from_settings(server: FTPServer, root: str) -> None:
    assert _repo(root).timeout == DEFAULT_TIMEOUT
    from_env = Settings.from_env({"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "7"})
    repo = get_repository(root, settings=from_env)
    assert isinstance(repo, FTPArtifactRepository) and repo.timeout == 7
    ftp, generation = repo._acquire()  # a real connection carries it (control and data sockets alike)
    assert ftp.timeout == 7 and ftp.sock is not None and ftp.sock.gettimeout() == 7
    repo._release(ftp, generation)
    repo.close()
    assert _repo(root, timeout=2.5).timeout == 2.5  # the option wins
    never = get_repository(root, settings=Settings(artifact_upload_download_timeout=-1))
    assert isinstance(never, FTPArtifactRepository) and never.timeout is None  # -1: wait as long as it takes
    ftp, generation = never._acquire()
    assert ftp.sock is not None and ftp.sock.gettimeout() is None
    never._release(ftp, generation)
    never.close()
    with pytest.raises(MlflowException, match="timeout must be positive"):
        _repo(root, timeout=0)


def test_building_and_closing_a_repository_does_not_import_ftplib() -> None:
    path = [PACKAGE_ROOT, sysconfig.get_paths()["purelib"]]
    code = (
        f"import sys; sys.path[:0] = {path!r}\n"
        "from mlflow_client.artifacts import get_repository\n"
        "from mlflow_client._settings import Settings\n"
        "get_repository('ftp://h/x', settings=Settings()).close()\n"
        "print('ftplib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- against the server -------------------------------------------------------------------------------


@pytest.mark.parametrize("mlsd", [None, False], ids=["mlsd", "nlst"])
def test_round_trip_nested_folders_and_empty_files(
    server: FTPServer, root: str, tmp_path: Path, mlsd: bool | None
) -> None:
    src = tmp_path / "src"
    expected = _tree_with_empty_folder(src)
    repo = _repo(root, mlsd=mlsd)
    repo.log_artifacts(src, "data")
    repo.log_artifact(src / "a.txt")
    on_disk = _on_disk(server, root)
    assert _files_under(on_disk) == {f"data/{rel}" for rel in expected} | {"a.txt"}  # MLflow's layout
    assert (on_disk / "data" / "sub" / "empty-folder").is_dir()  # empty folders are kept, as MLflow keeps them

    top = repo.list_artifacts()
    assert repo._mlsd is (mlsd is None)  # FEAT offers MLSD; False forces NLST
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [("a.txt", False, 6), ("data", True, None)]
    sub = repo.list_artifacts("data/sub")
    assert [(f.path, f.is_dir, f.file_size) for f in sub] == [
        ("data/sub/b.bin", False, 70_000),
        ("data/sub/deeper", True, None),
        ("data/sub/empty-folder", True, None),
    ]
    assert [(f.path, f.file_size) for f in repo.list_artifacts("data/sub/deeper/")] == [
        ("data/sub/deeper/c.json", 8),
        ("data/sub/deeper/empty2", 0),
    ]
    assert repo.list_artifacts("data/a.txt") == []  # a file lists nothing
    assert repo.list_artifacts("no/such/folder") == []

    dst = tmp_path / "dst"
    dst.mkdir()
    local = repo.download_artifacts("data", dst)
    assert local == str(dst / "data")
    assert hashes(Path(local)) == expected
    assert (dst / "data" / "sub" / "empty-folder").is_dir()
    single = repo.download_artifacts("data/sub/b.bin", dst)
    assert hashlib.sha256(Path(single).read_bytes()).hexdigest() == expected["sub/b.bin"]
    everything = Path(repo.download_artifacts(""))  # a new temporary folder
    assert hashes(everything) == {"a.txt": expected["a.txt"], **{f"data/{k}": v for k, v in expected.items()}}
    assert not list(tmp_path.rglob("*.part"))
    with repo._open_remote("data/sub/b.bin") as chunks:
        assert hashlib.sha256(b"".join(chunks)).hexdigest() == expected["sub/b.bin"]
    repo.close()
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "data"]  # a closed repository reconnects


def test_a_server_without_mlsd_is_listed_with_nlst(tmp_path: Path) -> None:
    proto_cmds = {k: v for k, v in FTPHandler.proto_cmds.items() if k not in ("MLSD", "MLST")}
    with ftp_server.in_thread(tmp_path / "srv", proto_cmds=proto_cmds) as srv:
        src = tmp_path / "src"
        expected = make_tree(src)
        repo = _repo(srv.new_root())
        repo.log_artifacts(src)
        assert repo._mlsd is False  # FEAT does not offer MLST
        assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("sub")] == [
            ("sub/b.bin", False, 70_000),
            ("sub/deeper", True, None),
        ]
        assert hashes(Path(repo.download_artifacts("", _dst(tmp_path)))) == expected
        repo.close()


def test_big_files_move_in_blocks(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(20):
            f.write(os.urandom(MiB))
    moved: list[int] = []
    monkeypatch.setattr(_common.Progress, "add", lambda self, n: moved.append(n))
    block = 256 * 1024
    repo = _repo(root, chunk_size=block)
    repo.log_artifact(big, "in")
    assert sum(moved) == 20 * MiB and max(moved) <= block and len(moved) >= 80  # streamed block by block
    moved.clear()
    local = repo.download_artifacts("in/big.bin", _dst(tmp_path))
    assert sum(moved) == 20 * MiB and max(moved) <= block and len(moved) >= 80
    assert hashlib.sha256(Path(local).read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    repo.close()


def test_connections_are_pooled_and_reused(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    make_tree(src, many=40)
    repo = _repo(root, max_workers=4)
    opened: list[Any] = []
    real_connect = repo._connect

    def counting_connect() -> Any:
        opened.append(real_connect())
        return opened[-1]

    monkeypatch.setattr(repo, "_connect", counting_connect)
    repo.log_artifacts(src)
    repo.download_artifacts("", _dst(tmp_path))
    assert 1 <= len(opened) <= 4  # 44 uploads and 44 downloads on at most one connection per worker
    with pytest.raises(MlflowException, match="550"):
        repo.download_artifacts("nope.txt", _dst(tmp_path))
    idle = list(repo._idle)
    repo.list_artifacts()  # a 550 reply left the connection in step: it is reused
    assert len(opened) <= 4 and repo._idle[-1] in idle
    repo.close()
    assert repo._idle == []
    repo.list_artifacts()
    assert len(opened) >= 2 and opened[-1] not in idle  # after close(), a new connection


def test_a_connection_the_server_closed_is_replaced(tmp_path: Path) -> None:
    with ftp_server.in_thread(tmp_path / "srv", timeout=0.5) as srv:  # the server drops idle connections
        repo = _repo(srv.new_root())
        (tmp_path / "f.txt").write_text("x")
        repo.log_artifact(tmp_path / "f.txt")
        [stale] = repo._idle
        assert stale.sock is not None
        sock = stale.sock
        deadline = time.monotonic() + 10  # wait (polling) until the server's 421 or its close arrives
        with selectors.DefaultSelector() as selector:  # not select(): this process may hold > 1024 files
            selector.register(sock, selectors.EVENT_READ)
            while not selector.select(0.05):
                assert time.monotonic() < deadline, "the server never closed the idle connection"
        repo.log_artifact(tmp_path / "f.txt", "again")
        assert [f.path for f in repo.list_artifacts()] == ["again", "f.txt"]
        assert stale not in repo._idle and stale.sock is None  # dropped, not reused
        repo.close()


def test_concurrent_uploads_make_the_same_folders(server: FTPServer, root: str, tmp_path: Path) -> None:
    """Several repositories (no shared cache of made folders) log into the same new nested folders at once."""
    threads, rounds = 12, 4
    for i in range(threads):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    repos = [_repo(root) for _ in range(threads)]
    for repo in repos:
        repo.list_artifacts()  # connected and logged in: the uploads below start together
    start = threading.Barrier(threads)

    def upload(i: int, folder: str) -> None:
        start.wait(timeout=30)
        repos[i].log_artifact(tmp_path / f"f{i}.txt", folder)

    with ThreadPoolExecutor(threads) as pool:
        for r in range(rounds):
            list(pool.map(upload, range(threads), [f"r{r}/x/y/z"] * threads))
    for repo in repos:
        repo.close()
    assert _files_under(_on_disk(server, root)) == {
        f"r{r}/x/y/z/f{i}.txt" for r in range(rounds) for i in range(threads)
    }


class _LyingHandler(FTPHandler):  # type: ignore[misc]
    """A server whose MLSD lists names that are not plain names inside the listed folder."""

    def ftp_MLSD(self, path: str) -> str:
        if path.endswith("/roots"):
            listing = b"type=dir;size=0; lying\r\n"
        else:
            listing = b"type=file;size=4; ok.txt\r\ntype=file;size=4; ../evil\r\n"
        self.push_dtp_data(listing, cmd="MLSD")
        return path


def test_listed_names_escaping_the_folder_are_refused(tmp_path: Path) -> None:
    with ftp_server.in_thread(tmp_path / "srv", base=_LyingHandler) as srv:
        (srv.folder / "roots" / "lying").mkdir(parents=True)
        (srv.folder / "roots" / "lying" / "ok.txt").write_text("fine")
        (srv.folder / "roots" / "evil").write_text("evil")  # what ../evil would read
        repo = _repo(srv.uri("roots/lying"))
        with pytest.raises(MlflowException, match=r"Refusing the entry '\.\./evil' listed in ftp://") as info:
            repo.list_artifacts()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
        dst = tmp_path / "inner" / "dst"
        dst.mkdir(parents=True)
        with pytest.raises(MlflowException, match="Refusing"):
            repo.download_artifacts("", dst)
        with pytest.raises(MlflowException, match=r"Refusing artifact path '\.\./evil'"):
            repo.download_artifacts("../evil", dst)
        assert list(dst.iterdir()) == []  # nothing written
        repo.close()


def test_failures_name_the_file_and_the_store(server: FTPServer, root: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    path = root.split(f":{server.port}", 1)[1]
    reader = _repo(server.uri(path, user=READER))  # may list and read, not write
    with pytest.raises(MlflowException) as up:
        reader.log_artifact(tmp_path / "f.txt", "d")
    message = up.value.message
    assert str(tmp_path / "f.txt") in message and f"ftp://127.0.0.1:{server.port}{path}/d/f.txt" in message
    assert reader.display_uri in message and "550" in message and up.value.error_code == "PERMISSION_DENIED"

    repo = _repo(root)
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException) as down:
        repo.download_artifacts("nope.txt", dst)
    assert f"ftp://127.0.0.1:{server.port}{path}/nope.txt" in down.value.message
    assert "nope.txt" in down.value.message and repo.display_uri in down.value.message
    assert down.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(dst.iterdir()) == []  # no partial file
    repo.close()
    reader.close()


def test_a_wrong_password_fails_without_showing_any_password(
    server: FTPServer, root: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = root.split(f":{server.port}", 1)[1]
    wrong = f"wrong-{uuid.uuid4().hex}@:/"
    repo = _repo(server.uri(path, password=wrong))
    (tmp_path / "f.txt").write_text("x")
    for call in (lambda: repo.log_artifact(tmp_path / "f.txt"), repo.list_artifacts):
        with pytest.raises(MlflowException) as info:
            call()
        assert info.value.error_code == "UNAUTHENTICATED" and "530" in info.value.message
        assert repo.display_uri in info.value.message
        for secret in (wrong, quote(wrong, safe="")):
            assert secret not in str(info.value) and secret not in repr(info.value)
            assert secret not in repr(repo) and secret not in caplog.text
    assert "wrong-" not in caplog.text

    good = _repo(root)  # the right password: never shown either, in a repr or an error
    with pytest.raises(MlflowException) as missing:
        good.download_artifacts("nope.txt", tmp_path)
    for secret in (server.password, quote(server.password, safe="")):
        assert secret not in repr(good) and secret not in str(missing.value) and secret not in caplog.text
    good.close()


def test_a_reply_echoing_the_password_is_scrubbed(root: str) -> None:
    repo = _repo(root)
    err = repo._fail("Failed to list", "/x", Exception(f"530 no such user:{repo._password}"))
    assert repo._password not in err.message and "530 no such user:***" in err.message


def test_unreachable_server_is_a_connection_error(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    port = free_port()
    repo = _repo(f"ftp://u:pw@127.0.0.1:{port}/p")
    with pytest.raises(ConnectionFailed, match=rf"ftp://127.0.0.1:{port}/p/f.txt") as info:
        repo.log_artifact(tmp_path / "f.txt")
    assert isinstance(info.value, MlflowConnectionError) and str(tmp_path / "f.txt") in info.value.message


def test_a_silent_server_times_out(tmp_path: Path) -> None:
    """A server that accepts connections but never says hello: the timeout applies."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        repo = _repo(f"ftp://127.0.0.1:{port}/p", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match=rf"Failed to list ftp://127.0.0.1:{port}/p"):
            repo.list_artifacts()
        assert time.monotonic() - started < 5


# -- interop with MLflow's own FTP repository ---------------------------------------------------------


def _mlflow_repo(uri: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(uri)


def test_mlflow_reads_what_we_write(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = _tree_with_empty_folder(src)
    ours = _repo(root)
    ours.log_artifacts(src, "data")
    ours.log_artifact(src / "sub" / "b.bin")
    theirs = _mlflow_repo(root)
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(theirs.download_artifacts("data", str(dst)))) == expected
    assert (dst / "data" / "sub" / "empty-folder").is_dir()
    assert {(f.path, f.is_dir, f.file_size) for f in theirs.list_artifacts()} == {
        (f.path, f.is_dir, f.file_size) for f in ours.list_artifacts()
    }
    assert {(f.path, f.file_size) for f in theirs.list_artifacts("data/sub")} == {
        (f.path, f.file_size) for f in ours.list_artifacts("data/sub")
    }
    ours.close()


def test_we_read_what_mlflow_writes(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = _tree_with_empty_folder(src)
    theirs = _mlflow_repo(root)
    theirs.log_artifacts(str(src), "data")
    theirs.log_artifact(str(src / "a.txt"), "top")
    ours = _repo(root)
    assert [(f.path, f.is_dir) for f in ours.list_artifacts()] == [("data", True), ("top", True)]
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(ours.download_artifacts("data", dst))) == expected
    assert (dst / "data" / "sub" / "empty-folder").is_dir()
    assert Path(ours.download_artifacts("top/a.txt", dst)).read_bytes() == b"hello\n"
    ours.close()


# -- a real `mlflow server` whose default artifact root is on the FTP server --------------------------


@pytest.mark.mlflow_server
def test_mlflow_server_with_an_ftp_artifact_root(server: FTPServer, root: str, tmp_path: Path) -> None:
    """The server records ftp:// artifact URIs; the client moves the bytes, the server lists with MLflow's."""
    args = ("--default-artifact-root", root, "--no-serve-artifacts")
    with real_mlflow_server(extra_args=args) as url, MlflowClient(url) as client:
        exp = client.create_experiment(f"ftp-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        run_id = run.info.run_id
        assert run.info.artifact_uri == f"{root}/{exp}/{run_id}/artifacts"

        src = tmp_path / "src"
        expected = make_tree(src, many=30)
        client.log_artifacts(run_id, src, "data")
        client.log_artifact(run_id, src / "sub" / "b.bin")
        client.log_text(run_id, "some text", "notes/readme.txt")

        on_disk = _on_disk(server, run.info.artifact_uri)
        assert hashlib.sha256((on_disk / "b.bin").read_bytes()).hexdigest() == expected["sub/b.bin"]
        assert (on_disk / "notes" / "readme.txt").read_text() == "some text"
        assert _files_under(on_disk) == {f"data/{k}" for k in expected} | {"b.bin", "notes/readme.txt"}

        # the server lists the FTP folder itself (MLflow's FTP repository)
        top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
        assert top == {("b.bin", False), ("data", True), ("notes", True)}
        assert {(f.path, f.file_size) for f in client.list_artifacts(run_id, "data/sub")} == {
            ("data/sub/b.bin", 70_000),
            ("data/sub/deeper", None),
        }

        dst = tmp_path / "dst"
        dst.mkdir()
        assert hashes(Path(client.download_artifacts(run_id, "data", dst))) == expected
        assert Path(client.download_artifacts(run_id, "notes/readme.txt", dst)).read_text() == "some text"
