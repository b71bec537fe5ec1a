"""``mlflow-artifacts:`` and ``http(s)://`` URIs: files go through the tracking server's artifact proxy.

Uploads stream the file as the body of a ``PUT`` (``Content-Length`` set, so no chunked encoding);
files of at least ``multipart_threshold`` bytes use MLflow's multipart protocol (create, PUT each part
to its presigned URL, complete; abort on failure) when the server offers it, and fall back to one
streamed ``PUT`` when it answers ``NOT_IMPLEMENTED`` (or lacks the RPCs). Downloads stream through ``transport.stream``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._generated import models as m
from .._generated._runtime import Endpoint, decode, encode, fill_path
from .._generated.endpoints import ENDPOINTS
from ..entities import FileInfo
from ..exceptions import MlflowConnectionError, MlflowException
from . import ArtifactRepository
from ._common import Progress, iter_file, join_remote, read_small, run_all

if TYPE_CHECKING:
    from .._settings import Settings
    from .._transport import HttpTransport

logger = logging.getLogger("mlflow_client")

#: Files of at least this size are sent in parts when the server supports it (MLflow's default).
DEFAULT_MULTIPART_THRESHOLD = 500 * 1024 * 1024
#: Size of each part of a multipart upload (MLflow's default).
DEFAULT_PART_SIZE = 100 * 1024 * 1024
#: Retries of a whole-file PUT after a connection failure or a retryable status (bounded by the policy).
MAX_UPLOAD_RETRIES = 3
#: Files up to this size are read whole and sent as one body rather than streamed.
SMALL_BODY = 1024 * 1024
#: Attempts per part: a part's bytes can be re-read from the file, so a failed PUT is retried.
PART_ATTEMPTS = 3

_PROXY_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
_RPC = {e.rpc: e for e in ENDPOINTS if e.service == "MlflowArtifactsService"}


def _split_uri(artifact_uri: str) -> tuple[str | None, str]:
    """(server base URL or ``None`` for "the tracking server", path under the proxy) of an artifact URI."""
    parts = urlsplit(artifact_uri)
    scheme = parts.scheme.lower()
    if scheme == "mlflow-artifacts":
        if parts.netloc:
            return f"http://{parts.netloc}", parts.path.strip("/")
        return None, parts.path.strip("/")
    head, sep, tail = artifact_uri.partition(_PROXY_PREFIX)
    if not sep:
        raise MlflowException(
            f"{artifact_uri} is not an artifact proxy URL: expected .../api/2.0/mlflow-artifacts/artifacts/<path>",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return head.rstrip("/"), tail.split("?", 1)[0].strip("/")


class ProxyArtifactRepository(ArtifactRepository):
    """The files under one path of a tracking server's ``mlflow-artifacts`` proxy."""

    def __init__(
        self,
        artifact_uri: str,
        *,
        transport: HttpTransport | None = None,
        settings: Settings | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        if part_size < 1:
            raise MlflowException(f"part_size must be positive, got {part_size}", error_code="INVALID_PARAMETER_VALUE")
        base_url, self.root = _split_uri(artifact_uri)
        self._owns_transport = False
        if transport is None or (base_url is not None and _netloc(base_url) != _netloc(transport.base_url)):
            if base_url is None:
                raise MlflowException(
                    f"{artifact_uri} names no server: pass the tracking server's transport",
                    error_code="INVALID_PARAMETER_VALUE",
                )
            from .._transport import HttpTransport

            if transport is not None and base_url.startswith("http://") and "mlflow-artifacts" in artifact_uri:
                # mlflow-artifacts://host:port keeps the tracking server's scheme, as in MLflow
                base_url = urlsplit(transport.base_url).scheme + base_url[4:]
            transport = HttpTransport(base_url, settings if settings is not None else _settings_of(transport))
            self._owns_transport = True
        self.transport = transport
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size

    def close(self) -> None:
        if self._owns_transport:
            self.transport.close()

    # -- paths ----------------------------------------------------------------------------------

    def _remote(self, *parts: str | None) -> str:
        return join_remote(self.root, *parts)

    def _url_path(self, rpc: str, remote: str) -> str:
        return fill_path(_RPC[rpc], {"artifact_path": remote})

    # -- list and download ----------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        request = m.ArtifactsListArtifacts(path=self._remote(path) or None)
        params = [(k, v) for k, v in (("path", request.path),) if v is not None]
        data = self.transport.request("GET", _RPC["listArtifacts"].path, params=params or None)
        response = decode(data, m.ArtifactsListArtifactsResponse)
        infos = []
        for wire in response.files:
            name = wire.path or ""
            infos.append(FileInfo(join_remote(path, name), bool(wire.is_dir), wire.file_size))
        return sorted(infos, key=lambda f: f.path)

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        with self.transport.stream("GET", self._url_path("downloadArtifact", self._remote(remote_path))) as chunks:
            yield chunks

    # -- upload ---------------------------------------------------------------------------------

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        name = os.path.basename(local_file)
        remote_dir = self._remote(artifact_path)
        try:
            # A small file is read whole with four system calls; each is a chance for another upload
            # thread to take the GIL, and with many small files those hand-overs cost more than the reading.
            size, data = read_small(local_file, SMALL_BODY)
            if size >= self.multipart_threshold and self._try_multipart(local_file, remote_dir, size, progress):
                return
            self._put(local_file, join_remote(remote_dir, name), size, progress, data)
        except OSError as err:
            raise MlflowException(
                f"Failed to log artifact {local_file} to {self.display_uri}: {err}", error_code="INTERNAL_ERROR"
            ) from err
        except MlflowException as err:
            raise type(err)(
                f"Failed to log artifact {local_file} to {self.display_uri}: {err.message}",
                error_code=err.error_code,
                http_status=err.http_status,
            ) from err

    def _put(self, local_file: str, remote: str, size: int, progress: Progress, data: bytes | None = None) -> None:
        # The transport never retries a streamed body (it cannot replay an iterator), but a PUT of a
        # file is idempotent and the file can be read again: retry here, as the transport's policy says.
        policy = self.transport.retry_policy
        attempt = 0
        while True:
            attempt += 1
            try:
                body: bytes | Iterator[bytes]
                length = size
                if data is not None:  # one body, which the transport could replay itself
                    body = data
                    length = len(body)
                else:
                    body = iter_file(local_file, progress=progress if attempt == 1 else None)
                self.transport.request(
                    "PUT",
                    self._url_path("uploadArtifact", remote),
                    content=body,
                    headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
                )
                if data is not None:  # a streamed body moved the bar as it was read
                    progress.add(length)
                return
            except MlflowException as err:
                retryable = isinstance(err, MlflowConnectionError) or err.http_status in policy.retry_statuses
                if not retryable or attempt > min(policy.max_retries, MAX_UPLOAD_RETRIES):
                    raise
                time.sleep(policy.backoff(attempt))

    def _try_multipart(self, local_file: str, remote_dir: str, size: int, progress: Progress) -> bool:
        """Send the file in parts; ``False`` when the server does not offer multipart uploads."""
        num_parts = max(1, math.ceil(size / self.part_size))
        create = m.ArtifactsCreateMultipartUpload(path=local_file, num_parts=num_parts)
        try:
            data = self._post_json("createMultipartUpload", remote_dir, create)
        except MlflowException as err:
            # 501 NOT_IMPLEMENTED: the server's store has no multipart; ENDPOINT_NOT_FOUND: a server
            # older than the multipart RPCs. Either way one streamed PUT does the job.
            if err.error_code in ("NOT_IMPLEMENTED", "ENDPOINT_NOT_FOUND") or err.http_status == 501:
                logger.debug("multipart upload not offered by %s (%s); sending one PUT", self.display_uri, err)
                return False
            raise
        created = decode(data, m.ArtifactsCreateMultipartUploadResponse)
        try:
            creds = sorted(created.credentials, key=lambda c: c.part_number or 0)
            tasks = [functools.partial(self._put_part, local_file, cred, size, progress) for cred in creds]
            parts: list[m.ArtifactsMultipartUploadPart] = run_all(tasks, self.max_workers)
            complete = m.ArtifactsCompleteMultipartUpload(path=local_file, upload_id=created.upload_id, parts=parts)
            self._post_json("completeMultipartUpload", remote_dir, complete)
        except BaseException:
            with contextlib.suppress(Exception):
                abort = m.ArtifactsAbortMultipartUpload(path=local_file, upload_id=created.upload_id)
                self._post_json("abortMultipartUpload", remote_dir, abort)
            raise
        return True

    def _post_json(self, rpc: str, remote_dir: str, message: Any) -> bytes:
        endpoint: Endpoint = _RPC[rpc]
        return self.transport.request(
            "POST",
            self._url_path(rpc, remote_dir),
            content=encode(message),
            headers={"Content-Type": "application/json"},
            idempotent=endpoint.retry_safe,
        )

    def _put_part(
        self, local_file: str, cred: m.ArtifactsMultipartUploadCredential, size: int, progress: Progress
    ) -> m.ArtifactsMultipartUploadPart:
        """PUT one part to its presigned URL (not through the tracking server: no tracking credentials)."""
        from .._http_core import AdapterError

        number = cred.part_number or 1
        start = (number - 1) * self.part_size
        length = max(0, min(self.part_size, size - start))
        last: Exception | None = None
        for _attempt in range(PART_ATTEMPTS):
            try:
                status, header, body = self.transport.send_external(
                    "PUT",
                    cred.url or "",
                    content=iter_file(local_file, start, length),
                    headers={**cred.headers, "Content-Length": str(length)},
                )
            except AdapterError as err:
                last = err
                continue
            if 200 <= status < 300:
                progress.add(length)
                return m.ArtifactsMultipartUploadPart(part_number=number, etag=header("ETag"), url=cred.url)
            last = MlflowException(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}", http_status=status)
            if status < 500 and status != 429:
                break
        raise MlflowException(f"Uploading part {number} of {local_file} failed: {last}") from last


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def _settings_of(transport: HttpTransport | None) -> Settings:
    from .._settings import Settings

    return transport.settings if transport is not None else Settings.from_env()
