"""``Delivery``: asynchronous logging to one server from this process: the journal, the sender, waiters.

``submit`` is what an asynchronous call costs: one append to this process's journal (created on first
use) and, when the sender sleeps, a wake-up. Everything else happens on the sender's thread. Waiters
(``wait_for``, ``flush``) block on a condition the sender signals as it settles records.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

from ..exceptions import AsyncLoggingError, DeliveryTimeout, MlflowException, SpoolFull
from .journal import JournalReader, JournalWriter, iter_pending
from .sender import Sender
from .spool import DEAD_LETTER, dead_letter_line, public_url, server_folder

if TYPE_CHECKING:
    from .._settings import Settings
    from .._transport import HttpTransport
    from .records import Item
    from .sender import Ledger

__all__ = ["Delivery"]

logger = logging.getLogger("mlflow_client")

#: Failures kept in memory for ``wait``/``flush`` to raise; beyond this only the count grows (every one
#: of them is in the dead-letter file either way).
_MAX_KEPT_FAILURES = 1000
_UNSET: object = object()


class Delivery:
    """Asynchronous logging from this process to the server at ``uri`` (credentials in it stay in memory)."""

    def __init__(self, uri: str, settings: Settings) -> None:
        from .._transport import HttpTransport, RetryPolicy

        self._uri = uri
        self.url = public_url(uri)
        self.settings = settings
        self.pid = os.getpid()
        self.server_dir = server_folder(settings.spool_folder, uri)
        self.dead_letter_path = os.path.join(self.server_dir, DEAD_LETTER)
        # The sender retries on its own, for as long as it takes: the transport makes one attempt.
        policy = RetryPolicy.from_settings(settings).with_changes(max_retries=0)
        self.transport: HttpTransport = HttpTransport(uri, settings, retry_policy=policy)
        self.writer: JournalWriter | None = None
        self._writer_lock = threading.Lock()
        self._fsync_each = settings.spool_fsync_seconds == 0
        self._cond = threading.Condition()
        self.settled = 0  # this process's journal: every record up to here is settled
        self.replays = 0  # journals of dead processes still being replayed
        self.rescan_requested = 0
        self.rescanned = 0
        self.blocked: MlflowException | None = None
        self.flush_waiters = 0
        self.closed = False
        self._failures: dict[int, list[MlflowException]] = {}
        self._unreported: list[tuple[str, MlflowException]] = []  # (run id, error), for flush/end of run
        self._unreported_extra = 0
        self.sender = Sender(self)
        self.sender.start()

    def __repr__(self) -> str:
        return f"Delivery({self.url!r}, spool={self.server_dir!r})"

    # -- the caller's side --------------------------------------------------------------------------

    def submit(self, body: bytes) -> int:
        """Append one record (``records.encode_*``); its sequence number. Never waits on the network."""
        writer = self.writer or self._start_writer()
        seq = writer.append(body)
        if self._fsync_each:
            writer.sync()
        if self.sender.wants_wakeup:
            self.sender.wake()
        return seq

    def _start_writer(self) -> JournalWriter:
        with self._writer_lock:
            if self.writer is None:
                if self.closed:
                    raise MlflowException("asynchronous logging has shut down (interpreter exit)")
                name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
                try:
                    writer = JournalWriter(os.path.join(self.server_dir, name), self.settings.spool_max_mb * 2**20)
                except OSError as err:
                    raise SpoolFull(f"cannot start a journal in the spool at {self.server_dir}: {err}") from err
                self.sender.attach_live(JournalReader(writer.folder, writer=writer))
                self.writer = writer
            return self.writer

    def _check_process(self) -> None:
        if os.getpid() != self.pid:
            raise MlflowException(
                "this asynchronous operation belongs to the parent process; a forked child cannot wait for it",
                error_code="INVALID_STATE",
            )

    def wait_for(self, seq: int, timeout: float | None = None) -> None:
        """Block until record ``seq`` of this process's journal is settled; raise if it failed for good."""
        self._check_process()
        self._wait(lambda: self.settled >= seq, timeout, kick=False)
        failures = self._failures.pop(seq, None)
        if failures:
            with self._cond:
                self._unreported = [(r, e) for r, e in self._unreported if all(e is not f for f in failures)]
            raise _async_error(failures, self.dead_letter_path)

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything this process logged so far, and every journal of a dead process found
        now, is settled; then raise the failures not yet raised."""
        self._check_process()
        target = self.writer.last_seq if self.writer is not None else 0
        with self._cond:
            self.rescan_requested += 1
            generation = self.rescan_requested
        self._wait(
            lambda: self.settled >= target and self.rescanned >= generation and self.replays == 0, timeout, kick=True
        )
        if self.writer is not None:
            self.writer.sync()
        with self._cond:
            reported, self._unreported = self._unreported, []
            extra, self._unreported_extra = self._unreported_extra, 0
            self._failures.clear()
        if reported:
            raise _async_error([e for _, e in reported], self.dead_letter_path, extra)

    def end_of_run(self, run_id: str, seq: int, timeout: float) -> bool:
        """After the run's termination record ``seq``: wait for it (at most ``timeout`` s), then raise the
        run's failures not yet raised. ``False`` if the wait ran out (the data stays spooled)."""
        if self.writer is not None:
            self.writer.sync()
        try:
            self.wait_for(seq, timeout)
        except AsyncLoggingError as err:  # the termination itself was refused: raise what a direct call would
            raise err.failures[0] from err
        except DeliveryTimeout:
            logger.warning(
                "mlflow_client: run %s's end and earlier asynchronous data are still on their way to %s after %g s; "
                "they stay in the spool (%s) and are sent in the background, or by: python -m mlflow_client spool "
                "flush",
                run_id,
                self.url,
                timeout,
                self.server_dir,
            )
            return False
        with self._cond:
            mine = [e for r, e in self._unreported if r == run_id]
            self._unreported = [(r, e) for r, e in self._unreported if r != run_id]
        if mine:
            raise _async_error(mine, self.dead_letter_path)
        return True

    def _wait(self, done: object, timeout: float | None, *, kick: bool) -> None:
        assert callable(done)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self.flush_waiters += 1
        try:
            if kick:
                self.sender.kick()
            else:
                self.sender.wake()
            with self._cond:
                while not done():
                    if self.blocked is not None:
                        raise self.blocked
                    if self.sender.stopping:
                        raise DeliveryTimeout(
                            f"asynchronous logging to {self.url} has shut down; what is pending stays in the spool "
                            f"({self.server_dir}) for the next client or `python -m mlflow_client spool flush`"
                        )
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise DeliveryTimeout(
                            f"asynchronous data for {self.url} is still being delivered after {timeout:g} s; it stays "
                            f"in the spool ({self.server_dir}) and is sent in the background"
                        )
                    self._cond.wait(1.0 if remaining is None else min(remaining, 1.0))
        finally:
            with self._cond:
                self.flush_waiters -= 1

    # -- the sender's side ----------------------------------------------------------------------------

    def publish(
        self,
        *,
        settled: int | None = None,
        replays: int | None = None,
        rescanned: int | None = None,
        blocked: object = _UNSET,
    ) -> None:
        with self._cond:
            if settled is not None:
                self.settled = max(self.settled, settled)
            if replays is not None:
                self.replays = replays
            if rescanned is not None:
                self.rescanned = max(self.rescanned, rescanned)
            if blocked is not _UNSET:
                assert blocked is None or isinstance(blocked, MlflowException)
                self.blocked = blocked
            self._cond.notify_all()

    def record_failures(self, items: list[Item], err: MlflowException, live: Ledger | None) -> None:
        with self._cond:
            for item in items:
                if item.source is live and (item.seq in self._failures or len(self._failures) < _MAX_KEPT_FAILURES):
                    self._failures.setdefault(item.seq, []).append(err)
            if len(self._unreported) < _MAX_KEPT_FAILURES:
                self._unreported.append((items[0].run_id, err))
            else:
                self._unreported_extra += 1

    def _append_dead_letters(self, data: bytes) -> None:
        fd = os.open(self.dead_letter_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def write_unreadable(self, record: list[object], journal: str) -> None:
        """A record this version cannot read (a newer mlflow-client's?): kept whole in the dead-letter file."""
        error = MlflowException(f"unreadable record in {journal}", error_code="INVALID_STATE")
        self._append_dead_letters(dead_letter_line(self.url, {"op": "unreadable", "record": record}, error))
        logger.error("mlflow_client: an unreadable record of %s was moved to %s", journal, self.dead_letter_path)

    def write_dead_letters(self, items: list[Item], err: MlflowException) -> None:
        """Keep refused items in the dead-letter file, then say so once for the batch."""
        self._append_dead_letters(b"".join(dead_letter_line(self.url, item.describe(), err) for item in items))
        first = items[0]
        what = f"{first.describe()['op']} {first.key!r}" if first.kind in ("m", "p", "t") else first.describe()["op"]
        more = f" and {len(items) - 1} more" if len(items) > 1 else ""
        logger.warning(
            "mlflow_client: %s refused %s%s of run %s: %s; kept in %s",
            self.url,
            what,
            more,
            first.run_id,
            err.message,
            self.dead_letter_path,
        )

    # -- shutting down --------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Give pending data up to ``timeout`` s, stop the sender, and leave what is left in the spool
        with one line saying so. A journal with nothing left is deleted."""
        if self.closed or os.getpid() != self.pid:
            return
        self.sender.exiting = True
        with contextlib.suppress(MlflowException):
            self.flush(timeout)
        with self._writer_lock:
            self.closed = True
        if not self.sender.stop(2.0):
            return  # the sender is stuck mid-step: leave every file as it is
        left: Counter[str] = Counter()
        for ledger in self.sender.ledgers:
            reader = ledger.reader
            if reader.live and self.writer is not None and self.settled >= self.writer.last_seq:
                self.writer.close()
                reader.remove()
                continue
            reader.close()
            for record in iter_pending(reader.folder):
                left[str(record[2])] += 1
            if reader.live and self.writer is not None:
                self.writer.close()
            else:
                reader.abandon()
        if self.writer is not None and not self.writer.closed:
            self.writer.close()
        self.transport.close()
        if left:
            runs = ", ".join(f"{run} ({n})" for run, n in left.most_common(5))
            logger.warning(
                "mlflow_client: %d operations for %s are still in the spool (%s; runs %s%s): the next client "
                "that logs to this server sends them, or now: python -m mlflow_client spool flush",
                sum(left.values()),
                self.url,
                self.server_dir,
                runs,
                ", ..." if len(left) > 5 else "",
            )

    def abandon(self) -> None:
        """In a forked child: let go of the parent's files without touching them."""
        self.closed = True
        if self.writer is not None:
            self.writer.abandon()
        for ledger in self.sender.ledgers:
            ledger.reader.abandon()


def _async_error(failures: list[MlflowException], dead_letters: str, extra: int = 0) -> AsyncLoggingError:
    shown = "; ".join(f"{type(e).__name__}: {e.message}" for e in failures[:5])
    more = len(failures) - 5 + extra
    tail = f"; and {more} more" if more > 0 else ""
    return AsyncLoggingError(
        f"{len(failures) + extra} asynchronous logging operation(s) failed: {shown}{tail}. They are kept in "
        f"{dead_letters}",
        failures,
    )
