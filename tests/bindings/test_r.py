"""The generated R package (clients/r): install once, run its workflow against the stub and a real MLflow
server, check results independently from Python, and exercise auth, retries, TLS and data.frame shapes
through small Rscript snippets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mlflow_client import MlflowClient

from codegen import emit_r
from codegen.model import load
from scripts.bindings import r as rbind
from server_stub.faults import FaultRule
from server_stub.server import StubServer
from tests.client.scripted_server import ScriptedServer, ok
from tests.real_server import free_port
from tests.tls_certs import Certs, issue_certs

# No skip when R is missing: the bootstrap installs it, and rbind.install() names what is absent.

FAST_RETRIES = {
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0.01",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}


@pytest.fixture(scope="session")
def r_lib() -> Path:
    return rbind.install()


def run_r(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run R code with the package attached; it must print one JSON object last."""
    proc = rbind.run_script("suppressPackageStartupMessages(library(mlflowclient))\n" + code, [], env)
    assert proc.returncode == 0, f"R failed:\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}"
    return rbind.last_json_line(proc.stdout)


# R snippet: run `expr`, and print {"ok": true, "value": ...} or the mlflow_error's fields as JSON.
CATCH = """
out <- tryCatch(list(ok = TRUE, value = { {expr} }), mlflow_error = function(e) list(
  ok = FALSE, class = class(e), error_code = e$error_code, http_status = e$http_status,
  message = conditionMessage(e)))
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = I(17), null = "null", na = "null"), "\\n")
"""


def catch(expr: str, env: dict[str, str]) -> dict[str, Any]:
    return run_r(CATCH.replace("{expr}", expr), env)


# -- install and generated API ------------------------------------------------------------------------


def test_install_is_skipped_when_unchanged(r_lib: Path) -> None:
    description = r_lib / "mlflowclient" / "DESCRIPTION"
    before = description.stat().st_mtime_ns
    assert rbind.install() == r_lib
    assert description.stat().st_mtime_ns == before
    assert rbind.STAMP.read_text().strip() == rbind.source_hash()


def test_one_exported_function_per_rpc(r_lib: Path) -> None:
    api = load()
    expected = sorted({emit_r.function_name(rpc) for rpc in api.rpcs})
    assert len(expected) == len(api.rpcs), "two RPCs map to the same R function name"
    proc = rbind.run_script('cat(sort(getNamespaceExports("mlflowclient")), sep = "\\n")', [])
    exported = [line for line in proc.stdout.splitlines() if line]
    assert sorted(exported) == sorted([*expected, *emit_r.RUNTIME_EXPORTS])
    assert "create_experiment" in exported and "artifacts_list_artifacts" in exported


def test_int64_and_doubles_are_encoded_exactly(r_lib: Path) -> None:
    out = run_r(
        """
body <- mlflowclient:::.encode_message(
  list(run_id = "r", key = "k", value = 0.1, timestamp = 1700000000123, step = 123456789012), "mlflow.LogMetric")
query <- mlflowclient:::.query_string("mlflow.GetMetricHistoryBulkInterval",
  list(run_ids = c("a", "b"), metric_key = "m k", start_step = 100000))
cat(jsonlite::toJSON(list(body = body, query = query), auto_unbox = TRUE), "\\n")
"""
    )
    assert json.loads(out["body"]) == {
        "run_id": "r",
        "key": "k",
        "value": 0.1,
        "timestamp": 1700000000123,
        "step": 123456789012,
    }
    assert '"timestamp":1700000000123' in out["body"] and "e+" not in out["body"]
    assert out["query"] == "?run_ids=a&run_ids=b&metric_key=m%20k&start_step=100000"


# -- the workflow ----------------------------------------------------------------------------------------


