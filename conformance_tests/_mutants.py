"""Deliberately broken servers: named mutations of a good server's exchanges, and the tests that must catch each.

Each entry is (mutation, -k expression): the expression selects exactly the conformance tests whose job is to
notice that break, so the self-test shows the suite fails where it should, not merely somewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from conformance_tests._proxy import Exchange, Forward, Mutation

SEARCHES = ("/experiments/search", "/runs/search", "/metrics/get-history")
MODEL_SEARCHES = ("/registered-models/search", "/model-versions/search", "/logged-models/search")
MODEL_ITEMS = ("registered_models", "model_versions", "models")


def _load(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _answer(ex: Exchange, status: int, body: Any, content_type: str = "application/json") -> bool:
    ex.status, ex.headers = status, {"Content-Type": content_type}
    ex.answer = body if isinstance(body, bytes) else json.dumps(body).encode()
    return True


def _rewrite_answer(match: Callable[[Exchange], bool], edit: Callable[[Any], Any]) -> Mutation:
    def after(ex: Exchange, fwd: Forward) -> None:
        data = _load(ex.answer)
        if match(ex) and isinstance(data, dict):
            ex.answer = json.dumps(edit(data)).encode()

    return Mutation(after=after)


def _rewrite_request(match: Callable[[Exchange], bool], edit: Callable[[dict[str, Any]], None]) -> Mutation:
    """Edit the JSON body, or the query string of a GET."""

    def before(ex: Exchange, fwd: Forward) -> bool:
        if not match(ex):
            return False
        if "?" in ex.path:
            route, query = ex.path.split("?", 1)
            params: dict[str, Any] = dict(parse_qsl(query))
            edit(params)
            ex.path = f"{route}?{urlencode(params)}"
        data = _load(ex.body)
        if isinstance(data, dict):
            edit(data)
            ex.body = json.dumps(data).encode()
        return False

    return Mutation(before=before)


def _is_error(ex: Exchange) -> bool:
    return ex.status >= 400 and isinstance(_load(ex.answer), dict)


def _status(match: Callable[[Exchange], bool], status: int) -> Mutation:
    def after(ex: Exchange, fwd: Forward) -> None:
        if match(ex):
            ex.status = status

    return Mutation(after=after)


def _error_body(edit: Callable[[Exchange, dict[str, Any]], None]) -> Mutation:
    def after(ex: Exchange, fwd: Forward) -> None:
        data = _load(ex.answer)
        if ex.status >= 400 and isinstance(data, dict):
            edit(ex, data)
            ex.answer = json.dumps(data).encode()

    return Mutation(after=after)


def _fake_success(match: Callable[[Exchange, Any], bool]) -> Mutation:
    """Answer 200 {} instead of forwarding requests that ``match``."""

    def before(ex: Exchange, fwd: Forward) -> bool:
        return match(ex, _load(ex.body)) and _answer(ex, 200, {})

    return Mutation(before=before)


def _error_to_success(pattern: str) -> Mutation:
    def after(ex: Exchange, fwd: Forward) -> None:
        if ex.status == 400 and re.search(pattern, ex.answer.decode(errors="replace")):
            _answer(ex, 200, {})

    return Mutation(after=after)


def _pop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        for k in keys:
            d.pop(k, None)

    return edit


def _overlapping_pages(
    routes: tuple[str, ...] = SEARCHES, keys: tuple[str, ...] = ("runs", "experiments", "metrics")
) -> Mutation:
    """Each page after the first repeats the last item of the page before it."""
    last: dict[str, Any] = {}

    def after(ex: Exchange, fwd: Forward) -> None:
        data = _load(ex.answer)
        key = next((k for k in keys if isinstance(data, dict) and data.get(k)), None)
        if not ex.route.endswith(routes) or key is None or not isinstance(data, dict):
            return
        if "page_token" in ex.path or b"page_token" in ex.body:
            data[key] = [last[ex.route], *data[key]]
            ex.answer = json.dumps(data).encode()
        last[ex.route] = data[key][-1]

    return Mutation(after=after)


def _route(*suffixes: str) -> Callable[[Exchange], bool]:
    return lambda ex: ex.route.endswith(suffixes)


def _drop_run_id(d: dict[str, Any]) -> dict[str, Any]:
    d.get("run", {}).get("info", {}).pop("run_id", None)
    return d


def _bump_latest(d: dict[str, Any]) -> dict[str, Any]:
    for m in d.get("run", {}).get("data", {}).get("metrics", []):
        if isinstance(m.get("value"), float | int):
            m["value"] = -m["value"] - 1
    return d


def _nan_to_null(value: Any) -> Any:
    if value == "NaN":
        return None
    if isinstance(value, dict):
        return {k: _nan_to_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_null(v) for v in value]
    return value


def _reverse(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(d: dict[str, Any]) -> dict[str, Any]:
        d[key] = list(reversed(d.get(key, [])))
        return d

    return edit


def _lowercase_status(d: dict[str, Any]) -> dict[str, Any]:
    for info in (d.get("run", {}).get("info"), d.get("run_info")):
        if isinstance(info, dict) and "status" in info:
            info["status"] = info["status"].lower()
    return d


def _traversal(ex: Exchange, fwd: Forward) -> bool:
    if "/mlflow-artifacts/" in ex.path and (".." in ex.path or "%2e%2e" in ex.path.lower()):
        return _answer(ex, 200, {} if ex.method != "GET" or "?" in ex.path else b"secret")
    return False


def _corrupt_download(ex: Exchange, fwd: Forward) -> None:
    if ex.method == "GET" and "/mlflow-artifacts/artifacts/" in ex.route and ex.status == 200 and ex.answer:
        ex.answer = bytes([ex.answer[0] ^ 0xFF]) + ex.answer[1:]


_CUT = 64 * 1024  # below any large-file check's size, above every small one's


def _is_file_transfer(ex: Exchange, method: str) -> bool:
    return ex.method == method and "/mlflow-artifacts/artifacts/" in ex.route


def _truncate_download(ex: Exchange, fwd: Forward) -> None:
    """A well-formed but short answer (Content-Length matches): only the bytes themselves show the loss."""
    if _is_file_transfer(ex, "GET") and ex.status == 200:
        ex.answer = ex.answer[:_CUT]


def _truncate_upload(ex: Exchange, fwd: Forward) -> bool:
    if _is_file_transfer(ex, "PUT"):
        ex.body = ex.body[:_CUT]
    return False


def _full_list_paths(ex: Exchange, fwd: Forward) -> None:
    data = _load(ex.answer)
    if ex.route.endswith("/mlflow-artifacts/artifacts") and isinstance(data, dict):
        base = dict(parse_qsl(ex.path.partition("?")[2])).get("path", "")
        for f in data.get("files", []):
            f["path"] = f"{base}/{f['path']}"
        ex.answer = json.dumps(data).encode()


def _text_plain(ex: Exchange, fwd: Forward) -> None:
    for k in list(ex.headers):
        if k.lower() == "content-type" and ex.headers[k].startswith("application/json"):
            ex.headers[k] = "text/plain"


def _html_errors(ex: Exchange, fwd: Forward) -> None:
    if _is_error(ex):
        _answer(ex, ex.status, b"<html><body>Error</body></html>", "text/html")


def _reject_int64_strings(ex: Exchange, fwd: Forward) -> bool:
    text = ex.body.decode(errors="replace")
    if re.search(r'"(timestamp|start_time|step|end_time)": "', text):
        return _answer(ex, 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "int64 must be a number"})
    return False


def _not_atomic(ex: Exchange, fwd: Forward) -> bool:
    data = _load(ex.body)
    if ex.route.endswith("/runs/log-batch") and isinstance(data, dict) and data.get("metrics"):
        fwd("POST", ex.path, json.dumps({"run_id": data.get("run_id"), "metrics": data["metrics"][:1]}).encode())
    return False


def _no_cascade(ex: Exchange, fwd: Forward) -> None:
    """After deleting an experiment, bring its runs back to life."""
    data = _load(ex.body)
    if ex.route.endswith("/experiments/delete") and ex.status == 200 and isinstance(data, dict):
        body = {"experiment_ids": [data["experiment_id"]], "run_view_type": "ALL"}
        _, _, answer = fwd("POST", "/api/2.0/mlflow/runs/search", json.dumps(body).encode())
        for run in json.loads(answer).get("runs", []):
            fwd("POST", "/api/2.0/mlflow/runs/restore", json.dumps({"run_id": run["info"]["run_id"]}).encode())


def _over_limit(ex: Exchange, body: Any) -> bool:
    if not ex.route.endswith("/runs/log-batch") or not isinstance(body, dict):
        return False
    n = {k: len(body.get(k) or []) for k in ("metrics", "params", "tags")}
    return n["metrics"] > 1000 or n["params"] > 100 or n["tags"] > 100 or sum(n.values()) > 1000


def _is_rae(ex: Exchange) -> bool:
    return b"RESOURCE_ALREADY_EXISTS" in ex.answer


def _wrong_code(ex: Exchange, d: dict[str, Any]) -> None:
    if d.get("error_code") == "RESOURCE_DOES_NOT_EXIST":
        d["error_code"] = "NOT_FOUND"


def _drop_code(ex: Exchange, d: dict[str, Any]) -> None:
    d.pop("error_code", None)


# -- the registry and logged models ---------------------------------------------------------------------


def _empty_lists(d: dict[str, Any]) -> dict[str, Any]:
    """FastTrackML's registry search: a well-formed answer that never lists anything."""
    return {k: [] for k in MODEL_ITEMS if k in d} or {k: [] for k in MODEL_ITEMS[:2]}


