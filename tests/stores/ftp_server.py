"""A real FTP server on loopback for the ``ftp://`` store: pyftpdlib's ``ThreadedFTPServer`` over a temporary
folder, one user with a password (and every permission), started in a subprocess on a free port.

Why a subprocess and why threaded: the bench runs both clients (ours and MLflow's) in its own process; a
server in that process would share its GIL with them and slow whichever client keeps more connections busy.
pyftpdlib's default ``FTPServer`` serves every connection from one thread, so one connection's file I/O on
the server waits behind another's; ``ThreadedFTPServer`` gives each connection its own thread, as real FTP
servers (vsftpd, proftpd: a process per connection) do, so parallel transfers are served in parallel. On
this machine it was faster for both clients (1000 x 10 KB up: ours 0.8 s vs 1.4 s, MLflow's 2.4 s vs 4.3 s).

``python -m tests.stores.ftp_server`` runs a server in the foreground (``--folder``, ``--port``) and prints
the root URI; the tests and ``bench/stores.py`` use ``running(folder)``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.real_server import free_port

USER = "mlflow"
#: A second user, with the same password, who may only list and read.
READER = "reader"
#: The variable the subprocess reads the password from (not its command line, which `ps` shows).
PASSWORD_VARIABLE = "FTP_TEST_SERVER_PASSWORD"
STARTUP_TIMEOUT = 30.0


def make_password() -> str:
    """A password to recognise in any message (the tests check it never shows), with characters that need
    percent-encoding in a URI (both clients decode them)."""
    return f"pw-{secrets.token_hex(8)}@:/%"


@dataclass
class FTPServer:
    host: str
    port: int
    folder: Path
    user: str
    password: str
    #: Both clients take host, port and credentials from the URI: nothing else is needed.
    env: dict[str, str] = field(default_factory=dict)

    def uri(self, path: str, *, user: str | None = None, password: str | None = None) -> str:
        """``ftp://user:password@host:port/path``, the password percent-encoded."""
        secret = quote(self.password if password is None else password, safe="")
        return f"ftp://{user or self.user}:{secret}@{self.host}:{self.port}/{path.lstrip('/')}"

    def new_root(self) -> str:
        """A new, empty folder ``/roots/<uuid>`` (made on disk: the server serves this folder)."""
        name = uuid.uuid4().hex
        (self.folder / "roots" / name).mkdir(parents=True)
        return self.uri(f"roots/{name}")

    def local(self, uri_path: str) -> Path:
        """The file on disk behind the server path ``uri_path``."""
        return self.folder.joinpath(*[p for p in uri_path.split("/") if p])


def handler_class(folder: Path, user: str, password: str, base: type[Any] | None = None, **attrs: Any) -> type[Any]:
    """A pyftpdlib handler class (``base``, default ``FTPHandler``) serving ``folder`` to ``user`` (all rights)
    and to ``READER`` (list and read only), both with ``password``; ``attrs`` set on the class."""
    from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]

    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(folder), perm="elradfmwMT")
    authorizer.add_user(READER, password, str(folder), perm="elr")
    # Data moves in 1 MiB pieces (pyftpdlib: 64 KiB): fewer trips round its event loop, for both clients alike.
    dtp = type("DTPHandler", (FTPHandler.dtp_handler,), {"ac_in_buffer_size": 1 << 20, "ac_out_buffer_size": 1 << 20})
    namespace: dict[str, Any] = {
        "authorizer": authorizer,
        "auth_failed_timeout": 0,  # pyftpdlib waits 3 s after a wrong password; the tests make one on purpose
        "banner": "mlflow-client test FTP server",
        "dtp_handler": dtp,
        **attrs,
    }
    return type("Handler", (base or FTPHandler,), namespace)


def serve(folder: Path, port: int, user: str, password: str, host: str = "127.0.0.1") -> None:
    """Serve ``folder`` until terminated (the subprocess's body)."""
    import logging

    from pyftpdlib.servers import ThreadedFTPServer  # type: ignore[import-untyped]

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    server = ThreadedFTPServer((host, port), handler_class(folder, user, password))
    server.max_cons = 1024
    server.serve_forever(handle_exit=True)


@contextlib.contextmanager
def in_thread(folder: Path, base: type[Any] | None = None, **attrs: Any) -> Iterator[FTPServer]:
    """A server with a custom handler (``base``, ``attrs``: a misbehaving one, a short idle timeout) in a
    thread of this process, for tests that need one; stopped afterwards."""
    import logging

    from pyftpdlib.servers import FTPServer as PyFTPServer

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    password = make_password()
    server = PyFTPServer(("127.0.0.1", 0), handler_class(folder, USER, password, base, **attrs))
    host, port = server.address[:2]
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False)
        server.close_all()

    thread = threading.Thread(target=loop, name="ftp-test-server", daemon=True)
    thread.start()
    try:
        yield FTPServer(host, port, folder, USER, password)
    finally:
        stop.set()
        thread.join(timeout=10)


def _wait_ready(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the FTP server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                if s.recv(3) == b"220":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the FTP server did not answer on {host}:{port} within {STARTUP_TIMEOUT} s")
        time.sleep(0.05)  # poll interval, bounded by the deadline above


@contextlib.contextmanager
def running(folder: Path) -> Iterator[FTPServer]:
    """An FTP server serving ``folder`` (made if missing) on a free loopback port, stopped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    host, port, password = "127.0.0.1", free_port(), make_password()
    log_path = folder / "ftp-server.log"
    env = {**os.environ, PASSWORD_VARIABLE: password, "PYTHONUNBUFFERED": "1"}
    root_of_checkout = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root_of_checkout, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "tests.stores.ftp_server", "--folder", str(data), "--port", str(port), "--user", USER]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root_of_checkout)
    try:
        _wait_ready(host, port, proc, log_path)
        yield FTPServer(host, port, data, USER, password)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="pyftpdlib's threaded FTP server on loopback, for tests")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user", default=USER)
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_VARIABLE) or make_password()
    port = args.port or free_port()
    if PASSWORD_VARIABLE not in os.environ:
        print(f"ftp://{args.user}:{quote(password, safe='')}@127.0.0.1:{port}/", flush=True)
    serve(args.folder, port, args.user, password)


if __name__ == "__main__":
    main()
