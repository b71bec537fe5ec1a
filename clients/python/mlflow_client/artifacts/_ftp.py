"""``ftp://user:password@host[:port]/path`` URIs: the client moves the bytes itself, with the standard library's
``ftplib`` (no extra needed).

The layout is MLflow's: the URI's path is absolute on the server, a file logged as ``a/b.txt`` is
``<path>/a/b.txt``, and folders are real FTP folders (empty local folders are kept, as MLflow keeps them).
The user and password are percent-decoded; without them the login is anonymous.

``ftplib`` is imported at the first request. Each worker thread takes a logged-in connection from a small
pool and gives it back after the transfer; a connection that broke (or that the server closed while idle)
is dropped and replaced. Transfers are binary and passive; uploads go through ``sendfile`` where the kernel
has it, downloads are written as they arrive, in blocks of at most ``chunk_size`` bytes. Folders are
listed with ``MLSD`` when the server offers it (one request per folder), else with ``NLST`` and a
``SIZE`` (or ``CWD``) probe per entry, as MLflow lists them.

Server replies are shown in messages (a 530, a 550 and its text) but the password never is: the URI shown
is ``display_uri`` and any reply that echoes the password has it replaced.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

from ..entities import FileInfo
from ..exceptions import REDACTED, ConnectionFailed, MlflowException, RequestTimeout
from . import ArtifactRepository
from ._common import CHUNK_SIZE, Progress, check_relative, join_remote, write_atomically

if TYPE_CHECKING:
    import ftplib

    from .._settings import Settings

_log = logging.getLogger("mlflow_client")
T = TypeVar("T")

DEFAULT_PORT = 21
#: Seconds a connection, command or data transfer may wait on the server when
#: MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT is unset.
DEFAULT_TIMEOUT = 60.0
#: Idle logged-in connections kept for reuse; more are opened while more threads transfer at once.
MAX_IDLE_CONNECTIONS = 32

#: FTP reply codes -> MLflow error codes (550 depends on the direction: see ``_code_of``).
_REPLY_CODES = {
    "530": "UNAUTHENTICATED",
    "332": "UNAUTHENTICATED",
    "532": "PERMISSION_DENIED",
    "553": "INVALID_PARAMETER_VALUE",
    "421": "TEMPORARILY_UNAVAILABLE",
    "450": "TEMPORARILY_UNAVAILABLE",
}
#: errno values of a network that cannot be reached (as opposed to a local file's failure).
_NETWORK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENETUNREACH", "EHOSTUNREACH", "EHOSTDOWN", "ENETDOWN", "ECONNABORTED", "EPIPE", "ENOTCONN")
    if hasattr(errno, name)
)


class _Unlistable(Exception):
    """The path is not a folder the server will list (a file, or nothing): it lists ``[]``."""


def _ftplib() -> Any:
    import ftplib

    return ftplib


class FTPArtifactRepository(ArtifactRepository):
    """The files under one folder of an FTP server.

    ``timeout`` (seconds) overrides ``MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`` (default 60, none at -1); ``chunk_size``
    is the most bytes sent or received at a time (and the step of the progress bar); ``mlsd`` forces the
    listing command: ``True`` for ``MLSD``, ``False`` for ``NLST`` with probes, ``None`` (default) for
    ``MLSD`` when the server's ``FEAT`` offers it.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        settings: Settings | None = None,
        timeout: float | None = None,
        chunk_size: int = CHUNK_SIZE,
        mlsd: bool | None = None,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        if chunk_size < 1:
            raise MlflowException(
                f"chunk_size must be positive, got {chunk_size}", error_code="INVALID_PARAMETER_VALUE"
            )
        self.host, self.port, self.user, self._password, self.path = _split_ftp_uri(artifact_uri, self.display_uri)
        self.timeout: float | None
        if timeout is None:
            if settings is None:
                from .._settings import Settings

                settings = Settings.from_env()
            self.timeout = settings.transfer_timeout(DEFAULT_TIMEOUT)
        elif timeout <= 0:
            raise MlflowException(f"timeout must be positive, got {timeout}", error_code="INVALID_PARAMETER_VALUE")
        else:
            self.timeout = timeout
        self.chunk_size = chunk_size
        self._mlsd = mlsd
        self._lock = threading.Lock()
        self._idle: list[ftplib.FTP] = []
        self._generation = 0  # bumped by close(): connections lent out before it are not taken back
        self._folders: set[str] = set()  # remote folders known to exist (made or seen)
        self._buffers = threading.local()

    # -- connections ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections; connections in use are closed when given back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
            self._folders.clear()
        for ftp in idle:
            _close_quietly(ftp)

    def _connect(self) -> ftplib.FTP:
        ftplib_ = _ftplib()
        _log.debug("FTP: connecting to %s:%s as %s", self.host, self.port, self.user or "anonymous")
        ftp: ftplib.FTP = ftplib_.FTP(timeout=self.timeout, encoding="utf-8")
        try:
            ftp.connect(self.host, self.port)
            ftp.login(self.user, self._password)
            ftp.set_pasv(True)
            ftp.voidcmd("TYPE I")  # once: every transfer and SIZE is binary, listings do not change it
            if self._mlsd is None:
                self._mlsd = _offers_mlsd(ftp)
        except BaseException:
            _close_quietly(ftp)
            raise
        return ftp

    def _acquire(self) -> tuple[ftplib.FTP, int]:
        while True:
            with self._lock:
                ftp = self._idle.pop() if self._idle else None
                generation = self._generation
            if ftp is None:
                return self._connect(), generation
            if _still_open(ftp):
                return ftp, generation
            _close_quietly(ftp)  # the server closed it while idle (its timeout): take another

    def _release(self, ftp: ftplib.FTP, generation: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(ftp)
                return
        _close_quietly(ftp)

    def _run(self, doing: str, remote: str, op: Callable[[ftplib.FTP], T], *, upload: bool = False) -> T:
        """``op`` on a pooled connection; its failure becomes an ``MlflowException`` naming ``remote``."""
        try:
            ftp, generation = self._acquire()
        except Exception as err:
            raise self._fail(doing, remote, err, upload=upload) from err
        try:
            result = op(ftp)
        except BaseException as err:
            # A refusal (4xx/5xx reply) leaves the connection in step; anything else (a broken socket, a
            # transfer cut short) may not: drop it.
            if _is_clean_refusal(err):
                self._release(ftp, generation)
            else:
                _close_quietly(ftp)
            if isinstance(err, (MlflowException, _Unlistable)) or not isinstance(err, Exception):
                raise
            raise self._fail(doing, remote, err, upload=upload) from err
        self._release(ftp, generation)
        return result

    # -- errors ---------------------------------------------------------------------------------

    def _where(self, remote: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ftp://{host}:{self.port}{remote}"

    def _scrub(self, text: str) -> str:
        """``text`` without the password (a server reply may echo what it was sent)."""
        if self._password:
            for secret in {self._password, self._raw_password()}:
                if secret:
                    text = text.replace(secret, REDACTED)
        return text

    def _raw_password(self) -> str:
        netloc = urlsplit(self.artifact_uri).netloc
        userinfo = netloc.rpartition("@")[0]
        return userinfo.partition(":")[2]

    def _fail(self, doing: str, remote: str, err: BaseException, *, upload: bool = False) -> MlflowException:
        """An ``MlflowException`` naming what failed, the remote path and the store; the reply code mapped."""
        detail = self._scrub(str(err).strip() or type(err).__name__)
        message = f"{doing} {self._where(remote)} (artifact store {self.display_uri}): {detail}"
        if isinstance(err, (TimeoutError, socket.timeout)):
            return RequestTimeout(message)
        if _is_network_error(err):
            return ConnectionFailed(message)
        return MlflowException(message, error_code=_code_of(err, upload=upload))

    # -- remote paths ---------------------------------------------------------------------------

    def _remote(self, rel: str) -> str:
        """The absolute server path of ``rel`` (relative to the artifact root)."""
        if not rel:
            return self.path
        return f"{self.path.rstrip('/')}/{rel}"

    def _ensure_folder(self, ftp: ftplib.FTP, folder: str) -> None:
        """``mkdir -p folder``: safe when another thread (or client) makes the same folders at once.

        A 550 to MKD means "exists" or "no parent"; whichever it was, once the parent surely exists a second
        MKD either makes the folder or fails because someone else just made it, which CWD then confirms.
        """
        if folder in ("", "/") or folder in self._folders:
            return
        ftplib_ = _ftplib()
        try:
            ftp.mkd(folder)
        except ftplib_.error_perm as err:
            if not str(err).startswith("550"):
                raise
            if not _is_folder(ftp, folder):
                self._ensure_folder(ftp, posixpath.dirname(folder))
                try:
                    ftp.mkd(folder)
                except ftplib_.error_perm:
                    if not _is_folder(ftp, folder):  # a file is in the way, or no right to make it
                        raise
        with self._lock:
            self._folders.add(folder)

    # -- the repository -------------------------------------------------------------------------

    def _before_log_dir(self, local_dir: str, artifact_path: str) -> None:
        """Make the target folder and the remote twins of local folders holding no file, as MLflow does."""
        empty = [
            join_remote(artifact_path, os.path.relpath(folder, local_dir).replace(os.sep, "/"))
            for folder, _dirs, names in os.walk(local_dir)
            if not names
        ]
        folders = [self._remote(artifact_path), *(self._remote(check_relative(rel, self.display_uri)) for rel in empty)]

        def make(ftp: ftplib.FTP) -> None:
            for folder in folders:
                self._ensure_folder(ftp, folder)

        self._run("Failed to create the folder", self._remote(artifact_path), make, upload=True)

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        remote = self._remote(join_remote(artifact_path, os.path.basename(local_file)))
        doing = f"Failed to upload {local_file} to"
        try:
            f = open(local_file, "rb")  # noqa: SIM115 - closed below; a local failure is not the store's
        except OSError as err:
            raise MlflowException(f"{doing} {self._where(remote)} (artifact store {self.display_uri}): {err}") from err
        with f:

            def upload(ftp: ftplib.FTP) -> None:
                self._ensure_folder(ftp, posixpath.dirname(remote))
                f.seek(0)
                with ftp.transfercmd(f"STOR {remote}") as conn:
                    _send_file(conn, f, self.chunk_size, progress)
                ftp.voidresp()

            self._run(doing, remote, upload, upload=True)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
        folder = self._remote(rel)

        def listing(ftp: ftplib.FTP) -> list[FileInfo]:
            entries = self._mlsd_entries(ftp, folder) if self._mlsd else self._nlst_entries(ftp, folder)
            infos: list[FileInfo] = []
            for name, is_dir, size in entries:
                if name in (".", ".."):
                    continue
                if "/" in name or "\\" in name or "\x00" in name or not name:
                    raise MlflowException(
                        f"Refusing the entry {name!r} listed in {self._where(folder)} (artifact store "
                        f"{self.display_uri}): it is not a plain name inside the listed folder",
                        error_code="INVALID_PARAMETER_VALUE",
                    )
                infos.append(FileInfo(join_remote(rel, name), is_dir, None if is_dir else size))
            return infos

        try:
            infos = self._run("Failed to list", folder, listing)
        except _Unlistable:
            return []
        return sorted(infos, key=lambda f: f.path)

    def _mlsd_entries(self, ftp: ftplib.FTP, folder: str) -> list[tuple[str, bool, int | None]]:
        ftplib_ = _ftplib()
        try:
            lines = _read_lines(ftp, f"MLSD {folder}")
        except ftplib_.error_perm as err:
            code = str(err)[:3]
            if code in ("500", "502"):  # FEAT promised it, the server refuses it: list as MLflow does
                self._mlsd = False
                return self._nlst_entries(ftp, folder)
            if code in ("501", "550"):  # a file (RFC 3659's 501), or nothing there
                raise _Unlistable from err
            raise
        entries: list[tuple[str, bool, int | None]] = []
        for line in lines:
            facts_text, sep, name = line.partition(" ")
            if not sep:
                continue
            facts = dict(
                (key.lower(), value) for key, _, value in (f.partition("=") for f in facts_text.split(";") if f)
            )
            kind = facts.get("type", "").lower()
            if kind in ("cdir", "pdir"):
                continue
            size = facts.get("size")
            entries.append((name, kind == "dir", _int(size)))
        return entries

    def _nlst_entries(self, ftp: ftplib.FTP, folder: str) -> list[tuple[str, bool, int | None]]:
        ftplib_ = _ftplib()
        if not _is_folder(ftp, folder):  # NLST of a file lists the file itself
            raise _Unlistable
        try:
            names = _read_lines(ftp, f"NLST {folder}")
        except ftplib_.error_perm as err:
            if str(err).startswith("550"):  # some servers answer an empty folder so
                return []
            raise
        except ftplib_.error_temp as err:
            if str(err).startswith("450"):  # "no files found"
                return []
            raise
        entries: list[tuple[str, bool, int | None]] = []
        for listed in names:
            name = posixpath.basename(listed.rstrip("/"))  # servers list bare names or whole paths
            if name in ("", ".", ".."):
                continue
            full = f"{folder.rstrip('/')}/{name}"
            try:
                size = ftp.size(full)  # one reply for a file; a folder answers 550
            except ftplib_.error_perm:
                if _is_folder(ftp, full):
                    entries.append((name, True, None))
                    continue
                raise
            entries.append((name, False, size))
        return entries

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        remote = self._remote(check_relative(remote_path, self.display_uri))
        failure = f"Failed to download artifact {remote_path} from {self.display_uri}"

        def fill(out: BinaryIO) -> None:
            def download(ftp: ftplib.FTP) -> None:
                buffer, view = self._buffer()
                with ftp.transfercmd(f"RETR {remote}") as conn:
                    while n := conn.recv_into(buffer):
                        out.write(view[:n])
                        progress.add(n)
                ftp.voidresp()

            self._run("Failed to download", remote, download)

        write_atomically(target, fill, failure)

    def _buffer(self) -> tuple[bytearray, memoryview]:
        """This thread's receive buffer: made once, not per file (a zeroed MiB costs more than a small file)."""
        held: tuple[bytearray, memoryview] | None = getattr(self._buffers, "held", None)
        if held is None or len(held[0]) != self.chunk_size:
            buffer = bytearray(self.chunk_size)
            held = self._buffers.held = (buffer, memoryview(buffer))
        return held

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        remote = self._remote(check_relative(remote_path, self.display_uri))
        try:
            ftp, generation = self._acquire()
        except Exception as err:
            raise self._fail("Failed to read", remote, err) from err
        try:
            conn = ftp.transfercmd(f"RETR {remote}")
        except Exception as err:
            if _is_clean_refusal(err):
                self._release(ftp, generation)
            else:
                _close_quietly(ftp)
            raise self._fail("Failed to read", remote, err) from err
        finished = False

        def chunks() -> Iterator[bytes]:
            nonlocal finished
            try:
                while block := conn.recv(self.chunk_size):
                    yield block
            except OSError as err:
                raise self._fail("Failed to read", remote, err) from err
            finished = True

        try:
            yield chunks()
        finally:
            conn.close()
            if finished:
                try:
                    ftp.voidresp()
                except Exception:
                    _close_quietly(ftp)
                else:
                    self._release(ftp, generation)
            else:  # read only in part: the server's last reply is unknown, the connection out of step
                _close_quietly(ftp)


# -- helpers ------------------------------------------------------------------------------------------


def _split_ftp_uri(artifact_uri: str, shown: str) -> tuple[str, int, str, str, str]:
    """(host, port, user, password, absolute path) of an ``ftp://`` URI; user and password percent-decoded."""
    try:
        parts = urlsplit(artifact_uri)
        port = parts.port
    except ValueError as err:
        raise MlflowException(f"{shown} is not a valid FTP URI: {err}", error_code="INVALID_PARAMETER_VALUE") from err
    if parts.scheme.lower() != "ftp":
        raise MlflowException(
            f"{shown} is not an FTP URI: expected ftp://[user[:password]@]host[:port]/path",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if parts.query or parts.fragment:
        raise MlflowException(
            f"{shown} is not a valid FTP URI: it has a query or a fragment", error_code="INVALID_PARAMETER_VALUE"
        )
    host = parts.hostname or "localhost"  # MLflow's default too
    user = unquote(parts.username) if parts.username else ""
    password = unquote(parts.password) if parts.password else ""
    if any(c in "\r\n" for c in user + password + parts.path):
        raise MlflowException(
            f"{shown} is not a valid FTP URI: it contains a line break", error_code="INVALID_PARAMETER_VALUE"
        )
    path = "/" + "/".join(p for p in parts.path.split("/") if p)
    return host, DEFAULT_PORT if port is None else port, user, password, path


def _offers_mlsd(ftp: ftplib.FTP) -> bool:
    ftplib_ = _ftplib()
    try:
        features = ftp.sendcmd("FEAT")
    except ftplib_.error_perm:
        return False
    return any(line.strip().upper().startswith("MLST") for line in features.splitlines()[1:])


def _read_lines(ftp: ftplib.FTP, command: str) -> list[str]:
    """The lines a listing command sends on a data connection (binary mode kept: no ``TYPE A``)."""
    with ftp.transfercmd(command) as conn, conn.makefile("rb") as stream:
        lines = [raw.decode(ftp.encoding, "surrogateescape").rstrip("\r\n") for raw in stream]
    ftp.voidresp()
    return [line for line in lines if line]


def _is_folder(ftp: ftplib.FTP, path: str) -> bool:
    ftplib_ = _ftplib()
    try:
        ftp.cwd(path)
    except ftplib_.error_perm:
        return False
    return True


def _send_file(conn: socket.socket, f: BinaryIO, chunk_size: int, progress: Progress) -> None:
    """The rest of ``f`` on ``conn``: ``sendfile`` (no copy through Python) where the system has it."""
    offset = f.tell()
    try:
        while sent := conn.sendfile(f, offset, chunk_size):
            offset += sent
            progress.add(sent)
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and _is_network_error(err):
            raise
        f.seek(offset)  # not a regular file (or no sendfile): plain reads from here on
        while block := f.read(chunk_size):
            conn.sendall(block)
            progress.add(len(block))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _still_open(ftp: ftplib.FTP) -> bool:
    """``False`` if the server closed the idle connection (or said something unasked, such as a 421)."""
    sock = ftp.sock
    if sock is None:
        return False
    try:  # a selector, not select(): a process may have more than FD_SETSIZE (1024) files open
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return not selector.select(0)
    except (OSError, ValueError):
        return False


def _close_quietly(ftp: ftplib.FTP) -> None:
    with contextlib.suppress(Exception):
        ftp.close()


def _is_clean_refusal(err: BaseException) -> bool:
    """A 4xx/5xx reply to a command (the connection is still in step), not a 421 closing it; or a listing
    that arrived whole and was refused here."""
    if isinstance(err, (_Unlistable, MlflowException)):
        return True
    ftplib_ = _ftplib()
    return isinstance(err, (ftplib_.error_perm, ftplib_.error_temp)) and not str(err).startswith("421")


def _is_network_error(err: BaseException) -> bool:
    if isinstance(err, (EOFError, ConnectionError, socket.gaierror, socket.herror)):
        return True
    return isinstance(err, OSError) and err.errno in _NETWORK_ERRNOS


def _code_of(err: BaseException, *, upload: bool) -> str:
    ftplib_ = _ftplib()
    if not isinstance(err, ftplib_.Error):
        return "INTERNAL_ERROR"
    code = str(err)[:3]
    if code == "550":
        return "PERMISSION_DENIED" if upload else "RESOURCE_DOES_NOT_EXIST"
    return _REPLY_CODES.get(code, "INTERNAL_ERROR")
