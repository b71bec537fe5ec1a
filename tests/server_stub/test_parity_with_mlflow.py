"""Parity with MLflow: each scenario of ``parity_scenarios`` is replayed, as raw HTTP, against a real
`mlflow server` and against the stub; the answers must agree step by step.

What legitimately differs between two servers (or two runs on one server) is normalised away before
comparing: saved ids and the per-run unique name become ``<variable>`` tokens, other experiment ids, run
ids, server-clock times, generated run names, page tokens and base URLs become fixed tokens, and run
params/metrics/tags lists are compared as sets (sorted by key). Status code, media type and body are
compared; of an MLflow error body only ``error_code`` is (a step may also require a message text).
The first differing step fails the test with a diff of both normalised answers.
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import json
import re
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.server_stub import parity_registry
from tests.server_stub.parity_scenarios import SCENARIOS as TRACKING_SCENARIOS
from tests.server_stub.parity_scenarios import UNIQ_LEN, UNIQ_PREFIX, JsonValue, Scenario, Step

TIMEOUT = 60.0
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
TIME_KEYS = frozenset(
    {
        "creation_time",
        "last_update_time",
        "start_time",
        "end_time",
        "timestamp",
        # the registry's and logged models' times
        "creation_timestamp",
        "last_updated_timestamp",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
    }
)
SERVER_CLOCK_MS = 10**12  # times at or above this came from a server clock; scenarios only send smaller ones
GENERATED_RUN_NAME = re.compile(r"[a-z]+-[a-z]+-\d{1,4}")  # MLflow's "<adjective>-<noun>-<0..1000>"
HEX32 = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
ARTIFACT_URI_EXP = re.compile(r"(mlflow-artifacts:/)(\d+)")
# A relative artifact location is made absolute against the server's working directory, which differs
# between the two servers; scenarios name such folders "<uniq>-relative/...".
SERVER_CWD = re.compile(r"/[^\s\"']*?/(?=<uniq>-relative/)")
RUN_DATA_LISTS = frozenset({"params", "metrics", "tags"})
SCENARIOS = (*TRACKING_SCENARIOS, *parity_registry.SCENARIOS)
LONG_STRING = 100


class ParityMismatch(AssertionError):
    """The stub answered a step differently from the real server."""


@dataclass
class Observed:
    """One answer, normalised; ``message`` is the raw error message, kept aside for ``Step.message``."""

    request: str
    status: int
    media_type: str | None
    body: JsonValue
    message: str | None = None

    def comparable(self) -> dict[str, Any]:
        return {"status": self.status, "media_type": self.media_type, "body": self.body}


# --- running a scenario -------------------------------------------------------------------------------


def new_uniq() -> str:
    return UNIQ_PREFIX + uuid.uuid4().hex[: UNIQ_LEN - len(UNIQ_PREFIX)]


def fill(text: str, variables: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), f"missing-{m.group(1)}"), text)


def fill_json(value: JsonValue, variables: Mapping[str, str]) -> JsonValue:
    if isinstance(value, str):
        return fill(value, variables)
    if isinstance(value, list):
        return [fill_json(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: fill_json(v, variables) for k, v in value.items()}
    return value


def fill_bytes(content: bytes, variables: Mapping[str, str]) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        name = m.group(1).decode()
        return variables.get(name, f"missing-{name}").encode()

    return re.sub(rb"\{([A-Za-z_]\w*)\}", sub, content)


def dig(body: JsonValue, dotted: str) -> JsonValue:
    """``dig(body, "run.info.run_id")``; list items by index. ``None`` when the path is absent."""
    node = body
    for part in dotted.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


@dataclass
class Answer:
    status: int
    media_type: str | None
    content: bytes


def _media_type(content_type: str | None) -> str | None:
    return content_type.split(";")[0].strip().lower() if content_type else None


def send(client: httpx.Client, base_url: str, step: Step, variables: Mapping[str, str]) -> tuple[str, Answer]:
    path = fill(step.path, variables)
    params = tuple((k, fill(v, variables)) for k, v in step.params)
    headers = dict(step.headers)
    content = fill_bytes(step.content, variables) if step.content is not None else None
    body = fill_json(step.json, variables) if step.json is not None else None
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    shown = json.dumps(body)[:300] if body is not None else (repr(content[:120]) if content is not None else "")
    request = f"{step.method} {path}{query} {shown}".rstrip()
    try:
        if step.raw:
            return request, _send_raw(base_url, step.method, path + query, content, headers)
        if body is not None:
            content = json.dumps(body).encode()
            headers.setdefault("content-type", "application/json")
        r = client.request(step.method, path, params=params, content=content, headers=headers)
        return request, Answer(r.status_code, _media_type(r.headers.get("content-type")), r.content)
    except (httpx.TransportError, OSError) as err:  # a crashed connection is an answer worth comparing
        return request, Answer(-1, None, f"transport error: {type(err).__name__}".encode())


def _send_raw(base_url: str, method: str, path: str, content: bytes | None, headers: dict[str, str]) -> Answer:
    """http.client sends the path as given; httpx would resolve ``..`` segments before sending."""
    url = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=content, headers=headers)
        r = conn.getresponse()
        return Answer(r.status, _media_type(r.getheader("content-type")), r.read())
    finally:
        conn.close()


def decode(answer: Answer) -> JsonValue:
    if answer.media_type == "text/html":
        return "<html page>"  # Werkzeug's error pages: status and media type say it all
    if answer.media_type == "application/json" and answer.content:
        try:
            parsed: JsonValue = json.loads(answer.content)
        except ValueError:
            return f"<invalid JSON> {answer.content[:200]!r}"
        return parsed
    try:
        return answer.content.decode()
    except UnicodeDecodeError:
        return f"<bytes {answer.content.hex()}>"


def run_scenario(base_url: str, scenario: Scenario) -> list[Observed]:
    """Play every step in order; later steps use what earlier ones saved (missing values stay visible)."""
    variables: dict[str, str] = {"uniq": new_uniq()}
    raw: list[tuple[str, Answer, JsonValue]] = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        for step in scenario.steps:
            request, answer = send(client, base_url, step, variables)
            body = decode(answer)
            for var, dotted in step.save.items():
                value = dig(body, dotted)
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    variables[var] = str(value)
            raw.append((request, answer, body))
    normalise = Normaliser(variables, base_url)
    return [normalise.observed(request, answer, body) for request, answer, body in raw]


# --- normalisation ------------------------------------------------------------------------------------


def is_generated_run_name(name: str) -> bool:
    return len(name) <= 20 and GENERATED_RUN_NAME.fullmatch(name) is not None


class Normaliser:
    """Replaces what legitimately differs between two servers by stable tokens."""

    def __init__(self, variables: Mapping[str, str], base_url: str) -> None:
        host = urllib.parse.urlsplit(base_url).netloc
        long_values = [(v, f"<{k}>") for k, v in variables.items() if len(v) >= 8]
        long_values += [(base_url.rstrip("/"), "<base-url>"), (host, "<host>")]
        self.long_values = sorted(long_values, key=lambda pair: -len(pair[0]))
        # short values (experiment ids) are only trusted where an experiment id is expected
        self.short_ids = {v: f"<{k}>" for k, v in variables.items() if len(v) < 8}

    def observed(self, request: str, answer: Answer, body: JsonValue) -> Observed:
        message = None
        if isinstance(body, dict) and "error_code" in body:
            # MLflow's contract for errors is status + error_code; message, sqlstate and error_class may differ
            message = str(body.get("message"))
            body = {"error_code": body["error_code"]}
        if isinstance(body, dict) and "detail" in body:  # FastAPI-style errors of the artifact routes
            message = str(body["detail"])
            body = {**body, "detail": "<detail>"}
        return Observed(request, answer.status, answer.media_type, self.value(body, ()), message)

    def experiment_id(self, value: str) -> str:
        if value in self.short_ids:
            return self.short_ids[value]
        return value if value == "0" else "<other-experiment-id>"

    def text(self, value: str) -> str:
        for old, token in self.long_values:
            value = value.replace(old, token)
        value = ARTIFACT_URI_EXP.sub(lambda m: m.group(1) + self.experiment_id(m.group(2)), value)
        value = SERVER_CWD.sub("<cwd>/", value)
        return HEX32.sub("<other-hex-id>", value)

    def value(self, value: JsonValue, path: tuple[str, ...]) -> JsonValue:
        key = path[-1] if path else ""
        if isinstance(value, list):
            items = [self.value(v, (*path, key)) for v in value]
            if key in RUN_DATA_LISTS and (key == "tags" or (len(path) >= 2 and path[-2] == "data")):
                items.sort(key=lambda item: json.dumps(item, sort_keys=True))
            return items
        if isinstance(value, dict):
            return self.mapping(value, path)
        if isinstance(value, str):
            return self.string(value, key)
        if isinstance(value, int) and not isinstance(value, bool) and key in TIME_KEYS and value >= SERVER_CLOCK_MS:
            return "<server-time>"
        return value

    def string(self, value: str, key: str) -> str:
        if key == "experiment_id" or (key == "experiment_ids" and value.isdigit()):
            return self.experiment_id(value)
        if key == "next_page_token" and value:
            return "<page-token>"
        if key == "run_name" and is_generated_run_name(value):
            return "<generated-run-name>"
        return self.text(value)

    def mapping(self, value: dict[str, JsonValue], path: tuple[str, ...]) -> JsonValue:
        out = {k: self.value(v, (*path, k)) for k, v in value.items()}
        tag_value = out.get("value")
        if out.get("key") == "mlflow.runName" and isinstance(tag_value, str) and is_generated_run_name(tag_value):
            out["value"] = "<generated-run-name>"
        return out


# --- comparison ---------------------------------------------------------------------------------------


def _shorten(value: Any) -> Any:
    """Long strings (6000-character params...) as a prefix plus length and digest, so diffs stay readable."""
    if isinstance(value, str) and len(value) > LONG_STRING:
        digest = hashlib.sha1(value.encode()).hexdigest()[:10]
        return f"{value[:40]}... <{len(value)} chars, sha1 {digest}>"
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    return value


def _pretty(observed: Observed) -> list[str]:
    return json.dumps(_shorten(observed.comparable()), indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def check_message(step: Step, side: str, observed: Observed) -> str | None:
    if step.message is None or (observed.message is not None and step.message in observed.message):
        return None
    return f"{side}: error message {observed.message!r} lacks {step.message!r}"


def step_problems(step: Step, real: Observed, stub: Observed) -> list[str]:
    problems = [p for p in (check_message(step, "real", real), check_message(step, "stub", stub)) if p]
    if real.comparable() != stub.comparable():
        problems.append(
            "\n".join(difflib.unified_diff(_pretty(real), _pretty(stub), "real mlflow", "stub", lineterm=""))
        )
    return problems


# Where the stub answers differently from MLflow on purpose: MLflow's answer there is an accident of its
# implementation (a 500 for bad input, half-parsed requests), and the stub gives the contract's answer.
# Each entry must still differ, so the list cannot go stale.
DELIBERATE: dict[tuple[str, str], str] = {
    (
        "protocol_body_parsing",
        "malformed JSON on an rpc without required fields",
    ): "MLflow reads malformed JSON as {} and answers 200; the stub refuses it with 400 INVALID_PARAMETER_VALUE",
    ("protocol_non_object_json_body_is_a_500", "JSON array"): "MLflow: 500 HTML page; stub: 400 (bad input is a 4xx)",
    ("protocol_non_object_json_body_is_a_500", "JSON number"): "MLflow: 500 HTML page; stub: 400 (bad input is a 4xx)",
    (
        "protocol_field_aliases",
        "camelCase runId fails the required check",
    ): "MLflow parses runId but then checks the snake_case key; the stub accepts the camelCase name throughout",
    (
        "wrong_types_mlflow_does_not_check",
        "user_id as a number",
    ): "MLflow's schema does not type-check user_id: it drops the value and creates the run; the stub refuses",
    (
        "wrong_types_mlflow_does_not_check",
        "experiment_ids items as numbers",
    ): "MLflow drops the unparsable list and searches no experiments (200 {}); the stub refuses",
    (
        "search_runs_mlflow_page_tokens",
        "a JSON list",
    ): "a page token holding a JSON list: MLflow crashes (500 INTERNAL_ERROR); the stub refuses it with 400",
    ("metric_special_values", "bool"): "MLflow stores true as 1.0; the stub refuses a bool metric value",
    ("metric_special_values", "get run"): "follows from the bool step",
    ("metric_partial_parse_quirks", "fractional timestamp"): "MLflow half-parses and stores 0; the stub refuses",
    ("metric_partial_parse_quirks", "fractional step"): "MLflow half-parses and stores 0; the stub refuses",
    ("metric_partial_parse_quirks", "get run"): "follows from the two steps above",
    (
        "run_create_tags_are_not_validated",
        "create run",
    ): "MLflow skips key and length checks on runs/create tags; the stub applies the tag rules everywhere",
    ("run_create_tags_are_not_validated", "get run"): "follows from the create step",
    (
        "run_create_tags_are_not_validated",
        "tags as an object are ignored",
    ): "MLflow ignores a non-list tags field; the stub refuses it",
    (
        "artifacts_upload_download_list_delete",
        "download a directory",
    ): "same 400; MLflow's body is FastAPI's {detail}, the stub's is MLflow's usual error shape",
    (
        "artifacts_upload_download_list_delete",
        "upload to a path ending in /",
    ): "same 400; MLflow's body is FastAPI's {detail}, the stub's is MLflow's usual error shape",
}


def assert_same(scenario: Scenario, real: list[Observed], stub: list[Observed]) -> None:
    """Fail on the first differing step, with its diff; later differing steps are listed by name only."""
    steps = list(zip(scenario.steps, real, stub, strict=True))
    stale = [
        step.name for step, r, s in steps if (scenario.name, step.name) in DELIBERATE and not step_problems(step, r, s)
    ]
    assert not stale, f"steps listed in DELIBERATE now agree with MLflow; remove them: {stale}"
    differing = [
        i
        for i, (step, r, s) in enumerate(steps)
        if (scenario.name, step.name) not in DELIBERATE and step_problems(step, r, s)
    ]
    if not differing:
        return
    first = differing[0]
    step, r, s = steps[first]
    later = [f"{i + 1}: {steps[i][0].name!r}" for i in differing[1:]]
    lines = [
        f"scenario {scenario.name!r} diverges at step {first + 1}/{len(steps)}: {step.name!r}",
        f"  real: {r.request}",
        f"  stub: {s.request}",
        f"  earlier steps (status): {[o.status for o in real[:first]]}",
        *step_problems(step, r, s),
    ]
    if later:
        lines.append(f"later steps that also differ (maybe as a consequence): {', '.join(later)}")
    raise ParityMismatch("\n".join(lines))


# --- tests --------------------------------------------------------------------------------------------


@pytest.mark.mlflow_server
@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name) for s in SCENARIOS])
def test_stub_answers_like_mlflow(scenario: Scenario, mlflow_server_url: str, stub_url: str) -> None:
    real = run_scenario(mlflow_server_url, scenario)
    stub = run_scenario(stub_url, scenario)
    assert_same(scenario, real, stub)


def _placeholders(step: Step) -> Iterable[str]:
    texts: list[str] = [step.path, *(v for _, v in step.params)]
    if step.content is not None:
        texts.append(step.content.decode("latin-1"))
    stack: list[JsonValue] = [step.json]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    for text in texts:
        yield from PLACEHOLDER.findall(text)


def test_scenarios_only_use_variables_saved_earlier() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names)), "scenario names must be unique"
    for scenario in SCENARIOS:
        known = {"uniq"}
        for step in scenario.steps:
            unknown = set(_placeholders(step)) - known
            assert not unknown, f"{scenario.name} / {step.name}: {sorted(unknown)} not saved by an earlier step"
            known |= set(step.save)


def test_normaliser_hides_what_may_differ() -> None:
    run_id = "a" * 32
    n = Normaliser({"uniq": "pty-0123456789ab", "exp_id": "7", "run_id": run_id}, "http://127.0.0.1:5000")
    body: JsonValue = {
        "run": {
            "info": {
                "experiment_id": "7",
                "run_id": run_id,
                "run_name": "bold-owl-12",
                "start_time": 1_800_000_000_000,
                "artifact_uri": f"mlflow-artifacts:/7/{run_id}/artifacts",
            },
            "data": {"tags": [{"key": "z", "value": "1"}, {"key": "mlflow.runName", "value": "bold-owl-12"}]},
        },
        "next_page_token": "eyJvZmZzZXQiOiAyfQ==",
        "name": "pty-0123456789ab-a",
        "other": {"experiment_id": "17", "id": "b" * 32, "timestamp": 100},
    }
    assert n.value(body, ()) == {
        "run": {
            "info": {
                "experiment_id": "<exp_id>",
                "run_id": "<run_id>",
                "run_name": "<generated-run-name>",
                "start_time": "<server-time>",
                "artifact_uri": "mlflow-artifacts:/<exp_id>/<run_id>/artifacts",
            },
            "data": {"tags": [{"key": "mlflow.runName", "value": "<generated-run-name>"}, {"key": "z", "value": "1"}]},
        },
        "next_page_token": "<page-token>",
        "name": "<uniq>-a",
        "other": {"experiment_id": "<other-experiment-id>", "id": "<other-hex-id>", "timestamp": 100},
    }


def test_mismatch_report_names_the_step_and_shows_a_diff() -> None:
    scenario = Scenario("demo", (Step("first", "GET", "/a"), Step("second", "GET", "/b")))
    same = Observed("GET /a", 200, "application/json", {})
    real = [same, Observed("GET /b", 404, "application/json", {"error_code": "RESOURCE_DOES_NOT_EXIST"})]
    stub = [same, Observed("GET /b", 400, "application/json", {"error_code": "INVALID_PARAMETER_VALUE"})]
    with pytest.raises(ParityMismatch) as info:
        assert_same(scenario, real, stub)
    report = str(info.value)
    assert "step 2/2: 'second'" in report
    assert '-  "status": 404' in report and '+  "status": 400' in report
