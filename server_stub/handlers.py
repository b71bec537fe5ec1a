"""One handler per tracking RPC: check the request the way MLflow does, then call the store.

Handlers see decoded request Structs and return response Structs; HTTP is the app's business. Checks
that the spec states (required fields, lengths, counts, bounds) come from the generated rule table;
what is left here is what only MLflow's behaviour can tell.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec
from mlflow_client import _search as search
from mlflow_client._generated import models as m
from mlflow_client._generated.rules import FIELD_RULES, MAX_TOTAL_ITEMS
from mlflow_client._validation import key_problem

from .errors import StubError, invalid
from .sql_store import generate_run_name

SEARCH_MAX_RESULTS = 50000
SEARCH_DEFAULT_MAX_RESULTS = 1000
BULK_DEFAULT_MAX_RESULTS = 2500
RUN_NAME_TAG = "mlflow.runName"


class Store(Protocol):
    """What handlers need from a tracking store (the SQL store, and later the file store)."""

    def create_experiment(self, name: str, artifact_location: str | None, tags: list[m.ExperimentTag]) -> str: ...
    def get_experiment(self, experiment_id: str) -> m.Experiment: ...
    def get_experiment_by_name(self, name: str) -> m.Experiment: ...
    def list_experiments(self, view_type: str) -> list[m.Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...
    def create_run(
        self, experiment_id: str, user_id: str, run_name: str, start_time: int, tags: list[m.RunTag]
    ) -> m.Run: ...
    def get_run(self, run_id: str) -> m.Run: ...
    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> m.RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_batch(self, run_id: str, metrics: list[m.Metric], params: list[m.Param], tags: list[m.RunTag]) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: list[m.DatasetInput], models: list[m.ModelInput]) -> None: ...
    def list_runs(self, experiment_ids: list[str], view_type: str) -> list[m.Run]: ...
    def metric_history(self, run_id: str, key: str) -> list[m.Metric]: ...
    def metric_history_json(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[bytes, int]: ...
    def run_exists(self, run_id: str) -> bool: ...
    def reset(self) -> None: ...


# A handler answers with a message, or with the JSON body itself when it has it ready (metric histories).
Handler = Callable[[Store, Any], msgspec.Struct | bytes]
HANDLERS: dict[str, Handler] = {}


def handles(rpc: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[rpc] = fn
        return fn

    return register


# -- checks from the spec ---------------------------------------------------------------------------


def check_rules(message: msgspec.Struct, top_level: bool = True) -> None:
    """Apply the spec's rules to a request and the messages inside it.

    Required fields are enforced on the request itself only: MLflow does not enforce the required
    markers of nested messages (a dataset without a digest is stored with an empty one).
    """
    name = type(message).__name__
    _check_int64(message)
    for field, rule in FIELD_RULES.get(name, {}).items():
        value = getattr(message, field)
        if rule.required and top_level and (value is None or value in ("", [])):
            raise invalid(
                f"Missing value for required parameter '{field}'. "
                "See the API docs for more information about request parameters."
            )
        if isinstance(value, str) and rule.max_length is not None and len(value) > rule.max_length:
            if rule.over_length == "truncate":
                setattr(message, field, value[: rule.max_length])
            else:
                label = _LENGTH_LABELS.get((name, field), field)
                raise invalid(f"'{label}' exceeds the maximum length of {rule.max_length} characters")
        if isinstance(value, list) and rule.max_items is not None and len(value) > rule.max_items:
            raise invalid(
                f"A batch logging request can contain at most {rule.max_items} {field}. Got {len(value)} {field}. "
                f"Please split up {field} across multiple requests and try again."
            )
        if _out_of_bounds(value, rule.minimum, rule.maximum):
            worded = _BOUNDS_TEXT.get((name, field))
            raise invalid(
                worded(value)
                if worded
                else f"Invalid value {value} for parameter '{field}' supplied: must be between "
                f"{rule.minimum} and {rule.maximum}."
            )
    total = MAX_TOTAL_ITEMS.get(name)
    if total is not None:
        count = sum(len(v) for v in msgspec.structs.astuple(message) if isinstance(v, list))
        if count > total:
            raise invalid(
                f"A batch logging request can contain at most {total} metrics, params, and tags. Got {count} "
                "metrics, params, and tags. Please split up metrics, params, and tags across multiple requests "
                "and try again."
            )
    for value in msgspec.structs.astuple(message):
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, msgspec.Struct):
                check_rules(item, top_level=False)


_API_DOCS = "See the API docs for more information about request parameters."

# How MLflow names a field in its too-long message, where that is not the field's own name.
_LENGTH_LABELS: dict[tuple[str, str], str] = {
    ("LogMetric", "key"): "Metric name",
    ("Metric", "key"): "Metric name",
    ("LogParam", "key"): "Param key",
    ("Param", "key"): "Param key",
}


def _positive(value: int, end: str = "") -> str:
    return f"Invalid value {value} for parameter 'max_results' supplied. It must be a positive integer{end}"


# How MLflow words a value out of the spec's bounds, where each RPC checks in its own place and words.
_BOUNDS_TEXT: dict[tuple[str, str], Callable[[int], str]] = {
    ("SearchRuns", "max_results"): lambda v: (
        _positive(v)
        if v < 1
        else f"Invalid value {v} for parameter 'max_results' supplied:  Hint: Value was of "
        f"type 'int'. {_API_DOCS}"  # its schema's bare assertion, worded as for a wrong type
    ),
    ("SearchExperiments", "max_results"): lambda v: (
        _positive(v) if v < 1 else f"Invalid value {v} for parameter 'max_results' supplied. It must be at most 50000"
    ),
    ("GetMetricHistory", "max_results"): lambda v: _positive(v, "."),
    ("GetMetricHistoryBulkInterval", "max_results"): lambda v: f"max_results must be between 1 and 2500. {_API_DOCS}",
}

_INT64 = (-(2**63), 2**63 - 1)


def _out_of_bounds(value: object, minimum: int | None, maximum: int | None) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return (minimum is not None and value < minimum) or (maximum is not None and value > maximum)


def _check_int64(message: msgspec.Struct) -> None:
    """Every integer on the wire is at most 64 bits; MLflow silently stores 0 for larger ones."""
    for field in message.__struct_fields__:
        value = getattr(message, field)
        if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
            raise invalid(f"Invalid value {value} for parameter '{field}' supplied: it does not fit in 64 bits.")


def _key(key: str | None, field: str = "key") -> str:
    problem = key_problem(key, field)
    if problem:
        raise invalid(problem)
    assert key is not None
    return key


def _run_id(req: Any) -> str:
    run_id: str | None = req.run_id or getattr(req, "run_uuid", None)
    if not run_id:
        raise missing("run_id")
    return run_id


def missing(field: str) -> StubError:
    """MLflow's answer for a required parameter that is absent or empty."""
    return invalid(
        f"Missing value for required parameter '{field}'. "
        "See the API docs for more information about request parameters."
    )


