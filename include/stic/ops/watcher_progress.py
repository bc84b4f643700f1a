"""How the build's producer tells its ~110 model sensors what is done, at the cost of one poll for all of them.

Cosmos' watcher mode runs one `dbt build` (the producer task) and one sensor per model and per model's tests; each
sensor's trigger polls the producer's XComs (its node's status, the producer's state) every few seconds. With the
sensors started together, ~110 triggers polling took half a core in the triggerer and a fifth in the api-server
on a two-core machine, and the build itself ran at half speed next to them.

Here the producer also publishes, under one XCom key (`REPORTED_KEY`), the list of status keys it has pushed so
far (`StatusKeys`, at most once a second and once more at the end), and the triggers of one producer share
one `Board`: a single poll of that list and of the producer's state per interval, which wakes each trigger when its
own key is listed or the producer is over. The trigger then runs Cosmos' own check once, which finds the status and
decides exactly as before. Should the board fail to poll, every waiting trigger falls back to Cosmos' own polling.

`OrderedPusher` takes the pushes off dbt's threads: dbt's event callback only queues the event.

Plain Python (asyncio, threads): no Airflow or Cosmos import; `dags/_stic_watcher.py` wires it in.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

REPORTED_KEY = "stic_reported_status_keys"
# Producer states after which it reports nothing more (Cosmos' terminal states).
PRODUCER_OVER = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


class OrderedPusher:
    """Handles items on one thread of its own, in the order they were put, so that the putting threads (dbt's)
    never wait for what handling costs (an XCom round trip). `on_idle()` runs when the queue is empty or
    `idle_every` seconds have passed since it last ran, and once more at `close()`. `close()` waits until every
    item is handled and returns the first error, which does not stop the items after it."""

    _STOP = object()

    def __init__(self, handle: Callable[[object], None], on_idle: Callable[[], None] | None = None,
                 idle_every: float = 1.0, name: str = "stic-producer-xcom"):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._handle, self._on_idle, self._idle_every = handle, on_idle, idle_every
        self._last_idle = time.monotonic()
        self.error: BaseException | None = None
        self.handled = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item) -> None:
        self._queue.put(item)

    def _guard(self, call, *args) -> None:
        try:
            call(*args)
        except Exception as exc:  # noqa: BLE001 - kept and raised by the caller after the run, as Cosmos does
            log.exception("dbt event not reported: %s", exc)
            if self.error is None:
                self.error = exc

    def _idle(self) -> None:
        if self._on_idle is not None:
            self._last_idle = time.monotonic()
            self._guard(self._on_idle)

    def _run(self) -> None:
        while (item := self._queue.get()) is not self._STOP:
            self._guard(self._handle, item)
            self.handled += 1
            if self._queue.empty() or time.monotonic() - self._last_idle >= self._idle_every:
                self._idle()
        self._idle()

    def close(self) -> BaseException | None:
        self._queue.put(self._STOP)
        self._thread.join()
        return self.error


_UNSET = object()


class StatusKeys:
    """A task instance for Cosmos' parser that notes the status keys it pushes (Cosmos' `<node>_status` and
    `<model>_tests_status`); `publish()` pushes their list under REPORTED_KEY when it grew. Two kinds of push it
    leaves out, as no reader could tell: a key pushed again with the value it already holds (dbt reports a node's
    end in two events), and the keys in `unread` (the `_dbt_event` of a test whose result only counts in its model's
    aggregate: sensors read their model's). Everything else is the task instance's own."""

    def __init__(self, ti, push: Callable[[object, str, object], None], unread=frozenset()):
        object.__setattr__(self, "_ti", ti)
        object.__setattr__(self, "_push", push)  # push(ti, key, value): Cosmos' safe_xcom_push
        object.__setattr__(self, "_unread", frozenset(unread))
        object.__setattr__(self, "_sent", {})
        object.__setattr__(self, "keys", set())
        object.__setattr__(self, "skipped", 0)
        object.__setattr__(self, "_published", 0)

    def xcom_push(self, key: str, value, **kwargs) -> None:
        if key in self._unread or self._sent.get(key, _UNSET) == value:
            object.__setattr__(self, "skipped", self.skipped + 1)
            return
        self._ti.xcom_push(key=key, value=value, **kwargs)
        self._sent[key] = value
        if key.endswith("_status") and key != REPORTED_KEY:
            self.keys.add(key)

    def publish(self) -> bool:
        """Push the list of status keys if it grew since the last time (runs on the pushing thread only)."""
        if len(self.keys) == self._published:
            return False
        self._push(self._ti, REPORTED_KEY, sorted(self.keys))
        object.__setattr__(self, "_published", len(self.keys))
        return True

    def __getattr__(self, name: str):
        return getattr(self._ti, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._ti, name, value)


class Board:
    """What one producer has reported, polled once per interval for all the triggers waiting on it (in the
    triggerer's event loop). `fetch_reported()` returns the producer's REPORTED_KEY list (or None), `fetch_state()`
    its task state."""

    def __init__(self, fetch_reported: Callable[[], Awaitable[object]], fetch_state: Callable[[], Awaitable[object]],
                 interval: float, on_end: Callable[[Board], None] | None = None):
        self._fetch_reported, self._fetch_state = fetch_reported, fetch_state
        self.interval = interval
        self.reported: set[str] = set()
        self.over = False  # the producer reports nothing more, or the board could not poll: stop waiting
        self.polls = 0
        self.waiting = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._on_end = on_end

    async def wait_for(self, key: str) -> str:
        """Until key is reported ('reported') or the producer is over or the board failed ('over')."""
        self.waiting += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.ensure_future(self._poll())
            while key not in self.reported and not self.over:
                await self._changed.wait()
            return "reported" if key in self.reported else "over"
        finally:
            self.waiting -= 1

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _poll(self) -> None:
        try:
            while self.waiting > 0 and not self.over:
                state = await self._fetch_state()  # first: a producer over has pushed everything it will push
                reported = await self._fetch_reported()
                self.polls += 1
                if isinstance(reported, list | tuple | set):
                    self.reported.update(str(k) for k in reported)
                if str(state or "") in PRODUCER_OVER:
                    self.over = True
                self._wake()
                if not self.over:
                    await asyncio.sleep(self.interval)
        except Exception as exc:  # noqa: BLE001 - the triggers then poll on their own, as Cosmos does
            log.warning("watcher board: polling the producer failed (%s); each sensor polls on its own", exc)
            self.over = True
            self._wake()
        finally:
            if self._on_end is not None and (self.over or self.waiting == 0):
                self._on_end(self)


_BOARDS: dict[tuple, Board] = {}


def board_for(key: tuple, make: Callable[[], Board]) -> Board:
    """The one Board of this producer run (key: dag, run, producer task, map index) in this process."""
    board = _BOARDS.get(key)
    if board is None or board.over:
        board = make()
        board._on_end = lambda b, key=key: _BOARDS.pop(key, None) if _BOARDS.get(key) is b else None
        _BOARDS[key] = board
    return board
