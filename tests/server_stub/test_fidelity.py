"""Fidelity fixes of issue #17 that the parity scenarios cannot see from outside: configuration, the
server's own disk and working directory, request counters, and a client meeting MLflow's odd answers."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow_client import MlflowClient
from mlflow_client import _search as search
from mlflow_client._generated import models as m
from mlflow_client.exceptions import MlflowException

from server_stub import FaultRule, StubServer
from server_stub.__main__ import parse_args
from server_stub.app import MLFLOW_VERSION
from tests.real_server import real_mlflow_server

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def http(stub: StubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stub.url) as client:
        yield client


def _experiment(http: httpx.Client, name: str, **fields: object) -> str:
    r = http.post(f"{API}/experiments/create", json={"name": name, **fields})
    assert r.status_code == 200, r.text
    exp_id: str = r.json()["experiment_id"]
    return exp_id


# --- GET /version ---------------------------------------------------------------------------------


def test_version_is_the_mlflow_release_the_stub_follows() -> None:
    pins = re.findall(r"^mlflow==(\S+)$", (REPO / "constraints.txt").read_text(), re.MULTILINE)
    assert pins == [MLFLOW_VERSION], "MLFLOW_VERSION must follow the mlflow pin the parity tests run against"
    assert mlflow.__version__ == MLFLOW_VERSION


def test_version_answers_as_mlflow_does_and_is_configurable() -> None:
    with StubServer(port=0) as default, StubServer(port=0, mlflow_version="2.22.1") as old:
        r = httpx.get(f"{default.url}/version")
        assert (r.status_code, r.text, r.headers["content-type"]) == (200, "3.17.2", "text/html; charset=utf-8")
        assert httpx.get(f"{old.url}/version").text == "2.22.1"
    assert parse_args([]).mlflow_version == MLFLOW_VERSION
    assert parse_args(["--mlflow-version", "3.4.0"]).mlflow_version == "3.4.0"


# --- /ajax-api/2.0 ---------------------------------------------------------------------------------


def test_ajax_api_requests_count_and_fault_as_the_same_rpcs(stub: StubServer, http: httpx.Client) -> None:
    exp_id = _experiment(http, "ajax-counted")
    assert http.get(f"{AJAX}/experiments/get", params={"experiment_id": exp_id}).status_code == 200
    assert http.put("/ajax-api/2.0/mlflow-artifacts/artifacts/x/a.txt", content=b"a").status_code == 200
    assert stub.httpd.requests["getExperiment"] == 1
    assert stub.httpd.requests["artifacts.uploadArtifact"] == 1
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=1)])
    assert http.get(f"{AJAX}/experiments/get", params={"experiment_id": exp_id}).status_code == 503
    assert http.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code == 200


# --- relative artifact locations ---------------------------------------------------------------------


def test_relative_artifact_location_is_made_absolute_against_the_server_cwd(
    http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cwd = Path(os.getcwd()).as_posix()
    cases = {
        "rel/dir": f"{cwd}/rel/dir",
        "./a/../b": f"{cwd}/a/../b",
        "file:rel/f": f"file://{cwd}/rel/f",
        "/abs/dir": "/abs/dir",
        "file:///abs/f": "file:///abs/f",
        "s3://bucket/x": "s3://bucket/x",
    }
    for i, (given, stored) in enumerate(cases.items()):
        exp_id = _experiment(http, f"rel-{i}", artifact_location=given)
        got = http.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).json()["experiment"]
        assert got["artifact_location"] == stored, given


# --- the traversal refusal ----------------------------------------------------------------------------


def test_traversal_refusals_say_invalid_path_and_nothing_of_the_server(stub: StubServer, http: httpx.Client) -> None:
    root = str(stub.artifacts.root)
    outside = Path(root).parent / f"{Path(root).name}-outside"
    outside.mkdir()
    (Path(root) / "link").symlink_to(outside)
    answers = [
        http.get("/api/2.0/mlflow-artifacts/artifacts/%2e%2e/etc/passwd"),
        http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "../x"}),
        http.get(f"{API}/artifacts/list", params={"run_id": "0" * 32, "path": "../x"}),  # before the run lookup
        http.put("/api/2.0/mlflow-artifacts/artifacts/link/escape.txt", content=b"x"),
    ]
    messages = [r.json()["message"] for r in answers]
    assert [r.status_code for r in answers] == [400] * 4
    assert messages[:3] == ["Invalid path"] * 3
    assert messages[3] == "Invalid path: resolved path is outside the artifact directory"
    assert not any(root in msg or str(outside) in msg for msg in messages)
    assert not (outside / "escape.txt").exists()


# --- a SQLite stub with a file: artifact root -------------------------------------------------------------


def test_sqlite_stub_with_a_file_artifact_root_lets_clients_write_directly(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    with StubServer(
        port=0,
        backend_store_uri=f"sqlite:///{tmp_path / 'stub.db'}",
        default_artifact_root=root.as_uri(),
        serve_artifacts=False,
    ) as stub:
        client = MlflowClient(stub.url)
        exp_id = client.create_experiment("file-root")
        assert client.get_experiment(exp_id).artifact_location == f"{root.as_uri()}/{exp_id}"
        run = client.create_run(exp_id)
        assert run.info.artifact_uri == f"{root.as_uri()}/{exp_id}/{run.info.run_id}/artifacts"
        local = tmp_path / "model.txt"
        local.write_text("weights")
        client.log_artifact(run.info.run_id, str(local), "model")
        on_disk = root / exp_id / run.info.run_id / "artifacts" / "model" / "model.txt"
        assert on_disk.read_text() == "weights"  # written by the client, not through the stub
        assert stub.httpd.requests["artifacts.uploadArtifact"] == 0
        assert [f.path for f in client.list_artifacts(run.info.run_id, "model")] == ["model/model.txt"]
        proxied = httpx.put(f"{stub.url}/api/2.0/mlflow-artifacts/artifacts/x.txt", content=b"x")
        assert proxied.status_code == 503
        assert "disabled due to the mlflow server running with `--no-serve-artifacts`" in proxied.text


def test_artifact_root_options_follow_mlflow_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = parse_args(["--default-artifact-root", "art", "--no-serve-artifacts"])
    assert (args.default_artifact_root, args.serve_artifacts) == ("art", False)
    assert parse_args([]).serve_artifacts is True
    with StubServer(port=0, serve_artifacts=False) as plain, StubServer(port=0, default_artifact_root="art") as rel:
        for stub, expected in ((plain, f"{Path.cwd().as_posix()}/mlruns/0"), (rel, f"{Path.cwd().as_posix()}/art/0")):
            got = httpx.get(f"{stub.url}{API}/experiments/get", params={"experiment_id": "0"}).json()
            assert got["experiment"]["artifact_location"] == expected
    with pytest.raises(ValueError, match="SQLite or memory"):
        StubServer(port=0, backend_store_uri=str(tmp_path / "mlruns"), default_artifact_root="file:///x")


@contextlib.contextmanager
def _file_root_servers(root: str) -> Iterator[tuple[str, str]]:
    """A real `mlflow server` and the stub, both with ``root`` as a non-proxied (``file:``) artifact root."""
    args = ("--no-serve-artifacts", "--default-artifact-root", root)
    with (
        real_mlflow_server(args) as real_url,
        StubServer(port=0, default_artifact_root=root, serve_artifacts=False) as stub,
    ):
        yield real_url, stub.url


@pytest.mark.mlflow_server
def test_file_artifact_root_matches_a_real_server(tmp_path: Path) -> None:
    """Run artifact URIs and the disabled proxy's answer, side by side with `mlflow server --no-serve-artifacts`."""
    root = (tmp_path / "art").as_uri()
    with _file_root_servers(root) as urls:
        seen = []
        for url in urls:
            with httpx.Client(base_url=url) as http:
                exp_id = _experiment(http, "file-root")
                run = http.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]["info"]

                def ids(uri: str, exp_id: str = exp_id, run_id: str = run["run_id"]) -> str:
                    return uri.replace(run_id, "<run>").replace(f"/{exp_id}/", "/<exp>/")

                proxied = http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "x"})
                listed = http.get(f"{API}/artifacts/list", params={"run_id": run["run_id"]})
                seen.append(
                    (
                        ids(run["artifact_uri"]),
                        proxied.status_code,
                        proxied.text,
                        listed.status_code,
                        ids(listed.json().get("root_uri", "")),
                    )
                )
        assert seen[0] == seen[1]
        assert seen[0][0] == f"{root}/<exp>/<run>/artifacts"