# -- experiments ------------------------------------------------------------------------------------


@handles("createExperiment")
def create_experiment(store: Store, req: m.CreateExperiment) -> m.CreateExperimentResponse:
    assert req.name is not None
    for t in req.tags:
        _key(t.key)
        t.value = t.value or ""
    if len({t.key for t in req.tags}) != len(req.tags):
        # What MLflow answers when its database refuses the duplicate (misleading, but the contract).
        raise StubError(m.ErrorCode.RESOURCE_ALREADY_EXISTS, f"Experiment(name={req.name}) already exists.")
    location = absolute_if_local(req.artifact_location) if req.artifact_location else None
    return m.CreateExperimentResponse(experiment_id=store.create_experiment(req.name, location, req.tags))


def absolute_if_local(uri: str) -> str:
    """A relative path or ``file:`` URI made absolute against the server's working directory, as MLflow's
    ``resolve_uri_if_local`` does (joined, not normalised: ``./x/../y`` stays as written)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("", "file") or (parts.scheme == "file" and parts.netloc not in ("", "localhost")):
        return uri  # remote stores, and file URIs naming a host, are taken as given
    path = unquote(parts.path) if parts.scheme else uri
    if PurePosixPath(path).is_absolute():
        return uri
    absolute = (Path.cwd() / path).as_posix()
    return urlunsplit(("file", "", absolute, parts.query, parts.fragment)) if parts.scheme else absolute


@handles("getExperiment")
def get_experiment(store: Store, req: m.GetExperiment) -> m.GetExperimentResponse:
    return m.GetExperimentResponse(experiment=store.get_experiment(str(req.experiment_id)))


@handles("getExperimentByName")
def get_experiment_by_name(store: Store, req: m.GetExperimentByName) -> m.GetExperimentByNameResponse:
    return m.GetExperimentByNameResponse(experiment=store.get_experiment_by_name(str(req.experiment_name)))


@handles("searchExperiments")
def search_experiments(store: Store, req: m.SearchExperiments) -> m.SearchExperimentsResponse:
    # Unlike runs/search, MLflow has no default here: a missing max_results is refused.
    max_results = req.max_results or 0
    if max_results < 1:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
        )
    if max_results > SEARCH_MAX_RESULTS:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {SEARCH_MAX_RESULTS}"
        )
    experiments = store.list_experiments(req.view_type or m.ViewType.ACTIVE_ONLY)
    try:
        page, token = search.search_experiments(experiments, req.filter, req.order_by, max_results, req.page_token)
    except search.SearchError as err:
        raise invalid(str(err)) from None
    return m.SearchExperimentsResponse(experiments=page, next_page_token=token)


@handles("updateExperiment")
def update_experiment(store: Store, req: m.UpdateExperiment) -> m.UpdateExperimentResponse:
    if not req.new_name:
        raise missing("new_name")
    store.rename_experiment(str(req.experiment_id), req.new_name)
    return m.UpdateExperimentResponse()


@handles("deleteExperiment")
def delete_experiment(store: Store, req: m.DeleteExperiment) -> m.DeleteExperimentResponse:
    store.delete_experiment(str(req.experiment_id))
    return m.DeleteExperimentResponse()


@handles("restoreExperiment")
def restore_experiment(store: Store, req: m.RestoreExperiment) -> m.RestoreExperimentResponse:
    store.restore_experiment(str(req.experiment_id))
    return m.RestoreExperimentResponse()


@handles("setExperimentTag")
def set_experiment_tag(store: Store, req: m.SetExperimentTag) -> m.SetExperimentTagResponse:
    store.set_experiment_tag(str(req.experiment_id), _key(req.key), req.value or "")
    return m.SetExperimentTagResponse()


@handles("deleteExperimentTag")
def delete_experiment_tag(store: Store, req: m.DeleteExperimentTag) -> m.DeleteExperimentTagResponse:
    store.delete_experiment_tag(str(req.experiment_id), str(req.key))
    return m.DeleteExperimentTagResponse()


# -- runs -------------------------------------------------------------------------------------------


@handles("createRun")
def create_run(store: Store, req: m.CreateRun) -> m.CreateRunResponse:
    if not req.experiment_id:
        # MLflow's database refuses the row (a foreign-key error reported as BAD_REQUEST).
        raise StubError(m.ErrorCode.BAD_REQUEST, "Missing value for required parameter 'experiment_id'.")
    tags = list(req.tags)
    keys = [t.key for t in tags]
    if None in keys:
        raise StubError(m.ErrorCode.BAD_REQUEST, "Every tag needs a key.")
    for t in tags:
        t.value = t.value or ""
    if len(keys) != len(set(keys)):
        raise StubError(m.ErrorCode.BAD_REQUEST, f"Duplicate tag keys in the request: {sorted(map(str, keys))}")
    tag_name = next((t.value for t in tags if t.key == RUN_NAME_TAG), None)
    if req.run_name and tag_name and req.run_name != tag_name:
        raise invalid(
            f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
            f"(run_name='{req.run_name}', mlflow.runName='{tag_name}')."
        )
    name = req.run_name or tag_name or generate_run_name()
    if tag_name is None:
        tags.append(m.RunTag(key=RUN_NAME_TAG, value=name))
    run = store.create_run(req.experiment_id, req.user_id or "", name, req.start_time or 0, tags)
    run.outputs = None  # MLflow's create-run answer has no outputs
    return m.CreateRunResponse(run=run)


@handles("getRun")
def get_run(store: Store, req: m.GetRun) -> m.GetRunResponse:
    return m.GetRunResponse(run=store.get_run(_run_id(req)))


@handles("updateRun")
def update_run(store: Store, req: m.UpdateRun) -> m.UpdateRunResponse:
    if req.status is not None and req.status not in m.RunStatus.NUMBERS:
        raise invalid(f"Invalid value {req.status!r} for parameter 'status' supplied.")
    return m.UpdateRunResponse(run_info=store.update_run(_run_id(req), req.status, req.end_time, req.run_name))


@handles("deleteRun")
def delete_run(store: Store, req: m.DeleteRun) -> m.DeleteRunResponse:
    store.delete_run(str(req.run_id))
    return m.DeleteRunResponse()


@handles("restoreRun")
def restore_run(store: Store, req: m.RestoreRun) -> m.RestoreRunResponse:
    store.restore_run(str(req.run_id))
    return m.RestoreRunResponse()


def _check_metric(x: m.Metric | m.LogMetric, path: str = "") -> None:
    """MLflow's checks of one metric, its messages naming fields by ``path`` (``metrics[3].``) in a batch."""
    for field in ("key", "value", "timestamp"):
        if getattr(x, field) in (None, ""):
            raise missing(path + field)
    _key(x.key, path + "name")
    if x.timestamp is not None and x.timestamp < 0:
        raise invalid(
            f"Invalid value {x.timestamp} for parameter '{path}timestamp' supplied: metric '{x.key}' "
            f"(value={float(x.value or 0.0)}). Timestamp must be a nonnegative long (64-bit integer) "
        )


