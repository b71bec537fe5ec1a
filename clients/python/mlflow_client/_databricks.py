"""Databricks tracking URIs: ``databricks`` and ``databricks://PROFILE``, resolved to a workspace URL and a token.

A Databricks workspace serves MLflow's REST API at its own URL, so a Databricks URI is only a way of naming
that URL and its credentials. ``resolve_databricks`` looks them up as MLflow does (its legacy
``databricks_cli`` config providers):

- ``databricks``: the environment first (``DATABRICKS_HOST`` with ``DATABRICKS_TOKEN``, or with
  ``DATABRICKS_USERNAME`` and ``DATABRICKS_PASSWORD``), else the profile ``DATABRICKS_CONFIG_PROFILE``
  (default ``DEFAULT``) of the config file;
- ``databricks://PROFILE``: that profile of the config file only; the environment's host and token are not
  used, as in MLflow.

The config file is ``DATABRICKS_CONFIG_FILE``, else ``~/.databrickscfg``: INI sections of ``host``,
``token``, ``username``/``password``, ``insecure`` (true/false/1/0). Sections do not inherit from
``[DEFAULT]``, as in the Databricks CLI's reader. OAuth (``client_id``/``client_secret``, or
``auth_type = databricks-cli``) and secret-scope URIs (``databricks://scope:prefix``) are refused with an
error that says what to use instead.

Messages name the profile, the file and the missing key, never a token or password. The environment is
read once per resolution, in ``_databricks_environ``. Standard library only.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._settings import Settings, parse_bool
from .exceptions import ConfigurationError, FeatureNotImplemented

__all__ = ["DEFAULT_PROFILE", "ENV_VARS", "config_file_path", "is_databricks_uri", "resolve_databricks"]

DEFAULT_PROFILE = "DEFAULT"
DEFAULT_CONFIG_FILE = os.path.join("~", ".databrickscfg")

#: The variables read, with their meaning (for the README).
ENV_VARS: Mapping[str, str] = {
    "DATABRICKS_HOST": "Workspace URL for the `databricks` URI (`https://` is added when it has no scheme).",
    "DATABRICKS_TOKEN": "Personal access token for the `databricks` URI, with DATABRICKS_HOST.",
    "DATABRICKS_USERNAME": "User for HTTP Basic auth for the `databricks` URI, with DATABRICKS_PASSWORD.",
    "DATABRICKS_PASSWORD": "Password for HTTP Basic auth for the `databricks` URI.",
    "DATABRICKS_INSECURE": "Skip TLS certificate verification for the `databricks` URI (true/false/1/0).",
    "DATABRICKS_CLIENT_ID": "OAuth M2M client id: not supported, refused with an error.",
    "DATABRICKS_CLIENT_SECRET": "OAuth M2M client secret: not supported, refused with an error.",
    "DATABRICKS_CONFIG_FILE": "The config file (default: ~/.databrickscfg).",
    "DATABRICKS_CONFIG_PROFILE": "Profile of the config file for the `databricks` URI (default: DEFAULT).",
}

# A name no section can have: [DEFAULT] is then an ordinary section, not defaults for every other one.
_NO_DEFAULT_SECTION = "\0"


@dataclass(frozen=True, repr=False)
class _Credentials:
    """What one source (the environment, or one profile) says; ``where`` names the source for messages."""

    where: str
    insecure_name: str
    host: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    auth_type: str | None = None
    insecure: str | None = None

    def __repr__(self) -> str:  # the fields hold secrets
        return f"_Credentials(where={self.where!r}, host={self.host!r})"


def is_databricks_uri(uri: str) -> bool:
    """``databricks`` or ``databricks:...`` (any case), as MLflow's ``is_databricks_uri``."""
    lowered = uri.strip().lower()
    return lowered == "databricks" or lowered.startswith("databricks:")


def config_file_path(environ: Mapping[str, str]) -> str:
    """``DATABRICKS_CONFIG_FILE`` (``~`` expanded), else ``~/.databrickscfg``."""
    return os.path.expanduser(_nonempty(environ.get("DATABRICKS_CONFIG_FILE")) or DEFAULT_CONFIG_FILE)


