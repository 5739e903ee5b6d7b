"""Disclosure control: decided on respondents (unweighted counts), '<k' as the note promises,
secondary suppression where a hidden cell could be recovered from its column total."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import survey as sv
from survey.reporting import sections
from survey.reporting.sections import disclosure_mask, suppress_counts

DATA = Path(__file__).resolve().parents[2] / "data" / "grassroots_training_responses.csv"


@given(st.lists(st.lists(st.integers(0, 30), min_size=4, max_size=4), min_size=1, max_size=6),
       st.integers(1, 10))
def test_no_column_gives_a_hidden_cell_away(rows, k):
    n = np.array(rows).T  # 4 rows, up to 6 columns
    primary, secondary = disclosure_mask(n, k)
    assert (primary == ((n > 0) & (n < k))).all()
    assert not (primary & secondary).any()
    for j in range(n.shape[1]):
        hidden = int(primary[:, j].sum() + secondary[:, j].sum())
        # a column with a small cell hides at least two cells (or all it has)
        assert hidden == 0 or hidden >= 2 or hidden == n.shape[0]
        assert secondary[:, j].sum() <= 1


def test_weights_do_not_decide_what_is_hidden():
    weighted_pct = np.array([[11.1], [16.7], [72.2]])  # 2, 3 and 13 respondents weighted 16.7
    respondents = np.array([[2], [3], [13]])
    out = suppress_counts(pd.DataFrame(weighted_pct, columns=["其他"]),
                          respondents, 5)
    assert out["其他"].tolist() == ["<5", "<5", "72.2%"]


def _table_cells(captured) -> dict[str, list[str]]:
    """Row label -> cell texts of the first table among displayed HTML objects."""
    body = next(o.data for o in captured if "<table" in getattr(o, "data", "") or "")
    table = body[body.index("<table"):body.index("</table>")]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table):
        ths = re.findall(r"<th>(.*?)</th>", tr)
        tds = re.findall(r"<td>(.*?)</td>", tr)
        if ths and tds:
            rows[html.unescape(ths[0])] = [html.unescape(x) for x in tds]
    return rows


def test_flagship_crosstab_hides_cells_of_few_respondents_not_small_weights(monkeypatch):
    from survey.reporting.flagship import FlagshipReport

    captured = []
    monkeypatch.setattr(sections, "_display", captured.append)
    rep = FlagshipReport(questionnaire="grassroots_training", responses=str(DATA),
                         language="zh-Hant")
    rep.crosstab_block("att_5", "rank_level")
    cells = _table_cells(captured)
    ct = sv.crosstab(rep.survey, "att_5", by="rank_level", language="zh-Hant")
    n = np.asarray(ct.unweighted)
    pct = ct.percent("column").to_numpy()
    pct = pct * (100 if pct.max() <= 1 else 1)
    labels = [str(x) for x in ct.percent("column").index]
    assert ((n > 0) & (n < 5)).any() and rep.survey.is_weighted
    primary, secondary = disclosure_mask(n, 5)
    for i, lab in enumerate(labels):
        for j in range(n.shape[1]):
            shown = cells[lab][j]
            if 0 < n[i, j] < 5:
                assert shown == "<5", (lab, j, n[i, j], shown)
            elif secondary[i, j]:
                assert shown == "x"
            else:
                assert shown == f"{pct[i, j]:.1f}%", (lab, j, shown)
    assert rep.disclosure["primary"] == int(primary.sum())
    assert rep.disclosure["secondary"] == int(secondary.sum())
    notes = " ".join(o.data for o in captured if "sv-notes" in getattr(o, "data", ""))
    assert "少於 5" in notes and "未加權" in notes


def test_flagship_headline_unweighted_beside_raked_and_own_rank_composition(monkeypatch):
    from survey.reporting.flagship import FlagshipReport

    captured = []
    monkeypatch.setattr(sections, "_display", captured.append)
    rep = FlagshipReport(questionnaire="grassroots_training", responses=str(DATA), language="en")
    rep.necessity()
    text = " ".join(html.unescape(getattr(o, "data", "") or "") for o in captured)
    raw = sv.frequencies(rep.raw_survey, "necessity", language="en").to_frame()
    raked = sv.frequencies(rep.survey, "necessity", language="en").to_frame()
    yes = raw["category"].iloc[0]
    raw_pct = float(raw.loc[raw["category"] == yes, "pct"].iloc[0])
    raked_pct = float(raked.loc[raked["category"] == yes, "pct"].iloc[0])
    scale = 100 if raw_pct <= 1 else 1
    assert abs(raw_pct * scale - raked_pct * scale) > 1  # the difference being explained
    assert f"Unweighted, {raw_pct * scale:.1f}% of the {int(raw['n'].sum())} respondents" in text
    assert f"The raked figure, {raked_pct * scale:.1f}%" in text
    captured.clear()
    rep.respondents()
    text = " ".join(html.unescape(getattr(o, "data", "") or "") for o in captured)
    assert "respondents' own rank composition (unweighted)" in text
    own = sv.frequencies(rep.raw_survey, "rank_level", language="en").to_frame()
    first = own.iloc[0]
    share = float(first["pct"]) * (100 if float(own["pct"].max()) <= 1 else 1)
    assert f"{share:.1f}%" in text  # e.g. 10.1% county heads, not the 7.8% target
