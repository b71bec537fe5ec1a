"""Azurite (Microsoft's Azure Storage emulator, from npm: ``tools/azurite``) serving Blob on a free loopback port.

``running(folder)`` starts ``azurite-blob`` with its data under ``folder``, waits until it answers, and yields
an ``AzuriteServer``: ``env`` holds ``AZURE_STORAGE_CONNECTION_STRING`` for Azurite's well-known development
account (both our client and MLflow's read it), ``new_root()`` makes a new container and returns a ``wasbs://``
root in it. The account is ``devstoreaccount1`` whatever the URI says: the connection string's endpoint wins.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.real_server import free_port, stop_process_group

ACCOUNT = "devstoreaccount1"
#: Azurite's (and the Azure Storage Emulator's) published development key: not a secret.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT = 60.0
REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = REPO_ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"


def connection_string(port: int, account: str = ACCOUNT, key: str = ACCOUNT_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{account};"
    )


class AzuriteServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.connection_string = connection_string(port)
        self.env: dict[str, str] = {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def service(self) -> Any:
        """A plain ``BlobServiceClient`` on the server, to look at what a repository stored."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def new_container(self) -> str:
        name = f"c-{uuid.uuid4().hex[:20]}"
        with self.service() as service:
            service.create_container(name)
        return name

    def new_root(self, path: str = "artifacts") -> str:
        return f"wasbs://{self.new_container()}@{ACCOUNT}.blob.core.windows.net/{path}"


def _answers(port: int) -> bool:
    """Whether Azurite answers HTTP on ``port`` (any status: an unsigned request gets 4xx)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", f"/{ACCOUNT}?comp=list")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def running(folder: Path) -> Iterator[AzuriteServer]:
    if not AZURITE_BLOB.exists():
        raise RuntimeError(f"{AZURITE_BLOB} is missing: run the bootstrap (npm ci in tools/azurite)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = folder / "azurite.log"
    cmd = [
        str(AZURITE_BLOB),
        *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
        *("--location", str(folder / "data")),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"azurite-blob exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"azurite-blob not ready after {STARTUP_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.05)  # polling a readiness probe, not synchronising on timing
        yield AzuriteServer(port)
    finally:
        stop_process_group(proc)
