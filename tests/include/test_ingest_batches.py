"""The district ingest DAG's batches (stic.ops.ingest_batches): a drop split over a few task slots, each file
still processed on its own, one file's failure never stopping the others; real PostgreSQL, GX, ledger."""

from __future__ import annotations

import shutil

import pytest

from stic.ops import ingest_batches
from tests.conftest import FIXTURES


def _item(sid: int, path: str) -> dict:
    return {"submission_id": sid, "landing_path": path}


def test_batches_keep_a_key_together_in_order_and_cover_every_file():
    items = [_item(1, "PD/projects/2018/a.csv"), _item(2, "XH/projects/2018/b.csv"), _item(3, "PD/projects/2018/a_v2.csv"),
             _item(4, "YP/facilities/2019/c.csv"), _item(5, "HP/projects/2018/d.csv"), _item(6, "XH/projects/2018/b_v2.csv")]
    out = ingest_batches.batches(items, 3)
    assert len(out) == 3
    assert sorted(i["submission_id"] for b in out for i in b) == [1, 2, 3, 4, 5, 6]
    for b in out:
        assert [i["submission_id"] for i in b] == sorted(i["submission_id"] for i in b)
    where = {i["submission_id"]: k for k, b in enumerate(out) for i in b}
    assert where[1] == where[3] and where[2] == where[6]  # a correction stays with the file it corrects
    assert ingest_batches.batches(items, 1) == [items]
    assert ingest_batches.batches([], 4) == []
    assert ingest_batches.batch_label(out[0]).startswith(f"{len(out[0])} files: ")


def test_a_failing_file_does_not_stop_its_batch(clean_warehouse):
    from stic import pipeline
    from stic.config import settings

    incoming = settings().incoming_dir
    shutil.rmtree(incoming, ignore_errors=True)
    for name, dest in (("projects_ok.csv", "PD/projects/2018/projects_ok.csv"),
                       ("projects_missing_column.csv", "HP/projects/2018/projects.csv")):
        (incoming / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "pipeline" / name, incoming / dest)
    items = pipeline.register_landing_files()
    assert len(items) == 2
    # a submission that is not in the ledger, first in the batch: it fails, the two files after it still run
    batch = [_item(999_999, "XX/projects/2018/gone.csv"), *items]
    with pytest.raises(ingest_batches.BatchFailed, match=r"1 of 3 file\(s\) not finished: submission 999999"):
        ingest_batches.ingest_batch(batch)
    status = dict(clean_warehouse.execute("select landing_path, status from audit.submissions").fetchall())
    assert status == {"PD/projects/2018/projects_ok.csv": "published", "HP/projects/2018/projects.csv": "rejected"}
    # each file has its own outcome; the rerun of the batch (its retry) skips what is done
    outs = ingest_batches.ingest_batch(items)
    assert sorted((o["original_name"], o["status"]) for o in outs) == [("projects.csv", "rejected"),
                                                                      ("projects_ok.csv", "published")]
    assert clean_warehouse.execute("select count(*) from raw.projects").fetchone()[0] == 3
    assert ingest_batches.published_kinds([i["submission_id"] for i in items]) == ["projects"]
