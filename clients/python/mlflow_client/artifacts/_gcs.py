"""``gs://bucket/prefix`` URIs: the client moves the bytes to and from Google Cloud Storage itself, with
google-cloud-storage (the ``gcs`` extra).

The SDK is imported when the first request is made, so ``import mlflow_client`` stays light and a missing
SDK fails with an ``ImportError`` naming ``pip install 'mlflow-client[gcs]'``. The layout, chunk sizes and
timeout are MLflow's: a file becomes the object ``<prefix>/<artifact path>/<name>``; files up to the SDK's
8 MiB go up in one request, bigger ones as resumable uploads in parts of ``MLFLOW_GCS_UPLOAD_CHUNK_SIZE``
bytes (the SDK's 100 MiB when unset); downloads stream in one request, or in ranged requests of
``MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE`` bytes when set; each request times out after
``MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`` seconds (the SDK's 60 when unset, never at -1). Credentials come from
google-auth's defaults (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's, the metadata server), anonymous when
there are none, as MLflow's repository does; ``STORAGE_EMULATOR_HOST`` points the SDK at an emulator.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from ..entities import FileInfo
from ..exceptions import MlflowConnectionError, MlflowException
from . import ArtifactRepository
from ._common import CHUNK_SIZE, Progress, check_relative, join_remote, write_atomically
from ._requests import apply_settings, mount, pooled_adapter

if TYPE_CHECKING:
    from .._settings import Settings

INSTALL_HINT = "pip install 'mlflow-client[gcs]'"
#: The SDK's timeout of one request, which MLflow keeps when MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT is unset.
DEFAULT_TIMEOUT = 60
#: Connections requests keeps per host by default: files at once when the SDK's session cannot be tuned.
REQUESTS_POOL = 10
#: Resumable upload chunks must be multiples of this (the SDK refuses others).
CHUNK_MULTIPLE = 256 * 1024

#: HTTP status of a GCS error -> MLflow error code.
_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    412: "INVALID_STATE",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}
#: An OAuth error code as google-auth reports it (``invalid_grant``): safe to show, unlike the rest of its text.
_OAUTH_CODE = re.compile(r"^[a-z_]{3,40}$")
_DEFAULT: Any = object()  # "not given": the SDK's own retry policy


def import_storage() -> Any:
    """The ``google.cloud.storage`` module, or an ``ImportError`` saying which extra to install."""
    try:
        # Not `from google.cloud import storage`: that finds the attribute of an imported package even when
        # the module is blocked (sys.modules[...] = None), as a missing-SDK test does.
        import google.cloud.storage as storage  # type: ignore[import-untyped]  # noqa: PLR0402
    except ImportError as err:
        raise ImportError(
            f"gs:// artifact stores need google-cloud-storage, which is not installed: {INSTALL_HINT}"
        ) from err
    return storage


def split_gcs_uri(artifact_uri: str) -> tuple[str, str]:
    """(bucket, object prefix without slashes at either end) of a ``gs://`` URI."""
    parts = urlsplit(artifact_uri)
    if parts.scheme.lower() != "gs" or not parts.netloc:
        raise MlflowException(
            f"{artifact_uri} is not a GCS URI: expected gs://<bucket>/<path>", error_code="INVALID_PARAMETER_VALUE"
        )
    return parts.netloc, parts.path.strip("/")


