"""``wasbs://`` (and ``wasb://``, ``abfss://``) URIs: the client moves the bytes to and from Azure Blob Storage
itself, with azure-storage-blob (the ``azure`` extra).

``wasbs://<container>@<account>.blob.core.windows.net/<path>`` is MLflow's form (also ``.chinacloudapi.cn``
and ``.usgovcloudapi.net``). ``abfss://<filesystem>@<account>.dfs.core.windows.net/<path>`` (ADLS Gen2) is
served cheaply through the same Blob API: the file system is the container and the account's blob endpoint
(``dfs`` becomes ``blob``) is used, which Azure allows on hierarchical-namespace accounts; directory entries
that such accounts list as blobs (metadata ``hdi_isfolder``) are not files. MLflow itself reaches ``abfss://``
with azure-storage-file-datalake; the blob names, and so the layout, are the same.

Credentials, in MLflow's order: ``AZURE_STORAGE_CONNECTION_STRING``; else ``AZURE_STORAGE_ACCESS_KEY`` with
``https://<account>.blob.<suffix>``; else ``DefaultAzureCredential`` when azure-identity is installed; else an
error naming the variables. ``MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`` (seconds) goes, as in MLflow, as the
server-side ``timeout`` of each upload and download request; connecting waits at most 20 s and each read 60 s
(the SDK's defaults; ``client_options`` changes them). Proxy and CA variables are read once per client.

Files above ``single_put_size`` go up as block blobs in blocks of ``block_size`` bytes, up to
``max_concurrency`` blocks of one file at once; downloads stream straight into the file, in ranges of
``block_size`` bytes, as many at once. Like MLflow, no content type is set (Azure's default,
``application/octet-stream``). azure-storage-blob is imported at the first request.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ..entities import FileInfo
from ..exceptions import REDACTED, MlflowConnectionError, MlflowException
from . import ArtifactRepository
from ._common import CHUNK_SIZE, Progress, check_relative, join_remote, write_atomically
from ._requests import apply_settings, mount, pooled_adapter

if TYPE_CHECKING:
    from .._settings import Settings

MiB = 1024 * 1024
#: Bytes per block of a block-blob upload and per range of a download.
DEFAULT_BLOCK_SIZE = 8 * MiB
#: Files up to this size go up in one request; bigger ones in blocks.
DEFAULT_SINGLE_PUT_SIZE = 16 * MiB
#: Blocks (or ranges) of one file moved at once.
DEFAULT_MAX_CONCURRENCY = 4

#: Seconds to connect, and to wait for each read of an answer (azure-storage-blob's defaults).
CONNECTION_TIMEOUT = 20
READ_TIMEOUT = 60

INSTALL_HINT = "pip install 'mlflow-client[azure]'"
_CREDENTIAL_HINT = (
    "set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY, or install azure-identity "
    "(pip install azure-identity) for DefaultAzureCredential"
)

#: MLflow's wasbs:// host form: <container>@<account>.blob.core.<cloud suffix>.
_WASBS_NETLOC = re.compile(r"([^@]+)@([^.]+)\.(blob\.core\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net))")
#: MLflow's abfss:// host form: <filesystem>@<account>.<domain suffix>.
_ABFSS_NETLOC = re.compile(r"([^@]+)@([^.]+)\.(.*)")
#: Values after these names in a connection string or text are secrets.
_SECRET_FIELDS = re.compile(r"(?i)(AccountKey|SharedAccessSignature|sig)=([^;&\s'\"]+)")


def import_blob() -> Any:
    """The ``azure.storage.blob`` module, or an ``ImportError`` saying which extra to install."""
    import importlib

    try:
        # By name, not ``from azure.storage import blob``: that finds an attribute even when the module is gone.
        blob = importlib.import_module("azure.storage.blob")
    except ImportError as err:
        raise ImportError(
            f"wasbs:// and abfss:// artifact stores need azure-storage-blob, which is not installed: {INSTALL_HINT}"
        ) from err
    return blob


def parse_azure_uri(artifact_uri: str) -> tuple[str, str, str, str]:
    """(container, account, blob endpoint suffix, path) of a ``wasbs``/``wasb``/``abfss`` URI.

    ``wasbs://c@acct.blob.core.windows.net/a/b`` -> ``("c", "acct", "blob.core.windows.net", "a/b")``;
    ``abfss://fs@acct.dfs.core.windows.net/p`` -> ``("fs", "acct", "blob.core.windows.net", "p")``.
    As in MLflow, an ``abfss`` path is percent-decoded and a ``wasbs`` path is not.
    """
    parts = urlsplit(artifact_uri)
    scheme = parts.scheme.lower()
    if scheme in ("wasbs", "wasb"):
        match = _WASBS_NETLOC.fullmatch(parts.netloc)
        if match is None:
            raise MlflowException(
                f"{artifact_uri} is not an Azure Blob URI: expected wasbs://<container>@<account>.blob.core.windows.net"
                "/<path> (or .blob.core.chinacloudapi.cn, .blob.core.usgovcloudapi.net)",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return match.group(1), match.group(2), match.group(3), parts.path.lstrip("/").rstrip("/")
    if scheme == "abfss":
        match = _ABFSS_NETLOC.fullmatch(parts.netloc)
        if match is None or not match.group(3):
            raise MlflowException(
                f"{artifact_uri} is not an ADLS Gen2 URI: expected abfss://<filesystem>@<account>.dfs.core.windows.net"
                "/<path>",
                error_code="INVALID_PARAMETER_VALUE",
            )
        suffix = match.group(3)
        blob_suffix = "blob." + suffix[len("dfs.") :] if suffix.startswith("dfs.") else suffix
        return match.group(1), match.group(2), blob_suffix, unquote(parts.path).strip("/")
    raise MlflowException(
        f"{artifact_uri} is not an Azure Blob URI: expected wasbs://<container>@<account>.blob.core.windows.net/<path>",
        error_code="INVALID_PARAMETER_VALUE",
    )


class AzureBlobArtifactRepository(ArtifactRepository):
    """The blobs under one name prefix of an Azure Blob Storage container (or ADLS Gen2 file system).

    ``block_size``, ``single_put_size`` and ``max_concurrency`` tune block uploads and ranged downloads;
    ``list_page_size`` caps the names per listing page (Azure's own 5000 when ``None``); ``client_options``
    go to ``BlobServiceClient`` (e.g. ``retry_total``, ``connection_timeout``); ``blob_service_client`` is an
    escape hatch: a ready client to use (and not close) instead of one built from ``settings``.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        settings: Settings | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        single_put_size: int = DEFAULT_SINGLE_PUT_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        list_page_size: int | None = None,
        client_options: Mapping[str, Any] | None = None,
        blob_service_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        for name, value in (
            ("block_size", block_size),
            ("single_put_size", single_put_size),
            ("max_concurrency", max_concurrency),
            ("list_page_size", list_page_size or 1),
        ):
            if value < 1:
                raise MlflowException(f"{name} must be positive, got {value}", error_code="INVALID_PARAMETER_VALUE")
        self.container, self.account, self.suffix, self.root = parse_azure_uri(artifact_uri)
        self._is_adls = urlsplit(artifact_uri).scheme.lower() == "abfss"
        if settings is None:
            from .._settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        self.block_size = block_size
        self.single_put_size = single_put_size
        self.max_concurrency = max_concurrency
        self.list_page_size = list_page_size
        self.client_options = dict(client_options or {})
        self._client = blob_service_client
        self._owns_client = blob_service_client is None
        self._session: Any = None
        self._container_client: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connections of the client this repository built (not one it was given)."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
            session, self._session = self._session, None
            self._container_client = None
        if client is not None:
            client.close()
        if session is not None:
            session.close()

    # -- the SDK --------------------------------------------------------------------------------

    def _service(self) -> Any:
        """The ``BlobServiceClient``, built on first use (the client is thread-safe; building is not)."""
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _container(self) -> Any:
        """The container's client, kept with the service client it belongs to (one per repository, not per call)."""
        service = self._service()
        cached = self._container_client
        if cached is not None and cached[0] is service:
            return cached[1]
        client = service.get_container_client(self.container)
        self._container_client = (service, client)
        return client

    def _build_client(self) -> Any:
        blob = import_blob()
        import requests
        from azure.core.pipeline.transport import RequestsTransport

        # Our own session: enough pooled connections for every file of a folder moving its blocks at once.
        session = requests.Session()
        mount(session, pooled_adapter(pool=max(10, self.max_workers * self.max_concurrency)))
        # Our transport replaces the SDK's, so its storage defaults are given here: connect and read timeouts,
        # and bytes per read of a response (the SDK's 256 KiB; bigger reads cost less CPU per MiB).
        transport = RequestsTransport(
            session=session,
            session_owner=False,
            connection_timeout=self.client_options.get("connection_timeout", CONNECTION_TIMEOUT),
            read_timeout=self.client_options.get("read_timeout", READ_TIMEOUT),
            connection_data_block_size=CHUNK_SIZE,
        )
        kwargs: dict[str, Any] = {
            "transport": transport,
            "max_block_size": self.block_size,
            "max_single_put_size": self.single_put_size,
            "max_single_get_size": self.block_size,
            "max_chunk_get_size": self.block_size,
            **self.client_options,
        }
        s = self.settings
        try:
            if s.azure_storage_connection_string:
                client = blob.BlobServiceClient.from_connection_string(s.azure_storage_connection_string, **kwargs)
            else:
                url = f"https://{self.account}.{self.suffix}"
                credential: Any = s.azure_storage_access_key or _default_credential()
                client = blob.BlobServiceClient(url, credential=credential, **kwargs)
        except (ImportError, MlflowException):
            session.close()
            raise
        except Exception as err:
            session.close()
            raise MlflowException(
                f"Could not set up the Azure Blob client for {self.display_uri}: {self._scrub(_first_line(err))}",
                error_code="INVALID_PARAMETER_VALUE",
            ) from None
        apply_settings(session, client.url, self.settings)
        self._session = session
        return client

    def _key(self, rel: str | None) -> str:
        return join_remote(self.root, rel)

    def _where(self, key: str) -> str:
        return f"{self.container}/{key}"

    def _scrub(self, text: str) -> str:
        """``text`` without any secret of ours (account key, connection string, SAS) in it."""
        s = self.settings
        for secret in (s.azure_storage_connection_string, s.azure_storage_access_key):
            if secret:
                text = text.replace(secret, REDACTED)
        return _SECRET_FIELDS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)

    def _fail(self, doing: str, key: str, err: Exception) -> MlflowException:
        """An ``MlflowException`` naming what failed and the blob, with the Azure error mapped; no secrets."""
        try:
            from azure.core import exceptions as az
        except ImportError:  # pragma: no cover - the SDK is installed if a request was made
            return MlflowException(self._scrub(f"{doing} {self._where(key)}: {err}"), error_code="INTERNAL_ERROR")
        status = getattr(err, "status_code", None)
        azure_code = getattr(err, "error_code", None)
        detail = _first_line(err)
        if azure_code:
            detail = f"{getattr(azure_code, 'value', azure_code)}: {detail}"
        if status:
            detail = f"{detail} (HTTP {status})"
        message = self._scrub(f"{doing} {self._where(key)} (artifact store {self.display_uri}): {detail}")
        if isinstance(err, (az.ServiceRequestError, az.ServiceResponseError)):
            return MlflowConnectionError(message)
        if isinstance(err, az.ResourceNotFoundError) or status == 404:
            code = "RESOURCE_DOES_NOT_EXIST"
        elif isinstance(err, az.ClientAuthenticationError) or status == 401:
            code = "UNAUTHENTICATED"
        elif status == 403:
            code = "PERMISSION_DENIED"
        elif status in {429, 503}:
            code = "TEMPORARILY_UNAVAILABLE"
        else:
            code = "INTERNAL_ERROR"
        return MlflowException(message, error_code=code)

    def _call(self, doing: str, key: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ImportError, MlflowException):
            raise
        except Exception as err:
            raise self._fail(doing, key, err) from None  # the SDK's text may hold secrets: not chained

    def _timeout(self) -> dict[str, Any]:
        timeout = self.settings.transfer_timeout(None)
        return {} if timeout is None else {"timeout": int(timeout)}

    # -- the repository -------------------------------------------------------------------------

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        key = self._key(join_remote(artifact_path, os.path.basename(local_file)))
        hook = _progress_hook(progress)

        def upload() -> None:
            with open(local_file, "rb") as f:
                self._container().upload_blob(
                    key,
                    f,
                    length=os.fstat(f.fileno()).st_size,
                    overwrite=True,
                    max_concurrency=self.max_concurrency,
                    progress_hook=hook,
                    **self._timeout(),
                )

        self._call(f"Failed to upload {local_file} to", key, upload)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
        listed = self._key(rel)
        prefix = f"{listed}/" if listed else ""
        root_prefix = f"{self.root}/" if self.root else ""
        blob = None

        def walk() -> list[FileInfo]:
            nonlocal blob
            blob = import_blob()
            extra: dict[str, Any] = {"include": ["metadata"]} if self._is_adls else {}
            if self.list_page_size:
                extra["results_per_page"] = self.list_page_size
            infos: list[FileInfo] = []
            for item in self._container().walk_blobs(name_starts_with=prefix, delimiter="/", **extra):
                name = item.name
                if isinstance(item, blob.BlobPrefix):
                    infos.append(FileInfo(self._relative(name, prefix, root_prefix).rstrip("/"), True, None))
                elif name.endswith("/") or (item.metadata or {}).get("hdi_isfolder") == "true":
                    continue  # a "folder" marker some tools create (or an ADLS directory), not a file
                else:
                    infos.append(FileInfo(self._relative(name, prefix, root_prefix), False, int(item.size or 0)))
            return infos

        infos = self._call("Failed to list", prefix, walk)
        return sorted(infos, key=lambda f: f.path)

    def _relative(self, name: str, prefix: str, root_prefix: str) -> str:
        """``name`` relative to the artifact root; a name outside the listed prefix is refused."""
        if not name.startswith(prefix) or name.rstrip("/") == prefix.rstrip("/"):
            raise MlflowException(
                f"Refusing blob {self._where(name)} listed under {self._where(prefix)}: it is not inside the "
                f"listed prefix (artifact store {self.display_uri})",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return name[len(root_prefix) :]

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        key = self._key(remote_path)
        hook = _progress_hook(progress)

        def fill(out: BinaryIO) -> None:
            def download() -> None:
                stream = self._container().download_blob(
                    key, max_concurrency=self.max_concurrency, progress_hook=hook, **self._timeout()
                )
                stream.readinto(out)

            self._call("Failed to download", key, download)

        write_atomically(target, fill, f"Failed to download artifact {remote_path} from {self.display_uri}")

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        key = self._key(remote_path)
        stream = self._call("Failed to read", key, lambda: self._container().download_blob(key, **self._timeout()))

        def chunks() -> Iterator[bytes]:
            it = iter(stream.chunks())
            while True:
                block = self._call("Failed to read", key, lambda: next(it, None))
                if block is None:
                    return
                yield block

        yield chunks()


def _default_credential() -> Any:
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise MlflowException(
            f"No Azure credentials for the artifact store: {_CREDENTIAL_HINT}", error_code="UNAUTHENTICATED"
        ) from None
    return DefaultAzureCredential()


def _progress_hook(progress: Progress) -> Callable[[int, int | None], None]:
    """The SDK reports bytes so far; ``Progress`` wants the bytes of each step."""
    lock = threading.Lock()
    seen = [0]

    def hook(current: int, total: int | None) -> None:
        with lock:
            step, seen[0] = current - seen[0], max(seen[0], current)
        if step > 0:
            progress.add(step)

    return hook


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__
