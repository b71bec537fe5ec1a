"""``s3://bucket/prefix`` URIs: the client moves the bytes to and from S3 itself, with boto3 (the ``s3`` extra).

boto3 is imported when the first request is made, so ``import mlflow_client`` stays light and a missing
boto3 fails with an ``ImportError`` naming ``pip install 'mlflow-client[s3]'``. Uploads and downloads go
through boto3's managed transfers: files stream from and to disk, and those of at least
``multipart_threshold`` bytes (boto3's and therefore MLflow's 8 MiB by default) move in parts of
``multipart_chunksize`` bytes. Configuration comes from ``Settings`` (``MLFLOW_S3_ENDPOINT_URL``,
``MLFLOW_S3_UPLOAD_EXTRA_ARGS``, ``MLFLOW_S3_IGNORE_TLS``, ``AWS_CA_BUNDLE``, ``AWS_DEFAULT_REGION``);
credentials come from boto3's own chain (``AWS_ACCESS_KEY_ID``, profiles, instance roles, ...).
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from ..entities import FileInfo
from ..exceptions import MlflowConnectionError, MlflowException
from . import ArtifactRepository
from ._common import CHUNK_SIZE, Progress, check_relative, join_remote, write_atomically

if TYPE_CHECKING:
    from .._settings import Settings

#: Files of at least this size are transferred in parts (boto3's default, which MLflow keeps).
DEFAULT_MULTIPART_THRESHOLD = 8 * 1024 * 1024
#: Size of each part of a multipart transfer (boto3's default).
DEFAULT_MULTIPART_CHUNKSIZE = 8 * 1024 * 1024
#: Parts of one file transferred at once (boto3's default).
DEFAULT_MAX_CONCURRENCY = 10

INSTALL_HINT = "pip install 'mlflow-client[s3]'"

#: S3 error codes -> MLflow error codes.
_ERROR_CODES = {
    "NoSuchKey": "RESOURCE_DOES_NOT_EXIST",
    "NoSuchBucket": "RESOURCE_DOES_NOT_EXIST",
    "404": "RESOURCE_DOES_NOT_EXIST",
    "NotFound": "RESOURCE_DOES_NOT_EXIST",
    "AccessDenied": "PERMISSION_DENIED",
    "403": "PERMISSION_DENIED",
    "Forbidden": "PERMISSION_DENIED",
    "InvalidAccessKeyId": "UNAUTHENTICATED",
    "SignatureDoesNotMatch": "UNAUTHENTICATED",
    "ExpiredToken": "UNAUTHENTICATED",
    "SlowDown": "REQUEST_LIMIT_EXCEEDED",
    "503": "TEMPORARILY_UNAVAILABLE",
}


def import_boto3() -> Any:
    """The ``boto3`` module, or an ``ImportError`` saying which extra to install."""
    try:
        import boto3  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(f"s3:// artifact stores need boto3, which is not installed: {INSTALL_HINT}") from err
    return boto3


def split_s3_uri(artifact_uri: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes at either end) of an ``s3://`` or ``s3a://`` URI."""
    parts = urlsplit(artifact_uri)
    if parts.scheme.lower() not in ("s3", "s3a") or not parts.netloc:
        raise MlflowException(
            f"{artifact_uri} is not an S3 URI: expected s3://<bucket>/<path>", error_code="INVALID_PARAMETER_VALUE"
        )
    return parts.netloc, parts.path.strip("/")


