"""MLflow 3's logged models and ``runs/outputs``, as a real 3.17.2 server (SQLite backend) has them.

- A model is created PENDING in an active experiment, with an ID ``m-<32 hex>`` and its files under
  ``<experiment artifact location>/models/<model_id>/artifacts``; ``finalize`` sets READY or FAILED.
- Deleting is soft: ``get`` and ``search`` no longer see the model, deleting again succeeds, and tags can
  still be set on it (MLflow looks deleted models up for those).
- Metrics logged with a ``model_id`` (``log-metric``, ``log-batch``) are the model's metrics: every point,
  with its run and dataset.
- ``logLoggedModelParams`` and ``finalizeLoggedModel`` take ``model_id`` from the body, not the path
  (MLflow's handlers read the body): without it they answer INVALID_PARAMETER_VALUE, as MLflow does.
- Params and tags of logged models are stored unchecked (a missing key is ""); a param logged twice is a
  400 BAD_REQUEST (MLflow's database refuses it).
- Search filters on attributes, ``metrics.``, ``params.`` and ``tags.``; an unknown attribute is a 500
  INTERNAL_ERROR there (an AttributeError inside MLflow), and so it is here.
"""

from __future__ import annotations

import base64
import json
import math
import mimetypes
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from mlflow_client import _search as search
from mlflow_client._generated import models as m

from .errors import StubError, invalid, not_found
from .handlers import Store, handles
from .model_db import ModelDb, Row, model_db
from .registry import MODEL_VERSIONS_TAG
from .sql_store import generate_run_name, now_ms

if TYPE_CHECKING:
    from .app import RequestHandler, StubHTTPServer

