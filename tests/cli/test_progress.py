"""Progress bars of transfers: drawn on stderr when it is a terminal, never on a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import mlflow

from tests.cli.conftest import cli_env, run_ours, unique


def _with_stderr_on_a_terminal(args: list[str], tracking_uri: str) -> tuple[int, str, str]:
    """Run ``python -m mlflow_client ARGS`` with stderr on a new pseudo-terminal: (status, stdout, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow_client", *args],
        env=cli_env(tracking_uri),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = bytearray()
    try:
        while True:
            try:
                block = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal, the process has ended
                break
            if not block:
                break
            seen += block
    finally:
        os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(timeout=60), out, seen.decode(errors="replace")


def _run_with_a_file(url: str, tmp_path: Path) -> tuple[str, Path]:
    theirs = mlflow.MlflowClient(tracking_uri=url)
    run_id = theirs.create_run(theirs.create_experiment(unique("progress"))).info.run_id
    data = tmp_path / "weights.bin"
    data.write_bytes(os.urandom(3 * 1024 * 1024))
    return run_id, data


def test_upload_and_download_draw_a_bar_on_a_terminal(mlflow_server_url: str, tmp_path: Path) -> None:
    run_id, data = _run_with_a_file(mlflow_server_url, tmp_path)

    status, _, err = _with_stderr_on_a_terminal(
        ["artifacts", "log-artifact", "-l", str(data), "-r", run_id, "-a", "w"], mlflow_server_url
    )
    assert status == 0, err
    assert "Uploading weights.bin [####################] 100% of 3.0 MiB" in err

    # A single file's download does not know its size beforehand: it counts the bytes instead.
    status, out, err = _with_stderr_on_a_terminal(
        ["artifacts", "download", "-r", run_id, "-a", "w/weights.bin", "-d", str(tmp_path / "one")], mlflow_server_url
    )
    assert status == 0, err
    assert "Downloading w/weights.bin 3.0 MiB" in err and "of 0 B" not in err
    assert Path(out.strip()).read_bytes() == data.read_bytes()

    # A folder: its listing gives the sizes, so the bar has a total.
    status, out, err = _with_stderr_on_a_terminal(
        ["artifacts", "download", "-r", run_id, "-a", "w", "-d", str(tmp_path / "dl")], mlflow_server_url
    )
    assert status == 0, err
    assert "Downloading w [####################] 100% of 3.0 MiB" in err
    assert (Path(out.strip()) / "weights.bin").read_bytes() == data.read_bytes()


def test_no_bar_on_a_pipe(mlflow_server_url: str, tmp_path: Path) -> None:
    run_id, data = _run_with_a_file(mlflow_server_url, tmp_path)

    up = run_ours(["artifacts", "log-artifact", "-l", str(data), "-r", run_id], mlflow_server_url)
    assert up.returncode == 0, up.stderr
    down = run_ours(["artifacts", "download", "-r", run_id, "-d", str(tmp_path / "dl")], mlflow_server_url)
    assert down.returncode == 0, down.stderr
    for stderr in (up.stderr, down.stderr):
        assert "%" not in stderr and "\r" not in stderr and "####" not in stderr
    assert (tmp_path / "dl" / "weights.bin").read_bytes() == data.read_bytes()
