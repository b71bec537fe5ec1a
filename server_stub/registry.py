"""The Model Registry: registered models, their versions, tags, aliases and stages, as MLflow keeps them.

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

import posixpath
import re
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus, urlparse

from mlflow_client import _search as search
from mlflow_client._generated import models as m

from . import handlers
from .errors import StubError, already_exists, invalid, not_found
from .handlers import Store, handles
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
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_TAG_VALUE_MAX = 100_000


# -- checks -----------------------------------------------------------------------------------------


def _name(name: str | None, field: str = "name") -> str:
    if name is None or not name.strip():
        raise invalid(f"Missing value for required parameter '{field}'.")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    return name


def _version(version: str | int | None) -> int:
    try:
        return int(str(version))
    except ValueError:
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


def _stage(stage: str | None) -> str:
    for s in STAGES:
        if s.lower() == (stage or "").lower():
            return s
    raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.")


def _alias(alias: str | None) -> str:
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


def _tag(key: str | None, value: str | None, *, check_value: bool = True) -> tuple[str, str]:
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
        checked = dict(_tag(t.key, t.value) for t in tags)
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
        checked = dict(_tag(t.key, t.value, check_value=False) for t in tags)
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
        wanted = {_stage(s) for s in stages} if stages else set(STAGES)
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


# -- search -----------------------------------------------------------------------------------------

Pred = Callable[[Any], bool]


def _clauses(filter_string: str | None) -> list[search._Clause]:
    if not filter_string or not filter_string.strip():
        return []
    try:
        return search._Parser(filter_string).filter()
    except search.SearchError as err:
        raise invalid(str(err)) from None


def _entity(c: search._Clause) -> str:
    entity = (c.ident.entity or "attribute").lower()
    if entity in ("tag", "tags"):
        return "tag"
    if entity in ("attribute", "attributes", "attr", "model_version", "registered_model"):
        return "attribute"
    raise invalid(f"Invalid entity type '{c.ident.entity}'. Valid values are ['tag', 'attribute']")


def _tag_getter(key: str) -> Callable[[Any], str | None]:
    return lambda x: next((t.value for t in x.tags if t.key == key), None)


def _predicate(c: search._Clause, attributes: dict[str, str], numeric: set[str], lists: set[str]) -> Pred:
    try:
        if _entity(c) == "tag":
            test = search._string_test(c, "tag", frozenset({"=", "!=", "LIKE", "ILIKE"}))
            return search._present(test, _tag_getter(c.ident.key))
        key = c.ident.key
        if key not in attributes:
            valid = "{" + ", ".join(repr(k) for k in sorted(attributes)) + "}"
            raise invalid(f"Invalid attribute key '{key}' specified. Valid keys are '{valid}'")
        field = attributes[key]
        if key in numeric:
            tok = c.value
            if isinstance(tok, search._Tok) and tok.kind == "string" and tok.text.lstrip("-").isdigit():
                c = c._replace(value=search._Tok("number", tok.text, tok.pos, tok.end))
            number = search._numeric_test(c, "attribute", integer_only=True)
            return lambda x: number(int(getattr(x, field) or 0))
        ops = {"=", "!=", "LIKE", "ILIKE"} | ({"IN", "NOT IN"} if key in lists else set())
        text = search._string_test(c, "attribute", frozenset(ops), lists=key in lists)
        return lambda x: text(getattr(x, field) or "")
    except search.SearchError as err:
        raise invalid(str(err)) from None


def _is_prompt_query(clauses: list[search._Clause]) -> bool:
    for c in clauses:
        if _entity(c) == "tag" and c.ident.key == PROMPT_TAG and isinstance(c.value, search._Tok):
            value = c.value.text.lower()
            return (c.op == "=" and value == "true") or (c.op == "!=" and value == "false")
    return False


def _filtered(items: list[Any], clauses: list[search._Clause], preds: list[Pred]) -> list[Any]:
    prompts = _is_prompt_query(clauses)
    preds = [p for c, p in zip(clauses, preds, strict=True) if not (_entity(c) == "tag" and c.ident.key == PROMPT_TAG)]
    out = []
    for x in items:
        if (_tag_getter(PROMPT_TAG)(x) == "true") != prompts:
            continue
        if all(p(x) for p in preds):
            out.append(x)
    return out


def _order(items: list[Any], order_by: list[str], keys: dict[str, str], defaults: list[tuple[str, bool]]) -> None:
    clauses: list[tuple[str, bool]] = []
    for text in order_by:
        parts = text.strip().split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise invalid(f"Invalid order_by clause '{text}'. Could not be parsed.")
        key = parts[0].strip("`")
        if key.startswith("attribute.") or key.startswith("attributes."):
            key = key.split(".", 1)[1]
        if key not in keys:
            raise invalid(f"Invalid order by key '{key}' specified. Valid keys are {sorted(set(keys))}")
        field = keys[key]
        if field in {f for f, _ in clauses}:
            raise invalid(f"`order_by` contains duplicate fields: {order_by}")
        clauses.append((field, len(parts) == 2 and parts[1].upper() == "DESC"))
    for field, descending in defaults:
        if field not in {f for f, _ in clauses}:
            clauses.append((field, descending))
    for field, descending in reversed(clauses):
        items.sort(key=_sort_key(field), reverse=descending)


def _sort_key(field: str) -> Callable[[Any], Any]:
    if field == "name":
        return lambda x: x.name
    return lambda x: getattr(x, field) or 0


def _page(items: list[Any], max_results: int, page_token: str | None) -> tuple[list[Any], str | None]:
    """MLflow's paging: fetch ``max_results + 1`` from the offset; a token when that many came back."""
    offset = handlers._offset_from_token(page_token) if page_token else 0
    window = items[offset : offset + max_results + 1]
    token = handlers._offset_token(offset + max_results) if len(window) == max_results + 1 else None
    return window[:max_results], token


