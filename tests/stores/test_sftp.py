"""The ``sftp://`` artifact store against a real OpenSSH server (Debian's sshd on loopback, ``sftp_server.py``):
URI parsing, settings, a missing paramiko, round trips (sha256 of every file, empty folders kept), a big file
in many blocks, refusal of names escaping the download folder, errors naming the file, host keys checked,
a wrong password never shown, interop with MLflow's own repository both ways, and a real `mlflow server`."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko  # type: ignore[import-untyped]
import pytest
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.artifacts import get_repository
from mlflow_client.artifacts._sftp import SFTPArtifactRepository, split_sftp_uri
from mlflow_client.exceptions import MlflowConnectionError, MlflowException

from tests.client.trees import hashes, make_tree
from tests.real_server import free_port, real_mlflow_server
from tests.stores import sftp_server
from tests.stores.sftp_server import SFTPServer

MiB = 1024 * 1024
#: OpenSSH's largest read and write (its limits@openssh.com answer): 256 KiB less 1 KiB of headers.
OPENSSH_REQUEST = 255 * 1024

# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServer]:
    with sftp_server.running(tmp_path_factory.mktemp("sftp")) as server:
        yield server


@pytest.fixture
def server(sshd: SFTPServer, monkeypatch: pytest.MonkeyPatch) -> SFTPServer:
    """The server's environment (HOME with its ssh config and known_hosts), nothing of the user's."""
    for name, value in sshd.env.items():
        monkeypatch.setenv(name, value)
    for name in ("MLFLOW_CLIENT_SFTP_KNOWN_HOSTS", "MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", raising=False)
    return sshd


@pytest.fixture
def root(server: SFTPServer) -> str:
    return server.new_root()


def _repo(uri: str, settings: Settings | None = None, **options: Any) -> SFTPArtifactRepository:
    repo = get_repository(uri, settings=settings or Settings.from_env(), **options)
    assert isinstance(repo, SFTPArtifactRepository)
    return repo


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _mlflow_repo(uri: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(uri)


# -- parsing, settings and registry ---------------------------------------------------------------


def test_get_repository_picks_sftp_and_parses_the_uri() -> None:
    repo = get_repository("sftp://me:p%40ss%2Fw@Host.example:2222/srv/mlflow/", settings=Settings())
    assert isinstance(repo, SFTPArtifactRepository)
    assert (repo.host, repo.port, repo.username, repo.root) == ("host.example", 2222, "me", "/srv/mlflow")
    assert "p%40ss" not in repr(repo) and "p@ss/w" not in repr(repo) and "me:***@" in repr(repo)
    assert split_sftp_uri("sftp://me:p%40ss%2Fw@h/x")[3] == "p@ss/w"  # percent-decoded, as ssh wants it
    assert split_sftp_uri("sftp://h") == ("h", None, None, None, "/")  # as MLflow: the root folder
    assert split_sftp_uri("sftp:///abs/path")[0] == "localhost"
    for bad, needle in (("sftp://h:notaport/x", "Invalid port"), ("ftp://h/x", "not an SFTP URI")):
        with pytest.raises(MlflowException, match=needle) as info:
            SFTPArtifactRepository(bad, settings=Settings())
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="block_size must be positive"):
        SFTPArtifactRepository("sftp://h/x", settings=Settings(), block_size=0)


def test_settings_read_the_sftp_variables(root: str) -> None:
    env = {
        "MLFLOW_CLIENT_SFTP_KNOWN_HOSTS": "/etc/my_known_hosts",
        "MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS": "true",
        "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "7",
    }
    s = Settings.from_env(env)
    assert (s.sftp_known_hosts, s.sftp_accept_unknown_hosts, s.artifact_upload_download_timeout) == (
        "/etc/my_known_hosts",
        True,
        7,
    )
    assert Settings.from_env({}).sftp_accept_unknown_hosts is False  # refusing unknown hosts is the default
    repo = _repo(root, Settings(artifact_upload_download_timeout=7))
    with repo._sessions.session() as sftp:
        assert sftp.get_channel().gettimeout() == 7.0  # every SFTP request waits at most that long
    repo.close()
    never = _repo(root, Settings(artifact_upload_download_timeout=-1))  # -1: no timeout, as in MLflow
    with never._sessions.session() as sftp:
        assert sftp.get_channel().gettimeout() is None
    never.close()


def test_importing_the_module_imports_no_paramiko() -> None:
    code = (
        "import sys, mlflow_client.artifacts._sftp as m; m.SFTPArtifactRepository('sftp://h/x'); "
        "print('paramiko' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "False"


def test_missing_paramiko_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "paramiko", None)
    repo = get_repository("sftp://h/x", settings=Settings())  # building the repository needs no paramiko
    (tmp_path / "f.txt").write_text("x")
    for call in (
        lambda: repo.log_artifact(tmp_path / "f.txt"),
        repo.list_artifacts,
        lambda: repo.download_artifacts("", tmp_path),
    ):
        with pytest.raises(ImportError, match=r"pip install 'mlflow-client\[sftp\]'"):
            call()


# -- against sshd -------------------------------------------------------------------------------------


def test_round_trip_nested_folders_and_empty_files(server: SFTPServer, root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=30)
    (src / "empty-dir" / "inner").mkdir(parents=True)
    repo = _repo(root, max_workers=8, max_sessions=3)
    repo.log_artifacts(src, "data")
    repo.log_artifact(src / "a.txt")
    remote = server.path_of(root)
    assert _files(remote) == {f"data/{rel}" for rel in expected} | {"a.txt"}
    assert (remote / "data" / "empty-dir" / "inner").is_dir()  # empty folders are kept, as MLflow's put_r does

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
    assert (dst / "data" / "empty-dir" / "inner").is_dir()
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


def test_identity_files_are_read_once(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = paramiko.PKey.from_path

    def from_path(path: str, *args: Any) -> Any:
        loads.append(path)
        return real(path, *args)

    monkeypatch.setattr(paramiko.PKey, "from_path", staticmethod(from_path))
    for _ in range(3):
        repo = _repo(root)
        assert repo.list_artifacts() == []
        repo.close()
    assert len(loads) <= 1  # read at most once (not at all if an earlier test read it)


def test_a_root_given_with_a_relative_looking_path_is_absolute(server: SFTPServer, tmp_path: Path) -> None:
    """sftp://host/srv/x is /srv/x on the server (not relative to the login folder), as in MLflow."""
    folder = server.folder / "roots" / uuid.uuid4().hex / "deep"
    (tmp_path / "f.txt").write_text("abs")
    repo = _repo(f"sftp://{sftp_server.HOST_ALIAS}{folder}")  # the ssh config's alias: host, port, user, key
    repo.log_artifact(tmp_path / "f.txt", "x/y")  # every missing folder on the way is made
    assert (folder / "x" / "y" / "f.txt").read_text() == "abs"
    repo.close()


