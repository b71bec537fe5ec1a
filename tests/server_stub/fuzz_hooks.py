"""Schemathesis hooks for the stub's fuzz test (loaded through ``SCHEMATHESIS_HOOKS``).

A 5xx from the stub is a crash, except where MLflow 3.17.2 itself answers 500 and the stub copies it on
purpose (each one is a parity scenario): those are recognised by path, error code and message, so a real
crash on the same route (an ``INTERNAL_ERROR`` naming a Python exception) still fails the check.
"""

from __future__ import annotations

from typing import Any

import schemathesis

API = "/api/2.0/mlflow"
MLFLOWS_OWN_500S = (
    (f"{API}/experiments/update", "INVALID_STATE", "Cannot rename a non-active experiment."),
    (f"{API}/logged-models/search", "INTERNAL_ERROR", "type object 'SqlLoggedModel' has no attribute"),
    (f"{API}/logged-models/search", "INTERNAL_ERROR", "Invalid page token"),
    (f"{API}/model-versions/transition-stage", "INTERNAL_ERROR", "Model version transition cannot archive"),
)


@schemathesis.check
def not_a_server_error_except_mlflows(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code < 500:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    code, message = body.get("error_code"), str(body.get("message", ""))
    for path, own_code, prefix in MLFLOWS_OWN_500S:
        if case.path == path and code == own_code and message.startswith(prefix):
            return
    raise AssertionError(f"Server error {response.status_code}: {response.text[:300]}")
