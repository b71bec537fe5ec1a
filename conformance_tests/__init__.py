"""A conformance suite for MLflow Tracking REST servers: raw HTTP checks against ``spec/``.

Run ``python -m conformance_tests --url URL`` (no URL: test the bundled stub server).
"""

from __future__ import annotations

__all__: list[str] = []
