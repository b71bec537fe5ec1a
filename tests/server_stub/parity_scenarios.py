"""Parity scenarios: raw HTTP conversations replayed against a real `mlflow server` and against the stub.

Each scenario is data: a name and a sequence of steps. A step is one HTTP request; strings in its path,
query, JSON body and raw body may hold ``{placeholders}``, filled from values saved by earlier steps
(``save`` maps a variable name to a dotted path into the JSON answer) or by the harness (``{uniq}``: a
per-run unique name of exactly ``UNIQ_LEN`` characters). Every scenario starts by creating its own
experiment named ``{uniq}`` (saved as ``{exp_id}``), so scenarios are independent of each other and of
whatever else the server holds.

The behaviours pinned here were observed on MLflow 3.17.2 with a SQLite backend.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
Pairs: TypeAlias = tuple[tuple[str, str], ...]

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts"
AJAX = "/ajax-api/2.0/mlflow"
UNIQ_PREFIX = "pty-"
UNIQ_LEN = 16  # the harness makes ``{uniq}`` exactly this long, so length-limit scenarios can pad to a bound
NO_RUN = "0123456789abcdef0123456789abcdef"  # a well-formed run id that no server has
JSON_CT: Pairs = (("content-type", "application/json"),)


@dataclass(frozen=True)
class Step:
    """One HTTP request of a scenario and what to remember from its answer."""

    name: str
    method: str
    path: str
    json: JsonValue = None  # sent as a JSON body when not None
    params: Pairs = ()
    content: bytes | None = None  # a raw body (with ``headers``) instead of ``json``
    headers: Pairs = ()
    save: Mapping[str, str] = field(default_factory=dict)  # variable -> dotted path into the JSON answer
    raw: bool = False  # send the path byte for byte: no client-side ``..`` normalisation
    message: str | None = None  # when set, both error messages must contain this text


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]


def scenario(name: str, *steps: Step) -> Scenario:
    create = post("create experiment", "experiments/create", {"name": "{uniq}"}, save={"exp_id": "experiment_id"})
    return Scenario(name, (create, *steps))


# --- step builders ------------------------------------------------------------------------------------


def post(
    name: str, rpc: str, body: JsonValue, *, save: Mapping[str, str] | None = None, message: str | None = None
) -> Step:
    return Step(name, "POST", f"{API}/{rpc}", json=body, save=save or {}, message=message)


def get(
    name: str, rpc: str, *params: tuple[str, str], save: Mapping[str, str] | None = None, message: str | None = None
) -> Step:
    return Step(name, "GET", f"{API}/{rpc}", params=params, save=save or {}, message=message)


def raw_body(name: str, rpc: str, content: bytes, headers: Pairs = JSON_CT) -> Step:
    return Step(name, "POST", f"{API}/{rpc}", content=content, headers=headers)


def on_run(name: str, rpc: str, *, run: str = "{run_id}", message: str | None = None, **fields: JsonValue) -> Step:
    return post(name, rpc, {"run_id": run, **fields}, message=message)


def on_exp(name: str, rpc: str, *, exp: str = "{exp_id}", message: str | None = None, **fields: JsonValue) -> Step:
    return post(name, rpc, {"experiment_id": exp, **fields}, message=message)


def new_exp(name: str, exp_name: str, save_as: str | None = None, **fields: JsonValue) -> Step:
    return post(
        name, "experiments/create", {"name": exp_name, **fields}, save={save_as: "experiment_id"} if save_as else None
    )


def get_exp(name: str, exp: str = "{exp_id}") -> Step:
    return get(name, "experiments/get", ("experiment_id", exp))


def new_run(var: str = "run_id", name: str = "create run", **fields: JsonValue) -> Step:
    return post(name, "runs/create", {"experiment_id": "{exp_id}", **fields}, save={var: "run.info.run_id"})


def get_run(name: str = "get run", run: str = "{run_id}") -> Step:
    return get(name, "runs/get", ("run_id", run))


def metric(key: str, value: JsonValue, timestamp: JsonValue = 100, step: JsonValue = 0) -> dict[str, JsonValue]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


def log_metric(
    name: str,
    key: str,
    value: JsonValue,
    ts: JsonValue = 100,
    step: JsonValue = 0,
    *,
    run: str = "{run_id}",
    message: str | None = None,
) -> Step:
    return post(name, "runs/log-metric", {"run_id": run, **metric(key, value, ts, step)}, message=message)


def log_param(name: str, message: str | None = None, *, run: str = "{run_id}", **fields: JsonValue) -> Step:
    return post(name, "runs/log-parameter", {"run_id": run, **fields}, message=message)


def set_tag(name: str, *, run: str = "{run_id}", message: str | None = None, **fields: JsonValue) -> Step:
    return post(name, "runs/set-tag", {"run_id": run, **fields}, message=message)


def update_run(name: str, *, run: str = "{run_id}", **fields: JsonValue) -> Step:
    return post(name, "runs/update", {"run_id": run, **fields})


def exp_tag(name: str, *, exp: str = "{exp_id}", **fields: JsonValue) -> Step:
    return post(name, "experiments/set-experiment-tag", {"experiment_id": exp, **fields})


def history(name: str, key: str, *extra: tuple[str, str], save: Mapping[str, str] | None = None) -> Step:
    return get(name, "metrics/get-history", ("run_id", "{run_id}"), ("metric_key", key), *extra, save=save)


def bulk(name: str, *params: tuple[str, str]) -> Step:
    return get(name, "metrics/get-history-bulk-interval", *params)


def bulk_m(name: str, *extra: tuple[str, str]) -> Step:
    """Bulk interval for metric ``m`` of ``{run_id}``."""
    return bulk(name, ("run_ids", "{run_id}"), ("metric_key", "m"), *extra)


def batch(name: str, message: str | None = None, *, run: str = "{run_id}", **body: JsonValue) -> Step:
    return post(name, "runs/log-batch", {"run_id": run, **body}, message=message)


def inputs(name: str, *datasets: JsonValue) -> Step:
    return on_run(name, "runs/log-inputs", datasets=list(datasets))


def search_runs(name: str, message: str | None = None, **fields: JsonValue) -> Step:
    return post(name, "runs/search", {"experiment_ids": ["{exp_id}"], **fields}, message=message)


def mlflow_token(doc: JsonValue) -> str:
    """A page token in MLflow's own format: base64 of a JSON document (``{"offset": N}`` when well formed)."""
    return base64.b64encode(json.dumps(doc).encode()).decode()


def search_exps(name: str, save: Mapping[str, str] | None = None, **fields: JsonValue) -> Step:
    return post(name, "experiments/search", {"filter": "name LIKE '{uniq}%'", **fields}, save=save)


_A = f"{ART}/artifacts"


def art(name: str, method: str, rel: str, content: bytes | None = None, *, raw: bool = False) -> Step:
    return Step(name, method, f"{_A}/{rel}", content=content, raw=raw)


def art_list(name: str, path: str) -> Step:
    return Step(name, "GET", _A, params=(("path", path),))


def _param(i: int, value: str | None = None) -> dict[str, JsonValue]:
    return {"key": f"p{i}", "value": value if value is not None else str(i)}


def _tag(i: int) -> dict[str, JsonValue]:
    return {"key": f"t{i}", "value": str(i)}


def _metrics(n: int) -> list[JsonValue]:
    return [metric(f"m{i}", float(i), 1000 + i, i) for i in range(n)]


def _ds(name: str = "ds", digest: str = "d1", context: str | None = None, **extra: JsonValue) -> JsonValue:
    dataset: dict[str, JsonValue] = {"name": name, "digest": digest, "source_type": "local", "source": '{"uri": "/d"}'}
    tags: list[JsonValue] = [] if context is None else [{"key": "mlflow.data.context", "value": context}]
    return {"dataset": {**dataset, **extra}, "tags": tags}


_PAD_TO_500 = "n" * (500 - UNIQ_LEN)

# --- scenarios ----------------------------------------------------------------------------------------

