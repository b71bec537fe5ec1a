"""Checks MLflow applies to names and values, shared by the client (before the wire) and the stub server.

Each check returns an error message, or ``None`` when the value is fine; callers raise their own
exception type with it.
"""

from __future__ import annotations

import json
import posixpath
import re

# Metric, param and tag keys: alphanumerics, underscore, dash, period, space, slash and colon.
_KEY_CHARS = re.compile(r"^[/\w.\- :]*$")


def _quoted(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def key_problem(key: str | None, field: str = "key") -> str | None:
    """Why ``key`` is not a valid metric/param/tag key, or ``None``."""
    if key is None or key == "":
        return f"Missing value for required parameter '{field}'."
    if not _KEY_CHARS.match(key):
        return (
            f"Invalid value {_quoted(key)} for parameter '{field}' supplied: Names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )
    # Keys can become file names, so they must not normalise to a different path.
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith("..") or norm.startswith("/"):
        return (
            f"Invalid value {_quoted(key)} for parameter '{field}' supplied: Names may be treated as files in "
            f"certain cases, and must not resolve to other names when treated as such. This name would "
            f"resolve to {norm!r}"
        )
    return None
