"""``make compat``: our client against several MLflow releases, then the README's conformance matrix.

Part 1, client interop: the tests that run our client against a real server (marker ``mlflow_server``) run once
per release of ``tests/mlflow_releases.RELEASES`` (``pytest -m mlflow_server --mlflow-release R``); this venv's
own mlflow is ``make test``'s. Left out: the stub's parity tests (they compare the stub with the one release it
imitates) and the conformance suite's self-test (part 2 runs the suite against every server). Any failure fails
``make compat``.

Part 2, conformance matrix: the conformance suite against the stub, each MLflow release, this venv's mlflow,
FastTrackML and mlflow-go-backend, printed as the README's table with the failing behaviours. Known failures
(a third-party server's gaps, an old release's bugs) only show in the table: ``scripts/compat_baseline.json``
holds, per server, each behaviour's outcome when it was last accepted (``--update-baseline``), and
``make compat`` fails when a behaviour that passed there does not pass now. A server or behaviour the
baseline does not know yet is reported, not judged.

Every server runs on a free loopback port with SQLite and local artifacts; venvs, logs and reports are in
.cache/compat.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests import mlflow_releases as rel
from tests.real_server import free_port, real_mlflow_server, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scripts" / "compat_baseline.json"
INTEROP_LEFT_OUT = ("tests/server_stub/test_parity_with_mlflow.py", "tests/conformance/test_suite.py")
ROW = re.compile(r"\| ([^|]+) \| ([^|]+) \| (pass|fail|not supported|skipped) \| ?(.*?) ?\|$")
OUTCOMES = ("pass", "fail", "not supported")
SHOWN_FAILURES = 8  # per server; the rest are in its report


# ---- part 1: client interop per release ------------------------------------------------------------------


@dataclass
class Interop:
    release: str
    version: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0


def run_interop(release: str, extra: list[str]) -> Interop:
    rel.server_venv(rel.release_key(release))  # made before the clock starts: its time is reported apart
    out = Interop(release, rel.pinned_version(rel.release_key(release)))
    xml = rel.CACHE / f"interop-{release}.xml"
    log = rel.CACHE / f"interop-{release}.log"
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "mlflow_server",
        "--mlflow-release",
        release,
        "-p",
        "no:cacheprovider",
    ]
    args += [f"--junitxml={xml}", "-q", *(f"--ignore={p}" for p in INTEROP_LEFT_OUT), *extra]
    print(f"compat: client interop against MLflow {out.version} (log: {log})", flush=True)
    started = time.monotonic()
    with log.open("w") as f:
        out.exit_code = subprocess.run(args, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
    out.seconds = time.monotonic() - started
    if not xml.exists():
        out.failed.append(f"pytest exited with {out.exit_code} before writing results (see {log})")
        return out
    for case in ET.parse(xml).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        problem = case.find("failure")
        problem = problem if problem is not None else case.find("error")
        if problem is not None:
            message = (problem.get("message") or "").strip().splitlines()
            out.failed.append(f"{name}: {message[0][:300] if message else problem.tag}")
        elif case.find("skipped") is not None:
            out.skipped.append(name)
        else:
            out.passed += 1
    if out.exit_code not in (0, 1) and not out.failed:
        out.failed.append(f"pytest exited with {out.exit_code} (see {log})")
    return out


# ---- part 2: the conformance matrix ----------------------------------------------------------------------


@dataclass
class Column:
    key: str  # the baseline's name for the server
    title: str  # the README's column heading
    outcomes: dict[str, str] = field(default_factory=dict)  # "group::behaviour" -> outcome
    reasons: dict[str, str] = field(default_factory=dict)
    not_run: str = ""  # why the server could not be tested at all


def run_suite(key: str, url: str | None) -> tuple[dict[str, str], dict[str, str]]:
    report = rel.CACHE / f"{key}.md"
    report.unlink(missing_ok=True)
    args = [sys.executable, "-m", "conformance_tests", "-q", "--report", str(report)] + (["--url", url] if url else [])
    with (rel.CACHE / f"{key}.conformance.log").open("w") as log:
        subprocess.run(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for line in report.read_text().splitlines():
        match = ROW.match(line)
        if match:
            name = f"{match.group(1).strip()}::{match.group(2).strip()}"
            outcomes[name] = match.group(3)
            reasons[name] = match.group(4).strip()
    return outcomes, reasons


@contextmanager
def server(cmd: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A third-party server started by ``cmd`` in a scratch folder, until its /health answers."""
    work = Path(tempfile.mkdtemp(prefix="compat-"))
    log = (rel.CACHE / f"{Path(cmd[0]).name}.server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} (log: {log.name})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} not ready after 120 s (log: {log.name})")
            time.sleep(0.2)  # polling a readiness probe
        yield url
    finally:
        stop_process_group(proc)  # mlflow-go starts MLflow's own server, which starts gunicorn
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def fasttrackml(port: int) -> tuple[list[str], dict[str, str] | None]:
    fml = rel.server_venv("fasttrackml") / "fml"
    cmd = [str(fml), "server", "-a", f"127.0.0.1:{port}", "-d", "sqlite://fml.db", "--default-artifact-root", "art"]
    return cmd, None