def _global_version_numbers() -> Mutation:
    """Number versions with one counter across every model (the answer of create only, as a server that
    numbered globally would answer)."""
    counter = [0]

    def after(ex: Exchange, fwd: Forward) -> None:
        data = _load(ex.answer)
        if ex.route.endswith("/model-versions/create") and ex.status == 200 and isinstance(data, dict):
            counter[0] += 1
            data.get("model_version", {})["version"] = str(counter[0] + 100)
            ex.answer = json.dumps(data).encode()

    return Mutation(after=after)


def _drop_aliases(d: dict[str, Any]) -> dict[str, Any]:
    for entity in (d.get("registered_model"), d.get("model_version")):
        if isinstance(entity, dict):
            entity.pop("aliases", None)
    return d


def _stale_alias(ex: Exchange, fwd: Forward) -> None:
    """An alias that outlives its version (or its deletion): the lookup still answers the version it named."""
    if ex.method == "GET" and ex.route.endswith("/registered-models/alias") and _is_error(ex):
        query = dict(parse_qsl(ex.path.partition("?")[2]))
        version = {"name": query.get("name", ""), "version": "1", "aliases": [query.get("alias", "")]}
        _answer(ex, 200, {"model_version": version})


def _never_archive(d: dict[str, Any]) -> None:
    if "archive_existing_versions" in d:
        d["archive_existing_versions"] = False


