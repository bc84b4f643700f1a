"""stic.ops.watcher_progress: the producer's pushes off dbt's threads, the map of statuses it publishes (and the
successes it pushes nowhere else), and the one poll a producer's sensors share in the triggerer (plain Python; the
DAG-level wiring is in tests/dags)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from stic.ops.watcher_progress import REPORTED_KEY, Board, OrderedPusher, StatusKeys, board_for

# ---------------------------------------------------------------------------------------------- OrderedPusher


def test_pusher_handles_items_in_order_off_the_putting_thread():
    seen, threads, all_put = [], set(), threading.Event()

    def handle(item):
        # Handling waits until the putter has put everything: a put that waited for its handling would never end.
        seen.append((item, all_put.wait(5)))
        threads.add(threading.current_thread().name)

    pusher = OrderedPusher(handle)
    for i in range(200):
        pusher.put(i)
    all_put.set()
    assert pusher.close() is None
    assert seen == [(i, True) for i in range(200)] and pusher.handled == 200
    assert threads == {"stic-producer-xcom"}


def test_pusher_keeps_going_after_an_error_and_returns_the_first():
    seen = []

    def handle(item):
        if item in (3, 5):
            raise ValueError(f"bad {item}")
        seen.append(item)

    pusher = OrderedPusher(handle)
    for i in range(8):
        pusher.put(i)
    error = pusher.close()
    assert isinstance(error, ValueError) and str(error) == "bad 3"
    assert seen == [0, 1, 2, 4, 6, 7]


def test_pusher_runs_on_idle_when_the_queue_drains_and_at_close():
    calls = []
    gate = threading.Event()
    pusher = OrderedPusher(lambda item: gate.wait(5), on_idle=lambda: calls.append(pusher.handled), idle_every=0.2)
    for i in range(5):
        pusher.put(i)
    gate.set()
    for _ in range(500):  # until on_idle ran once the queue drained (at most 5 s)
        if calls:
            break
        time.sleep(0.01)
    pusher.close()
    # Not after each of the 5 items (they are handled within the interval): once they were all handled and the
    # interval had passed, once more at close.
    assert calls == [5, 5]


def test_pusher_runs_on_idle_at_most_once_per_interval_while_items_keep_coming():
    calls = []
    pusher = OrderedPusher(lambda item: None, on_idle=lambda: calls.append(time.monotonic()), idle_every=0.1)
    start = time.monotonic()
    while time.monotonic() - start < 0.55:  # a steady stream: an item every 5 ms for ~0.55 s
        pusher.put(1)
        time.sleep(0.005)
    pusher.close()
    during = calls[:-1]  # the last one is close()'s
    assert 2 <= len(during) < 20  # ~5 (the gaps below are the point), not once per item (~100 of them)
    assert all(b - a >= 0.09 for a, b in zip(during, during[1:], strict=False))


def test_pusher_without_items_never_runs_on_idle_before_close():
    calls = []
    pusher = OrderedPusher(lambda item: None, on_idle=lambda: calls.append(1), idle_every=0.01)
    time.sleep(0.1)
    assert calls == []
    pusher.close()
    assert calls == [1]


# ------------------------------------------------------------------------------------------------ StatusKeys


class FakeTI:
    """Stands in for Airflow's task instance only as a recorder of xcom_push calls (what StatusKeys forwards)."""

    def __init__(self):
        self.pushed: list[tuple[str, object]] = []
        self._cosmos_xcom_backup_buffer = {}

    def xcom_push(self, key, value, **kwargs):
        self.pushed.append((key, value))


def _status_keys(unread=()):
    ti = FakeTI()
    keys = StatusKeys(ti, lambda t, key, value: t.xcom_push(key=key, value=value), unread=unread)
    return ti, keys


def test_status_keys_forwards_pushes_and_notes_statuses():
    ti, keys = _status_keys()
    keys.xcom_push(key="model__p__a_status", value={"status": "success", "outlet_uris": []})
    keys.xcom_push(key="model__p__a_compiled_sql", value="select 1")
    keys.xcom_push(key="model__p__a_tests_status", value="pass")
    assert [k for k, _ in ti.pushed] == ["model__p__a_status", "model__p__a_compiled_sql", "model__p__a_tests_status"]
    assert keys.statuses == {"model__p__a_status": "success", "model__p__a_tests_status": "pass"}
    assert keys.keys == {"model__p__a_status", "model__p__a_tests_status"}
    # everything else is the task instance's own
    assert keys._cosmos_xcom_backup_buffer is ti._cosmos_xcom_backup_buffer
    keys.some_attribute = 1
    assert ti.some_attribute == 1


