"""The Model Registry's state and rules: registered models, their versions, tags, aliases and stages, as
MLflow keeps them (the RPCs are in ``registry``).

State lives in ``model_db`` (beside the tracking data); this module holds the semantics, checked
against a real MLflow 3.17.2 server with a SQLite backend:

- version numbers count per model from 1 and are never reused: a deleted version is kept, hidden and
  redacted, as MLflow's SQL store does;
- an alias names one version; setting it again moves it, deleting its version removes it;
- renaming moves the versions, deleting a model deletes its versions, tags and aliases;
- ``archive_existing_versions`` archives the other versions in the target stage (Staging/Production only;
  for other stages MLflow answers 500 INTERNAL_ERROR, and so does the stub);
- search uses MLflow's filter grammar with case-sensitive ``LIKE`` (MLflow sets SQLite's
  ``case_sensitive_like``) and offset page tokens.
"""

from __future__ import annotations

import re
import sqlite3

from mlflow_client._generated import models as m

from . import handlers
from .errors import StubError, already_exists, invalid, not_found
from .handlers import Store
from .model_db import ModelDb, Row, model_db
from .sql_store import now_ms

STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
DELETED_STAGE = "Deleted_Internal"  # MLflow's marker for a deleted version
PROMPT_TAG = "mlflow.prompt.is_prompt"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"  # on a logged model: the versions registered from it
RM_SEARCH_DEFAULT, RM_SEARCH_MAX = 100, 1000
MV_SEARCH_DEFAULT, MV_SEARCH_MAX = 10000, 200_000
_ALIAS = re.compile(r"^[\w\-]*$")
VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_TAG_VALUE_MAX = 100_000


# -- checks -----------------------------------------------------------------------------------------


def check_name(name: str | None, field: str = "name") -> str:
    if name is None or not name.strip():
        raise invalid(f"Missing value for required parameter '{field}'.")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    return name


def check_version(version: str | int | None) -> int:
    try:
        return int(str(version))
    except ValueError:
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


def canonical_stage(stage: str | None) -> str:
    for s in STAGES:
        if s.lower() == (stage or "").lower():
            return s
    raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.")


def check_alias(alias: str | None) -> str:
    if not alias:
        raise invalid("Registered model alias name cannot be empty.")
    if not _ALIAS.match(alias):
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )
    if len(alias) > 255:
        raise invalid(
            f"Registered model alias name '{alias}' had length {len(alias)}, which exceeded length limit of 255"
        )
    return alias


def check_tag(key: str | None, value: str | None, *, check_value: bool = True) -> tuple[str, str]:
    key = handlers._key(key)
    if check_value and value is not None and len(value) > _TAG_VALUE_MAX:
        raise invalid(f"Tag value '{value[:100]}...' had length {len(value)}, which exceeded length limit of 100000")
    return key, value or ""


# -- reading ----------------------------------------------------------------------------------------

_MV_COLUMNS = (
    "name, version, creation_time, last_updated_time, description, current_stage, source, storage_location, "
    "run_id, run_link, model_id"
)


