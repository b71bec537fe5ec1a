"""Every group and command of ``mlflow-client`` has ``--help`` with an Examples block."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from mlflow_client.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "mlflow-client")
def test_help_shows_examples(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.stdout
    assert f"mlflow-client {' '.join(path)}".rstrip() in result.stdout.split("Examples:", 1)[1]


def test_the_groups_of_mlflows_cli_are_mounted() -> None:
    mounted = set(_commands(cli))
    assert {
        ("experiments", "create"),
        ("experiments", "csv"),
        ("runs", "describe"),
        ("artifacts", "log-artifacts"),
    } <= mounted
    assert {("sync",), ("spool", "status"), ("spool", "flush")} <= mounted