# -- handlers ---------------------------------------------------------------------------------------


@handles("createRegisteredModel")
def create_registered_model(store: Store, req: m.CreateRegisteredModel) -> m.CreateRegisteredModelResponse:
    model = registry(store).create_model(_name(req.name), req.tags, req.description)
    return m.CreateRegisteredModelResponse(registered_model=model)


@handles("getRegisteredModel")
def get_registered_model(store: Store, req: m.GetRegisteredModel) -> m.GetRegisteredModelResponse:
    return m.GetRegisteredModelResponse(registered_model=registry(store).get_model(_name(req.name)))


@handles("renameRegisteredModel")
def rename_registered_model(store: Store, req: m.RenameRegisteredModel) -> m.RenameRegisteredModelResponse:
    new_name = _name(req.new_name, "new_name")
    return m.RenameRegisteredModelResponse(registered_model=registry(store).rename_model(_name(req.name), new_name))


@handles("updateRegisteredModel")
def update_registered_model(store: Store, req: m.UpdateRegisteredModel) -> m.UpdateRegisteredModelResponse:
    model = registry(store).update_model(_name(req.name), req.description)
    return m.UpdateRegisteredModelResponse(registered_model=model)


@handles("deleteRegisteredModel")
def delete_registered_model(store: Store, req: m.DeleteRegisteredModel) -> m.DeleteRegisteredModelResponse:
    registry(store).delete_model(_name(req.name))
    return m.DeleteRegisteredModelResponse()


@handles("setRegisteredModelTag")
def set_registered_model_tag(store: Store, req: m.SetRegisteredModelTag) -> m.SetRegisteredModelTagResponse:
    registry(store).set_model_tag(_name(req.name), *_tag(req.key, req.value))
    return m.SetRegisteredModelTagResponse()


@handles("deleteRegisteredModelTag")
def delete_registered_model_tag(store: Store, req: m.DeleteRegisteredModelTag) -> m.DeleteRegisteredModelTagResponse:
    registry(store).delete_model_tag(_name(req.name), handlers._key(req.key))
    return m.DeleteRegisteredModelTagResponse()