class GCSArtifactRepository(ArtifactRepository):
    """The objects under one prefix of a Google Cloud Storage bucket.

    ``upload_chunk_size``, ``download_chunk_size`` and ``timeout`` override the settings' values;
    ``retry`` is the SDK's retry policy for every request (``None``: no retries; not given: the SDK's);
    ``gcs_client`` is an escape hatch: a ready ``google.cloud.storage.Client`` to use (not closed here).
    GCS has no folders, so empty local folders are not kept.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        settings: Settings | None = None,
        upload_chunk_size: int | None = None,
        download_chunk_size: int | None = None,
        timeout: float | None = None,
        retry: Any = _DEFAULT,
        gcs_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        self.bucket, self.root = split_gcs_uri(artifact_uri)
        if settings is None:
            from .._settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        self.upload_chunk_size = upload_chunk_size or settings.gcs_upload_chunk_size
        self.download_chunk_size = download_chunk_size or settings.gcs_download_chunk_size
        #: Seconds per request; ``None``: no limit (the variable at -1).
        self.timeout = timeout or settings.transfer_timeout(DEFAULT_TIMEOUT)
        if self.upload_chunk_size is not None and (
            self.upload_chunk_size < 1 or self.upload_chunk_size % CHUNK_MULTIPLE
        ):
            raise MlflowException(
                f"The GCS upload chunk size (MLFLOW_GCS_UPLOAD_CHUNK_SIZE) must be a positive multiple of "
                f"{CHUNK_MULTIPLE} (256 KiB), got {self.upload_chunk_size}",
                error_code="INVALID_PARAMETER_VALUE",
            )
        if self.download_chunk_size is not None and self.download_chunk_size < 1:
            raise MlflowException(
                f"The GCS download chunk size must be positive, got {self.download_chunk_size}",
                error_code="INVALID_PARAMETER_VALUE",
            )
        self._retry = retry
        self._client = gcs_client
        self._owns_client = gcs_client is None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connections of the client this repository built (not one it was given)."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the SDK --------------------------------------------------------------------------------

    def _gcs(self) -> Any:
        """The storage client, built on first use; shared by the pool's threads (its requests session and
        urllib3's pool are thread-safe, as google-cloud-python#5685 says), while building it is not."""
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        storage = import_storage()
        from google.auth.exceptions import DefaultCredentialsError

        try:
            client = storage.Client()
        except DefaultCredentialsError:  # no credentials anywhere: public buckets only, as MLflow does
            client = storage.Client.create_anonymous_client()
        self._tune(client)
        return client

    def _tune(self, client: Any) -> None:
        """Give the SDK's requests session (google-auth's ``AuthorizedSession``, which google-cloud-core keeps
        as ``Client._http``) a connection per worker, and the settings' proxy and CA bundle in place of
        requests' scan of the environment at every request (see ``_requests``). Should a later SDK not
        have that session, files go at most 10 at once instead, the pool requests keeps."""
        import requests

        session = getattr(client, "_http", None)
        if not isinstance(session, requests.Session):
            self.max_workers = min(self.max_workers, REQUESTS_POOL)
            return
        mount(session, pooled_adapter(pool=max(REQUESTS_POOL, self.max_workers)))
        apply_settings(session, client.api_endpoint, self.settings)

    def _calls(self) -> dict[str, Any]:
        """The timeout (and retry policy, if given) of every SDK call."""
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if self._retry is not _DEFAULT:
            kwargs["retry"] = self._retry
        return kwargs

    def _key(self, rel: str | None) -> str:
        return join_remote(self.root, rel)

    def _where(self, key: str) -> str:
        return f"gs://{self.bucket}/{key}"

    def _fail(self, doing: str, key: str, err: Exception) -> MlflowException:
        """An ``MlflowException`` naming what failed and the object, with the error's code mapped.

        google-auth's texts can quote a token endpoint's answer, so of a credentials error only its kind
        and OAuth code are shown; the storage API's errors are shown as the API gave them.
        """
        message = f"{doing} {self._where(key)} (artifact store {self.display_uri}): "
        err = _unwrap_retry(err)
        kind = _classify(err)
        if kind == "connection":
            return MlflowConnectionError(message + f"{type(err).__name__}: cannot reach the storage API")
        if kind == "credentials":
            return MlflowException(
                message + f"the Google credentials were refused or could not be used ({_auth_detail(err)})",
                error_code="UNAUTHENTICATED",
            )
        status = getattr(err, "code", None)
        detail = getattr(err, "message", None) or str(err)
        if isinstance(status, int):
            return MlflowException(
                message + f"HTTP {status}: {detail}", error_code=_ERROR_CODES.get(status, "INTERNAL_ERROR")
            )
        return MlflowException(message + f"{type(err).__name__}: {detail}", error_code="INTERNAL_ERROR")

    # -- the repository -------------------------------------------------------------------------

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        key = self._key(join_remote(artifact_path, os.path.basename(local_file)))
        content_type = mimetypes.guess_type(local_file)[0] or "application/octet-stream"  # as upload_from_filename
        try:
            blob = self._gcs().bucket(self.bucket).blob(key, chunk_size=self.upload_chunk_size)
            with open(local_file, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                blob.upload_from_file(
                    _CountingReader(f, progress), size=size, content_type=content_type, **self._calls()
                )
        except ImportError:
            raise
        except Exception as err:
            raise self._fail(f"Failed to upload {local_file} to", key, err) from err

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
        listed = self._key(rel)
        prefix = f"{listed}/" if listed else ""
        root_prefix = f"{self.root}/" if self.root else ""
        infos: list[FileInfo] = []
        try:
            pages = self._gcs().list_blobs(self.bucket, prefix=prefix, delimiter="/", **self._calls()).pages
            for page in pages:
                for blob in page:
                    if blob.name.endswith("/"):  # a "folder" marker (the console makes them), not a file
                        continue
                    infos.append(FileInfo(self._relative(blob.name, prefix, root_prefix), False, int(blob.size or 0)))
                for folder in page.prefixes:
                    infos.append(FileInfo(self._relative(folder, prefix, root_prefix).rstrip("/"), True, None))
        except (ImportError, MlflowException):
            raise
        except Exception as err:
            raise self._fail("Failed to list", prefix, err) from err
        return sorted(infos, key=lambda f: f.path)

    def _relative(self, name: str, prefix: str, root_prefix: str) -> str:
        """``name`` relative to the artifact root; an object outside the listed prefix is refused."""
        if not name.startswith(prefix) or name == prefix:
            raise MlflowException(
                f"Refusing object {self._where(name)} listed under {self._where(prefix)}: it is not inside the "
                f"listed prefix (artifact store {self.display_uri})",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return name[len(root_prefix) :]

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        key = self._key(remote_path)

        def fill(out: BinaryIO) -> None:
            try:
                blob = self._gcs().bucket(self.bucket).blob(key, chunk_size=self.download_chunk_size)
                blob.download_to_file(_CountingWriter(out, progress), **self._calls())
            except ImportError:
                raise
            except Exception as err:
                raise self._fail("Failed to download", key, err) from err

        write_atomically(target, fill, f"Failed to download artifact {remote_path} from {self.display_uri}")

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        key = self._key(remote_path)
        try:
            blob = self._gcs().bucket(self.bucket).blob(key)
            reader = blob.open("rb", chunk_size=self.download_chunk_size or CHUNK_SIZE, **self._calls())
        except ImportError:
            raise
        except Exception as err:
            raise self._fail("Failed to read", key, err) from err
        try:
            yield self._chunks(reader, key)
        finally:
            reader.close()

    def _chunks(self, reader: Any, key: str) -> Iterator[bytes]:
        while True:
            try:
                block = reader.read(CHUNK_SIZE)
            except Exception as err:
                raise self._fail("Failed to read", key, err) from err
            if not block:
                return
            yield block


class _CountingReader:
    """A file being uploaded, telling ``progress`` of the bytes read (the SDK reads, seeks and tells)."""

    def __init__(self, f: BinaryIO, progress: Progress) -> None:
        self._f, self._progress = f, progress

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._progress.add(len(data))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


class _CountingWriter:
    """The file a download fills, telling ``progress`` of the bytes written (the SDK rewinds on a retry)."""

    def __init__(self, out: BinaryIO, progress: Progress) -> None:
        self._out, self._progress = out, progress

    def write(self, data: bytes) -> int:
        n = self._out.write(data)
        self._progress.add(len(data))
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._out.seek(offset, whence)

    def tell(self) -> int:
        return self._out.tell()

    def flush(self) -> None:
        self._out.flush()


def _unwrap_retry(err: Exception) -> Exception:
    """The last error of an exhausted retry (google.api_core's RetryError keeps it as ``cause``)."""
    cause = getattr(err, "cause", None)
    return cause if type(err).__name__ == "RetryError" and isinstance(cause, Exception) else err


def _classify(err: BaseException) -> str:
    """``"connection"``, ``"credentials"`` or ``""``, following the chain of causes."""
    import requests
    from google.auth import exceptions as auth_errors

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
            return "connection"
        if isinstance(seen, auth_errors.TransportError):  # the token endpoint could not be reached
            return "connection"
        if isinstance(seen, auth_errors.GoogleAuthError):
            return "credentials"
        seen = seen.__cause__ or seen.__context__
    return ""


def _auth_detail(err: BaseException) -> str:
    """The kind of a google-auth error and its OAuth code (``RefreshError: invalid_grant``), nothing more."""
    detail = type(err).__name__
    args = getattr(err, "args", ())
    code = args[0].split(":", 1)[0].strip() if args and isinstance(args[0], str) else ""
    if _OAUTH_CODE.match(code):
        detail += f": {code}"
    return detail
