"""Configuration, resolved once: explicit argument, then environment variable, then default.

This is the only module of the package that reads ``os.environ``. ``Settings.from_env()`` parses every
variable strictly (booleans are true/false/1/0, numbers must be numbers) and fails with a
``ConfigurationError`` that names the variable; the result is an immutable ``Settings``.

The variables keep MLflow's names and defaults; ``ENV_VARS`` lists each one with its default and
meaning (the README's table is generated from it). An empty variable counts as unset, as
``MLFLOW_TRACKING_URI= python train.py`` is the shell's way of unsetting one for a command.

Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from .exceptions import ConfigurationError

__all__ = ["ENV_VARS", "EnvVar", "Settings", "env_var_table"]

REDACTED = "***"
#: MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT's value for "no timeout" (MLflow's GCS store reads it so).
NO_TIMEOUT = -1


class EnvVar(NamedTuple):
    """One environment variable: its name, the ``Settings`` field it fills, its default, its meaning."""

    name: str
    field: str
    default: object
    description: str
    secret: bool = False
    #: The lowercase name is read too, and wins when set (as curl, requests and urllib read proxy variables).
    lowercase: bool = False


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "MLFLOW_TRACKING_URI",
        "tracking_uri",
        None,
        "Where runs are tracked: an http(s):// server URL, or a local folder or file: URI (unset: ./mlruns).",
    ),
    EnvVar(
        "MLFLOW_REGISTRY_URI",
        "registry_uri",
        None,
        "Where the model registry is: an http(s):// server URL (unset: the tracking URI).",
    ),
    EnvVar("MLFLOW_TRACKING_USERNAME", "username", None, "User for HTTP Basic auth; needs the password too."),
    EnvVar(
        "MLFLOW_TRACKING_PASSWORD",
        "password",
        None,
        "Password for HTTP Basic auth; needs the username too. Never logged or shown.",
        secret=True,
    ),
    EnvVar(
        "MLFLOW_TRACKING_TOKEN",
        "token",
        None,
        "Bearer token; ignored when a username and password are set. Never logged or shown.",
        secret=True,
    ),
    EnvVar(
        "MLFLOW_TRACKING_INSECURE_TLS",
        "insecure_tls",
        False,
        "Skip TLS certificate verification (true/false/1/0). Not with MLFLOW_TRACKING_SERVER_CERT_PATH.",
    ),
    EnvVar(
        "MLFLOW_TRACKING_SERVER_CERT_PATH",
        "server_cert_path",
        None,
        "CA bundle (PEM) to verify the server's certificate with, instead of the system's.",
    ),
    EnvVar(
        "MLFLOW_TRACKING_CLIENT_CERT_PATH",
        "client_cert_path",
        None,
        "PEM file with the client certificate and its key, for mutual TLS.",
    ),
    EnvVar(
        "REQUESTS_CA_BUNDLE",
        "requests_ca_bundle",
        None,
        "CA bundle (PEM file or folder) for https:// servers and wasbs:// / gs:// stores when "
        "MLFLOW_TRACKING_SERVER_CERT_PATH is unset, as requests (so MLflow) reads it.",
    ),
    EnvVar("CURL_CA_BUNDLE", "curl_ca_bundle", None, "The same, read when REQUESTS_CA_BUNDLE is unset."),
    EnvVar(
        "HTTP_PROXY",
        "http_proxy",
        None,
        "Proxy for http:// URLs (`http_proxy` too, which wins; ignored when REQUEST_METHOD is set, as in CGI). "
        "Never logged or shown: it may hold credentials.",
        secret=True,
        lowercase=True,
    ),
    EnvVar(
        "HTTPS_PROXY",
        "https_proxy",
        None,
        "Proxy for https:// URLs (`https_proxy` too, which wins). Never logged or shown.",
        secret=True,
        lowercase=True,
    ),
    EnvVar(
        "ALL_PROXY",
        "all_proxy",
        None,
        "Proxy for URLs whose scheme has none (`all_proxy` too, which wins). Never logged or shown.",
        secret=True,
        lowercase=True,
    ),
    EnvVar(
        "NO_PROXY",
        "no_proxy",
        None,
        "Comma-separated hosts, domain suffixes and CIDR blocks reached without a proxy, `*` for all "
        "(`no_proxy` too, which wins).",
        lowercase=True,
    ),
    EnvVar(
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "max_retries",
        7,
        "Retries after a connection error, timeout, 429, 500, 502, 503 or 504.",
    ),
    EnvVar(
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
        "backoff_factor",
        2.0,
        "Backoff before retry n >= 2: factor * 2**(n-1) seconds (plus jitter, at most 120 s); retry 1 is at once.",
    ),
    EnvVar(
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "backoff_jitter", 1.0, "Random extra backoff, up to this many seconds."
    ),
    EnvVar(
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "timeout",
        120.0,
        "Seconds to wait for the server on each request (connecting: at most 10 s).",
    ),
    EnvVar("MLFLOW_ALLOW_HTTP_REDIRECTS", "allow_redirects", True, "Follow HTTP redirects (true/false/1/0)."),
    EnvVar(
        "MLFLOW_CLIENT_MAX_RETRY_AFTER",
        "max_retry_after",
        60.0,
        "Longest wait a server's Retry-After header may impose, in seconds (mlflow-client's own).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_MAX_RETRY_TIME",
        "max_retry_time",
        600.0,
        "No retry starts once this many seconds have passed since the first attempt (mlflow-client's own).",
    ),
    EnvVar(
        "MLFLOW_ENABLE_ASYNC_LOGGING",
        "async_logging",
        False,
        "Log metrics, params and tags in the background by default (synchronous=None means False), through the "
        "spool (true/false/1/0).",
    ),
    EnvVar(
        "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS",
        "async_buffering_seconds",
        0.1,
        "How long the background sender waits for more data before sending a partial batch (MLflow: unset).",
    ),
    EnvVar(
        "MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE",
        "async_max_in_flight",
        10,
        "Most requests the background sender has in flight at once (one per run at a time).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_SPOOL_DIR",
        "spool_dir",
        None,
        "Folder of the spool, the on-disk journal of asynchronous logging (unset: a per-user cache folder, "
        "e.g. ~/.cache/mlflow-client/spool).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_SPOOL_MAX_MB",
        "spool_max_mb",
        1024,
        "Most MiB of undelivered data one process keeps in the spool; past it, logging raises SpoolFull.",
    ),
    EnvVar(
        "MLFLOW_CLIENT_SPOOL_FSYNC_SECONDS",
        "spool_fsync_seconds",
        1.0,
        "Spool writes reach the disk (fsync) at least this often, and at flush and end of run: what a machine "
        "crash can lose. 0: at every call (slow).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_OFFLINE",
        "offline",
        "false",
        "`true`: runs for an http(s) server are recorded in a local store under the spool folder and the server "
        "is never contacted; `auto`: only when the server cannot be reached at `start_run`. Upload with "
        "`mlflow-client sync --offline` (auto mode also uploads in the background once the server is back).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_DRAIN_TIMEOUT",
        "drain_timeout",
        30.0,
        "Longest wait for pending asynchronous data at end_run/set_terminated and at interpreter exit; what is "
        "left stays in the spool.",
    ),
    EnvVar("MLFLOW_EXPERIMENT_NAME", "experiment_name", None, "Experiment that new runs go to, by name."),
    EnvVar("MLFLOW_EXPERIMENT_ID", "experiment_id", None, "Experiment that new runs go to, by id."),
    EnvVar("MLFLOW_RUN_ID", "run_id", None, "Run that the fluent API resumes instead of starting one."),
    EnvVar(
        "MLFLOW_S3_ENDPOINT_URL",
        "s3_endpoint_url",
        None,
        "Endpoint of an S3-compatible store (MinIO, Ceph, ...) for s3:// artifacts, instead of AWS's.",
    ),
    EnvVar(
        "MLFLOW_S3_UPLOAD_EXTRA_ARGS",
        "s3_upload_extra_args",
        None,
        'JSON object of extra S3 upload arguments, e.g. `{"ServerSideEncryption": "AES256"}`.',
    ),
    EnvVar(
        "MLFLOW_S3_IGNORE_TLS",
        "s3_ignore_tls",
        False,
        "Skip TLS certificate verification of the S3 endpoint (true/false/1/0); wins over AWS_CA_BUNDLE.",
    ),
    EnvVar("AWS_CA_BUNDLE", "aws_ca_bundle", None, "CA bundle (PEM) to verify the S3 endpoint's certificate with."),
    EnvVar(
        "AWS_DEFAULT_REGION",
        "aws_default_region",
        None,
        "AWS region of s3:// artifact buckets. Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID, ...).",
    ),
    EnvVar(
        "AZURE_STORAGE_CONNECTION_STRING",
        "azure_storage_connection_string",
        None,
        "Connection string of wasbs:// / abfss:// artifact stores (wins over AZURE_STORAGE_ACCESS_KEY).",
        secret=True,
    ),
    EnvVar(
        "AZURE_STORAGE_ACCESS_KEY",
        "azure_storage_access_key",
        None,
        "Account key of wasbs:// / abfss:// artifact stores; neither set: DefaultAzureCredential (azure-identity).",
        secret=True,
    ),
    EnvVar(
        "MLFLOW_GCS_UPLOAD_CHUNK_SIZE",
        "gcs_upload_chunk_size",
        None,
        "Bytes per part of a gs:// resumable upload (unset: google-cloud-storage's choice).",
    ),
    EnvVar(
        "MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE",
        "gcs_download_chunk_size",
        None,
        "Bytes per request of a gs:// download (unset: google-cloud-storage's choice).",
    ),
    EnvVar(
        "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT",
        "artifact_upload_download_timeout",
        None,
        "Seconds before one request of a gs://, wasbs://, sftp:// or ftp:// transfer times out (unset: the SDK's "
        "default; 60 for ftp://; -1: never, as in MLflow).",
    ),
    EnvVar(
        "MLFLOW_CLIENT_SFTP_KNOWN_HOSTS",
        "sftp_known_hosts",
        None,
        "known_hosts file checked for sftp:// hosts, besides ~/.ssh/known_hosts and ~/.ssh/config's.",
    ),
    EnvVar(
        "MLFLOW_CLIENT_SFTP_ACCEPT_UNKNOWN_HOSTS",
        "sftp_accept_unknown_hosts",
        False,
        "Accept an sftp:// host whose key is in no known_hosts file (true/false/1/0). Unsafe: off by default.",
    ),
)
_BY_FIELD = {var.field: var for var in ENV_VARS}


def env_var_table() -> str:
    """Every environment variable as a Markdown table (name, default, meaning), for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for var in ENV_VARS:
        default = "unset" if var.default is None else f"`{str(var.default).lower()}`"
        if isinstance(var.default, float) and var.default.is_integer() and var.field != "backoff_jitter":
            default = f"`{int(var.default)}`"
        rows.append(f"| `{var.name}` | {default} | {var.description} |")
    return "\n".join(rows) + "\n"