PROTOCOL = [
    scenario(
        "protocol_unknown_path_and_wrong_method_are_html",
        get("unknown path", "no/such/rpc"),
        post("unknown path POST", "nope", {}),
        get("GET on a POST rpc", "runs/create"),
        on_run("POST on a GET rpc", "runs/get", run=NO_RUN),
        post("POST on get-history", "metrics/get-history", {}),
        get("GET on runs/search (POST only)", "runs/search", ("experiment_ids", "{exp_id}")),
        get("trailing slash", "experiments/get/", ("experiment_id", "{exp_id}")),
    ),
    scenario(
        "protocol_body_parsing",
        raw_body("malformed JSON reads as an empty object", "experiments/create", b'{"name": '),
        raw_body("empty body", "experiments/create", b""),
        raw_body("JSON null body", "experiments/create", b"null"),
        raw_body("no content-type", "experiments/create", b'{"name": "{uniq}-x"}', headers=()),
        raw_body(
            "text/plain", "experiments/create", b'{"name": "{uniq}-y"}', headers=(("content-type", "text/plain"),)
        ),
        raw_body("malformed JSON on an rpc without required fields", "runs/search", b"{bad"),
        raw_body("double-encoded JSON", "experiments/create", b'"{\\"name\\": \\"{uniq}-dbl\\"}"'),
        new_exp("unknown fields are ignored", "{uniq}-u", "e2", bogus=1),
        get_exp("it exists", "{e2}"),
    ),
    scenario(
        "protocol_non_object_json_body_is_a_500",
        raw_body("JSON array", "experiments/create", b"[1, 2]"),
        raw_body("JSON number", "experiments/create", b"5"),
    ),
    scenario(
        "protocol_get_reads_query_else_json_body",
        Step("JSON body, no query", "GET", f"{API}/experiments/get", json={"experiment_id": "{exp_id}"}),
        Step(
            "query wins",
            "GET",
            f"{API}/experiments/get",
            json={"experiment_id": "9999"},
            params=(("experiment_id", "{exp_id}"),),
        ),
        Step(
            "unknown query param hides the body",
            "GET",
            f"{API}/experiments/get",
            json={"experiment_id": "{exp_id}"},
            params=(("x", "1"),),
        ),
        get("unknown query params are ignored", "experiments/get", ("experiment_id", "{exp_id}"), ("bogus", "1")),
    ),
    scenario(
        "protocol_field_aliases",
        post(
            "camelCase names",
            "runs/create",
            {"experimentId": "{exp_id}", "runName": "camel"},
            save={"run_id": "run.info.run_id"},
        ),
        post("both spellings", "runs/create", {"experiment_id": "{exp_id}", "experimentId": "{exp_id}"}),
        get("run_uuid for run_id", "runs/get", ("run_uuid", "{run_id}")),
        post("update via run_uuid", "runs/update", {"run_uuid": "{run_id}", "status": "KILLED"}),
        post("camelCase runId fails the required check", "runs/update", {"runId": "{run_id}", "status": "FAILED"}),
    ),
    scenario(
        "protocol_int64_strings_and_enums",
        new_run(start_time="1700000000"),
        update_run("status by number", status=4),
        update_run("status by numeric string", status="5"),
        update_run("status by name, end_time as string", status="FINISHED", end_time="999"),
        update_run("unknown enum name is ignored", status="DONE", end_time=5),
        update_run("lowercase enum name is ignored", status="running"),
        update_run("unknown enum number", status=99),
        update_run("non-numeric end_time", end_time="x"),
        get_run(),
    ),
    scenario(
        "protocol_wrong_types",
        post("name as number", "experiments/create", {"name": 123}),
        post("name as object", "experiments/create", {"name": {"a": 1}}),
        new_exp("tags as object", "{uniq}-t", tags={"k": "v"}),
        post("experiment_id as number", "runs/create", {"experiment_id": 1}),
        new_run(),
        log_param("param value as number", key="p", value=5),
        set_tag("tag value as number", key="t", value=5),
        log_metric("metric value not a number", "m", "abc"),
        log_metric("timestamp not a number", "m", 1, "abc"),
        batch("metrics as object", metrics={"key": "x"}),
        post("order_by as string", "experiments/search", {"max_results": 5, "order_by": "name ASC"}),
    ),
]

EXPERIMENTS = [
    scenario(
        "experiment_create_get_and_get_by_name",
        new_exp("create with tags", "{uniq}-tags", "e2", tags=[{"key": "a", "value": "1"}, {"key": "b"}]),
        get_exp("get", "{e2}"),
        get("get-by-name", "experiments/get-by-name", ("experiment_name", "{uniq}-tags")),
        get("get-by-name unknown", "experiments/get-by-name", ("experiment_name", "{uniq}-nope")),
        get("get-by-name missing", "experiments/get-by-name"),
        get_exp("the scenario experiment"),
    ),
    scenario(
        "experiment_create_rejects",
        new_exp("duplicate name", "{uniq}"),
        post("missing name", "experiments/create", {}),
        new_exp("empty name", ""),
        post("null name", "experiments/create", {"name": None}),
        new_exp("name of 500 characters", "{uniq}" + _PAD_TO_500),
        new_exp("name of 501 characters", "{uniq}x" + _PAD_TO_500),
        new_exp("bad tag key", "{uniq}-k", tags=[{"key": "a!", "value": "1"}]),
        new_exp("tag value over 20000", "{uniq}-v", tags=[{"key": "a", "value": "x" * 20001}]),
        new_exp("duplicate tag keys", "{uniq}-d", tags=[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]),
    ),
    scenario(
        "experiment_artifact_location",
        new_exp("explicit location", "{uniq}-al", "e2", artifact_location="/tmp/parity/{uniq}"),
        get_exp("stored verbatim", "{e2}"),
        post("run artifact_uri under it", "runs/create", {"experiment_id": "{e2}"}, save={"r2": "run.info.run_id"}),
        new_exp("s3 location accepted", "{uniq}-s3", artifact_location="s3://bucket/{uniq}"),
        # Relative locations are made absolute against the server's working directory (the harness shows
        # that directory as <cwd>): joined as written, so "./" goes and ".." stays.
        new_exp("relative path", "{uniq}-rel", "e_rel", artifact_location="./{uniq}-relative/a/../b"),
        get_exp("stored absolute", "{e_rel}"),
        post("run artifact_uri under it", "runs/create", {"experiment_id": "{e_rel}"}),
        new_exp("relative file: URI", "{uniq}-relf", "e_relf", artifact_location="file:{uniq}-relative/f"),
        get_exp("stored as an absolute file: URI", "{e_relf}"),
    ),
    scenario(
        "experiment_get_unknown_and_invalid",
        get_exp("unknown id", "999999"),
        get_exp("non-numeric id", "abc"),
        get("missing id", "experiments/get"),
        get_exp("empty id", ""),
        on_exp("delete non-numeric", "experiments/delete", exp="abc"),
    ),
    scenario(
        "experiment_default_zero",
        get_exp("default experiment", "0"),
        get("by name", "experiments/get-by-name", ("experiment_name", "Default")),
    ),
    scenario(
        "experiment_rename",
        new_exp("other experiment", "{uniq}-other"),
        on_exp("rename to an existing name", "experiments/update", new_name="{uniq}-other"),
        on_exp("rename to its own name", "experiments/update", new_name="{uniq}"),
        on_exp("missing new_name", "experiments/update"),
        on_exp("empty new_name", "experiments/update", new_name=""),
        on_exp("name of 501", "experiments/update", new_name="{uniq}x" + _PAD_TO_500),
        on_exp("unknown experiment", "experiments/update", exp="999999", new_name="{uniq}-z"),
        on_exp("rename", "experiments/update", new_name="{uniq}-renamed"),
        get("old name is gone", "experiments/get-by-name", ("experiment_name", "{uniq}")),
        get("new name resolves", "experiments/get-by-name", ("experiment_name", "{uniq}-renamed")),
    ),
    scenario(
        "experiment_delete_and_restore",
        new_run(),
        on_exp("delete", "experiments/delete"),
        get_exp("deleted experiment still readable"),
        get("get-by-name finds it", "experiments/get-by-name", ("experiment_name", "{uniq}")),
        get_run("its run is deleted too"),
        on_exp("delete twice", "experiments/delete"),
        on_exp("create run in it", "runs/create"),
        exp_tag("tag it", key="k", value="v"),
        on_exp("rename it", "experiments/update", new_name="{uniq}-r"),
        new_exp("reuse its name", "{uniq}"),
        log_metric("log to its run", "m", 1),
        on_exp("restore", "experiments/restore"),
        get_run("run is active again"),
        on_exp("restore a live experiment", "experiments/restore"),
        on_exp("restore unknown", "experiments/restore", exp="999999"),
        on_exp("delete unknown", "experiments/delete", exp="999999"),
    ),
    scenario(
        "experiment_restore_revives_runs_deleted_before",
        new_run("r1", "run 1"),
        new_run("r2", "run 2"),
        on_run("delete run 1", "runs/delete", run="{r1}"),
        on_exp("delete experiment", "experiments/delete"),
        on_exp("restore experiment", "experiments/restore"),
        get_run("run 1", "{r1}"),
        get_run("run 2", "{r2}"),
    ),
    scenario(
        "experiment_tags",
        exp_tag("set", key="k", value="v"),
        exp_tag("key of 250", key="k" * 250, value="v"),
        exp_tag("key of 251", key="k" * 251, value="v"),
        exp_tag("value of 20000", key="big", value="v" * 20000),
        exp_tag("value of 20001 is rejected", key="big2", value="v" * 20001),
        exp_tag("no value", key="novalue"),
        exp_tag("empty key", key="", value="v"),
        exp_tag("bad key", key="a b!", value="v"),
        exp_tag("unknown experiment", exp="999999", key="k", value="v"),
        exp_tag("overwrite", key="k", value="v2"),
        on_exp("delete missing key", "experiments/delete-experiment-tag", key="nokey"),
        on_exp("delete big", "experiments/delete-experiment-tag", key="big"),
        on_exp("delete big again", "experiments/delete-experiment-tag", key="big"),
        on_exp("delete on unknown experiment", "experiments/delete-experiment-tag", exp="999999", key="k"),
        get_exp("tags after"),
    ),
]

