"""Invariant on generated messy files: every record read is accounted for."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.ingest import read_raw, read_responses
from survey.ingest._spec import template_spec
from survey.questionnaire import load_questionnaire

Q = load_questionnaire("grassroots_training")
SPEC = template_spec(Q)


def cell_values(f):
    vals = ["", " ", "???", "=1+1", "a,b", 'say "hi"', "line\nbreak", "-99", "９", "0"]
    for c in f.choices:
        vals.append(c.name)
        vals += [t for _, t in c.labels]
    if f.kind == "integer":
        vals += ["3", "41", "x"]
    return st.sampled_from(vals)


@st.composite
def messy_csv(draw):
    fields = draw(st.lists(st.sampled_from(SPEC.fields), min_size=1, max_size=8, unique=True))
    extra = draw(st.lists(st.sampled_from(["note", "clerk", "_id", "备注"]), max_size=2,
                          unique=True))
    n = draw(st.integers(min_value=0, max_value=25))
    rows = []
    for _ in range(n):
        row = [draw(cell_values(f)) for f in fields]
        row += [draw(st.sampled_from(["", "x", "王"])) for _ in extra]
        rows.append(row)
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return [f.name for f in fields] + extra, rows, sep


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_csv())
def test_every_record_is_accounted_for(case):
    header, rows, sep = case
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messy.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        raw = read_raw(path, Q, delimiter=sep)
        nonblank = [i + 2 for i, r in enumerate(rows) if any(c.strip() for c in r)]
        assert raw.frame["_row"].tolist() == nonblank  # unique, complete, in file order
        assert raw.source["rows_read"] == len(nonblank)
        assert set(raw.questions) == set(header) & set(SPEC.names)
        s = read_responses(path, Q, delimiter=sep)
        assert len(s.data) + len(s.rejected) == s.source["rows_read"]