def test_status_keys_leaves_out_a_repeat_of_the_same_value_and_unread_keys():
    ti, keys = _status_keys(unread={"test__p__t1_dbt_event"})
    keys.xcom_push(key="model__p__a_status", value={"status": "success"})
    keys.xcom_push(key="model__p__a_status", value={"status": "success"})  # dbt's second end-of-node event
    keys.xcom_push(key="test__p__t1_dbt_event", value={"status": "pass"})
    keys.xcom_push(key="model__p__a_status", value={"status": "failed"})  # a different value is pushed
    assert ti.pushed == [("model__p__a_status", {"status": "success"}), ("model__p__a_status", {"status": "failed"})]
    assert keys.skipped == 2
    assert keys.statuses == {"model__p__a_status": "failed"}


def test_status_keys_publishes_the_map_only_when_it_changed():
    ti, keys = _status_keys()
    assert keys.publish() is False and ti.pushed == []
    keys.xcom_push(key="b_status", value={"status": "success"})
    keys.xcom_push(key="a_status", value={"status": "error"})
    assert keys.publish() is True
    assert ti.pushed[-1] == (REPORTED_KEY, {"a_status": "error", "b_status": "success"})
    assert keys.publish() is False
    keys.xcom_push(key="c_tests_status", value="pass")
    assert keys.publish() is True
    assert ti.pushed[-1] == (REPORTED_KEY, {"a_status": "error", "b_status": "success", "c_tests_status": "pass"})
    keys.xcom_push(key="b_status", value={"status": "success", "outlet_uris": ["x"]})  # same status: no change
    assert keys.publish() is False
    assert REPORTED_KEY not in keys.keys


def _board_only(unread=()):
    ti = FakeTI()
    keys = StatusKeys(ti, lambda t, key, value: t.xcom_push(key=key, value=value), unread=unread,
                      board_only=lambda status: status in ("success", "pass", "warn"))
    return ti, keys


def test_board_only_pushes_a_success_to_the_map_alone():
    ti, keys = _board_only()
    # a model that succeeds, in Cosmos' order: its dbt event, its status, its compiled SQL; then its tests
    keys.xcom_push(key="model__p__a_dbt_event", value={"status": "success", "msg": "OK"})
    keys.xcom_push(key="model__p__a_status", value={"status": "success", "outlet_uris": []})
    keys.xcom_push(key="model__p__a_compiled_sql", value="select 1")
    keys.xcom_push(key="model__p__a_tests_status", value="pass")
    assert ti.pushed == [] and keys.boarded == 4
    keys.publish()
    assert ti.pushed == [(REPORTED_KEY, {"model__p__a_status": "success", "model__p__a_tests_status": "pass"})]


def test_board_only_still_pushes_everything_of_a_node_that_did_not_succeed():
    ti, keys = _board_only()
    keys.xcom_push(key="model__p__b_dbt_event", value={"status": "error", "msg": "relation does not exist"})
    keys.xcom_push(key="model__p__b_status", value={"status": "error", "outlet_uris": []})
    keys.xcom_push(key="model__p__b_compiled_sql", value="select * from nowhere")
    keys.xcom_push(key="model__p__c_dbt_event", value={"status": "skipped", "msg": None})
    keys.xcom_push(key="model__p__c_status", value={"status": "failed", "outlet_uris": []})  # Cosmos' rewrite
    keys.xcom_push(key="model__p__d_tests_status", value="fail")  # a model built, its tests failed
    keys.xcom_push(key="dbt_startup_events", value=[{"name": "MainReportVersion"}])  # not a node's: pushed
    assert [k for k, _ in ti.pushed] == ["model__p__b_dbt_event", "model__p__b_status", "model__p__b_compiled_sql",
                                         "model__p__c_dbt_event", "model__p__c_status", "model__p__d_tests_status",
                                         "dbt_startup_events"]
    assert keys.boarded == 0
    keys.publish()
    assert ti.pushed[-1] == (REPORTED_KEY, {"model__p__b_status": "error", "model__p__c_status": "failed",
                                            "model__p__d_tests_status": "fail"})


