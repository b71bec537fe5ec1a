"""A pytest plugin that writes the Markdown report: RPC group x behaviour x pass / fail / not supported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NOT_SUPPORTED = "not supported:"
GROUPS = {
    "test_experiments": "experiments",
    "test_runs": "runs",
    "test_metrics": "metrics",
    "test_params_tags": "params/tags",
    "test_log_batch": "log-batch",
    "test_search": "search",
    "test_artifacts": "artifacts proxy",
    "test_registry": "registry",
    "test_logged_models": "logged-models",
}


@dataclass
class Row:
    group: str
    behaviour: str
    outcome: str
    reason: str = ""


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().replace("|", "\\|")[:200]
    return ""


def _group(nodeid: str) -> str:
    module = nodeid.split("::", maxsplit=1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return GROUPS.get(module, module)


class ReportPlugin:
    def __init__(self, path: Path | None, server: str) -> None:
        self.path = path
        self.server = server
        self.rows: dict[str, Row] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        behaviour = item.name.removeprefix("test_").replace("_", " ")
        row = self.rows.setdefault(item.nodeid, Row(_group(item.nodeid), behaviour, "pass"))
        if report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            row.outcome = "not supported" if reason.startswith(NOT_SUPPORTED) else "skipped"
            row.reason = _first_line(reason)
        elif report.failed and row.outcome != "fail":
            row.outcome = "fail"  # a failing fixture (e.g. create-run) fails the behaviour too
            row.reason = _first_line(call.excinfo.exconly()) if call.excinfo else _first_line(str(report.longrepr))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.path is None:
            return
        rows = sorted(self.rows.values(), key=lambda r: (r.group, r.behaviour))
        counts = {k: sum(r.outcome == k for r in rows) for k in ("pass", "fail", "not supported", "skipped")}
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        lines = [
            "# MLflow Tracking REST conformance report",
            "",
            f"Server: `{self.server}`  ",
            f"Result: {'PASS' if counts['fail'] == 0 else 'FAIL'} ({summary})",
            "",
            "| RPC group | behaviour | result | reason |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r.group} | {r.behaviour} | {r.outcome} | {r.reason} |" for r in rows]
        self.path.write_text("\n".join(lines) + "\n")
