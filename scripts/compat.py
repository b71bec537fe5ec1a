"""``make compat``: run the conformance suite against several servers and print the README's matrix.

Servers: the stub, MLflow 3.x (this venv), MLflow 2.22.2 and FastTrackML 0.6.0 (each in its own venv
under .cache/compat, created on first use). Every server runs on a free loopback port with SQLite and
local artifacts; reports land in .cache/compat/<server>.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.real_server import free_port, mlflow_server_cmd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "compat"
VENVS = {
    "mlflow2": ["mlflow==2.22.2", "sqlalchemy<2.1"],  # 2.22 predates SQLAlchemy 2.1's pool changes
    "fasttrackml": ["fasttrackml==0.6.0"],
}
ROW = re.compile(r"\| ([^|]+) \| ([^|]+) \| (pass|fail|not supported) \|")


def venv(name: str) -> Path:
    path = CACHE / name
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *VENVS[name]], check=True)
    return path / "bin"


@contextmanager
def server(cmd: list[str], url: str) -> Iterator[str]:
    work = Path(tempfile.mkdtemp(prefix="compat-"))
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
            time.sleep(0.2)  # polling a readiness probe
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def mlflow_cmd(bin_dir: Path, port: int) -> list[str]:
    return mlflow_server_cmd([str(bin_dir / "mlflow")], port, "sqlite:///m.db", "art")


def run_suite(name: str, url: str | None) -> dict[str, list[int]]:
    report = CACHE / f"{name}.md"
    args = [sys.executable, "-m", "conformance_tests", "--report", str(report)] + (["--url", url] if url else [])
    subprocess.run(args, cwd=ROOT, capture_output=True, check=False)
    groups: dict[str, list[int]] = {}
    for line in report.read_text().splitlines():
        match = ROW.match(line)
        if match:
            counts = groups.setdefault(match.group(1).strip(), [0, 0, 0])
            counts[("pass", "fail", "not supported").index(match.group(3))] += 1
    return groups


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    results = {"stub": run_suite("stub", None)}
    port = free_port()
    with server(mlflow_cmd(Path(sys.executable).parent, port), f"http://127.0.0.1:{port}") as url:
        results["mlflow3"] = run_suite("mlflow3", url)
    port = free_port()
    with server(mlflow_cmd(venv("mlflow2"), port), f"http://127.0.0.1:{port}") as url:
        results["mlflow2"] = run_suite("mlflow2", url)
    port = free_port()
    fml = [
        str(venv("fasttrackml") / "fml"),
        "server",
        "-a",
        f"127.0.0.1:{port}",
        "-d",
        "sqlite://fml.db",
        "--default-artifact-root",
        "art",
    ]
    with server(fml, f"http://127.0.0.1:{port}") as url:
        results["fasttrackml"] = run_suite("fasttrackml", url)

    names = list(results)
    groups = list(dict.fromkeys(g for r in results.values() for g in r))
    print("| RPC group | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for group in groups:
        cells = [" / ".join(map(str, results[n].get(group, [0, 0, 0]))) for n in names]
        print(f"| {group} | " + " | ".join(cells) + " |")
    totals = [" / ".join(str(sum(c[i] for c in results[n].values())) for i in range(3)) for n in names]
    print("| **total** | " + " | ".join(totals) + " |")
    print(f"(pass / fail / not supported; reports in {CACHE})")


if __name__ == "__main__":
    main()
