"""``AsyncMlflowClient``'s Model Registry methods: ``RegistryMethods``' as coroutines, with the same checks.

The operations are ``_registry_ops``', awaited on the registry's ``AsyncRestStore``.
"""

from __future__ import annotations

from ._registry_methods import (
    DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    _invalid,
    check_alias,
    check_max_results,
    check_model_name,
    check_name,
    check_order_by,
    check_stage,
    check_stages,
    check_tag,
    check_version,
    check_version_or_stage,
    create_version_op,
    model_tags,
    not_a_prompt,
    prompt_filter,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from typing import Any, TypeVar

    from ._async_rest_store import AsyncRestStore, ThreadedStore
    from ._settings import Settings
    from ._store_ops import Op
    from .entities import PagedList
    from .entities._registry import ModelVersion, RegisteredModel

    T = TypeVar("T")

# The operations (and the generated layer under them) load on the first call: importing the client stays light.
if TYPE_CHECKING:
    from . import _registry_ops as ops
else:
    from ._lazy import LazyModule

    ops = LazyModule("mlflow_client._registry_ops")


class AsyncRegistryMethods:
    """The registry half of ``AsyncMlflowClient`` (a mixin: the client provides the store and settings)."""

    _registry_uri: str
    _tracking_uri: str
    _server_url: str
    _settings: Settings
    _store: AsyncRestStore | ThreadedStore
    _registry_store_cached: AsyncRestStore | None = None

    @property
    def registry_uri(self) -> str:
        return self._registry_uri

    def _registry(self) -> AsyncRestStore:
        store = self._registry_store_cached
        if store is None:
            store = self._make_registry_store()
            self._registry_store_cached = store
        return store

    def _make_registry_store(self) -> AsyncRestStore:
        from ._async_rest_store import AsyncRestStore
        from ._async_transport import AsyncHttpTransport
        from ._registry_methods import registry_server

        server = registry_server(self._registry_uri, self._tracking_uri, self._server_url, self._settings)
        if server is None:
            assert isinstance(self._store, AsyncRestStore)
            return self._store
        return AsyncRestStore(AsyncHttpTransport(*server))

    async def _reg(self, op: Op[T]) -> T:
        # Every registry call runs to its end once started, even if its caller is cancelled (as writes do).
        result: T = await self._to_the_end(self._registry().run_op(op))
        return result

    async def _to_the_end(self, work: Awaitable[T]) -> T:
        raise NotImplementedError  # AsyncMlflowClient's

    async def _close_registry(self) -> None:
        store, self._registry_store_cached = self._registry_store_cached, None
        if store is not None and store is not self._store:
            await store.aclose()

    # -- registered models ----------------------------------------------------------------------

    async def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        tag_list = model_tags(tags)
        return await self._reg(ops.create_registered_model(check_name(name), tag_list, description, deployment_job_id))

    async def get_registered_model(self, name: str) -> RegisteredModel:
        model = await self._reg(ops.get_registered_model(check_name(name)))
        not_a_prompt(model, name)
        return model

    async def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        op = ops.search_registered_models(
            prompt_filter(filter_string), check_max_results(max_results), check_order_by(order_by), page_token
        )
        return await self._reg(op)

    async def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename the model; returns it under its new name (MLflow 3.17's client returns ``None``)."""
        check_name(name)
        if not isinstance(new_name, str) or not new_name.strip():
            raise _invalid("The name must not be an empty string.")
        return await self._reg(ops.rename_registered_model(name, new_name))

    async def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return await self._reg(ops.update_registered_model(check_name(name), description, deployment_job_id))

    async def delete_registered_model(self, name: str) -> None:
        await self._reg(ops.delete_registered_model(check_name(name)))

    async def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        return await self._reg(ops.get_latest_versions(check_name(name), check_stages(stages)))

    async def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        await self._reg(ops.set_registered_model_tag(check_name(name), *check_tag(key, value)))

    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        await self._reg(ops.delete_registered_model_tag(check_name(name), check_tag(key)[0]))

    # -- model versions -------------------------------------------------------------------------

    async def create_model_version(
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
        return await self._reg(op)

    async def get_model_version(self, name: str, version: str) -> ModelVersion:
        mv = await self._reg(ops.get_model_version(check_name(name), check_version(version)))
        not_a_prompt(mv, name)
        return mv

    async def update_model_version(self, name: str, version: str, description: str | None = None) -> ModelVersion:
        if description is None:
            raise _invalid("Attempting to update model version with no new field values.")
        return await self._reg(ops.update_model_version(check_name(name), check_version(version), description))

    async def delete_model_version(self, name: str, version: str) -> None:
        await self._reg(ops.delete_model_version(check_name(name), check_version(version)))

    async def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        op = ops.search_model_versions(
            filter_string, check_max_results(max_results), check_order_by(order_by), page_token
        )
        return await self._reg(op)

    async def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        if not isinstance(archive_existing_versions, bool):
            raise _invalid(f"archive_existing_versions must be a bool, got {archive_existing_versions!r}")
        op = ops.transition_model_version_stage(
            check_name(name), check_version(version), check_stage(stage), archive_existing_versions
        )
        return await self._reg(op)

    async def get_model_version_download_uri(self, name: str, version: str) -> str:
        return await self._reg(ops.get_model_version_download_uri(check_name(name), check_version(version)))

    async def set_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        check_version_or_stage(version, stage)
        key, text = check_tag(key, value)
        number = await self._version_in_stage(check_name(name), stage) if stage else check_version(version)
        await self._reg(ops.set_model_version_tag(name, number, key, text))

    async def delete_model_version_tag(
        self, name: str, version: str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        check_version_or_stage(version, stage)
        key = check_tag(key)[0]
        number = await self._version_in_stage(check_name(name), stage) if stage else check_version(version)
        await self._reg(ops.delete_model_version_tag(name, number, key))

    async def _version_in_stage(self, name: str, stage: str | None) -> str:
        latest = await self._reg(ops.get_latest_versions(name, check_stages([stage])))
        if not latest:
            raise _invalid(f"Could not find any model version for {stage} stage")
        return latest[0].version

    # -- aliases --------------------------------------------------------------------------------

    async def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        op = ops.set_registered_model_alias(check_model_name(name), check_alias(alias), check_version(version))
        await self._reg(op)

    async def delete_registered_model_alias(self, name: str, alias: str) -> None:
        await self._reg(ops.delete_registered_model_alias(check_model_name(name), check_alias(alias)))

    async def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        mv = await self._reg(ops.get_model_version_by_alias(check_model_name(name), check_name(alias, "alias")))
        not_a_prompt(mv, name)
        return mv