def _is_one_logged_model(ex: Exchange) -> bool:
    return re.search(r"/logged-models/(?!search$)[^/]+$", ex.route) is not None


def _no_files(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "files"}


def _is(method: str, *suffixes: str) -> Callable[[Exchange, Any], bool]:
    return lambda ex, body: ex.method == method and ex.route.endswith(suffixes)


MUTANTS: dict[str, tuple[Mutation, str]] = {
    "already_exists_is_409": (_status(_is_rae, 409), "already_exists"),
    "not_found_is_400": (_status(lambda ex: ex.status == 404 and _is_error(ex), 400), "404"),
    "wrong_error_code_name": (_error_body(_wrong_code), "404"),
    "missing_error_code": (_error_body(_drop_code), "rejects or 404 or requires"),
    "html_error_bodies": (Mutation(after=_html_errors), "rejects or 404 or requires"),
    "json_as_text_plain": (Mutation(after=_text_plain), "get_run or create_experiment"),
    "run_id_dropped": (_rewrite_answer(_route("/runs/get", "/runs/create"), _drop_run_id), "create_run or get_run"),
    "experiment_id_as_number": (
        _rewrite_answer(_route("/experiments/create"), lambda d: {**d, "experiment_id": int(d["experiment_id"])}),
        "create_experiment_returns",
    ),
    "run_status_lowercase": (
        _rewrite_answer(_route("/runs/get", "/runs/update", "/runs/create"), _lowercase_status),
        "update_run or create_run_returns",
    ),
    "missing_name_accepted": (
        _fake_success(lambda ex, b: ex.route.endswith("/experiments/create") and not (b or {}).get("name")),
        "requires_name",
    ),
    "pages_overlap": (_overlapping_pages(), "pages"),
    "next_page_token_dropped": (
        _rewrite_answer(_route(*SEARCHES), lambda d: {k: v for k, v in d.items() if k != "next_page_token"}),
        "pages or max_results",
    ),
    "max_results_ignored": (_rewrite_request(_route(*SEARCHES), _pop("max_results")), "max_results or pages"),
    "filter_ignored": (_rewrite_request(_route("/runs/search", "/experiments/search"), _pop("filter")), "filters"),
    "order_by_ignored_direction": (
        _rewrite_answer(lambda ex: ex.route.endswith("/runs/search") and b"order_by" in ex.body, _reverse("runs")),
        "order_by",
    ),
    "view_type_ignored": (
        _rewrite_request(_route("/runs/search", "/experiments/search"), _pop("run_view_type", "view_type")),
        "view_type",
    ),
    "log_batch_limits_unenforced": (_fake_success(_over_limit), "log_batch_rejects_10"),
    "log_batch_not_atomic": (Mutation(before=_not_atomic), "log_batch and stores_nothing"),
    "deleted_run_accepts_writes": (_error_to_success(r"active"), "deleted_run"),
    "param_values_mutable": (_error_to_success(r"Changing param"), "changing_param"),
    "latest_metric_wrong": (_rewrite_answer(_route("/runs/get"), _bump_latest), "latest_metric"),
    "metric_history_reversed": (_rewrite_answer(_route("/metrics/get-history"), _reverse("metrics")), "history_is_in"),
    "nan_as_null": (_rewrite_answer(lambda ex: True, _nan_to_null), "nan"),
    "int64_strings_rejected": (Mutation(before=_reject_int64_strings), "int64"),
    "delete_experiment_not_cascading": (Mutation(after=_no_cascade), "delete_experiment_deletes_its_runs"),
    "restore_experiment_ignored": (
        _fake_success(lambda ex, b: ex.route.endswith("/experiments/restore")),
        "restore_experiment",
    ),
    "delete_tag_ignored": (_fake_success(lambda ex, b: ex.route.endswith("/runs/delete-tag")), "delete_tag_removes"),
    "traversal_allowed": (Mutation(before=_traversal), "traversal"),
    "artifact_download_corrupt": (Mutation(after=_corrupt_download), "download"),
    "artifact_download_truncated": (Mutation(after=_truncate_download), "large_upload_then_download"),
    "artifact_upload_truncated": (Mutation(before=_truncate_upload), "large_upload or large_file"),
    "artifact_list_full_paths": (Mutation(after=_full_list_paths), "list_artifacts"),
}
# Mutants of the registry and logged-model groups, also run against a real `mlflow server` by the self-test.
REGISTRY_MUTANTS: dict[str, tuple[Mutation, str]] = {
    "registry_search_empty": (
        _rewrite_answer(_route("/registered-models/search", "/model-versions/search"), _empty_lists),
        "search_registered_models_filters or search_model_versions_filters or pages",
    ),
    "registry_filter_ignored": (
        _rewrite_request(_route("/registered-models/search", "/model-versions/search"), _pop("filter")),
        "search_registered_models_filters or search_model_versions_filters",
    ),
    "model_search_pages_overlap": (_overlapping_pages(MODEL_SEARCHES, MODEL_ITEMS), "pages"),
    "model_search_next_page_token_dropped": (
        _rewrite_answer(_route(*MODEL_SEARCHES), lambda d: {k: v for k, v in d.items() if k != "next_page_token"}),
        "max_results",
    ),
    "version_numbers_not_per_model": (_global_version_numbers(), "numbered_per_model"),
    "alias_set_ignored": (_fake_success(_is("POST", "/registered-models/alias")), "alias"),
    "aliases_dropped_from_answers": (
        _rewrite_answer(_route("/registered-models/get", "/model-versions/get"), _drop_aliases),
        "aliases_are_listed or moves_it",
    ),
    "alias_outlives_its_version": (Mutation(after=_stale_alias), "alias_disappears or delete_alias"),
    "archive_existing_versions_ignored": (
        _rewrite_request(_route("/model-versions/transition-stage"), _never_archive),
        "archive_existing_versions",
    ),
    "registered_model_delete_ignored": (
        _fake_success(_is("DELETE", "/registered-models/delete")),
        "delete_registered_model_deletes",
    ),
    "registry_tag_delete_ignored": (
        _fake_success(_is("DELETE", "/registered-models/delete-tag", "/model-versions/delete-tag")),
        "tags_are_set_replaced_and_deleted",
    ),
}
LOGGED_MODEL_MUTANTS: dict[str, tuple[Mutation, str]] = {
    "logged_model_search_empty": (
        _rewrite_answer(_route("/logged-models/search"), _empty_lists),
        "search_logged_models_finds or search_logged_models_filters",
    ),
    "logged_model_finalize_ignored": (
        _fake_success(lambda ex, b: ex.method == "PATCH" and _is_one_logged_model(ex)),
        "finalize_logged_model",
    ),
    "logged_model_delete_ignored": (
        _fake_success(lambda ex, b: ex.method == "DELETE" and _is_one_logged_model(ex)),
        "delete_logged_model_hides",
    ),
    "logged_model_tags_ignored": (_fake_success(_is("PATCH", "/tags")), "set_logged_model_tags"),
    "logged_model_params_ignored": (_fake_success(_is("POST", "/params")), "log_logged_model_params"),
    "logged_model_artifacts_unlisted": (
        _rewrite_answer(_route("/artifacts/directories"), _no_files),
        "list_logged_model_artifacts_shows",
    ),
    "run_outputs_ignored": (_fake_success(_is("POST", "/runs/outputs")), "log_outputs_shows"),
}
MODEL_MUTANTS = {**REGISTRY_MUTANTS, **LOGGED_MODEL_MUTANTS}
MUTANTS.update(MODEL_MUTANTS)
