"""The suite must be able to fail: every deliberately broken server is caught by the tests meant to catch it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance_tests._mutants import MUTANTS
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


def test_every_mutant_is_caught(upstream: str) -> None:
    def attempt(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        mutation, keyword = MUTANTS[name]
        return name, _run(upstream, mutation, keyword)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(pool.map(attempt, MUTANTS))
    uncaught = {name: r.stdout[-500:] for name, r in results.items() if r.returncode != 1 or " failed" not in r.stdout}
    assert not uncaught, f"mutants the suite did not catch: {uncaught}"
