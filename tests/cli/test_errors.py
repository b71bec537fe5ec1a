"""Errors: one line on stderr and exit status 1 (2 for usage errors), a traceback only with --debug,
never a credential."""

from __future__ import annotations

import uuid

import pytest

from tests.cli.conftest import Invoke, run_ours
from tests.real_server import free_port

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _with_credentials(url: str) -> str:
    return url.replace("http://", "http://user:secret@", 1)


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_unknown_run_is_one_line_with_mlflows_code(mlflow_server_url: str) -> None:
    missing = uuid.uuid4().hex
    result = run_ours(["runs", "describe", "--run-id", missing], mlflow_server_url)
    assert result.returncode == 1
    assert result.stdout == ""
    line = _one_error_line(result.stderr)
    assert "RESOURCE_DOES_NOT_EXIST" in line and missing in line


def test_debug_shows_the_traceback(mlflow_server_url: str) -> None:
    result = run_ours(["--debug", "runs", "describe", "--run-id", uuid.uuid4().hex], mlflow_server_url)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "ResourceNotFound" in result.stderr.splitlines()[-1]


def test_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there any more
    result = run_ours(["experiments", "search"], url)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert f"{url}/api/2.0/mlflow/experiments/search" in line


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["one-line", "debug"])
def test_a_password_in_the_tracking_uri_never_shows(debug: list[str], mlflow_server_url: str) -> None:
    closed = _with_credentials(f"http://127.0.0.1:{free_port()}")
    for url, args in (
        (closed, ["experiments", "search"]),
        (_with_credentials(mlflow_server_url), ["runs", "describe", "--run-id", "nope"]),
        (_with_credentials(mlflow_server_url), ["artifacts", "download", "-u", "runs:/nope/x"]),
    ):
        result = run_ours([*debug, *args], url)
        assert result.returncode == 1, result.stderr
        assert "secret" not in result.stdout + result.stderr
        if debug:
            assert result.stderr.startswith("Traceback (most recent call last):")
        else:
            _one_error_line(result.stderr)


def test_bad_flag_is_clicks_usage_error(stub_url: str) -> None:
    result = run_ours(["runs", "describe", "--run-id", "x", "--no-such-flag"], stub_url)
    assert result.returncode == 2
    assert "No such option" in result.stderr and "--no-such-flag" in result.stderr
    assert "Traceback" not in result.stderr


def test_in_process_errors_exit_1_in_one_line(invoke: Invoke) -> None:
    result = invoke("experiments", "delete", "-x", "987654321")
    assert result.exit_code == 1
    assert "RESOURCE_DOES_NOT_EXIST" in _one_error_line(result.stderr)


def test_a_bad_setting_is_one_line_naming_the_variable(stub_url: str) -> None:
    from click.testing import CliRunner
    from mlflow_client.cli import cli

    env = {"MLFLOW_TRACKING_URI": stub_url, "MLFLOW_HTTP_REQUEST_TIMEOUT": "soon"}
    result = CliRunner().invoke(cli, ["experiments", "search"], env=env)
    assert result.exit_code == 1
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" in _one_error_line(result.stderr)
