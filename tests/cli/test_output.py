"""The column aligner of listings."""

from __future__ import annotations

from mlflow_client.cli._output import table


def test_table_pads_columns_to_the_widest_cell() -> None:
    text = table(["Id", "Name"], [("1", "a-long-name"), ("22", None)])
    assert text.splitlines() == ["Id  Name", "--  -----------", "1   a-long-name", "22"]
