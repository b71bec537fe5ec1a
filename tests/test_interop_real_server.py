"""Every covered RPC through the generated layer against a real `mlflow server`; every JSON answer
must validate against its response schema in spec/openapi.yaml (closed: no field the spec lacks)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import pytest
from mlflow_client._generated import endpoints as ep
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import Body, Endpoint, QueryParams, decode
from mlflow_client._transport import HttpTransport, RestError

from conformance_tests._schema import errors, response_schema_name

pytestmark = pytest.mark.mlflow_server


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes


@dataclass
class RecordingTransport:
    """Passes requests to a real transport and keeps every 2xx answer for schema checks."""

    inner: HttpTransport
    seen: list[Recorded] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        content: Body | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> bytes:
        body = self.inner.request(method, path, params=params, content=content, headers=headers)
        self.seen.append(Recorded(method, path, body))
        return body


@pytest.fixture
def transport(mlflow_server_url: str) -> Iterator[RecordingTransport]:
    with HttpTransport(mlflow_server_url) as inner:
        yield RecordingTransport(inner)


def _now() -> int:
    return int(time.time() * 1000)


def _template(method: str, path: str) -> str:
    """The path template of the endpoint that ``method path`` was sent to: a literal path first (so that
    ``logged-models/search`` is not read as ``logged-models/{model_id}``), else the one template whose
    parameters fill the path exactly (one segment each; a multi-segment parameter spans several)."""
    literal = [e.path for e in ep.ENDPOINTS if e.method == method and e.path == path]
    if literal:
        return literal[0]
    matches = {e.path for e in ep.ENDPOINTS if e.method == method and e.path_params and _fills(e, path)}
    assert len(matches) == 1, f"{method} {path} matches templates {sorted(matches)}"
    return matches.pop()


def _fills(endpoint: Endpoint, path: str) -> bool:
    pattern = re.escape(endpoint.path)
    for name in endpoint.path_params:
        piece = "[^?#]+" if name in endpoint.multi_segment else "[^/?#]+"
        pattern = pattern.replace(re.escape("{" + name + "}"), piece)
    return re.fullmatch(pattern, path) is not None


def _check_schemas(seen: list[Recorded], release: tuple[int, ...]) -> set[tuple[str, str]]:
    covered = set()
    for rec in seen:
        template = _template(rec.method, rec.path)
        covered.add((rec.method, template))
        e = next(x for x in ep.ENDPOINTS if x.path == template and x.method == rec.method)
        if e.response_body != "json":
            # MLflow 2.22 and 3.11 answer an artifact upload with `{}`, 3.17 and later with nothing.
            empty = not rec.body or (release < (3, 17) and rec.body.strip() == b"{}")
            assert e.response_body == "binary" or empty, f"{rec.path}: expected an empty body"
            continue
        body = json.loads(rec.body) if rec.body.strip() else {}
        schema = response_schema_name(rec.method, template)
        assert schema is not None, f"{rec.method} {template} has no JSON answer in the spec"
        problems = errors(schema, body, closed=True)
        assert not problems, f"{rec.method} {rec.path}: real server violates our spec: {problems}"
    return covered


def _check_history_without_max_results(t: RecordingTransport, run_id: str, release: tuple[int, ...]) -> None:
    """Why the spec gives get-history's max_results a client default: sent without one (bypassing the generated
    layer, which fills it), most releases return the whole history, but MLflow 3.11 reads it as 0."""
    endpoint = next(e for e in ep.ENDPOINTS if e.rpc == "getMetricHistory")
    params = [("run_id", run_id), ("metric_key", "loss")]
    answer = decode(t.request("GET", endpoint.path, params=params), m.GetMetricHistoryResponse)
    if release[:2] == (3, 11):
        # 3.11's handler tests `max_results is not None` on a proto2 field (never None): no points and a token
        # for offset 0, which it then refuses.
        assert answer.metrics == [] and answer.next_page_token
        with pytest.raises(RestError) as info:
            t.request("GET", endpoint.path, params=[*params, ("page_token", answer.next_page_token)])
        assert (info.value.http_status, info.value.error_code) == (400, m.ErrorCode.INVALID_PARAMETER_VALUE)
        assert "Invalid page token" in str(info.value)
    else:
        assert sorted(x.step or 0 for x in answer.metrics) == [-3, 1, 2] and not answer.next_page_token
    # Through the generated layer (the spec's default page size) every release returns the whole history.
    filled = ep.get_metric_history(t, m.GetMetricHistory(run_id=run_id, metric_key="loss"))
    assert sorted(x.step or 0 for x in filled.metrics) == [-3, 1, 2] and not filled.next_page_token


def _release_of(since: str) -> tuple[int, ...]:
    return tuple(int(x) for x in since.split("."))


def _check_newer_endpoints_are_absent(t: RecordingTransport, release: tuple[int, ...]) -> set[tuple[str, str]]:
    """Every endpoint the spec dates after ``release`` (its ``since``) is a 404 there; returns them."""
    newer = {e for e in ep.ENDPOINTS if _release_of(e.since) > release}
    for e in newer:
        path = e.path
        for name in e.path_params:
            path = path.replace("{" + name + "}", "m-0")
        with pytest.raises(RestError) as absent:
            t.request(e.method, path, content=b"{}", headers={"Content-Type": "application/json"})
        assert absent.value.http_status == 404, f"{e.method} {e.path} (since {e.since}) is served by {release}"
    return {(e.method, e.path) for e in newer}


def test_every_rpc_against_real_server(transport: RecordingTransport, mlflow_server_version: tuple[int, ...]) -> None:
    t, release = transport, mlflow_server_version
    name = f"interop-{uuid.uuid4().hex[:8]}"
    exp_id = ep.create_experiment(
        t, m.CreateExperiment(name=name, tags=[m.ExperimentTag(key="team", value="a")])
    ).experiment_id
    assert exp_id
    exp = ep.get_experiment(t, m.GetExperiment(experiment_id=exp_id)).experiment
    assert exp is not None and exp.name == name and exp.lifecycle_stage == "active"
    assert {(tag.key, tag.value) for tag in exp.tags} >= {("team", "a")}
    by_name = ep.get_experiment_by_name(t, m.GetExperimentByName(experiment_name=name)).experiment
    assert by_name is not None and by_name.experiment_id == exp_id
    found = ep.search_experiments(t, m.SearchExperiments(max_results=10, filter=f"name = '{name}'"))
    assert [e.experiment_id for e in found.experiments] == [exp_id]
    get_binding = next(e for e in ep.ENDPOINTS if e.rpc == "searchExperiments" and e.method == "GET")
    from mlflow_client._generated._runtime import call

    via_get = call(
        t,
        get_binding,
        m.SearchExperiments(max_results=5, view_type=m.ViewType.ALL),
        m.SearchExperimentsResponse,
    )
    assert len(via_get.experiments) >= 1
    ep.set_experiment_tag(t, m.SetExperimentTag(experiment_id=exp_id, key="k", value="v"))
    # RPCs of the spec this release does not serve: exactly those its `since` dates later (each a 404 here).
    missing = _check_newer_endpoints_are_absent(t, release)
    if release >= (3, 0):
        ep.delete_experiment_tag(t, m.DeleteExperimentTag(experiment_id=exp_id, key="k"))
    ep.update_experiment(t, m.UpdateExperiment(experiment_id=exp_id, new_name=name + "-renamed"))

    run = ep.create_run(
        t,
        m.CreateRun(experiment_id=exp_id, run_name="first", start_time=_now(), tags=[m.RunTag(key="t", value="1")]),
    ).run
    assert run is not None and run.info is not None and run.info.run_id
    run_id = run.info.run_id
    assert run.info.status == m.RunStatus.RUNNING and run.info.run_name == "first"

    ep.log_metric(t, m.LogMetric(run_id=run_id, key="loss", value=0.5, timestamp=_now(), step=1))
    ep.log_metric(t, m.LogMetric(run_id=run_id, key="loss", value=float("nan"), timestamp=_now(), step=2))
    ep.log_metric(t, m.LogMetric(run_id=run_id, key="loss", value=0.25, timestamp=_now(), step=-3))
    ep.log_param(t, m.LogParam(run_id=run_id, key="lr", value="0.1"))
    ep.set_tag(t, m.SetTag(run_id=run_id, key="stage", value="dev"))
    ep.delete_tag(t, m.DeleteTag(run_id=run_id, key="stage"))
    ep.log_batch(
        t,
        m.LogBatch(
            run_id=run_id,
            metrics=[m.Metric(key="acc", value=i / 10, timestamp=_now(), step=i) for i in range(5)],
            params=[m.Param(key="batch", value="32")],
            tags=[m.RunTag(key="note", value="batch")],
        ),
    )
    dataset = m.Dataset(name="train", digest="abc123", source_type="local", source='{"uri": "/tmp/train.csv"}')
    ep.log_inputs(
        t,
        m.LogInputs(
            run_id=run_id,
            datasets=[m.DatasetInput(dataset=dataset, tags=[m.InputTag(key="mlflow.data.context", value="training")])],
        ),
    )
    model_json = json.dumps(
        {
            "artifact_path": "model",
            "run_id": run_id,
            "flavors": {},
            "utc_time_created": "2026-01-01 00:00:00.000000",
        }
    )
    ep.log_model(t, m.LogModel(run_id=run_id, model_json=model_json))
    ep.update_run(t, m.UpdateRun(run_id=run_id, status=m.RunStatus.FINISHED, end_time=_now()))

    got = ep.get_run(t, m.GetRun(run_id=run_id)).run
    assert got is not None and got.info is not None and got.data is not None
    assert got.info.status == m.RunStatus.FINISHED
    assert {p.key: p.value for p in got.data.params} == {"lr": "0.1", "batch": "32"}
    latest = {x.key: x for x in got.data.metrics}
    assert latest["loss"].step == 2 and latest["loss"].value != latest["loss"].value  # NaN survives
    assert {tg.key for tg in got.data.tags} >= {"t", "note", "mlflow.runName"}
    assert "stage" not in {tg.key for tg in got.data.tags}
    assert got.inputs is not None and got.inputs.dataset_inputs[0].dataset is not None
    assert got.inputs.dataset_inputs[0].dataset.digest == "abc123"

    history = ep.get_metric_history(t, m.GetMetricHistory(run_id=run_id, metric_key="loss", max_results=100)).metrics
    assert sorted(x.step or 0 for x in history) == [-3, 1, 2]
    _check_history_without_max_results(t, run_id, release)
    bulk = ep.get_metric_history_bulk_interval(
        t, m.GetMetricHistoryBulkInterval(run_ids=[run_id], metric_key="acc", max_results=10)
    ).metrics
    assert sorted(x.step or 0 for x in bulk) == [0, 1, 2, 3, 4] and all(x.run_id == run_id for x in bulk)

    runs = ep.search_runs(
        t,
        m.SearchRuns(experiment_ids=[exp_id], filter="metrics.acc > 0.1", order_by=["start_time DESC"], max_results=10),
    )
    assert [r.info.run_id for r in runs.runs if r.info] == [run_id]

    # Artifacts, through the tracking API and the mlflow-artifacts proxy.
    artifact_root = got.info.artifact_uri
    assert artifact_root and artifact_root.startswith("mlflow-artifacts:/")
    rel = artifact_root.split("mlflow-artifacts:/", 1)[1].lstrip("/")
    ep.artifacts_upload_artifact(t, f"{rel}/dir/hello.txt", b"hello world")
    assert ep.artifacts_download_artifact(t, f"{rel}/dir/hello.txt") == b"hello world"
    listed = ep.artifacts_list_artifacts(t, m.ArtifactsListArtifacts(path=f"{rel}/dir")).files
    assert [(f.path, f.is_dir, f.file_size) for f in listed] == [("hello.txt", False, 11)]
    run_listing = ep.list_artifacts(t, m.ListArtifacts(run_id=run_id, path="dir"))
    assert [f.path for f in run_listing.files] == ["dir/hello.txt"]
    ep.artifacts_delete_artifact(t, m.ArtifactsDeleteArtifact(), f"{rel}/dir/hello.txt")
    assert ep.artifacts_list_artifacts(t, m.ArtifactsListArtifacts(path=f"{rel}/dir")).files == []

    if release >= (3, 0):
        _logged_models_and_registry(t, exp_id, run_id)
    else:
        # MLflow 2.x has no logged models (they are MLflow 3's); the walk through the registry here starts from
        # one, so on 2.x the registry's wire shapes are left to the conformance matrix's registry group.
        missing |= {(e.method, e.path) for e in ep.ENDPOINTS if e.service == "ModelRegistryService"}

    ep.delete_run(t, m.DeleteRun(run_id=run_id))
    ep.restore_run(t, m.RestoreRun(run_id=run_id))
    ep.delete_experiment(t, m.DeleteExperiment(experiment_id=exp_id))
    ep.restore_experiment(t, m.RestoreExperiment(experiment_id=exp_id))

    covered = _check_schemas(t.seen, release)
    json_rpcs = {(e.method, e.path) for e in ep.ENDPOINTS if not e.rpc.endswith("MultipartUpload")}
    assert json_rpcs - covered == missing


def _as_body(t: RecordingTransport, rpc: str, request: msgspec.Struct, response: type[msgspec.Struct]) -> None:
    """A DELETE RPC through its generated function, which sends the fields in a JSON body as MLflow's client
    does (MLflow's server reads the body of every method but GET; a query string on DELETE goes unread)."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", rpc).lower()
    answer = getattr(ep, name)(t, request)
    assert isinstance(answer, response)


def _logged_models_and_registry(t: RecordingTransport, exp_id: str, run_id: str) -> None:
    """MLflow 3's logged models, runs/outputs and the Model Registry, through the generated layer."""
    from mlflow_client._generated._runtime import call

    created = ep.create_logged_model(
        t,
        m.CreateLoggedModel(
            experiment_id=exp_id,
            name="clf",
            source_run_id=run_id,
            model_type="sklearn",
            params=[m.LoggedModelParameter(key="depth", value="3")],
            tags=[m.LoggedModelTag(key="team", value="a")],
        ),
    ).model
    assert created is not None and created.info is not None and created.info.model_id
    model_id = created.info.model_id
    assert created.info.status == m.LoggedModelStatus.LOGGED_MODEL_PENDING
    ep.log_logged_model_params(
        t, m.LogLoggedModelParamsRequest(model_id=model_id, params=[m.LoggedModelParameter(key="lr", value="0.1")])
    )
    ep.set_logged_model_tags(t, m.SetLoggedModelTags(model_id=model_id, tags=[m.LoggedModelTag(key="k", value="v")]))
    ep.delete_logged_model_tag(t, m.DeleteLoggedModelTag(model_id=model_id, tag_key="team"))
    done = ep.finalize_logged_model(
        t, m.FinalizeLoggedModel(model_id=model_id, status=m.LoggedModelStatus.LOGGED_MODEL_READY)
    ).model
    assert done is not None and done.info is not None and done.info.status == m.LoggedModelStatus.LOGGED_MODEL_READY
    got = ep.get_logged_model(t, m.GetLoggedModel(model_id=model_id)).model
    assert got is not None and got.info is not None and got.data is not None
    assert {(x.key, x.value) for x in got.info.tags} == {("k", "v")}
    assert {(p.key, p.value) for p in got.data.params} == {("depth", "3"), ("lr", "0.1")}
    found = ep.search_logged_models(
        t,
        m.SearchLoggedModels(
            experiment_ids=[exp_id],
            filter="name = 'clf'",
            order_by=[m.SearchLoggedModelsOrderBy(field_name="creation_timestamp", ascending=False)],
            max_results=5,
        ),
    )
    assert [x.info.model_id for x in found.models if x.info] == [model_id]
    ep.log_outputs(t, m.LogOutputs(run_id=run_id, models=[m.ModelOutput(model_id=model_id, step=2)]))
    outputs = ep.get_run(t, m.GetRun(run_id=run_id)).run
    assert outputs is not None and outputs.outputs is not None
    assert [(o.model_id, o.step) for o in outputs.outputs.model_outputs] == [(model_id, 2)]
    # The model's files, through the proxy, then listed by the logged-model RPC.
    location = got.info.artifact_uri or ""
    assert location.startswith("mlflow-artifacts:/")
    ep.artifacts_upload_artifact(t, location.split(":/", 1)[1].lstrip("/") + "/MLmodel", b"flavors: {}\n")
    listed = ep.list_logged_model_artifacts(t, m.ListLoggedModelArtifacts(model_id=model_id))
    assert [(f.path, f.is_dir) for f in listed.files] == [("MLmodel", False)]
    downloaded = ep.artifacts_get_logged_model_artifact(
        t, m.ArtifactsGetLoggedModelArtifact(model_id=model_id, artifact_file_path="MLmodel")
    )
    assert downloaded == b"flavors: {}\n"

    name = f"interop-model-{uuid.uuid4().hex[:8]}"
    rm = ep.create_registered_model(
        t, m.CreateRegisteredModel(name=name, description="d", tags=[m.RegisteredModelTag(key="t", value="1")])
    ).registered_model
    assert rm is not None and rm.name == name
    versions = [
        ep.create_model_version(
            t, m.CreateModelVersion(name=name, source=f"models:/{model_id}", run_id=run_id, model_id=model_id)
        ).model_version
        for _ in range(2)
    ]
    assert [v.version for v in versions if v] == ["1", "2"]
    ep.update_model_version(t, m.UpdateModelVersion(name=name, version="1", description="first"))
    ep.update_registered_model(t, m.UpdateRegisteredModel(name=name, description="the model"))
    ep.set_registered_model_tag(t, m.SetRegisteredModelTag(name=name, key="k", value="v"))
    ep.set_model_version_tag(t, m.SetModelVersionTag(name=name, version="1", key="k", value="v"))
    ep.set_registered_model_alias(t, m.SetRegisteredModelAlias(name=name, alias="champion", version="2"))
    by_alias = ep.get_model_version_by_alias(t, m.GetModelVersionByAlias(name=name, alias="champion")).model_version
    # MLflow 3.17.2 keeps the model ID in the source only: its answers carry no model_id field.
    assert by_alias is not None and by_alias.version == "2" and by_alias.source == f"models:/{model_id}"
    staged = ep.transition_model_version_stage(
        t, m.TransitionModelVersionStage(name=name, version="1", stage="Staging", archive_existing_versions=False)
    ).model_version
    assert staged is not None and staged.current_stage == "Staging"
    latest = ep.get_latest_versions(t, m.GetLatestVersions(name=name, stages=["Staging"])).model_versions
    assert [v.version for v in latest] == ["1"]
    get_latest = next(e for e in ep.ENDPOINTS if e.rpc == "getLatestVersions" and e.method == "GET")
    via_get = call(t, get_latest, m.GetLatestVersions(name=name), m.GetLatestVersionsResponse).model_versions
    assert {v.version for v in via_get} == {"1", "2"}
    mv = ep.get_model_version(t, m.GetModelVersion(name=name, version="1")).model_version
    assert mv is not None and mv.description == "first" and {(x.key, x.value) for x in mv.tags} == {("k", "v")}
    uri = ep.get_model_version_download_uri(t, m.GetModelVersionDownloadUri(name=name, version="1")).artifact_uri
    assert uri == location
    got_rm = ep.get_registered_model(t, m.GetRegisteredModel(name=name)).registered_model
    assert got_rm is not None and [(a.alias, a.version) for a in got_rm.aliases] == [("champion", "2")]
    models = ep.search_registered_models(t, m.SearchRegisteredModels(filter=f"name = '{name}'", max_results=5))
    assert [x.name for x in models.registered_models] == [name]
    mvs = ep.search_model_versions(t, m.SearchModelVersions(filter=f"name = '{name}'", max_results=5))
    assert sorted(v.version or "" for v in mvs.model_versions) == ["1", "2"]
    renamed = ep.rename_registered_model(t, m.RenameRegisteredModel(name=name, new_name=name + "-2")).registered_model
    assert renamed is not None and renamed.name == name + "-2"
    name += "-2"

    _as_body(
        t,
        "deleteRegisteredModelAlias",
        m.DeleteRegisteredModelAlias(name=name, alias="champion"),
        m.DeleteRegisteredModelAliasResponse,
    )
    _as_body(
        t,
        "deleteModelVersionTag",
        m.DeleteModelVersionTag(name=name, version="1", key="k"),
        m.DeleteModelVersionTagResponse,
    )
    _as_body(
        t,
        "deleteRegisteredModelTag",
        m.DeleteRegisteredModelTag(name=name, key="k"),
        m.DeleteRegisteredModelTagResponse,
    )
    _as_body(t, "deleteModelVersion", m.DeleteModelVersion(name=name, version="1"), m.DeleteModelVersionResponse)
    after = ep.get_registered_model(t, m.GetRegisteredModel(name=name)).registered_model
    assert after is not None and after.aliases == [] and {(x.key, x.value) for x in after.tags} == {("t", "1")}
    _as_body(t, "deleteRegisteredModel", m.DeleteRegisteredModel(name=name), m.DeleteRegisteredModelResponse)
    with pytest.raises(RestError) as gone:
        ep.get_registered_model(t, m.GetRegisteredModel(name=name))
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    ep.delete_logged_model(t, m.DeleteLoggedModel(model_id=model_id))


def test_generated_delete_functions_reach_mlflow_with_their_fields(transport: RecordingTransport) -> None:
    """A DELETE's fields go in its JSON body: sent as a query string, MLflow would not read them."""
    name = f"interop-delete-{uuid.uuid4().hex[:8]}"
    ep.create_registered_model(transport, m.CreateRegisteredModel(name=name))
    ep.delete_registered_model(transport, m.DeleteRegisteredModel(name=name))
    with pytest.raises(RestError) as gone:
        ep.get_registered_model(transport, m.GetRegisteredModel(name=name))
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_multipart_on_local_store_is_an_error_with_mlflows_shape(transport: RecordingTransport) -> None:
    """A local artifacts destination has no multipart upload: the answer must be MLflow's error shape."""
    with pytest.raises(RestError) as info:
        ep.artifacts_create_multipart_upload(
            transport, m.ArtifactsCreateMultipartUpload(path="f.bin", num_parts=2), "0/x"
        )
    assert info.value.http_status in (400, 501)
    assert info.value.error_code in (
        m.ErrorCode.NOT_IMPLEMENTED,
        m.ErrorCode.INVALID_PARAMETER_VALUE,
        m.ErrorCode.BAD_REQUEST,
    )


def test_error_answer_carries_error_code_and_status(transport: RecordingTransport) -> None:
    with pytest.raises(RestError) as info:
        ep.get_experiment(transport, m.GetExperiment(experiment_id="987654321"))
    assert (info.value.http_status, info.value.error_code) == (404, m.ErrorCode.RESOURCE_DOES_NOT_EXIST)
    with pytest.raises(RestError) as dup:
        name = f"dup-{uuid.uuid4().hex[:8]}"
        ep.create_experiment(transport, m.CreateExperiment(name=name))
        ep.create_experiment(transport, m.CreateExperiment(name=name))
    assert (dup.value.http_status, dup.value.error_code) == (400, m.ErrorCode.RESOURCE_ALREADY_EXISTS)


def test_int64_given_as_strings_is_accepted(transport: RecordingTransport, mlflow_server_url: str) -> None:
    """The real server takes int64 fields as numeric strings and answers with numbers."""
    import httpx

    exp_id = ep.create_experiment(transport, m.CreateExperiment(name=f"i64-{uuid.uuid4().hex[:8]}")).experiment_id
    start = _now()
    r = httpx.post(
        f"{mlflow_server_url}/api/2.0/mlflow/runs/create",
        json={"experiment_id": exp_id, "start_time": str(start)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["run"]["info"]["start_time"] == start
    decoded = msgspec.json.decode(r.content, type=m.CreateRunResponse, strict=False)
    assert decoded.run is not None and decoded.run.info is not None
    assert decoded.run.info.start_time == start