@pytest.mark.mlflow_server
def test_local_model_version_sources_match_a_real_server(tmp_path: Path) -> None:
    """A local model-version source is accepted only inside the artifact folder of the run it names."""
    root = (tmp_path / "art").as_uri()
    with _file_root_servers(root) as urls:
        seen = []
        for url in urls:
            with httpx.Client(base_url=url) as http:
                exp_id = _experiment(http, "local-sources")
                run = http.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]["info"]
                other = http.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]["info"]
                name = f"local-{uuid.uuid4().hex[:8]}"
                assert http.post(f"{API}/registered-models/create", json={"name": name}).status_code == 200
                inside = run["artifact_uri"] + "/model"
                cases = {
                    "inside, with its run": (inside, run["run_id"]),
                    "inside, as a plain path": (inside.removeprefix("file://"), run["run_id"]),
                    "inside, without a run": (inside, None),
                    "inside, naming another run": (inside, other["run_id"]),
                    "outside the run": (f"{root}/elsewhere", run["run_id"]),
                    "escaping the run": (run["artifact_uri"] + "/../../x", run["run_id"]),
                }
                outcome = {}
                for case, (source, run_id) in cases.items():
                    body = {"name": name, "source": source, **({"run_id": run_id} if run_id else {})}
                    answer = http.post(f"{API}/model-versions/create", json=body)
                    outcome[case] = (answer.status_code, answer.json().get("error_code"))
                seen.append(outcome)
        assert seen[0] == seen[1]
        assert seen[0]["inside, with its run"] == (200, None)
        assert seen[0]["outside the run"][0] == 400


