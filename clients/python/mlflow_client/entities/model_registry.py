"""The Model Registry's entities, as ``mlflow.entities.model_registry`` has them."""

from __future__ import annotations

from mlflow_client.entities._registry import (
    ALL_STAGES,
    DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS,
    STAGE_ARCHIVED,
    STAGE_NONE,
    STAGE_PRODUCTION,
    STAGE_STAGING,
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    get_canonical_stage,
)

__all__ = [
    "ALL_STAGES",
    "DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS",
    "STAGE_ARCHIVED",
    "STAGE_NONE",
    "STAGE_PRODUCTION",
    "STAGE_STAGING",
    "ModelVersion",
    "ModelVersionStatus",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "get_canonical_stage",
]
