"""The Java binding: build it once, run its workflow against the stub and a real server, and check from
Python what landed on the server; then auth, retries, TLS and the build's own guards, through ``Probe``."""

from __future__ import annotations

import email.utils
import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from mlflow_client import MlflowClient

from codegen import emit_java
from codegen.model import load
from scripts.bindings import java
from server_stub.faults import FaultRule
from server_stub.server import StubServer
from tests.client.scripted_server import ScriptedServer, ok

# No skip when javac or protoc is missing: the bootstrap installs them, and java.build() names what is absent.

FAST_RETRIES = {"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0.01", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0"}


@pytest.fixture(scope="session")
def java_cmd() -> list[str]:
    return java.build()


def probe(java_cmd: list[str], url: str, *args: str, **env: str) -> dict[str, Any]:
    proc = java.run_main("Probe", list(args), {"MLFLOW_TRACKING_URI": url, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _check_server_state(url: str, summary: dict[str, Any], **settings: Any) -> None:
    """What the workflow says it logged is exactly what the server has, read back by the Python client."""
    client = MlflowClient(tracking_uri=url, **settings)
    run = client.get_run(str(summary["run_id"]))
    assert run.info.experiment_id == summary["experiment_id"]
    assert run.info.status == "FINISHED" == summary["status"]
    assert run.info.end_time == summary["end_time"]
    assert run.data.params == {"lr": "0.01", "optimizer": "adam", "batch_size": "32"} == summary["params"]
    user_tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    assert user_tags == {"source": "java", "phase": "train", "team": "ml"} == summary["tags"]
    start = summary["start_time"]
    expected = {
        "loss": [(0, 1.0, start), (1, 0.5, start + 1), (2, 0.25, start + 2)],
        "accuracy": [(0, 0.8, start), (1, 0.9, start + 1)],
    }
    assert {k: [tuple(p) for p in v] for k, v in summary["metrics"].items()} == expected
    assert run.data.metrics == {"loss": 0.25, "accuracy": 0.9}
    for key, points in expected.items():
        history = sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(run.info.run_id, key))
        assert history == points
    assert summary["error"] == {"error_code": "RESOURCE_DOES_NOT_EXIST", "http_status": 404}
    assert client.get_experiment(str(summary["experiment_id"])).name == summary["experiment_name"]
    model = f"{summary['experiment_name']}-model"
    assert summary["registry"] == {
        "model": model,
        "version": "1",
        "alias": "champion",
        "source": f"{run.info.artifact_uri}/model",
        "run_id": run.info.run_id,
        "deleted_error": "RESOURCE_DOES_NOT_EXIST",
    }
    assert registered_model_status(url, model, **settings) == 404  # cleaned up, versions and all


def registered_model_status(url: str, name: str, **settings: Any) -> int:
    """The HTTP status of registered-models/get for ``name``, asked with raw HTTP (not through a binding)."""
    import ssl

    import httpx

    auth = (settings["username"], settings["password"]) if "username" in settings else None
    cafile = settings.get("server_cert_path")
    verify: Any = ssl.create_default_context(cafile=cafile) if cafile else True
    with httpx.Client(base_url=url, auth=auth, verify=verify, timeout=30) as http:
        return http.get("/api/2.0/mlflow/registered-models/get", params={"name": name}).status_code


# -- codegen and build ----------------------------------------------------------------------------------


def test_one_generated_method_per_rpc() -> None:
    api = load()
    files = emit_java.emit(api)
    for rpc in api.rpcs:
        text = files[emit_java.PACKAGE_DIR / f"{rpc.service}Client.java"]
        binding = rpc.bindings[0]
        assert f" {rpc.name}(" in text, rpc.name
        assert f"{{@code {binding.method} {binding.path}}}" in text
    tracking = files[emit_java.PACKAGE_DIR / "MlflowServiceClient.java"]
    # createRun must not be retried once sent; getRun may be.
    assert '"POST", "/api/2.0/mlflow/runs/create", false, request,' in tracking
    assert "Tracking.CreateRun.Response.getDefaultInstance(), false);" in tracking
    assert '"GET", "/api/2.0/mlflow/runs/get", true, request,' in tracking
    assert "Tracking.GetRun.Response.getDefaultInstance(), true);" in tracking


def test_build_is_cached(java_cmd: list[str]) -> None:
    stamp = java.STAMP.read_text()
    marker = java.CLASSES / "Workflow.class"
    before = marker.stat().st_mtime_ns
    assert java.build() == java_cmd
    assert marker.stat().st_mtime_ns == before
    assert java.STAMP.read_text() == stamp


def test_protoc_version_mismatch_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "protoc"
    fake.write_text("#!/bin/sh\necho 'libprotoc 25.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PROTOC", str(fake))
    with pytest.raises(java.BuildError, match=r"protoc 4\.25 .* does not match protobuf-java 3\.21"):
        java.build(force=True)


def test_query_and_json_encoding(java_cmd: list[str]) -> None:
    result = probe(java_cmd, "http://127.0.0.1:1", "encode-query")
    assert result["params"] == [
        ["experiment_ids", "1"],
        ["experiment_ids", "2"],
        ["run_view_type", "ALL"],
        ["filter", "params.lr = '0.01'"],
        ["max_results", "5"],
    ]
    assert json.loads(result["json"]) == {
        "experiment_ids": ["1", "2"],
        "filter": "params.lr = '0.01'",
        "run_view_type": "ALL",
        "max_results": 5,
    }


def test_metric_history_sends_the_specs_page_size_when_none_is_given(java_cmd: list[str]) -> None:
    with ScriptedServer(ok(b'{"metrics": [{"key": "loss", "value": 1, "timestamp": 1, "step": 0}]}')) as server:
        result = probe(java_cmd, server.url, "history", "r1", "loss")
    assert result == {"ok": True, "points": 1}
    (request,) = server.requests
    target = request.request_line.split()[1].decode()
    assert target.startswith("/api/2.0/mlflow/metrics/get-history?")
    assert parse_qs(target.partition("?")[2]) == {"run_id": ["r1"], "metric_key": ["loss"], "max_results": ["25000"]}


def test_artifacts_with_path_parameters(java_cmd: list[str], stub: StubServer) -> None:
    path = "runs/a b/model%2F/notes.txt"
    result = probe(java_cmd, stub.url, "artifacts", path, "héllo java")
    assert result["ok"] is True, result
    assert result["downloaded"] == "héllo java"
    assert [p.rsplit("/", 1)[-1] for p in result["listed"]] == ["notes.txt"]
    assert (stub.artifacts.root / path).read_text() == "héllo java"


# -- the workflow ---------------------------------------------------------------------------------------


def test_workflow_against_stub(java_cmd: list[str], stub_url: str) -> None:
    summary = java.run_workflow(stub_url, f"java-{uuid.uuid4().hex[:8]}")
    _check_server_state(stub_url, summary)


@pytest.mark.mlflow_server
def test_workflow_against_real_mlflow_server(java_cmd: list[str], mlflow_server_url: str) -> None:
    summary = java.run_workflow(mlflow_server_url, f"java-{uuid.uuid4().hex[:8]}")
    _check_server_state(mlflow_server_url, summary)


def test_workflow_fails_loudly(java_cmd: list[str], stub_url: str) -> None:
    name = f"java-{uuid.uuid4().hex[:8]}"
    MlflowClient(tracking_uri=stub_url).create_experiment(name)
    with pytest.raises(RuntimeError, match="RESOURCE_ALREADY_EXISTS"):
        java.run_workflow(stub_url, name)


# -- auth -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic_stub() -> Iterator[StubServer]:
    with StubServer(basic_auth=("alice", "s3cr3t-pw")) as server:
        yield server


@pytest.fixture(scope="module")
def bearer_stub() -> Iterator[StubServer]:
    with StubServer(bearer_token="t0ken-xyz") as server:
        yield server


def test_basic_auth(java_cmd: list[str], basic_stub: StubServer) -> None:
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cr3t-pw"}
    summary = java.run_workflow(basic_stub.url, f"java-{uuid.uuid4().hex[:8]}", env)
    _check_server_state(basic_stub.url, summary, username="alice", password="s3cr3t-pw")


def test_basic_auth_from_url(java_cmd: list[str], basic_stub: StubServer) -> None:
    url = basic_stub.url.replace("://", "://alice:s3cr3t-pw@")
    assert probe(java_cmd, url, "ping")["ok"] is True


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "wrong-pw"},
        {"MLFLOW_TRACKING_TOKEN": "s3cr3t-pw"},
    ],
    ids=["missing", "wrong-password", "token-instead"],
)
def test_basic_auth_rejected(java_cmd: list[str], basic_stub: StubServer, env: dict[str, str]) -> None:
    result = probe(java_cmd, basic_stub.url, "ping", **env)
    assert result["ok"] is False
    assert result["http_status"] == 401
    assert result["error_code"] == "UNAUTHENTICATED"
    assert "wrong-pw" not in json.dumps(result)


