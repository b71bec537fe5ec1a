"""``StubServer``: the stub in a background thread, for tests; also what the CLI runs."""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from .app import MLFLOW_VERSION, Config, StubHTTPServer
from .artifacts import ArtifactStore
from .faults import FaultRule, Faults
from .file_backend import FileBackend
from .handlers import absolute_if_local
from .model_db import reset as reset_models
from .sql_store import SqlStore
from .ui import close as close_ui

PROXIED_ARTIFACT_ROOT = "mlflow-artifacts:"


def store_from_uri(uri: str | None, artifact_root: str = PROXIED_ARTIFACT_ROOT) -> SqlStore | FileBackend:
    """``None`` or ``memory:`` -> in-memory; ``sqlite:///path.db`` -> that file (persists across restarts);
    ``file:`` URIs and plain paths -> an MLflow ``mlruns`` folder (the client's local file store).

    ``artifact_root`` is where a SQL store puts new experiments' artifacts; an ``mlruns`` folder keeps its
    artifacts inside itself, as MLflow's file store does by default."""
    if not uri or uri in ("memory:", ":memory:"):
        return SqlStore(":memory:", artifact_root)
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        return SqlStore(path, artifact_root)
    if uri.lower().startswith("file:") or "://" not in uri:
        from mlflow_client.artifacts._local import local_root

        if artifact_root != PROXIED_ARTIFACT_ROOT:
            raise ValueError("a default artifact root other than mlflow-artifacts: needs a SQLite or memory store")
        return FileBackend(local_root(uri))
    raise ValueError(
        f"unsupported --backend-store-uri {uri!r}: use sqlite:///path.db, a folder (file: URI or path), "
        "or leave it unset for memory"
    )


def resolve_artifact_root(serve_artifacts: bool, default_artifact_root: str | None) -> str:
    """Where new experiments keep artifacts, chosen as ``mlflow server`` chooses: given a root, that root (a
    relative path made absolute); else the proxy (``mlflow-artifacts:``) when serving artifacts, and
    ``./mlruns`` when not."""
    if default_artifact_root:
        return absolute_if_local(default_artifact_root)
    return PROXIED_ARTIFACT_ROOT if serve_artifacts else absolute_if_local("./mlruns")


def tls_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


class StubServer:
    """A running stub on ``host:port`` (``port=0`` picks a free one); ``.url`` says where.

    Use as a context manager, or call ``start()``/``stop()``. State is in memory unless
    ``backend_store_uri`` names a SQLite file; artifacts go to ``artifacts_destination`` (default: a
    temporary folder removed on stop). As with ``mlflow server``, ``default_artifact_root`` (a ``file:`` URI,
    a path, or any other URI) is where new experiments keep their artifacts, clients writing there directly,
    and ``serve_artifacts=False`` turns the artifact proxy off (its routes answer 503). ``mlflow_version`` is
    what ``GET /version`` answers.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        backend_store_uri: str | None = None,
        artifacts_destination: str | Path | None = None,
        basic_auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_client_ca: str | None = None,
        faults: list[FaultRule] | None = None,
        fault_seed: int = 0,
        multipart: bool = False,
        mlflow_version: str = MLFLOW_VERSION,
        default_artifact_root: str | None = None,
        serve_artifacts: bool = True,
    ) -> None:
        self._own_artifacts = artifacts_destination is None
        artifacts_dir = Path(artifacts_destination or tempfile.mkdtemp(prefix="stub-artifacts-"))
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        config = Config(
            basic_auth=basic_auth,
            bearer_token=bearer_token,
            tls_context=tls_context(tls_cert, tls_key, tls_client_ca) if tls_cert and tls_key else None,
            mlflow_version=mlflow_version,
            serve_artifacts=serve_artifacts,
        )
        self.store = store_from_uri(backend_store_uri, resolve_artifact_root(serve_artifacts, default_artifact_root))
        self.artifacts = ArtifactStore(artifacts_dir, multipart=multipart)
        self.faults = Faults(seed=fault_seed, rules=list(faults or []))
        self.httpd = StubHTTPServer((host, port), self.store, self.artifacts, self.faults, config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.httpd.url

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="stub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        close_ui(self.httpd)
        self.store.close()
        if self._own_artifacts:
            shutil.rmtree(self.artifacts.root, ignore_errors=True)
        self.artifacts.close()

    def reset(self) -> None:
        """Forget every experiment, run, artifact and fault, as ``POST /_stub/reset`` does."""
        self.store.reset()
        reset_models(self.store)
        self.artifacts.reset()
        self.faults.configure([])

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
