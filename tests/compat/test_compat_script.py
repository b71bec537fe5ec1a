"""scripts/compat.py's judgement of the conformance matrix: what fails `make compat` and what only shows."""

from __future__ import annotations

from pathlib import Path

from scripts.compat import ROW, Column, regressions, update_baseline


def _column(key: str, **outcomes: str) -> Column:
    return Column(key, key, outcomes={k.replace("__", "::"): v for k, v in outcomes.items()})


def test_a_behaviour_that_passed_and_now_fails_is_a_regression(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    update_baseline([_column("srv", runs__a="pass", runs__b="fail", runs__c="not supported")], path)
    now = _column("srv", runs__a="fail", runs__b="fail", runs__c="not supported")
    assert regressions([now], path) == ["srv: runs::a passed before, now fail"]


def test_known_failures_new_behaviours_and_new_servers_are_not_regressions(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    update_baseline([_column("srv", runs__a="pass", runs__b="fail")], path)
    now = [_column("srv", runs__a="pass", runs__b="fail", runs__new="fail"), _column("other", runs__a="fail")]
    assert regressions(now, path) == []


def test_a_passing_behaviour_that_vanished_or_became_unsupported_is_a_regression(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    update_baseline([_column("srv", runs__a="pass", runs__b="pass")], path)
    assert regressions([_column("srv", runs__b="not supported")], path) == [
        "srv: runs::a passed before, now missing",
        "srv: runs::b passed before, now not supported",
    ]


def test_a_server_that_no_longer_starts_is_a_regression(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    update_baseline([_column("srv", runs__a="pass")], path)
    broken = Column("srv", "srv", not_run="mlflow exited with 1")
    assert regressions([broken], path) == ["srv: could not be tested (mlflow exited with 1)"]


def test_report_rows_are_parsed_with_their_reason() -> None:
    match = ROW.match("| runs | get run returns it | fail | AssertionError: 404 \\| html |")
    assert match is not None
    assert match.groups() == ("runs", "get run returns it", "fail", "AssertionError: 404 \\| html")