def test_a_pusher_with_status_keys_publishes_after_the_statuses_it_lists():
    ti, keys = _status_keys()
    pusher = OrderedPusher(lambda k: keys.xcom_push(key=k, value={"status": "success"}), on_idle=keys.publish,
                           idle_every=0.001)
    for i in range(50):
        pusher.put(f"model__p__m{i}_status")
        time.sleep(0.001)
    assert pusher.close() is None
    published = [v for k, v in ti.pushed if k == REPORTED_KEY]
    assert len(published) > 1 and published[-1] == {f"model__p__m{i}_status": "success" for i in range(50)}
    # each published map names only keys already pushed before it
    for pos, (key, value) in enumerate(ti.pushed):
        if key == REPORTED_KEY:
            before = {k for k, _ in ti.pushed[:pos]}
            assert set(value) <= before


# ----------------------------------------------------------------------------------------------------- Board


class Producer:
    """What the board polls: the producer's REPORTED_KEY map and its task state, with a count of calls."""

    def __init__(self):
        self.reported: dict[str, str] | list[str] | None = None
        self.state: str | None = "running"
        self.calls = 0
        self.fail = False

    async def fetch_reported(self):
        self.calls += 1
        if self.fail:
            raise ConnectionError("api-server down")
        return self.reported

    async def fetch_state(self):
        self.calls += 1
        return self.state


def test_the_board_wakes_each_waiter_when_its_key_is_reported_with_one_poll_for_all():
    async def main():
        p = Producer()
        board = Board(p.fetch_reported, p.fetch_state, interval=0.02)
        waiters = [asyncio.ensure_future(board.wait_for(f"k{i}_status")) for i in range(30)]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waiters)
        p.reported = {f"k{i}_status": "success" for i in range(10)}
        await asyncio.wait_for(asyncio.gather(*waiters[:10]), 2)
        await asyncio.sleep(0.05)
        assert [w.done() for w in waiters] == [True] * 10 + [False] * 20
        assert {w.result() for w in waiters[:10]} == {"reported"}
        p.reported = {**{f"k{i}_status": "success" for i in range(29)}, "k29_status": "error"}
        results = await asyncio.wait_for(asyncio.gather(*waiters), 2)
        assert set(results) == {"reported"}
        assert board.status("k3_status") == "success" and board.status("k29_status") == "error"
        assert board.status("k30_status") is None
        # one poll (two calls) per interval for the 30 waiters, not 30
        assert board.polls * 2 == p.calls
        assert p.calls < 30

    asyncio.run(main())


@pytest.mark.parametrize("state", ["success", "failed", "skipped", "upstream_failed", "removed"])
def test_the_board_releases_every_waiter_when_the_producer_is_over(state):
    async def main():
        p = Producer()
        board = Board(p.fetch_reported, p.fetch_state, interval=0.02)
        waiters = [asyncio.ensure_future(board.wait_for(f"k{i}_status")) for i in range(5)]
        await asyncio.sleep(0.05)
        p.reported, p.state = {"k0_status": "success"}, state
        results = await asyncio.wait_for(asyncio.gather(*waiters), 2)
        assert results == ["reported", "over", "over", "over", "over"]
        assert board.over

    asyncio.run(main())


def test_the_board_takes_a_list_of_keys_from_an_earlier_producer_without_statuses():
    async def main():
        p = Producer()
        board = Board(p.fetch_reported, p.fetch_state, interval=0.02)
        p.reported = ["k0_status"]
        assert await asyncio.wait_for(board.wait_for("k0_status"), 2) == "reported"
        assert board.status("k0_status") is None  # the trigger then reads the node's own XCom

    asyncio.run(main())


def test_the_board_lets_the_sensors_poll_on_their_own_when_it_cannot_poll():
    async def main():
        p = Producer()
        p.fail = True
        board = Board(p.fetch_reported, p.fetch_state, interval=0.02)
        results = await asyncio.wait_for(asyncio.gather(*(board.wait_for(f"k{i}") for i in range(3))), 2)
        assert results == ["over"] * 3

    asyncio.run(main())


def test_one_board_per_producer_run_and_a_new_one_after_it_is_over():
    async def main():
        p = Producer()
        make = lambda: Board(p.fetch_reported, p.fetch_state, interval=0.01)  # noqa: E731
        a = board_for(("dag", "run1", "producer", -1), make)
        assert board_for(("dag", "run1", "producer", -1), make) is a
        b = board_for(("dag", "run2", "producer", -1), make)
        assert b is not a
        p.state = "success"
        assert await asyncio.wait_for(a.wait_for("x"), 2) == "over"
        assert board_for(("dag", "run1", "producer", -1), make) is not a

    asyncio.run(main())
