"""``sftp://[user[:password]@]host[:port]/path`` URIs: the client moves the bytes over SSH itself, with paramiko
(the ``sftp`` extra).

paramiko is imported at the first request, so ``import mlflow_client`` stays light and a missing paramiko
fails with an ``ImportError`` naming ``pip install 'mlflow-client[sftp]'``. The remote layout is MLflow's
(``<path>/<artifact_path>/<file>``, the path absolute as the URI gives it), so both clients read each
other's artifacts.

The connection is set up as MLflow's repository sets it up: the URI's host is looked up in ``~/.ssh/config``
(``HostName``, ``User``, ``Port``, ``IdentityFile``), the URI's user, password and port winning. Then the
client authenticates with the URI's password, the config's identity files, the ssh agent and the default
keys (``~/.ssh/id_*``). The server's host key must be in ``~/.ssh/known_hosts``, ``/etc/ssh/ssh_known_hosts``,
the config's ``UserKnownHostsFile`` or ``MLFLOW_CLIENT_SFTP_KNOWN_HOSTS``: an unknown host is refused unless
``MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS`` is true (unsafe; logged as a warning). ``~`` is the ``HOME`` of
the moment of connecting.

One SSH connection carries every transfer: each worker thread borrows its own SFTP session (a channel of that
connection) from a small pool, at most ``max_sessions`` of them (OpenSSH allows 10 per connection). Uploads
are pipelined (writes are not awaited one by one) and downloads prefetched (all read requests sent ahead), so
a big file moves at the speed of the link rather than of its round trips. Requests carry up to 255 KiB where
the server's limits (OpenSSH's ``limits@openssh.com``, asked by the first sessions of each connection) allow,
else paramiko's 32 KiB. What has arrived and is not read yet stays within the session's window
(``WINDOW_SIZE``): the server waits for the reader, so a slow reader holds no more than that.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import logging
import os
import posixpath
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ..entities import FileInfo
from ..exceptions import REDACTED, MlflowConnectionError, MlflowException
from . import ArtifactRepository
from ._common import CHUNK_SIZE, Progress, check_relative, join_remote, redact_uri, run_all, write_atomically

if TYPE_CHECKING:
    from .._settings import Settings

logger = logging.getLogger("mlflow_client")

INSTALL_HINT = "pip install 'mlflow-client[sftp]'"
DEFAULT_PORT = 22
#: SFTP sessions (channels of the one SSH connection) open at most: below OpenSSH's MaxSessions (10).
DEFAULT_MAX_SESSIONS = 8
#: Seconds to wait for the TCP connection and the SSH handshake when no transfer timeout is set.
CONNECT_TIMEOUT = 30.0
#: Sessions a big file goes up on at once: each session's window (2 MiB on OpenSSH) caps its throughput at
#: 2 MiB per round trip, so a server far away takes a big file faster in parallel ranges.
UPLOAD_PARTS = 4
#: The smallest range of a file sent on its own session.
PART_SIZE = 32 * 1024 * 1024
#: Bytes the server may send on a session before we acknowledge them (the channel's window). Not more:
#: paramiko copies what is buffered at each read, so a bigger backlog costs CPU (16 MiB was slower on loopback).
WINDOW_SIZE = 8 * 1024 * 1024
#: Bytes per SFTP read or write request to a server that does not say what it takes: paramiko's 32 KiB,
#: which every server serves.
READ_REQUEST = 32768
#: Bytes per request, at most, to a server whose limits (OpenSSH's ``limits@openssh.com``) allow more:
#: OpenSSH's own largest read. An eighth of the requests and answers of 32 KiB ones: 200 MB moved in about
#: half the client CPU on loopback.
MAX_REQUEST = 255 * 1024
#: The largest SSH packet we take on a session: one answer of ``MAX_REQUEST`` bytes fits in one.
MAX_PACKET = 256 * 1024
#: Ciphers preferred when the server has them: authenticated encryption, no separate MAC to compute.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
#: Private keys read from identity files: (path, mtime, size, inode) -> paramiko key.
_KEYS: dict[tuple[str, int, int, int], Any] = {}
_KEYS_LOCK = threading.Lock()
_CONFIG = "~/.ssh/config"
_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
_ACCEPT_VARIABLE = "MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS"
_CONNECTION_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT")
    if hasattr(errno, name)
)


def import_paramiko() -> Any:
    """The ``paramiko`` module, or an ``ImportError`` saying which extra to install."""
    try:
        import paramiko  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(f"sftp:// artifact stores need paramiko, which is not installed: {INSTALL_HINT}") from err
    return paramiko


def split_sftp_uri(artifact_uri: str) -> tuple[str, int | None, str | None, str | None, str]:
    """(host, port, user, password, absolute path) of an ``sftp://`` URI; user and password percent-decoded.

    As in MLflow, a URI without a host means ``localhost`` and one without a path the root folder ``/``.
    """
    shown = redact_uri(artifact_uri)
    parts = urlsplit(artifact_uri)
    if parts.scheme.lower() != "sftp":
        raise MlflowException(
            f"{shown} is not an SFTP URI: expected sftp://[user[:password]@]host[:port]/path",
            error_code="INVALID_PARAMETER_VALUE",
        )
    try:
        port = parts.port
    except ValueError as err:
        raise MlflowException(f"Invalid port in the SFTP URI {shown}", error_code="INVALID_PARAMETER_VALUE") from err
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return parts.hostname or "localhost", port, user, password, parts.path or "/"


class _HostKeyPolicy:
    """paramiko's missing-host-key hook: refuse an unknown host, or accept it with a warning when allowed."""

    def __init__(self, accept: bool, shown: str) -> None:
        self.accept = accept
        self.shown = shown

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        fingerprint = getattr(key, "fingerprint", key.get_name())
        if not self.accept:
            raise MlflowException(
                f"Refusing the SSH host {hostname} of {self.shown}: its host key ({fingerprint}) is in no "
                "known_hosts file (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts, ~/.ssh/config's "
                "UserKnownHostsFile, MLFLOW_CLIENT_SFTP_KNOWN_HOSTS). Add it (`ssh-keyscan` it, or connect once "
                f"with `ssh`), or set {_ACCEPT_VARIABLE}=true to accept unknown hosts (unsafe)",
                error_code="UNAUTHENTICATED",
            )
        logger.warning(
            "Accepting the unknown SSH host %s (%s) of %s because %s is set: its identity is not verified",
            hostname,
            fingerprint,
            self.shown,
            _ACCEPT_VARIABLE,
        )
        client.get_host_keys().add(hostname, key.get_name(), key)


