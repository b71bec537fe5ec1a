"""The mlflow-artifacts proxy: upload, download, list, delete, traversal rejection, multipart uploads."""

from __future__ import annotations

import hashlib
import os
from urllib.parse import urlsplit

import pytest

from conformance_tests._api import ARTIFACTS, Api, unique
from conformance_tests._report import NOT_SUPPORTED

pytestmark = pytest.mark.capability("artifact-proxy")
PAYLOAD = b"hello conformance\x00\xff"
MIB = 1024 * 1024
# Big enough that a server (or a proxy in front of it) that cuts a body short at a buffer boundary shows it;
# one size is no multiple of any buffer.
LARGE_SIZES = [pytest.param(8 * MIB, id="8MiB"), pytest.param(3 * MIB + 17, id="3MiB+17")]


def _put(api: Api, path: str, content: bytes = PAYLOAD) -> None:
    r = api.http.put(f"{ARTIFACTS}/{path}", content=content)
    assert r.status_code == 200, f"PUT {path} -> {r.status_code} {r.text[:200]}"


def test_upload_then_download_returns_same_bytes(api: Api) -> None:
    path = f"{unique()}/dir/a.bin"
    _put(api, path)
    r = api.http.get(f"{ARTIFACTS}/{path}")
    assert r.status_code == 200, r.text[:200]
    assert r.content == PAYLOAD


def _digest(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_large_upload_then_download_is_byte_exact(api: Api, size: int) -> None:
    path = f"{unique()}/large.bin"
    payload = os.urandom(size)
    _put(api, path, payload)
    r = api.http.get(f"{ARTIFACTS}/{path}")
    assert r.status_code == 200, r.text[:200]
    assert _digest(r.content) == _digest(payload), f"GET {path}: got {len(r.content)} bytes, sent {size}"


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_list_artifacts_reports_exact_size_of_large_file(api: Api, size: int) -> None:
    root = unique()
    _put(api, f"{root}/large.bin", os.urandom(size))
    files = api.ok("GET", ARTIFACTS, params={"path": root}).get("files") or []
    assert [(f["path"], int(f.get("file_size", -1))) for f in files] == [("large.bin", size)], files


def test_list_run_artifacts_reports_exact_size_of_large_file(api: Api, run_id: str) -> None:
    uri = api.get_run(run_id)["info"].get("artifact_uri", "")
    if not uri.startswith("mlflow-artifacts:"):
        pytest.skip(f"{NOT_SUPPORTED} run artifacts through the proxy (artifact_uri {uri!r})")
    size = 3 * MIB + 17
    _put(api, f"{urlsplit(uri).path.strip('/')}/out/large.bin", os.urandom(size))
    data = api.ok("GET", "artifacts/list", params={"run_id": run_id, "path": "out"})
    files = data.get("files") or []
    assert [(f["path"], int(f.get("file_size", -1))) for f in files] == [("out/large.bin", size)], data


def test_list_artifacts_shows_basenames_sizes_and_dirs(api: Api) -> None:
    root = unique()
    _put(api, f"{root}/a.txt", b"abcdef")
    _put(api, f"{root}/sub/b.txt", b"x")
    data = api.ok("GET", ARTIFACTS, params={"path": root})
    files = sorted(data["files"], key=lambda f: f["path"])
    assert [(f["path"], f.get("is_dir", False)) for f in files] == [("a.txt", False), ("sub", True)]
    assert files[0]["file_size"] == 6


def test_list_missing_directory_is_empty(api: Api) -> None:
    assert not api.ok("GET", ARTIFACTS, params={"path": unique()}).get("files")


def test_download_missing_artifact_is_404(api: Api) -> None:
    r = api.http.get(f"{ARTIFACTS}/{unique()}/missing.txt")
    assert r.status_code == 404, r.text[:200]


def test_delete_artifact_removes_it(api: Api) -> None:
    path = f"{unique()}/a.txt"
    _put(api, path)
    api.ok("DELETE", f"{ARTIFACTS}/{path}", schema_path=f"{ARTIFACTS}/{{artifact_path}}")
    assert api.http.get(f"{ARTIFACTS}/{path}").status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("segment", ["..", "%2e%2e"])
def test_path_traversal_is_rejected(api: Api, method: str, segment: str) -> None:
    path = f"{ARTIFACTS}/{unique()}/{segment}/{segment}/escape.txt"
    status, body = api.raw(method, path, body=b"x" if method == "PUT" else None)
    assert 400 <= status < 500, f"{method} {path} -> {status} {body[:200]!r}"


def test_path_traversal_in_list_is_rejected(api: Api) -> None:
    r = api.call("GET", ARTIFACTS, params={"path": "../etc"})
    assert 400 <= r.status < 500, r.describe()


@pytest.mark.capability("multipart")
def test_multipart_upload_assembles_parts(api: Api) -> None:
    root = unique()
    parts = [b"a" * 10, b"b" * 7]
    create = f"/api/2.0/mlflow-artifacts/mpu/create/{root}"
    data = api.ok(
        "POST",
        create,
        {"path": "big.bin", "num_parts": 2},
        schema_path="/api/2.0/mlflow-artifacts/mpu/create/{artifact_path}",
    )
    sent = []
    for cred, content in zip(sorted(data["credentials"], key=lambda c: c["part_number"]), parts, strict=True):
        r = api.http.put(cred["url"], content=content, headers=cred.get("headers") or {})
        assert r.status_code == 200, r.text[:200]
        sent.append({"part_number": cred["part_number"], "etag": r.headers.get("etag", ""), "url": cred["url"]})
    body = {"path": "big.bin", "upload_id": data["upload_id"], "parts": sent}
    api.ok(
        "POST",
        create.replace("/create/", "/complete/"),
        body,
        schema_path="/api/2.0/mlflow-artifacts/mpu/complete/{artifact_path}",
    )
    assert api.http.get(f"{ARTIFACTS}/{root}/big.bin").content == b"".join(parts)


@pytest.mark.capability("multipart")
def test_multipart_upload_can_be_aborted(api: Api) -> None:
    create = f"/api/2.0/mlflow-artifacts/mpu/create/{unique()}"
    data = api.ok(
        "POST",
        create,
        {"path": "f.bin", "num_parts": 1},
        schema_path="/api/2.0/mlflow-artifacts/mpu/create/{artifact_path}",
    )
    abort = create.replace("/create/", "/abort/")
    body = {"path": "f.bin", "upload_id": data["upload_id"]}
    api.ok("POST", abort, body, schema_path="/api/2.0/mlflow-artifacts/mpu/abort/{artifact_path}")
