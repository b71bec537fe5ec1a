"""Schemathesis, driven by spec/openapi.yaml, throws thousands of generated requests at the stub: no 5xx,
every answer valid against the spec, invalid input rejected, undeclared methods refused properly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conformance_tests._schema import SPEC
from server_stub import StubServer

ROOT = Path(__file__).resolve().parents[2]

# Checks that hold for any correct server. Two are left out on purpose: positive_data_acceptance (a
# request can match the schema and still be refused by MLflow's rules: unknown run, name taken, bad
# filter) and negative_data_rejection (MLflow, and so the stub, is lenient where protobuf's JSON parser
# is: null means unset, unknown enum names are ignored). Rejection of bad input is tested one by one.
CHECKS = ",".join(
    (
        "not_a_server_error_except_mlflows",  # fuzz_hooks.py: MLflow's own 500s are not crashes
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
        "ensure_resource_availability",
        "use_after_free",
    )
)


def test_stub_survives_schemathesis(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("schemathesis")
    with StubServer(port=0, multipart=True) as stub:
        proc = subprocess.run(
            [
                str(exe),
                "run",
                str(SPEC),
                "--url",
                stub.url,
                "--checks",
                CHECKS,
                "--max-examples",
                "40",
                "--seed",
                "20261127",
                "--generation-deterministic",
                "--report",
                "junit",
                "--report-junit-path",
                str(tmp_path / "fuzz.xml"),
                "--no-color",
            ],
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.server_stub.fuzz_hooks", "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        requests = sum(stub.httpd.requests.values())
    (tmp_path / "schemathesis.log").write_text(proc.stdout)
    summary = proc.stdout[-3000:] + f"\n(full log: {tmp_path / 'schemathesis.log'})"
    assert proc.returncode == 0, summary
    assert "66 passed" in summary or "Tested: 66" in summary, summary
    assert requests >= 1000, f"only {requests} requests reached the stub"