class Registry:
    def __init__(self, db: ModelDb) -> None:
        self.db = db

    def _model_row(self, db: sqlite3.Connection, name: str) -> Row:
        row = db.execute("SELECT * FROM registered_models WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise not_found(f"Registered Model with name={name} not found")
        return tuple(row)

    def _version_row(self, db: sqlite3.Connection, name: str, version: int) -> Row:
        row = db.execute(
            f"SELECT {_MV_COLUMNS} FROM model_versions WHERE name = ? AND version = ? AND current_stage != ?",
            (name, version, DELETED_STAGE),
        ).fetchone()
        if row is None:
            raise not_found(f"Model Version (name={name}, version={version}) not found")
        return tuple(row)

    def _version(self, db: sqlite3.Connection, row: Row, *, aliases: bool) -> m.ModelVersion:
        name, version, created, updated, description, stage, source, _storage, run_id, run_link, _model_id = row
        tags = [
            m.ModelVersionTag(key=k, value=v)
            for k, v in db.execute(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY rowid",
                (name, version),
            )
        ]
        names = (
            [
                a
                for (a,) in db.execute(
                    "SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY rowid",
                    (name, version),
                )
            ]
            if aliases
            else []
        )
        return m.ModelVersion(
            name=name,
            version=str(version),
            creation_timestamp=created,
            last_updated_timestamp=updated,
            current_stage=stage,
            description=description,
            source=source,
            run_id=run_id or "",
            status=m.ModelVersionStatus.READY,
            tags=tags,
            run_link=run_link or "",
            aliases=names,
        )

    def _latest(self, db: sqlite3.Connection, name: str) -> list[m.ModelVersion]:
        """The newest version of each stage, stages in the order they first appear (as MLflow lists them)."""
        latest: dict[str, Row] = {}
        for row in db.execute(
            f"SELECT {_MV_COLUMNS} FROM model_versions WHERE name = ? AND current_stage != ? ORDER BY version",
            (name, DELETED_STAGE),
        ).fetchall():
            latest[row[5]] = tuple(row)
        return [self._version(db, row, aliases=False) for row in latest.values()]

    def _model(self, db: sqlite3.Connection, row: Row) -> m.RegisteredModel:
        name, created, updated, description = row
        tags = [
            m.RegisteredModelTag(key=k, value=v)
            for k, v in db.execute(
                "SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY rowid", (name,)
            )
        ]
        aliases = [
            m.RegisteredModelAlias(alias=a, version=str(v))
            for a, v in db.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY rowid", (name,)
            )
        ]
        return m.RegisteredModel(
            name=name,
            creation_timestamp=created,
            last_updated_timestamp=updated,
            description=description,
            latest_versions=self._latest(db, name),
            tags=tags,
            aliases=aliases,
        )

    def _touch(self, db: sqlite3.Connection, name: str, t: int) -> None:
        db.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (t, name))

    # -- registered models --------------------------------------------------------------------------

    def create_model(self, name: str, tags: list[m.RegisteredModelTag], description: str | None) -> m.RegisteredModel:
        checked = dict(check_tag(t.key, t.value) for t in tags)
        with self.db.tx() as db:
            if db.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
                raise already_exists(f"Registered Model (name={name}) already exists.")
            t = now_ms()
            db.execute("INSERT INTO registered_models VALUES (?, ?, ?, ?)", (name, t, t, description))
            db.executemany(
                "INSERT INTO registered_model_tags VALUES (?, ?, ?)", [(name, *kv) for kv in checked.items()]
            )
            return self._model(db, self._model_row(db, name))

    def get_model(self, name: str) -> m.RegisteredModel:
        with self.db.lock:
            return self._model(self.db.db, self._model_row(self.db.db, name))

    def update_model(self, name: str, description: str | None) -> m.RegisteredModel:
        with self.db.tx() as db:
            self._model_row(db, name)
            db.execute(
                "UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?",
                (description, now_ms(), name),
            )
            return self._model(db, self._model_row(db, name))

    def rename_model(self, name: str, new_name: str) -> m.RegisteredModel:
        with self.db.tx() as db:
            self._model_row(db, name)
            if (
                new_name != name
                and db.execute("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)).fetchone()
            ):
                raise already_exists(f"Registered Model (name={new_name}) already exists.")
            t = now_ms()
            db.execute(
                "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?", (new_name, t, name)
            )
            db.execute("UPDATE model_versions SET name = ?, last_updated_time = ? WHERE name = ?", (new_name, t, name))
            for table in ("registered_model_tags", "model_version_tags", "registered_model_aliases"):
                db.execute(f"UPDATE {table} SET name = ? WHERE name = ?", (new_name, name))
            return self._model(db, self._model_row(db, new_name))

    def delete_model(self, name: str) -> None:
        with self.db.tx() as db:
            self._model_row(db, name)
            for table in (
                "registered_models",
                "registered_model_tags",
                "model_versions",
                "model_version_tags",
                "registered_model_aliases",
            ):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.tx() as db:
            self._model_row(db, name)
            db.execute(
                "INSERT INTO registered_model_tags VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET value = "
                "excluded.value",
                (name, key, value),
            )

    def delete_model_tag(self, name: str, key: str) -> None:
        with self.db.tx() as db:
            self._model_row(db, name)
            db.execute("DELETE FROM registered_model_tags WHERE name = ? AND key = ?", (name, key))

    def all_models(self) -> list[m.RegisteredModel]:
        with self.db.lock:
            db = self.db.db
            rows = db.execute("SELECT * FROM registered_models").fetchall()
            return [self._model(db, tuple(r)) for r in rows]

    # -- versions -----------------------------------------------------------------------------------

    def create_version(
        self,
        name: str,
        source: str,
        storage_location: str,
        run_id: str | None,
        tags: list[m.ModelVersionTag],
        run_link: str | None,
        description: str | None,
        model_id: str | None,
    ) -> m.ModelVersion:
        checked = dict(check_tag(t.key, t.value, check_value=False) for t in tags)
        with self.db.tx() as db:
            self._model_row(db, name)
            (top,) = db.execute("SELECT max(version) FROM model_versions WHERE name = ?", (name,)).fetchone()
            version = (top or 0) + 1
            t = now_ms()
            db.execute(
                f"INSERT INTO model_versions ({_MV_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, t, t, description, "None", source, storage_location, run_id, run_link, model_id),
            )
            db.executemany(
                "INSERT INTO model_version_tags VALUES (?, ?, ?, ?)", [(name, version, *kv) for kv in checked.items()]
            )
            self._touch(db, name, t)
            return self._version(db, self._version_row(db, name, version), aliases=True)

    def get_version(self, name: str, version: int) -> m.ModelVersion:
        with self.db.lock:
            return self._version(self.db.db, self._version_row(self.db.db, name, version), aliases=True)

    def download_uri(self, name: str, version: int) -> str:
        with self.db.lock:
            row = self._version_row(self.db.db, name, version)
        return str(row[7] or row[6])

    def update_version(self, name: str, version: int, description: str | None) -> m.ModelVersion:
        with self.db.tx() as db:
            self._version_row(db, name, version)
            db.execute(
                "UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?",
                (description, now_ms(), name, version),
            )
            return self._version(db, self._version_row(db, name, version), aliases=True)

    def transition(self, name: str, version: int, stage: str, archive: bool) -> m.ModelVersion:
        if archive and stage not in ACTIVE_STAGES:
            raise StubError(
                m.ErrorCode.INTERNAL_ERROR,
                f"Model version transition cannot archive existing model versions because '{stage}' is not an "
                f"Active stage. Valid stages are {list(ACTIVE_STAGES)}",
            )
        with self.db.tx() as db:
            t = now_ms()
            self._version_row(db, name, version)
            if archive:
                db.execute(
                    "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? "
                    "WHERE name = ? AND version != ? AND current_stage = ?",
                    (t, name, version, stage),
                )
            db.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?",
                (stage, t, name, version),
            )
            self._touch(db, name, t)
            return self._version(db, self._version_row(db, name, version), aliases=True)

    def delete_version(self, name: str, version: int) -> None:
        with self.db.tx() as db:
            self._version_row(db, name, version)
            t = now_ms()
            db.execute("DELETE FROM registered_model_aliases WHERE name = ? AND version = ?", (name, version))
            db.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL, "
                "source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK' "
                "WHERE name = ? AND version = ?",
                (DELETED_STAGE, t, name, version),
            )
            self._touch(db, name, t)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.db.tx() as db:
            self._version_row(db, name, version)
            db.execute(
                "INSERT INTO model_version_tags VALUES (?, ?, ?, ?) ON CONFLICT (name, version, key) DO UPDATE SET "
                "value = excluded.value",
                (name, version, key, value),
            )

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        with self.db.tx() as db:
            self._version_row(db, name, version)
            db.execute(
                "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?", (name, version, key)
            )

    def all_versions(self) -> list[m.ModelVersion]:
        with self.db.lock:
            db = self.db.db
            rows = db.execute(
                f"SELECT {_MV_COLUMNS} FROM model_versions WHERE current_stage != ?", (DELETED_STAGE,)
            ).fetchall()
            return [self._version(db, tuple(r), aliases=False) for r in rows]

    def latest_versions(self, name: str, stages: list[str]) -> list[m.ModelVersion]:
        wanted = {canonical_stage(s) for s in stages} if stages else set(STAGES)
        with self.db.lock:
            db = self.db.db
            self._model_row(db, name)
            out = [v for v in self._latest(db, name) if v.current_stage in wanted]
            for v in out:
                v.aliases = self._version(db, self._version_row(db, name, int(str(v.version))), aliases=True).aliases
            return out

    # -- aliases ------------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with self.db.tx() as db:
            self._version_row(db, name, version)
            db.execute(
                "INSERT INTO registered_model_aliases VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET "
                "version = excluded.version",
                (name, alias, version),
            )

    def delete_alias(self, name: str, alias: str) -> None:
        with self.db.tx() as db:
            self._model_row(db, name)
            db.execute("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias))

    def by_alias(self, name: str, alias: str) -> m.ModelVersion:
        with self.db.lock:
            db = self.db.db
            if alias.lower() == "latest":
                self._model_row(db, name)
                (top,) = db.execute(
                    "SELECT max(version) FROM model_versions WHERE name = ? AND current_stage != ?",
                    (name, DELETED_STAGE),
                ).fetchone()
                if top is None:
                    raise not_found(f"Latest version not found for model {name}.")
                return self._version(db, self._version_row(db, name, int(top)), aliases=True)
            self._model_row(db, name)
            found = db.execute(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            if found is None:
                raise invalid(f"Registered model alias {alias} not found.")
            return self._version(db, self._version_row(db, name, int(found[0])), aliases=True)


def registry(store: Store) -> Registry:
    return Registry(model_db(store))
