"""``MlflowClient``'s Model Registry methods, mixed into the client: MLflow's names, arguments and results.

The argument checks are functions here, shared with ``AsyncMlflowClient``'s registry methods
(``_async_registry_methods``). The requests are ``_registry_ops``' operations, run by the registry
store: the tracking server's own ``RestStore`` unless ``registry_uri`` (or ``MLFLOW_REGISTRY_URI``)
names another server.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing


if TYPE_CHECKING:
    from typing import Any, TypeVar

    from ._file_store import FileStore
    from ._rest_store import RestStore
    from ._settings import Settings
    from ._store_ops import Op
    from .entities import PagedList
    from .entities._registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag

    T = TypeVar("T")

# The operations (and the generated layer under them) load on the first call: importing the client stays light.
if TYPE_CHECKING:
    from . import _registry_ops as ops
else:
    from ._lazy import LazyModule

    ops = LazyModule("mlflow_client._registry_ops")


#: MLflow's defaults.
SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10_000
DEFAULT_AWAIT_MAX_SLEEP_SECONDS = 300
MAX_ALIAS_LENGTH = 255
_ALIAS = r"^[\w\-]*$"


def _re() -> Any:
    import re

    return re


def _invalid(message: str) -> Exception:
    from .exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


# -- argument checks (shared with the async client) ---------------------------------------------------


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"Missing value for required parameter '{field}'.")
    return name


def check_model_name(name: Any, field: str = "name") -> str:
    """MLflow's rules for a registered model's name: not empty, no '/' or ':', no path tricks."""
    import posixpath

    text = check_name(name, field)
    if "/" in text or ":" in text:
        raise _invalid(f"Invalid model name '{text}'. Names cannot contain '/' or ':'.")
    if posixpath.normpath(text) != text:
        raise _invalid(f"Invalid value {text!r} for parameter '{field}' supplied: it would resolve to another path")
    return text


def check_version(version: Any) -> str:
    """A version number (int or digits) as the string the wire carries."""
    if isinstance(version, bool):
        raise _invalid(f"Parameter 'version' must be an integer, got '{version}'.")
    try:
        return str(int(version))
    except (TypeError, ValueError):
        raise _invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


def check_alias(alias: Any) -> str:
    if alias is None or alias == "":
        raise _invalid("Registered model alias name cannot be empty.")
    if not isinstance(alias, str) or not _re().match(_ALIAS, alias):
        raise _invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise _invalid(f"Registered model alias name exceeds the maximum length of {MAX_ALIAS_LENGTH}")
    return alias


def check_max_results(max_results: Any) -> int:
    from .client import _check_int

    value = _check_int(max_results, "max_results")
    if value < 1:
        raise _invalid(f"max_results must be a positive integer, got {value}")
    return value


def check_order_by(order_by: Any) -> list[str] | None:
    if order_by is None:
        return None
    if isinstance(order_by, str) or not all(isinstance(o, str) for o in order_by):
        raise _invalid(f"order_by must be a list of strings, got {order_by!r}")
    return list(order_by)


def model_tags(tags: dict[str, Any] | None) -> list[RegisteredModelTag]:
    from .client import _check_key, _stringify
    from .entities._registry import IS_PROMPT_TAG_KEY, RegisteredModelTag

    if tags is not None and not isinstance(tags, dict):
        raise _invalid(f"tags must be a dict, got {type(tags).__name__}")
    if tags and IS_PROMPT_TAG_KEY in tags:
        raise _invalid("Prompts cannot be registered as models.")
    out = [RegisteredModelTag(k, _stringify(v)) for k, v in (tags or {}).items()]
    for t in out:
        _check_key(t.key)
    return out


def version_tags(tags: dict[str, Any] | None) -> list[ModelVersionTag]:
    from .client import _check_key, _stringify
    from .entities._registry import IS_PROMPT_TAG_KEY, ModelVersionTag

    if tags is not None and not isinstance(tags, dict):
        raise _invalid(f"tags must be a dict, got {type(tags).__name__}")
    if tags and IS_PROMPT_TAG_KEY in tags:
        raise _invalid("Prompts cannot be registered as models.")
    out = [ModelVersionTag(k, _stringify(v)) for k, v in (tags or {}).items()]
    for t in out:
        _check_key(t.key)
    return out


def check_tag(key: Any, value: Any = "") -> tuple[str, str]:
    from .client import _check_key, _stringify

    if not isinstance(key, str):
        raise _invalid(
            "Missing value for required parameter 'key'." if key is None else f"key must be a string, got {key!r}"
        )
    _check_key(key)
    if value is None:
        raise _invalid("Tag value cannot be None")
    return key, _stringify(value)


def check_version_or_stage(version: Any, stage: Any) -> None:
    if version and stage:
        raise _invalid("version and stage cannot be set together")
    if not (version or stage):
        raise _invalid("version or stage must be set")
    if stage:
        import warnings

        warnings.warn(
            "The `stage` parameter is deprecated (MLflow 2.9): use aliases and versions instead.",
            FutureWarning,
            stacklevel=3,
        )


def check_stage(stage: Any) -> str:
    from .entities._registry import get_canonical_stage

    if not isinstance(stage, str) or not stage.strip():
        raise _invalid("The stage must not be an empty string.")
    return get_canonical_stage(stage)


def check_stages(stages: Any) -> list[str] | None:
    if stages is None:
        return None
    if isinstance(stages, str):
        stages = [stages]
    return [check_stage(s) for s in stages]


def prompt_filter(filter_string: str | None) -> str:
    """MLflow's registry client leaves prompts (kept in the registry too) out of model searches."""
    from .entities._registry import IS_PROMPT_TAG_KEY

    if filter_string and IS_PROMPT_TAG_KEY in filter_string:
        return filter_string
    not_prompt = f"tag.`{IS_PROMPT_TAG_KEY}` != 'true'"
    return f"{filter_string} AND {not_prompt}" if filter_string else not_prompt


