"""The reference stub server: the spec served with MLflow's semantics, in-process or from the CLI.

``StubServer(port=0)`` starts it in a thread for tests; ``python -m server_stub`` runs it standalone.
"""

from .faults import FaultRule
from .server import StubServer

__all__ = ["FaultRule", "StubServer"]
