"""The logged-model methods of ``MlflowClient`` and ``AsyncMlflowClient`` (MLflow 3), mixed into each client.

Logged models live in the tracking store, so these go to the tracking server (``_logged_model_ops``'
operations, run by its REST store). The checks are shared by both mixins.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing


if TYPE_CHECKING:
    from typing import Any, TypeVar

    from ._async_rest_store import AsyncRestStore, ThreadedStore
    from ._file_store import FileStore
    from ._rest_store import RestStore
    from ._store_ops import Op
    from .entities import LoggedModelOutput, PagedList
    from .entities._logged_model import LoggedModel, LoggedModelParameter, LoggedModelStatus, LoggedModelTag

    T = TypeVar("T")

# The operations (and the generated layer under them) load on the first call: importing the client stays light.
if TYPE_CHECKING:
    from . import _logged_model_ops as ops
else:
    from ._lazy import LazyModule

    ops = LazyModule("mlflow_client._logged_model_ops")


def _invalid(message: str) -> Exception:
    from .exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


def check_model_id(model_id: Any) -> str:
    if not isinstance(model_id, str) or not model_id:
        raise _invalid(f"`model_id` must be a non-empty string, but got {model_id!r}")
    return model_id


def check_tag_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise _invalid(f"Missing value for required parameter 'key'. Got {key!r}")
    return key


def check_experiment_ids(experiment_ids: Any) -> list[str]:
    if not isinstance(experiment_ids, list) or not all(isinstance(e, str) for e in experiment_ids):
        raise _invalid(f"experiment_ids must be a list of strings, got {type(experiment_ids)}")
    return experiment_ids


def check_experiment_id(experiment_id: Any) -> str:
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, (str, int)) or str(experiment_id) == "":
        raise _invalid(f"experiment_id must be a non-empty string, got {experiment_id!r}")
    return str(experiment_id)


def check_search(
    datasets: Any, max_results: Any, order_by: Any
) -> tuple[list[dict[str, Any]] | None, int | None, list[dict[str, Any]] | None]:
    """``search_logged_models``' dataset and order-by dictionaries (keys as MLflow reads them), and page size."""
    from .client import _check_int

    for what, items, required in (("datasets", datasets, "dataset_name"), ("order_by", order_by, "field_name")):
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(d, dict) and required in d for d in items):
            raise _invalid(f"{what} must be a list of dicts with a {required!r} key, got {items!r}")
    size = None if max_results is None else _check_int(max_results, "max_results")
    if size is not None and size < 1:
        raise _invalid(f"max_results must be a positive integer, got {size}")
    return datasets, size, order_by


def check_status(status: Any) -> LoggedModelStatus:
    from .entities._logged_model import LoggedModelStatus

    try:
        # MLflow's LoggedModelStatus is a str enum too: its members look up ours by value.
        return LoggedModelStatus(status)
    except ValueError:
        raise _invalid(f"status must be 'READY', 'FAILED' or a LoggedModelStatus, got {status!r}") from None


def _pairs(values: Any, what: str) -> list[tuple[str, str]]:
    from .client import _check_key, _stringify

    if values is None:
        return []
    if not isinstance(values, dict):
        raise _invalid(f"{what} must be a dict, got {type(values).__name__}")
    out = [(str(k), _stringify(v)) for k, v in values.items()]
    for k, _ in out:
        _check_key(k)
    return out


def model_tags(tags: Any) -> list[LoggedModelTag]:
    from .entities._logged_model import LoggedModelTag

    return [LoggedModelTag(k, v) for k, v in _pairs(tags, "tags")]


def model_params(params: Any) -> list[LoggedModelParameter]:
    from .entities._logged_model import LoggedModelParameter

    return [LoggedModelParameter(k, v) for k, v in _pairs(params, "params")]


def outputs(models: Any) -> list[LoggedModelOutput]:
    """``log_outputs``' models as ours (``mlflow.entities.LoggedModelOutput`` or look-alikes too)."""
    from .client import _check_int
    from .entities import LoggedModelOutput

    if not isinstance(models, (list, tuple)):
        raise _invalid(f"models must be a list of LoggedModelOutput, got {type(models).__name__}")
    out = []
    for x in models:
        if type(x) is LoggedModelOutput:
            out.append(x)
            continue
        try:
            model_id, step = x.model_id, x.step
        except AttributeError:
            raise _invalid(f"models must hold LoggedModelOutput objects (model_id, step), got {x!r}") from None
        out.append(LoggedModelOutput(check_model_id(model_id), _check_int(step, "step")))
    return out