@handles("logMetric")
def log_metric(store: Store, req: m.LogMetric) -> m.LogMetricResponse:
    _check_metric(req)
    metric = m.Metric(
        key=req.key,
        value=req.value,
        timestamp=req.timestamp,
        step=req.step,
        model_id=req.model_id,
        dataset_name=req.dataset_name,
        dataset_digest=req.dataset_digest,
    )
    store.log_batch(_run_id(req), [metric], [], [])
    return m.LogMetricResponse()


@handles("logParam")
def log_param(store: Store, req: m.LogParam) -> m.LogParamResponse:
    store.log_batch(_run_id(req), [], [m.Param(key=_key(req.key), value=req.value or "")], [])
    return m.LogParamResponse()


@handles("setTag")
def set_tag(store: Store, req: m.SetTag) -> m.SetTagResponse:
    store.log_batch(_run_id(req), [], [], [m.RunTag(key=_key(req.key), value=req.value or "")])
    return m.SetTagResponse()


@handles("deleteTag")
def delete_tag(store: Store, req: m.DeleteTag) -> m.DeleteTagResponse:
    store.delete_tag(str(req.run_id), str(req.key))
    return m.DeleteTagResponse()


@handles("logBatch")
def log_batch(store: Store, req: m.LogBatch) -> m.LogBatchResponse:
    # MLflow checks that every item has its required fields before anything else.
    for i, x in enumerate(req.metrics):
        for field in ("key", "value", "timestamp"):
            if getattr(x, field) in (None, ""):
                raise missing(f"metrics[{i}].{field}")
    keys = [("params", i, p.key) for i, p in enumerate(req.params)] + [
        ("tags", i, t.key) for i, t in enumerate(req.tags)
    ]
    for field, i, key in keys:
        if not key:
            raise missing(f"{field}[{i}].key")
    for i, x in enumerate(req.metrics):
        _check_metric(x, f"metrics[{i}].")
    seen: dict[str, str | None] = {}
    for i, p in enumerate(req.params):
        _key(p.key, f"params[{i}].key")
        if p.key in seen:
            raise invalid(
                f"Duplicate parameter keys have been submitted: ['{p.key}']. Please ensure the request "
                "contains only one param value per param key."
            )
        seen[str(p.key)] = p.value
        if p.value is None:
            p.value = ""
    for i, t in enumerate(req.tags):
        _key(t.key, f"tags[{i}].key")
        if t.value is None:
            t.value = ""
    store.log_batch(_run_id(req), req.metrics, req.params, req.tags)
    return m.LogBatchResponse()


