"""``mlflow-client ui`` as a person runs it: a real process, its URL printed, pages served, Ctrl-C stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from mlflow_client import MlflowClient

ROOT = Path(__file__).resolve().parents[2]


def test_mlflow_client_ui_prints_its_url_serves_the_store_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        c.create_experiment("from-the-cli")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "clients/python")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow_client", "ui", "--backend-store-uri", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens and says where
        match = re.fullmatch(r"mlflow-client UI at (http://127\.0\.0\.1:\d+) \(Ctrl-C to stop\)\n", line)
        assert match, line
        with urllib.request.urlopen(match[1] + "/", timeout=10) as answer:
            assert "from-the-cli" in answer.read().decode()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in out