def resolve_databricks(
    uri: str, settings: Settings, *, environ: Mapping[str, str] | None = None
) -> tuple[str, Settings]:
    """The workspace URL a Databricks URI stands for, and ``settings`` with its credentials set.

    The credentials replace any of ``settings`` (MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD are for other
    servers); ``insecure = true`` turns on ``insecure_tls``. ``environ`` defaults to ``os.environ``.
    """
    profile = _profile_of(uri)
    env = _databricks_environ(os.environ if environ is None else environ)
    path = config_file_path(env)
    if profile is None:
        creds = _from_environment(env)
        if creds is None:
            hint = _environment_hint(env)
            creds = _from_file(path, env.get("DATABRICKS_CONFIG_PROFILE") or DEFAULT_PROFILE, hint)
    else:
        creds = _from_file(path, profile, "")
    return _apply(creds, settings)


# -- where the credentials come from ------------------------------------------------------------------


def _profile_of(uri: str) -> str | None:
    """``None`` for ``databricks`` (the default chain), else the profile that ``databricks://PROFILE`` names."""
    text = uri.strip()
    if text.lower() == "databricks":
        return None
    parts = urlsplit(text)
    profile = parts.netloc
    if not text.lower().startswith("databricks://") or not profile:
        raise ConfigurationError(
            f"Databricks tracking URI {text!r} names no profile: use `databricks` (the default profile) "
            "or `databricks://<profile>`"
        )
    if ":" in profile:
        raise FeatureNotImplemented(
            f"Databricks tracking URI {text!r} names a secret scope and key prefix (databricks://scope:prefix), "
            "which only works inside a Databricks notebook and is not supported by mlflow-client: use "
            "`databricks://<profile>` with a profile in the config file, or DATABRICKS_HOST and "
            "DATABRICKS_TOKEN with the `databricks` URI."
        )
    if parts.path.strip("/") or parts.query or parts.fragment or "@" in profile:
        raise ConfigurationError(
            f"Databricks tracking URI {text!r} has more than a profile: use `databricks://<profile>`"
        )
    return profile


def _databricks_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The DATABRICKS_* variables that are set; empty counts as unset, as for every other variable."""
    return {name: value for name in ENV_VARS if (value := _nonempty(environ.get(name))) is not None}


def _from_environment(env: Mapping[str, str]) -> _Credentials | None:
    """The environment's credentials when they are complete (a host and a way to sign in), else ``None``."""
    creds = _Credentials(
        where="Databricks credentials from the environment (DATABRICKS_HOST)",
        insecure_name="DATABRICKS_INSECURE",
        host=env.get("DATABRICKS_HOST"),
        token=env.get("DATABRICKS_TOKEN"),
        username=env.get("DATABRICKS_USERNAME"),
        password=env.get("DATABRICKS_PASSWORD"),
        client_id=env.get("DATABRICKS_CLIENT_ID"),
        client_secret=env.get("DATABRICKS_CLIENT_SECRET"),
        insecure=env.get("DATABRICKS_INSECURE"),
    )
    signs_in = creds.token or (creds.username and creds.password) or (creds.client_id and creds.client_secret)
    return creds if creds.host and signs_in else None


def _environment_hint(env: Mapping[str, str]) -> str:
    """Why the environment was not used, when it looks as if it was meant to be."""
    if "DATABRICKS_HOST" in env:
        return " (DATABRICKS_HOST is set but neither DATABRICKS_TOKEN nor DATABRICKS_USERNAME/PASSWORD is)"
    if "DATABRICKS_TOKEN" in env:
        return " (DATABRICKS_TOKEN is set but DATABRICKS_HOST is not)"
    return " (and DATABRICKS_HOST/DATABRICKS_TOKEN are not set)"