ACTIVE, DELETED = "active", "deleted"
SEARCH_DEFAULT = 100
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")
_NUMERIC_ATTRIBUTES = {"creation_timestamp_ms", "last_updated_timestamp_ms"}
_ATTRIBUTE_ALIASES = {
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
# Columns of MLflow's logged_models table, by the names its filters and order_by use.
_COLUMNS = {
    "model_id": 1,
    "experiment_id": 2,
    "name": 3,
    "artifact_location": 4,
    "creation_timestamp_ms": 5,
    "last_updated_timestamp_ms": 6,
    "model_type": 7,
    "status": 8,
    "lifecycle_stage": 9,
    "source_run_id": 10,
    "status_message": 11,
}


class LoggedModels:
    def __init__(self, db: ModelDb) -> None:
        self.db = db

    def _row(self, model_id: str, *, deleted: bool = False) -> Row:
        rows = self.db.query("SELECT * FROM logged_models WHERE model_id = ?", (model_id,))
        if not rows or (rows[0][9] == DELETED and not deleted):
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return tuple(rows[0])

    def find(self, model_id: str) -> Row | None:
        try:
            return self._row(model_id)
        except StubError:
            return None

    def model(self, row: Row) -> m.LoggedModel:
        model_id = row[1]
        tags = [
            m.LoggedModelTag(key=k, value=v)
            for k, v in self.db.query(
                "SELECT key, value FROM logged_model_tags WHERE model_id = ? ORDER BY key", (model_id,)
            )
        ]
        params = [
            m.LoggedModelParameter(key=k, value=v)
            for k, v in self.db.query(
                "SELECT key, value FROM logged_model_params WHERE model_id = ? ORDER BY key", (model_id,)
            )
        ]
        metrics = [
            m.Metric(
                key=k,
                value=math.nan if nan else v,
                timestamp=ts,
                step=step,
                dataset_name=dn,
                dataset_digest=dd,
                model_id=model_id,
                run_id=run_id,
            )
            for k, v, nan, ts, step, dn, dd, run_id in self.db.query(
                "SELECT key, value, is_nan, timestamp, step, dataset_name, dataset_digest, run_id "
                "FROM logged_model_metrics WHERE model_id = ? ORDER BY seq",
                (model_id,),
            )
        ]
        info = m.LoggedModelInfo(
            model_id=model_id,
            experiment_id=row[2],
            name=row[3],
            creation_timestamp_ms=row[5],
            last_updated_timestamp_ms=row[6],
            artifact_uri=row[4],
            status=row[8],
            model_type=row[7] or "",
            source_run_id=row[10] or "",
            status_message=row[11],
            tags=tags,
        )
        return m.LoggedModel(info=info, data=m.LoggedModelData(params=params, metrics=metrics))

    def get(self, model_id: str) -> m.LoggedModel:
        return self.model(self._row(model_id))

    def create(
        self,
        experiment: m.Experiment,
        name: str,
        model_type: str | None,
        source_run_id: str | None,
        params: list[m.LoggedModelParameter],
        tags: list[m.LoggedModelTag],
    ) -> m.LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        location = f"{str(experiment.artifact_location).rstrip('/')}/models/{model_id}/artifacts"
        t = now_ms()
        with self.db.tx() as db:
            db.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_time, "
                "last_updated_time, model_type, status, lifecycle_stage, source_run_id) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    experiment.experiment_id,
                    name,
                    location,
                    t,
                    t,
                    model_type,
                    m.LoggedModelStatus.LOGGED_MODEL_PENDING,
                    ACTIVE,
                    source_run_id,
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)",
                [(model_id, p.key, p.value) for p in params],
            )
            db.executemany(
                "INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)", [(model_id, x.key, x.value) for x in tags]
            )
        return self.get(model_id)

    def log_params(self, model_id: str, params: list[m.LoggedModelParameter]) -> None:
        self._row(model_id, deleted=True)
        with self.db.tx() as db:
            try:
                db.executemany(
                    "INSERT INTO logged_model_params VALUES (?, ?, ?)", [(model_id, p.key, p.value) for p in params]
                )
            except sqlite3.IntegrityError:
                # MLflow lets its database refuse a param logged twice: BAD_REQUEST, whatever the value.
                keys = sorted({str(p.key) for p in params})
                raise StubError(
                    m.ErrorCode.BAD_REQUEST, f"Params {keys} of model {model_id} were already logged."
                ) from None

    def set_tags(self, model_id: str, tags: list[m.LoggedModelTag]) -> None:
        self._row(model_id, deleted=True)
        with self.db.tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                [(model_id, k, v) for k, v in {x.key: x.value for x in tags}.items()],
            )

    def delete_tag(self, model_id: str, key: str) -> None:
        self._row(model_id, deleted=True)
        with self.db.tx() as db:
            cur = db.execute("DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", (model_id, key))
            if cur.rowcount == 0:
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")

    def finalize(self, model_id: str, status: str) -> m.LoggedModel:
        self._row(model_id, deleted=True)
        with self.db.tx() as db:
            db.execute(
                "UPDATE logged_models SET status = ?, last_updated_time = ? WHERE model_id = ?",
                (status, now_ms(), model_id),
            )
        return self.model(self._row(model_id, deleted=True))

    def delete(self, model_id: str) -> None:
        self._row(model_id, deleted=True)
        with self.db.tx() as db:
            db.execute(
                "UPDATE logged_models SET lifecycle_stage = ?, last_updated_time = ? WHERE model_id = ?",
                (DELETED, now_ms(), model_id),
            )

    def add_registration(self, model_id: str, name: str, version: int) -> None:
        with self.db.tx() as db:
            row = db.execute(
                "SELECT value FROM logged_model_tags WHERE model_id = ? AND key = ?", (model_id, MODEL_VERSIONS_TAG)
            ).fetchone()
            entries = json.loads(row[0]) if row else []
            entries.append({"name": name, "version": version})
            db.execute(
                "INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                (model_id, MODEL_VERSIONS_TAG, json.dumps(entries)),
            )

    def log_metrics(self, run_id: str, metrics: list[m.Metric]) -> None:
        rows = []
        for x in metrics:
            if not x.model_id:
                continue
            value = float(x.value if x.value is not None else 0.0)
            nan = math.isnan(value)
            stored = 0.0 if nan else max(min(value, 1.7976931348623157e308), -1.7976931348623157e308)
            rows.append(
                (
                    x.model_id,
                    run_id,
                    x.key,
                    stored,
                    int(nan),
                    x.timestamp or 0,
                    x.step or 0,
                    x.dataset_name,
                    x.dataset_digest,
                )
            )
        if rows:
            with self.db.tx() as db:
                db.executemany(
                    "INSERT INTO logged_model_metrics (model_id, run_id, key, value, is_nan, timestamp, step, "
                    "dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

    def log_outputs(self, run_id: str, outputs: list[m.ModelOutput]) -> None:
        with self.db.tx() as db:
            try:
                db.executemany(
                    "INSERT INTO run_outputs (run_id, model_id, step) VALUES (?, ?, ?)",
                    [(run_id, o.model_id, o.step or 0) for o in outputs],
                )
            except sqlite3.IntegrityError:
                # MLflow keys a run's outputs by model: its database refuses one logged twice (BAD_REQUEST).
                raise StubError(m.ErrorCode.BAD_REQUEST, f"A model output of run {run_id} was logged twice.") from None

    def outputs(self, run_id: str) -> list[m.ModelOutput]:
        return [
            m.ModelOutput(model_id=mid, step=step)
            for mid, step in self.db.query(
                "SELECT model_id, step FROM run_outputs WHERE run_id = ? ORDER BY model_id", (run_id,)
            )
        ]

    def rows(self, experiment_ids: list[str]) -> list[Row]:
        marks = ",".join("?" * len(experiment_ids))
        return [
            tuple(r)
            for r in self.db.query(
                f"SELECT * FROM logged_models WHERE lifecycle_stage != ? AND experiment_id IN ({marks})",
                (DELETED, *experiment_ids),
            )
        ]

    def metric_rows(self, model_id: str) -> list[Row]:
        return [
            tuple(r)
            for r in self.db.query(
                "SELECT key, value, timestamp, step, run_id, dataset_name, dataset_digest FROM logged_model_metrics "
                "WHERE model_id = ?",
                (model_id,),
            )
        ]

    def kv(self, table: str, model_id: str) -> dict[str, str]:
        return {
            str(k): str(v) for k, v in self.db.query(f"SELECT key, value FROM {table} WHERE model_id = ?", (model_id,))
        }


def logged_models(store: Store) -> LoggedModels:
    return LoggedModels(model_db(store))


# -- search -----------------------------------------------------------------------------------------

Pred = Callable[[Row], bool]


def _attribute_value(row: Row, key: str) -> Any:
    value = row[_COLUMNS[key]]
    if key == "status":
        return str(m.LoggedModelStatus.NUMBERS.get(value, 0))  # MLflow keeps the status as a number
    return value


def _predicates(
    lms: LoggedModels, filter_string: str | None, datasets: list[m.SearchLoggedModelsDataset]
) -> list[Pred]:
    if not filter_string or not filter_string.strip():
        clauses: list[search._Clause] = []
    else:
        try:
            clauses = search._Parser(filter_string).filter()
        except search.SearchError as err:
            raise invalid(f"Invalid filter string: {filter_string!r}. {err}") from None
    preds: list[Pred] = []

    def in_datasets(dn: str | None, dd: str | None) -> bool:
        # A dataset without a digest matches metrics without one (MLflow compares the digest with NULL).
        return not datasets or any(d.dataset_name == dn and d.dataset_digest == dd for d in datasets)

    has_metric = False
    for c in clauses:
        entity, key = (c.ident.entity or "attributes"), c.ident.key
        numeric = entity == "metrics" or (
            entity == "attributes" and _ATTRIBUTE_ALIASES.get(key, key) in _NUMERIC_ATTRIBUTES
        )
        if entity == "attributes" and _ATTRIBUTE_ALIASES.get(key, key) not in _COLUMNS:
            raise StubError(m.ErrorCode.INTERNAL_ERROR, f"type object 'SqlLoggedModel' has no attribute '{key}'")
        try:
            if numeric:
                number = search._numeric_test(c, entity)
            else:
                text = search._string_test(
                    c, entity, frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}), lists=True
                )
        except search.SearchError as err:
            raise invalid(str(err)) from None
        if entity == "attributes":
            key = _ATTRIBUTE_ALIASES.get(key, key)
            preds.append(_attribute_pred(key, number if numeric else None, None if numeric else text))
        elif entity == "metrics":
            has_metric = True
            preds.append(_metric_pred(lms, key, number, in_datasets))
        elif entity in ("params", "tags"):
            preds.append(_kv_pred(lms, "logged_model_params" if entity == "params" else "logged_model_tags", key, text))
        else:
            raise invalid(
                f"Invalid entity type: {entity!r}. Expected one of ['attributes', 'metrics', 'params', 'tags']."
            )
    if datasets and not has_metric:
        preds.append(lambda r: any(in_datasets(dn, dd) for _, _, _, _, _, dn, dd in lms.metric_rows(r[1])))
    return preds


