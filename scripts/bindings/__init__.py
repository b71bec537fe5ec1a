"""Build and run the generated Java and R bindings (``make bindings`` / ``make test-bindings``)."""

from __future__ import annotations

import json
from typing import Any


def last_json_line(stdout: str) -> dict[str, Any]:
    """The JSON object a workflow prints on its last non-empty line; ``ValueError`` when there is none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the program printed nothing")
    value = json.loads(lines[-1])
    if not isinstance(value, dict):
        raise ValueError(f"the last line is not a JSON object: {lines[-1][:200]}")
    return value
