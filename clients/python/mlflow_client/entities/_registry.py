"""The Model Registry's entities: RegisteredModel, ModelVersion, their tags and aliases, statuses and stages.

Public as ``mlflow_client.entities.model_registry``, as MLflow has them in ``mlflow.entities.model_registry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mlflow_client.entities._base import _Entity, _KeyValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m
    from mlflow_client.entities._logged_model import LoggedModelParameter
    from mlflow_client.entities._run_data import Metric

#: The tag that marks a registered model as a prompt (MLflow keeps prompts in the registry too).
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
ALL_STAGES = [STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED]
DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS = [STAGE_STAGING, STAGE_PRODUCTION]
_CANONICAL = {stage.lower(): stage for stage in ALL_STAGES}


def get_canonical_stage(stage: str) -> str:
    """The stage's canonical spelling ("production" -> "Production"), or ``InvalidParameterValue``."""
    canonical = _CANONICAL.get(stage.lower()) if isinstance(stage, str) else None
    if canonical is None:
        from ..exceptions import InvalidParameterValue

        raise InvalidParameterValue(
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}."
        )
    return canonical


class ModelVersionStatus:
    """Registration state of a model version; the numbers are MLflow's proto values."""

    PENDING_REGISTRATION = 1
    FAILED_REGISTRATION = 2
    READY = 3

    _STRING_TO_STATUS: ClassVar[dict[str, int]] = {"PENDING_REGISTRATION": 1, "FAILED_REGISTRATION": 2, "READY": 3}
    _STATUS_TO_STRING: ClassVar[dict[int, str]] = {v: k for k, v in _STRING_TO_STATUS.items()}

    @staticmethod
    def from_string(status_str: str) -> int:
        try:
            return ModelVersionStatus._STRING_TO_STATUS[status_str]
        except (KeyError, TypeError):
            from ..exceptions import InvalidParameterValue

            raise InvalidParameterValue(
                f"Could not get model version status corresponding to string {status_str}. "
                f"Valid status strings: {list(ModelVersionStatus._STRING_TO_STATUS)}"
            ) from None

    @staticmethod
    def to_string(status: int) -> str:
        try:
            return ModelVersionStatus._STATUS_TO_STRING[status]
        except (KeyError, TypeError):
            from ..exceptions import InvalidParameterValue

            raise InvalidParameterValue(
                f"Could not get string corresponding to model version status {status}. "
                f"Valid statuses: {list(ModelVersionStatus._STATUS_TO_STRING)}"
            ) from None

    @staticmethod
    def all_status() -> list[int]:
        return list(ModelVersionStatus._STATUS_TO_STRING)


class RegisteredModelTag(_KeyValue):
    """A key/value tag on a registered model."""

    __slots__ = ()
    _WIRE = "RegisteredModelTag"


class ModelVersionTag(_KeyValue):
    """A key/value tag on a model version."""

    __slots__ = ()
    _WIRE = "ModelVersionTag"


class RegisteredModelAlias(_Entity):
    """An alias of a registered model ("champion") and the version it points at."""

    __slots__ = ("_alias", "_version")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("alias", "version")

    def __init__(self, alias: str, version: str) -> None:
        self._alias = alias
        self._version = version

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def version(self) -> str:
        return self._version

    @classmethod
    def _from_wire(cls, wire: m.RegisteredModelAlias) -> RegisteredModelAlias:
        return cls(wire.alias or "", wire.version or "")

    def _to_wire(self) -> m.RegisteredModelAlias:
        from mlflow_client._generated import models as m

        return m.RegisteredModelAlias(alias=self._alias, version=str(self._version))