def test_a_big_file_moves_in_many_blocks(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(20):
            f.write(os.urandom(MiB))
    writes: list[int] = []
    prefetched: list[int | None] = []
    real_write, real_prefetch = paramiko.SFTPFile.write, paramiko.SFTPFile.prefetch

    def write(self: Any, data: bytes) -> None:
        writes.append(len(data))
        real_write(self, data)

    def prefetch(self: Any, file_size: int | None = None, *args: Any, **kwargs: Any) -> None:
        prefetched.append(file_size)
        real_prefetch(self, file_size, *args, **kwargs)

    monkeypatch.setattr(paramiko.SFTPFile, "write", write)
    monkeypatch.setattr(paramiko.SFTPFile, "prefetch", prefetch)
    repo = _repo(root, block_size=MiB)
    repo.log_artifact(big, "blobs")
    assert writes == [MiB] * 20  # streamed in blocks, never the whole file
    assert (server.path_of(root) / "blobs" / "big.bin").stat().st_size == 20 * MiB
    (tmp_path / "dst").mkdir()
    got = repo.download_artifacts("blobs/big.bin", tmp_path / "dst")
    assert prefetched == [20 * MiB]  # every read request of the file sent ahead
    assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    repo.close()


def test_a_big_file_goes_up_in_ranges_on_sessions_of_their_own(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each session's window caps its throughput, so a big file goes up in ranges at once, each written in
    place; the result is the file, byte for byte, and MLflow's client reads it back."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5 * MiB + 123))
    ranges: list[tuple[int, int]] = []
    at_once = peak = 0
    lock = threading.Lock()
    real = SFTPArtifactRepository._send_part

    def send_part(self: Any, local_file: str, remote: str, start: int, end: int, progress: Any) -> None:
        nonlocal at_once, peak
        with lock:
            ranges.append((start, end))
            at_once += 1
            peak = max(peak, at_once)
        try:
            real(self, local_file, remote, start, end, progress)
        finally:
            with lock:
                at_once -= 1

    monkeypatch.setattr(SFTPArtifactRepository, "_send_part", send_part)
    repo = _repo(root, part_size=MiB, upload_parts=3, block_size=256 * 1024)
    assert repo._parts(2 * MiB - 1) == [(0, 2 * MiB - 1)]  # under two parts' worth: one range
    repo.log_artifact(big, "blobs")
    size = 5 * MiB + 123
    step = -(-size // 3)
    assert sorted(ranges) == [(0, step), (step, 2 * step), (2 * step, size)]
    assert peak >= 2  # at once, on sessions of their own
    stored = server.path_of(root) / "blobs" / "big.bin"
    assert stored.read_bytes() == big.read_bytes()
    big.write_bytes(os.urandom(MiB))  # overwritten by a smaller file: nothing of the old one stays
    repo.log_artifact(big, "blobs")
    assert stored.read_bytes() == big.read_bytes()
    repo.close()
    big.write_bytes(os.urandom(5 * MiB + 123))
    repo = _repo(root, part_size=MiB, upload_parts=3)
    repo.log_artifact(big, "blobs")
    repo.close()
    (tmp_path / "theirs").mkdir()
    got = _mlflow_repo(root).download_artifacts("blobs/big.bin", str(tmp_path / "theirs"))
    assert Path(got).read_bytes() == big.read_bytes()


def test_a_failing_range_fails_the_upload(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MiB))
    real = SFTPArtifactRepository._send_part

    def send_part(self: Any, local_file: str, remote: str, start: int, end: int, progress: Any) -> None:
        if start:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, local_file, remote, start, end, progress)

    monkeypatch.setattr(SFTPArtifactRepository, "_send_part", send_part)
    repo = _repo(root, part_size=MiB, upload_parts=3)
    with pytest.raises(MlflowException, match=r"Failed to upload .*big\.bin.*No space left") as info:
        repo.log_artifact(big)
    assert info.value.error_code
    repo.close()


def test_file_sizes_around_a_read_request(server: SFTPServer, root: str, tmp_path: Path) -> None:
    """Small files are read in one request without a stat; bigger ones go on with prefetched requests."""
    src = tmp_path / "src"
    src.mkdir()
    sizes = (0, 1, 32767, 32768, 32769, 65536, 100_003, OPENSSH_REQUEST - 1, OPENSSH_REQUEST, OPENSSH_REQUEST + 1)
    for size in sizes:
        (src / f"f{size}").write_bytes(os.urandom(size))
    repo = _repo(root)
    repo.log_artifacts(src)
    assert hashes(Path(repo.download_artifacts(""))) == hashes(src)
    for size in sizes:
        with repo._open_remote(f"f{size}") as chunks:
            assert b"".join(chunks) == (src / f"f{size}").read_bytes()
    repo.close()


def _sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The read and write requests sent from here on, as (kind, bytes)."""
    from paramiko.sftp import CMD_READ, CMD_WRITE  # type: ignore[import-untyped]

    sent: list[tuple[str, int]] = []
    real = paramiko.SFTPClient._async_request

    def spy(self: Any, fileobj: Any, t: int, *args: Any) -> Any:
        if t == CMD_READ:
            sent.append(("read", int(args[2])))
        elif t == CMD_WRITE:
            sent.append(("write", len(args[2])))
        return real(self, fileobj, t, *args)

    monkeypatch.setattr(paramiko.SFTPClient, "_async_request", spy)
    return sent


def test_requests_are_as_big_as_the_server_allows(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSH answers limits@openssh.com with 255 KiB reads and writes: requests of that size, not paramiko's
    32 KiB, carry a big file both ways (an eighth of the requests)."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MiB + 5))
    sent = _sent(monkeypatch)
    repo = _repo(root)
    repo.log_artifact(big)
    writes = [n for kind, n in sent if kind == "write"]
    assert max(writes) == OPENSSH_REQUEST and sum(writes) == 3 * MiB + 5
    sent.clear()
    (tmp_path / "dst").mkdir()
    got = Path(repo.download_artifacts("big.bin", tmp_path / "dst"))
    assert got.read_bytes() == big.read_bytes()
    reads = [n for kind, n in sent if kind == "read"]
    # The first read, the prefetched rest, and the one that finds the end.
    assert max(reads) == OPENSSH_REQUEST and len(reads) <= -(-(3 * MiB + 5) // OPENSSH_REQUEST) + 2
    repo.close()


def test_a_server_without_limits_gets_32_kib_requests(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without OpenSSH's limits extension answers "unsupported" (as OpenSSH answers an unknown one):
    requests stay at paramiko's 32 KiB, which every server takes, and the file moves whole."""
    from paramiko.sftp import CMD_EXTENDED

    real = paramiko.SFTPClient._request

    def without_limits(self: Any, t: int, *args: Any) -> Any:
        if t == CMD_EXTENDED and args[0] == "limits@openssh.com":
            return real(self, t, "no-such-extension@example.com")  # the server's own "unsupported"
        return real(self, t, *args)

    monkeypatch.setattr(paramiko.SFTPClient, "_request", without_limits)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(MiB + 7))
    sent = _sent(monkeypatch)
    repo = _repo(root)
    repo.log_artifact(big)
    (tmp_path / "dst").mkdir()
    got = Path(repo.download_artifacts("big.bin", tmp_path / "dst"))
    assert got.read_bytes() == big.read_bytes()
    assert max(n for _, n in sent) == 32768 and len(sent) >= 2 * (MiB // 32768)
    repo.close()


def test_a_slow_reader_holds_at_most_one_window(server: SFTPServer, root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read request of a big file is sent ahead, but what has arrived and is not read yet stays within
    the session's window: the server waits for us, so a reader that stops holds no more than that."""
    from mlflow_client.artifacts._sftp import WINDOW_SIZE

    size = 4 * WINDOW_SIZE
    with open(server.path_of(root) / "big.bin", "wb") as f:
        f.write(os.urandom(size))
    opened: list[Any] = []
    real_open = paramiko.SFTPClient.open

    def record(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(real_open(self, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(paramiko.SFTPClient, "open", record)
    repo = _repo(root)

    def held() -> int:
        f = opened[0]
        return len(f.sftp.sock.in_buffer) + sum(len(v) for v in list(f._prefetch_data.values()))

    with repo._open_remote("big.bin") as chunks:
        read = len(next(chunks)) + len(next(chunks))  # the second read starts the prefetch
        deadline = time.monotonic() + 10
        while held() < WINDOW_SIZE // 2:  # the requests sent ahead are answered while we read nothing
            assert time.monotonic() < deadline, f"only {held()} bytes arrived ahead of the reader"
            time.sleep(0.01)
        most, until = 0, time.monotonic() + 0.5  # at loopback speed the whole file would arrive in this time
        while time.monotonic() < until:
            most = max(most, held())
            time.sleep(0.01)
        assert most <= WINDOW_SIZE + 64 * 1024, f"{most} bytes held for a reader that stopped"
        read += sum(len(block) for block in chunks)
    assert read == size
    repo.close()


def test_sessions_wait_when_the_server_allows_no_more(root: str) -> None:
    """OpenSSH allows 10 sessions per connection: past them, a borrower waits for one given back."""
    repo = _repo(root, max_sessions=16)
    got = threading.Event()
    with contextlib.ExitStack() as held:
        sessions = [held.enter_context(repo._sessions.session()) for _ in range(10)]
        assert len({id(s) for s in sessions}) == 10

        def borrow() -> None:
            with repo._sessions.session() as sftp:
                sftp.listdir(".")
                got.set()

        worker = threading.Thread(target=borrow)
        worker.start()
        deadline = time.monotonic() + 10
        while repo._sessions._limit != 10 and time.monotonic() < deadline:  # the server refused the 11th
            got.wait(0.01)
        assert repo._sessions._limit == 10
        assert not got.is_set()  # waiting for one of the ten
    assert got.wait(10)
    worker.join(10)
    repo.close()


def test_names_escaping_the_destination_are_refused(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = server.path_of(root)
    (remote / "ok.txt").write_text("fine")
    (remote / "a").mkdir()
    (remote / "a" / "..\\..\\evil").write_text("evil")  # a legal POSIX name that escapes on Windows
    repo = _repo(root)
    dst = tmp_path / "inner" / "dst"
    dst.mkdir(parents=True)
    for path in ("", "a"):
        with pytest.raises(MlflowException, match=r"Refusing artifact path .*backslash") as info:
            repo.download_artifacts(path, dst)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("../evil", dst)

    # a misbehaving server listing "../evil" in a folder (no real file system can)
    real = paramiko.SFTPClient.listdir_attr

    def lying(self: Any, path: str = ".") -> list[Any]:
        entries = real(self, path)
        evil = paramiko.SFTPAttributes()
        evil.filename, evil.st_mode, evil.st_size = "../evil", 0o100644, 4
        return [*entries, evil]

    monkeypatch.setattr(paramiko.SFTPClient, "listdir_attr", lying)
    shutil.rmtree(remote / "a")
    with pytest.raises(MlflowException, match=r"Refusing artifact path '\.\./evil'"):
        repo.download_artifacts("", dst)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dst", "inner"]  # nothing written anywhere
    repo.close()


def test_failures_name_the_file_and_the_store(server: SFTPServer, root: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    (server.path_of(root) / "d").write_text("a file where a folder should be")
    repo = _repo(root)
    with pytest.raises(MlflowException) as up:
        repo.log_artifact(tmp_path / "f.txt", "d")
    assert str(tmp_path / "f.txt") in up.value.message and f"{root}/d" in up.value.message

    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException) as down:
        repo.download_artifacts("nope.txt", dst)
    assert f"{root}/nope.txt" in down.value.message and down.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(dst.iterdir()) == []  # no partial file
    with pytest.raises(MlflowException, match=r"Failed to read .*nope.txt") as read:
        repo._open_remote("nope.txt").__enter__()
    assert read.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    repo.close()


def test_a_wrong_password_is_never_shown(server: SFTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "Sup3r-" + uuid.uuid4().hex[:10]
    quoted = secret.replace("-", "%2D")  # as the URI spells it
    uri = f"sftp://nosuchuser:{quoted}@127.0.0.1:{server.port}{server.folder}/roots"
    caplog.set_level(logging.DEBUG)
    repo = _repo(uri, Settings())
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(MlflowException) as info:
        repo.log_artifact(tmp_path / "f.txt")
    err = info.value
    assert err.error_code == "UNAUTHENTICATED" and "Authentication failed" in err.message
    assert "paramiko.transport" in {r.name for r in caplog.records}  # paramiko's DEBUG lines were captured
    assert any("Authentication (password) failed" in r.getMessage() for r in caplog.records)  # it was sent
    for shown in (str(err), repr(err), repr(repo), err.message, caplog.text):
        assert secret not in shown and quoted not in shown
    repo.close()


def test_unreachable_server_is_a_connection_error(server: SFTPServer, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    repo = _repo(f"sftp://127.0.0.1:{free_port()}/tmp/x")
    with pytest.raises(MlflowConnectionError, match=r"Failed to upload .*f.txt"):
        repo.log_artifact(tmp_path / "f.txt")
    with pytest.raises(MlflowConnectionError, match=r"Failed to list"):
        repo.list_artifacts()


# -- host keys ----------------------------------------------------------------------------------------


def _bare_home(server: SFTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_extra: str = "") -> None:
    """A HOME whose ssh config names the key but whose known_hosts is empty."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n    IdentityFile {server.client_key}\n{config_extra}")
    monkeypatch.setenv("HOME", str(home))


def test_an_unknown_host_is_refused_unless_accepted(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _bare_home(server, tmp_path, monkeypatch)
    refused = _repo(root, Settings())
    with pytest.raises(MlflowException) as info:
        refused.list_artifacts()
    message = info.value.message
    assert "127.0.0.1" in message and "MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS" in message
    assert info.value.error_code == "UNAUTHENTICATED"
    with pytest.raises(MlflowException, match="Refusing the SSH host"):  # each time, not only the first
        refused.list_artifacts()

    caplog.set_level(logging.WARNING, logger="mlflow_client")
    monkeypatch.setenv("MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS", "true")
    accepted = _repo(root)
    assert accepted.list_artifacts() == []
    assert "Accepting the unknown SSH host [127.0.0.1]" in caplog.text
    accepted.close()


def test_known_hosts_from_the_variable_and_the_ssh_config(
    server: SFTPServer, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare_home(server, tmp_path, monkeypatch)
    extra = tmp_path / "extra_known_hosts"
    shutil.copy(server.known_hosts, extra)
    repo = _repo(root, Settings(sftp_known_hosts=str(extra)))
    assert repo.list_artifacts() == []
    repo.close()

    _bare_home(server, tmp_path / "2", monkeypatch, f"    UserKnownHostsFile /nonexistent {extra}\n")
    repo = _repo(root, Settings())
    assert repo.list_artifacts() == []
    repo.close()

    # a known host whose key changed is refused too
    wrong_key = paramiko.RSAKey.generate(1024).get_base64()
    extra.write_text(f"[127.0.0.1]:{server.port} ssh-ed25519 {wrong_key}\n")
    with pytest.raises(MlflowException) as info:
        _repo(root, Settings(sftp_known_hosts=str(extra))).list_artifacts()
    assert info.value.error_code == "UNAUTHENTICATED"


# -- interop with MLflow's own repository -------------------------------------------------------------


def test_mlflow_reads_what_we_write(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=10)
    ours = _repo(root)
    ours.log_artifacts(src, "data")
    ours.log_artifact(src / "sub" / "b.bin")
    ours.close()
    theirs = _mlflow_repo(root)
    assert {(f.path, f.is_dir) for f in theirs.list_artifacts()} == {("b.bin", False), ("data", True)}
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(theirs.download_artifacts("data", str(dst)))) == expected
    got = Path(theirs.download_artifacts("b.bin", str(dst)))
    assert hashlib.sha256(got.read_bytes()).hexdigest() == expected["sub/b.bin"]


def test_we_read_what_mlflow_writes(root: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=10)
    theirs = _mlflow_repo(root)
    theirs.log_artifacts(str(src), "data")
    theirs.log_artifact(str(src / "a.txt"), "top")
    ours = _repo(root)
    assert [(f.path, f.is_dir) for f in ours.list_artifacts()] == [("data", True), ("top", True)]
    assert [(f.path, f.file_size) for f in ours.list_artifacts("top")] == [("top/a.txt", 6)]
    dst = tmp_path / "dst"
    dst.mkdir()
    assert hashes(Path(ours.download_artifacts("", dst))) == {
        "top/a.txt": expected["a.txt"],
        **{f"data/{k}": v for k, v in expected.items()},
    }
    ours.close()


# -- a real `mlflow server` whose default artifact root is on the SFTP server ------------------------


@pytest.mark.mlflow_server
def test_mlflow_server_with_an_sftp_artifact_root(server: SFTPServer, tmp_path: Path) -> None:
    """The server records sftp:// artifact URIs and lists them with its own MLflow; the client moves the bytes."""
    artifact_root = server.new_root()
    args = ("--default-artifact-root", artifact_root, "--no-serve-artifacts")
    with real_mlflow_server(extra_args=args) as url, MlflowClient(url) as client:  # HOME inherited
        exp = client.create_experiment(f"sftp-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        run_id = run.info.run_id
        assert run.info.artifact_uri == f"{artifact_root}/{exp}/{run_id}/artifacts"

        src = tmp_path / "src"
        expected = make_tree(src, many=10)
        client.log_artifacts(run_id, src, "data")
        client.log_artifact(run_id, src / "sub" / "b.bin")
        client.log_text(run_id, "some text", "notes/readme.txt")

        remote = server.path_of(artifact_root) / exp / run_id / "artifacts"
        assert hashlib.sha256((remote / "b.bin").read_bytes()).hexdigest() == expected["sub/b.bin"]
        assert (remote / "notes" / "readme.txt").read_text() == "some text"
        assert _files(remote) == {f"data/{k}" for k in expected} | {"b.bin", "notes/readme.txt"}

        # the server lists the folder itself (MLflow's pysftp repository, same HOME and known_hosts)
        top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
        assert top == {("b.bin", False), ("data", True), ("notes", True)}

        dst = tmp_path / "dst"
        dst.mkdir()
        assert hashes(Path(client.download_artifacts(run_id, "data", dst))) == expected
        assert Path(client.download_artifacts(run_id, "notes/readme.txt", dst)).read_text() == "some text"