def not_found_as_invalid(model_id: str, err: Exception, doing: str) -> Exception:
    """MLflow's error when a model to tag or give params to cannot be read."""
    return _invalid(
        f"Failed to get logged model with ID {model_id}. You may not have access to the logged model, or the "
        f"logged model may have been deleted. {doing}"
    )


_TAGS_HINT = "If you are attempting to set tags on a Registered Model Version, use `set_model_version_tag` instead."
_PARAMS_HINT = "If you are attempting to log parameters to a Registered Model Version, this is not supported."


def _rest_only(store: Any) -> Any:
    from ._rest_store import RestStore

    if isinstance(store, RestStore) or hasattr(store, "run_op"):
        return store
    from .exceptions import FeatureNotImplemented

    raise FeatureNotImplemented(
        "Logged models (MLflow 3) need a tracking server: mlflow-client's local ./mlruns store does not keep "
        "them. Set MLFLOW_TRACKING_URI to http://<host>:<port> of an `mlflow server`.",
        error_code="FEATURE_DISABLED",
    )


class LoggedModelMethods:
    """The logged-model half of ``MlflowClient`` (a mixin over the client's tracking store)."""

    _store: RestStore | FileStore

    def _lm(self, op: Op[T]) -> T:
        result: T = _rest_only(self._store).run_op(op)
        return result

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        op = ops.create_logged_model(
            check_experiment_id(experiment_id), name, source_run_id, model_tags(tags), model_params(params), model_type
        )
        return self._lm(op)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._lm(ops.get_logged_model(check_model_id(model_id)))

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        op = ops.search_logged_models(
            check_experiment_ids(experiment_ids),
            filter_string,
            *check_search(datasets, max_results, order_by),
            page_token,
        )
        return self._lm(op)

    def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
        return self._lm(ops.finalize_logged_model(check_model_id(model_id), check_status(status)))

    def delete_logged_model(self, model_id: str) -> None:
        self._lm(ops.delete_logged_model(check_model_id(model_id)))

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        tag_list = model_tags(tags)
        self._exists(check_model_id(model_id), _TAGS_HINT)
        self._lm(ops.set_logged_model_tags(model_id, tag_list))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._lm(ops.delete_logged_model_tag(check_model_id(model_id), check_tag_key(key)))

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        param_list = model_params(params)
        self._exists(check_model_id(model_id), _PARAMS_HINT)
        self._lm(ops.log_logged_model_params(model_id, param_list))

    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        from .client import _check_run_id

        self._lm(ops.log_outputs(_check_run_id(run_id), outputs(models)))

    def _exists(self, model_id: str, hint: str) -> None:
        from .exceptions import MlflowException

        try:
            self._lm(ops.get_logged_model(model_id))
        except MlflowException as err:
            raise not_found_as_invalid(model_id, err, hint) from err


class AsyncLoggedModelMethods:
    """``LoggedModelMethods`` as coroutines, for ``AsyncMlflowClient``."""

    _store: AsyncRestStore | ThreadedStore

    async def _lm(self, op: Op[T]) -> T:
        result: T = await _rest_only(self._store).run_op(op)
        return result

    async def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        op = ops.create_logged_model(
            check_experiment_id(experiment_id), name, source_run_id, model_tags(tags), model_params(params), model_type
        )
        return await self._lm(op)

    async def get_logged_model(self, model_id: str) -> LoggedModel:
        return await self._lm(ops.get_logged_model(check_model_id(model_id)))

    async def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        op = ops.search_logged_models(
            check_experiment_ids(experiment_ids),
            filter_string,
            *check_search(datasets, max_results, order_by),
            page_token,
        )
        return await self._lm(op)

    async def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
        return await self._lm(ops.finalize_logged_model(check_model_id(model_id), check_status(status)))

    async def delete_logged_model(self, model_id: str) -> None:
        await self._lm(ops.delete_logged_model(check_model_id(model_id)))

    async def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        tag_list = model_tags(tags)
        await self._exists(check_model_id(model_id), _TAGS_HINT)
        await self._lm(ops.set_logged_model_tags(model_id, tag_list))

    async def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        await self._lm(ops.delete_logged_model_tag(check_model_id(model_id), check_tag_key(key)))

    async def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        param_list = model_params(params)
        await self._exists(check_model_id(model_id), _PARAMS_HINT)
        await self._lm(ops.log_logged_model_params(model_id, param_list))

    async def log_outputs(self, run_id: str, models: list[Any]) -> None:
        from .client import _check_run_id

        await self._lm(ops.log_outputs(_check_run_id(run_id), outputs(models)))

    async def _exists(self, model_id: str, hint: str) -> None:
        from .exceptions import MlflowException

        try:
            await self._lm(ops.get_logged_model(model_id))
        except MlflowException as err:
            raise not_found_as_invalid(model_id, err, hint) from err
