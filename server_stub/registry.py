"""The Model Registry's RPCs: request checks, MLflow's filter grammar for its searches, and where a new
version's files come from (``models:/``, ``runs:/`` and other sources, checked as MLflow's server does).
The state and its rules are in ``registry_store``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlparse

from mlflow_client import _search as search
from mlflow_client._generated import models as m

from . import handlers
from .errors import StubError, invalid, not_found
from .handlers import Store, handles
from .registry_store import (
    MV_SEARCH_DEFAULT,
    MV_SEARCH_MAX,
    PROMPT_TAG,
    RM_SEARCH_DEFAULT,
    RM_SEARCH_MAX,
    VERSION_ALIAS,
    canonical_stage,
    check_alias,
    check_name,
    check_tag,
    check_version,
    registry,
)

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
    offset = handlers.offset_from_token(page_token) if page_token else 0
    window = items[offset : offset + max_results + 1]
    token = handlers.offset_token(offset + max_results) if len(window) == max_results + 1 else None
    return window[:max_results], token


# -- handlers ---------------------------------------------------------------------------------------


@handles("createRegisteredModel")
def create_registered_model(store: Store, req: m.CreateRegisteredModel) -> m.CreateRegisteredModelResponse:
    model = registry(store).create_model(check_name(req.name), req.tags, req.description)
    return m.CreateRegisteredModelResponse(registered_model=model)


@handles("getRegisteredModel")
def get_registered_model(store: Store, req: m.GetRegisteredModel) -> m.GetRegisteredModelResponse:
    return m.GetRegisteredModelResponse(registered_model=registry(store).get_model(check_name(req.name)))


@handles("renameRegisteredModel")
def rename_registered_model(store: Store, req: m.RenameRegisteredModel) -> m.RenameRegisteredModelResponse:
    new_name = check_name(req.new_name, "new_name")
    return m.RenameRegisteredModelResponse(
        registered_model=registry(store).rename_model(check_name(req.name), new_name)
    )


@handles("updateRegisteredModel")
def update_registered_model(store: Store, req: m.UpdateRegisteredModel) -> m.UpdateRegisteredModelResponse:
    model = registry(store).update_model(check_name(req.name), req.description)
    return m.UpdateRegisteredModelResponse(registered_model=model)


@handles("deleteRegisteredModel")
def delete_registered_model(store: Store, req: m.DeleteRegisteredModel) -> m.DeleteRegisteredModelResponse:
    registry(store).delete_model(check_name(req.name))
    return m.DeleteRegisteredModelResponse()


@handles("setRegisteredModelTag")
def set_registered_model_tag(store: Store, req: m.SetRegisteredModelTag) -> m.SetRegisteredModelTagResponse:
    registry(store).set_model_tag(check_name(req.name), *check_tag(req.key, req.value))
    return m.SetRegisteredModelTagResponse()


@handles("deleteRegisteredModelTag")
def delete_registered_model_tag(store: Store, req: m.DeleteRegisteredModelTag) -> m.DeleteRegisteredModelTagResponse:
    registry(store).delete_model_tag(check_name(req.name), handlers._key(req.key))
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
    return m.GetLatestVersionsResponse(model_versions=registry(store).latest_versions(check_name(req.name), req.stages))


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
    from .logged_model_store import logged_models

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


def _local_source_in_run(store: Store, source: str, run_id: str | None) -> bool:
    """A local source is allowed when it lies inside the local artifact folder of the run it names."""
    if not run_id:
        return False
    run = store.get_run(run_id)  # an unknown run is MLflow's 404 here too
    root = (run.info.artifact_uri if run.info else None) or ""
    if not _is_local(root):
        return False
    from mlflow_client.artifacts._local import local_root

    folder, path = Path(local_root(root)).resolve(), Path(local_root(source)).resolve()
    return folder == path or folder in path.parents


def _check_run_source(store: Store, source: str, run_id: str | None) -> None:
    if _is_local(source):
        if _local_source_in_run(store, source, run_id):
            return
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
    from .logged_model_store import logged_models

    name = check_name(req.name)
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
    return m.GetModelVersionResponse(
        model_version=registry(store).get_version(check_name(req.name), check_version(req.version))
    )


@handles("updateModelVersion")
def update_model_version(store: Store, req: m.UpdateModelVersion) -> m.UpdateModelVersionResponse:
    mv = registry(store).update_version(check_name(req.name), check_version(req.version), req.description)
    return m.UpdateModelVersionResponse(model_version=mv)


@handles("transitionModelVersionStage")
def transition_model_version_stage(
    store: Store, req: m.TransitionModelVersionStage
) -> m.TransitionModelVersionStageResponse:
    stage = canonical_stage(req.stage)
    mv = registry(store).transition(
        check_name(req.name), check_version(req.version), stage, bool(req.archive_existing_versions)
    )
    return m.TransitionModelVersionStageResponse(model_version=mv)


@handles("deleteModelVersion")
def delete_model_version(store: Store, req: m.DeleteModelVersion) -> m.DeleteModelVersionResponse:
    registry(store).delete_version(check_name(req.name), check_version(req.version))
    return m.DeleteModelVersionResponse()


@handles("getModelVersionDownloadUri")
def get_model_version_download_uri(
    store: Store, req: m.GetModelVersionDownloadUri
) -> m.GetModelVersionDownloadUriResponse:
    uri = registry(store).download_uri(check_name(req.name), check_version(req.version))
    return m.GetModelVersionDownloadUriResponse(artifact_uri=uri)


@handles("setModelVersionTag")
def set_model_version_tag(store: Store, req: m.SetModelVersionTag) -> m.SetModelVersionTagResponse:
    name, version = check_name(req.name), check_version(req.version)
    registry(store).set_version_tag(name, version, *check_tag(req.key, req.value, check_value=False))
    return m.SetModelVersionTagResponse()


@handles("deleteModelVersionTag")
def delete_model_version_tag(store: Store, req: m.DeleteModelVersionTag) -> m.DeleteModelVersionTagResponse:
    registry(store).delete_version_tag(check_name(req.name), check_version(req.version), handlers._key(req.key))
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
    name, alias = check_name(req.name), check_alias(req.alias)
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if VERSION_ALIAS.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")
    registry(store).set_alias(name, alias, check_version(req.version))
    return m.SetRegisteredModelAliasResponse()


@handles("deleteRegisteredModelAlias")
def delete_registered_model_alias(
    store: Store, req: m.DeleteRegisteredModelAlias
) -> m.DeleteRegisteredModelAliasResponse:
    registry(store).delete_alias(check_name(req.name), check_alias(req.alias))
    return m.DeleteRegisteredModelAliasResponse()


@handles("getModelVersionByAlias")
def get_model_version_by_alias(store: Store, req: m.GetModelVersionByAlias) -> m.GetModelVersionByAliasResponse:
    return m.GetModelVersionByAliasResponse(
        model_version=registry(store).by_alias(check_name(req.name), check_alias(req.alias))
    )
