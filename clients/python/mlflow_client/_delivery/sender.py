"""The background sender of one server: reads the journals, batches per run, sends, settles.

One thread decides everything (what to read, what to send, what an outcome means); a few daemon
worker threads only carry requests to the server and back. Per run, one request is in flight at a
time, so a run's operations reach the server in the order they were logged; across runs at most
``MLFLOW_ASYNC_LOGGING_THREADPOOL_SIZE`` are.

What an outcome means (``_transport.failure_kind``):

- delivered: its items are settled; the journal's "a" mark moves past every settled record;
- refused (unreachable, 429, 503 + Retry-After) or ambiguous (lost answer, 5xx): the batch stays, and
  the whole server backs off (Retry-After, else 0.5 s doubling up to 30 s) and is probed with one
  request until it answers. An ambiguous batch is sent again only after checking which of its
  metrics the server already holds, so nothing lands twice on servers that keep duplicates;
- auth (401/403): as refused, and waiters are told: nothing goes through until credentials change;
- rejected (a 4xx with MLflow's error code): if the run is gone, the batch goes to the dead-letter
  file; else it is split in halves until the one bad item is found and dead-lettered.

Nothing is ever dropped without being written to the dead-letter file, and memory stays flat: at
most ``WINDOW`` items are read from disk ahead of what the server has confirmed.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec

from .._generated import endpoints as ep
from .._generated import models as m
from .._transport import AMBIGUOUS, AUTH, REJECTED, failure_kind
from ..exceptions import MlflowException, ResourceNotFound
from .batching import Batch, history_key, log_batch_request, split, take_batch
from .journal import JournalReader
from .records import Item, items_of
from .spool import claim_dead_journals

if TYPE_CHECKING:
    from .delivery import Delivery

__all__ = ["WINDOW", "Sender"]

logger = logging.getLogger("mlflow_client")

#: Most items read from the journals and not yet settled: the sender's memory bound.
WINDOW = 10_000
#: How often the spool is checked for journals of processes that died.
RESCAN_SECONDS = 10.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
_EXIT_BACKOFF_MAX = 1.0
_READ_CHUNK = 5000


class Ledger:
    """Which records of one journal still have unsettled items, to move its "a" mark."""

    __slots__ = ("counts", "order", "reader")

    def __init__(self, reader: JournalReader) -> None:
        self.reader = reader
        self.counts: dict[int, int] = {}
        self.order: deque[int] = deque()

    def add(self, seq: int, n_items: int) -> None:
        self.order.append(seq)
        if n_items:
            self.counts[seq] = n_items

    def settle(self, seq: int) -> None:
        left = self.counts[seq] - 1
        if left:
            self.counts[seq] = left
        else:
            del self.counts[seq]

    def advance(self) -> int | None:
        """The new "a" mark if it moved."""
        moved = None
        while self.order and self.order[0] not in self.counts:
            moved = self.order.popleft()
        if moved is not None:
            self.reader.mark_settled(moved)
        return moved


class RunState:
    __slots__ = ("busy", "first_at", "queue", "retry")

    def __init__(self) -> None:
        self.queue: deque[Item] = deque()
        self.retry: deque[Batch] = deque()
        self.busy = False
        self.first_at: float | None = None


class Sender:
    """The thread that delivers one ``Delivery``'s journals (its own and those of dead processes)."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        settings = delivery.settings
        self.buffering = settings.async_buffering_seconds
        self.max_in_flight = settings.async_max_in_flight
        self.fsync_every = settings.spool_fsync_seconds
        self.ledgers: list[Ledger] = []  # replayed journals first, this process's own last
        self.live: Ledger | None = None
        self.runs: dict[str, RunState] = {}
        self.buffered = 0
        self.in_flight = 0
        self.failures_in_row = 0
        self.backoff_until = 0.0
        self.next_rescan = 0.0
        self.next_sync = 0.0
        self.exiting = False
        self.stopping = False
        self.last_error: str | None = None  # the last failure's message, for `spool flush`
        self.wants_wakeup = False
        self._event = threading.Event()
        self._done: deque[tuple[Batch, str, MlflowException | None]] = deque()
        self._work: queue.SimpleQueue[Batch] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._new_live: JournalReader | None = None
        self._thread = threading.Thread(target=self._run, name="mlflow-client-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self.wants_wakeup = False
        self._event.set()

    def stop(self, timeout: float) -> bool:
        """Stop deciding (requests in flight are abandoned: their records stay in the journal)."""
        self.stopping = True
        self._event.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping:
            try:
                self._step()
            except Exception:  # never let the sender die: log, back off, go on
                logger.exception("mlflow_client: the background sender hit an unexpected error; retrying")
                self._back_off(None)
            timeout = self._next_wakeup()
            self.wants_wakeup = not self.runs and not self._done
            if self.wants_wakeup and self.live is not None and self.live.reader.has_more():
                self.wants_wakeup = False
                continue
            if timeout > 0:
                self._event.wait(timeout)
            self.wants_wakeup = False
            self._event.clear()

    def _step(self) -> None:
        now = time.monotonic()
        while self._done:
            self._handle(*self._done.popleft())
        delivery = self.delivery
        if now >= self.next_rescan or delivery.rescan_requested > delivery.rescanned:
            requested = delivery.rescan_requested
            self._rescan()
            self.next_rescan = now + RESCAN_SECONDS
            delivery.publish(rescanned=requested)
        self._fill(now)
        self._dispatch(now)
        writer = delivery.writer
        if writer is not None and writer.dirty and (now >= self.next_sync or delivery.flush_waiters):
            writer.sync()
            self.next_sync = now + self.fsync_every
        self._advance_marks()

    def _next_wakeup(self) -> float:
        now = time.monotonic()
        waits = [self.next_rescan - now]
        writer = self.delivery.writer
        if writer is not None and writer.dirty:
            waits.append(self.next_sync - now)
        if self.backoff_until > now:
            waits.append(self.backoff_until - now)
        elif self.in_flight < self._limit():
            for state in self.runs.values():
                if not state.busy and state.first_at is not None:
                    waits.append(state.first_at + self.buffering - now)
                elif not state.busy and state.retry:
                    waits.append(0.0)
        return max(0.0, min(waits))

    # -- reading ----------------------------------------------------------------------------------

    def attach_live(self, reader: JournalReader) -> None:
        """Called by the delivery once this process writes its own journal (the sender thread reads it)."""
        self._new_live = reader
        self.wake()

    def _rescan(self) -> None:
        delivery = self.delivery
        known = {ledger.reader.folder for ledger in self.ledgers}
        if delivery.writer is not None:
            known.add(delivery.writer.folder)
        claimed = claim_dead_journals(delivery.server_dir, known)
        for folder, lock_fd in claimed:
            reader = JournalReader(folder, lock_fd=lock_fd)
            ledger = Ledger(reader)
            position = len(self.ledgers) - (1 if self.live is not None else 0)
            self.ledgers.insert(position, ledger)
            logger.info(
                "mlflow_client: replaying the spooled operations of a process that ended (%s) to %s",
                os.path.basename(folder),
                delivery.url,
            )
        delivery.publish(replays=sum(1 for ledger in self.ledgers if ledger is not self.live))

    def _fill(self, now: float) -> None:
        if self.live is None and self._new_live is not None:
            self.live = Ledger(self._new_live)
            self.ledgers.append(self.live)
        for ledger in self.ledgers:
            if self.buffered >= WINDOW:
                return
            reader = ledger.reader
            while self.buffered < WINDOW:
                records = reader.read(min(_READ_CHUNK, WINDOW - self.buffered))
                if not records:
                    break
                for record in records:
                    self._add(ledger, record, now)
            if ledger is not self.live and not reader.exhausted:
                return  # a replayed journal goes first, whole, so each run keeps its order

    def _add(self, ledger: Ledger, record: list[Any], now: float) -> None:
        seq = record[0]
        try:
            items = items_of(ledger, record, ledger.reader.maybe_sent(seq))
        except (ValueError, IndexError, TypeError, KeyError):  # e.g. written by a newer mlflow-client
            self.delivery.write_unreadable(record, ledger.reader.folder)
            ledger.reader.corrupt_lines += 1
            items = []
        ledger.add(seq, len(items))
        for item in items:
            state = self.runs.get(item.run_id)
            if state is None:
                state = self.runs[item.run_id] = RunState()
            if state.first_at is None:
                state.first_at = now
            state.queue.append(item)
        self.buffered += len(items)

    # -- sending ------------------------------------------------------------------------------------

    def _limit(self) -> int:
        return 1 if self.failures_in_row else self.max_in_flight

    def _ready(self, state: RunState, now: float) -> bool:
        if self.buffering <= 0 or self.exiting or self.delivery.flush_waiters:
            return True
        head = state.queue[0]
        if head.source is not self.live or len(state.queue) >= 1000:
            return True
        return state.first_at is not None and now - state.first_at >= self.buffering

    def _dispatch(self, now: float) -> None:
        if now < self.backoff_until:
            return
        for run_id in list(self.runs):
            if self.in_flight >= self._limit():
                return
            state = self.runs[run_id]
            if state.busy:
                continue
            if state.retry:
                batch = state.retry.popleft()
            elif state.queue:
                if not self._ready(state, now):
                    continue
                taken = take_batch(state.queue)
                assert taken is not None
                batch = taken
                state.first_at = now if state.queue else None
            else:
                del self.runs[run_id]
                continue
            state.busy = True
            self.in_flight += 1
            last: dict[int, tuple[Ledger, int]] = {}
            for item in batch.items:
                entry = last.get(id(item.source))
                if entry is None or item.seq > entry[1]:
                    last[id(item.source)] = (item.source, item.seq)
            for ledger, seq in last.values():
                ledger.reader.mark_sent(seq)
            if len(self._workers) < self.in_flight:
                self._spawn_worker()
            self._work.put(batch)

    def _spawn_worker(self) -> None:
        worker = threading.Thread(target=self._work_loop, name="mlflow-client-sender-io", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work_loop(self) -> None:
        while True:
            batch = self._work.get()
            try:
                self._send(batch)
                outcome: tuple[Batch, str, MlflowException | None] = (batch, "ok", None)
            except MlflowException as err:
                outcome = (batch, _outcome_of(self, batch, err), err)
            except Exception as err:  # a bug or an unexpected library error: keep the data, retry
                logger.exception("mlflow_client: unexpected error while sending to %s", self.delivery.url)
                outcome = (batch, "refused", MlflowException(f"unexpected error: {err!r}"))
            self._done.append(outcome)
            self._event.set()

    def _send(self, batch: Batch) -> None:
        transport = self.delivery.transport
        run_id = batch.run_id
        if batch.kind == "b":
            items = batch.items
            if batch.ambiguous:
                items = self._not_yet_logged(batch)
            if items:
                ep.log_batch(transport, msgspec.convert(log_batch_request(run_id, items), m.LogBatch))
        elif batch.kind == "u":
            status, end_time = batch.items[0].fields
            ep.update_run(transport, m.UpdateRun(run_id=run_id, status=status, end_time=end_time))
        else:
            datasets, models = batch.items[0].fields
            inputs = m.LogInputs(
                run_id=run_id,
                datasets=msgspec.convert(datasets, list[m.DatasetInput]),
                models=[m.ModelInput(model_id=x) for x in models],
            )
            ep.log_inputs(transport, inputs)

    def _not_yet_logged(self, batch: Batch) -> list[Item]:
        """The batch's items minus the metrics the server already holds (an earlier attempt landed).

        Params and tags need no check: sending the same value again changes nothing on any backend.
        """
        from .._rest_store import RestStore

        store = RestStore(self.delivery.transport)
        keys = {item.fields[0] for item in batch.items if item.kind == "m"}
        held: dict[str, set[tuple[int, int, float | str]]] = {}
        for key in keys:
            held[key] = {
                history_key(x.timestamp, x.step, x.value) for x in store.iter_metric_history(batch.run_id, key)
            }
        out = []
        for item in batch.items:
            f = item.fields
            if item.kind == "m" and history_key(f[2], f[3], f[1]) in held[f[0]]:
                continue
            out.append(item)
        return out

    # -- outcomes ---------------------------------------------------------------------------------

    def _handle(self, batch: Batch, outcome: str, err: MlflowException | None) -> None:
        state = self.runs.get(batch.run_id)
        if state is None:
            state = self.runs[batch.run_id] = RunState()
        state.busy = False
        self.in_flight -= 1
        if outcome == "ok":
            self._settle(batch.items, None)
            if self.failures_in_row:
                logger.warning("mlflow_client: %s answers again; sending what was spooled", self.delivery.url)
            self.failures_in_row = 0
            self.delivery.publish(blocked=None)
            return
        assert err is not None
        if outcome == "gone" or (outcome == REJECTED and len(batch) == 1):
            self._dead_letter(batch.items, err)
            self.failures_in_row = 0
            return
        if outcome == REJECTED:
            first, second = split(batch)
            state.retry.appendleft(second)
            state.retry.appendleft(first)
            return
        if outcome == AMBIGUOUS:
            batch.ambiguous = True
        state.retry.appendleft(batch)
        if outcome == AUTH:
            self.delivery.publish(blocked=err)
        self._back_off(err)

    def _back_off(self, err: MlflowException | None) -> None:
        self.failures_in_row += 1
        self.last_error = err.message if err is not None else "unexpected error"
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            delay = float(retry_after)
        else:
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.failures_in_row - 1))
            delay += random.uniform(0, delay / 4)
        if self.exiting or self.delivery.flush_waiters:
            delay = min(delay, _EXIT_BACKOFF_MAX)
        self.backoff_until = time.monotonic() + delay
        if self.failures_in_row == 1:
            logger.warning(
                "mlflow_client: cannot deliver to %s (%s); the data stays in the spool and is retried "
                "for as long as this process runs",
                self.delivery.url,
                err,
            )
        else:
            logger.debug("mlflow_client: attempt %d to %s failed: %s", self.failures_in_row, self.delivery.url, err)

    def kick(self) -> None:
        """Retry now rather than at the end of the backoff (a flush is waiting)."""
        self.backoff_until = 0.0
        self.wake()

    def _settle(self, items: list[Item], err: MlflowException | None) -> None:
        for item in items:
            item.source.settle(item.seq)
        self.buffered -= len(items)
        if err is not None:
            self.delivery.record_failures(items, err, self.live)

    def _dead_letter(self, items: list[Item], err: MlflowException) -> None:
        self.delivery.write_dead_letters(items, err)
        self._settle(items, err)

    def _advance_marks(self) -> None:
        for ledger in list(self.ledgers):
            moved = ledger.advance()
            if ledger is self.live:
                if moved is not None:
                    self.delivery.publish(settled=moved)
            elif ledger.reader.finished() and not ledger.counts:
                ledger.reader.remove()
                self.ledgers.remove(ledger)
                self.delivery.publish(replays=sum(1 for x in self.ledgers if x is not self.live))

    def pending(self) -> int:
        """Items read and not yet settled (what the sender holds in memory)."""
        return self.buffered


def _outcome_of(sender: Sender, batch: Batch, err: MlflowException) -> str:
    """Classify a failure; for a refused batch, ask whether its run still takes writes (worker thread)."""
    kind = failure_kind(err)
    if kind != REJECTED:
        return kind
    try:
        run = ep.get_run(sender.delivery.transport, m.GetRun(run_id=batch.run_id)).run
    except ResourceNotFound:
        return "gone"
    except MlflowException as probe_err:
        probe = failure_kind(probe_err)
        return REJECTED if probe == REJECTED else probe
    info = run.info if run is not None else None
    if info is None or info.lifecycle_stage == "deleted":
        return "gone"
    return REJECTED