def verify_workflow(url: str, summary: dict[str, Any], experiment: str) -> None:
    """Check from Python, independently of R, that the server holds exactly what the workflow logged."""
    client = MlflowClient(tracking_uri=url)
    run = client.get_run(summary["run_id"])
    assert run.info.experiment_id == summary["experiment_id"]
    assert client.get_experiment(summary["experiment_id"]).name == experiment
    assert run.info.status == "FINISHED"
    assert run.info.start_time == 1700000000123
    assert run.info.end_time == 1700000060123
    assert run.data.params == {"lr": "0.01", "optimizer": "adam", "batch_size": "32"}
    user_tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    assert user_tags == {"source": "workflow.R", "stage": "dev", "team": "r-binding"}
    assert run.data.metrics == {"loss": 0.2, "acc": 0.75}
    loss = sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(summary["run_id"], "loss"))
    assert loss == [(s, 1 / (s + 1), 1700000000123 + s) for s in range(5)]
    acc = sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(summary["run_id"], "acc"))
    assert acc == [(0, 0.5, 1700000000133), (1, 0.75, 1700000000134)]
    assert summary["error"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert summary["error"]["http_status"] == 404
    assert summary["search_rows"] == 1 and summary["history_rows"] == 5
    assert summary["registry"] == {
        "model": f"{experiment}-model",
        "version": "1",
        "alias": "champion",
        "source": f"{run.info.artifact_uri}/model",
        "run_id": run.info.run_id,
        "deleted_error": "RESOURCE_DOES_NOT_EXIST",
    }
    gone = httpx.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": f"{experiment}-model"})
    assert gone.status_code == 404, gone.text  # cleaned up, versions and all


def test_workflow_against_stub(r_lib: Path, stub_url: str) -> None:
    experiment = f"r-workflow-{time.time_ns()}"
    summary = rbind.run_workflow(stub_url, experiment)
    verify_workflow(stub_url, summary, experiment)


@pytest.mark.mlflow_server
def test_workflow_against_real_mlflow_server(r_lib: Path, mlflow_server_url: str) -> None:
    experiment = f"r-workflow-{time.time_ns()}"
    summary = rbind.run_workflow(mlflow_server_url, experiment)
    verify_workflow(mlflow_server_url, summary, experiment)


def test_workflow_failure_is_reported(r_lib: Path) -> None:
    with pytest.raises(rbind.RBindingError, match="workflow failed"):
        rbind.run_workflow(f"http://127.0.0.1:{free_port()}", "nowhere", {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})


# -- data.frames -------------------------------------------------------------------------------------------


def test_search_and_history_frames(r_lib: Path, stub_url: str) -> None:
    out = run_r(
        """
cl <- mlflow_client()
e <- create_experiment(paste0("frames-", as.numeric(Sys.time())), tags = list(team = "r"), client = cl)$experiment_id
empty_runs <- search_runs(experiment_ids = e, client = cl)
ids <- vapply(1:5, function(i) create_run(experiment_id = e, start_time = 1700000000000 + i,
  client = cl)$run$info$run_id, "")
log_batch(ids[1], metrics = data.frame(key = "m", value = seq(0, 2.4, by = 0.1), timestamp = 1700000000000 + 0:24,
  step = 0:24), params = list(p = "1"), client = cl)
paged <- search_runs(experiment_ids = e, max_results = 2, client = cl)
one_page <- search_runs(experiment_ids = e, max_results = 2, all_pages = FALSE, client = cl)
history <- get_metric_history(ids[1], "m", max_results = 10, client = cl)
no_history <- get_metric_history(ids[2], "m", client = cl)
exps <- search_experiments(filter = "tags.team = 'r'", client = cl)
desc <- function(df) {
  list(nrow = nrow(df), names = names(df), classes = as.list(vapply(df, function(c) class(c)[1], "")))
}
cat(jsonlite::toJSON(list(
  empty_runs = desc(empty_runs), paged = desc(paged), one_page = desc(one_page),
  token = attr(one_page, "next_page_token"), paged_ids = sort(paged$run_id), ids = sort(ids),
  history = desc(history), steps = history$step, timestamps = sprintf("%.0f", history$timestamp),
  values = history$value, no_history = desc(no_history), exps = desc(exps), exp_ids = I(exps$experiment_id), e = e,
  m = paged$metrics.m[paged$run_id == ids[1]], p = paged$params.p
), auto_unbox = TRUE, digits = I(17), na = "null"), "\\n")
""",
        {"MLFLOW_TRACKING_URI": stub_url},
    )
    base = ["run_id", "run_name", "experiment_id", "user_id", "status", "start_time", "end_time", "artifact_uri"]
    assert out["empty_runs"]["nrow"] == 0
    assert out["empty_runs"]["names"][: len(base)] == base
    assert out["empty_runs"]["classes"]["start_time"] == "numeric"
    assert out["paged"]["nrow"] == 5 and out["paged_ids"] == out["ids"]
    assert {"metrics.m", "params.p"} <= set(out["paged"]["names"])
    assert out["paged"]["classes"]["metrics.m"] == "numeric"
    assert out["m"] == 2.4 and sorted(out["p"], key=lambda v: v or "") == [None, None, None, None, "1"]
    assert out["one_page"]["nrow"] == 2 and out["token"]
    assert out["history"]["nrow"] == 25
    assert out["history"]["names"][:4] == ["key", "value", "timestamp", "step"]
    assert sorted(out["steps"]) == list(range(25))
    assert sorted(int(t) for t in out["timestamps"]) == [1700000000000 + i for i in range(25)]
    assert sorted(out["values"]) == pytest.approx([i * 0.1 for i in range(25)], abs=1e-12)
    assert out["no_history"]["nrow"] == 0 and out["no_history"]["names"][:4] == ["key", "value", "timestamp", "step"]
    assert out["exp_ids"] == [out["e"]] and "tags.team" in out["exps"]["names"]
    assert out["exps"]["names"][:2] == ["experiment_id", "name"]


def test_metric_history_sends_the_specs_page_size_when_none_is_given(r_lib: Path) -> None:
    answer = ok(b'{"metrics": [{"key": "loss", "value": 1, "timestamp": 1, "step": 0}]}')
    with ScriptedServer(answer) as server:
        out = catch('nrow(get_metric_history("r1", "loss"))', {"MLFLOW_TRACKING_URI": server.url})
    assert out == {"ok": True, "value": 1}
    (request,) = server.requests
    query = parse_qs(urlsplit(request.request_line.split()[1].decode()).query)
    assert query == {"run_id": ["r1"], "metric_key": ["loss"], "max_results": ["25000"]}


def test_artifact_upload_download_and_list(r_lib: Path, stub: StubServer) -> None:
    out = run_r(
        """
artifacts_upload_artifact("dir/sub/a b.txt", charToRaw("hello\\nworld"))
back <- rawToChar(artifacts_download_artifact("dir/sub/a b.txt"))
listed <- artifacts_list_artifacts(path = "dir/sub")$files
cat(jsonlite::toJSON(list(back = back, paths = I(vapply(listed, function(f) f$path, ""))), auto_unbox = TRUE), "\\n")
""",
        {"MLFLOW_TRACKING_URI": stub.url},
    )
    assert out["back"] == "hello\nworld"
    assert [p.rsplit("/", 1)[-1] for p in out["paths"]] == ["a b.txt"]


# -- errors and auth ---------------------------------------------------------------------------------------


def test_error_condition_fields(r_lib: Path, stub_url: str) -> None:
    out = catch('get_experiment("123456789")', {"MLFLOW_TRACKING_URI": stub_url})
    assert out["ok"] is False
    assert out["class"][:3] == ["mlflow_error", "error", "condition"]
    assert out["error_code"] == "RESOURCE_DOES_NOT_EXIST" and out["http_status"] == 404
    assert "123456789" in out["message"]


def test_basic_auth(r_lib: Path) -> None:
    with StubServer(basic_auth=("alice", "s3cret")) as s:
        good = {"MLFLOW_TRACKING_URI": s.url, "MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cret"}
        out = catch('create_experiment("basic-ok")$experiment_id', good)
        assert out["ok"] is True
        assert s.store is not None
        bad = {**good, "MLFLOW_TRACKING_PASSWORD": "wrong"}
        out = catch('create_experiment("basic-bad")$experiment_id', bad)
        assert out["ok"] is False and out["http_status"] == 401 and "mlflow_error" in out["class"]
        assert "wrong" not in out["message"]
        out = catch('get_experiment("0")$experiment$experiment_id', {"MLFLOW_TRACKING_URI": s.url})
        assert out["ok"] is False and out["http_status"] == 401
        # Basic wins over a token when both are set, as in the Python client.
        out = catch('get_experiment("0")$experiment$experiment_id', {**good, "MLFLOW_TRACKING_TOKEN": "nope"})
        assert out == {"ok": True, "value": "0"}


def test_bearer_auth(r_lib: Path) -> None:
    with StubServer(bearer_token="tok-123") as s:
        out = catch(
            'get_experiment("0")$experiment$experiment_id',
            {"MLFLOW_TRACKING_URI": s.url, "MLFLOW_TRACKING_TOKEN": "tok-123"},
        )
        assert out == {"ok": True, "value": "0"}
        out = catch(
            'get_experiment("0")$experiment$experiment_id',
            {"MLFLOW_TRACKING_URI": s.url, "MLFLOW_TRACKING_TOKEN": "tok-bad"},
        )
        assert out["ok"] is False and out["http_status"] == 401 and out["error_code"]


def test_basic_auth_needs_both_variables(r_lib: Path) -> None:
    proc = rbind.run_script(
        "library(mlflowclient); mlflow_client()",
        [],
        {"MLFLOW_TRACKING_URI": "http://x", "MLFLOW_TRACKING_USERNAME": "u"},
    )
    assert proc.returncode != 0 and "MLFLOW_TRACKING_PASSWORD" in proc.stderr


def test_print_hides_secrets(r_lib: Path) -> None:
    code = """
library(mlflowclient)
a <- mlflow_client("http://h:1", username = "alice", password = "pw-SECRET-1")
b <- mlflow_client("http://h:1", token = "tok-SECRET-2")
c <- mlflow_client("http://bob:pw-SECRET-3@h:1")
print(a); print(b); print(c); str(a); str(b); str(c); print(unclass(b)$secrets)
cat(format(a), format(b), c$tracking_uri, sep = "\\n")
"""
    proc = rbind.run_script(code, [])
    assert proc.returncode == 0, proc.stderr
    assert "SECRET" not in proc.stdout + proc.stderr
    assert "alice" in proc.stdout and "password ***" in proc.stdout and "token ***" in proc.stdout
    assert "http://h:1" in proc.stdout and "bob" in proc.stdout


# -- retries -------------------------------------------------------------------------------------------------


def test_retries_503_then_succeeds(r_lib: Path) -> None:
    rule = FaultRule(kind="503", rpc="logMetric", count=2)
    with StubServer(faults=[rule]) as s:
        run_id = MlflowClient(tracking_uri=s.url).create_run("0").info.run_id
        out = catch(
            f'log_metric("{run_id}", "m", 1.5, timestamp = 1700000000000, step = 3); "done"',
            {"MLFLOW_TRACKING_URI": s.url, **FAST_RETRIES},
        )
        assert out == {"ok": True, "value": "done"}
        assert rule.fired == 2
        history = MlflowClient(tracking_uri=s.url).get_metric_history(run_id, "m")
        assert [(m.step, m.value) for m in history] == [(3, 1.5)]


def test_retries_give_up_after_max_retries(r_lib: Path) -> None:
    rule = FaultRule(kind="502", rpc="getExperiment")
    with StubServer(faults=[rule]) as s:
        env = {"MLFLOW_TRACKING_URI": s.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", **FAST_RETRIES}
        out = catch('get_experiment("0")', env)
        assert out["ok"] is False and out["http_status"] == 502 and isinstance(out["error_code"], str)
        assert rule.fired == 3


def test_create_is_not_retried_after_503(r_lib: Path) -> None:
    rule = FaultRule(kind="503", rpc="createExperiment", count=5)
    with StubServer(faults=[rule]) as s:
        out = catch('create_experiment("once")', {"MLFLOW_TRACKING_URI": s.url, **FAST_RETRIES})
        assert out["ok"] is False and out["http_status"] == 503
        assert rule.fired == 1


def test_no_retry_on_other_4xx(r_lib: Path) -> None:
    rule = FaultRule(kind="429", rpc="getExperiment", count=1)
    with StubServer(faults=[rule]) as s:
        # The 429 is retried; the 404 that follows is final (and there is no fault left to fire).
        out = catch('get_experiment("424242")', {"MLFLOW_TRACKING_URI": s.url, **FAST_RETRIES})
        assert out["ok"] is False and out["http_status"] == 404 and rule.fired == 1


def test_retry_after_is_honoured(r_lib: Path) -> None:
    rule = FaultRule(kind="429", rpc="getExperiment", count=1, retry_after="1")
    with StubServer(faults=[rule]) as s:
        out = catch(
            't <- system.time(get_experiment("0"))[["elapsed"]]; t',
            {
                "MLFLOW_TRACKING_URI": s.url,
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
                **{"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0"},
            },
        )
        assert out["ok"] is True and out["value"] >= 0.95
        assert rule.fired == 1


def test_connection_reset_is_retried_for_reads_only(r_lib: Path) -> None:
    read = FaultRule(kind="reset", rpc="getExperiment", count=1)
    create = FaultRule(kind="reset", rpc="createExperiment", count=1)
    with StubServer(faults=[read, create]) as s:
        env = {"MLFLOW_TRACKING_URI": s.url, **FAST_RETRIES}
        assert catch('get_experiment("0")$experiment$experiment_id', env) == {"ok": True, "value": "0"}
        assert read.fired == 1
        out = catch('create_experiment("reset-once")', env)
        assert out["ok"] is False and "mlflow_connection_error" in out["class"]
        assert create.fired == 1 and "attempts" not in out["message"]


def test_unicode_and_special_characters_round_trip(r_lib: Path, stub_url: str) -> None:
    value = 'h\u00e9llo \u2713 "quoted" back\\slash\nline\ttab'
    out = run_r(
        """
run_id <- create_run(experiment_id = "0")$run$info$run_id
value <- Sys.getenv("R_TEST_VALUE")
set_tag(run_id, "note", value)
log_param(run_id, "p", value)
cat(jsonlite::toJSON(list(run_id = run_id), auto_unbox = TRUE), "\\n")
""",
        {"MLFLOW_TRACKING_URI": stub_url, "R_TEST_VALUE": value},
    )
    run = MlflowClient(tracking_uri=stub_url).get_run(out["run_id"])
    assert run.data.tags["note"] == value
    assert run.data.params["p"] == value


def test_connection_refused_is_retried_then_reported(r_lib: Path) -> None:
    env = {
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        **FAST_RETRIES,
    }
    out = catch('create_experiment("x")', env)
    assert out["ok"] is False
    assert out["class"][:2] == ["mlflow_connection_error", "mlflow_error"]
    assert "gave up after 3 attempts" in out["message"]


# -- TLS ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return issue_certs(tmp_path_factory.mktemp("r-tls"))


@pytest.fixture(scope="module")
def tls_url(certs: Certs) -> Iterator[str]:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key) as s:
        assert s.url.startswith("https://")
        yield s.url


def test_tls_with_ca_bundle(r_lib: Path, tls_url: str, certs: Certs) -> None:
    expr = 'get_experiment("0")$experiment$experiment_id'
    ok = catch(expr, {"MLFLOW_TRACKING_URI": tls_url, "MLFLOW_TRACKING_SERVER_CERT_PATH": certs.ca})
    assert ok == {"ok": True, "value": "0"}
    unknown_ca = catch(expr, {"MLFLOW_TRACKING_URI": tls_url, **FAST_RETRIES})
    assert unknown_ca["ok"] is False and "mlflow_connection_error" in unknown_ca["class"]
    assert "attempts" not in unknown_ca["message"], "a verification failure must not be retried"
    insecure = catch(expr, {"MLFLOW_TRACKING_URI": tls_url, "MLFLOW_TRACKING_INSECURE_TLS": "true"})
    assert insecure == {"ok": True, "value": "0"}
    proc = rbind.run_script(
        "library(mlflowclient); mlflow_client()",
        [],
        {
            "MLFLOW_TRACKING_URI": tls_url,
            "MLFLOW_TRACKING_INSECURE_TLS": "true",
            "MLFLOW_TRACKING_SERVER_CERT_PATH": certs.ca,
        },
    )
    assert proc.returncode != 0 and "cannot be used together" in proc.stderr


def test_mutual_tls_with_client_certificate(r_lib: Path, certs: Certs) -> None:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key, tls_client_ca=certs.ca) as s:
        env = {"MLFLOW_TRACKING_URI": s.url, "MLFLOW_TRACKING_SERVER_CERT_PATH": certs.ca}
        expr = 'get_experiment("0")$experiment$experiment_id'
        assert catch(expr, {**env, "MLFLOW_TRACKING_CLIENT_CERT_PATH": certs.client_pem}) == {"ok": True, "value": "0"}
        without = catch(expr, {**env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
        assert without["ok"] is False and "mlflow_connection_error" in without["class"]


# -- performance ------------------------------------------------------------------------------------------


def test_history_of_100k_points_is_fast(r_lib: Path, stub: StubServer) -> None:
    client = MlflowClient(tracking_uri=stub.url)
    run_id = client.create_run("0").info.run_id
    from mlflow_client.entities import Metric

    for start in range(0, 100_000, 1000):
        batch = [Metric("big", float(i), 1700000000000 + i, i) for i in range(start, start + 1000)]
        client.log_batch(run_id, metrics=batch)
    out = run_r(
        f"""
t <- system.time(h <- get_metric_history("{run_id}", "big"))[["elapsed"]]
cat(jsonlite::toJSON(list(seconds = t, rows = nrow(h), last_ts = sprintf("%.0f", max(h$timestamp)),
  sum_steps = sum(h$step)), auto_unbox = TRUE, digits = I(17)), "\\n")
""",
        {"MLFLOW_TRACKING_URI": stub.url},
    )
    print(f"R get_metric_history of 100k points: {out['seconds']:.2f} s")
    assert out["rows"] == 100_000
    assert out["last_ts"] == str(1700000000000 + 99_999)
    assert out["sum_steps"] == sum(range(100_000))
    assert out["seconds"] < 10, f"fetching 100k points took {out['seconds']} s"