@handles("searchRegisteredModels")
def search_registered_models(store: Store, req: m.SearchRegisteredModels) -> m.SearchRegisteredModelsResponse:
    max_results = RM_SEARCH_DEFAULT if req.max_results is None else req.max_results
    if max_results > RM_SEARCH_MAX:
        raise invalid(
            f"Invalid value for request parameter max_results. It must be at most {RM_SEARCH_MAX}, but got value "
            f"{max_results}"
        )
    clauses = _clauses(req.filter)
    preds = [_predicate(c, {"name": "name"}, set(), {"name"}) for c in clauses]
    found = _filtered(registry(store).all_models(), clauses, preds)
    # creation_timestamp is refused, as MLflow refuses it here
    keys = {"name": "name", "timestamp": "last_updated_timestamp", "last_updated_timestamp": "last_updated_timestamp"}
    _order(found, req.order_by, keys, [("name", False)])
    page, token = _page(found, max(max_results, 0), req.page_token)
    return m.SearchRegisteredModelsResponse(registered_models=page, next_page_token=token)


@handles("getLatestVersions")
def get_latest_versions(store: Store, req: m.GetLatestVersions) -> m.GetLatestVersionsResponse:
    return m.GetLatestVersionsResponse(model_versions=registry(store).latest_versions(_name(req.name), req.stages))


