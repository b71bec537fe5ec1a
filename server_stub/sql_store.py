"""Tracking state in SQLite: ``:memory:`` by default, a WAL-mode file for ``sqlite:///path.db``.

One implementation serves both, so the in-memory and persistent stubs cannot drift apart. All access
goes through one connection guarded by a lock: SQLite serialises writers anyway, and a single
connection keeps ``:memory:`` databases shared between the server's threads.
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import msgspec
from mlflow_client._generated import models as m

from .errors import StubError, invalid, not_found
from .histories import SortKey, WireHistories

_json = msgspec.json.encode

ACTIVE, DELETED = "active", "deleted"
# SQL stores keep +-infinity as the largest finite doubles; NaN is kept as a flag (SQLite turns NaN into NULL).
_MAX_DOUBLE = 1.7976931348623157e308

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    experiment_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, artifact_location TEXT,
    lifecycle_stage TEXT NOT NULL, creation_time INTEGER, last_update_time INTEGER);
CREATE TABLE IF NOT EXISTS experiment_tags (
    experiment_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (experiment_id, key));
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, experiment_id INTEGER NOT NULL, run_name TEXT, user_id TEXT, status TEXT,
    start_time INTEGER, end_time INTEGER, artifact_uri TEXT, lifecycle_stage TEXT NOT NULL,
    deleted_time INTEGER);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment_id);
CREATE TABLE IF NOT EXISTS params (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS tags (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL,
    is_nan INTEGER NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT NULL,
    dataset_name TEXT, dataset_digest TEXT, model_id TEXT,
    wire TEXT NOT NULL,
    UNIQUE (run_id, key, timestamp, step, value, is_nan));
CREATE INDEX IF NOT EXISTS metrics_by_run_key ON metrics (run_id, key);
CREATE TABLE IF NOT EXISTS latest_metrics (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, is_nan INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    step INTEGER NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS inputs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, name TEXT, digest TEXT, source_type TEXT,
    source TEXT, schema TEXT, profile TEXT, tags TEXT NOT NULL,
    UNIQUE (run_id, name, digest));
CREATE TABLE IF NOT EXISTS model_inputs (run_id TEXT NOT NULL, model_id TEXT NOT NULL, PRIMARY KEY (run_id, model_id));
"""

_RUN_NAME_TAG = "mlflow.runName"
_UPSERT_TAG = "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
_UPSERT_EXPERIMENT_TAG = (
    "INSERT INTO experiment_tags VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"
)

_ADJECTIVES = (
    "able",
    "bold",
    "brave",
    "calm",
    "clever",
    "eager",
    "gentle",
    "honest",
    "jolly",
    "kind",
    "lively",
    "merry",
    "nimble",
    "polite",
    "quick",
    "quiet",
    "sly",
    "sunny",
    "tidy",
    "wise",
)
_NOUNS = (
    "ant",
    "bat",
    "bee",
    "cat",
    "colt",
    "crow",
    "deer",
    "duck",
    "elk",
    "fox",
    "frog",
    "goat",
    "hawk",
    "lark",
    "mole",
    "owl",
    "ram",
    "seal",
    "swan",
    "wolf",
)


def now_ms() -> int:
    return int(time.time() * 1000)


