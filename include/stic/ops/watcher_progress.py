"""How the build's producer tells its ~60 model sensors what is done, at the cost of one poll for all of them.

Cosmos' watcher mode runs one `dbt build` (the producer task) and one sensor per model; each sensor's trigger
polls the producer's XComs (its node's status, its compiled SQL, the producer's state) every few seconds, and
the producer pushes four XComs per node (its dbt event, its status, its compiled SQL, its tests' aggregate).
With the sensors started together, ~110 triggers polling took half a core in the triggerer and a fifth in the
api-server on a two-core machine, and the build itself ran at half speed next to them.

Here the producer also publishes, under one XCom key (`REPORTED_KEY`), the status of every node it has reported
so far (`StatusKeys`, at most once a second and once more at the end), and the triggers of one producer share
one `Board`: a single poll of that map and of the producer's state per interval, which wakes each trigger when its
own node is listed or the producer is over. A success listed there ends the trigger at once. Any other outcome
runs Cosmos' own check, which reads the node's own XComs and decides exactly as Cosmos does. Should the board
fail to poll, every waiting trigger falls back to Cosmos' own polling.

With its sensors in the triggerer, the producer pushes a success only to that map (`board_only`): a node's
status, dbt event and compiled SQL are read, one by one, only by a sensor that did not succeed (to fail, skip or
log it) or by a poke under `airflow dags test`, which gets all of them as before. Of ~330 XCom pushes of a
build, ~25 remain.

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
    never wait for what handling costs (an XCom round trip). `on_idle()` runs after items were handled, at most
    once per `idle_every` seconds: while items keep coming, and once the queue is empty (as soon as the interval
    allows); and once more at `close()`. `close()` waits until every item is handled and returns the first error,
    which does not stop the items after it."""

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

    def _next(self, pending: bool):
        """The next item; `None` when on_idle is due first (items handled since it last ran, none waiting)."""
        if not pending or self._on_idle is None:
            return self._queue.get()
        wait = self._last_idle + self._idle_every - time.monotonic()
        try:
            return self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _run(self) -> None:
        pending = False
        while True:
            item = self._next(pending)
            if item is None:
                self._idle()
                pending = False
                continue
            if item is self._STOP:
                break
            self._guard(self._handle, item)
            self.handled += 1
            pending = True
            if time.monotonic() - self._last_idle >= self._idle_every:
                self._idle()
                pending = False
        self._idle()

    def close(self) -> BaseException | None:
        self._queue.put(self._STOP)
        self._thread.join()
        return self.error


_UNSET = object()


def _status_of(value) -> object:
    """The status in a `<node>_status` value (Cosmos pushes {"status": ..., "outlet_uris": [...]}) or a
    `<model>_tests_status` one (the aggregate itself)."""
    return value.get("status") if isinstance(value, dict) else value


class StatusKeys:
    """A task instance for Cosmos' parser that notes the status of each node it pushes (Cosmos' `<node>_status`
    and `<model>_tests_status`); `publish()` pushes that map under REPORTED_KEY when it changed. Two kinds of push
    it leaves out, as no reader could tell: a key pushed again with the value it already holds (dbt reports a node's
    end in two events), and the keys in `unread` (the `_dbt_event` of a test whose result only counts in its model's
    aggregate: sensors read their model's).

    `board_only` (a predicate on a status, Cosmos' success test; given when the sensors run in the triggerer): a
    success goes only to the map. The node's `_status`, and its `_dbt_event` and `_compiled_sql`, which Cosmos reads
    only once a sensor resumes on a worker (to fail, skip or log a node) or pokes, are pushed only for a node that
    did not succeed. Everything else is the task instance's own."""

    def __init__(self, ti, push: Callable[[object, str, object], None], unread=frozenset(),
                 board_only: Callable[[object], bool] | None = None):
        object.__setattr__(self, "_ti", ti)
        object.__setattr__(self, "_push", push)  # push(ti, key, value): Cosmos' safe_xcom_push
        object.__setattr__(self, "_unread", frozenset(unread))
        object.__setattr__(self, "_board_only", board_only)
        object.__setattr__(self, "_sent", {})
        object.__setattr__(self, "statuses", {})
        object.__setattr__(self, "skipped", 0)
        object.__setattr__(self, "boarded", 0)
        object.__setattr__(self, "_changes", 0)
        object.__setattr__(self, "_published", 0)

    @property
    def keys(self) -> set[str]:
        return set(self.statuses)

    def _on_board_only(self, key: str, value) -> bool:
        succeeded = self._board_only
        if succeeded is None:
            return False
        if key.endswith("_status"):
            return bool(succeeded(_status_of(value)))
        if key.endswith("_dbt_event"):
            return isinstance(value, dict) and bool(succeeded(value.get("status")))
        if key.endswith("_compiled_sql"):  # pushed right after its node's status
            return bool(succeeded(self.statuses.get(key.removesuffix("_compiled_sql") + "_status")))
        return False

    def xcom_push(self, key: str, value, **kwargs) -> None:
        if key in self._unread or self._sent.get(key, _UNSET) == value:
            object.__setattr__(self, "skipped", self.skipped + 1)
            return
        if key.endswith("_status") and key != REPORTED_KEY:
            status = _status_of(value)
            if self.statuses.get(key, _UNSET) != status:
                self.statuses[key] = status
                object.__setattr__(self, "_changes", self._changes + 1)
        self._sent[key] = value
        if self._on_board_only(key, value):
            object.__setattr__(self, "boarded", self.boarded + 1)
            return
        self._ti.xcom_push(key=key, value=value, **kwargs)

    def publish(self) -> bool:
        """Push the map of statuses if it changed since the last time (runs on the pushing thread only)."""
        if self._changes == self._published:
            return False
        changes = self._changes
        self._push(self._ti, REPORTED_KEY, dict(sorted(self.statuses.items())))
        object.__setattr__(self, "_published", changes)
        return True

    def __getattr__(self, name: str):
        return getattr(self._ti, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._ti, name, value)


class Board:
    """What one producer has reported, polled once per interval for all the triggers waiting on it (in the
    triggerer's event loop). `fetch_reported()` returns the producer's REPORTED_KEY map of statuses (a list of keys
    from a producer of an earlier version: statuses unknown) or None, `fetch_state()` its task state."""

    def __init__(self, fetch_reported: Callable[[], Awaitable[object]], fetch_state: Callable[[], Awaitable[object]],
                 interval: float, on_end: Callable[[Board], None] | None = None):
        self._fetch_reported, self._fetch_state = fetch_reported, fetch_state
        self.interval = interval
        self.reported: dict[str, object] = {}  # status key -> status (None: listed without its status)
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

    def status(self, key: str) -> object:
        """The status reported for key (None: not reported, or listed without its status)."""
        return self.reported.get(key)

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _poll(self) -> None:
        try:
            while self.waiting > 0 and not self.over:
                state = await self._fetch_state()  # first: a producer over has pushed everything it will push
                reported = await self._fetch_reported()
                self.polls += 1
                if isinstance(reported, dict):
                    self.reported.update((str(k), v) for k, v in reported.items())
                elif isinstance(reported, list | tuple | set):
                    self.reported.update((str(k), self.reported.get(str(k))) for k in reported)
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