def _attribute_pred(key: str, number: Callable[[float], bool] | None, text: Callable[[str], bool] | None) -> Pred:
    def pred(r: Row) -> bool:
        value = r[_COLUMNS[key]] if number is not None else _attribute_value(r, key)
        if value is None:
            return False
        return number(value) if number is not None else text is not None and text(str(value))

    return pred


def _metric_pred(
    lms: LoggedModels, key: str, number: Callable[[float], bool], in_datasets: Callable[[Any, Any], bool]
) -> Pred:
    def pred(r: Row) -> bool:
        return any(mk == key and number(v) and in_datasets(dn, dd) for mk, v, _, _, _, dn, dd in lms.metric_rows(r[1]))

    return pred


def _kv_pred(lms: LoggedModels, table: str, key: str, text: Callable[[str], bool]) -> Pred:
    def pred(r: Row) -> bool:
        value = lms.kv(table, r[1]).get(key)
        return value is not None and text(value)

    return pred


def _column(index: int) -> Callable[[Row], Any]:
    return lambda r: r[index]


def _sort(lms: LoggedModels, rows: list[Row], order_by: list[m.SearchLoggedModelsOrderBy]) -> list[Row]:
    keys: list[tuple[Callable[[Row], Any], bool]] = []
    names = set()
    for ob in order_by:
        field = str(ob.field_name)
        ascending = ob.ascending is not False
        if "." not in field:
            name = _ATTRIBUTE_ALIASES.get(field, field)
            if name not in _COLUMNS:
                raise invalid(f"Invalid order by field name: {field}")
            names.add(name)
            keys.append((_column(_COLUMNS[name]), ascending))
            continue
        entity, metric = field.split(".", 1)
        if entity != "metrics":
            raise invalid(f"Invalid order by field name: {field}. Only metrics are supported.")

        def latest(r: Row, k: str = metric, o: m.SearchLoggedModelsOrderBy = ob) -> Any:
            points = [
                (ts, step, run_id, v)
                for mk, v, ts, step, run_id, dn, dd in lms.metric_rows(r[1])
                if mk == k
                and (not o.dataset_name or dn == o.dataset_name)
                and (not o.dataset_digest or dd == o.dataset_digest)
            ]
            if not points:
                return None
            points.sort(key=lambda p: (-p[0], -p[1], p[2] or ""))
            return points[0][3]

        keys.append((latest, ascending))
    if "creation_timestamp_ms" not in names:
        keys.append((lambda r: r[5], False))
    if "model_id" not in names:
        keys.append((lambda r: r[1], True))
    out = list(rows)
    for get, ascending in reversed(keys):
        present = [r for r in out if get(r) is not None]
        missing = [r for r in out if get(r) is None]
        present.sort(key=get, reverse=not ascending)
        out = present + missing  # nulls last either way, as MLflow sorts them
    return out