_INT = re.compile(r"\s*[+-]?[0-9]+\s*\Z")

# -- strict parsers: each takes the raw text and the variable's name ---------------------------------


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ConfigurationError(f"{name} must be one of true, false, 1, 0 (any case), got {value!r}")


def parse_offline(value: str, name: str) -> str:
    """``auto``, or a boolean as ``parse_bool`` reads one, as "true"/"false"."""
    lowered = value.strip().lower()
    if lowered == "auto":
        return "auto"
    if lowered in ("true", "1", "false", "0"):
        return "true" if parse_bool(value, name) else "false"
    raise ConfigurationError(f"{name} must be one of true, false, auto, 1, 0 (any case), got {value!r}")


def parse_int(value: str, name: str) -> int:
    if not _INT.match(value):
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def parse_float(value: str, name: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be a finite number, got {value!r}")
    return number


def _parse_str(value: str, name: str) -> str:
    return value


def parse_json_object(value: str, name: str) -> dict[str, Any]:
    # The raw text is not echoed: it may hold an SSE-C key.
    try:
        parsed = json.loads(value)
    except ValueError as err:
        raise ConfigurationError(f"{name} must be a JSON object, but it is not valid JSON: {err}") from None
    if not isinstance(parsed, dict):
        raise ConfigurationError(f"{name} must be a JSON object, got a JSON {type(parsed).__name__}")
    return parsed


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "insecure_tls": parse_bool,
    "allow_redirects": parse_bool,
    "max_retries": parse_int,
    "backoff_factor": parse_float,
    "backoff_jitter": parse_float,
    "timeout": parse_float,
    "max_retry_after": parse_float,
    "max_retry_time": parse_float,
    "async_logging": parse_bool,
    "async_buffering_seconds": parse_float,
    "async_max_in_flight": parse_int,
    "spool_max_mb": parse_int,
    "spool_fsync_seconds": parse_float,
    "drain_timeout": parse_float,
    "s3_upload_extra_args": parse_json_object,
    "s3_ignore_tls": parse_bool,
    "offline": parse_offline,
    "gcs_upload_chunk_size": parse_int,
    "gcs_download_chunk_size": parse_int,
    "artifact_upload_download_timeout": parse_int,
    "sftp_accept_unknown_hosts": parse_bool,
}


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything the client is configured with; build it with ``Settings.from_env()``.

    Constructing one directly, or through ``dataclasses.replace``/``with_changes``, validates the values
    the same way. ``repr`` shows ``***`` for the password and token.
    """

    tracking_uri: str | None = None
    registry_uri: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None
    insecure_tls: bool = False
    server_cert_path: str | None = None
    client_cert_path: str | None = None
    requests_ca_bundle: str | None = None
    curl_ca_bundle: str | None = None
    http_proxy: str | None = None
    https_proxy: str | None = None
    all_proxy: str | None = None
    no_proxy: str | None = None
    max_retries: int = 7
    backoff_factor: float = 2.0
    backoff_jitter: float = 1.0
    timeout: float = 120.0
    allow_redirects: bool = True
    max_retry_after: float = 60.0
    max_retry_time: float = 600.0
    async_logging: bool = False
    async_buffering_seconds: float = 0.1
    async_max_in_flight: int = 10
    spool_dir: str | None = None
    spool_max_mb: int = 1024
    spool_fsync_seconds: float = 1.0
    offline: str = "false"
    drain_timeout: float = 30.0
    experiment_name: str | None = None
    experiment_id: str | None = None
    run_id: str | None = None
    s3_endpoint_url: str | None = None
    s3_upload_extra_args: Mapping[str, Any] | None = dataclasses.field(default=None, hash=False)
    s3_ignore_tls: bool = False
    aws_ca_bundle: str | None = None
    aws_default_region: str | None = None
    azure_storage_connection_string: str | None = None
    azure_storage_access_key: str | None = None
    gcs_upload_chunk_size: int | None = None
    gcs_download_chunk_size: int | None = None
    artifact_upload_download_timeout: int | None = None
    sftp_known_hosts: str | None = None
    sftp_accept_unknown_hosts: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Resolve each field: a keyword argument that is not ``None``, else its variable, else the default.

        ``environ`` defaults to ``os.environ``; pass a mapping to resolve from something else (tests).
        An argument of ``None`` means "not given", so ``MlflowClient(tracking_uri=None)`` falls back to
        ``MLFLOW_TRACKING_URI`` as MLflow's does.
        """
        unknown = set(overrides) - set(_BY_FIELD)
        if unknown:
            raise TypeError(f"Settings.from_env() got unknown settings: {', '.join(sorted(unknown))}")
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var in ENV_VARS:
            if overrides.get(var.field) is not None:
                values[var.field] = overrides[var.field]
                continue
            raw = _raw(env, var)
            if raw is not None:
                values[var.field] = _PARSERS.get(var.field, _parse_str)(raw, var.name)
        if "spool_dir" not in values:
            values["spool_dir"] = default_spool_dir(env)
        return cls(**values)

    @property
    def spool_folder(self) -> str:
        """The spool's folder: ``spool_dir``, else the per-user cache folder of this environment."""
        return self.spool_dir or default_spool_dir(os.environ)

    @property
    def ca_bundle(self) -> str | None:
        """The CA bundle requests would verify with: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``."""
        return self.requests_ca_bundle or self.curl_ca_bundle

    def transfer_timeout(self, default: float | None) -> float | None:
        """Seconds one artifact store request may take: the variable's value, ``None`` (no limit) for -1,
        ``default`` when unset."""
        value = self.artifact_upload_download_timeout
        if value is None:
            return default
        return None if value == NO_TIMEOUT else float(value)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated like any other)."""
        return dataclasses.replace(self, **changes)

    def __post_init__(self) -> None:
        for name in ("insecure_tls", "allow_redirects", "s3_ignore_tls", "async_logging", "sftp_accept_unknown_hosts"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{_label(name)} must be a bool, got {getattr(self, name)!r}")
        if not isinstance(self.max_retries, int) or isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ConfigurationError(f"{_label('max_retries')} must be a whole number >= 0, got {self.max_retries!r}")
        for name in ("gcs_upload_chunk_size", "gcs_download_chunk_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigurationError(f"{_label(name)} must be a whole number >= 1, got {value!r}")
        timeout = self.artifact_upload_download_timeout
        if (
            timeout is not None
            and timeout != NO_TIMEOUT
            and (not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1)
        ):
            raise ConfigurationError(
                f"{_label('artifact_upload_download_timeout')} must be a whole number >= 1, or {NO_TIMEOUT} for "
                f"none, got {timeout!r}"
            )
        for name in ("async_max_in_flight", "spool_max_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{_label(name)} must be a whole number >= 1, got {value!r}")
        for name in (
            "backoff_factor",
            "backoff_jitter",
            "max_retry_after",
            "async_buffering_seconds",
            "spool_fsync_seconds",
            "drain_timeout",
        ):
            _check_number(name, getattr(self, name), allow_zero=True)
        for name in ("timeout", "max_retry_time"):
            _check_number(name, getattr(self, name), allow_zero=False)
        for name in _STRING_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{_label(name)} must be a string, got a {type(value).__name__}")
        extra = self.s3_upload_extra_args
        if extra is not None:
            if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
                raise ConfigurationError(f"{_label('s3_upload_extra_args')} must be a mapping with string keys")
            # A read-only copy keeps the frozen Settings immutable.
            object.__setattr__(self, "s3_upload_extra_args", MappingProxyType(dict(extra)))
        if isinstance(self.offline, bool):
            object.__setattr__(self, "offline", "true" if self.offline else "false")
        if self.offline not in ("false", "true", "auto"):
            raise ConfigurationError(f"{_label('offline')} must be true, false or auto, got {self.offline!r}")
        if (self.username is None) != (self.password is None):
            missing, given = ("password", "username") if self.password is None else ("username", "password")
            raise ConfigurationError(
                f"HTTP Basic auth needs both a username and a password: {_label(given)} is set but "
                f"{_label(missing)} is missing"
            )
        if self.insecure_tls and self.server_cert_path is not None:
            raise ConfigurationError(
                f"{_label('insecure_tls')} and {_label('server_cert_path')} cannot be used together: "
                "either verify the server's certificate against a CA bundle or skip verification"
            )

    @property
    def auth_scheme(self) -> str | None:
        """``"basic"``, ``"bearer"`` or ``None``; Basic wins when both kinds of credentials are set."""
        if self.username is not None:
            return "basic"
        return "bearer" if self.token is not None else None

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and _BY_FIELD[f.name].secret:
                parts.append(f"{f.name}={REDACTED!r}")
            elif f.name == "s3_upload_extra_args" and value is not None:
                parts.append(f"{f.name}={_redact_sse_keys(value)!r}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__


_STRING_FIELDS = (
    "tracking_uri",
    "registry_uri",
    "username",
    "password",
    "token",
    "server_cert_path",
    "client_cert_path",
    "requests_ca_bundle",
    "curl_ca_bundle",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "spool_dir",
    "s3_endpoint_url",
    "aws_ca_bundle",
    "aws_default_region",
    "azure_storage_connection_string",
    "azure_storage_access_key",
    "sftp_known_hosts",
)


def _raw(env: Mapping[str, str], var: EnvVar) -> str | None:
    """The variable's text, ``None`` when unset or empty; a set lowercase twin wins. ``HTTP_PROXY`` is not
    read when ``REQUEST_METHOD`` is set: a CGI script would take it from the request's ``Proxy:`` header."""
    names = (var.name.lower(), var.name) if var.lowercase else (var.name,)
    for name in names:
        if name == "HTTP_PROXY" and "REQUEST_METHOD" in env:
            continue
        raw = env.get(name)
        if raw is not None and raw.strip() != "":
            return raw
    return None


def default_spool_dir(environ: Mapping[str, str]) -> str:
    """The per-user cache folder's ``mlflow-client/spool``: XDG_CACHE_HOME or ~/.cache on Linux and other
    Unix systems, ~/Library/Caches on macOS, LOCALAPPDATA on Windows."""
    import sys

    home = environ.get("HOME") or os.path.expanduser("~")
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches")
    else:
        base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "mlflow-client", "spool")


def _redact_sse_keys(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Upload arguments with customer-provided encryption keys (SSECustomerKey, ...) hidden."""
    return {k: REDACTED if k.endswith("SSECustomerKey") else v for k, v in extra.items()}


def _label(field: str) -> str:
    return f"{field} ({_BY_FIELD[field].name})"


def _check_number(name: str, value: object, *, allow_zero: bool) -> None:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    ):
        return
    bound = ">= 0" if allow_zero else "> 0"
    raise ConfigurationError(f"{_label(name)} must be a number {bound}, got {value!r}")
