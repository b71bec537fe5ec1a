"""Every covered RPC through the generated layer against a real `mlflow server`; every JSON answer
must validate against its response schema in spec/openapi.yaml (closed: no field the spec lacks)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import pytest
from mlflow_client._generated import endpoints as ep
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import Body, QueryParams
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


def _template(path: str) -> str:
    """Map a concrete path back to its OpenAPI path template."""
    for e in ep.ENDPOINTS:
        if e.path == path:
            return e.path
        if e.path_params:
            prefix = e.path.split("{", 1)[0]
            if path.startswith(prefix) and len(path) > len(prefix):
                return e.path
    raise AssertionError(f"no endpoint for {path}")


def _check_schemas(seen: list[Recorded], release: tuple[int, ...]) -> set[tuple[str, str]]:
    covered = set()
    for rec in seen:
        template = _template(rec.path)
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
    """The spec says an unset max_results returns the whole history; MLflow 3.11 reads it as 0."""
    request = m.GetMetricHistory(run_id=run_id, metric_key="loss")
    answer = ep.get_metric_history(t, request)
    if release[:2] == (3, 11):
        # 3.11's handler tests `max_results is not None` on a proto2 field (never None): no points and a token
        # for offset 0, which it then refuses.
        assert answer.metrics == [] and answer.next_page_token
        with pytest.raises(RestError) as info:
            ep.get_metric_history(
                t, m.GetMetricHistory(run_id=run_id, metric_key="loss", page_token=answer.next_page_token)
            )
        assert (info.value.http_status, info.value.error_code) == (400, m.ErrorCode.INVALID_PARAMETER_VALUE)
        assert "Invalid page token" in str(info.value)
    else:
        assert sorted(x.step or 0 for x in answer.metrics) == [-3, 1, 2] and not answer.next_page_token


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
    missing: set[tuple[str, str]] = set()  # RPCs of the spec this release does not serve
    if release < (3, 0):
        # MLflow 2.x has no delete-experiment-tag: an HTML 404, although the spec says `since: "2.0"`.
        with pytest.raises(RestError) as absent:
            ep.delete_experiment_tag(t, m.DeleteExperimentTag(experiment_id=exp_id, key="k"))
        assert absent.value.http_status == 404
        missing.add(("POST", "/api/2.0/mlflow/experiments/delete-experiment-tag"))
    else:
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

    ep.delete_run(t, m.DeleteRun(run_id=run_id))
    ep.restore_run(t, m.RestoreRun(run_id=run_id))
    ep.delete_experiment(t, m.DeleteExperiment(experiment_id=exp_id))
    ep.restore_experiment(t, m.RestoreExperiment(experiment_id=exp_id))

    covered = _check_schemas(t.seen, release)
    # Logged models and the registry have no client methods yet (issue #17): their wire checks come with them.
    json_rpcs = {
        (e.method, e.path)
        for e in ep.ENDPOINTS
        if not e.rpc.endswith("MultipartUpload")
        and e.service != "ModelRegistryService"
        and "/logged-models" not in e.path
        and e.rpc != "logOutputs"
    }
    assert json_rpcs - covered == missing


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
