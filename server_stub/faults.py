"""Seeded, deterministic fault injection: per-RPC errors, resets, latency, and apply-then-drop.

Rules are checked in order for each request; latency rules add up, and the first error-like rule that
fires decides the request's fate. A rule with ``count`` fires at most that many times, so "the next
three log-metric calls get a 503" is exact rather than probabilistic.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

ERROR_KINDS = ("429", "500", "502", "503", "504", "reset", "drop")
KINDS = (*ERROR_KINDS, "latency")


@dataclass
class FaultRule:
    kind: str
    rpc: str = "*"  # an RPC name such as "logMetric", or "*" for every RPC
    probability: float = 1.0
    count: int | None = None  # how many more times it may fire; None: no limit
    retry_after: str | None = None  # Retry-After header for 429/503 (seconds or an HTTP date)
    latency_ms: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"fault probability must be within [0, 1], got {self.probability}")

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """``kind=503,rpc=logMetric,p=0.5,count=3,retry_after=1,latency_ms=100`` (CLI form)."""
        fields: dict[str, Any] = {}
        for item in text.split(","):
            name, _, value = item.partition("=")
            name = {"p": "probability"}.get(name.strip(), name.strip())
            if name in ("probability",):
                fields[name] = float(value)
            elif name in ("count", "latency_ms"):
                fields[name] = int(value)
            elif name in ("kind", "rpc", "retry_after"):
                fields[name] = value.strip()
            else:
                raise ValueError(f"unknown fault field {name!r} in {text!r}")
        return cls(**fields)


@dataclass
class Decision:
    latency_ms: int = 0
    kind: str | None = None  # one of ERROR_KINDS, or None: serve normally
    retry_after: str | None = None


@dataclass
class Faults:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def configure(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self.rules = rules
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)

    def decide(self, rpc: str) -> Decision:
        decision = Decision()
        with self._lock:
            for rule in self.rules:
                if rule.rpc not in ("*", rpc) or rule.count == 0:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.kind == "latency":
                    decision.latency_ms += rule.latency_ms
                elif decision.kind is None:
                    decision.kind, decision.retry_after = rule.kind, rule.retry_after
                    decision.latency_ms += rule.latency_ms
                else:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
        return decision

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed, "rules": [asdict(r) for r in self.rules]}
