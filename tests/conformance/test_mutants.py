"""The suite must be able to fail: every deliberately broken server is caught by the tests meant to catch it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance_tests._mutants import LOGGED_MODEL_MUTANTS, MODEL_MUTANTS, MUTANTS
from conformance_tests._proxy import MutatingProxy, Mutation
from server_stub import StubServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with StubServer(port=0) as stub:
        yield stub.url


def _run(upstream: str, mutation: Mutation, keyword: str | None) -> subprocess.CompletedProcess[str]:
    with MutatingProxy(upstream, mutation) as proxy:
        cmd = [sys.executable, "-m", "conformance_tests", "-q", "--url", proxy.url]
        cmd += ["-k", keyword] if keyword else []
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_there_are_at_least_20_mutants() -> None:
    assert len(MUTANTS) >= 20


def test_the_proxy_alone_changes_nothing(upstream: str) -> None:
    result = _run(upstream, Mutation(), None)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " failed" not in result.stdout


def _uncaught(upstream: str, names: Iterable[str], workers: int) -> dict[str, str]:
    def attempt(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        mutation, keyword = MUTANTS[name]
        return name, _run(upstream, mutation, keyword)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(pool.map(attempt, names))
    return {name: r.stdout[-500:] for name, r in results.items() if r.returncode != 1 or " failed" not in r.stdout}


def test_every_mutant_is_caught(upstream: str) -> None:
    uncaught = _uncaught(upstream, MUTANTS, workers=8)
    assert not uncaught, f"mutants the suite did not catch: {uncaught}"


@pytest.mark.mlflow_server
def test_registry_and_logged_model_mutants_are_caught_in_front_of_real_mlflow(
    mlflow_server_url: str, mlflow_server_version: tuple[int, ...]
) -> None:
    """The same breaks in front of MLflow itself: the checks catch them whatever the good server is. MLflow 2.x
    has no logged models: there their checks are "not supported" (never passes), so only the registry's
    mutants can be caught."""
    names = [n for n in MODEL_MUTANTS if mlflow_server_version >= (3, 0) or n not in LOGGED_MODEL_MUTANTS]
    uncaught = _uncaught(mlflow_server_url, names, workers=2)
    assert not uncaught, f"mutants the suite did not catch: {uncaught}"
    if mlflow_server_version < (3, 0):
        unsupported = _run(mlflow_server_url, Mutation(), "logged_model")
        assert unsupported.returncode == 0 and " passed" not in unsupported.stdout, unsupported.stdout[-1000:]