def generate_run_name() -> str:
    """Names shaped like MLflow's: adjective-noun-number."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"


def _stored_value(value: float) -> tuple[float | None, int]:
    if math.isnan(value):
        return 0.0, 1  # as MLflow stores it: 0 plus a flag, so NaN ranks as 0 and duplicates collapse
    if math.isinf(value):
        return math.copysign(_MAX_DOUBLE, value), 0
    return value, 0


def _loaded_value(value: float | None, is_nan: int) -> float:
    return math.nan if is_nan else float(value if value is not None else 0.0)


def _wire_point(key: str, value: float, timestamp: int, step: int) -> str:
    """A history point as getMetricHistory sends it: what ``encode(m.Metric(...))`` gives, built without a
    message, since one is stored beside every point logged. Only NaN needs spelling (infinities are stored as the
    largest doubles), and SQLite keeps no negative zero, so such a point reads back as 0.0."""
    value_json = '"NaN"' if math.isnan(value) else _json(value or 0.0).decode()
    return f'{{"key":{_json(key).decode()},"value":{value_json},"timestamp":{timestamp},"step":{step}}}'


def _newer(a: tuple[int, int, float], b: tuple[int, int, float]) -> bool:
    """Whether metric point ``a`` (step, timestamp, value) replaces ``b`` as the latest value."""
    if a[:2] != b[:2]:
        return a[:2] > b[:2]
    # Same step and time: the larger value wins; NaN never displaces a number.
    return not math.isnan(a[2]) and (math.isnan(b[2]) or a[2] > b[2])


class SqlStore:
    """Experiments, runs and their data, with MLflow's rules for lifecycle and immutability."""

    def __init__(self, path: str = ":memory:", artifact_root: str = "mlflow-artifacts:") -> None:
        self.path = path
        self.artifact_root = artifact_root.rstrip("/")
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_wire_column()
        self._histories = WireHistories()
        self._data_version = self._current_data_version()
        self._ensure_default_experiment()

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: everything inside commits together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _add_wire_column(self) -> None:
        """Databases written before metrics kept their wire form get the column, filled in."""
        with self._tx() as db:
            if any(col[1] == "wire" for col in db.execute("PRAGMA table_info(metrics)")):
                return
            db.execute("ALTER TABLE metrics ADD COLUMN wire TEXT NOT NULL DEFAULT ''")
            rows = db.execute("SELECT seq, key, value, is_nan, timestamp, step FROM metrics").fetchall()
            db.executemany(
                "UPDATE metrics SET wire = ? WHERE seq = ?",
                [(_wire_point(k, _loaded_value(v, nan), ts, step), seq) for seq, k, v, nan, ts, step in rows],
            )

    def _current_data_version(self) -> int:
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        return int(version)

    def _kept_histories(self) -> WireHistories:
        """The kept histories, forgotten first if another connection has written to the database since."""
        version = self._current_data_version()
        if version != self._data_version:
            self._histories.clear()
            self._data_version = version
        return self._histories

    def _ensure_default_experiment(self) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone() is None:
                t = now_ms()
                db.execute(
                    "INSERT INTO experiments VALUES (0, 'Default', ?, ?, ?, ?)",
                    (f"{self.artifact_root}/0", ACTIVE, t, t),
                )

    def reset(self) -> None:
        with self._tx() as db:
            for table in (
                "experiments",
                "experiment_tags",
                "runs",
                "params",
                "tags",
                "metrics",
                "latest_metrics",
                "inputs",
                "model_inputs",
            ):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM sqlite_sequence")
            self._histories.clear()
        self._ensure_default_experiment()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- experiments ----------------------------------------------------------------------------

    @staticmethod
    def _experiment_pk(experiment_id: str) -> int:
        try:
            return int(experiment_id)
        except (TypeError, ValueError):
            raise invalid(f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer.") from None

    def create_experiment(self, name: str, artifact_location: str | None, tags: Sequence[m.ExperimentTag]) -> str:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone():
                raise StubError(m.ErrorCode.RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists.")
            t = now_ms()
            cur = db.execute(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, artifact_location, ACTIVE, t, t),
            )
            exp_id = cur.lastrowid
            if not artifact_location:
                db.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (f"{self.artifact_root}/{exp_id}", exp_id),
                )
            db.executemany(_UPSERT_EXPERIMENT_TAG, [(exp_id, t.key, t.value) for t in tags])
        return str(exp_id)

    def _experiment_row(self, pk: int) -> tuple[object, ...]:
        rows = self._query("SELECT * FROM experiments WHERE experiment_id = ?", (pk,))
        if not rows:
            raise not_found(f"No Experiment with id={pk} exists")
        return rows[0]

    def _experiment(self, row: tuple[object, ...]) -> m.Experiment:
        exp_id, name, location, stage, created, updated = row
        tags = [
            m.ExperimentTag(key=str(k), value=str(v))
            for k, v in self._query(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY rowid", (exp_id,)
            )
        ]
        return m.Experiment(
            experiment_id=str(exp_id),
            name=str(name),
            artifact_location=str(location),
            lifecycle_stage=str(stage),
            creation_time=int(str(created)),
            last_update_time=int(str(updated)),
            workspace="default",
            tags=tags,
        )

    def get_experiment(self, experiment_id: str) -> m.Experiment:
        return self._experiment(self._experiment_row(self._experiment_pk(experiment_id)))

    def get_experiment_by_name(self, name: str) -> m.Experiment:
        rows = self._query("SELECT * FROM experiments WHERE name = ?", (name,))
        if not rows:
            raise not_found(f"Could not find experiment with name '{name}'")
        return self._experiment(rows[0])

    def list_experiments(self, view_type: str) -> list[m.Experiment]:
        stages = {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,)}.get(view_type, (ACTIVE, DELETED))
        marks = ",".join("?" * len(stages))
        rows = self._query(f"SELECT * FROM experiments WHERE lifecycle_stage IN ({marks})", stages)
        return [self._experiment(row) for row in rows]

    def _active_experiment(self, db: sqlite3.Connection, experiment_id: str) -> int:
        pk = self._experiment_pk(experiment_id)
        row = db.execute("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (pk,)).fetchone()
        if row is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        if row[0] != ACTIVE:
            raise invalid(f"The experiment {experiment_id} must be in the 'active' state. Current state is {row[0]}.")
        return pk

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with self._tx() as db:
            pk = self._experiment_pk(experiment_id)
            row = db.execute("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (pk,)).fetchone()
            if row is None:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            if row[0] != ACTIVE:
                # MLflow's answer, odd as a 500 is for a client's request: a client that retries 5xx meets it too.
                raise StubError(m.ErrorCode.INVALID_STATE, "Cannot rename a non-active experiment.")
            clash = db.execute("SELECT experiment_id FROM experiments WHERE name = ?", (new_name,)).fetchone()
            if clash and clash[0] != pk:
                # MLflow lets the database's unique constraint answer: BAD_REQUEST, not RESOURCE_ALREADY_EXISTS.
                raise StubError(m.ErrorCode.BAD_REQUEST, f"An experiment named '{new_name}' already exists.")
            db.execute(
                "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                (new_name, now_ms(), pk),
            )

    def delete_experiment(self, experiment_id: str) -> None:
        with self._tx() as db:
            pk = self._experiment_pk(experiment_id)
            row = db.execute("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (pk,)).fetchone()
            if row is None or row[0] != ACTIVE:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            t = now_ms()
            db.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
                (DELETED, t, pk),
            )
            db.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = ?",
                (DELETED, t, pk, ACTIVE),
            )

    def restore_experiment(self, experiment_id: str) -> None:
        with self._tx() as db:
            pk = self._experiment_pk(experiment_id)
            row = db.execute("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (pk,)).fetchone()
            if row is None or row[0] != DELETED:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            db.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
                (ACTIVE, now_ms(), pk),
            )
            db.execute("UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE experiment_id = ?", (ACTIVE, pk))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with self._tx() as db:
            pk = self._active_experiment(db, experiment_id)
            db.execute(_UPSERT_EXPERIMENT_TAG, (pk, key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self._tx() as db:
            pk = self._active_experiment(db, experiment_id)
            cur = db.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (pk, key))
            if cur.rowcount == 0:
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}")

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, run_name: str, start_time: int, tags: Sequence[m.RunTag]
    ) -> m.Run:
        run_id = uuid.uuid4().hex
        with self._tx() as db:
            pk = self._active_experiment(db, experiment_id)
            (location,) = db.execute(
                "SELECT artifact_location FROM experiments WHERE experiment_id = ?", (pk,)
            ).fetchone()
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
                (
                    run_id,
                    pk,
                    run_name,
                    user_id,
                    m.RunStatus.RUNNING,
                    start_time,
                    f"{str(location).rstrip('/')}/{run_id}/artifacts",
                    ACTIVE,
                ),
            )
            db.executemany(_UPSERT_TAG, [(run_id, t.key, t.value) for t in tags])
        return self.get_run(run_id)

    def _run_stage(self, db: sqlite3.Connection, run_id: str) -> str:
        row = db.execute("SELECT lifecycle_stage FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise not_found(f"Run with id={run_id} not found")
        return str(row[0])

    def _active_run(self, db: sqlite3.Connection, run_id: str) -> None:
        stage = self._run_stage(db, run_id)
        if stage != ACTIVE:
            raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")

    def get_run(self, run_id: str) -> m.Run:
        with self._lock:  # one acquisition for the run's several queries
            rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
            if not rows:
                raise not_found(f"Run with id={run_id} not found")
            return self._run(rows[0])

    def _run_info(self, row: tuple[object, ...]) -> m.RunInfo:
        run_id, exp_id, name, user, status, start, end, uri, stage, _deleted = row
        return m.RunInfo(
            run_id=str(run_id),
            run_uuid=str(run_id),
            run_name=str(name),
            experiment_id=str(exp_id),
            user_id=str(user),
            status=str(status),
            start_time=int(str(start)),
            end_time=int(str(end)) if end is not None else None,
            artifact_uri=str(uri),
            lifecycle_stage=str(stage),
        )

    def _run(self, row: tuple[object, ...]) -> m.Run:
        return self._runs([row], "run_id = ?", (row[0],))[0]

    def _runs(self, rows: list[tuple[object, ...]], where: str, args: Sequence[object]) -> list[m.Run]:
        """The runs of ``rows`` (``SELECT * FROM runs WHERE <where>``) with their data and inputs, in one query
        per table rather than per run (a search of 10,000 runs was 50,000 queries)."""
        import json

        if not rows:
            return []
        of_runs = f"run_id IN (SELECT run_id FROM runs WHERE {where})"
        metrics: dict[object, list[m.Metric]] = {}
        for run_id, k, v, nan, ts, step in self._query(
            f"SELECT run_id, key, value, is_nan, timestamp, step FROM latest_metrics WHERE {of_runs} ORDER BY rowid",
            args,
        ):
            metrics.setdefault(run_id, []).append(
                m.Metric(key=str(k), value=_loaded_value(v, int(str(nan))), timestamp=int(str(ts)), step=int(str(step)))  # type: ignore[arg-type]
            )
        params: dict[object, list[m.Param]] = {}
        for run_id, k, v in self._query(f"SELECT run_id, key, value FROM params WHERE {of_runs} ORDER BY rowid", args):
            params.setdefault(run_id, []).append(m.Param(key=str(k), value=str(v)))
        tags: dict[object, list[m.RunTag]] = {}
        for run_id, k, v in self._query(f"SELECT run_id, key, value FROM tags WHERE {of_runs} ORDER BY rowid", args):
            tags.setdefault(run_id, []).append(m.RunTag(key=str(k), value=str(v)))
        datasets: dict[object, list[m.DatasetInput]] = {}
        for run_id, name, digest, source_type, source, schema, profile, input_tags in self._query(
            "SELECT run_id, name, digest, source_type, source, schema, profile, tags FROM inputs "
            f"WHERE {of_runs} ORDER BY seq",
            args,
        ):
            dataset = m.Dataset(
                name=str(name),
                digest=str(digest),
                source_type=str(source_type),
                source=str(source),
                schema=None if schema is None else str(schema),
                profile=None if profile is None else str(profile),
            )
            tag_list = [m.InputTag(key=k, value=v) for k, v in json.loads(str(input_tags))]
            datasets.setdefault(run_id, []).append(m.DatasetInput(tags=tag_list, dataset=dataset))
        models: dict[object, list[m.ModelInput]] = {}
        for run_id, mid in self._query(
            f"SELECT run_id, model_id FROM model_inputs WHERE {of_runs} ORDER BY model_id", args
        ):
            models.setdefault(run_id, []).append(m.ModelInput(model_id=str(mid)))
        return [
            m.Run(
                info=self._run_info(row),
                data=m.RunData(
                    metrics=metrics.get(row[0]) or [], params=params.get(row[0]) or [], tags=tags.get(row[0]) or []
                ),
                inputs=m.RunInputs(dataset_inputs=datasets.get(row[0]) or [], model_inputs=models.get(row[0]) or []),
                outputs=m.RunOutputs(),
            )
            for row in rows
        ]

    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> m.RunInfo:
        with self._tx() as db:
            self._active_run(db, run_id)
            if status is not None:
                db.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))
            if end_time is not None:
                db.execute("UPDATE runs SET end_time = ? WHERE run_id = ?", (end_time, run_id))
            if run_name:
                db.execute("UPDATE runs SET run_name = ? WHERE run_id = ?", (run_name, run_id))
                db.execute(_UPSERT_TAG, (run_id, _RUN_NAME_TAG, run_name))
        return self._run_info(self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))[0])

    def delete_run(self, run_id: str) -> None:
        with self._tx() as db:
            self._run_stage(db, run_id)
            db.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?", (DELETED, now_ms(), run_id)
            )

    def restore_run(self, run_id: str) -> None:
        with self._tx() as db:
            self._run_stage(db, run_id)
            db.execute("UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE run_id = ?", (ACTIVE, run_id))

    def log_batch(
        self, run_id: str, metrics: Sequence[m.Metric], params: Sequence[m.Param], tags: Sequence[m.RunTag]
    ) -> None:
        """Log everything or nothing: any conflict rolls the whole batch back."""
        with self._lock:
            with self._tx() as db:
                self._active_run(db, run_id)
                for p in params:
                    row = db.execute(
                        "SELECT value FROM params WHERE run_id = ? AND key = ?", (run_id, p.key)
                    ).fetchone()
                    if row is not None and row[0] != p.value:
                        raise invalid(
                            f"Changing param values is not allowed. Param with key='{p.key}' was already logged "
                            f"with value='{row[0]}' for run ID='{run_id}'. Attempted logging new value '{p.value}'."
                        )
                db.executemany(
                    "INSERT OR IGNORE INTO params VALUES (?, ?, ?)", [(run_id, p.key, p.value) for p in params]
                )
                # An empty run name is ignored altogether: the tag and the run keep their name.
                tags = [t for t in tags if t.key != _RUN_NAME_TAG or t.value]
                db.executemany(_UPSERT_TAG, [(run_id, t.key, t.value) for t in tags])
                for t in tags:
                    if t.key == _RUN_NAME_TAG:
                        db.execute("UPDATE runs SET run_name = ? WHERE run_id = ?", (t.value, run_id))
                logged, new_keys = self._log_metrics(db, run_id, metrics)
            # Committed, and still under the lock: no reader sees the database and the kept histories disagree.
            self._kept_histories().extend(run_id, logged, new_keys)

    def _log_metrics(
        self, db: sqlite3.Connection, run_id: str, metrics: Sequence[m.Metric]
    ) -> tuple[dict[str, list[tuple[SortKey, str]]], set[str]]:
        """Store the points; answer each key's points as (sort key, wire form), and the keys new to the run."""
        logged: dict[str, list[tuple[SortKey, str]]] = {}
        if not metrics:
            return logged, set()
        rows = []
        latest: dict[str, tuple[int, int, float]] = {}
        for key, v, nan, ts, step in db.execute(
            "SELECT key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_id = ?", (run_id,)
        ):
            latest[key] = (step, ts, _loaded_value(v, nan))
        new_keys = {str(x.key) for x in metrics} - latest.keys()
        changed = set()
        for x in metrics:
            value = float(x.value if x.value is not None else 0.0)
            stored, nan = _stored_value(value)
            step = x.step or 0
            point = (step, x.timestamp or 0, value if nan else float(stored or 0.0))
            key, timestamp = str(x.key), x.timestamp or 0
            wire = _wire_point(key, _loaded_value(stored, nan), timestamp, step)
            rows.append((run_id, key, stored, nan, timestamp, step, x.dataset_name, x.dataset_digest, x.model_id, wire))
            logged.setdefault(key, []).append(((timestamp, step, float(stored or 0.0), nan), wire))
            if key not in latest or _newer(point, latest[key]):
                latest[key] = point
                changed.add(key)
        db.executemany(
            "INSERT OR IGNORE INTO metrics (run_id, key, value, is_nan, timestamp, step, dataset_name, "
            "dataset_digest, model_id, wire) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET "
            "value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step",
            [(run_id, k, *_stored_value(latest[k][2]), latest[k][1], latest[k][0]) for k in sorted(changed)],
        )
        return logged, new_keys

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._tx() as db:
            self._active_run(db, run_id)
            cur = db.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", (run_id, key))
            if cur.rowcount == 0:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")

    def log_inputs(self, run_id: str, datasets: Sequence[m.DatasetInput], models: Sequence[m.ModelInput]) -> None:
        import json

        with self._tx() as db:
            self._active_run(db, run_id)
            for d in datasets:
                ds = d.dataset
                assert ds is not None
                tags = json.dumps([[t.key, t.value] for t in d.tags])
                db.execute(
                    "INSERT OR IGNORE INTO inputs (run_id, name, digest, source_type, source, schema, profile, tags)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile, tags),
                )
            db.executemany("INSERT OR IGNORE INTO model_inputs VALUES (?, ?)", [(run_id, x.model_id) for x in models])

    def list_runs(self, experiment_ids: Sequence[str], view_type: str) -> list[m.Run]:
        stages = {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,)}.get(view_type, (ACTIVE, DELETED))
        pks = []
        for e in experiment_ids:
            try:
                pks.append(int(e))
            except ValueError:
                raise invalid(f"Invalid experiment ID '{e}'. Experiment ID must be a valid integer.") from None
        if not pks:
            return []
        where = f"experiment_id IN ({','.join('?' * len(pks))}) AND lifecycle_stage IN ({','.join('?' * len(stages))})"
        args = (*pks, *stages)
        with self._lock:  # one snapshot for the runs and their data
            return self._runs(self._query(f"SELECT * FROM runs WHERE {where}", args), where, args)

    def metric_history(self, run_id: str, key: str) -> list[m.Metric]:
        # NaN comes back from SQL directly, so the hot loop below is a bare constructor call.
        rows = self._query(
            "SELECT CASE WHEN is_nan THEN NULL ELSE value END, timestamp, step FROM metrics "
            "WHERE run_id = ? AND key = ? ORDER BY timestamp, step, value, is_nan",
            (run_id, key),
        )
        metric, nan = m.Metric, math.nan
        return [
            metric(key=key, value=nan if v is None else v, timestamp=ts, step=step)  # type: ignore[arg-type]
            for v, ts, step in rows
        ]

    def metric_history_json(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[bytes, int]:
        """Points ``offset`` to ``offset + limit`` of ``metric_history``, as comma-separated JSON objects, and how
        many points the history has in all. Whole histories come from the kept ones (``histories.py``); the rest
        is joined inside SQLite from each point's stored wire form, with no Python object per point."""
        where = "FROM metrics WHERE run_id = ? AND key = ?"
        with self._lock:
            whole = offset == 0 and limit is None
            if whole and (kept := self._kept_histories().get(run_id, key)) is not None:
                return kept
            (total,) = self._db.execute(f"SELECT count(*) {where}", (run_id, key)).fetchone()
            # SQLite keeps an ordered subquery's order for an aggregate over it (it does not flatten such a
            # subquery); ORDER BY inside group_concat itself only came in SQLite 3.44.
            (joined,) = self._db.execute(
                f"SELECT group_concat(wire, ',') FROM (SELECT wire {where} "
                "ORDER BY timestamp, step, value, is_nan LIMIT ? OFFSET ?)",
                (run_id, key, -1 if limit is None else limit, offset),
            ).fetchone()
            points = (joined or "").encode()
            if whole and total:
                last = self._db.execute(
                    f"SELECT timestamp, step, value, is_nan {where} "
                    "ORDER BY timestamp DESC, step DESC, value DESC, is_nan DESC LIMIT 1",
                    (run_id, key),
                ).fetchone()
                self._histories.put(run_id, key, points, total, (last[0], last[1], float(last[2]), last[3]))
        return points, total

    def run_exists(self, run_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))