def _token(req: m.SearchLoggedModels, offset: int) -> str:
    order_by = [
        {
            "field_name": ob.field_name,
            "ascending": ob.ascending is not False,
            "dataset_name": ob.dataset_name,
            "dataset_digest": ob.dataset_digest,
        }
        for ob in req.order_by
    ]
    body = {
        "experiment_ids": req.experiment_ids,
        "filter_string": req.filter,
        "order_by": order_by or None,
        "offset": offset,
    }
    return base64.b64encode(json.dumps(body).encode()).decode()


def _offset(req: m.SearchLoggedModels) -> int:
    if not req.page_token:
        return 0
    try:
        body = json.loads(base64.b64decode(req.page_token, validate=True))
        offset = int(body["offset"])
    except (ValueError, KeyError, TypeError):
        # MLflow fails on such a token with an unhandled error (an HTML 500); the stub keeps its JSON errors.
        raise StubError(m.ErrorCode.INTERNAL_ERROR, f"Invalid page token: {req.page_token!r}.") from None
    expected = json.loads(base64.b64decode(_token(req, offset)))
    for field in ("experiment_ids", "filter_string", "order_by"):
        if body.get(field) != expected[field]:
            raise invalid(f"Page token does not match the request: '{field}' differs.")
    return offset


# -- handlers ---------------------------------------------------------------------------------------


def _blank_keys(*entries: list[m.LoggedModelParameter] | list[m.LoggedModelTag]) -> None:
    """MLflow stores params and tags of logged models unchecked; a missing key or value is an empty one."""
    for items in entries:
        for x in items:
            x.key, x.value = x.key or "", x.value or ""