EXPERIMENT_SEARCH = [
    scenario(
        "experiment_search_max_results_bounds",
        search_exps("max_results missing"),
        get("GET without max_results", "experiments/search", ("filter", "name LIKE '{uniq}%'")),
        search_exps("max_results 0", max_results=0),
        search_exps("max_results -1", max_results=-1),
        search_exps("max_results 50001", max_results=50001),
        search_exps("max_results 50000", max_results=50000),
        search_exps("max_results as string", max_results="5"),
    ),
    scenario(
        "experiment_search_paging_and_view_type",
        *(new_exp(f"create {s}", f"{{uniq}}-{s}", f"e_{s}") for s in "abc"),
        search_exps("page 1", {"tok": "next_page_token"}, max_results=3, order_by=["name ASC"]),
        search_exps("page 2 (last, not full)", max_results=3, order_by=["name ASC"], page_token="{tok}"),
        search_exps("exactly full single page", max_results=4, order_by=["name DESC"]),
        on_exp("delete b", "experiments/delete", exp="{e_b}"),
        *(
            search_exps(f"view_type {v!r}", max_results=10, order_by=["name ASC"], view_type=v)
            for v in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL", 2, "BOGUS")
        ),
        get(
            "GET with view_type",
            "experiments/search",
            ("filter", "name LIKE '{uniq}%'"),
            ("max_results", "10"),
            ("view_type", "DELETED_ONLY"),
        ),
        post("filter by tag", "experiments/search", {"filter": "tags.none = 'x'", "max_results": 10}),
    ),
    scenario(
        "experiment_search_invalid_input",
        post("bad filter syntax", "experiments/search", {"filter": "nonsense ===", "max_results": 5}),
        post("unknown attribute", "experiments/search", {"filter": "foo = 'x'", "max_results": 5}),
        post("bad order_by", "experiments/search", {"max_results": 5, "order_by": ["bogus"]}),
        post("bad page token", "experiments/search", {"max_results": 5, "page_token": "zzz"}),
    ),
]


RUNS = [
    scenario(
        "run_create_defaults",
        new_run(name="minimal: no start_time, no user, generated name"),
        get_run(),
        new_run("r2", "with user and start time", user_id="alice", start_time=123),
        new_run("r3", "negative start time", start_time=-5),
        new_run(
            "r4", "tags keep their order", tags=[{"key": "z", "value": "1"}, {"key": "mlflow.user", "value": "bob"}]
        ),
        new_run("r5", "status is not a create field", status="FINISHED"),
    ),
    scenario(
        "run_create_name_and_tag",
        new_run("r1", "run_name only", run_name="named_run"),
        new_run("r2", "tag only", tags=[{"key": "mlflow.runName", "value": "from_tag"}]),
        new_run("r3", "both equal", run_name="same", tags=[{"key": "mlflow.runName", "value": "same"}]),
        post(
            "both differ",
            "runs/create",
            {"experiment_id": "{exp_id}", "run_name": "name_a", "tags": [{"key": "mlflow.runName", "value": "tag_b"}]},
            message="Both 'run_name' argument and 'mlflow.runName' tag are specified",
        ),
        new_run("r4", "run_name of 300 characters", run_name="n" * 300),
        get_run("run 2", "{r2}"),
    ),
    scenario(
        "run_create_rejects",
        post("no experiment_id", "runs/create", {"start_time": 1}),
        on_exp("empty experiment_id", "runs/create", exp=""),
        on_exp("unknown experiment", "runs/create", exp="999999"),
        on_exp("non-numeric experiment", "runs/create", exp="abc"),
        on_exp("non-numeric start_time", "runs/create", start_time="abc"),
        on_exp("duplicate tag keys", "runs/create", tags=[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]),
    ),
    scenario(
        "run_unknown_or_missing_id",
        get_run("unknown run", NO_RUN),
        get("missing run_id", "runs/get"),
        update_run("update unknown", run=NO_RUN, status="FINISHED"),
        on_run("delete unknown", "runs/delete", run=NO_RUN),
        on_run("restore unknown", "runs/restore", run=NO_RUN),
        log_metric("metric to unknown run", "m", 1, run=NO_RUN),
        log_param("param to unknown run", run=NO_RUN, key="p", value="1"),
        set_tag("tag to unknown run", run=NO_RUN, key="t", value="1"),
        on_run("delete tag of unknown run", "runs/delete-tag", run=NO_RUN, key="t"),
        batch("batch to unknown run", run=NO_RUN),
        on_run("inputs to unknown run", "runs/log-inputs", run=NO_RUN),
        post("update without run_id", "runs/update", {"status": "FINISHED"}),
        post("delete without run_id", "runs/delete", {}),
    ),
    scenario(
        "run_update",
        new_run(start_time=10),
        update_run("finish with end_time", status="FINISHED", end_time=1234),
        update_run("rename", run_name="renamed"),
        get_run("tag follows run_name"),
        update_run("empty run_name changes nothing", run_name=""),
        on_run("nothing to update", "runs/update"),
        update_run("back to RUNNING", status="RUNNING"),
        new_run("r2", "second run", start_time=10),
        update_run("finish without end_time", run="{r2}", status="FINISHED"),
    ),
    scenario(
        "run_name_via_tags",
        new_run(run_name="orig"),
        set_tag("set mlflow.runName", key="mlflow.runName", value="via_tag"),
        get_run("run_name follows the tag"),
        set_tag("set an empty mlflow.runName", key="mlflow.runName", value=""),
        get_run("empty value changes nothing"),
        batch("mlflow.runName in log-batch", tags=[{"key": "mlflow.runName", "value": "via_batch"}]),
        get_run("run_name follows the batch tag"),
        on_run("delete mlflow.runName", "runs/delete-tag", key="mlflow.runName"),
        get_run("run_name stays"),
    ),
    scenario(
        "run_delete_and_restore",
        new_run(),
        log_param("param", key="p", value="1"),
        on_run("delete", "runs/delete"),
        on_run("delete twice", "runs/delete"),
        get_run("deleted run is readable"),
        on_run("restore", "runs/restore"),
        on_run("restore twice", "runs/restore"),
        get_run("restored"),
    ),
    scenario(
        "deleted_run_rejects_writes",
        new_run(),
        log_metric("metric before delete", "m", 1),
        on_run("delete", "runs/delete"),
        log_metric("log-metric", "m", 2, 101),
        log_param("log-parameter", "must be in the 'active' state", key="p", value="1"),
        set_tag("set-tag", key="t", value="1"),
        on_run("delete-tag", "runs/delete-tag", key="mlflow.runName"),
        update_run("update", status="FINISHED"),
        batch("empty log-batch"),
        inputs("empty log-inputs"),
        history("history still readable", "m"),
        get_run(),
    ),
]