@handles("logInputs")
def log_inputs(store: Store, req: m.LogInputs) -> m.LogInputsResponse:
    for d in req.datasets:
        # MLflow stores missing dataset fields as empty strings rather than refusing them.
        ds = d.dataset = d.dataset or m.Dataset()
        ds.name, ds.digest = ds.name or "", ds.digest or ""
        ds.source_type, ds.source = ds.source_type or "", ds.source or ""
        for t in d.tags:
            t.key, t.value = t.key or "", t.value or ""
    store.log_inputs(_run_id(req), req.datasets, req.models)
    return m.LogInputsResponse()


@handles("logModel")
def log_model(store: Store, req: m.LogModel) -> m.LogModelResponse:
    try:
        model = json.loads(req.model_json or "")
    except ValueError:
        raise invalid("Value of 'model_json' must be a JSON-encoded MLmodel document.") from None
    if not isinstance(model, dict):
        raise invalid("Value of 'model_json' must be a JSON object.")
    run_id = _run_id(req)
    run = store.get_run(run_id)
    history = next((t.value for t in (run.data.tags if run.data else []) if t.key == "mlflow.log-model.history"), None)
    entries = json.loads(history) if history else []
    entries.append(model)
    store.log_batch(run_id, [], [], [m.RunTag(key="mlflow.log-model.history", value=json.dumps(entries))])
    return m.LogModelResponse()