def test_bearer_auth(java_cmd: list[str], bearer_stub: StubServer) -> None:
    ok = probe(
        java_cmd,
        bearer_stub.url,
        "create-experiment",
        f"java-{uuid.uuid4().hex[:8]}",
        MLFLOW_TRACKING_TOKEN="t0ken-xyz",
    )
    assert ok["ok"] is True and ok["experiment_id"]
    for env in ({}, {"MLFLOW_TRACKING_TOKEN": "wrong-token"}):
        bad = probe(java_cmd, bearer_stub.url, "ping", **env)
        assert (bad["ok"], bad["http_status"], bad["exception"]) == (False, 401, "MlflowException")


def test_basic_wins_over_token(java_cmd: list[str], basic_stub: StubServer) -> None:
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cr3t-pw"}
    assert probe(java_cmd, basic_stub.url, "ping", MLFLOW_TRACKING_TOKEN="nonsense", **env)["ok"] is True


def test_username_without_password_is_a_config_error(java_cmd: list[str], basic_stub: StubServer) -> None:
    result = probe(java_cmd, basic_stub.url, "ping", MLFLOW_TRACKING_USERNAME="alice")
    assert result["ok"] is False and result["http_status"] is None
    assert result["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "MLFLOW_TRACKING_PASSWORD is missing" in result["message"]


def test_secrets_are_not_shown(java_cmd: list[str], basic_stub: StubServer) -> None:
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cr3t-pw", "MLFLOW_TRACKING_TOKEN": "tk9"}
    described = probe(java_cmd, basic_stub.url, "describe", **env)
    assert described["ok"] is True
    assert "password=***" in described["config"] and "token=***" in described["config"]
    assert "auth=basic ***" in described["client"]
    text = json.dumps(described)
    assert "s3cr3t-pw" not in text and "tk9" not in text and "YWxpY2U6czNjcjN0LXB3" not in text


class _Redirector:
    """An HTTP server on another port that answers every request with a 307 to the same path on ``target``."""

    def __init__(self, target: str) -> None:
        import http.server
        import threading

        outer = self
        self.seen_auth: list[str | None] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _redirect(self) -> None:
                outer.seen_auth.append(self.headers.get("Authorization"))
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _redirect

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Redirector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_redirects(java_cmd: list[str], stub_url: str, basic_stub: StubServer) -> None:
    with _Redirector(stub_url) as redirector:
        followed = probe(java_cmd, redirector.url, "create-experiment", f"java-{uuid.uuid4().hex[:8]}")
        assert followed["ok"] is True, followed
        refused = probe(java_cmd, redirector.url, "ping", MLFLOW_ALLOW_HTTP_REDIRECTS="false")
        assert (refused["ok"], refused["http_status"]) == (False, 307)
    creds = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cr3t-pw"}
    with _Redirector(basic_stub.url) as redirector:
        # The credentials are for the tracking URI's origin; another origin does not get them.
        cross = probe(java_cmd, redirector.url, "ping", **creds)
        assert (cross["ok"], cross["http_status"]) == (False, 401)
        assert redirector.seen_auth and all(a is not None and a.startswith("Basic ") for a in redirector.seen_auth)


# -- retries --------------------------------------------------------------------------------------------


def _run_id(url: str) -> str:
    client = MlflowClient(tracking_uri=url)
    experiment_id = client.create_experiment(f"java-{uuid.uuid4().hex[:8]}")
    return client.create_run(experiment_id).info.run_id


@pytest.mark.parametrize("kind", ["503", "429", "500", "502", "504", "reset", "drop"])
def test_retries_then_succeeds(java_cmd: list[str], kind: str) -> None:
    rule = FaultRule(kind=kind, rpc="logMetric", count=2)
    with StubServer(faults=[rule]) as server:
        run_id = _run_id(server.url)
        result = probe(java_cmd, server.url, "log-metric", run_id, "m", "1.5", "3", **FAST_RETRIES)
        assert result["ok"] is True, result
        assert rule.fired == 2
        history = MlflowClient(tracking_uri=server.url).get_metric_history(run_id, "m")
        assert [(m.step, m.value) for m in history] == [(3, 1.5)]


@pytest.mark.parametrize("kind", ["seconds", "http-date"])
def test_retry_after_is_honoured(java_cmd: list[str], kind: str) -> None:
    # Backoff is ~0 here, so only the server's Retry-After can make the call take a second or more.
    when = email.utils.formatdate(time.time() + 2, usegmt=True) if kind == "http-date" else "1"
    rule = FaultRule(kind="503", rpc="logMetric", count=1, retry_after=when)
    with StubServer(faults=[rule]) as server:
        run_id = _run_id(server.url)
        started = time.monotonic()
        result = probe(java_cmd, server.url, "log-metric", run_id, "m", "2", "0", **FAST_RETRIES)
        elapsed = time.monotonic() - started
        assert result["ok"] is True, result
        assert rule.fired == 1
        assert elapsed >= 1.0


def test_gives_up_after_max_retries(java_cmd: list[str]) -> None:
    rule = FaultRule(kind="500", rpc="logMetric")
    with StubServer(faults=[rule]) as server:
        run_id = _run_id(server.url)
        env = {**FAST_RETRIES, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}
        result = probe(java_cmd, server.url, "log-metric", run_id, "m", "1", "0", **env)
        assert (result["ok"], result["http_status"], result["error_code"]) == (False, 500, "INTERNAL_ERROR")
        assert rule.fired == 3  # the first attempt and two retries


def test_create_is_not_retried_after_reaching_the_server(java_cmd: list[str]) -> None:
    rule = FaultRule(kind="503", rpc="createExperiment", count=1)
    with StubServer(faults=[rule]) as server:
        name = f"java-{uuid.uuid4().hex[:8]}"
        result = probe(java_cmd, server.url, "create-experiment", name, **FAST_RETRIES)
        assert (result["ok"], result["http_status"], result["error_code"]) == (False, 503, "TEMPORARILY_UNAVAILABLE")
        assert rule.fired == 1
        assert MlflowClient(tracking_uri=server.url).get_experiment_by_name(name) is None


def test_create_is_retried_when_refused_with_retry_after(java_cmd: list[str]) -> None:
    rule = FaultRule(kind="429", rpc="createExperiment", count=1, retry_after="0")
    with StubServer(faults=[rule]) as server:
        name = f"java-{uuid.uuid4().hex[:8]}"
        result = probe(java_cmd, server.url, "create-experiment", name, **FAST_RETRIES)
        assert result["ok"] is True, result
        assert rule.fired == 1
        experiment = MlflowClient(tracking_uri=server.url).get_experiment_by_name(name)
        assert experiment is not None and experiment.experiment_id == result["experiment_id"]


def test_timeout_is_retried_for_reads_only(java_cmd: list[str]) -> None:
    slow_log = FaultRule(kind="latency", rpc="logMetric", count=1, latency_ms=1500)
    slow_create = FaultRule(kind="latency", rpc="createExperiment", count=1, latency_ms=1500)
    with StubServer() as server:
        run_id = _run_id(server.url)
        server.faults.configure([slow_log, slow_create])
        env = {**FAST_RETRIES, "MLFLOW_HTTP_REQUEST_TIMEOUT": "0.5"}
        logged = probe(java_cmd, server.url, "log-metric", run_id, "m", "1", "0", **env)
        assert logged["ok"] is True, logged
        assert slow_log.fired == 1
        created = probe(java_cmd, server.url, "create-experiment", "slow", **env)
        assert (created["ok"], created["timeout"], created["http_status"]) == (False, True, None)
        assert "timed out" in created["message"] and "gave up" not in created["message"]
        assert slow_create.fired == 1
        # The timed-out create did reach the server and completes there, once: retrying it would have
        # made a second one (or failed with RESOURCE_ALREADY_EXISTS). Wait for it so the stub stops idle.
        client = MlflowClient(tracking_uri=server.url)
        deadline = time.monotonic() + 30
        while client.get_experiment_by_name("slow") is None:
            assert time.monotonic() < deadline, "the slow createExperiment never completed"
            time.sleep(0.05)
        assert [m.value for m in client.get_metric_history(run_id, "m")] in ([1.0], [1.0, 1.0])


def test_connection_refused_is_retried_then_reported(java_cmd: list[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the probe runs: nothing listens there
    env = {**FAST_RETRIES, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}
    result = probe(java_cmd, f"http://127.0.0.1:{port}", "create-experiment", "x", **env)
    assert (result["ok"], result["exception"], result["http_status"]) == (False, "MlflowConnectionException", None)
    assert "gave up after 3 attempts" in result["message"]


# -- TLS ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import trustme
    from cryptography.hazmat.primitives import serialization

    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("java-client@example.org")  # EC key, SEC1 PEM ("EC PRIVATE KEY")
    rsa_client = ca.issue_cert("java-client@example.org", key_type=trustme.KeyType.RSA)  # "RSA PRIVATE KEY"
    files = {
        "ca": folder / "ca.pem",
        "cert": folder / "server.pem",
        "key": folder / "server.key",
        "client": folder / "client.pem",
        "client-rsa": folder / "client-rsa.pem",
        "client-pkcs8": folder / "client-pkcs8.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server_cert.private_key_pem.write_to_path(str(files["key"]))
    for blob in server_cert.cert_chain_pems:
        blob.write_to_path(str(files["cert"]), append=True)
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(files["client"]))
    rsa_client.private_key_and_cert_chain_pem.write_to_path(str(files["client-rsa"]))
    key = serialization.load_pem_private_key(client_cert.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files["client-pkcs8"].write_bytes(pkcs8 + b"".join(blob.bytes() for blob in client_cert.cert_chain_pems))
    return {k: str(v) for k, v in files.items()}


def test_tls_with_ca_bundle(java_cmd: list[str], tls_files: dict[str, str]) -> None:
    with StubServer(tls_cert=tls_files["cert"], tls_key=tls_files["key"]) as server:
        assert server.url.startswith("https://")
        good = probe(java_cmd, server.url, "ping", MLFLOW_TRACKING_SERVER_CERT_PATH=tls_files["ca"])
        assert good["ok"] is True, good
        untrusted = probe(java_cmd, server.url, "ping", **FAST_RETRIES)
        assert untrusted["ok"] is False and untrusted["exception"] == "MlflowConnectionException"
        assert "MLFLOW_TRACKING_SERVER_CERT_PATH" in untrusted["message"]
        insecure = probe(java_cmd, server.url, "ping", MLFLOW_TRACKING_INSECURE_TLS="true")
        assert insecure["ok"] is True, insecure


def test_tls_workflow(java_cmd: list[str], tls_files: dict[str, str]) -> None:
    with StubServer(tls_cert=tls_files["cert"], tls_key=tls_files["key"]) as server:
        env = {"MLFLOW_TRACKING_SERVER_CERT_PATH": tls_files["ca"]}
        summary = java.run_workflow(server.url, f"java-{uuid.uuid4().hex[:8]}", env)
        _check_server_state(server.url, summary, server_cert_path=tls_files["ca"])


def test_insecure_and_ca_bundle_conflict(java_cmd: list[str], tls_files: dict[str, str]) -> None:
    env = {"MLFLOW_TRACKING_SERVER_CERT_PATH": tls_files["ca"], "MLFLOW_TRACKING_INSECURE_TLS": "1"}
    result = probe(java_cmd, "https://127.0.0.1:1", "ping", **env)
    assert (result["ok"], result["error_code"]) == (False, "INVALID_PARAMETER_VALUE")
    assert "cannot be used together" in result["message"]


def test_mutual_tls(java_cmd: list[str], tls_files: dict[str, str]) -> None:
    with StubServer(tls_cert=tls_files["cert"], tls_key=tls_files["key"], tls_client_ca=tls_files["ca"]) as server:
        env = {"MLFLOW_TRACKING_SERVER_CERT_PATH": tls_files["ca"]}
        for pem in ("client", "client-rsa", "client-pkcs8"):
            with_cert = probe(java_cmd, server.url, "ping", MLFLOW_TRACKING_CLIENT_CERT_PATH=tls_files[pem], **env)
            assert with_cert["ok"] is True, (pem, with_cert)
        without = probe(java_cmd, server.url, "ping", **env, **FAST_RETRIES)
        assert without["ok"] is False and without["exception"] == "MlflowConnectionException"
        no_key = probe(java_cmd, server.url, "ping", MLFLOW_TRACKING_CLIENT_CERT_PATH=tls_files["ca"], **env)
        assert (no_key["ok"], no_key["error_code"]) == (False, "INVALID_PARAMETER_VALUE")
        assert "MLFLOW_TRACKING_CLIENT_CERT_PATH" in no_key["message"]
