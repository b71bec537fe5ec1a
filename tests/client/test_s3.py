"""The ``s3://`` artifact store against a real S3-compatible server (moto in server mode, on loopback):
round trips (sha256 of every file), multipart above a threshold, upload extra args, pagination, refusal of
keys escaping the download folder, errors naming the object, a missing boto3, and a real `mlflow server`
whose default artifact root is the bucket (the client moves the bytes; the server never sees them)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.config  # type: ignore[import-untyped]
import httpx
import pytest
from mlflow_client import MlflowClient
from mlflow_client._settings import Settings
from mlflow_client.artifacts import get_repository
from mlflow_client.artifacts._s3 import S3ArtifactRepository
from mlflow_client.exceptions import ConfigurationError, MlflowConnectionError, MlflowException
from moto.server import ThreadedMotoServer

from tests.client.trees import hashes, make_tree
from tests.real_server import free_port, real_mlflow_server

MiB = 1024 * 1024

# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's S3 in server mode: a real HTTP server on a free loopback port, in a thread."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Dummy credentials and the endpoint in the environment, nothing from the user's AWS setup."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "MLFLOW_S3_UPLOAD_EXTRA_ARGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("MLFLOW_S3_IGNORE_TLS", "false")
    return moto_url


@pytest.fixture
def s3(s3_env: str) -> Any:
    """A plain boto3 client on the moto server, to look at what the repository stored."""
    return boto3.session.Session().client("s3", endpoint_url=s3_env)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"bkt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _repo(uri: str, **options: Any) -> S3ArtifactRepository:
    repo = get_repository(uri, settings=Settings.from_env(), **options)
    assert isinstance(repo, S3ArtifactRepository)
    return repo


def _keys(s3: Any, bucket: str) -> set[str]:
    return {
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    }


# -- settings and registry ----------------------------------------------------------------------------


def test_settings_read_the_s3_variables() -> None:
    env = {
        "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "MLFLOW_S3_UPLOAD_EXTRA_ARGS": '{"ServerSideEncryption": "AES256", "SSECustomerKey": "topsecret"}',
        "MLFLOW_S3_IGNORE_TLS": "TRUE",
        "AWS_CA_BUNDLE": "/etc/ca.pem",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    s = Settings.from_env(env)
    assert s.s3_endpoint_url == "http://127.0.0.1:9000" and s.s3_ignore_tls is True
    assert s.aws_ca_bundle == "/etc/ca.pem" and s.aws_default_region == "eu-west-1"
    assert dict(s.s3_upload_extra_args or {}) == {"ServerSideEncryption": "AES256", "SSECustomerKey": "topsecret"}
    assert "topsecret" not in repr(s) and "AES256" in repr(s)
    assert hash(s) == hash(Settings.from_env(env)) and s == Settings.from_env(env)
    assert Settings.from_env({}).s3_ignore_tls is False and Settings.from_env({}).s3_upload_extra_args is None


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("MLFLOW_S3_IGNORE_TLS", "yes", "MLFLOW_S3_IGNORE_TLS must be one of true, false, 1, 0"),
        ("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "{ServerSideEncryption: AES256}", "MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON"),
        ("MLFLOW_S3_UPLOAD_EXTRA_ARGS", '["ACL", "private"]', "MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object, got"),
    ],
)
def test_bad_s3_variables_fail_naming_the_variable(name: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        Settings.from_env({name: value})


def test_get_repository_picks_s3() -> None:
    for uri, root in (("s3://my-bucket/a/b/", "a/b"), ("s3a://my-bucket", ""), ("S3://my-bucket/x", "x")):
        repo = get_repository(uri, settings=Settings())
        assert isinstance(repo, S3ArtifactRepository)
        assert (repo.bucket, repo.root) == ("my-bucket", root)
    with pytest.raises(MlflowException, match="not an S3 URI"):
        get_repository("s3:///no-bucket", settings=Settings())


def test_client_options_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    real = boto3.session.Session.client

    def spy(self: Any, service: str, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(self, service, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", spy)
    base = Settings(s3_endpoint_url="https://s3.example:9000", aws_default_region="eu-west-1")
    S3ArtifactRepository("s3://bkt/x", settings=base)._s3()
    S3ArtifactRepository("s3://bkt/x", settings=base.with_changes(aws_ca_bundle="/ca.pem"))._s3()
    both = base.with_changes(aws_ca_bundle="/ca.pem", s3_ignore_tls=True)
    S3ArtifactRepository("s3://bkt/x", settings=both)._s3()
    S3ArtifactRepository("s3://bkt/x", settings=Settings())._s3()
    assert seen[0]["endpoint_url"] == "https://s3.example:9000" and seen[0]["region_name"] == "eu-west-1"
    assert "verify" not in seen[0]  # boto3's default: verify against its own CA bundle
    assert seen[1]["verify"] == "/ca.pem"
    assert seen[2]["verify"] is False  # MLFLOW_S3_IGNORE_TLS wins
    assert {k for k in seen[3] if k != "config"} == set()  # nothing set: boto3 decides everything


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    repo = get_repository("s3://bkt/x", settings=Settings())  # building the repository needs no boto3
    (tmp_path / "f.txt").write_text("x")
    for call in (
        lambda: repo.log_artifact(tmp_path / "f.txt"),
        repo.list_artifacts,
        lambda: repo.download_artifacts("", tmp_path),
    ):
        with pytest.raises(ImportError, match=r"pip install 'mlflow-client\[s3\]'"):
            call()


# -- against moto -------------------------------------------------------------------------------------


def test_round_trip_nested_folders_and_empty_files(bucket: str, s3: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = make_tree(src, many=30)
    repo = _repo(f"s3://{bucket}/exp/run/artifacts")
    repo.log_artifacts(src, "data")
    repo.log_artifact(src / "a.txt")
    assert _keys(s3, bucket) == {f"exp/run/artifacts/data/{rel}" for rel in expected} | {"exp/run/artifacts/a.txt"}

    top = repo.list_artifacts()
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [("a.txt", False, 6), ("data", True, None)]
    sub = repo.list_artifacts("data/sub")
    assert [(f.path, f.is_dir, f.file_size) for f in sub] == [
        ("data/sub/b.bin", False, 70_000),
        ("data/sub/deeper", True, None),
    ]
    assert repo.list_artifacts("data/a.txt") == []  # a file lists nothing

    dst = tmp_path / "dst"
    dst.mkdir()
    local = repo.download_artifacts("data", dst)
    assert local == str(dst / "data")
    assert hashes(Path(local)) == expected
    single = repo.download_artifacts("data/sub/b.bin", tmp_path / "dst")
    assert hashlib.sha256(Path(single).read_bytes()).hexdigest() == expected["sub/b.bin"]
    everything = Path(repo.download_artifacts(""))  # a new temporary folder
    assert hashes(everything) == {"a.txt": expected["a.txt"], **{f"data/{k}": v for k, v in expected.items()}}
    assert not list(tmp_path.rglob("*.part"))
    with repo._open_remote("data/sub/b.bin") as chunks:
        assert hashlib.sha256(b"".join(chunks)).hexdigest() == expected["sub/b.bin"]
    repo.close()
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "data"]  # a closed repository reconnects


def test_folder_markers_are_not_files(bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="root/dir/", Body=b"")
    s3.put_object(Bucket=bucket, Key="root/dir/f.txt", Body=b"x")
    repo = _repo(f"s3://{bucket}/root")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("dir", True)]
    assert [(f.path, f.is_dir) for f in repo.list_artifacts("dir")] == [("dir/f.txt", False)]


def test_listing_follows_pages(bucket: str, s3: Any, tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    for d in ("d1", "d2", "d3"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x").write_text(d)
    repo = _repo(f"s3://{bucket}/root", list_page_size=2)
    repo.log_artifacts(tmp_path)
    calls: list[dict[str, Any]] = []
    repo._s3().meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: calls.append(params))
    names = [f.path for f in repo.list_artifacts()]
    assert names == ["d1", "d2", "d3", *(f"f{i}.txt" for i in range(7))]
    assert len(calls) == 5  # 10 entries, 2 per page


def test_multipart_above_the_threshold(bucket: str, s3: Any, tmp_path: Path) -> None:
    big, small = tmp_path / "big.bin", tmp_path / "small.bin"
    big.write_bytes(os.urandom(11 * MiB))  # 5 + 5 + 1 MiB parts; S3's minimum part is 5 MiB
    small.write_bytes(os.urandom(5 * MiB - 1))
    repo = _repo(f"s3://{bucket}/mp", multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    repo.log_artifact(big)
    repo.log_artifact(small)
    assert s3.head_object(Bucket=bucket, Key="mp/big.bin")["ETag"].strip('"').endswith("-3")
    assert "-" not in s3.head_object(Bucket=bucket, Key="mp/small.bin")["ETag"]
    dst = tmp_path / "dst"
    dst.mkdir()
    for name, path in (("big.bin", big), ("small.bin", small)):
        got = repo.download_artifacts(name, dst)  # ranged, multipart download for the big one
        assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()


def test_upload_extra_args_are_applied(bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cfg.json").write_text("{}")
    (tmp_path / "model.bin").write_bytes(b"\0" * 10)
    _repo(f"s3://{bucket}/plain").log_artifact(tmp_path / "cfg.json")
    assert s3.head_object(Bucket=bucket, Key="plain/cfg.json")["ContentType"] == "application/json"  # guessed

    extra = {"Metadata": {"team": "ml"}, "ContentType": "application/x-mine", "ServerSideEncryption": "AES256"}
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", json.dumps(extra))
    repo = _repo(f"s3://{bucket}/extra", multipart_threshold=5 * MiB)
    repo.log_artifacts(tmp_path)
    (tmp_path / "big.bin").write_bytes(b"\1" * (6 * MiB))
    repo.log_artifact(tmp_path / "big.bin")  # multipart uploads get them too
    for key in ("extra/cfg.json", "extra/model.bin", "extra/big.bin"):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {"team": "ml"}, key
        assert head["ContentType"] == "application/x-mine", key
        assert head["ServerSideEncryption"] == "AES256", key


def test_keys_escaping_the_destination_are_refused(bucket: str, s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="root/ok.txt", Body=b"fine")
    s3.put_object(Bucket=bucket, Key="root/../evil", Body=b"evil")
    s3.put_object(Bucket=bucket, Key="root/a/../../evil2", Body=b"evil")
    repo = _repo(f"s3://{bucket}/root")
    dst = tmp_path / "inner" / "dst"
    dst.mkdir(parents=True)
    for path in ("", "a"):
        with pytest.raises(MlflowException, match=r"Refusing artifact path .*\.\.") as info:
            repo.download_artifacts(path, dst)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Refusing"):
        repo.download_artifacts("../evil", dst)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dst", "inner"]  # nothing written anywhere


def test_a_listing_outside_the_prefix_is_refused(bucket: str, s3: Any, tmp_path: Path) -> None:
    """A misbehaving S3-compatible server answering with keys outside the requested prefix."""
    real = boto3.session.Session().client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])

    class LyingPaginator:
        def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            yield {"Contents": [{"Key": "elsewhere/x.txt", "Size": 1}]}

    class LyingClient:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def get_paginator(self, name: str) -> LyingPaginator:
            return LyingPaginator()

    repo = _repo(f"s3://{bucket}/root", s3_client=LyingClient())
    with pytest.raises(MlflowException, match=rf"Refusing object s3://{bucket}/elsewhere/x.txt"):
        repo.download_artifacts("", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failures_name_the_file_and_the_store(bucket: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    with pytest.raises(MlflowException) as up:
        _repo(f"s3://{missing}/p").log_artifact(tmp_path / "f.txt", "d")
    assert str(tmp_path / "f.txt") in up.value.message and f"s3://{missing}/p/d/f.txt" in up.value.message
    assert "NoSuchBucket" in up.value.message and up.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException) as down:
        _repo(f"s3://{bucket}/p").download_artifacts("nope.txt", dst)
    assert f"s3://{bucket}/p/nope.txt" in down.value.message and down.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(dst.iterdir()) == []  # no partial file

    with pytest.raises(MlflowException, match=rf"Failed to list s3://{missing}/p/"):
        _repo(f"s3://{missing}/p").list_artifacts()


def test_unreachable_endpoint_is_a_connection_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings(s3_endpoint_url=f"http://127.0.0.1:{free_port()}", aws_default_region="us-east-1")
    (tmp_path / "f.txt").write_text("x")
    repo = S3ArtifactRepository("s3://bkt/p", settings=settings)
    repo._client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(MlflowConnectionError, match=r"s3://bkt/p/f.txt"):
        repo.log_artifact(tmp_path / "f.txt")


# -- a real `mlflow server` whose default artifact root is the bucket --------------------------------


@pytest.mark.mlflow_server
def test_mlflow_server_with_an_s3_artifact_root(bucket: str, s3: Any, tmp_path: Path) -> None:
    """The server records s3:// artifact URIs; the client uploads and downloads the bytes itself."""
    args = ("--default-artifact-root", f"s3://{bucket}/mlartifacts", "--no-serve-artifacts")
    with real_mlflow_server(extra_args=args) as url, MlflowClient(url) as client:  # env (endpoint, keys) inherited
        exp = client.create_experiment(f"s3-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        run_id = run.info.run_id
        assert run.info.artifact_uri == f"s3://{bucket}/mlartifacts/{exp}/{run_id}/artifacts"

        src = tmp_path / "src"
        expected = make_tree(src, many=30)
        client.log_artifacts(run_id, src, "data")
        client.log_artifact(run_id, src / "sub" / "b.bin")
        client.log_text(run_id, "some text", "notes/readme.txt")

        prefix = f"mlartifacts/{exp}/{run_id}/artifacts"
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/b.bin")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == expected["sub/b.bin"]
        assert s3.get_object(Bucket=bucket, Key=f"{prefix}/notes/readme.txt")["Body"].read() == b"some text"
        assert _keys(s3, bucket) == {f"{prefix}/data/{k}" for k in expected} | {
            f"{prefix}/b.bin",
            f"{prefix}/notes/readme.txt",
        }

        # the server's artifact proxy is off: the bytes above cannot have gone through it
        proxied = httpx.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_id}/artifacts/b.bin")
        assert proxied.status_code != 200, proxied.text

        # the server lists the bucket itself (its own boto3, same endpoint)
        top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
        assert top == {("b.bin", False), ("data", True), ("notes", True)}

        dst = tmp_path / "dst"
        dst.mkdir()
        assert hashes(Path(client.download_artifacts(run_id, "data", dst))) == expected
        assert Path(client.download_artifacts(run_id, "notes/readme.txt", dst)).read_text() == "some text"
