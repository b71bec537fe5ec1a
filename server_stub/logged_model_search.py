"""Search over logged models: MLflow's filter on attributes, metrics, params and tags, datasets, order_by
and its page tokens (which carry the query they belong to)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from mlflow_client import _search as search
from mlflow_client._generated import models as m

from .errors import StubError, invalid
from .logged_model_store import _ATTRIBUTE_ALIASES, _COLUMNS, _NUMERIC_ATTRIBUTES, LoggedModels
from .model_db import Row

Pred = Callable[[Row], bool]


def _attribute_value(row: Row, key: str) -> Any:
    value = row[_COLUMNS[key]]
    if key == "status":
        return str(m.LoggedModelStatus.NUMBERS.get(value, 0))  # MLflow keeps the status as a number
    return value


def predicates(lms: LoggedModels, filter_string: str | None, datasets: list[m.SearchLoggedModelsDataset]) -> list[Pred]:
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


def sort_rows(lms: LoggedModels, rows: list[Row], order_by: list[m.SearchLoggedModelsOrderBy]) -> list[Row]:
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


def page_token(req: m.SearchLoggedModels, offset: int) -> str:
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


def page_offset(req: m.SearchLoggedModels) -> int:
    if not req.page_token:
        return 0
    try:
        body = json.loads(base64.b64decode(req.page_token, validate=True))
        offset = int(body["offset"])
    except (ValueError, KeyError, TypeError):
        # MLflow fails on such a token with an unhandled error (an HTML 500); the stub keeps its JSON errors.
        raise StubError(m.ErrorCode.INTERNAL_ERROR, f"Invalid page token: {req.page_token!r}.") from None
    expected = json.loads(base64.b64decode(page_token(req, offset)))
    for field in ("experiment_ids", "filter_string", "order_by"):
        if body.get(field) != expected[field]:
            raise invalid(f"Page token does not match the request: '{field}' differs.")
    return offset