def not_a_prompt(entity: RegisteredModel | ModelVersion, name: str) -> None:
    """MLflow hides prompts from the model methods: a prompt reads as a model that does not exist."""
    if entity._is_prompt():
        from .exceptions import ResourceNotFound

        raise ResourceNotFound(f"Registered Model with name={name!r} not found.")


def resolve_registry_uri(registry_uri: str | None, tracking_uri: str, settings: Settings) -> str:
    """``registry_uri`` if given, then ``MLFLOW_REGISTRY_URI``, then the tracking URI (as MLflow resolves it)."""
    from . import _tracking_uri

    return registry_uri or _tracking_uri.registry_uri_set() or settings.registry_uri or tracking_uri


def registry_server(
    registry_uri: str, tracking_uri: str, tracking_server_url: str, settings: Settings
) -> tuple[str, Settings] | None:
    """Where registry calls go: ``None`` for the tracking server itself, else another server's URL and settings
    (an http(s) or Databricks registry URI); a clear error for a local folder, a database or offline mode."""
    from ._databricks import is_databricks_uri, resolve_databricks
    from .exceptions import FeatureNotImplemented

    online = settings.offline != "true"
    if online and registry_uri == tracking_uri and tracking_server_url.lower().startswith(("http://", "https://")):
        return None
    uri, server_settings = registry_uri, settings
    if online and is_databricks_uri(uri):
        uri, server_settings = resolve_databricks(uri, settings)
    if online and uri.lower().startswith(("http://", "https://")):
        return None if uri == tracking_server_url else (uri, server_settings)
    from ._delivery.spool import public_url

    shown = public_url(registry_uri) if "://" in registry_uri else registry_uri
    raise FeatureNotImplemented(
        f"The model registry needs a tracking server: registry URI {shown!r} "
        + ("is used offline (MLFLOW_CLIENT_OFFLINE=true)" if not online else "is not an http(s) server")
        + ". mlflow-client does not implement MLflow's file-based registry under ./mlruns, nor database URIs: "
        "run `mlflow server --backend-store-uri sqlite:///mlflow.db` and set MLFLOW_TRACKING_URI (or "
        "MLFLOW_REGISTRY_URI) to http://<host>:<port>.",
        error_code="FEATURE_DISABLED",
    )


def registry_store(
    registry_uri: str, tracking_uri: str, tracking_store: Any, tracking_server_url: str, settings: Settings
) -> RestStore:
    """The blocking store registry calls go to (the tracking store when it is the same server)."""
    from ._rest_store import RestStore
    from ._transport import HttpTransport

    server = registry_server(registry_uri, tracking_uri, tracking_server_url, settings)
    if server is None:
        assert isinstance(tracking_store, RestStore)
        return tracking_store
    return RestStore(HttpTransport(*server))