def _from_file(path: str, profile: str, hint: str) -> _Credentials:
    where = f"Databricks profile {profile!r} of {path}"
    if not os.path.exists(path):
        raise ConfigurationError(
            f"Databricks profile {profile!r} not found: the config file {path} does not exist{hint}. Create it "
            "with `databricks configure`, point DATABRICKS_CONFIG_FILE at one, or set DATABRICKS_HOST and "
            "DATABRICKS_TOKEN for the `databricks` URI."
        )
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f, source=path)
    except OSError as err:
        raise ConfigurationError(
            f"Databricks config file {path} cannot be read ({err.strerror or type(err).__name__})"
        ) from None
    except (configparser.Error, UnicodeDecodeError) as err:
        # Not ``str(err)``: configparser quotes the offending line, which may hold a token.
        line = getattr(err, "lineno", None)
        errors = getattr(err, "errors", None)
        if line is None and errors:
            line = errors[0][0]
        at = f" at line {line}" if line is not None else ""
        raise ConfigurationError(
            f"Databricks config file {path} is not a valid INI file{at} ({type(err).__name__})"
        ) from None
    if not parser.has_section(profile):
        known = ", ".join(repr(name) for name in parser.sections()) or "none"
        raise ConfigurationError(
            f"Databricks profile {profile!r} not found in the config file {path}{hint} (profiles there: {known})"
        )
    section = parser[profile]

    def get(key: str) -> str | None:
        return _nonempty(section.get(key))

    return _Credentials(
        where=where,
        insecure_name=f"insecure in {where}",
        host=get("host"),
        token=get("token"),
        username=get("username"),
        password=get("password"),
        client_id=get("client_id"),
        client_secret=get("client_secret"),
        auth_type=get("auth_type"),
        insecure=get("insecure"),
    )


# -- from credentials to settings ---------------------------------------------------------------------


def _apply(creds: _Credentials, settings: Settings) -> tuple[str, Settings]:
    where = creds.where
    if creds.host is None:
        raise ConfigurationError(f"{where}: no host; set `host = https://<workspace>`")
    url = _workspace_url(creds.host, where)
    insecure = settings.insecure_tls
    if creds.insecure is not None:
        insecure = parse_bool(creds.insecure, creds.insecure_name)
    if insecure and settings.server_cert_path is not None:
        raise ConfigurationError(
            f"{creds.insecure_name} turns off TLS verification while MLFLOW_TRACKING_SERVER_CERT_PATH "
            "asks for it against a CA bundle: unset one of them"
        )
    common = {"insecure_tls": insecure, "token": None, "username": None, "password": None}
    # The order of MLflow's get_databricks_host_creds: user and password, then a token.
    if creds.username is not None and creds.password is not None:
        return url, settings.with_changes(**{**common, "username": creds.username, "password": creds.password})
    if creds.token is not None:
        return url, settings.with_changes(**{**common, "token": creds.token})
    if creds.client_id is not None and creds.client_secret is not None:
        raise FeatureNotImplemented(
            f"{where}: OAuth M2M (client_id and client_secret) is not supported by mlflow-client; use a personal "
            "access token instead (`token = ...` in the profile, or DATABRICKS_TOKEN)."
        )
    if creds.auth_type is not None:
        raise FeatureNotImplemented(
            f"{where}: auth_type = {creds.auth_type} is not supported by mlflow-client; use a personal access "
            "token instead (`token = ...` in the profile, or DATABRICKS_TOKEN)."
        )
    raise ConfigurationError(f"{where}: no token; set `token = <personal access token>` (or `username` and `password`)")


def _workspace_url(host: str, where: str) -> str:
    """``https://`` added to a bare host name, the trailing slash cut, anything but http(s) refused."""
    url = host.strip()
    if "://" not in url:
        url = "https://" + url
    url = url.rstrip("/")
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query or parts.fragment:  # not echoed: it may hold a password
        raise ConfigurationError(
            f"{where}: the host has credentials, a query or a fragment; give only the workspace URL"
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{where}: the host is not an http(s) URL: {host!r}")
    return url


def _nonempty(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