class _Sessions:
    """One SSH connection and up to ``limit`` SFTP sessions on it, each lent to one thread at a time.

    A session whose work failed is closed rather than lent again; a dead connection is replaced at the next
    borrow; ``close`` drops everything (sessions still lent are closed when given back).
    """

    def __init__(self, connect: Callable[[], Any], limit: int, timeout: float | None) -> None:
        self._connect = connect
        self._limit = limit
        self._timeout = timeout
        self._cond = threading.Condition()
        self._client: Any = None
        self._idle: list[Any] = []
        self._lent = 0
        self._generation = 0
        # (generation, bytes): asked by each session opened before the connection's first answer came (a
        # round trip each, made alongside the session's own), then kept until the connection is replaced.
        self._request_size = (-1, READ_REQUEST)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        sftp, generation = self._borrow()
        healthy = False
        try:
            yield sftp
            healthy = True
        finally:
            self._give_back(sftp, generation, healthy)

    def _borrow(self) -> tuple[Any, int]:
        while True:
            with self._cond:
                while True:
                    if self._client is None or not self._client.get_transport().is_active():
                        self._reset()
                        self._client = self._connect()
                    if self._idle:
                        self._lent += 1
                        return self._idle.pop(), self._generation
                    if self._lent < self._limit:
                        self._lent += 1
                        client, generation = self._client, self._generation
                        break
                    self._cond.wait()
            try:
                # Not open_sftp(): that leaves the channel at paramiko's 2 MiB window, which caps a download
                # at 2 MiB per round trip (100 MB/s from a server 20 ms away).
                sftp = import_paramiko().SFTPClient.from_transport(
                    client.get_transport(), window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET
                )
                if self._request_size[0] != generation:
                    self._request_size = (generation, _request_size(sftp))
            except Exception as err:
                with self._cond:
                    if generation == self._generation:
                        self._lent -= 1
                        if isinstance(err, import_paramiko().ChannelException) and self._lent > 0:
                            self._limit = self._lent  # the server allows fewer sessions: wait for a lent one
                            continue
                    self._cond.notify()
                raise
            if self._timeout is not None:
                sftp.get_channel().settimeout(self._timeout)
            return sftp, generation

    def _give_back(self, sftp: Any, generation: int, healthy: bool) -> None:
        with self._cond:
            if generation == self._generation:
                self._lent -= 1
                if healthy and not sftp.get_channel().closed:
                    self._idle.append(sftp)
                    sftp = None
                self._cond.notify()
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()

    def _reset(self) -> None:
        """Close the connection and its idle sessions (the caller holds the lock)."""
        idle, client = self._idle, self._client
        self._idle, self._client, self._lent = [], None, 0
        self._generation += 1
        for sftp in idle:
            with contextlib.suppress(Exception):
                sftp.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        self._cond.notify_all()

    def open(self, sftp: Any, remote: str, mode: str) -> Any:
        """``sftp.open``, the file reading and writing in requests of the size this server takes."""
        f = sftp.open(remote, mode)
        f.MAX_REQUEST_SIZE = self._request_size[1]  # paramiko's prefetch, reads and writes all use it
        return f

    @property
    def limit(self) -> int:
        """The most sessions open at once (lowered if the server refuses one)."""
        return self._limit

    def close(self) -> None:
        with self._cond:
            self._reset()


