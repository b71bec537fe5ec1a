"""A real SFTP server for the ``sftp://`` store: Debian's OpenSSH ``sshd`` on a free loopback port.

``running(folder)`` starts ``/usr/sbin/sshd -D -e -f <folder>/sshd/sshd_config -p <port>`` as its own process,
with its own host key and an ``authorized_keys`` file holding a client key made for it (the system's sshd
configuration and the real ``~/.ssh`` are never touched). ``env`` holds ``HOME``: a home made for the server
whose ``.ssh`` has the client key (``id_rsa``: MLflow's pysftp reads RSA keys only), a ``config`` entry
(``Host sftp-test 127.0.0.1`` -> HostName, Port, User, IdentityFile) and ``known_hosts`` with the host key
under both names the clients look up: ``[127.0.0.1]:<port>`` (paramiko's SSHClient and OpenSSH on a port
other than 22) and ``127.0.0.1`` (pysftp 0.2.9, which ignores the port). So one environment serves our
client and MLflow's alike. The ssh user is the current one; root logs in with its key
(``PermitRootLogin prohibit-password``). Password authentication is on, so that a wrong password in a URI
is really sent and refused (no account here has a password).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.real_server import free_port

SSHD = "/usr/sbin/sshd"
STARTUP_TIMEOUT = 30.0
#: The ``Host`` alias of the ssh config written into the server's home.
HOST_ALIAS = "sftp-test"


@dataclass
class SFTPServer:
    """A running sshd: where it listens, who logs in with which key, and the home both clients use."""

    port: int
    user: str
    folder: Path
    home: Path
    client_key: Path
    known_hosts: Path
    #: The host's public key line (``ssh-ed25519 AAAA...``), as a known_hosts entry carries it.
    host_public_key: str
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"

    def new_root(self) -> str:
        """A fresh, empty folder on the server, as an absolute-path ``sftp://`` URI."""
        root = self.folder / "roots" / uuid.uuid4().hex
        root.mkdir(parents=True)
        return f"sftp://{self.user}@{self.host}:{self.port}{root}"

    def path_of(self, uri: str) -> Path:
        """The local path behind an ``sftp://`` URI of this server (it runs on this machine)."""
        return Path("/" + uri.split("/", 3)[3])


def _keygen(path: Path, kind: str) -> str:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "mlflow-client-test", "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048", "-m", "PEM"]  # PEM: what pysftp's paramiko RSAKey reads everywhere
    subprocess.run(args, check=True, capture_output=True)
    public = path.with_name(path.name + ".pub").read_text().split()
    return f"{public[0]} {public[1]}"


def _write_config(base: Path, port: int, user: str) -> Path:
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"HostKey {base / 'host_ed25519'}",
                f"PidFile {base / 'sshd.pid'}",
                f"AuthorizedKeysFile {base / 'authorized_keys'}",
                f"AllowUsers {user} nosuchuser",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                "UseDNS no",
                "PrintMotd no",
                "MaxStartups 100:30:200",
                "Subsystem sftp internal-sftp",
                "LogLevel INFO",
                "",
            ]
        )
    )
    return config


def _wait_for_banner(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll until sshd answers with its SSH banner (or fail with its log)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            if sock.recv(64).startswith(b"SSH-"):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd did not answer on port {port}: {log.read_text(errors='replace')}")
        time.sleep(0.05)  # a poll interval, not a wait for something to happen


@contextlib.contextmanager
def running(folder: Path) -> Iterator[SFTPServer]:
    """Start sshd on a free loopback port with everything under ``folder``; stop and clean up afterwards."""
    if not os.path.exists(SSHD):
        raise RuntimeError(f"{SSHD} is missing: apt-get install -y openssh-server")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    base = folder / "sshd"
    home = folder / "home"
    dot_ssh = home / ".ssh"
    for made in (base, dot_ssh, folder / "roots"):
        made.mkdir(parents=True, exist_ok=True)
    dot_ssh.chmod(0o700)
    user = getpass.getuser()
    port = free_port()
    host_public = _keygen(base / "host_ed25519", "ed25519")
    client_key = dot_ssh / "id_rsa"
    (base / "authorized_keys").write_text(_keygen(client_key, "rsa") + "\n")
    known_hosts = dot_ssh / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n127.0.0.1 {host_public}\n")
    (dot_ssh / "config").write_text(
        f"Host {HOST_ALIAS} 127.0.0.1\n    HostName 127.0.0.1\n    Port {port}\n    User {user}\n"
        f"    IdentityFile {client_key}\n"
    )
    config = _write_config(base, port, user)
    log = base / "sshd.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_banner(process, port, log)
        yield SFTPServer(
            port=port,
            user=user,
            folder=folder,
            home=home,
            client_key=client_key,
            known_hosts=known_hosts,
            host_public_key=host_public,
            env={"HOME": str(home)},
        )
    finally:
        # The listener's process group (sshd's per-connection children start their own sessions and end
        # when their clients disconnect).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for made in (base, home, folder / "roots"):
            shutil.rmtree(made, ignore_errors=True)
