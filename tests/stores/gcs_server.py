"""A real GCS JSON API on loopback: ``gcp-storage-emulator`` in a subprocess, in memory, on a free port.

Both clients reach it through ``STORAGE_EMULATOR_HOST``: with it set, google-cloud-storage's ``Client()``
talks to that endpoint with anonymous credentials and needs no project (MLflow's repository builds exactly
that), so ``env`` holds that variable and nothing else.

The emulator is started through a few lines (``_LAUNCHER``) that change three things, none in the protocol:
object names are dictionary keys in its in-memory store, so names with ``..`` segments (which real GCS
accepts, and which its on-disk mode refuses) can be stored, for the tests that check such names are refused
on download; its metadata journal, a JSON dump of every object rewritten after each write (only useful on
disk, and quadratic in the number of objects), is skipped; and it serves each connection in a thread (its
store's methods under one lock) and keeps connections open (HTTP/1.1, TCP_NODELAY), as GCS does, where as
shipped it answers one HTTP/1.0 request after another (``running(..., threaded=False)`` keeps that).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.real_server import free_port, stop_process_group

STARTUP_TIMEOUT = 30.0

_LAUNCHER = """
import functools, sys, threading
from http import server as http_server
from gcp_storage_emulator import server as emulator, storage

def _norm(path):
    # In memory the path is a dict key: keep '..' segments as GCS does (names are opaque strings).
    return "/".join(p for p in path.replace("\\\\", "/").strip("/").split("/") if p and p != ".")

storage._FileStore._norm = staticmethod(_norm)
storage.Storage._write_config_to_file = lambda self: None
if sys.argv[3] == "threaded":
    # A thread per connection, as GCS serves requests at once; the store's methods one at a time.
    lock = threading.RLock()

    def locked(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            with lock:
                return method(*args, **kwargs)
        return call

    for name, value in list(vars(storage.Storage).items()):
        if callable(value) and not name.startswith("__") and not isinstance(value, staticmethod):
            setattr(storage.Storage, name, locked(value))
    emulator.server.HTTPServer = http_server.ThreadingHTTPServer
    emulator.RequestHandler.protocol_version = "HTTP/1.1"  # connections kept open, as GCS keeps them
    emulator.RequestHandler.disable_nagle_algorithm = True  # else headers then body wait for a delayed ACK
server = emulator.create_server(sys.argv[1], int(sys.argv[2]), in_memory=True)
server.run()
"""


@dataclass
class GCSServer:
    """The emulator at ``url``; ``env`` points google-cloud-storage (ours and MLflow's) at it."""

    url: str
    env: dict[str, str] = field(default_factory=dict)

    def new_root(self) -> str:
        """A new, empty bucket's ``gs://`` URI with a path under it."""
        name = f"bkt-{uuid.uuid4().hex[:16]}"
        self.create_bucket(name)
        return f"gs://{name}/artifacts"

    def create_bucket(self, name: str) -> None:
        response = httpx.post(f"{self.url}/storage/v1/b", params={"project": "test"}, json={"name": name}, timeout=10)
        response.raise_for_status()


@contextlib.contextmanager
def running(folder: Path, *, threaded: bool = True) -> Iterator[GCSServer]:
    """Start the emulator (its log in ``folder``), wait until it answers, stop it afterwards.

    ``threaded``: a thread per connection (the store's methods still one at a time), as GCS answers many
    requests at once; ``False``: the emulator as shipped, one request after another."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "gcs-emulator.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, "127.0.0.1", str(port), "threaded" if threaded else "serial"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(url, proc, log_path)
            yield GCSServer(url, {"STORAGE_EMULATOR_HOST": url})
        finally:
            stop_process_group(proc)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"gcp-storage-emulator exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                if client.get(f"{url}/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling a readiness probe, not synchronising on timing
    raise RuntimeError(f"gcp-storage-emulator not ready after {STARTUP_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")
