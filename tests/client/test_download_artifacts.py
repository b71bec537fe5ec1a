"""``mlflow_client.artifacts.download_artifacts`` and a run's paths through its logged models, against a real
``mlflow server`` and the stub: a model logged and registered by MLflow itself (``mlflow.sklearn.log_model``),
downloaded by every kind of URI, must be byte-identical to what ``mlflow.artifacts.download_artifacts``
gives and load with ``mlflow.pyfunc.load_model``; MLflow's argument checks."""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import mlflow
import mlflow.artifacts
import numpy as np
import pytest
from mlflow_client import MlflowClient
from mlflow_client import artifacts as ours
from mlflow_client.exceptions import InvalidParameterValue, MlflowException, ResourceNotFound
from sklearn.linear_model import LinearRegression


class Logged(NamedTuple):
    url: str
    run_id: str
    model_id: str
    name: str


@pytest.fixture
def logged(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Logged]:
    """A run with an sklearn model logged and registered by MLflow's fluent API, aliased "champion"."""
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    # mlflow.set_tracking_uri and mlflow.set_experiment also set MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID
    # (for subprocesses): monkeypatch puts both back afterwards, so that later tests do not inherit them.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")  # records the variable's state (delenv alone would not)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server_url)
    try:
        name = f"dl-{uuid.uuid4().hex[:8]}"
        mlflow.set_experiment(name)
        with mlflow.start_run() as run:
            model = LinearRegression().fit(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
            mlflow.log_text("notes", "notes/readme.txt")
            mlflow.log_text("deep", "notes/sub/deep.txt")
        mlflow.MlflowClient(server_url).set_registered_model_alias(name, "champion", "1")
        assert info.model_id is not None
        yield Logged(server_url, run.info.run_id, info.model_id, name)
    finally:
        mlflow.set_tracking_uri(before)
        # MLflow's active experiment is process state too; the ID would outlive this server.
        import mlflow.tracking.fluent as their_fluent

        their_fluent._active_experiment_id = None


def _tree(path: str) -> list[tuple[str, bytes]]:
    if os.path.isfile(path):
        return [(os.path.basename(path), Path(path).read_bytes())]
    return sorted(
        (os.path.relpath(os.path.join(folder, f), path), Path(folder, f).read_bytes())
        for folder, _, files in os.walk(path)
        for f in files
    )


def _uris(x: Logged) -> list[str]:
    return [
        f"models:/{x.name}@champion",
        f"models:/{x.name}/1",
        f"models:/{x.name}/latest",
        f"models:/{x.name}/None",  # the stage of a new version, as MLflow still reads stages
        f"models:/{x.model_id}",
        f"models:/{x.name}/1/MLmodel",
        f"models:/{x.name}@champion/MLmodel",
        f"runs:/{x.run_id}/model",
        f"runs:/{x.run_id}/model/MLmodel",
        f"runs:/{x.run_id}/notes",
        f"runs:/{x.run_id}/notes/sub/deep.txt",
    ]


def test_every_uri_downloads_what_mlflow_downloads(logged: Logged, tmp_path: Path) -> None:
    for i, uri in enumerate(_uris(logged)):
        mine = ours.download_artifacts(uri, dst_path=str(tmp_path / f"ours{i}"), tracking_uri=logged.url)
        theirs = mlflow.artifacts.download_artifacts(
            uri, dst_path=str(tmp_path / f"theirs{i}"), tracking_uri=logged.url
        )
        assert os.path.relpath(mine, tmp_path / f"ours{i}") == os.path.relpath(theirs, tmp_path / f"theirs{i}"), uri
        assert _tree(mine) == _tree(theirs), uri
        assert _tree(mine), uri


def test_what_we_download_by_alias_loads_in_mlflow(logged: Logged) -> None:
    path = ours.download_artifacts(f"models:/{logged.name}@champion", tracking_uri=logged.url)
    loaded = mlflow.pyfunc.load_model(path)
    assert loaded.predict(np.array([[5.0]])) == pytest.approx([10.0])
    meta = Path(path, "registered_model_meta").read_text()
    assert f"model_name: {logged.name}" in meta and "model_version: '1'" in meta


def test_run_id_forms_and_the_download_uri(logged: Logged, tmp_path: Path) -> None:
    whole = ours.download_artifacts(run_id=logged.run_id, dst_path=str(tmp_path / "all"), tracking_uri=logged.url)
    their_whole = mlflow.artifacts.download_artifacts(
        run_id=logged.run_id, dst_path=str(tmp_path / "their-all"), tracking_uri=logged.url
    )
    assert _tree(whole) == _tree(their_whole)
    one = ours.download_artifacts(
        run_id=logged.run_id,
        artifact_path="notes/readme.txt",
        dst_path=str(tmp_path / "a" / "b"),
        tracking_uri=logged.url,
    )
    assert Path(one).read_text() == "notes" and one == str(tmp_path / "a" / "b" / "notes" / "readme.txt")
    # The registry's download URI (an mlflow-artifacts: URI) works as such too.
    uri = MlflowClient(logged.url).get_model_version_download_uri(logged.name, "1")
    direct = ours.download_artifacts(uri, dst_path=str(tmp_path / "direct"), tracking_uri=logged.url)
    their_direct = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "td"), tracking_uri=logged.url)
    assert _tree(direct) == _tree(their_direct) and any(p == "MLmodel" for p, _ in _tree(direct))


