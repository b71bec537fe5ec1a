"""``mlflow-client artifacts``: what it uploads MLflow downloads byte for byte, and the other way round."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow

from tests.cli.conftest import Invoke, run_mlflow, unique


def _tree(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write_tree(root: Path) -> dict[str, bytes]:
    files = {"model.bin": os.urandom(70_000), "sub/notes.txt": "é\n".encode(), "sub/deeper/empty.txt": b""}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _new_run(server_url: str) -> tuple[mlflow.MlflowClient, str]:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    return theirs, theirs.create_run(theirs.create_experiment(unique("artifacts"))).info.run_id


def test_log_artifacts_gives_mlflow_identical_bytes(invoke: Invoke, server_url: str, tmp_path: Path) -> None:
    theirs, run_id = _new_run(server_url)
    files = _write_tree(tmp_path / "out")

    result = invoke("artifacts", "log-artifacts", "-l", str(tmp_path / "out"), "-r", run_id, "-a", "outputs")
    assert result.exit_code == 0, result.output
    assert [f.path for f in theirs.list_artifacts(run_id, "outputs")] == ["outputs/model.bin", "outputs/sub"]
    local = theirs.download_artifacts(run_id, "outputs", str(tmp_path / "back"))
    assert _tree(Path(local)) == files


def test_log_artifact_puts_one_file_under_the_artifact_path(invoke: Invoke, server_url: str, tmp_path: Path) -> None:
    theirs, run_id = _new_run(server_url)
    report = tmp_path / "report.html"
    report.write_bytes(os.urandom(5000))

    result = invoke("artifacts", "log-artifact", "--local-file", str(report), "--run-id", run_id, "-a", "reports")
    assert result.exit_code == 0, result.output
    assert [(f.path, f.file_size) for f in theirs.list_artifacts(run_id, "reports")] == [("reports/report.html", 5000)]
    local = theirs.download_artifacts(run_id, "reports/report.html", str(tmp_path / "back"))
    assert Path(local).read_bytes() == report.read_bytes()


def test_download_of_what_mlflow_logged_gives_identical_bytes(invoke: Invoke, server_url: str, tmp_path: Path) -> None:
    theirs, run_id = _new_run(server_url)
    files = _write_tree(tmp_path / "src")
    theirs.log_artifacts(run_id, str(tmp_path / "src"), "data")

    by_run = invoke("artifacts", "download", "-r", run_id, "-a", "data", "-d", str(tmp_path / "by-run"))
    assert by_run.exit_code == 0, by_run.output
    assert by_run.stdout == f"{tmp_path / 'by-run' / 'data'}\n"
    assert _tree(tmp_path / "by-run" / "data") == files

    by_uri = invoke("artifacts", "download", "-u", f"runs:/{run_id}/data/sub", "--dst-path", str(tmp_path / "by-uri"))
    assert by_uri.exit_code == 0, by_uri.output
    assert _tree(Path(by_uri.stdout.strip())) == {k[4:]: v for k, v in files.items() if k.startswith("sub/")}


def test_download_needs_a_run_or_a_uri(invoke: Invoke) -> None:
    result = invoke("artifacts", "download", "-a", "data")
    assert result.exit_code == 2
    assert "Either --artifact-uri or --run-id" in result.stderr


def test_list_as_table_and_as_mlflow_prints_it(invoke: Invoke, server_url: str, tmp_path: Path) -> None:
    theirs, run_id = _new_run(server_url)
    _write_tree(tmp_path / "src")
    theirs.log_artifacts(run_id, str(tmp_path / "src"))

    table = invoke("artifacts", "list", "-r", run_id)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["Path", "Size"]
    assert [line.split() for line in lines[2:]] == [["model.bin", "70000"], ["sub/"]]

    ours = invoke("artifacts", "list", "--run-id", run_id, "--artifact-path", "sub", "--json")
    assert ours.exit_code == 0, ours.output
    assert json.loads(ours.stdout) == [
        {"path": "sub/deeper", "is_dir": True},
        {"path": "sub/notes.txt", "is_dir": False, "file_size": 3},
    ]
    assert ours.stdout == run_mlflow(["artifacts", "list", "-r", run_id, "-a", "sub"], server_url).stdout
