"""The generated layer's encoding rules, checked in-process with a recording transport."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import msgspec
import pytest
from mlflow_client._generated import endpoints as ep
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import Body, QueryParams, decode, encode
from mlflow_client._generated.rules import FIELD_RULES


@dataclass
class FakeTransport:
    """Answers every request with a canned body and remembers what was sent."""

    answer: bytes = b"{}"
    sent: list[dict[str, object]] = field(default_factory=list)

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
        self.sent.append({"method": method, "path": path, "params": params, "content": content, "headers": headers})
        return self.answer


def test_post_sends_json_body_without_unset_fields() -> None:
    t = FakeTransport(answer=b'{"experiment_id": "7"}')
    resp = ep.create_experiment(t, m.CreateExperiment(name="x"))
    assert resp.experiment_id == "7"
    (sent,) = t.sent
    assert (sent["method"], sent["path"]) == ("POST", "/api/2.0/mlflow/experiments/create")
    assert isinstance(sent["content"], bytes) and json.loads(sent["content"]) == {"name": "x"}
    assert sent["headers"] == {"Content-Type": "application/json"}


def test_get_sends_query_parameters_with_repeated_keys() -> None:
    t = FakeTransport()
    ep.get_metric_history_bulk_interval(
        t, m.GetMetricHistoryBulkInterval(run_ids=["a", "b"], metric_key="loss", max_results=5)
    )
    (sent,) = t.sent
    assert sent["content"] is None
    assert sent["params"] == [
        ("run_ids", "a"),
        ("run_ids", "b"),
        ("metric_key", "loss"),
        ("max_results", "5"),
    ]


def test_client_defaults_fill_only_unset_fields() -> None:
    t = FakeTransport()
    ep.get_metric_history(t, m.GetMetricHistory(run_id="r", metric_key="loss"))
    ep.get_metric_history(t, m.GetMetricHistory(run_id="r", metric_key="loss", max_results=7))
    ep.search_experiments(t, m.SearchExperiments())
    history, explicit, search = t.sent
    assert history["params"] == [("run_id", "r"), ("metric_key", "loss"), ("max_results", "25000")]
    assert explicit["params"] == [("run_id", "r"), ("metric_key", "loss"), ("max_results", "7")]
    assert isinstance(search["content"], bytes) and json.loads(search["content"]) == {"max_results": 1000}
    # The spec says so, and the OpenAPI document carries it for other generators.
    assert FIELD_RULES["GetMetricHistory"]["max_results"].client_default == 25000


def test_non_finite_metric_values_are_spelled_as_protobuf_does() -> None:
    for value, spelled in ((math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")):
        body = json.loads(encode(m.LogMetric(run_id="r", key="k", value=value, timestamp=1)))
        assert body["value"] == spelled
    batch = m.LogBatch(
        run_id="r",
        metrics=[m.Metric(key="k", value=math.nan, timestamp=1), m.Metric(key="k", value=1.5, timestamp=1)],
    )
    assert [x["value"] for x in json.loads(encode(batch))["metrics"]] == ["NaN", 1.5]
    # A string that merely contains "null" takes the slow path and still encodes exactly.
    assert json.loads(encode(m.LogParam(run_id="r", key="null", value="nullable"))) == {
        "run_id": "r",
        "key": "null",
        "value": "nullable",
    }


def test_responses_decode_int64_as_numbers_or_strings_and_nan_strings() -> None:
    for ts in (b"1700000000000", b'"1700000000000"'):
        body = b'{"metrics": [{"key": "k", "value": "NaN", "timestamp": ' + ts + b', "step": "-3"}]}'
        (metric,) = decode(body, m.GetMetricHistoryResponse).metrics
        assert metric.timestamp == 1_700_000_000_000 and metric.step == -3 and math.isnan(metric.value or 0.0)
    (inf,) = decode(b'{"metrics": [{"key": "k", "value": "-Infinity"}]}', m.GetMetricHistoryResponse).metrics
    assert inf.value == -math.inf


def test_unknown_fields_and_enum_values_from_newer_servers_decode() -> None:
    body = b'{"run_info": {"run_id": "r", "status": "PAUSED_BY_FUTURE", "brand_new": {"x": 1}}, "extra": [1]}'
    info = decode(body, m.UpdateRunResponse).run_info
    assert info is not None and info.run_id == "r" and info.status == "PAUSED_BY_FUTURE"


def test_empty_body_decodes_to_empty_message() -> None:
    assert decode(b"", m.LogMetricResponse) == m.LogMetricResponse()
    assert decode(b"{}", m.DeleteRunResponse) == m.DeleteRunResponse()


def test_unset_is_kept_apart_from_the_proto_default() -> None:
    """As in proto2: a field is on the wire exactly when it was set, even to its default value."""
    assert m.Metric().step is None and m.SearchRuns().max_results is None
    assert json.loads(encode(m.SearchRuns(experiment_ids=["1"]))) == {"experiment_ids": ["1"]}
    body = json.loads(encode(m.LogMetric(run_id="r", key="k", value=0.0, timestamp=0, step=0)))
    assert body == {"run_id": "r", "key": "k", "value": 0.0, "timestamp": 0, "step": 0}


def test_artifact_paths_are_percent_encoded_but_keep_slashes() -> None:
    t = FakeTransport(answer=b"data")
    assert ep.artifacts_download_artifact(t, "1/ab c/ü#?.txt") == b"data"
    assert t.sent[0]["path"] == "/api/2.0/mlflow-artifacts/artifacts/1/ab%20c/%C3%BC%23%3F.txt"
    ep.artifacts_upload_artifact(t, "1/f.bin", b"\x00\x01")
    assert t.sent[1]["method"] == "PUT" and t.sent[1]["content"] == b"\x00\x01"


def test_path_parameters_that_are_request_fields_come_from_the_request() -> None:
    t = FakeTransport(answer=b"{}")
    ep.delete_logged_model_tag(t, m.DeleteLoggedModelTag(model_id="m-1", tag_key="a/b c"))
    # One segment each: a slash in a tag key is encoded, unlike in an artifact path.
    assert t.sent[0]["method"] == "DELETE"
    assert t.sent[0]["path"] == "/api/2.0/mlflow/logged-models/m-1/tags/a%2Fb%20c"
    with pytest.raises(TypeError, match="model_id"):
        ep.get_logged_model(t, m.GetLoggedModel())
    assert len(t.sent) == 1


def test_every_endpoint_has_a_distinct_method_and_path() -> None:
    keys = [(e.method, e.path) for e in ep.ENDPOINTS]
    assert len(keys) == len(set(keys)) == 66
    for e in ep.ENDPOINTS:
        assert issubclass(e.request, msgspec.Struct) and issubclass(e.response, msgspec.Struct)
