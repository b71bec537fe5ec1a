"""The stub's HTTP surface: routing, errors, auth, TLS, faults, control plane, persistence, traversal."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow_client._generated.endpoints import ENDPOINTS

from server_stub import FaultRule, StubServer
from server_stub.handlers import HANDLERS

API = "/api/2.0/mlflow"


def _create_experiment(client: httpx.Client, name: str) -> str:
    r = client.post(f"{API}/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    exp_id: str = r.json()["experiment_id"]
    return exp_id


def test_every_rpc_has_a_handler() -> None:
    from server_stub.logged_models import SERVER_HANDLERS

    served = set(HANDLERS) | set(SERVER_HANDLERS) | {"listArtifacts"}
    rpcs = {e.rpc for e in ENDPOINTS if e.service in ("MlflowService", "ModelRegistryService")}
    assert rpcs - served == set()
    assert len({e.rpc for e in ENDPOINTS if e.service == "ModelRegistryService"}) == 21


def test_rpcs_without_a_handler_answer_not_implemented(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(HANDLERS, "getLoggedModel")
    monkeypatch.delitem(HANDLERS, "createModelVersion")
    with httpx.Client(base_url=stub.url) as c:
        for method, path in (("GET", f"{API}/logged-models/m-1"), ("POST", f"{API}/model-versions/create")):
            r = c.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 501, (method, path, r.text)
            assert r.json()["error_code"] == "NOT_IMPLEMENTED"
        assert c.get(f"{API}/registered-models/get", params={"name": "x"}).status_code == 404  # still served
        assert c.patch(f"{API}/logged-models/m-1/no/such").status_code == 404


def test_unknown_path_and_wrong_method_answer_like_mlflow(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url) as c:
        missing = c.get(f"{API}/no/such/thing")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        wrong = c.get(f"{API}/runs/create")
        assert wrong.status_code == 405


def test_malformed_json_is_a_400_not_a_500(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url) as c:
        r = c.post(f"{API}/experiments/create", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error_code"] in ("MALFORMED_REQUEST", "INVALID_PARAMETER_VALUE")
        r = c.post(f"{API}/experiments/create", json=["a", "list"])
        assert r.status_code == 400
        r = c.post(f"{API}/experiments/create", json={"name": 5})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_basic_auth(tmp_path: Path) -> None:
    with StubServer(port=0, basic_auth=("alice", "s3cret")) as s:
        assert httpx.post(f"{s.url}{API}/experiments/search", json={"max_results": 5}).status_code == 401
        bad = httpx.post(f"{s.url}{API}/experiments/search", json={"max_results": 5}, auth=("alice", "nope"))
        assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Basic")
        ok = httpx.post(f"{s.url}{API}/experiments/search", json={"max_results": 5}, auth=("alice", "s3cret"))
        assert ok.status_code == 200 and ok.json()["experiments"][0]["name"] == "Default"


def test_bearer_auth() -> None:
    with StubServer(port=0, bearer_token="tok-123") as s:
        url = f"{s.url}{API}/experiments/get?experiment_id=0"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer tok-123"}).status_code == 200


def test_tls_and_mutual_tls(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_pem), append=True)
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    with StubServer(port=0, tls_cert=str(cert_pem), tls_key=str(key_pem)) as s:
        assert s.url.startswith("https://")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{s.url}/health")  # not trusted by default
        assert httpx.get(f"{s.url}/health", verify=ssl.create_default_context(cafile=str(ca_pem))).text == "OK"

    client_cert = ca.issue_cert("client@example")
    client_pem = tmp_path / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    with StubServer(port=0, tls_cert=str(cert_pem), tls_key=str(key_pem), tls_client_ca=str(ca_pem)) as s:
        ctx = ssl.create_default_context(cafile=str(ca_pem))
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.get(f"{s.url}/health", verify=ctx)
        ctx.load_cert_chain(str(client_pem))
        assert httpx.get(f"{s.url}/health", verify=ctx).text == "OK"


def test_counted_faults_fire_exactly_then_stop(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=2, retry_after="1")])
    with httpx.Client(base_url=stub.url) as c:
        answers = [c.get(f"{API}/experiments/get", params={"experiment_id": "0"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [503, 503, 200]
        assert answers[0].headers["retry-after"] == "1"
        assert answers[0].json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        # Other RPCs are untouched.
        assert c.post(f"{API}/experiments/search", json={"max_results": 1}).status_code == 200


def test_probabilistic_faults_are_deterministic_for_a_seed() -> None:
    def pattern() -> list[int]:
        with (
            StubServer(port=0, faults=[FaultRule(kind="500", probability=0.5)], fault_seed=7) as s,
            httpx.Client(base_url=s.url) as c,
        ):
            return [c.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert {500, 200} == set(first)


def test_reset_fault_breaks_the_connection(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="reset", count=1)])
    with httpx.Client(base_url=stub.url) as c:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            c.get(f"{API}/experiments/get", params={"experiment_id": "0"})
        assert c.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 200


def test_drop_fault_applies_the_request_but_loses_the_answer(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="drop", rpc="createExperiment", count=1)])
    with httpx.Client(base_url=stub.url) as c:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            c.post(f"{API}/experiments/create", json={"name": "dropped"})
        again = c.post(f"{API}/experiments/create", json={"name": "dropped"})
        assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"


def test_latency_fault_delays_the_answer(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="latency", latency_ms=300, count=1)])
    with httpx.Client(base_url=stub.url) as c:
        start = time.monotonic()
        assert c.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 200
        assert time.monotonic() - start >= 0.3


def test_control_plane_configures_faults_counts_requests_and_resets(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url) as c:
        r = c.post("/_stub/faults", json={"seed": 3, "rules": [{"kind": "429", "rpc": "searchRuns", "count": 1}]})
        assert r.status_code == 200 and r.json()["rules"][0]["kind"] == "429"
        assert c.post(f"{API}/runs/search", json={"experiment_ids": ["0"]}).status_code == 429
        assert c.post(f"{API}/runs/search", json={"experiment_ids": ["0"]}).status_code == 200
        assert c.get("/_stub/requests").json()["searchRuns"] == 2
        _create_experiment(c, "to-forget")
        assert c.post("/_stub/reset").status_code == 200
        gone = c.get(f"{API}/experiments/get-by-name", params={"experiment_name": "to-forget"})
        assert gone.status_code == 404
        assert c.get("/_stub/faults").json()["rules"] == []
        bad = c.post("/_stub/faults", json={"rules": [{"kind": "teapot"}]})
        assert bad.status_code == 400


def test_sqlite_backend_survives_a_restart(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'stub.db'}"
    with StubServer(port=0, backend_store_uri=uri) as s, httpx.Client(base_url=s.url) as c:
        exp_id = _create_experiment(c, "persisted")
        run = c.post(f"{API}/runs/create", json={"experiment_id": exp_id, "start_time": 1}).json()["run"]
        run_id = run["info"]["run_id"]
        c.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": "NaN", "timestamp": 5, "step": 2})
        c.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "v"})
    with StubServer(port=0, backend_store_uri=uri) as s, httpx.Client(base_url=s.url) as c:
        got = c.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        assert got["data"]["params"] == [{"key": "p", "value": "v"}]
        assert got["data"]["metrics"][0]["value"] == "NaN" and got["data"]["metrics"][0]["step"] == 2
        assert c.get(f"{API}/experiments/get-by-name", params={"experiment_name": "persisted"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "../outside.txt",
        "a/../../outside.txt",
        "%2e%2e/outside.txt",
        "a/%2E%2E/%2e%2e/outside.txt",
        "%252e%252e/outside.txt",
        "/etc/passwd",
        "a\\..\\b",
        "C:/windows",
    ],
)
def test_artifact_paths_that_escape_the_root_are_rejected(stub: StubServer, path: str) -> None:
    base = "/api/2.0/mlflow-artifacts/artifacts/"
    with httpx.Client(base_url=stub.url) as c:
        put = c.put(base + path, content=b"x")
        assert put.status_code in (400, 404), put.text
        assert c.get(base + path).status_code in (400, 404)
        assert c.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path}).status_code in (200, 400)
    outside = stub.artifacts.root.parent / "outside.txt"
    assert not outside.exists()


def test_symlink_out_of_the_root_is_not_followed(stub: StubServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (stub.artifacts.root / "1").mkdir()
    os.symlink(tmp_path, stub.artifacts.root / "1" / "link")
    with httpx.Client(base_url=stub.url) as c:
        r = c.get("/api/2.0/mlflow-artifacts/artifacts/1/link/secret.txt")
        assert r.status_code == 400 and "top secret" not in r.text
        assert c.put("/api/2.0/mlflow-artifacts/artifacts/1/link/new.txt", content=b"x").status_code == 400
    assert not (tmp_path / "new.txt").exists()


def test_symlink_that_stays_inside_the_root_is_followed(stub: StubServer) -> None:
    (stub.artifacts.root / "1" / "real").mkdir(parents=True)
    os.symlink(stub.artifacts.root / "1" / "real", stub.artifacts.root / "1" / "alias")
    with httpx.Client(base_url=stub.url) as c:
        assert c.put("/api/2.0/mlflow-artifacts/artifacts/1/alias/f.txt", content=b"via link").status_code == 200
        assert c.get("/api/2.0/mlflow-artifacts/artifacts/1/real/f.txt").content == b"via link"


def test_upload_onto_a_directory_is_refused_and_leaves_nothing_behind(stub: StubServer) -> None:
    (stub.artifacts.root / "1" / "dir").mkdir(parents=True)
    with httpx.Client(base_url=stub.url) as c:
        r = c.put("/api/2.0/mlflow-artifacts/artifacts/1/dir", content=b"x")
    assert r.status_code == 400 and "is a directory" in r.json()["message"]
    assert sorted(p.name for p in (stub.artifacts.root / "1").iterdir()) == ["dir"]


def test_uploads_get_the_default_file_mode_and_their_folders(stub: StubServer) -> None:
    umask = os.umask(0)
    os.umask(umask)
    with httpx.Client(base_url=stub.url) as c:
        assert c.put("/api/2.0/mlflow-artifacts/artifacts/1/a/b/c.txt", content=b"deep").status_code == 200
    target = stub.artifacts.root / "1" / "a" / "b" / "c.txt"
    assert target.read_bytes() == b"deep"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["c.txt"]  # no temporary file left


def test_listing_hides_uploads_still_being_written(stub: StubServer) -> None:
    folder = stub.artifacts.root / "1"
    folder.mkdir()
    (folder / f".upload-{os.getpid()}-7").write_bytes(b"half")  # how write() names its temporary file
    (folder / ".upload-notes").write_bytes(b"a user's file")
    (folder / "done.txt").write_bytes(b"done")
    with httpx.Client(base_url=stub.url) as c:
        listing = c.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "1"}).json()
    assert [f["path"] for f in listing["files"]] == [".upload-notes", "done.txt"]


def test_upload_cut_short_leaves_no_file(stub: StubServer) -> None:
    host, port = stub.url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"PUT /api/2.0/mlflow-artifacts/artifacts/1/cut.bin HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"x" * 1000
        )
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""  # the stub hangs up on a body that ends early
    folder = stub.artifacts.root / "1"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_upload_streams_chunked_bodies_and_download_matches(stub: StubServer) -> None:
    payload = os.urandom(3 << 20)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    with httpx.Client(base_url=stub.url) as c:
        up = c.put("/api/2.0/mlflow-artifacts/artifacts/1/big.bin", content=chunks())
        assert up.status_code == 200, up.text
        down = c.get("/api/2.0/mlflow-artifacts/artifacts/1/big.bin")
        assert down.content == payload
        listing = c.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "1"}).json()
        assert listing["files"] == [{"path": "big.bin", "is_dir": False, "file_size": len(payload)}]


def test_multipart_is_not_implemented_by_default(stub: StubServer) -> None:
    r = httpx.post(f"{stub.url}/api/2.0/mlflow-artifacts/mpu/create/1/dir", json={"path": "f.bin", "num_parts": 2})
    assert (r.status_code, r.json()["error_code"]) == (501, "NOT_IMPLEMENTED")


def test_multipart_upload_protocol() -> None:
    base = "/api/2.0/mlflow-artifacts"
    parts = [b"a" * 100, b"b" * 50]
    with StubServer(port=0, multipart=True) as stub, httpx.Client(base_url=stub.url) as c:
        created = c.post(f"{base}/mpu/create/1/dir", json={"path": "local/file.bin", "num_parts": 2}).json()
        etags = []
        for cred, data in zip(created["credentials"], parts, strict=True):
            r = c.put(cred["url"], content=data)
            assert r.status_code == 200
            etags.append({"part_number": cred["part_number"], "etag": r.headers["etag"]})
        done = c.post(
            f"{base}/mpu/complete/1/dir",
            json={"path": "local/file.bin", "upload_id": created["upload_id"], "parts": etags},
        )
        assert done.status_code == 200, done.text
        assert c.get(f"{base}/artifacts/1/dir/file.bin").content == b"".join(parts)
        aborted = c.post(f"{base}/mpu/create/1/dir", json={"path": "other.bin", "num_parts": 1}).json()
        assert (
            c.post(f"{base}/mpu/abort/1/dir", json={"path": "other.bin", "upload_id": aborted["upload_id"]}).status_code
            == 200
        )
        again = c.post(f"{base}/mpu/abort/1/dir", json={"path": "other.bin", "upload_id": aborted["upload_id"]})
        assert again.status_code == 404


def test_cli_prints_its_url_when_ready(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", "--artifacts-destination", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("stub server listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        assert httpx.get(f"{url}/health").text == "OK"
        search = httpx.post(f"{url}{API}/experiments/search", json={"max_results": 10})
        assert json.loads(search.content)["experiments"][0]["experiment_id"] == "0"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