class SFTPArtifactRepository(ArtifactRepository):
    """The files under one folder of an SFTP server.

    ``block_size`` is the bytes read from a local file per write (the bytes go in SFTP requests of up to
    255 KiB, as the server's limits allow, else 32 KiB); ``max_sessions`` caps the SFTP sessions opened on
    the SSH connection. A file of at least twice ``part_size`` bytes goes up in up to ``upload_parts`` ranges
    at once, each written in place on its own session. Empty local folders are kept, as MLflow's repository
    keeps them.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        settings: Settings | None = None,
        block_size: int = CHUNK_SIZE,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        upload_parts: int = UPLOAD_PARTS,
        part_size: int = PART_SIZE,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        checked = (("block_size", block_size), ("max_sessions", max_sessions), ("upload_parts", upload_parts))
        for name, value in (*checked, ("part_size", part_size)):
            if value < 1:
                raise MlflowException(f"{name} must be positive, got {value}", error_code="INVALID_PARAMETER_VALUE")
        self.host, self.port, self.username, self._password, path = split_sftp_uri(artifact_uri)
        self.root = path.rstrip("/") or "/"
        if settings is None:
            from .._settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        self.block_size = block_size
        self.upload_parts = upload_parts
        self.part_size = part_size
        self._timeout = settings.transfer_timeout(None)
        self._sessions = _Sessions(self._connect, max_sessions, self._timeout)
        self._netloc = urlsplit(self.display_uri).netloc
        self._made_dirs: set[str] = set()
        self._dirs_lock = threading.Lock()

    def close(self) -> None:
        """Close the SSH connection and its sessions; the next request connects again."""
        self._sessions.close()
        with self._dirs_lock:
            self._made_dirs.clear()

    # -- connecting -----------------------------------------------------------------------------

    def _ssh_options(self, paramiko: Any) -> tuple[dict[str, Any], list[str]]:
        """``SSHClient.connect`` arguments (as MLflow reads ``~/.ssh/config``) and the known_hosts files."""
        config = paramiko.SSHConfig()
        config_file = os.path.expanduser(_CONFIG)
        if os.path.isfile(config_file):
            with open(config_file) as f:
                config.parse(f)
        entry = config.lookup(self.host)
        port = self.port
        if port is None:
            port = int(entry["port"]) if "port" in entry else DEFAULT_PORT
        keys = [os.path.expanduser(k) for k in entry.get("identityfile", [])]
        known = [os.path.expanduser(p) for p in _KNOWN_HOSTS]
        known += [os.path.expanduser(p) for p in entry.get("userknownhostsfile", "").split()]
        if self.settings.sftp_known_hosts:
            known.append(os.path.expanduser(self.settings.sftp_known_hosts))
        options: dict[str, Any] = {
            "hostname": entry.get("hostname", self.host),
            "port": port,
            "username": self.username or entry.get("user"),
            "password": self._password,
            "key_filename": None,
            "allow_agent": True,
            "look_for_keys": True,
            "timeout": self._timeout or CONNECT_TIMEOUT,
            "banner_timeout": self._timeout or CONNECT_TIMEOUT,
            "auth_timeout": self._timeout or CONNECT_TIMEOUT,
        }
        if self._timeout is not None:
            options["channel_timeout"] = self._timeout
        files = [k for k in keys if os.path.isfile(k)]
        for i, path in enumerate(files):
            key = _load_key(paramiko, path)
            if key is not None:  # tried first; paramiko reads the other files itself
                options["pkey"] = key
                del files[i]
                break
        options["key_filename"] = files or None
        if "transport_factory" in inspect.signature(paramiko.SSHClient.connect).parameters:  # paramiko >= 3.2
            options["transport_factory"] = functools.partial(_transport, paramiko)
        return options, known

    def _connect(self) -> Any:
        paramiko = import_paramiko()
        where = f"sftp://{self._netloc}"
        try:
            options, known = self._ssh_options(paramiko)
            client = paramiko.SSHClient()
            for path in known:
                if os.path.isfile(path):
                    client.load_system_host_keys(path)
        except Exception as err:
            raise MlflowException(
                f"Failed to read the SSH configuration for {where} (artifact store {self.display_uri}): "
                f"{self._scrub(str(err))}",
                error_code="INVALID_PARAMETER_VALUE",
            ) from err
        client.set_missing_host_key_policy(_HostKeyPolicy(self.settings.sftp_accept_unknown_hosts, self.display_uri))
        try:
            client.connect(**options)
            # Without it, a small request written while a reply is still unacknowledged waits for the
            # server's delayed ACK (40 ms on Linux): most file opens and closes would.
            client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except MlflowException:
            client.close()
            raise
        except Exception as err:
            client.close()
            raise self._fail("Failed to connect to", "", err, connecting=True) from err
        return client

    # -- errors ---------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` without the password, as given and as the URI spells it."""
        for secret in (self._password, urlsplit(self.artifact_uri).password):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _where(self, remote: str) -> str:
        return f"sftp://{self._netloc}{remote}"

    def _fail(self, doing: str, remote: str, err: Exception, *, connecting: bool = False) -> MlflowException:
        """An ``MlflowException`` naming what failed and the remote file, with the error's kind mapped."""
        paramiko = import_paramiko()
        detail = self._scrub(str(err) or type(err).__name__)
        message = f"{doing} {self._where(remote)} (artifact store {self.display_uri}): {detail}"
        if isinstance(err, paramiko.BadHostKeyException):
            return MlflowException(
                f"{message}: the host key differs from the known_hosts entry", error_code="UNAUTHENTICATED"
            )
        if isinstance(err, paramiko.AuthenticationException):
            return MlflowException(message, error_code="UNAUTHENTICATED")
        code = getattr(err, "errno", None)
        if isinstance(err, OSError) and code == errno.ENOENT:
            return MlflowException(message, error_code="RESOURCE_DOES_NOT_EXIST")
        if isinstance(err, OSError) and code in (errno.EACCES, errno.EPERM):
            return MlflowException(message, error_code="PERMISSION_DENIED")
        if (
            connecting
            or isinstance(err, (EOFError, socket.timeout, ConnectionError, socket.gaierror, paramiko.SSHException))
            or code in _CONNECTION_ERRNOS
        ):
            return MlflowConnectionError(message)
        return MlflowException(message, error_code="INTERNAL_ERROR")

    @contextlib.contextmanager
    def _failing(self, doing: str, remote: str) -> Iterator[None]:
        """Map what fails inside to an ``MlflowException`` saying ``doing`` what to which remote file."""
        try:
            yield
        except ImportError:
            raise
        except MlflowException as err:  # connecting failed: say what it was for
            raise type(err)(f"{doing} {self._where(remote)}: {err.message}", error_code=err.error_code) from err
        except Exception as err:
            raise self._fail(doing, remote, err) from err

    # -- remote paths ---------------------------------------------------------------------------

    def _remote(self, rel: str | None) -> str:
        return posixpath.join(self.root, rel) if rel else self.root

    def _makedirs(self, sftp: Any, folder: str) -> None:
        """``mkdir -p folder``, remembering what exists; safe when other threads make the same folders."""
        if folder in self._made_dirs or folder in ("/", ""):
            return
        try:
            sftp.mkdir(folder)
        except OSError as err:
            if err.errno == errno.ENOENT:  # the parent is missing
                self._makedirs(sftp, posixpath.dirname(folder))
                try:
                    sftp.mkdir(folder)
                except OSError:
                    if not _is_dir(sftp, folder):
                        raise
            elif not _is_dir(sftp, folder):  # servers say "Failure" when it exists already
                raise
        with self._dirs_lock:
            self._made_dirs.add(folder)

    # -- the repository -------------------------------------------------------------------------

    def _before_log_dir(self, local_dir: str, artifact_path: str) -> None:
        """Make every folder of ``local_dir`` (empty ones too) on the server, as MLflow's ``put_r`` does."""
        folders = [self._remote(artifact_path)]
        for folder, dirs, _names in os.walk(local_dir):
            rel = os.path.relpath(folder, local_dir)
            base = join_remote(artifact_path, "" if rel == "." else rel.replace(os.sep, "/"))
            folders += [self._remote(join_remote(base, name)) for name in sorted(dirs)]
        with self._failing("Failed to make the folder", folders[0]), self._sessions.session() as sftp:
            for folder in folders:
                self._makedirs(sftp, folder)

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        remote = self._remote(join_remote(artifact_path, os.path.basename(local_file)))
        with self._failing(f"Failed to upload {local_file} to", remote), open(local_file, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            parts = self._parts(size)
            with self._sessions.session() as sftp:
                self._makedirs(sftp, posixpath.dirname(remote))
                with self._sessions.open(sftp, remote, "wb") as out:
                    if len(parts) == 1:
                        self._send(src, out, 0, size, progress)
            if len(parts) > 1:  # the first session is back in the pool: the parts can take it
                run_all(
                    [
                        functools.partial(self._send_part, local_file, remote, start, end, progress)
                        for start, end in parts
                    ],
                    len(parts),
                    probe=False,
                )

    def _parts(self, size: int) -> list[tuple[int, int]]:
        """The byte ranges a file goes up in: one, or up to ``upload_parts`` of at least ``part_size`` bytes,
        each on its own session, when the file is big enough (a session's window caps its throughput)."""
        count = min(self.upload_parts, self._sessions.limit, size // self.part_size)
        if count <= 1:
            return [(0, size)]
        step = -(-size // count)
        return [(start, min(start + step, size)) for start in range(0, size, step)]

    def _send_part(self, local_file: str, remote: str, start: int, end: int, progress: Progress) -> None:
        with (
            open(local_file, "rb") as src,
            self._sessions.session() as sftp,
            self._sessions.open(sftp, remote, "r+") as out,
        ):
            self._send(src, out, start, end, progress)

    def _send(self, src: BinaryIO, out: Any, start: int, end: int, progress: Progress) -> None:
        """Write bytes ``start`` to ``end`` of ``src`` at the same place of the remote file ``out``, without
        waiting for each write's answer (closing ``out`` collects them, and raises the first error)."""
        out.set_pipelined(True)
        if start:
            src.seek(start)
            out.seek(start)
        left = end - start
        while left > 0 and (block := src.read(min(self.block_size, left))):
            out.write(block)
            progress.add(len(block))
            left -= len(block)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
        remote = self._remote(rel)
        infos: list[FileInfo] = []
        with self._failing("Failed to list", remote), self._sessions.session() as sftp:
            try:
                entries = sftp.listdir_attr(remote)
            except OSError as err:
                if err.errno == errno.ENOENT or not _is_dir(sftp, remote):
                    return []  # a missing folder or a file: nothing under it
                raise
            for attr in entries:
                name, found = attr.filename, attr
                if stat.S_ISLNK(attr.st_mode or 0):  # follow links, as MLflow's isdir/stat do
                    try:
                        found = sftp.stat(posixpath.join(remote, name))
                    except FileNotFoundError:
                        continue  # a dangling link: nothing to download
                # Not join_remote: a name with a slash or ".." must reach the checks as it is.
                child = f"{rel}/{name}" if rel else str(name)
                is_dir = stat.S_ISDIR(found.st_mode or 0)
                infos.append(FileInfo(child, is_dir, None if is_dir else int(found.st_size or 0)))
        return sorted(infos, key=lambda f: f.path)

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        remote = self._remote(remote_path)

        def fill(out: BinaryIO) -> None:
            with (
                self._failing("Failed to download", remote),
                self._sessions.session() as sftp,
                self._sessions.open(sftp, remote, "rb") as f,
            ):
                for block in _chunks(f):
                    out.write(block)
                    progress.add(len(block))

        write_atomically(target, fill, f"Failed to download artifact {remote_path} from {self.display_uri}")

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        remote = self._remote(remote_path)
        with contextlib.ExitStack() as stack:
            with self._failing("Failed to read", remote):
                sftp = stack.enter_context(self._sessions.session())
                f = stack.enter_context(self._sessions.open(sftp, remote, "rb"))
            yield self._guarded(_chunks(f), remote)

    def _guarded(self, chunks: Iterator[bytes], remote: str) -> Iterator[bytes]:
        with self._failing("Failed to read", remote):
            yield from chunks


def _chunks(f: Any) -> Iterator[bytes]:
    """The bytes of an open remote file: a small one in one read (no stat), the rest of a bigger one with its
    read requests sent ahead (prefetched)."""
    request = f.MAX_REQUEST_SIZE
    block = f.read(request)
    if block:
        yield block
    if len(block) < request:  # paramiko's read returns less than asked only at the end of the file
        return
    size = f.stat().st_size or 0
    if size > request:
        f.prefetch(size)  # from the current position on
    while block := f.read(request):
        yield block


def _request_size(sftp: Any) -> int:
    """Bytes per read and write request for this server: up to ``MAX_REQUEST`` as far as its answer to
    OpenSSH's ``limits@openssh.com`` allows (a limit of 0 is none), else ``READ_REQUEST``.

    The request goes through paramiko's own request call (it has no public one for extensions); a server
    without the extension answers "unsupported", an ``OSError``.
    """
    from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY  # type: ignore[import-untyped]

    try:
        kind, msg = sftp._request(CMD_EXTENDED, "limits@openssh.com")
    except OSError:
        return READ_REQUEST
    if kind != CMD_EXTENDED_REPLY:
        return READ_REQUEST
    packet, read, write = (msg.get_int64() for _ in range(3))
    size = min(MAX_REQUEST, read or MAX_REQUEST, write or MAX_REQUEST, max(packet - 1024, 1) if packet else MAX_REQUEST)
    return max(size, 1)


def _load_key(paramiko: Any, path: str) -> Any:
    """The private key in ``path``, loaded once per process while the file stays the same (checking an RSA key
    takes tens of milliseconds); ``None`` if it needs a passphrase or paramiko < 3.2 (paramiko then reads the
    file itself)."""
    from_path = getattr(getattr(paramiko, "PKey", None), "from_path", None)
    try:
        info = os.stat(path)
    except OSError:
        return None
    tag = (path, info.st_mtime_ns, info.st_size, info.st_ino)
    with _KEYS_LOCK:
        key = _KEYS.get(tag)
    if key is None:
        if from_path is None:
            return None
        try:
            key = from_path(path)
        except Exception:  # encrypted, or a type this paramiko cannot read: let paramiko say so
            return None
        with _KEYS_LOCK:
            _KEYS[tag] = key
    return key


def _transport(paramiko: Any, sock: Any, **kwargs: Any) -> Any:
    """paramiko's Transport, asking for ``PREFERRED_CIPHERS`` first (the server still picks what both have)."""
    transport = paramiko.Transport(sock, **kwargs)
    security = transport.get_security_options()
    known = tuple(security.ciphers)
    first = tuple(c for c in PREFERRED_CIPHERS if c in known)
    security.ciphers = first + tuple(c for c in known if c not in first)
    return transport


def _is_dir(sftp: Any, path: str) -> bool:
    try:
        return stat.S_ISDIR(sftp.stat(path).st_mode or 0)
    except OSError:
        return False
