"""Raw HTTP helpers for the checks: one request, its answer, and the contract every answer must meet."""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance_tests._schema import client_defaults, errors, response_schema_name
from conformance_tests._settings import Settings

TRACKING = "/api/2.0/mlflow/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
JsonObj = dict[str, Any]


@dataclass
class Reply:
    method: str
    path: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.content)

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.content[:300]!r}"


def unique(prefix: str = "conformance") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Api:
    """A server under test: ``ok`` and ``error`` assert the generic contract, the rest is sugar."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        verify: Any = settings.ssl_context() if settings.url.startswith("https") else True
        self.http = httpx.Client(base_url=settings.url, headers=settings.headers(), timeout=60.0, verify=verify)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, rpc: str, body: Any = None, params: Any = None) -> Reply:
        path = rpc if rpc.startswith("/") else TRACKING + rpc
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["content"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        r = self.http.request(method, path, **kwargs)
        return Reply(method, path, r.status_code, r.headers, r.content)

    def ok(
        self, method: str, rpc: str, body: Any = None, params: Any = None, schema_path: str | None = None
    ) -> JsonObj:
        """Assert a 200 JSON object answer valid against the spec's response schema, and return it."""
        reply = self.call(method, rpc, body, params)
        assert reply.status == 200, f"expected 200: {reply.describe()}"
        assert reply.content_type == "application/json", f"expected application/json: {reply.describe()}"
        data = reply.json()
        assert isinstance(data, dict), f"expected a JSON object: {reply.describe()}"
        name = response_schema_name(method, schema_path or reply.path)
        if name is not None:
            problems = errors(name, data)
            assert not problems, f"answer not valid against {name}: {problems[:3]} in {reply.describe()}"
        return data

    def error(
        self, method: str, rpc: str, body: Any = None, params: Any = None, *, status: int, code: str | None = None
    ) -> JsonObj:
        """Assert an MLflow error answer: the HTTP status, a JSON body with ``error_code`` and ``message``."""
        reply = self.call(method, rpc, body, params)
        return check_error(reply, status, code)

    # -- sugar ---------------------------------------------------------------------------------------
    def history(self, run_id: str, key: str = "m", **params: Any) -> JsonObj:
        """A metric's history as clients ask for it: with the spec's client defaults (a page size) unless given.
        Checks of what a server does without them call ``ok`` directly."""
        path = TRACKING + "metrics/get-history"
        query = {**client_defaults("GET", path), "run_id": run_id, "metric_key": key, **params}
        return self.ok("GET", path, params=query)

    def create_experiment(self, name: str | None = None) -> str:
        data = self.ok("POST", "experiments/create", {"name": name or unique()})
        exp_id = data.get("experiment_id")
        assert isinstance(exp_id, str) and exp_id, f"experiment_id must be a non-empty string: {data}"
        return exp_id

    def create_run(self, experiment_id: str, **fields: Any) -> str:
        data = self.ok("POST", "runs/create", {"experiment_id": experiment_id, **fields})
        run_id = data.get("run", {}).get("info", {}).get("run_id")
        assert isinstance(run_id, str) and run_id, f"run.info.run_id must be a non-empty string: {data}"
        return run_id

    def get_run(self, run_id: str) -> JsonObj:
        run: JsonObj = self.ok("GET", "runs/get", params={"run_id": run_id})["run"]
        return run

    def raw(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send ``path`` byte for byte (httpx would normalise ``..`` segments away)."""
        parts = urlsplit(self.settings.url)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.netloc, timeout=60, context=self.settings.ssl_context())
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=60)
        try:
            conn.request(method, path, body=body, headers=self.settings.headers())
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


def check_error(reply: Reply, status: int, code: str | None) -> JsonObj:
    assert reply.status == status, f"expected HTTP {status} ({code}): {reply.describe()}"
    assert reply.content_type == "application/json", f"error body must be JSON: {reply.describe()}"
    data = reply.json()
    assert isinstance(data, dict), f"error body must be a JSON object: {reply.describe()}"
    problems = errors("ErrorResponse", data)
    assert not problems, f"error body not valid: {problems}"
    if code is not None:
        assert data.get("error_code") == code, f"expected error_code {code}: {reply.describe()}"
    assert isinstance(data.get("message"), str), f"error body needs a message: {reply.describe()}"
    return data


def metric_map(run: JsonObj) -> dict[str, float | str]:
    return {m["key"]: m["value"] for m in run.get("data", {}).get("metrics", [])}


def param_map(run: JsonObj) -> dict[str, str]:
    return {p["key"]: p.get("value", "") for p in run.get("data", {}).get("params", [])}


def tag_map(run: JsonObj) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}
