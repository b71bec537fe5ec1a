"""Creates that are safe to retry: neither an error nor a duplicate when the answer to a create is lost.

A create RPC is not idempotent: sent twice, it makes two runs (MLflow's "ghost runs") or fails the
second time with RESOURCE_ALREADY_EXISTS. So each create carries a *creation id* the client makes up,
kept on the new entity as the tag ``mlflow_client.creation_id``. When a create fails in a way that
may have reached the server (the connection broke after sending, a read timeout, a 5xx from a proxy:
``failure_kind(...) == AMBIGUOUS``), the client looks for an entity with its creation id before it
sends the create again:

- found: that is the answer that was lost; it is returned;
- not found: the server never applied it; the create is sent again, with the same id;
- a run created again this way is looked up once more by its id, and if an earlier attempt did land
  after all (the server applied it late), the copies beyond the first are deleted.

The happy path costs one tag and no request. Retries follow the transport's ``RetryPolicy`` (count,
backoff, total time). The same ``create_once_steps`` serves every create RPC: a caller gives the create
and the lookup. It is a sans-IO operation (a generator yielding the requests and the waits), so the sync
and the async stores share it (see ``_store_ops``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from .exceptions import MlflowConnectionError, MlflowException, ResourceAlreadyExists, RestException

__all__ = ["CREATION_ID_TAG", "Sleep", "create_once_steps", "new_creation_id"]

logger = logging.getLogger("mlflow_client")

#: The tag that carries an entity's creation id (our own prefix, never ``mlflow.``).
CREATION_ID_TAG = "mlflow_client.creation_id"

T = TypeVar("T")
Y = TypeVar("Y")


@dataclass(frozen=True, slots=True)
class Sleep:
    """A step of a sans-IO operation: wait this long before going on (each driver sleeps its own way)."""

    seconds: float


def new_creation_id() -> str:
    return uuid.uuid4().hex


def create_once_steps(
    create: Callable[[], Generator[Y, Any, T]],
    find: Callable[[], Generator[Y, Any, T | None]],
    *,
    what: str,
    settle: Callable[[T], Generator[Y, Any, T]] | None = None,
    max_retries: int,
    delay: Callable[[int, float | None], float],
    max_time: float,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[Y | Sleep, Any, T]:
    """``create()`` once on the server, whatever answers are lost, as a sans-IO operation.

    ``create``, ``find`` and ``settle`` are operations too (generators yielding the requests they need,
    see ``_store_ops``); this one yields theirs, plus a ``Sleep`` before each look-up, so the sync and
    the async stores run the same logic, each with its own IO.

    ``find()`` returns what an earlier attempt created (by its creation id), or ``None``; it may raise
    ``ResourceAlreadyExists`` when the entity exists but is someone else's. ``settle(result)``, if given,
    sees what a create returned after an earlier attempt may have landed, and returns the one to keep
    (deleting copies). ``delay(n, retry_after)`` is the wait before retry ``n``. Gives up, raising the
    last error, after ``max_retries`` retries or once a retry would start more than ``max_time`` seconds
    after the first attempt.
    """
    from ._http_core import AMBIGUOUS, failure_kind

    started = clock()
    retries = 0
    unsure = False  # an earlier attempt may have been applied
    while True:
        try:
            result = yield from create()
            return (yield from settle(result)) if unsure and settle is not None else result
        except ResourceAlreadyExists:
            if not unsure:
                raise
            found = yield from find()  # the earlier attempt landed after our last look: it is ours, or someone's
            if found is not None:
                return found
            raise
        except (RestException, MlflowConnectionError) as err:
            if failure_kind(err) != AMBIGUOUS:
                raise  # refused or rejected: the transport already retried what surely did not reach the server
            unsure = True
            last: MlflowException = err
        # Was it applied? Look, retrying the look itself as long as the budget allows.
        while True:
            retries += 1
            wait = delay(retries, getattr(last, "retry_after", None))
            if retries > max_retries or clock() - started + wait > max_time:
                raise last
            logger.debug("%s may have been applied (%s); looking it up in %.2f s", what, last, wait)
            yield Sleep(wait)
            try:
                found = yield from find()
            except ResourceAlreadyExists:
                raise
            except MlflowException as err:
                last = err
                continue
            if found is not None:
                logger.info("mlflow_client: %s was applied but its answer was lost; using it", what)
                return found
            break  # not applied: create again, with the same creation id
