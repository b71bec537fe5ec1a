"""The conformance suite passes against the stub and a real `mlflow server`, and reports what it should."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from server_stub import StubServer

ROOT = Path(__file__).resolve().parents[2]


def run_suite(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "conformance_tests", "-q", *args]
    clean = {k: v for k, v in (env or os.environ).items() if not k.startswith(("MLFLOW_TRACKING_", "CONFORMANCE_"))}
    if env is not None:
        clean.update({k: v for k, v in env.items() if k.startswith("MLFLOW_TRACKING_")})
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=clean)


def report_rows(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ") and not line.startswith("| RPC")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_suite_passes_against_the_default_stub(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = run_suite("--report", str(report))
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes = {row[2] for row in report_rows(report)}
    assert outcomes <= {"pass", "not supported"}, outcomes


def test_suite_passes_against_a_multipart_stub_with_nothing_unsupported(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    with StubServer(port=0, multipart=True) as stub:
        result = run_suite("--url", stub.url, "--report", str(report))
    assert result.returncode == 0, result.stdout[-3000:]
    assert {row[2] for row in report_rows(report)} == {"pass"}


@pytest.mark.mlflow_server
def test_suite_passes_against_real_mlflow_server(mlflow_server_url: str, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = run_suite("--url", mlflow_server_url, "--report", str(report))
    assert result.returncode == 0, result.stdout[-3000:]
    rows = report_rows(report)
    assert {row[2] for row in rows} <= {"pass", "not supported"}
    assert [row[1] for row in rows if row[2] == "not supported"] == [
        "multipart upload assembles parts",
        "multipart upload can be aborted",
    ]


def test_report_and_junit_xml_record_pass_fail_and_not_supported(tmp_path: Path) -> None:
    """Against the default stub (no multipart) through a proxy that breaks one behaviour."""
    from conformance_tests._mutants import MUTANTS
    from conformance_tests._proxy import MutatingProxy

    report, junit = tmp_path / "report.md", tmp_path / "junit.xml"
    mutation, _ = MUTANTS["param_values_mutable"]
    with StubServer(port=0) as stub, MutatingProxy(stub.url, mutation) as proxy:
        result = run_suite(
            "--url", proxy.url, "--report", str(report), "--junit-xml", str(junit), "-k", "param or multipart"
        )
    assert result.returncode == 1, result.stdout[-3000:]
    rows = {row[1]: row for row in report_rows(report)}
    assert rows["log param appears in run"][2] == "pass"
    assert rows["multipart upload can be aborted"][2] == "not supported"
    assert rows["multipart upload can be aborted"][3].startswith("not supported: multipart")
    failed = rows["changing param value is rejected"]
    assert (failed[0], failed[2]) == ("params/tags", "fail")
    assert "expected HTTP 400" in failed[3]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == len(rows)
    assert any(case.find("failure") is not None for case in cases)
    assert any(case.find("skipped") is not None for case in cases)


def test_suite_covers_every_rpc_of_the_spec() -> None:
    from conformance_tests._schema import openapi

    sources = "\n".join(p.read_text() for p in (ROOT / "conformance_tests").glob("*.py"))
    missing = []
    for path in openapi()["paths"]:
        rpc = path.removeprefix("/api/2.0/mlflow/")
        if rpc != path and "{" in rpc:  # e.g. logged-models/{model_id}/tags: the whole template, any values
            pattern = re.sub(r"\\\{\w+\\\}", r"(?:\\{\\w+\\}|[\\w.-]+)", re.escape(rpc)) + "[\"'?]"
            if not re.search(pattern, sources):
                missing.append(path)
            continue
        short = rpc.split("/{", 1)[0]
        probe = "mpu/" + short.rsplit("/mpu/", 1)[1] if "/mpu/" in short else short
        if probe not in sources and path.split("/{", 1)[0] not in sources:
            missing.append(path)
    assert not missing, f"RPCs without a conformance test: {missing}"


def test_credentials_from_options_and_environment_reach_the_server(tmp_path: Path) -> None:
    with StubServer(port=0, basic_auth=("alice", "s3cret")) as stub:
        denied = run_suite("--url", stub.url, "-k", "get_run_returns_created_run")
        by_option = run_suite("--url", stub.url, "--username", "alice", "--password", "s3cret", "-k", "get_run")
        env = {**os.environ, "MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cret"}
        by_env = run_suite("--url", stub.url, "-k", "get_run", env=env)
    assert denied.returncode == 1, denied.stdout[-2000:]
    assert by_option.returncode == 0, by_option.stdout[-2000:]
    assert by_env.returncode == 0, by_env.stdout[-2000:]
    with StubServer(port=0, bearer_token="tok") as stub:
        assert run_suite("--url", stub.url, "--token", "tok", "-k", "get_run").returncode == 0


def test_tls_options_verify_the_server_certificate(tmp_path: Path) -> None:
    """--ca-bundle (or MLFLOW_TRACKING_SERVER_CERT_PATH) trusts the server; without it the suite cannot
    connect; --insecure skips verification."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    with StubServer(port=0, tls_cert=str(cert_pem), tls_key=str(key_pem)) as stub:
        assert stub.url.startswith("https://")
        ok = run_suite("--url", stub.url, "--ca-bundle", str(ca_pem), "-k", "experiment")
        assert ok.returncode == 0, ok.stdout[-2000:]
        via_env = run_suite(
            "--url", stub.url, "-k", "experiment", env={**os.environ, "MLFLOW_TRACKING_SERVER_CERT_PATH": str(ca_pem)}
        )
        assert via_env.returncode == 0, via_env.stdout[-2000:]
        untrusted = run_suite("--url", stub.url, "-k", "experiment")
        assert untrusted.returncode != 0
        insecure = run_suite("--url", stub.url, "--insecure", "-k", "experiment")
        assert insecure.returncode == 0, insecure.stdout[-2000:]


def test_suite_passes_against_a_stub_serving_an_mlruns_folder(tmp_path: Path) -> None:
    """The stub over the client's local FileStore: the same contract as over SQLite."""
    report = tmp_path / "report.md"
    with StubServer(port=0, backend_store_uri=(tmp_path / "mlruns").as_uri()) as stub:
        result = run_suite("--url", stub.url, "--report", str(report))
    assert result.returncode == 0, result.stdout[-3000:]
    assert {row[2] for row in report_rows(report)} <= {"pass", "not supported"}
    assert (tmp_path / "mlruns" / "0" / "meta.yaml").is_file()