METRICS = [
    scenario(
        "metric_timestamp_and_step_rules",
        new_run(),
        on_run("missing timestamp", "runs/log-metric", key="m", value=1),
        log_metric("negative timestamp", "m", 1, -1),
        log_metric("timestamp 0", "ts0", 1, 0),
        log_metric("negative step", "negstep", 1, 100, -3),
        log_metric("timestamp as string", "tsstr", 1, "100"),
        log_metric("step as string", "stepstr", 1, 100, "7"),
        on_run("step omitted", "runs/log-metric", key="nostep", value=1, timestamp=5),
        on_run("missing value", "runs/log-metric", key="m", timestamp=1),
        on_run("null value", "runs/log-metric", key="m", value=None, timestamp=1),
        on_run("missing key", "runs/log-metric", value=1, timestamp=1),
        post("via run_uuid", "runs/log-metric", {"run_uuid": "{run_id}", "key": "viauuid", "value": 1, "timestamp": 1}),
        get_run(),
    ),
    scenario(
        "metric_special_values",
        new_run(),
        log_metric("NaN", "nan", "NaN"),
        log_metric("Infinity", "inf", "Infinity"),
        log_metric("-Infinity", "ninf", "-Infinity"),
        log_metric("numeric string", "str", "1.5"),
        log_metric("integer", "int", 3),
        log_metric("bool", "bool", True),
        log_metric("huge", "huge", 1e308),
        get_run(),
        history("NaN history", "nan"),
        history("Infinity history", "inf"),
        history("-Infinity history", "ninf"),
    ),
    scenario(
        "metric_partial_parse_quirks",
        new_run(),
        log_metric("lowercase nan string", "nan2", "nan"),
        log_metric("fractional timestamp", "tsfloat", 1, 100.5, 4),
        log_metric("fractional step", "stepfloat", 1, 100, 7.5),
        get_run(),
    ),
    scenario(
        "metric_key_rules",
        new_run(),
        log_metric("key of 250", "k" * 250, 1),
        log_metric("key of 251", "k" * 251, 1, message="'Metric name' exceeds the maximum length of 250"),
        log_metric("allowed characters", "a/b c:d-e_f.g", 1),
        log_metric("unicode", "\u00e9", 1),
        *(log_metric(f"rejected key {k!r}", k, 1) for k in ("a!b", "a/../b", "/ab", "ab/", ".", "a//b", "")),
        get_run(),
    ),
    scenario(
        "metric_latest_value_selection",
        new_run(),
        log_metric("s1 later timestamp first", "s1", 1.0, 200, 1),
        log_metric("s1 earlier timestamp", "s1", 2.0, 100, 1),
        log_metric("s2 low step, late", "s2", 1.0, 500, 1),
        log_metric("s2 high step, early", "s2", 2.0, 100, 2),
        log_metric("s3 tie, larger first", "s3", 5.0, 100, 1),
        log_metric("s3 tie, smaller", "s3", 3.0, 100, 1),
        log_metric("s4 tie, smaller first", "s4", 3.0, 100, 1),
        log_metric("s4 tie, larger", "s4", 5.0, 100, 1),
        log_metric("s5 NaN", "s5", "NaN", 100, 1),
        log_metric("s5 number", "s5", 1.0, 100, 1),
        log_metric("s6 step 0", "s6", 1.0, 100, 0),
        log_metric("s6 step -1, later", "s6", 2.0, 900, -1),
        log_metric("s7 Infinity", "s7", "Infinity", 100, 1),
        log_metric("s7 number", "s7", 5.0, 100, 1),
        log_metric("s8 -Infinity", "s8", "-Infinity", 100, 1),
        log_metric("s8 number", "s8", 5.0, 100, 1),
        get_run(),
    ),
    scenario(
        "metric_history_order_and_paging",
        new_run(),
        *(
            log_metric(f"h v={v} ts={ts} step={st}", "h", v, ts, st)
            for v, ts, st in ((1.0, 300, 1), (2.0, 100, 9), (3.0, 200, 2), (4.0, 100, 2), (5.0, 50, 7), (6.0, 100, 2))
        ),
        history("whole history: timestamp, step, value order", "h"),
        history("page 1", "h", ("max_results", "2"), save={"tok": "next_page_token"}),
        history("page 2", "h", ("max_results", "2"), ("page_token", "{tok}"), save={"tok2": "next_page_token"}),
        history("page 3, exactly full", "h", ("max_results", "2"), ("page_token", "{tok2}")),
        history("one page of exactly all", "h", ("max_results", "6")),
        history("max_results above 25000", "h", ("max_results", "25001")),
        history("max_results 0", "h", ("max_results", "0")),
        history("max_results -1", "h", ("max_results", "-1")),
        history("bad page token", "h", ("page_token", "garbage")),
        get("via run_uuid", "metrics/get-history", ("run_uuid", "{run_id}"), ("metric_key", "h")),
    ),
    scenario(
        "metric_history_edge_cases",
        new_run(),
        log_metric("x", "x", 1.0, 5, 1),
        log_metric("exact duplicate", "x", 1.0, 5, 1),
        log_metric("NaN", "n", "NaN", 5, 1),
        log_metric("NaN duplicate", "n", "NaN", 5, 1),
        history("duplicates stored once", "x"),
        history("NaN duplicates stored once", "n"),
        history("unknown key", "nokey"),
        get("unknown run", "metrics/get-history", ("run_id", NO_RUN), ("metric_key", "x")),
        get("missing metric_key", "metrics/get-history", ("run_id", "{run_id}")),
        get("missing run_id", "metrics/get-history", ("metric_key", "x")),
        Step("JSON body on GET", "GET", f"{API}/metrics/get-history", json={"run_id": "{run_id}", "metric_key": "x"}),
    ),
]

BULK_INTERVAL = [
    scenario(
        "bulk_interval_sampling_and_ranges",
        new_run(),
        new_run("r2", "run 2"),
        batch("ten points", metrics=[metric("m", float(i), 1000 + i, i) for i in range(10)]),
        batch(
            "three points on run 2", run="{r2}", metrics=[metric("m", float(i * 10), 5000 - i, i * 2) for i in range(3)]
        ),
        bulk_m("all"),
        *(bulk_m(f"max_results {k}", ("max_results", str(k))) for k in (1, 3, 4, 9, 10)),
        bulk_m("steps 2..5", ("start_step", "2"), ("end_step", "5")),
        bulk_m("steps 5..5", ("start_step", "5"), ("end_step", "5")),
        bulk_m("steps 2..8 sampled to 3", ("start_step", "2"), ("end_step", "8"), ("max_results", "3")),
        bulk(
            "runs in request order",
            ("run_ids", "{r2}"),
            ("run_ids", "{run_id}"),
            ("metric_key", "m"),
            ("max_results", "2"),
        ),
        bulk(
            "duplicate run ids repeat",
            ("run_ids", "{run_id}"),
            ("run_ids", "{run_id}"),
            ("metric_key", "m"),
            ("max_results", "2"),
        ),
        bulk("unknown run among known", ("run_ids", "{r2}"), ("run_ids", NO_RUN), ("metric_key", "m")),
        bulk("unknown run only", ("run_ids", NO_RUN), ("metric_key", "m")),
        bulk("unknown metric", ("run_ids", "{run_id}"), ("metric_key", "zz")),
    ),
    scenario(
        "bulk_interval_same_step_and_nan",
        new_run(),
        batch("seven points on step 0", metrics=[metric("m", float(i), 100 - i, 0) for i in range(7)]),
        batch("NaN and Infinity", metrics=[metric("n", "NaN", 1, 1), metric("n", "Infinity", 2, 2)]),
        bulk_m("sampled to 3", ("max_results", "3")),
        bulk("NaN and Infinity", ("run_ids", "{run_id}"), ("metric_key", "n")),
    ),
    scenario(
        "bulk_interval_limits",
        new_run(),
        log_metric("a point", "m", 1.0),
        bulk("100 run ids", *([("run_ids", "{run_id}")] * 100), ("metric_key", "m"), ("max_results", "1")),
        bulk("101 run ids", *([("run_ids", "{run_id}")] * 101), ("metric_key", "m")),
        bulk_m("max_results 0", ("max_results", "0")),
        bulk_m("max_results 2500", ("max_results", "2500")),
        bulk_m("max_results 2501", ("max_results", "2501")),
        bulk_m("max_results not a number", ("max_results", "abc")),
        bulk_m("start_step only", ("start_step", "2")),
        bulk_m("end_step only", ("end_step", "2")),
        bulk_m("start after end", ("start_step", "5"), ("end_step", "2")),
        bulk("missing run_ids", ("metric_key", "m")),
        bulk("missing metric_key", ("run_ids", "{run_id}")),
        post("POST is not allowed", "metrics/get-history-bulk-interval", {"run_ids": ["{run_id}"], "metric_key": "m"}),
    ),
]