def _parse_models_uri(source: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(model_id, name, version, alias-or-stage) of a ``models:/`` URI, or a refusal."""
    path = urlparse(source, allow_fragments=False).path
    parts = path.lstrip("/").split("/")
    bad = invalid(
        f"Invalid model version source: '{source}'. The model_id request parameter must identify the resource "
        "that contains the source."
    )
    if not path.startswith("/") or len(path) <= 1 or len(parts) > 2 or not parts[0].strip():
        raise bad
    if len(parts) == 2:
        if not parts[1].strip():
            raise bad
        return None, parts[0], parts[1] if parts[1].isdigit() else None, None if parts[1].isdigit() else parts[1]
    if "@" in parts[0]:
        name, _, alias = parts[0].rpartition("@")
        return None, name, None, "@" + alias
    if parts[0].startswith("m-"):
        return parts[0], None, None, None
    return None, parts[0], None, None


def _invalid_source(source: str, id_name: str) -> StubError:
    return invalid(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must identify the resource "
        "that contains the source."
    )


def _check_relative(source: str) -> None:
    text = source
    while (unquoted := unquote_plus(text)) != text:
        text = unquoted
    path = re.sub(r"/+", "/", urlparse(text).path.rstrip("/"))
    if (
        "\x00" in path
        or any(p == ".." for p in text.split("/"))
        or not path.startswith("/")
        or (posixpath.normpath(path) != path)
    ):
        raise invalid(
            f"Invalid model version source: '{source}'. If supplying a source as an http, https, local file path, "
            "ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path "
            "references present. Please provide an absolute path."
        )


def _within(source: str, root: str) -> bool:
    s, r = urlparse(source), urlparse(root)
    s_parts = [unquote_plus(p) for p in s.path.split("/") if p]
    r_parts = [unquote_plus(p) for p in r.path.split("/") if p]
    return (
        (s.scheme.lower(), s.netloc.lower()) == (r.scheme.lower(), r.netloc.lower())
        and bool(r_parts)
        and (s_parts[: len(r_parts)] == r_parts)
    )


def _is_local(source: str) -> bool:
    scheme = urlparse(source).scheme.lower()
    return scheme in ("", "file") or len(scheme) == 1


def _resolve_source(store: Store, req: m.CreateModelVersion) -> tuple[str, str, str | None, str | None]:
    """(source, storage location, run_id, model_id), checked and resolved as MLflow's server does."""
    source, run_id, model_id = str(req.source), req.run_id, req.model_id
    parsed = urlparse(source)
    if parsed.scheme == "models":
        if parsed.netloc:
            raise invalid(
                f"Invalid model version source: '{source}'. Registered model sources must use the active model "
                "registry."
            )
        if _parse_models_uri(source)[0] is None:
            return _version_source(store, req)
    if model_id:
        storage, model_run = _check_model_source(store, source, model_id)
        return source, storage, run_id or model_run, model_id
    _check_run_source(store, source, run_id)
    return source, source, run_id, None


def _version_source(store: Store, req: m.CreateModelVersion) -> tuple[str, str, str | None, str | None]:
    """A source naming another registered version (``models:/name/1``, ``@alias``, a stage): its files."""
    source = str(req.source)
    reg = registry(store)
    _, name, version, suffix = _parse_models_uri(source)
    assert name is not None
    if suffix and suffix.startswith("@"):
        mv = reg.by_alias(name, suffix[1:])
    elif version is not None:
        mv = reg.get_version(name, int(version))
    else:
        versions = reg.latest_versions(name, [suffix] if suffix else [])
        if not versions:
            raise not_found(f"No versions of model with name '{name}' and stage '{suffix}' found")
        mv = max(versions, key=lambda v: int(str(v.version)))
    number = int(str(mv.version))
    row_model_id = reg.db.query("SELECT model_id FROM model_versions WHERE name = ? AND version = ?", (mv.name, number))
    source_model_id = row_model_id[0][0] if row_model_id else None
    if (req.run_id is not None and (req.run_id or "") != (mv.run_id or "")) or (
        req.model_id is not None and (req.model_id or "") != (source_model_id or "")
    ):
        raise invalid(
            f"Invalid model version source: '{source}'. The run_id and model_id request parameters must match "
            "the referenced model version."
        )
    run_id = req.run_id if req.run_id is not None else mv.run_id
    model_id = req.model_id if req.model_id is not None else source_model_id
    return f"models:/{mv.name}/{number}", reg.download_uri(str(mv.name), number), run_id, model_id


def _check_model_source(store: Store, source: str, model_id: str) -> tuple[str, str | None]:
    """A source of a logged model's files: (where they are, the model's run)."""
    from .logged_models import logged_models

    if _is_local(source):
        raise invalid(
            f"Invalid model version source: '{source}'. To use a local path as a model version source, the "
            "model_id request parameter has to be specified and the local path has to be contained within the "
            "artifact directory of the run specified by the model_id."
        )
    _check_relative(source)
    scheme = urlparse(source).scheme
    model = logged_models(store).find(model_id)
    if (
        model is None
        or scheme == "runs"
        or (scheme == "models" and _parse_models_uri(source)[0] != model_id)
        or (scheme == "mlflow-artifacts" and not _within(source, model[4]))
    ):
        raise _invalid_source(source, "model_id")
    return (model[4] if scheme == "models" else source), model[10] or None


def _check_run_source(store: Store, source: str, run_id: str | None) -> None:
    if _is_local(source):
        raise invalid(
            f"Invalid model version source: '{source}'. To use a local path as a model version source, the run_id "
            "request parameter has to be specified and the local path has to be contained within the artifact "
            "directory of the run specified by the run_id."
        )
    _check_relative(source)
    parsed = urlparse(source)
    if parsed.scheme == "runs":
        source_run = parsed.path.lstrip("/").split("/", 1)[0]
        if parsed.netloc or not run_id or source_run != run_id:
            raise _invalid_source(source, "run_id")
    if parsed.scheme == "models":
        raise _invalid_source(source, "model_id")
    if parsed.scheme == "mlflow-artifacts":
        if not run_id or not store.run_exists(run_id):
            raise _invalid_source(source, "run_id")
        run = store.get_run(run_id)
        if not _within(source, (run.info.artifact_uri if run.info else None) or ""):
            raise _invalid_source(source, "run_id")


@handles("createModelVersion")
def create_model_version(store: Store, req: m.CreateModelVersion) -> m.CreateModelVersionResponse:
    from .logged_models import logged_models

    name = _name(req.name)
    source, storage, run_id, model_id = _resolve_source(store, req)
    # A new version's description is "" when none is given; an update without one clears it (None).
    mv = registry(store).create_version(
        name, source, storage, run_id, req.tags, req.run_link, req.description or "", model_id
    )
    if model_id:
        logged_models(store).add_registration(model_id, name, int(str(mv.version)))
    return m.CreateModelVersionResponse(model_version=mv)


@handles("getModelVersion")
def get_model_version(store: Store, req: m.GetModelVersion) -> m.GetModelVersionResponse:
    return m.GetModelVersionResponse(model_version=registry(store).get_version(_name(req.name), _version(req.version)))


@handles("updateModelVersion")
def update_model_version(store: Store, req: m.UpdateModelVersion) -> m.UpdateModelVersionResponse:
    mv = registry(store).update_version(_name(req.name), _version(req.version), req.description)
    return m.UpdateModelVersionResponse(model_version=mv)


@handles("transitionModelVersionStage")
def transition_model_version_stage(
    store: Store, req: m.TransitionModelVersionStage
) -> m.TransitionModelVersionStageResponse:
    stage = _stage(req.stage)
    mv = registry(store).transition(_name(req.name), _version(req.version), stage, bool(req.archive_existing_versions))
    return m.TransitionModelVersionStageResponse(model_version=mv)


@handles("deleteModelVersion")
def delete_model_version(store: Store, req: m.DeleteModelVersion) -> m.DeleteModelVersionResponse:
    registry(store).delete_version(_name(req.name), _version(req.version))
    return m.DeleteModelVersionResponse()


@handles("getModelVersionDownloadUri")
def get_model_version_download_uri(
    store: Store, req: m.GetModelVersionDownloadUri
) -> m.GetModelVersionDownloadUriResponse:
    uri = registry(store).download_uri(_name(req.name), _version(req.version))
    return m.GetModelVersionDownloadUriResponse(artifact_uri=uri)


@handles("setModelVersionTag")
def set_model_version_tag(store: Store, req: m.SetModelVersionTag) -> m.SetModelVersionTagResponse:
    name, version = _name(req.name), _version(req.version)
    registry(store).set_version_tag(name, version, *_tag(req.key, req.value, check_value=False))
    return m.SetModelVersionTagResponse()


@handles("deleteModelVersionTag")
def delete_model_version_tag(store: Store, req: m.DeleteModelVersionTag) -> m.DeleteModelVersionTagResponse:
    registry(store).delete_version_tag(_name(req.name), _version(req.version), handlers._key(req.key))
    return m.DeleteModelVersionTagResponse()


@handles("searchModelVersions")
def search_model_versions(store: Store, req: m.SearchModelVersions) -> m.SearchModelVersionsResponse:
    max_results = MV_SEARCH_DEFAULT if req.max_results is None else req.max_results
    if max_results < 1:
        raise invalid(f"Invalid value for max_results. It must be a positive integer, but got {max_results}")
    if max_results > MV_SEARCH_MAX:
        raise invalid(
            f"Invalid value for request parameter max_results. It must be at most {MV_SEARCH_MAX}, but got value "
            f"{max_results}"
        )
    clauses = _clauses(req.filter)
    attributes = {"name": "name", "version_number": "version", "run_id": "run_id", "source_path": "source"}
    preds = [_predicate(c, attributes, {"version_number"}, {"name", "run_id"}) for c in clauses]
    found = _filtered(registry(store).all_versions(), clauses, preds)
    for v in found:
        v.version = int(str(v.version))  # sorted as numbers below, sent as strings
    keys = {
        "name": "name",
        "version_number": "version",
        "creation_timestamp": "creation_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
    }
    order_by = req.order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
    try:
        _order(found, order_by, keys, [("name", False), ("version", True)])
    finally:
        for v in found:
            v.version = str(v.version)
    page, token = _page(found, max_results, req.page_token)
    return m.SearchModelVersionsResponse(model_versions=page, next_page_token=token)


@handles("setRegisteredModelAlias")
def set_registered_model_alias(store: Store, req: m.SetRegisteredModelAlias) -> m.SetRegisteredModelAliasResponse:
    name, alias = _name(req.name), _alias(req.alias)
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")
    registry(store).set_alias(name, alias, _version(req.version))
    return m.SetRegisteredModelAliasResponse()


@handles("deleteRegisteredModelAlias")
def delete_registered_model_alias(
    store: Store, req: m.DeleteRegisteredModelAlias
) -> m.DeleteRegisteredModelAliasResponse:
    registry(store).delete_alias(_name(req.name), _alias(req.alias))
    return m.DeleteRegisteredModelAliasResponse()


@handles("getModelVersionByAlias")
def get_model_version_by_alias(store: Store, req: m.GetModelVersionByAlias) -> m.GetModelVersionByAliasResponse:
    return m.GetModelVersionByAliasResponse(model_version=registry(store).by_alias(_name(req.name), _alias(req.alias)))
