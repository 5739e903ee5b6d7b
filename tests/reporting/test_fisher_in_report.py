"""Which test a report quotes for a cross-tab: Fisher's exact test when an expected count is
below 5 (crosstab's own rule), Pearson otherwise, Rao–Scott when weighted; the wording of
the Fisher sentence in each language; the per-table footnotes rendered in the report
language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey.reporting import findings as fd
from survey.reporting.sections import FISHER_B, fisher_budget


def _frame(table: list[list[int]]) -> pd.DataFrame:
    """Respondents whose (a, b) answers give ``table`` (rows a, columns b)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [f"a{i}"] * n
            b += [f"b{j}"] * n
    return pd.DataFrame({"a": pd.Categorical(a), "b": pd.Categorical(b)})


SMALL = [[12, 3, 1], [10, 2, 6], [4, 9, 2]]  # several expected counts below 5
LARGE = [[40, 30, 25], [35, 45, 30], [30, 28, 50]]  # all expected counts well above 5


def test_small_expected_counts_cells_as_crosstab_does():
    ct = sv.crosstab(_frame(SMALL), "a", by="b", fisher=False)
    e = ct.expected.to_numpy()
    small, cells, e_min = fd.small_expected(ct)
    assert (small, cells) == (int((e < 5).sum()), 9) and small > 0
    assert e_min == pytest.approx(e.min(), abs=0.005)
    assert f"{small} of 9 cells have expected count < 5" in " ".join(ct.notes)


def test_report_quotes_fisher_only_for_small_expected_counts():
    ct = sv.crosstab(_frame(SMALL), "a", by="b", fisher=True)
    name, row = fd.pick_test(ct)
    assert name == "fisher"
    assert row["p_value"] == ct.tests.loc["fisher", "p_value"]
    # without Fisher's row (fisher=False) the report can only quote Pearson
    assert fd.pick_test(sv.crosstab(_frame(SMALL), "a", by="b", fisher=False))[0] == "pearson"
    # large expected counts: Pearson even when Fisher's test was run
    assert fd.pick_test(sv.crosstab(_frame(LARGE), "a", by="b", fisher=True))[0] == "pearson"


def test_fisher_sentence_wording_in_three_languages():
    ct = sv.crosstab(_frame(SMALL), "a", by="b", fisher=True)
    p = float(ct.tests.loc["fisher", "p_value"])
    zh = fd.describe_crosstab(ct, "zh-Hant", by_label="組別", alpha=0.05)
    assert f"Fisher 精確檢定，{fd.fmt_p(p, 'zh-Hant')}" in zh and "Cramér's V=" in zh
    assert "Fisher 精确检验，" in fd.describe_crosstab(ct, "zh-Hans", by_label="组别")
    en = fd.describe_crosstab(ct, "en", by_label="group")
    assert f"Fisher's exact test, {fd.fmt_p(p, 'en')}" in en and "χ²" not in en


def test_monte_carlo_fisher_is_stated_with_b():
    ct = sv.crosstab(_frame(SMALL), "a", by="b", fisher=True, fisher_seconds=0,
                     simulate_b=FISHER_B)
    assert ct.fisher_method == "monte_carlo" and ct.fisher_b == FISHER_B
    assert "Fisher 精確檢定（蒙地卡羅模擬，B=2000），p=" in fd.describe_crosstab(ct, "zh-Hant")
    assert "Fisher's exact test (Monte Carlo, B = 2000), p = " in fd.describe_crosstab(ct, "en")
    exact = sv.crosstab(_frame(SMALL), "a", by="b", fisher=True, fisher_seconds=0.5)
    assert exact.fisher_method == "exact" and exact.fisher_b is None


def test_fisher_budget_screens_by_size():
    # 3x3 (4 df): the exact enumeration is tried; 5x5 with n = 250: Monte Carlo at once
    assert fisher_budget(sv.crosstab(_frame(SMALL), "a", by="b", fisher=False)) > 0
    big = np.full((5, 5), 10).tolist()
    assert fisher_budget(sv.crosstab(_frame(big), "a", by="b", fisher=False)) == 0
    tiny = np.full((5, 5), 2).tolist()  # n = 50: exact tried
    assert fisher_budget(sv.crosstab(_frame(tiny), "a", by="b", fisher=False)) > 0
