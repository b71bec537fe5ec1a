"""``mlflow_client.entities.model_registry`` against ``mlflow.entities.model_registry``: the same names,
constructors, properties (and which have setters), iteration order, hashability, reprs, and the same
entities from the same wire documents."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import mlflow.entities.model_registry as theirs_ns
import msgspec
import pytest
from mlflow.entities.model_registry import model_version_stages, model_version_status
from mlflow_client._generated import models as m
from mlflow_client.entities import model_registry as ours_ns
from mlflow_client.exceptions import InvalidParameterValue

NAMES = ["RegisteredModel", "ModelVersion", "RegisteredModelAlias", "RegisteredModelTag", "ModelVersionTag"]
# MLflow fills in a configured default workspace; we keep what the server said (nothing, today).
NOT_COMPARED = {"workspace"}


def _theirs(name: str) -> Any:
    if name == "ModelVersionStatus":
        return model_version_status.ModelVersionStatus
    return getattr(theirs_ns, name)


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")} - {"from_proto", "to_proto"}


def _signature(function: Any) -> list[tuple[str, Any, bool, Any]]:
    return [
        (
            p.name,
            p.kind,
            p.default is inspect.Parameter.empty,
            None if p.default is inspect.Parameter.empty else p.default,
        )
        for p in inspect.signature(function).parameters.values()
    ]


def test_the_module_exports_what_mlflow_has() -> None:
    assert set(ours_ns.__all__) >= set(NAMES) | {"ModelVersionStatus"}
    for name in ("STAGE_NONE", "STAGE_STAGING", "STAGE_PRODUCTION", "STAGE_ARCHIVED", "ALL_STAGES"):
        assert getattr(ours_ns, name) == getattr(model_version_stages, name)
    assert ours_ns.DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS == model_version_stages.DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS
    their_canonical: Any = model_version_stages.get_canonical_stage
    for stage in ("production", "STAGING", "none", "Archived"):
        assert ours_ns.get_canonical_stage(stage) == their_canonical(stage)
    with pytest.raises(InvalidParameterValue, match="Invalid Model Version stage: Canary"):
        ours_ns.get_canonical_stage("Canary")


@pytest.mark.parametrize("name", [*NAMES, "ModelVersionStatus"])
def test_public_names_and_member_kinds_match_mlflow(name: str) -> None:
    ours, theirs = getattr(ours_ns, name), _theirs(name)
    assert _public(ours) == _public(theirs)
    for member in _public(ours):
        their_raw, our_raw = inspect.getattr_static(theirs, member), inspect.getattr_static(ours, member)
        if isinstance(their_raw, property):
            assert isinstance(our_raw, property), member
            assert (our_raw.fset is None) == (their_raw.fset is None), member
        elif isinstance(their_raw, (classmethod, staticmethod)) or callable(their_raw):
            assert type(our_raw) is type(their_raw), member
            ours_params = [p[:3] for p in _signature(getattr(ours, member))]
            assert ours_params == [p[:3] for p in _signature(getattr(theirs, member))], member
        else:
            assert our_raw == their_raw, member


@pytest.mark.parametrize("name", NAMES)
def test_constructors_order_and_hashability_match_mlflow(name: str) -> None:
    ours, theirs = getattr(ours_ns, name), _theirs(name)
    assert _signature(ours) == _signature(theirs)
    assert ours._properties() == theirs._properties()
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)


def test_model_version_status_values_match_mlflow() -> None:
    ours, theirs = ours_ns.ModelVersionStatus, _theirs("ModelVersionStatus")
    assert (ours.PENDING_REGISTRATION, ours.FAILED_REGISTRATION, ours.READY) == (
        theirs.PENDING_REGISTRATION,
        theirs.FAILED_REGISTRATION,
        theirs.READY,
    )
    assert ours.all_status() == theirs.all_status()
    for text in ("READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"):
        assert ours.from_string(text) == theirs.from_string(text)
        assert ours.to_string(ours.from_string(text)) == text
    with pytest.raises(InvalidParameterValue):
        ours.from_string("DONE")
    with pytest.raises(InvalidParameterValue):
        ours.to_string(42)


def _build(ns: Any) -> dict[str, Any]:
    version = ns.ModelVersion(
        "fraud",
        "3",
        100,
        200,
        "desc",
        "ann",
        "Production",
        "runs:/r/model",
        "r",
        "READY",
        None,
        [ns.ModelVersionTag("k", "v")],
        run_link="",
        aliases=["champion"],
    )
    return {
        "ModelVersion": version,
        "RegisteredModel": ns.RegisteredModel(
            "fraud",
            100,
            200,
            "the model",
            [version],
            [ns.RegisteredModelTag("team", "risk")],
            [ns.RegisteredModelAlias("champion", "3")],
        ),
        "RegisteredModelAlias": ns.RegisteredModelAlias("champion", "3"),
        "RegisteredModelTag": ns.RegisteredModelTag("team", "risk"),
        "ModelVersionTag": ns.ModelVersionTag("k", "v"),
    }


def _normalised(text: str) -> str:
    return text.replace("workspace='default'", "workspace=None")


@pytest.mark.parametrize("name", NAMES)
def test_reprs_iteration_and_equality_match_mlflow(name: str) -> None:
    mine, theirs = _build(ours_ns)[name], _build(theirs_ns)[name]
    assert _normalised(repr(mine)) == _normalised(repr(theirs))
    assert [k for k, _ in mine] == [k for k, _ in theirs]
    assert mine == _build(ours_ns)[name]
    if hasattr(mine, "tags"):
        assert mine.tags == theirs.tags


def test_setters_and_adders_behave_as_mlflows() -> None:
    for ns in (ours_ns, theirs_ns):
        rm = ns.RegisteredModel("a")
        rm.description = "d"
        rm._add_tag(ns.RegisteredModelTag("k", "v"))
        rm._add_alias(ns.RegisteredModelAlias("x", "1"))
        assert (rm.description, rm.tags, rm.aliases, rm.latest_versions) == ("d", {"k": "v"}, {"x": "1"}, None)
        mv = ns.ModelVersion("a", "1", 5)
        mv.current_stage = "Staging"
        mv.aliases = ["x"]
        assert (mv.current_stage, mv.aliases, mv.status, mv.tags) == ("Staging", ["x"], "READY", {})


# Wire documents as a server sends them: our decoding must give what MLflow's protobuf parsing gives.
_MODEL_VERSION = (
    '{"name": "fraud", "version": "2", "creation_timestamp": 5, "last_updated_timestamp": 6, "user_id": "ann",'
    ' "current_stage": "Staging", "description": "d", "source": "models:/m-1", "run_id": "r", "status": "READY",'
    ' "status_message": "ok", "tags": [{"key": "k", "value": "v"}], "run_link": "http://x", "aliases": ["a"]}'
)
_WIRE = [
    ("ModelVersion", m.ModelVersion, "{}"),
    ("ModelVersion", m.ModelVersion, _MODEL_VERSION),
    ("ModelVersion", m.ModelVersion, '{"name": "fraud", "version": "1", "status": "PENDING_REGISTRATION"}'),
    ("RegisteredModel", m.RegisteredModel, '{"name": "fraud"}'),
    (
        "RegisteredModel",
        m.RegisteredModel,
        '{"name": "fraud", "creation_timestamp": 5, "last_updated_timestamp": 6, "description": "d",'
        f' "latest_versions": [{_MODEL_VERSION}], "tags": [{{"key": "k", "value": "v"}}],'
        ' "aliases": [{"alias": "a", "version": "2"}], "deployment_job_id": "j"}',
    ),
]


@pytest.mark.parametrize(("name", "struct", "document"), _WIRE)
def test_from_wire_matches_mlflows_from_proto(name: str, struct: type, document: str) -> None:
    json_format = importlib.import_module("google.protobuf.json_format")
    registry_pb2 = importlib.import_module("mlflow.protos.model_registry_pb2")
    theirs = _theirs(name).from_proto(json_format.Parse(document, getattr(registry_pb2, name)()))
    mine = getattr(ours_ns, name)._from_wire(msgspec.json.decode(document, type=struct))
    assert _normalised(repr(mine)) == _normalised(repr(theirs))


@pytest.mark.parametrize(("name", "struct", "document"), _WIRE)
def test_to_wire_and_back_is_identity(name: str, struct: type, document: str) -> None:
    entity = getattr(ours_ns, name)._from_wire(msgspec.json.decode(document, type=struct))
    again = type(entity)._from_wire(msgspec.json.decode(msgspec.json.encode(entity._to_wire()), type=struct))
    assert repr(again) == repr(entity) and again == entity
