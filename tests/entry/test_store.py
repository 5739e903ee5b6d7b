"""Invariants of the entry database (hypothesis): nothing lost, nothing doubled."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.entry import EntryStore, entry_progress
from survey.entry.data import final_records
from survey.entry.store import DuplicateForm, EntryError

from .helpers import small_template

IDS = st.sampled_from(["1", "2", "3", "甲", "x-7"])
SAVES = st.lists(st.tuples(IDS, st.sampled_from([1, 2]), st.sampled_from(["north", "south"]),
                           st.sampled_from(["1", "2", None])), max_size=25)


@settings(max_examples=25, deadline=None)
@given(saves=SAVES)
def test_each_id_is_stored_once_per_pass_and_read_once(saves):
    with tempfile.TemporaryDirectory() as d:
        store = EntryStore(Path(d) / "e.sqlite", template_id="t")
        seen, refused = set(), 0
        for rid, pass_, unit, smoker in saves:
            data = {"rid": rid, "unit": unit, "smoker": smoker}
            try:
                store.save(rid, pass_, data, clerk="c")
                seen.add((rid, pass_))
            except DuplicateForm:
                refused += 1
                assert (rid, pass_) in seen
        assert {(f["respondent_id"], f["pass"]) for f in store.forms()} == seen
        assert refused == len(saves) - len(seen)
        records, rows, notes = final_records(store)
        assert sorted(r["rid"] for r in records) == sorted({rid for rid, _ in seen})
        assert len(rows) == len(set(rows))
        # every stored value came with a history row saying who created it
        created = {(h["respondent_id"], h["pass"]) for h in store.history()
                   if h["action"] == "create"}
        assert created == seen


@settings(max_examples=15, deadline=None)
@given(saves=SAVES)
def test_progress_counts_add_up(saves, tmp_path_factory):
    q, _ = small_template(tmp_path_factory.mktemp("t"))
    store = EntryStore(tmp_path_factory.mktemp("d") / "e.sqlite", template_id="small_entry")
    for rid, pass_, unit, smoker in saves:
        try:
            store.save(rid, pass_, {"rid": rid, "unit": unit, "smoker": smoker}, clerk="c")
        except DuplicateForm:
            pass
    table = entry_progress(store, q).to_frame().set_index("unit")
    first = {f["respondent_id"] for f in store.forms(1)}
    second = {f["respondent_id"] for f in store.forms(2)}
    assert table.loc["total", "keyed"] == len(first)
    assert table.loc["total", "double_keyed"] == len(first & second)
    assert table.drop(index="total")["keyed"].sum() == len(first)
    assert table.loc["total", "returned"] == 17


def test_a_stale_edit_is_refused_and_changes_nothing(tmp_path):
    store = EntryStore(tmp_path / "e.sqlite", template_id="t")
    store.save("1", 1, {"rid": "1", "smoker": "1"}, clerk="a")
    assert store.save("1", 1, {"rid": "1", "smoker": "2"}, clerk="b", version=1) == 2
    with pytest.raises(EntryError, match="expected version 1, found version 2"):
        store.save("1", 1, {"rid": "1", "smoker": "1"}, clerk="c", version=1)
    assert store.get("1", 1)["data"]["smoker"] == "2"
    assert [(h["old"], h["new"], h["clerk"]) for h in store.history("1")
            if h["question"] == "smoker"] == [(None, "1", "a"), ("1", "2", "b")]