def mlflow_go(port: int) -> tuple[list[str], dict[str, str] | None]:
    """``mlflow-go server``: the Go tracking store in front of MLflow's own server, which it starts itself.

    mlflow-go-backend 0.2.2's Linux wheel ships its Go library as ``libmlflow-go-backend.dylib`` while its loader
    looks for ``.so`` on Linux (and, missing it, tries to build it with a Go toolchain from sources the wheel
    does not have). ``MLFLOW_GO_LIBRARY_PATH``, its own setting, points it at a folder with the ``.so`` name.
    """
    bin_dir = rel.server_venv("mlflow-go")
    package = next((bin_dir.parent / "lib").glob("python3*/site-packages/mlflow_go_backend"))
    libdir = bin_dir.parent / "go-lib"
    libdir.mkdir(exist_ok=True)
    for suffix in (".so", ".h"):
        link = libdir / f"libmlflow-go-backend{suffix}"
        if not link.exists():
            source = "libmlflow-go-backend.dylib" if suffix == ".so" else "libmlflow-go-backend.h"
            link.symlink_to(package / source)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        MLFLOW_GO_LIBRARY_PATH=str(libdir),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}",
        VIRTUAL_ENV=str(bin_dir.parent),
        MLFLOW_TRACKING_URI="",
    )
    cmd = [str(bin_dir / "mlflow-go"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd += ["--backend-store-uri", "sqlite:///mlflow.db", "--artifacts-destination", "art"]
    return cmd, env


def matrix(only: set[str] | None) -> list[Column]:
    current = rel.current_mlflow_version()
    releases = sorted([*(rel.pinned_version(f"mlflow-{r}") for r in rel.RELEASES), current], key=_version_key)
    fml_version = rel.pinned_version("fasttrackml", "fasttrackml")
    go_version = rel.pinned_version("mlflow-go", "mlflow-go-backend")
    go_mlflow = rel.pinned_version("mlflow-go")
    columns = [Column("stub", "stub")]
    columns += [Column(f"mlflow-{v}", f"MLflow {v}") for v in releases]
    columns += [
        Column(f"fasttrackml-{fml_version}", f"FastTrackML {fml_version}"),
        Column(f"mlflow-go-backend-{go_version}", f"mlflow-go-backend {go_version} (MLflow {go_mlflow})"),
    ]
    for col in columns:
        if only is not None and col.key not in only:
            continue
        print(f"compat: conformance suite against {col.title}", flush=True)
        try:
            if col.key == "stub":
                col.outcomes, col.reasons = run_suite(col.key, None)
            elif col.key.startswith("mlflow-go"):
                port = free_port()
                cmd, env = mlflow_go(port)
                with server(cmd, f"http://127.0.0.1:{port}", env) as url:
                    col.outcomes, col.reasons = run_suite(col.key, url)
            elif col.key.startswith("mlflow-"):
                version = col.key.removeprefix("mlflow-")
                bin_dir = None if version == current else rel.server_venv(_release_of(version))
                workdir = Path(tempfile.mkdtemp(prefix="compat-mlflow-"))
                with real_mlflow_server(workdir=workdir, bin_dir=bin_dir) as url:
                    col.outcomes, col.reasons = run_suite(col.key, url)
            else:
                port = free_port()
                cmd, env = fasttrackml(port)
                with server(cmd, f"http://127.0.0.1:{port}", env) as url:
                    col.outcomes, col.reasons = run_suite(col.key, url)
        except (RuntimeError, subprocess.CalledProcessError, OSError, StopIteration) as err:
            col.not_run = str(err).splitlines()[0]
    return columns


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _release_of(version: str) -> str:
    return next(f"mlflow-{r}" for r in rel.RELEASES if rel.pinned_version(f"mlflow-{r}") == version)


def print_matrix(columns: list[Column]) -> None:
    ran = [c for c in columns if c.outcomes]
    groups = list(dict.fromkeys(name.split("::")[0] for c in ran for name in c.outcomes))
    print()
    print("| RPC group | " + " | ".join(c.title for c in columns) + " |")
    print("|---|" + "---|" * len(columns))

    def cell(col: Column, group: str | None) -> str:
        if not col.outcomes:
            return "not run"
        names = [n for n in col.outcomes if group is None or n.split("::")[0] == group]
        return " / ".join(str(sum(col.outcomes[n] == o for n in names)) for o in OUTCOMES)

    for group in groups:
        print(f"| {group} | " + " | ".join(cell(c, group) for c in columns) + " |")
    print("| **total** | " + " | ".join(f"**{cell(c, None)}**" for c in columns) + " |")
    print(f"\n(pass / fail / not supported; reports in {rel.CACHE})")
    for col in columns:
        if col.not_run:
            print(f"- **{col.title}**: not run: {col.not_run}")
            continue
        failing = [n for n, o in col.outcomes.items() if o == "fail"]
        if failing:
            shown = "; ".join(f"{n} ({col.reasons[n][:100]})" for n in failing[:SHOWN_FAILURES])
            more = f"; and {len(failing) - SHOWN_FAILURES} more" if len(failing) > SHOWN_FAILURES else ""
            print(f"- **{col.title}** fails {len(failing)}: {shown}{more} (report: {rel.CACHE / col.key}.md)")


def regressions(columns: list[Column], path: Path = BASELINE) -> list[str]:
    """What passed in the baseline at ``path`` and does not pass now (or a server that could not be tested)."""
    baseline: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    found = []
    for col in columns:
        known = baseline.get(col.key)
        if known is None:
            if col.outcomes or col.not_run:
                print(f"compat: {col.title} is not in {path.name} yet (--update-baseline records it)")
            continue
        if col.not_run and any(o == "pass" for o in known.values()):
            found.append(f"{col.title}: could not be tested ({col.not_run})")
            continue
        found += [
            f"{col.title}: {n} passed before, now {col.outcomes.get(n, 'missing')}"
            for n, o in known.items()
            if o == "pass" and col.outcomes.get(n) != "pass" and not col.not_run
        ]
        new = [n for n in col.outcomes if n not in known]
        if new:
            print(f"compat: {col.title}: {len(new)} behaviour(s) not in the baseline yet: {', '.join(new[:5])}")
    return found


def update_baseline(columns: list[Column], path: Path = BASELINE) -> None:
    baseline: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    for col in columns:
        if col.outcomes:
            baseline[col.key] = dict(sorted(col.outcomes.items()))
        elif col.not_run:
            baseline[col.key] = {}
    path.write_text(json.dumps(dict(sorted(baseline.items())), indent=1) + "\n")
    print(f"compat: wrote {path}")


# ---- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/compat.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--releases", default=",".join(rel.RELEASES), help="client interop against these (comma list)")
    p.add_argument("--no-interop", action="store_true", help="skip part 1")
    p.add_argument("--no-matrix", action="store_true", help="skip part 2")
    p.add_argument("--servers", help="part 2 only against these baseline keys (comma list), e.g. stub,mlflow-3.11.1")
    p.add_argument("--update-baseline", action="store_true", help="accept part 2's outcomes as the new baseline")
    p.add_argument("pytest_args", nargs="*", help="more arguments for part 1's pytest (after --)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    rel.CACHE.mkdir(parents=True, exist_ok=True)
    failed = False
    interop: list[Interop] = []
    if not ns.no_interop:
        interop = [run_interop(r, ns.pytest_args) for r in ns.releases.split(",") if r]
    if not ns.no_matrix:
        columns = matrix(set(ns.servers.split(",")) if ns.servers else None)
        print_matrix(columns)
        if ns.update_baseline:
            update_baseline(columns)
        broken = regressions(columns)
        for line in broken:
            print(f"compat: REGRESSION {line}")
        failed |= bool(broken)
    if interop:
        print("\nClient interop (pytest -m mlflow_server --mlflow-release R):")
        for r in interop:
            print(
                f"- MLflow {r.version}: {r.passed} passed, {len(r.failed)} failed, {len(r.skipped)} skipped "
                f"in {r.seconds:.0f} s"
            )
            for line in r.failed:
                print(f"    FAILED {line}")
            for line in r.skipped:
                print(f"    skipped {line}")
        failed |= any(r.failed or r.exit_code not in (0,) for r in interop)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