# --- MLflow's odd 500 for renaming a deleted experiment ------------------------------------------------


def test_a_retrying_client_meets_mlflows_500_for_renaming_a_deleted_experiment(stub: StubServer) -> None:
    client = MlflowClient(stub.url, max_retries=2, backoff_factor=0.0, backoff_jitter=0.0)
    exp_id = client.create_experiment("to-rename")
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as info:
        client.rename_experiment(exp_id, "renamed")
    assert (info.value.error_code, info.value.http_status) == ("INVALID_STATE", 500)
    assert info.value.message.endswith("Cannot rename a non-active experiment.")
    assert stub.httpd.requests["updateExperiment"] == 3  # every retry met the same answer
    assert client.get_experiment(exp_id).name == "to-rename"


# --- page tokens -------------------------------------------------------------------------------------


def _token(doc: object) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _experiments(n: int) -> list[m.Experiment]:
    return [m.Experiment(experiment_id=str(i), name=f"e{i}", creation_time=i, last_update_time=i) for i in range(n)]


def test_mlflow_offset_tokens_page_on_in_offsets_and_own_tokens_still_work() -> None:
    items = _experiments(5)
    order = ["name ASC"]
    page, token = search.search_experiments(items, None, order, 2, _token({"offset": 1}))
    assert [e.name for e in page] == ["e1", "e2"]
    assert token is not None and json.loads(base64.b64decode(token)) == {"offset": 3}
    page, token = search.search_experiments(items, None, order, 2, token)
    assert ([e.name for e in page], token) == (["e3", "e4"], None)  # an exactly full last page: no token
    first, own = search.search_experiments(items, None, order, 3, None)
    assert [e.name for e in first] == ["e0", "e1", "e2"]
    assert own is not None and "offset" not in json.loads(base64.urlsafe_b64decode(own))
    assert [e.name for e in search.search_experiments(items, None, order, 3, own)[0]] == ["e3", "e4"]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (_token({"offset": 0}), "Invalid page token, parsed value={'offset': 0}"),
        (_token({"offset": None}), "Invalid page token, parsed value={'offset': None}"),
        (_token({"offset": "abc"}), "Invalid page token, not stringable abc"),
        (_token([1]), "Invalid page token, parsed value=[1]"),
        (base64.b64encode(b"notjson").decode(), "Invalid page token, decoded value=b'notjson'"),
        ("zzz", "Invalid page token, could not base64-decode"),
    ],
)
def test_malformed_tokens_get_mlflows_messages(token: str, message: str) -> None:
    with pytest.raises(search.SearchError) as info:
        search.search_runs([], None, None, 10, token)
    assert str(info.value) == message


# --- validation texts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rpc", "body", "message"),
    [
        (
            "runs/update",
            {"run_id": 31},
            "Invalid value 31 for parameter 'run_id' supplied:  Hint: Value was of type 'int'.",
        ),
        (
            "runs/search",
            {"order_by": [5]},
            "Invalid value [5] for parameter 'order_by' supplied:  Hint: Value was of type 'list'.",
        ),
        (
            "runs/log-batch",
            {"run_id": "r", "metrics": [{"key": "k", "value": "abc", "timestamp": 1}]},
            "Invalid value \"abc\" for parameter 'metrics[0].value' supplied:  Hint: Value was of type 'str'.",
        ),
        (
            "experiments/create",
            {"name": {"b": 1, "a": [1, 2]}},
            'Invalid value {"a":[1,2],"b":1} for parameter \'name\'',
        ),
        ("experiments/create", {}, "Missing value for required parameter 'name'."),
    ],
)
def test_wrong_types_get_mlflows_messages(http: httpx.Client, rpc: str, body: dict[str, object], message: str) -> None:
    r = http.post(f"{API}/{rpc}", json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert r.json()["message"].startswith(message)
    assert r.json()["message"].endswith("See the API docs for more information about request parameters.")
