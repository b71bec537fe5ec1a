"""State of MLflow 3's logged models and run outputs (RPCs in ``logged_models``), as a real 3.17.2 server
(SQLite backend) has them.

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

import json
import math
import sqlite3
import uuid

from mlflow_client._generated import models as m

from .errors import StubError, not_found
from .handlers import Store
from .model_db import ModelDb, Row, model_db
from .registry_store import MODEL_VERSIONS_TAG
from .sql_store import now_ms

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