PARAMS_AND_TAGS = [
    scenario(
        "param_relog_rules",
        new_run(),
        log_param("log", key="p", value="1"),
        log_param("same value again", key="p", value="1"),
        log_param("different value", "Changing param values is not allowed", key="p", value="2"),
        log_param("missing value", key="noval"),
        log_param("empty value relogged", key="noval", value=""),
        log_param("null value", key="nul", value=None),
        get_run(),
    ),
    scenario(
        "param_value_truncation",
        new_run(),
        log_param("6000 characters", key="v6000", value="x" * 6000),
        log_param("6001 characters", key="v6001", value="x" * 6001),
        log_param("relog the 6001 value", key="v6001", value="x" * 6001),
        log_param("relog its 6000 prefix", key="v6001", value="x" * 6000),
        get_run(),
    ),
    scenario(
        "param_key_rules",
        new_run(),
        *(
            log_param(f"key {k!r}", key=k, value="1")
            for k in ("k" * 250, "k" * 251, "a/b", "a b", "a:b", "..", "a/..", "/a", "a//b", "a!", "a\tb", "")
        ),
        log_param("key as number", key=5, value="1"),
        get_run(),
    ),
    scenario(
        "run_tag_rules",
        new_run(),
        set_tag("set", key="t", value="1"),
        set_tag("overwrite", key="t", value="2"),
        set_tag("8000 characters", key="v8000", value="x" * 8000),
        set_tag("8001 characters", key="v8001", value="x" * 8001),
        set_tag("no value", key="noval"),
        set_tag("key of 251", key="k" * 251, value="1", message="'key' exceeds the maximum length of 250"),
        set_tag("bad key", key="a!", value="1"),
        set_tag("dotted key", key="..", value="1"),
        set_tag("empty key", key="", value="1"),
        on_run("delete missing tag", "runs/delete-tag", key="nope"),
        on_run("delete tag", "runs/delete-tag", key="t"),
        on_run("delete it again", "runs/delete-tag", key="t"),
        get_run(),
    ),
    scenario(
        "run_create_tags_are_not_validated",
        new_run(
            tags=[{"key": "a!", "value": "1"}, {"key": "long", "value": "x" * 8001}, {"key": "k" * 251, "value": "1"}]
        ),
        get_run(),
        new_run("r2", "tags as an object are ignored", run_name="obj_tags", tags={"a": "b"}),
    ),
]

LOG_BATCH = [
    scenario(
        "log_batch_limits",
        new_run(),
        batch("empty"),
        batch("empty lists", metrics=[], params=[], tags=[]),
        batch("1000 metrics", metrics=_metrics(1000)),
        batch("1001 metrics", "at most 1000 metrics", metrics=_metrics(1001)),
        batch("100 params", params=[_param(i) for i in range(100)]),
        batch("101 params", params=[_param(i) for i in range(101)]),
        batch("100 tags", tags=[_tag(i) for i in range(100)]),
        batch("101 tags", tags=[_tag(i) for i in range(101)]),
        batch("1001 entities in total", metrics=_metrics(901), params=[_param(1000 + i) for i in range(100)]),
        post("missing run_id", "runs/log-batch", {"metrics": _metrics(1)}),
    ),
    scenario(
        "log_batch_all_or_nothing",
        new_run(),
        batch("one bad metric key", metrics=[metric("ok", 1), metric("bad!", 1)], params=[_param(1)], tags=[_tag(1)]),
        batch("one negative timestamp", metrics=[metric("ok", 1), metric("neg", 1, -1)], params=[_param(1)]),
        batch("one bad param key", metrics=[metric("ok", 1)], params=[_param(1), {"key": "bad!", "value": "x"}]),
        get_run("nothing was stored"),
        batch("a param", params=[_param(3, "x")]),
        batch("conflicting param and a new metric", params=[_param(3, "y")], metrics=[metric("m5", 5)]),
        batch("equal param and a new metric", params=[_param(3, "x")], metrics=[metric("m6", 6)]),
        get_run("only the second metric"),
    ),
    scenario(
        "log_batch_duplicates",
        new_run(),
        batch("duplicate param keys, same value", params=[_param(1), _param(1)]),
        batch("duplicate param keys, different values", params=[_param(2, "a"), _param(2, "b")]),
        batch("duplicate tag keys: last wins", tags=[{"key": "dt", "value": "1"}, {"key": "dt", "value": "2"}]),
        batch("same key/step/timestamp, two values", metrics=[metric("dm", 1, 5, 1), metric("dm", 2, 5, 1)]),
        history("both values kept", "dm"),
        get_run(),
    ),
    scenario(
        "log_batch_field_rules",
        new_run(),
        batch("metric without timestamp", metrics=[{"key": "nots", "value": 1}]),
        batch("metric without value", metrics=[{"key": "noval", "timestamp": 1}]),
        batch("metric without key", metrics=[{"value": 1, "timestamp": 1}]),
        batch("param without value", params=[{"key": "pnoval"}]),
        batch("param of 6001", params=[{"key": "plong", "value": "x" * 6001}]),
        batch("tag of 8001", tags=[{"key": "tlong", "value": "x" * 8001}]),
        batch(
            "param key of 251",
            "'Param key' exceeds the maximum length of 250",
            params=[{"key": "k" * 251, "value": "1"}],
        ),
        batch(
            "metric key of 251",
            "'Metric name' exceeds the maximum length of 250",
            metrics=[{"key": "k" * 251, "value": 1, "timestamp": 1, "step": 0}],
        ),
        batch(
            "string value, NaN, string timestamp",
            metrics=[metric("sv", "1.5", 1), metric("nb", "NaN", 1), metric("ts", 1, "7")],
        ),
        get_run(),
    ),
]

LOG_INPUTS = [
    scenario(
        "log_inputs_datasets",
        new_run(),
        on_run("nothing", "runs/log-inputs"),
        inputs("one dataset for training", _ds(context="training")),
        inputs("same again", _ds(context="training")),
        inputs("same dataset, other context: no change", _ds(context="eval")),
        inputs("new digest with schema and profile", _ds(digest="d2", schema='{"a": 1}', profile='{"rows": 3}')),
        inputs("second dataset, no tags", _ds("aaa", "x")),
        get_run(),
        search_runs("search shows inputs"),
    ),
    scenario(
        "log_inputs_validation",
        new_run(),
        inputs("digest of 37", _ds(digest="d" * 37)),
        inputs("name of 501", _ds(name="n" * 501)),
        inputs(
            "tag value of 501", {"dataset": {"name": "t2", "digest": "d"}, "tags": [{"key": "k", "value": "v" * 501}]}
        ),
        inputs(
            "tag key of 256", {"dataset": {"name": "t3", "digest": "d"}, "tags": [{"key": "k" * 256, "value": "v"}]}
        ),
        on_run("datasets as an object", "runs/log-inputs", datasets={"dataset": {"name": "x"}}),
        post("missing run_id", "runs/log-inputs", {"datasets": []}),
        inputs("missing digest is accepted", {"dataset": {"name": "n", "source_type": "local", "source": "s"}}),
        inputs("tag without value is accepted", {"dataset": {"name": "t1", "digest": "d"}, "tags": [{"key": "k"}]}),
        get_run(),
    ),
]

