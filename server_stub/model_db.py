"""Where the stub keeps registered models, model versions, logged models and run outputs.

Beside the tracking data, in SQLite: for the SQL store (``memory:`` and ``sqlite:///``) the very same
database and connection (tables of their own, so one transaction and one lock cover both); for the
file backend (an ``mlruns`` folder) a SQLite file ``stub-models.db`` at the folder's root. MLflow's own
file store keeps registry data in YAML folders that nothing else reads; a side database keeps one
implementation of the registry for every backend. The file store skips it: it only lists folders.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS registered_models (
    name TEXT PRIMARY KEY, creation_time INTEGER NOT NULL, last_updated_time INTEGER NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS registered_model_tags (
    name TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (name, key));
CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL, description TEXT, current_stage TEXT NOT NULL, source TEXT,
    storage_location TEXT, run_id TEXT, run_link TEXT, model_id TEXT, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS model_version_tags (
    name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (name, version, key));
CREATE TABLE IF NOT EXISTS registered_model_aliases (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias));
CREATE TABLE IF NOT EXISTS logged_models (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL UNIQUE, experiment_id TEXT NOT NULL,
    name TEXT NOT NULL, artifact_location TEXT NOT NULL, creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL, model_type TEXT, status TEXT NOT NULL, lifecycle_stage TEXT NOT NULL,
    source_run_id TEXT, status_message TEXT);
CREATE TABLE IF NOT EXISTS logged_model_params (
    model_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (model_id, key));
CREATE TABLE IF NOT EXISTS logged_model_tags (
    model_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (model_id, key));
CREATE TABLE IF NOT EXISTS logged_model_metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, run_id TEXT, key TEXT NOT NULL,
    value REAL, is_nan INTEGER NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT NULL,
    dataset_name TEXT, dataset_digest TEXT);
CREATE INDEX IF NOT EXISTS logged_model_metrics_by_model ON logged_model_metrics (model_id);
CREATE TABLE IF NOT EXISTS run_outputs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, model_id TEXT NOT NULL, step INTEGER NOT NULL,
    UNIQUE (run_id, model_id));
"""
TABLES = (
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "run_outputs",
)
Row = tuple[Any, ...]


class ModelDb:
    """One SQLite connection (shared with the SQL store where there is one) and its lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock, owned: bool = False) -> None:
        self.db, self.lock, self.owned = db, lock, owned
        with self.lock:
            self.db.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def reset(self) -> None:
        with self.tx() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")


_DBS: weakref.WeakKeyDictionary[object, ModelDb] = weakref.WeakKeyDictionary()
_DBS_LOCK = threading.Lock()


def model_db(store: object) -> ModelDb:
    """The registry/logged-model database belonging to a tracking store, made on first use."""
    with _DBS_LOCK:
        found = _DBS.get(store)
        if found is None:
            found = _DBS[store] = _open(store)
        return found


def _open(store: object) -> ModelDb:
    from .file_backend import FileBackend
    from .sql_store import SqlStore

    if isinstance(store, SqlStore):
        return ModelDb(store._db, store._lock)
    if isinstance(store, FileBackend):
        path = store.files.root / "stub-models.db"
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return ModelDb(db, threading.RLock(), owned=True)
    return ModelDb(sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None), threading.RLock(), True)


def reset(store: object) -> None:
    """Forget every registered model and logged model of ``store`` (the stub's reset)."""
    model_db(store).reset()