@handles("createLoggedModel")
def create_logged_model(store: Store, req: m.CreateLoggedModel) -> m.CreateLoggedModelResponse:
    name = req.name
    if name is not None and (not name or any(c in name for c in _BAD_NAME_CHARS)):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string and cannot contain the "
            f"following characters: {_BAD_NAME_CHARS}"
        )
    experiment = store.get_experiment(str(req.experiment_id))
    if experiment.lifecycle_stage != ACTIVE:
        raise invalid(
            f"The experiment {req.experiment_id} must be in the 'active' state. "
            f"Current state is {experiment.lifecycle_stage}."
        )
    _blank_keys(req.params, req.tags)
    model = logged_models(store).create(
        experiment, name or generate_run_name(), req.model_type, req.source_run_id, req.params, req.tags
    )
    return m.CreateLoggedModelResponse(model=model)


@handles("getLoggedModel")
def get_logged_model(store: Store, req: m.GetLoggedModel) -> m.GetLoggedModelResponse:
    return m.GetLoggedModelResponse(model=logged_models(store).get(str(req.model_id)))


@handles("finalizeLoggedModel")
def finalize_logged_model(store: Store, req: m.FinalizeLoggedModel) -> m.FinalizeLoggedModelResponse:
    return m.FinalizeLoggedModelResponse(model=logged_models(store).finalize(str(req.model_id), str(req.status)))


@handles("deleteLoggedModel")
def delete_logged_model(store: Store, req: m.DeleteLoggedModel) -> m.DeleteLoggedModelResponse:
    logged_models(store).delete(str(req.model_id))
    return m.DeleteLoggedModelResponse()


@handles("setLoggedModelTags")
def set_logged_model_tags(store: Store, req: m.SetLoggedModelTags) -> m.SetLoggedModelTagsResponse:
    _blank_keys(req.tags)
    logged_models(store).set_tags(str(req.model_id), req.tags)
    return m.SetLoggedModelTagsResponse()


@handles("deleteLoggedModelTag")
def delete_logged_model_tag(store: Store, req: m.DeleteLoggedModelTag) -> m.DeleteLoggedModelTagResponse:
    logged_models(store).delete_tag(str(req.model_id), str(req.tag_key))
    return m.DeleteLoggedModelTagResponse()


@handles("logLoggedModelParams")
def log_logged_model_params(store: Store, req: m.LogLoggedModelParamsRequest) -> m.LogLoggedModelParamsRequestResponse:
    _blank_keys(req.params)
    logged_models(store).log_params(str(req.model_id), req.params)
    return m.LogLoggedModelParamsRequestResponse()


@handles("searchLoggedModels")
def search_logged_models(store: Store, req: m.SearchLoggedModels) -> m.SearchLoggedModelsResponse:
    if not req.experiment_ids:
        raise invalid(
            "Missing value for required parameter 'experiment_ids'. "
            "See the API docs for more information about request parameters."
        )
    for e in req.experiment_ids:
        if not e.isdigit():
            raise invalid(f"Invalid experiment ID '{e}'. Experiment ID must be a valid integer.")
    lms = logged_models(store)
    offset = _offset(req)
    preds = _predicates(lms, req.filter, req.datasets)
    rows = [r for r in lms.rows(req.experiment_ids) if all(p(r) for p in preds)]
    rows = _sort(lms, rows, req.order_by)
    max_results = req.max_results or SEARCH_DEFAULT
    window = rows[offset : offset + max_results + 1]
    token = _token(req, offset + max_results) if len(window) > max_results else None
    return m.SearchLoggedModelsResponse(models=[lms.model(r) for r in window[:max_results]], next_page_token=token)


@handles("logOutputs")
def log_outputs(store: Store, req: m.LogOutputs) -> m.LogOutputsResponse:
    run_id = str(req.run_id)
    if not req.models:
        raise invalid(
            "Missing value for required parameter 'models'. "
            "See the API docs for more information about request parameters."
        )
    run = store.get_run(run_id)
    stage = run.info.lifecycle_stage if run.info else ACTIVE
    if stage != ACTIVE:
        raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")
    logged_models(store).log_outputs(run_id, req.models)
    return m.LogOutputsResponse()


# -- what needs the server (artifacts) or follows other RPCs ---------------------------------------


def _artifact_files(server: StubHTTPServer, uri: str, path: str) -> list[m.FileInfo]:
    if uri.lower().startswith("file:"):
        from mlflow_client.artifacts._local import LocalArtifactRepository
        from mlflow_client.exceptions import MlflowException

        try:
            return [f._to_wire() for f in LocalArtifactRepository(uri).list_artifacts(path or None)]
        except MlflowException as err:
            raise invalid(err.message) from None
    root = _proxy_root(uri)
    if path:
        server.artifacts.resolve(f"{root}/{path}")
    return server.artifacts.list_run(root, path)