def test_a_runs_paths_reach_its_logged_model_as_in_mlflow(logged: Logged, tmp_path: Path) -> None:
    client, theirs = MlflowClient(logged.url), mlflow.MlflowClient(logged.url)
    listed = client.list_artifacts(logged.run_id, "model")
    assert [(f.path, f.is_dir, f.file_size) for f in listed] == [
        (f.path, f.is_dir, f.file_size) for f in theirs.list_artifacts(logged.run_id, "model")
    ]
    assert "model/MLmodel" in {f.path for f in listed}
    assert {f.path for f in client.list_artifacts(logged.run_id)} == {
        f.path for f in theirs.list_artifacts(logged.run_id)
    }
    local = client.download_artifacts(logged.run_id, "model", str(tmp_path / "ours"))
    their_local = theirs.download_artifacts(logged.run_id, "model", str(tmp_path / "theirs"))
    assert _tree(local) == _tree(their_local) and os.path.basename(local) == "model"
    with pytest.raises(ResourceNotFound):
        client.download_artifacts(logged.run_id, "no/such/path", str(tmp_path / "none"))


def test_local_paths_and_file_uris(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "model"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "w.bin").write_bytes(os.urandom(3000))
    for i, uri in enumerate([str(folder), folder.as_uri(), str(folder / "w.bin")]):
        got = ours.download_artifacts(uri, dst_path=str(tmp_path / f"out{i}"))
        assert _tree(got) == _tree(uri if "://" not in uri else str(folder))


def test_signature_and_argument_checks_are_mlflows(tmp_path: Path) -> None:
    assert list(inspect.signature(ours.download_artifacts).parameters) == list(
        inspect.signature(mlflow.artifacts.download_artifacts).parameters
    )
    bad: list[dict[str, Any]] = [
        {},
        {"artifact_uri": "runs:/r/x", "run_id": "r"},
        {"artifact_uri": "runs:/r/x", "artifact_path": "y"},
    ]
    for kwargs in bad:
        with pytest.raises(InvalidParameterValue) as err:
            ours.download_artifacts(**kwargs)
        with pytest.raises(Exception) as theirs:
            mlflow.artifacts.download_artifacts(**kwargs)
        assert err.value.message == str(theirs.value.message)  # type: ignore[attr-defined]
    for uri in ["models:/", "models:/@alias", "models:/name@", "runs:/", "runs://x"]:
        with pytest.raises(InvalidParameterValue, match="Not a proper"):
            ours.download_artifacts(uri, dst_path=str(tmp_path), tracking_uri="http://127.0.0.1:9")


def test_a_bare_model_id_gets_mlflows_hint(tmp_path: Path) -> None:
    with pytest.raises(MlflowException, match="Maybe you meant 'models:/m-123'"):
        ours.download_artifacts("m-123", dst_path=str(tmp_path))


def test_an_unknown_run_is_reported_as_mlflow_reports_it(server_url: str, tmp_path: Path) -> None:
    uri = f"runs:/{'f' * 32}/model"
    with pytest.raises(ResourceNotFound) as info:
        ours.download_artifacts(uri, dst_path=str(tmp_path), tracking_uri=server_url)
    with pytest.raises(mlflow.exceptions.MlflowException) as theirs:
        mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path), tracking_uri=server_url)
    assert info.value.error_code == theirs.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "f" * 32 in info.value.message and "f" * 32 in theirs.value.message
