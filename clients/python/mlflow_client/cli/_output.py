"""How listings print: an aligned table for people, a JSON document (``--json``) for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["JSON_OPTION", "echo_json", "table"]

#: ``--json`` of every listing.
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print a JSON document for scripts.")

_GAP = "  "


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, a rule of dashes under the headers; ``None`` shows empty."""
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        _GAP.join(header.ljust(width) for header, width in zip(headers, widths, strict=True)),
        _GAP.join("-" * width for width in widths),
    ]
    lines += [_GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2))
