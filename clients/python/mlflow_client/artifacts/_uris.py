"""``runs:/`` and ``models:/`` URIs resolved to the artifact URIs behind them, and downloads by URI.

- ``runs:/<run_id>/<path>``: the run's artifacts, and (as MLflow 3 does) the artifacts of the run's logged
  model named by the first segment of ``<path>``;
- ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/<stage>``,
  ``models:/<name>/latest`` (each optionally followed by ``/<path>``): the registry's download URI of
  that version;
- ``models:/<model_id>``: a logged model's artifact location;
- anything else (``mlflow-artifacts:``, ``s3://``, ``file:``, a path): the repository for its scheme.

The downloads themselves are the repositories' (streamed, atomic renames, path checks).
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, BinaryIO, NamedTuple
from urllib.parse import urlsplit

from ..exceptions import InvalidParameterValue, MlflowException

if TYPE_CHECKING:
    from ..client import MlflowClient

#: The file MLflow writes beside a downloaded registered model's MLmodel: which name and version it is.
REGISTERED_MODEL_META_FILE_NAME = "registered_model_meta"
_MAX_HOPS = 5  # models:/ -> runs:/ -> ... ; a registry pointing at itself must not loop forever


class ParsedModelUri(NamedTuple):
    model_id: str | None = None
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None


def _improper_models_uri(uri: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form 'models:/name/suffix' or "
        "'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a "
        "registered model alias. Only one of suffix or alias can be defined at a time."
    )


def _improper_runs_uri(uri: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Not a proper runs:/ URI: {uri}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'"
    )


def parse_runs_uri(uri: str) -> tuple[str, str | None]:
    """(run ID, run-relative path or ``None``) of ``runs:/<run_id>[/<path>]``."""
    parts = urlsplit(uri)
    if parts.scheme != "runs" or not parts.path.startswith("/") or len(parts.path) <= 1:
        raise _improper_runs_uri(uri)
    run_id, _, rest = parts.path[1:].partition("/")
    if not run_id:
        raise _improper_runs_uri(uri)
    return run_id, rest or None


def split_models_uri(uri: str) -> tuple[str, str]:
    """``models:/<name>/<version>/a/b`` -> (``models:/<name>/<version>``, ``a/b``); an alias or a model ID
    takes one segment (``models:/<name>@<alias>/a/b``, ``models:/m-<id>/a/b`` are not told apart here)."""
    uri = uri.rstrip("/")
    path = urlsplit(uri).path
    if path.count("/") >= 2:
        segments = path.split("/", 3)  # "", name, version, rest
        cut = 2 if "@" in segments[1] else 3
        return "models:" + "/".join(segments[:cut]), "/".join(segments[cut:])
    return uri, ""


def parse_models_uri(uri: str) -> ParsedModelUri:
    """What a ``models:/`` URI (without a sub-path) names, as MLflow reads it."""
    parts = urlsplit(uri)
    if parts.scheme != "models" or parts.netloc or not parts.path.startswith("/") or len(parts.path) <= 1:
        raise _improper_models_uri(uri)
    segments = parts.path.lstrip("/").split("/")
    if len(segments) > 2 or not segments[0].strip():
        raise _improper_models_uri(uri)
    if len(segments) == 2:
        name, suffix = segments
        if not suffix.strip():
            raise _improper_models_uri(uri)
        if suffix.isdigit():
            return ParsedModelUri(name=name, version=suffix)
        if suffix.lower() == "latest":
            return ParsedModelUri(name=name)
        return ParsedModelUri(name=name, stage=suffix)
    if "@" in segments[0]:
        name, _, alias = segments[0].rpartition("@")
        if not name or not alias.strip():
            raise _improper_models_uri(uri)
        return ParsedModelUri(name=name, alias=alias)
    return ParsedModelUri(model_id=segments[0])


def resolve_models_uri(client: MlflowClient, uri: str) -> tuple[str | None, str | None, str]:
    """(registered model name, version, the URI of its files) for a ``models:/`` URI without sub-path."""
    parsed = parse_models_uri(uri)
    if parsed.model_id is not None:
        return None, None, client.get_logged_model(parsed.model_id).artifact_location
    assert parsed.name is not None
    version = parsed.version
    if parsed.alias is not None:
        version = client.get_model_version_by_alias(parsed.name, parsed.alias).version
    elif version is None:
        latest = client.get_latest_versions(parsed.name, None if parsed.stage is None else [parsed.stage])
        if not latest:
            stage = "" if parsed.stage is None else f" and stage '{parsed.stage}'"
            from ..exceptions import ResourceNotFound

            raise ResourceNotFound(f"No versions of model with name '{parsed.name}'{stage} found")
        version = str(max(int(v.version) for v in latest))
    return parsed.name, version, client.get_model_version_download_uri(parsed.name, version)


def split_root(uri: str) -> tuple[str, str]:
    """(parent URI, last path segment) of a plain artifact URI or local path, as MLflow splits it."""
    if os.path.exists(uri):
        return os.path.dirname(uri), os.path.basename(uri)
    parts = urlsplit(uri)
    path = parts.path.rstrip("/")
    parent, name = posixpath.split(path)
    if parts.scheme and not parts.netloc and not parts.path.startswith("/"):  # e.g. "scheme:relative/path"
        return f"{parts.scheme}:{parent}", name
    return parts._replace(path=parent).geturl(), name


def download(client: MlflowClient, uri: str, dst_path: str | None, hops: int = 0) -> str:
    """Download what ``uri`` names into ``dst_path`` (a new temporary folder when ``None``); its local path."""
    if hops > _MAX_HOPS:
        raise MlflowException(f"Artifact URI {uri} resolves through too many runs:/ and models:/ URIs")
    from . import uri_scheme

    scheme = uri_scheme(uri)
    if scheme == "runs":
        # As MLflow: the repository of the URI's parent, asked for its last segment (so into dst/<last>).
        from .._run_artifacts import download_run_path

        run_id, path = parse_runs_uri(uri)
        parent, _, name = (path or "").rstrip("/").rpartition("/")
        return download_run_path(client, run_id, parent, name, dst_path)
    if scheme == "models":
        base, sub = split_models_uri(uri)
        model_name, version, underlying = resolve_models_uri(client, base)
        if sub:
            local = download(client, underlying.rstrip("/") + "/" + sub, dst_path, hops + 1)
        else:
            local = _download_root(client, underlying, dst_path, hops + 1)
        if os.path.isdir(local) and "MLmodel" in os.listdir(local):
            write_registered_model_meta(local, model_name, version)
        return local
    root, name = split_root(uri)
    return client._repository_for(root).download_artifacts(name, dst_path)


def _download_root(client: MlflowClient, uri: str, dst_path: str | None, hops: int) -> str:
    """Everything under ``uri`` (a model version's files) straight into ``dst_path``."""
    from .._run_artifacts import download_run_path
    from . import uri_scheme

    scheme = uri_scheme(uri)
    if scheme == "runs":
        run_id, path = parse_runs_uri(uri)
        return download_run_path(client, run_id, (path or "").rstrip("/"), "", dst_path)
    if scheme == "models":
        return download(client, uri, dst_path, hops)
    return client._repository_for(uri).download_artifacts("", dst_path)


def write_registered_model_meta(model_dir: str, name: str | None, version: str | None) -> None:
    """What MLflow writes beside a registered model's MLmodel (read by its model-loading code)."""
    try:
        import yaml

        text = yaml.safe_dump({"model_name": name, "model_version": version}, default_flow_style=False)
    except ImportError:  # the same document, spelled as JSON strings (valid YAML)
        import json

        text = f"model_name: {json.dumps(name)}\nmodel_version: {json.dumps(version)}\n"
    from ._common import write_atomically

    target = os.path.join(model_dir, REGISTERED_MODEL_META_FILE_NAME)
    data = text.encode()

    def fill(out: BinaryIO) -> None:
        out.write(data)

    write_atomically(target, fill, f"Failed to write {target}")
