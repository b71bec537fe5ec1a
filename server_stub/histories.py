"""Whole metric histories kept in their wire form, so that answering one costs a copy rather than a row per point.

Each metric's points are stored with the JSON getMetricHistory sends for them (the ``wire`` column). On top of
that, the SQL store keeps each history it has seen as one comma-separated run of those objects, in answer order:
points logged after the last one (the usual way to log) are appended as they are logged, and anything else drops
the history, to be rebuilt from the database by its next reader.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

# The order histories are answered in: timestamp, step, stored value (NaN as 0), then NaN after the number.
SortKey = tuple[int, int, float, int]

HISTORY_BUDGET_BYTES = 256 << 20


@dataclass(slots=True)
class _History:
    body: bytearray
    count: int
    last: SortKey | None


class WireHistories:
    """Histories by (run ID, metric key), at most ``budget`` bytes of them, least recently used dropped first."""

    def __init__(self, budget: int = HISTORY_BUDGET_BYTES) -> None:
        self.budget = budget
        self._entries: OrderedDict[tuple[str, str], _History] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, run_id: str, key: str) -> tuple[bytes, int] | None:
        """The history's points and how many there are, if it is kept."""
        entry = self._entries.get((run_id, key))
        if entry is None:
            return None
        self._entries.move_to_end((run_id, key))
        return bytes(entry.body), entry.count

    def put(self, run_id: str, key: str, body: bytes, count: int, last: SortKey | None) -> None:
        """Keep a history read from the database; ``last`` is its last point's sort key."""
        self.drop(run_id, key)
        self._entries[(run_id, key)] = _History(bytearray(body), count, last)
        self._bytes += len(body)
        self._evict()

    def extend(self, run_id: str, logged: dict[str, list[tuple[SortKey, str]]], new_keys: set[str]) -> None:
        """Points just stored, by key: appended to a key's history when they all come after its last point.

        A key the run never had before (in ``new_keys``) starts a history here; for other keys only a kept
        history is extended. Called for every batch logged, so it is written for the one-point case.
        """
        entries = self._entries
        added_bytes = 0
        for key, logged_points in logged.items():
            entry = entries.get((run_id, key))
            if entry is None:
                if key not in new_keys:
                    continue
                entry = entries[(run_id, key)] = _History(bytearray(), 0, None)
            # Equal points are one row in the database (its UNIQUE constraint), and so one point here.
            points = sorted(set(logged_points)) if len(logged_points) > 1 else logged_points
            if not points:
                continue
            if entry.last is not None and points[0][0] <= entry.last:
                self.drop(run_id, key)  # out of order, or a duplicate the database ignored: rebuilt when read
                continue
            added = (points[0][1] if len(points) == 1 else ",".join(wire for _, wire in points)).encode()
            if entry.body:
                added = b"," + added
            entry.body += added
            entry.count += len(points)
            entry.last = points[-1][0]
            added_bytes += len(added)
            entries.move_to_end((run_id, key))
        self._bytes += added_bytes
        self._evict()

    def drop(self, run_id: str, key: str) -> None:
        entry = self._entries.pop((run_id, key), None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _evict(self) -> None:
        while self._bytes > self.budget and self._entries:
            _, entry = self._entries.popitem(last=False)
            self._bytes -= len(entry.body)
