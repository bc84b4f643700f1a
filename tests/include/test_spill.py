"""stic.intake.spill.SpillList: the loader's quarantine list, bounded in memory."""

from __future__ import annotations

import datetime as dt

from stic.intake.spill import SpillList


def test_items_past_the_limit_go_to_disk_and_come_back_in_order():
    items = SpillList(keep=3)
    assert not items and len(items) == 0 and list(items) == []
    for i in range(10):
        items.append({"row": i, "value": f"值{i}"})
    assert len(items) == 10 and items.spilled == 7 and items
    assert [x["row"] for x in items] == list(range(10))
    assert [x["value"] for x in items][-1] == "值9"
    items.append({"row": 10, "when": dt.date(2018, 1, 1)})  # appending after a full iteration goes on at the end
    assert [x["row"] for x in items] == list(range(11)) and list(items)[-1]["when"] == "2018-01-01"
    assert items[:2] == [{"row": 0, "value": "值0"}, {"row": 1, "value": "值1"}]
    items.close()


def test_a_short_list_stays_in_memory():
    items = SpillList(keep=5)
    for i in range(5):
        items.append({"row": i})
    assert items.spilled == 0 and list(items) == [{"row": i} for i in range(5)]