SEARCH_RUNS = [
    scenario(
        "search_runs_order_and_paging",
        *(new_run(f"r{i}", f"run {i}", run_name=f"run_{i}", start_time=1000 + i) for i in range(3)),
        *(log_metric(f"acc of run {i}", "acc", float(i % 2), run=f"{{r{i}}}") for i in range(3)),
        search_runs("default order: start_time DESC"),
        post(
            "page 1", "runs/search", {"experiment_ids": ["{exp_id}"], "max_results": 2}, save={"tok": "next_page_token"}
        ),
        search_runs("page 2", max_results=2, page_token="{tok}"),
        search_runs("exactly full page", max_results=3),
        search_runs("order by metric, ties by start_time", order_by=["metrics.acc DESC"]),
        search_runs("filter on a metric", filter="metrics.acc > 0.5"),
        search_runs("filter on run_name", filter="attributes.run_name = 'run_2'"),
        search_runs("max_results as string", max_results="1"),
    ),
    scenario(
        "search_runs_invalid_input",
        new_run(),
        post("no experiment_ids", "runs/search", {}),
        post("unknown experiment", "runs/search", {"experiment_ids": ["999999"]}),
        post("non-numeric experiment", "runs/search", {"experiment_ids": ["abc"]}),
        post("experiment_ids as a string", "runs/search", {"experiment_ids": "{exp_id}"}),
        search_runs("max_results 0", max_results=0),
        search_runs("max_results 50001", max_results=50001),
        search_runs("max_results 50000", max_results=50000),
        search_runs("incomplete filter", filter="metrics.acc >"),
        search_runs("unknown attribute", filter="foo = 1"),
        search_runs("unquoted param value", filter="params.x = 1"),
        search_runs("bad order_by", order_by=["bogus DESC"]),
        search_runs("bad page token", page_token="zzz"),
    ),
    scenario(
        "search_runs_view_type",
        new_run("r1", "run 1", start_time=1),
        new_run("r2", "run 2", start_time=2),
        on_run("delete run 1", "runs/delete", run="{r1}"),
        *(
            search_runs(f"run_view_type {v!r}", run_view_type=v)
            for v in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL", 2, "BOGUS")
        ),
        on_exp("delete the experiment", "experiments/delete"),
        search_runs("runs of a deleted experiment, default view"),
        search_runs("runs of a deleted experiment, ALL", run_view_type="ALL"),
    ),
]

ARTIFACTS = [
    scenario(
        "artifacts_upload_download_list_delete",
        art("upload", "PUT", "{uniq}/dir/a.txt", b"hello"),
        art("upload binary", "PUT", "{uniq}/dir/sub/b.bin", b"\x00\x01\x02"),
        art("upload empty", "PUT", "{uniq}/empty.txt", b""),
        art("overwrite", "PUT", "{uniq}/dir/a.txt", b"hello2"),
        art("download", "GET", "{uniq}/dir/a.txt"),
        art("download binary", "GET", "{uniq}/dir/sub/b.bin"),
        art("download empty", "GET", "{uniq}/empty.txt"),
        art("download a directory", "GET", "{uniq}/dir"),
        art("download missing", "GET", "{uniq}/nope.txt"),
        art_list("list", "{uniq}"),
        art_list("list nested", "{uniq}/dir"),
        art_list("list with trailing slash", "{uniq}/dir/"),
        art_list("list missing directory", "{uniq}/nope"),
        art_list("list a file", "{uniq}/dir/a.txt"),
        art("upload to a path ending in /", "PUT", "{uniq}/newdir/", b"x"),
        art("delete a file", "DELETE", "{uniq}/dir/sub/b.bin"),
        art("delete it again", "DELETE", "{uniq}/dir/sub/b.bin"),
        art_list("list after file delete", "{uniq}/dir"),
        art("delete a directory", "DELETE", "{uniq}/dir"),
        art_list("list after directory delete", "{uniq}"),
        art("POST is not allowed", "POST", "{uniq}/x.txt", b"x"),
    ),
    scenario(
        "artifacts_path_traversal",
        art("upload", "PUT", "{uniq}/dir/a.txt", b"hello"),
        art("raw .. in download", "GET", "{uniq}/../{uniq}/dir/a.txt", raw=True),
        art("raw .. escaping the root", "GET", "../../etc/passwd", raw=True),
        art("raw . segment", "GET", "{uniq}/./dir/a.txt", raw=True),
        art("raw .. in upload", "PUT", "{uniq}/../evil.txt", b"x", raw=True),
        art("raw .. in delete", "DELETE", "{uniq}/../x", raw=True),
        art("%2e%2e in download", "GET", "{uniq}/%2e%2e/{uniq}/dir/a.txt"),
        art("%2E%2E in upload", "PUT", "{uniq}/%2E%2E/evil.txt", b"x"),
        art("%2e%2e in delete", "DELETE", "{uniq}/%2e%2e/x"),
        art("absolute path", "GET", "%2Fetc/passwd"),
        art("encoded slashes inside a segment", "GET", "{uniq}%2Fdir%2Fa.txt"),
        art_list("list ..", ".."),
        art_list("list an absolute path", "/etc"),
        art_list("list x/../y", "{uniq}/../x"),
    ),
    scenario(
        "artifacts_multipart_not_implemented",
        Step("create", "POST", f"{ART}/mpu/create/{{uniq}}", json={"path": "big.bin", "num_parts": 2}),
        Step(
            "complete", "POST", f"{ART}/mpu/complete/{{uniq}}", json={"path": "big.bin", "upload_id": "x", "parts": []}
        ),
        Step("abort", "POST", f"{ART}/mpu/abort/{{uniq}}", json={"path": "big.bin", "upload_id": "x"}),
    ),
    scenario(
        "run_artifacts_list",
        new_run(),
        get("empty run", "artifacts/list", ("run_id", "{run_id}")),
        art("upload into the run", "PUT", "{exp_id}/{run_id}/artifacts/model/m.txt", b"abc"),
        get("run root", "artifacts/list", ("run_id", "{run_id}")),
        get(
            "sub directory: paths relative to the run root", "artifacts/list", ("run_id", "{run_id}"), ("path", "model")
        ),
        get("missing directory", "artifacts/list", ("run_id", "{run_id}"), ("path", "nope")),
        get("traversal", "artifacts/list", ("run_id", "{run_id}"), ("path", "../x")),
        get("unknown run", "artifacts/list", ("run_id", NO_RUN)),
        get("missing run_id", "artifacts/list"),
        art_list("same files through the proxy", "{exp_id}/{run_id}/artifacts"),
    ),
]

_TYPE_HINT = "supplied:  Hint: Value was of type"  # MLflow's text, two spaces included
_API_DOCS = "See the API docs for more information about request parameters."