@handles("searchRuns")
def search_runs(store: Store, req: m.SearchRuns) -> m.SearchRunsResponse:
    max_results = SEARCH_DEFAULT_MAX_RESULTS if req.max_results is None else req.max_results
    if max_results > SEARCH_MAX_RESULTS:  # MLflow's schema check, worded as for a value of the wrong type
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied:  Hint: Value was of type 'int'. "
            "See the API docs for more information about request parameters."
        )
    if max_results < 1:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
        )
    runs = store.list_runs(req.experiment_ids, req.run_view_type or m.ViewType.ACTIVE_ONLY)
    try:
        page, token = search.search_runs(runs, req.filter, req.order_by, max_results, req.page_token)
    except search.SearchError as err:
        raise invalid(str(err)) from None
    return m.SearchRunsResponse(runs=page, next_page_token=token)


# -- metrics ----------------------------------------------------------------------------------------


def offset_token(offset: int) -> str:
    """History pages are plain offsets (the history of a run only grows at its end), wrapped as MLflow does."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def offset_from_token(token: str) -> int:
    try:
        return search.offset_from_token(token)
    except search.SearchError as err:
        raise invalid(str(err)) from None


@handles("getMetricHistory")
def get_metric_history(store: Store, req: m.GetMetricHistory) -> m.GetMetricHistoryResponse | bytes:
    run_id = _run_id(req)
    if req.max_results is not None and req.max_results < 1:
        raise invalid(
            f"Invalid value {req.max_results} for parameter 'max_results' supplied. It must be a positive integer."
        )
    start = offset_from_token(req.page_token) if req.page_token else 0  # a bad token is refused for any run
    if not store.run_exists(run_id):
        return m.GetMetricHistoryResponse()
    points, total = store.metric_history_json(run_id, str(req.metric_key), start, req.max_results)
    token = None
    if req.max_results is not None and start + req.max_results < total:
        token = offset_token(start + req.max_results)
    # The body GetMetricHistoryResponse would encode to, built around the points' JSON without decoding it.
    tail = b"}" if token is None else b'%b"next_page_token":%b}' % (b"," if points else b"", msgspec.json.encode(token))
    return b"".join((b'{"metrics":[', points, b"]", tail)) if points else b"{" + tail


@handles("getMetricHistoryBulkInterval")
def get_metric_history_bulk_interval(
    store: Store, req: m.GetMetricHistoryBulkInterval
) -> m.GetMetricHistoryBulkIntervalResponse:
    if (req.start_step is None) != (req.end_step is None):
        raise invalid("If either start step or end step are specified, both must be specified.")
    if req.start_step is not None and req.end_step is not None and req.start_step > req.end_step:
        raise invalid(
            f"end_step must be greater than start_step. Found start_step={req.start_step} and end_step={req.end_step}."
        )
    max_results = req.max_results or BULK_DEFAULT_MAX_RESULTS
    out: list[m.MetricWithRunId] = []
    for run_id in req.run_ids:  # in request order; unknown runs contribute nothing
        if not store.run_exists(run_id):
            continue
        history = [
            x
            for x in store.metric_history(run_id, str(req.metric_key))
            if req.start_step is None or req.start_step <= (x.step or 0) <= (req.end_step or 0)
        ]
        history.sort(key=lambda x: (x.step or 0, x.timestamp or 0, x.value or 0.0))
        for x in _sample(history, max_results):
            out.append(m.MetricWithRunId(key=x.key, value=x.value, timestamp=x.timestamp, step=x.step, run_id=run_id))
    return m.GetMetricHistoryBulkIntervalResponse(metrics=out)


def _sample(points: list[m.Metric], k: int) -> list[m.Metric]:
    """Keep the first point of each of ``k`` near-equal buckets, and always the very last point."""
    n = len(points)
    if n <= k:
        return points
    big, rem = divmod(n, k)
    kept, start = [], 0
    for bucket in range(k):
        kept.append(points[start])
        start += big + (1 if bucket < rem else 0)
    if kept[-1] is not points[-1]:
        kept[-1] = points[-1]
    return kept