class _RegistryEntity(_Entity):
    """MLflow compares registry entities by their properties, whatever their class."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Entity):
            return dict(self) == dict(other)
        return False

    __hash__ = None  # type: ignore[assignment]


class ModelVersion(_RegistryEntity):
    """One numbered version of a registered model."""

    __slots__ = (
        "_aliases",
        "_creation_time",
        "_current_stage",
        "_deployment_job_state",
        "_description",
        "_last_updated_timestamp",
        "_metrics",
        "_model_id",
        "_name",
        "_params",
        "_run_id",
        "_run_link",
        "_source",
        "_status",
        "_status_message",
        "_tags",
        "_user_id",
        "_version",
        "_workspace",
    )
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "aliases",
        "creation_timestamp",
        "current_stage",
        "deployment_job_state",
        "description",
        "last_updated_timestamp",
        "metrics",
        "model_id",
        "name",
        "params",
        "run_id",
        "run_link",
        "source",
        "status",
        "status_message",
        "tags",
        "user_id",
        "version",
        "workspace",
    )

    def __init__(
        self,
        name: str,
        version: str,
        creation_timestamp: int,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        user_id: str | None = None,
        current_stage: str | None = None,
        source: str | None = None,
        run_id: str | None = None,
        status: str = "READY",
        status_message: str | None = None,
        tags: list[ModelVersionTag] | None = None,
        run_link: str | None = None,
        aliases: list[str] | None = None,
        model_id: str | None = None,
        params: list[LoggedModelParameter] | None = None,
        metrics: list[Metric] | None = None,
        deployment_job_state: Any | None = None,
        workspace: str | None = None,
    ) -> None:
        self._name = name
        self._version = version
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._description = description
        self._user_id = user_id
        self._current_stage = current_stage
        self._source = source
        self._run_id = run_id
        self._run_link = run_link
        self._status = status
        self._status_message = status_message
        self._tags: dict[str, str] = {t.key: t.value for t in tags or ()}
        self._aliases: list[str] = list(aliases or [])
        self._model_id = model_id
        self._params = params
        self._metrics = metrics
        self._deployment_job_state = deployment_job_state
        self._workspace = workspace

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def version(self) -> str:
        return self._version

    @property
    def creation_timestamp(self) -> int:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int | None:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, description: str) -> None:
        self._description = description

    @property
    def user_id(self) -> str | None:
        return self._user_id

    @property
    def current_stage(self) -> str | None:
        return self._current_stage

    @current_stage.setter
    def current_stage(self, stage: str) -> None:
        self._current_stage = stage

    @property
    def source(self) -> str | None:
        """URI of the model files the version was created from."""
        return self._source

    @property
    def run_id(self) -> str | None:
        return self._run_id

    @property
    def run_link(self) -> str | None:
        return self._run_link

    @property
    def status(self) -> str:
        """``"READY"``, ``"PENDING_REGISTRATION"`` or ``"FAILED_REGISTRATION"``."""
        return self._status

    @property
    def status_message(self) -> str | None:
        return self._status_message

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def aliases(self) -> list[str]:
        return self._aliases

    @aliases.setter
    def aliases(self, aliases: list[str]) -> None:
        self._aliases = aliases

    @property
    def model_id(self) -> str | None:
        """ID of the logged model the version was created from (MLflow 3)."""
        return self._model_id

    @property
    def params(self) -> list[LoggedModelParameter] | None:
        return self._params

    @property
    def metrics(self) -> list[Metric] | None:
        return self._metrics

    @property
    def deployment_job_state(self) -> Any | None:
        return self._deployment_job_state

    @property
    def workspace(self) -> str | None:
        """The workspace the server reported, or ``None`` (MLflow would fill in its configured default)."""
        return self._workspace

    def _add_tag(self, tag: ModelVersionTag) -> None:
        self._tags[tag.key] = tag.value

    def _is_prompt(self) -> bool:
        return self._tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"

    @classmethod
    def _from_wire(cls, wire: m.ModelVersion) -> ModelVersion:
        from mlflow_client.entities._logged_model import LoggedModelParameter
        from mlflow_client.entities._run_data import Metric

        # Unset strings read as protobuf's defaults ("" ), except those MLflow reads as None when absent.
        params = [LoggedModelParameter(p.name or "", p.value or "") for p in wire.model_params]
        metrics = [
            Metric(
                x.key or "",
                0.0 if x.value is None else x.value,
                x.timestamp or 0,
                x.step or 0,
                model_id=x.model_id or None,
                run_id=x.run_id or None,
                dataset_name=x.dataset_name if x.dataset_name and x.dataset_digest else None,
                dataset_digest=x.dataset_digest if x.dataset_name and x.dataset_digest else None,
            )
            for x in wire.model_metrics
        ]
        return cls(
            wire.name or "",
            wire.version or "",
            wire.creation_timestamp or 0,
            wire.last_updated_timestamp or 0,
            wire.description,
            wire.user_id or "",
            wire.current_stage or "",
            wire.source or "",
            wire.run_id,
            wire.status or "PENDING_REGISTRATION",
            wire.status_message,
            [ModelVersionTag(t.key or "", t.value or "") for t in wire.tags],
            run_link=wire.run_link or "",
            aliases=list(wire.aliases),
            model_id=wire.model_id or None,
            params=params or None,
            metrics=metrics or None,
            deployment_job_state=wire.deployment_job_state,
        )

    def _to_wire(self) -> m.ModelVersion:
        from mlflow_client._generated import models as m

        return m.ModelVersion(
            name=self._name,
            version=str(self._version),
            creation_timestamp=self._creation_time,
            last_updated_timestamp=self._last_updated_timestamp,
            user_id=self._user_id,
            current_stage=self._current_stage,
            description=self._description,
            source=self._source,
            run_id=self._run_id,
            status=self._status,
            status_message=self._status_message,
            tags=[m.ModelVersionTag(key=k, value=v) for k, v in self._tags.items()],
            run_link=self._run_link,
            aliases=list(self._aliases),
            model_id=self._model_id,
        )


class RegisteredModel(_RegistryEntity):
    """A named model in the registry: its latest versions per stage, tags and aliases."""

    __slots__ = (
        "_aliases",
        "_creation_time",
        "_deployment_job_id",
        "_deployment_job_state",
        "_description",
        "_last_updated_timestamp",
        "_latest_version",
        "_name",
        "_tags",
        "_workspace",
    )
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "aliases",
        "creation_timestamp",
        "deployment_job_id",
        "deployment_job_state",
        "description",
        "last_updated_timestamp",
        "latest_versions",
        "name",
        "tags",
        "workspace",
    )

    def __init__(
        self,
        name: str,
        creation_timestamp: int | None = None,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        latest_versions: list[ModelVersion] | None = None,
        tags: list[RegisteredModelTag] | None = None,
        aliases: list[RegisteredModelAlias] | None = None,
        deployment_job_id: str | None = None,
        deployment_job_state: str | None = None,
        workspace: str | None = None,
    ) -> None:
        self._name = name
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._description = description
        self._latest_version = latest_versions
        self._tags: dict[str, str] = {t.key: t.value for t in tags or ()}
        self._aliases: dict[str, str] = {a.alias: a.version for a in aliases or ()}
        self._deployment_job_id = deployment_job_id
        self._deployment_job_state = deployment_job_state
        self._workspace = workspace

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def creation_timestamp(self) -> int | None:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int | None:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, description: str) -> None:
        self._description = description

    @property
    def latest_versions(self) -> list[ModelVersion] | None:
        """The newest version in each stage."""
        return self._latest_version

    @latest_versions.setter
    def latest_versions(self, latest_versions: list[ModelVersion]) -> None:
        self._latest_version = latest_versions

    @property
    def tags(self) -> dict[str, str]:
        # As in MLflow, the prompt marker is not a user-facing tag.
        return {k: v for k, v in self._tags.items() if k != IS_PROMPT_TAG_KEY}

    @property
    def aliases(self) -> dict[str, str]:
        """Alias name -> version."""
        return self._aliases

    @property
    def deployment_job_id(self) -> str | None:
        return self._deployment_job_id

    @deployment_job_id.setter
    def deployment_job_id(self, deployment_job_id: str) -> None:
        self._deployment_job_id = deployment_job_id

    @property
    def deployment_job_state(self) -> str | None:
        return self._deployment_job_state

    @property
    def workspace(self) -> str | None:
        """The workspace the server reported, or ``None`` (MLflow would fill in its configured default)."""
        return self._workspace

    def _add_tag(self, tag: RegisteredModelTag) -> None:
        self._tags[tag.key] = tag.value

    def _add_alias(self, alias: RegisteredModelAlias) -> None:
        self._aliases[alias.alias] = alias.version

    def _is_prompt(self) -> bool:
        return self._tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"

    @classmethod
    def _from_wire(cls, wire: m.RegisteredModel) -> RegisteredModel:
        model = cls(
            wire.name or "",
            wire.creation_timestamp or 0,
            wire.last_updated_timestamp or 0,
            wire.description or "",
            [ModelVersion._from_wire(v) for v in wire.latest_versions],
            [RegisteredModelTag(t.key or "", t.value or "") for t in wire.tags],
            [RegisteredModelAlias._from_wire(a) for a in wire.aliases],
            deployment_job_id=wire.deployment_job_id or "",
            deployment_job_state=wire.deployment_job_state or "DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED",
        )
        return model

    def _to_wire(self) -> m.RegisteredModel:
        from mlflow_client._generated import models as m

        return m.RegisteredModel(
            name=self._name,
            creation_timestamp=self._creation_time,
            last_updated_timestamp=self._last_updated_timestamp,
            description=self._description,
            latest_versions=[v._to_wire() for v in self._latest_version or []],
            tags=[m.RegisteredModelTag(key=k, value=v) for k, v in self._tags.items()],
            aliases=[m.RegisteredModelAlias(alias=a, version=str(v)) for a, v in self._aliases.items()],
            deployment_job_id=self._deployment_job_id or None,
        )