def _proxy_root(uri: str) -> str:
    if not uri.startswith("mlflow-artifacts:"):
        raise invalid(f"The stub only serves artifacts it stores itself, not {uri}")
    return uri[len("mlflow-artifacts:") :].lstrip("/")


def list_logged_model_artifacts(server: StubHTTPServer, req: msgspec.Struct) -> m.ListLoggedModelArtifactsResponse:
    assert isinstance(req, m.ListLoggedModelArtifacts)
    model = logged_models(server.store).get(str(req.model_id))
    uri = str(model.info.artifact_uri if model.info else "")
    files = _artifact_files(server, uri, (req.artifact_directory_path or "").strip("/"))
    return m.ListLoggedModelArtifactsResponse(root_uri=uri, files=files)


SERVER_HANDLERS: dict[str, Callable[[StubHTTPServer, msgspec.Struct], msgspec.Struct]] = {
    "listLoggedModelArtifacts": list_logged_model_artifacts,
}


def serve_model_file(handler: RequestHandler, request: msgspec.Struct) -> None:
    """``GET /ajax-api/2.0/mlflow/logged-models/<id>/artifacts/files?artifact_file_path=...``: one file of a
    logged model, the route MLflow 3's client downloads models with."""
    assert isinstance(request, m.ArtifactsGetLoggedModelArtifact)
    file_path = request.artifact_file_path
    if not file_path:
        raise StubError(m.ErrorCode.BAD_REQUEST, 'Request must include the "artifact_file_path" query parameter.')
    handler.server.artifacts.resolve(file_path)  # refuse traversal first, as MLflow does
    model = logged_models(handler.server.store).get(str(request.model_id))
    uri = str(model.info.artifact_uri if model.info else "")
    content_type = mimetypes.guess_type(file_path)[0] or "text/plain"
    if uri.lower().startswith("file:"):
        from mlflow_client.artifacts._local import local_root

        root = Path(local_root(uri)).resolve()
        target = (root / file_path).resolve()
        if root not in target.parents or not target.is_file():
            raise not_found(f"No such artifact: '{file_path}'")
        handler._send(200, target.read_bytes(), content_type)
        return
    size, chunks = handler.server.artifacts.open_for_read(f"{_proxy_root(uri)}/{file_path}")
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    if handler.command != "HEAD":
        for block in chunks:
            handler.wfile.write(block)


# RPCs whose model_id MLflow reads from the body only (the URL's is ignored).
_BODY_MODEL_ID = {"logLoggedModelParams", "finalizeLoggedModel"}


def path_arguments(rpc: str, data: dict[str, Any], path_args: dict[str, str]) -> None:
    """Put the URL's path arguments into a request's fields (decoded JSON or query), as MLflow does."""
    from urllib.parse import unquote

    for key, value in path_args.items():
        if rpc in _BODY_MODEL_ID and key == "model_id":
            continue  # MLflow takes the body's model_id here, whatever the URL says
        data[key] = unquote(value)


def after(store: Store, rpc: str, request: msgspec.Struct, response: msgspec.Struct | bytes) -> None:
    """What other RPCs add to logged models and runs: model metrics, and the outputs runs show."""
    if rpc == "logMetric" and isinstance(request, m.LogMetric) and request.model_id:
        metric = m.Metric(
            key=request.key,
            value=request.value,
            timestamp=request.timestamp,
            step=request.step,
            model_id=request.model_id,
            dataset_name=request.dataset_name,
            dataset_digest=request.dataset_digest,
        )
        logged_models(store).log_metrics(str(request.run_id or request.run_uuid), [metric])
    elif rpc == "logBatch" and isinstance(request, m.LogBatch):
        logged_models(store).log_metrics(str(request.run_id), request.metrics)
    elif isinstance(response, m.GetRunResponse) and response.run is not None:
        _with_outputs(store, [response.run])
    elif isinstance(response, m.SearchRunsResponse):
        _with_outputs(store, response.runs)


def _with_outputs(store: Store, runs: list[m.Run]) -> None:
    lms = logged_models(store)
    for run in runs:
        # Every backend answers "outputs": {} for a run without any, as MLflow's SQL store does.
        outputs = lms.outputs(str(run.info.run_id)) if run.info is not None else []
        run.outputs = m.RunOutputs(model_outputs=outputs)