class RegistryMethods:
    """The registry half of ``MlflowClient`` (a mixin: the client provides the store and settings)."""

    _registry_uri: str
    _tracking_uri: str
    _server_url: str
    _settings: Settings
    _store: RestStore | FileStore
    _registry_store_cached: RestStore | None = None

    @property
    def registry_uri(self) -> str:
        return self._registry_uri

    def _registry(self) -> RestStore:
        store = self._registry_store_cached
        if store is None:
            store = registry_store(
                self._registry_uri, self._tracking_uri, self._store, self._server_url, self._settings
            )
            self._registry_store_cached = store
        return store

    def _reg(self, op: Op[T]) -> T:
        return self._registry().run_op(op)

    def _close_registry(self) -> None:
        store, self._registry_store_cached = self._registry_store_cached, None
        if store is not None and store is not self._store:
            close = getattr(store.transport, "close", None)
            if close is not None:
                close()

    # -- registered models ----------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        tag_list = model_tags(tags)
        return self._reg(ops.create_registered_model(check_name(name), tag_list, description, deployment_job_id))

    def get_registered_model(self, name: str) -> RegisteredModel:
        model = self._reg(ops.get_registered_model(check_name(name)))
        not_a_prompt(model, name)
        return model

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        op = ops.search_registered_models(
            prompt_filter(filter_string), check_max_results(max_results), check_order_by(order_by), page_token
        )
        return self._reg(op)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename the model; returns it under its new name (MLflow 3.17's client returns ``None``)."""
        check_name(name)
        if not isinstance(new_name, str) or not new_name.strip():
            raise _invalid("The name must not be an empty string.")
        return self._reg(ops.rename_registered_model(name, new_name))

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return self._reg(ops.update_registered_model(check_name(name), description, deployment_job_id))

    def delete_registered_model(self, name: str) -> None:
        self._reg(ops.delete_registered_model(check_name(name)))

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        return self._reg(ops.get_latest_versions(check_name(name), check_stages(stages)))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._reg(ops.set_registered_model_tag(check_name(name), *check_tag(key, value)))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._reg(ops.delete_registered_model_tag(check_name(name), check_tag(key)[0]))

    # -- model versions -------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register ``source`` (a ``models:/m-<id>`` URI with ``model_id``, or an artifact URI) as the next
        version of ``name``; waits up to ``await_creation_for`` seconds for the version to be READY."""
        op = create_version_op(self, name, source, run_id, tags, run_link, description, await_creation_for, model_id)
        return self._reg(op)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        mv = self._reg(ops.get_model_version(check_name(name), check_version(version)))
        not_a_prompt(mv, name)
        return mv

    def update_model_version(self, name: str, version: str, description: str | None = None) -> ModelVersion:
        if description is None:
            raise _invalid("Attempting to update model version with no new field values.")
        return self._reg(ops.update_model_version(check_name(name), check_version(version), description))

    def delete_model_version(self, name: str, version: str) -> None:
        self._reg(ops.delete_model_version(check_name(name), check_version(version)))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        op = ops.search_model_versions(
            filter_string, check_max_results(max_results), check_order_by(order_by), page_token
        )
        return self._reg(op)

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        if not isinstance(archive_existing_versions, bool):
            raise _invalid(f"archive_existing_versions must be a bool, got {archive_existing_versions!r}")
        op = ops.transition_model_version_stage(
            check_name(name), check_version(version), check_stage(stage), archive_existing_versions
        )
        return self._reg(op)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return self._reg(ops.get_model_version_download_uri(check_name(name), check_version(version)))

    def set_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        check_version_or_stage(version, stage)
        key, text = check_tag(key, value)
        number = self._version_in_stage(check_name(name), stage) if stage else check_version(version)
        self._reg(ops.set_model_version_tag(name, number, key, text))

    def delete_model_version_tag(
        self, name: str, version: str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        check_version_or_stage(version, stage)
        key = check_tag(key)[0]
        number = self._version_in_stage(check_name(name), stage) if stage else check_version(version)
        self._reg(ops.delete_model_version_tag(name, number, key))

    def _version_in_stage(self, name: str, stage: str | None) -> str:
        latest = self._reg(ops.get_latest_versions(name, check_stages([stage])))
        if not latest:
            raise _invalid(f"Could not find any model version for {stage} stage")
        return latest[0].version

    # -- aliases --------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        op = ops.set_registered_model_alias(check_model_name(name), check_alias(alias), check_version(version))
        self._reg(op)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._reg(ops.delete_registered_model_alias(check_model_name(name), check_alias(alias)))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        mv = self._reg(ops.get_model_version_by_alias(check_model_name(name), check_name(alias, "alias")))
        not_a_prompt(mv, name)
        return mv


def create_version_op(
    client: Any,
    name: str,
    source: str,
    run_id: str | None,
    tags: dict[str, Any] | None,
    run_link: str | None,
    description: str | None,
    await_creation_for: int | None,
    model_id: str | None,
) -> Op[ModelVersion]:
    """``create_model_version``'s checks, and its operation on the registry store's clock."""
    check_name(name)
    check_name(source, "source")
    tag_list = version_tags(tags)
    if await_creation_for is not None:
        from .client import _check_int

        _check_int(await_creation_for, "await_creation_for")
    clock = getattr(client._registry().transport, "clock", None)
    extra = {"clock": clock} if callable(clock) else {}
    return ops.create_model_version(
        name, source, run_id, tag_list, run_link, description, model_id, await_creation_for, **extra
    )