FIDELITY = [
    scenario(
        "protocol_ajax_api_alias",
        Step(
            "create through ajax-api",
            "POST",
            f"{AJAX}/experiments/create",
            json={"name": "{uniq}-ajax"},
            save={"e2": "experiment_id"},
        ),
        Step("get through ajax-api", "GET", f"{AJAX}/experiments/get", params=(("experiment_id", "{e2}"),)),
        Step(
            "create a run through ajax-api",
            "POST",
            f"{AJAX}/runs/create",
            json={"experiment_id": "{e2}"},
            save={"run_id": "run.info.run_id"},
        ),
        Step(
            "log through ajax-api", "POST", f"{AJAX}/runs/log-metric", json={"run_id": "{run_id}", **metric("m", 1.5)}
        ),
        Step(
            "history through ajax-api",
            "GET",
            f"{AJAX}/metrics/get-history",
            params=(("run_id", "{run_id}"), ("metric_key", "m")),
        ),
        get_run("the same run through api"),
        Step(
            "validation errors alike",
            "POST",
            f"{AJAX}/runs/update",
            json={"run_id": 31},
            message="Invalid value 31 for parameter 'run_id' supplied",
        ),
        Step("GET on a POST rpc", "GET", f"{AJAX}/runs/create"),
        Step("unknown rpc", "GET", f"{AJAX}/no/such/rpc"),
        Step(
            "no 3.0 alias for a 2.0 rpc",
            "GET",
            "/ajax-api/3.0/mlflow/experiments/get",
            params=(("experiment_id", "{e2}"),),
        ),
        Step("artifact upload", "PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/{uniq}/a.txt", content=b"ajax"),
        Step("artifact list", "GET", "/ajax-api/2.0/mlflow-artifacts/artifacts", params=(("path", "{uniq}"),)),
        Step("artifact download", "GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/{uniq}/a.txt"),
        Step(
            "artifact traversal",
            "GET",
            "/ajax-api/2.0/mlflow-artifacts/artifacts/{uniq}/../x",
            raw=True,
            message="Invalid path",
        ),
    ),
    scenario(
        "protocol_version_and_health",
        Step("version", "GET", "/version"),
        Step("version HEAD", "HEAD", "/version"),
        Step("version POST", "POST", "/version", json={}),
        Step("health", "GET", "/health"),
        Step("health POST", "POST", "/health", json={}),
    ),
    scenario(
        "validation_messages_for_wrong_types",
        new_run(),
        post(
            "run_id as a number",
            "runs/update",
            {"run_id": 31},
            message="Invalid value 31 for parameter 'run_id' supplied",
        ),
        post(
            "name as a number",
            "experiments/create",
            {"name": 123},
            message=f"Invalid value 123 for parameter 'name' {_TYPE_HINT} 'int'. {_API_DOCS}",
        ),
        post(
            "tags as an object",
            "experiments/create",
            {"name": "{uniq}-t", "tags": {"a": "b"}},
            message='Invalid value {"a":"b"} for parameter \'tags\' ' + _TYPE_HINT + " 'dict'.",
        ),
        post(
            "artifact_location as a number",
            "experiments/create",
            {"name": "{uniq}-l", "artifact_location": 5},
            message="Invalid value 5 for parameter 'artifact_location'",
        ),
        post("experiment_id as a number", "experiments/update", {"experiment_id": 5, "new_name": "x"}),
        set_tag("tag key as a number", key=5, value="x"),
        post(
            "tag value as a bool",
            "runs/set-tag",
            {"run_id": "{run_id}", "key": "k", "value": True},
            message=f"Invalid value true for parameter 'value' {_TYPE_HINT} 'bool'.",
        ),
        post(
            "tag value as a list",
            "runs/set-tag",
            {"run_id": "{run_id}", "key": "k", "value": ["a"]},
            message="Invalid value [\"a\"] for parameter 'value'",
        ),
        post(
            "param value as an object",
            "runs/log-parameter",
            {"run_id": "{run_id}", "key": "k", "value": {"a": 1}},
            message="Invalid value {\"a\":1} for parameter 'value'",
        ),
        post(
            "metric value not a number",
            "runs/log-metric",
            {"run_id": "{run_id}", **metric("m", "abc")},
            message=f"Invalid value \"abc\" for parameter 'value' {_TYPE_HINT} 'str'.",
        ),
        post(
            "timestamp not a number",
            "runs/log-metric",
            {"run_id": "{run_id}", **metric("m", 1, "abc")},
            message="Invalid value \"abc\" for parameter 'timestamp'",
        ),
        post(
            "step not a number",
            "runs/log-metric",
            {"run_id": "{run_id}", **metric("m", 1, 1, "x")},
            message="Invalid value \"x\" for parameter 'step'",
        ),
        post(
            "start_time not a number",
            "runs/create",
            {"experiment_id": "{exp_id}", "start_time": "abc"},
            message="Invalid value \"abc\" for parameter 'start_time'",
        ),
        post(
            "run_name as a number",
            "runs/create",
            {"experiment_id": "{exp_id}", "run_name": 5},
            message="Invalid value 5 for parameter 'run_name'",
        ),
        post(
            "experiment_id of a run as a number",
            "runs/create",
            {"experiment_id": 5},
            message="Invalid value 5 for parameter 'experiment_id'",
        ),
        post(
            "search order_by as a string",
            "experiments/search",
            {"max_results": 5, "order_by": "name"},
            message="Invalid value \"name\" for parameter 'order_by'",
        ),
        post(
            "search filter as a number",
            "experiments/search",
            {"max_results": 5, "filter": 5},
            message="Invalid value 5 for parameter 'filter'",
        ),
        post(
            "search max_results not a number",
            "experiments/search",
            {"max_results": "abc"},
            message="Invalid value \"abc\" for parameter 'max_results'",
        ),
        post(
            "runs/search experiment_ids as a string",
            "runs/search",
            {"experiment_ids": "{exp_id}"},
            message="for parameter 'experiment_ids' " + _TYPE_HINT + " 'str'.",
        ),
        search_runs("runs/search order_by items not strings", order_by=[5]),
        post(
            "runs/search max_results over 50000",
            "runs/search",
            {"experiment_ids": ["{exp_id}"], "max_results": 50001},
            message=f"Invalid value 50001 for parameter 'max_results' {_TYPE_HINT} 'int'.",
        ),
        post(
            "runs/search max_results 0",
            "runs/search",
            {"experiment_ids": ["{exp_id}"], "max_results": 0},
            message="Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer",
        ),
        post(
            "experiments/search max_results missing",
            "experiments/search",
            {},
            message="Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer",
        ),
        post(
            "experiments/search max_results over 50000",
            "experiments/search",
            {"max_results": 50001},
            message="Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000",
        ),
        post(
            "log-batch run_id as a number",
            "runs/log-batch",
            {"run_id": 31},
            message=f"Invalid value 31 for parameter 'run_id' {_TYPE_HINT} 'int'.",
        ),
        batch(
            "log-batch metrics as an object",
            metrics={"a": 1},
            message="Invalid value {\"a\":1} for parameter 'metrics'",
        ),
        post(
            "log-inputs datasets as an object",
            "runs/log-inputs",
            {"run_id": "{run_id}", "datasets": {"a": 1}},
            message="for parameter 'datasets'",
        ),
        post(
            "experiment tag value as a number",
            "experiments/set-experiment-tag",
            {"experiment_id": "{exp_id}", "key": "k", "value": 5},
            message="Invalid value 5 for parameter 'value'",
        ),
    ),
    scenario(
        "validation_messages_for_missing_values",
        new_run(),
        post(
            "experiment name",
            "experiments/create",
            {},
            message=f"Missing value for required parameter 'name'. {_API_DOCS}",
        ),
        on_exp("new_name", "experiments/update", message="Missing value for required parameter 'new_name'."),
        get(
            "experiment_name",
            "experiments/get-by-name",
            message="Missing value for required parameter 'experiment_name'.",
        ),
        get(
            "metric_key",
            "metrics/get-history",
            ("run_id", "{run_id}"),
            message="Missing value for required parameter 'metric_key'.",
        ),
        get(
            "run_id of get-history",
            "metrics/get-history",
            ("metric_key", "m"),
            message="Missing value for required parameter 'run_id'.",
        ),
        on_run("tag key to delete", "runs/delete-tag", message="Missing value for required parameter 'key'."),
        post(
            "metric timestamp",
            "runs/log-metric",
            {"run_id": "{run_id}", "key": "m", "value": 1},
            message=f"Missing value for required parameter 'timestamp'. {_API_DOCS}",
        ),
        post(
            "metric value",
            "runs/log-metric",
            {"run_id": "{run_id}", "key": "m", "timestamp": 1},
            message="Missing value for required parameter 'value'.",
        ),
        batch(
            "batch metric timestamp",
            metrics=[{"key": "a", "value": 1}],
            message="Missing value for required parameter 'metrics[0].timestamp'.",
        ),
        batch(
            "batch metric key",
            metrics=[metric("ok", 1), {"value": 1, "timestamp": 1}],
            message="Missing value for required parameter 'metrics[1].key'.",
        ),
        batch(
            "batch param key", params=[{"value": "1"}], message="Missing value for required parameter 'params[0].key'."
        ),
        batch(
            "batch tag key",
            tags=[{"key": "", "value": "1"}],
            message="Missing value for required parameter 'tags[0].key'.",
        ),
        post(
            "update without run_id",
            "runs/update",
            {"status": "FINISHED"},
            message="Missing value for required parameter 'run_id'.",
        ),
    ),
    scenario(
        "lifecycle_of_deleted_runs_and_experiments",
        new_run(),
        new_run("r2", "second run"),
        on_run("restore an active run", "runs/restore"),
        on_run("delete", "runs/delete"),
        on_run("delete again", "runs/delete"),
        set_tag(
            "set a tag on it", key="k", value="v", message="must be in the 'active' state. Current state is deleted."
        ),
        on_run("delete a tag of it", "runs/delete-tag", key="k"),
        log_param("log a param to it", key="p", value="1"),
        log_metric("log a metric to it", "m", 1),
        batch("empty log-batch to it"),
        on_run("empty log-inputs to it", "runs/log-inputs"),
        update_run("update it", status="FINISHED"),
        history("its history", "m"),
        get_run("it is still readable"),
        on_run("restore it", "runs/restore"),
        set_tag("writes work again", key="k", value="v"),
        on_exp("delete the experiment", "experiments/delete"),
        on_exp("delete it again", "experiments/delete"),
        on_exp(
            "rename it", "experiments/update", new_name="{uniq}-new", message="Cannot rename a non-active experiment."
        ),
        on_exp("rename it to its own name", "experiments/update", new_name="{uniq}"),
        exp_tag("tag it", key="k", value="v"),
        on_exp("delete a tag of it", "experiments/delete-experiment-tag", key="k"),
        on_exp("create a run in it", "runs/create"),
        on_run("restore a run of the deleted experiment", "runs/restore", run="{r2}"),
        get_run("that run is active in a deleted experiment", "{r2}"),
        set_tag("and takes writes", run="{r2}", key="k", value="v"),
        on_exp("restore the experiment", "experiments/restore"),
        on_exp("restore it again", "experiments/restore"),
    ),
    scenario(
        "validation_before_lifecycle_and_key_messages",
        new_run(),
        *(
            step
            for run in ("{run_id}", NO_RUN)
            for step in (
                log_metric(f"bad metric key, run {run[:3]}", "bad!", 1, run=run),
                batch(
                    f"bad batch metric key, run {run[:3]}",
                    "Invalid value \"bad!\" for parameter 'metrics[1].name' supplied: Names may only contain",
                    run=run,
                    metrics=[metric("ok", 1), metric("bad!", 1)],
                ),
                set_tag(f"bad tag key, run {run[:3]}", run=run, key="bad!", value="1"),
            )
        ),
        post(
            "metric key is its name",
            "runs/log-metric",
            {"run_id": "{run_id}", **metric("bad!", 1)},
            message="Invalid value \"bad!\" for parameter 'name' supplied: Names may only contain",
        ),
        batch("batch param key", "for parameter 'params[0].key' supplied", params=[{"key": "bad!", "value": "1"}]),
        batch(
            "batch tag key",
            "for parameter 'tags[1].key' supplied",
            tags=[{"key": "ok", "value": "1"}, {"key": "bad!", "value": "1"}],
        ),
        post(
            "negative timestamp",
            "runs/log-metric",
            {"run_id": "{run_id}", **metric("m", 1, -1)},
            message="Invalid value -1 for parameter 'timestamp' supplied: metric 'm' (value=1.0). Timestamp must be a "
            "nonnegative long (64-bit integer) ",
        ),
        batch(
            "negative timestamp in a batch",
            "Invalid value -1 for parameter 'metrics[0].timestamp' supplied: metric 'm' (value=2.0).",
            metrics=[metric("m", 2, -1)],
        ),
        on_run("delete the run", "runs/delete"),
        log_param("param to the deleted run", "must be in the 'active' state", key="p", value="1"),
        update_run("unknown status on the deleted run", status="BOGUS"),
        on_exp("delete the experiment", "experiments/delete"),
        exp_tag("bad key on the deleted experiment", key="bad!", value="1"),
        on_exp("over-long name for the deleted experiment", "experiments/update", new_name="x" * 501),
        exp_tag("bad key on an unknown experiment", exp="999999", key="bad!", value="1"),
    ),
    scenario(
        "wrong_types_mlflow_does_not_check",
        post("user_id as a number", "runs/create", {"experiment_id": "{exp_id}", "user_id": 5}),
        post("experiment_ids items as numbers", "runs/search", {"experiment_ids": [5]}),
    ),
    scenario(
        "search_runs_mlflow_page_tokens",
        *(new_run(f"r{i}", f"run {i}", run_name=f"run_{i}", start_time=1000 + i) for i in range(3)),
        search_runs("offset 1", max_results=1, page_token=mlflow_token({"offset": 1})),
        post(
            "offset 1, two per page",
            "runs/search",
            {"experiment_ids": ["{exp_id}"], "max_results": 1, "page_token": mlflow_token({"offset": 1})},
            save={"tok": "next_page_token"},
        ),
        search_runs("the token it answers", max_results=1, page_token="{tok}"),
        search_runs(
            "offset 0 is refused",
            max_results=1,
            page_token=mlflow_token({"offset": 0}),
            message="Invalid page token, parsed value={'offset': 0}",
        ),
        search_runs("negative offset reads as 0", max_results=1, page_token=mlflow_token({"offset": -1})),
        search_runs("offset as a string", max_results=1, page_token=mlflow_token({"offset": "2"})),
        search_runs("fractional offset", max_results=1, page_token=mlflow_token({"offset": 1.5})),
        search_runs("offset past the end", max_results=1, page_token=mlflow_token({"offset": 100})),
        search_runs(
            "offset not a number",
            page_token=mlflow_token({"offset": "abc"}),
            message="Invalid page token, not stringable abc",
        ),
        search_runs(
            "no offset", page_token=mlflow_token({"x": 1}), message="Invalid page token, parsed value={'x': 1}"
        ),
        search_runs(
            "not JSON",
            page_token=base64.b64encode(b"notjson").decode(),
            message="Invalid page token, decoded value=b'notjson'",
        ),
        search_runs("not base64", page_token="zzz", message="Invalid page token, could not base64-decode"),
        search_runs("a JSON list", page_token=mlflow_token([1])),
    ),
    scenario(
        "metric_history_mlflow_page_tokens",
        new_run(),
        batch("three points", metrics=[metric("m", float(i), 10 + i, i) for i in range(3)]),
        *(
            history(f"token {name}", "m", ("max_results", "1"), ("page_token", token))
            for name, token in (
                ("offset 1", mlflow_token({"offset": 1})),
                ("offset 0", mlflow_token({"offset": 0})),
                ("offset -1", mlflow_token({"offset": -1})),
                ("offset '2'", mlflow_token({"offset": "2"})),
                ("offset 1.5", mlflow_token({"offset": 1.5})),
                ("offset 100", mlflow_token({"offset": 100})),
                ("no offset", mlflow_token({"x": 1})),
                ("offset 'abc'", mlflow_token({"offset": "abc"})),
                ("not base64", "zzz"),
                ("not JSON", base64.b64encode(b"nj").decode()),
            )
        ),
        history("offset 1 without max_results", "m", ("page_token", mlflow_token({"offset": 1}))),
        get(
            "bad token for an unknown run",
            "metrics/get-history",
            ("run_id", NO_RUN),
            ("metric_key", "m"),
            ("page_token", "zzz"),
            message="Invalid page token, could not base64-decode",
        ),
    ),
    scenario(
        "search_experiments_mlflow_page_tokens",
        *(new_exp(f"create {s}", f"{{uniq}}-{s}") for s in "abc"),
        search_exps("offset 1", max_results=2, order_by=["name ASC"], page_token=mlflow_token({"offset": 1})),
        search_exps(
            "offset 3: the last one", max_results=2, order_by=["name ASC"], page_token=mlflow_token({"offset": 3})
        ),
        search_exps("offset 0 is refused", max_results=2, page_token=mlflow_token({"offset": 0})),
        search_exps("no offset", max_results=2, page_token=mlflow_token({"x": 1})),
        search_exps("not base64", max_results=2, page_token="zzz"),
    ),
]

SCENARIOS: tuple[Scenario, ...] = (
    *PROTOCOL,
    *EXPERIMENTS,
    *EXPERIMENT_SEARCH,
    *RUNS,
    *METRICS,
    *BULK_INTERVAL,
    *PARAMS_AND_TAGS,
    *LOG_BATCH,
    *LOG_INPUTS,
    *SEARCH_RUNS,
    *ARTIFACTS,
    *FIDELITY,
)