class S3ArtifactRepository(ArtifactRepository):
    """The objects under one key prefix of an S3 (or S3-compatible) bucket.

    ``list_page_size`` caps the keys per ``list_objects_v2`` page (S3's own cap, 1000, when ``None``);
    ``s3_client`` is an escape hatch: a ready boto3 S3 client to use instead of one built from
    ``settings``. S3 has no folders, so empty local folders are not kept.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        settings: Settings | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        multipart_chunksize: int = DEFAULT_MULTIPART_CHUNKSIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        list_page_size: int | None = None,
        s3_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(artifact_uri, **options)
        for name, value in (
            ("multipart_threshold", multipart_threshold),
            ("multipart_chunksize", multipart_chunksize),
            ("max_concurrency", max_concurrency),
            ("list_page_size", list_page_size or 1),
        ):
            if value < 1:
                raise MlflowException(f"{name} must be positive, got {value}", error_code="INVALID_PARAMETER_VALUE")
        self.bucket, self.root = split_s3_uri(artifact_uri)
        if settings is None:
            from .._settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize
        self.max_concurrency = max_concurrency
        self.list_page_size = list_page_size
        self._client = s3_client
        self._owns_client = s3_client is None
        self._transfer_config: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connections of the boto3 client this repository built (not one it was given)."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- boto3 ----------------------------------------------------------------------------------

    def _s3(self) -> Any:
        """The boto3 S3 client, built on first use (boto3 clients are thread-safe; building is not)."""
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        boto3 = import_boto3()
        from botocore.config import Config  # type: ignore[import-untyped]

        s = self.settings
        kwargs: dict[str, Any] = {}
        if s.s3_endpoint_url is not None:
            kwargs["endpoint_url"] = s.s3_endpoint_url
        if s.s3_ignore_tls:
            kwargs["verify"] = False
        elif s.aws_ca_bundle is not None:
            kwargs["verify"] = s.aws_ca_bundle
        if s.aws_default_region is not None:
            kwargs["region_name"] = s.aws_default_region
        # Enough pooled connections for every file of a folder moving its parts at once.
        pool = max(10, self.max_workers * self.max_concurrency)
        return boto3.session.Session().client("s3", config=Config(max_pool_connections=pool), **kwargs)

    def _config(self) -> Any:
        if self._transfer_config is None:
            import_boto3()
            from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

            self._transfer_config = TransferConfig(
                multipart_threshold=self.multipart_threshold,
                multipart_chunksize=self.multipart_chunksize,
                max_concurrency=self.max_concurrency,
            )
        return self._transfer_config

    def _key(self, rel: str | None) -> str:
        return join_remote(self.root, rel)

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _fail(self, doing: str, key: str, err: Exception) -> MlflowException:
        """An ``MlflowException`` naming what failed and the object, with the S3 error's code mapped."""
        cause: BaseException | None = err
        while cause is not None and not isinstance(getattr(cause, "response", None), dict):
            cause = cause.__cause__ or cause.__context__  # boto3 wraps ClientError in S3UploadFailedError
        response = getattr(cause, "response", None)
        error = response.get("Error", {}) if isinstance(response, dict) else {}
        s3_code = str(error.get("Code", ""))
        detail = f"{s3_code}: {error.get('Message', '')}".strip(": ") if s3_code else str(err)
        message = f"{doing} {self._where(key)} (artifact store {self.display_uri}): {detail}"
        if _is_connection_error(err):
            return MlflowConnectionError(message)
        return MlflowException(message, error_code=_ERROR_CODES.get(s3_code, "INTERNAL_ERROR"))

    # -- the repository -------------------------------------------------------------------------

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        key = self._key(join_remote(artifact_path, os.path.basename(local_file)))
        try:
            self._s3().upload_file(
                local_file,
                self.bucket,
                key,
                ExtraArgs=self._extra_args(local_file),
                Callback=progress.add,
                Config=self._config(),
            )
        except ImportError:
            raise
        except Exception as err:
            raise self._fail(f"Failed to upload {local_file} to", key, err) from err

    def _extra_args(self, local_file: str) -> dict[str, Any]:
        """The file's content type and encoding, as MLflow sets them, then MLFLOW_S3_UPLOAD_EXTRA_ARGS."""
        extra: dict[str, Any] = {}
        content_type, encoding = mimetypes.guess_type(local_file)
        if content_type is not None:
            extra["ContentType"] = content_type
        if encoding is not None:
            extra["ContentEncoding"] = encoding
        extra.update(self.settings.s3_upload_extra_args or {})
        return extra

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
        listed = self._key(rel)
        prefix = f"{listed}/" if listed else ""
        root_prefix = f"{self.root}/" if self.root else ""
        infos: list[FileInfo] = []
        try:
            paging = {"PageSize": self.list_page_size} if self.list_page_size else {}
            pages = (
                self._s3()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/", PaginationConfig=paging)
            )
            for page in pages:
                for entry in page.get("CommonPrefixes", []):
                    name = self._relative(entry["Prefix"], prefix, root_prefix).rstrip("/")
                    infos.append(FileInfo(name, True, None))
                for obj in page.get("Contents", []):
                    key, size = obj["Key"], int(obj.get("Size", 0))
                    if key.endswith("/"):  # a "folder" marker some tools create, not a file
                        continue
                    infos.append(FileInfo(self._relative(key, prefix, root_prefix), False, size))
        except ImportError:
            raise
        except MlflowException:
            raise
        except Exception as err:
            raise self._fail("Failed to list", prefix, err) from err
        return sorted(infos, key=lambda f: f.path)

    def _relative(self, key: str, prefix: str, root_prefix: str) -> str:
        """``key`` relative to the artifact root; a key outside the listed prefix is refused."""
        if not key.startswith(prefix) or key == prefix:
            raise MlflowException(
                f"Refusing object {self._where(key)} listed under {self._where(prefix)}: it is not inside the "
                f"listed prefix (artifact store {self.display_uri})",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return key[len(root_prefix) :]

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        key = self._key(remote_path)

        def fill(out: BinaryIO) -> None:
            try:
                self._s3().download_fileobj(self.bucket, key, out, Callback=progress.add, Config=self._config())
            except ImportError:
                raise
            except Exception as err:
                raise self._fail("Failed to download", key, err) from err

        write_atomically(target, fill, f"Failed to download artifact {remote_path} from {self.display_uri}")

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        key = self._key(remote_path)
        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"]
        except ImportError:
            raise
        except Exception as err:
            raise self._fail("Failed to read", key, err) from err
        try:
            yield body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()


def _is_connection_error(err: Exception) -> bool:
    try:
        from botocore.exceptions import (  # type: ignore[import-untyped]
            ConnectionError as BotoConnectionError,
        )
        from botocore.exceptions import (
            ReadTimeoutError,
        )
    except ImportError:  # pragma: no cover - boto3 is installed if a request was made
        return False
    return isinstance(err, (BotoConnectionError, ReadTimeoutError))
