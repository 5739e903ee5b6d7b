"""Banner tables: letters by hand and against statsmodels, corrections, bases, suppression."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.analysis import _banner_engine as eng
from survey.errors import AnalysisError


def table(yes: list[int], n: list[int], groups=("g1", "g2", "g3")) -> pd.DataFrame:
    """Rows of a 2 x k table: `need` (yes/no) by `grp`, with yes[i] of n[i] saying yes."""
    need, grp = [], []
    for g, y, m in zip(groups, yes, n):
        need += ["yes"] * y + ["no"] * (m - y)
        grp += [g] * m
    return pd.DataFrame({
        "need": pd.Categorical(need, categories=["yes", "no"]),
        "grp": pd.Categorical(grp, categories=list(groups)),
    })


def cell(b, category, by_category, stat="pct", var=None):
    f = b.to_frame()
    m = (f.category == category) & (f.by_category == by_category) & (f.stat == stat)
    if var is not None:
        m &= f["var"] == var
    assert m.sum() == 1
    return f[m].iloc[0]


def pooled_z(x1, n1, x2, n2):
    p1, p2 = x1 / n1, x2 / n2
    p = (x1 + x2) / (n1 + n2)
    return (p1 - p2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def two_sided(z):
    return math.erfc(abs(z) / math.sqrt(2))


# --- letters by hand ------------------------------------------------------------------
def test_letters_by_hand_2x3():
    # yes: 40/50 (80%), 25/50 (50%), 10/50 (20%).
    # g1 vs g2: pooled .65, SE = sqrt(.65*.35*(1/50+1/50)) = .0954, z = .30/.0954 = 3.145
    # g1 vs g3: pooled .50, SE = sqrt(.25*.04) = .1,                z = .60/.1    = 6.000
    # g2 vs g3: pooled .35, SE = .0954,                              z = 3.145
    b = sv.banner(table([40, 25, 10], [50, 50, 50]), rows=["need"], by=["grp"],
                  correction="none")
    assert b.letters == ("", "A", "B", "C")
    assert pooled_z(40, 50, 25, 50) == pytest.approx(3.1449, abs=1e-4)
    assert pooled_z(40, 50, 10, 50) == pytest.approx(6.0)
    # every p < 0.05: the higher column gets the letter of the lower one
    assert cell(b, "yes", "g1").sig_letters == "BC"
    assert cell(b, "yes", "g2").sig_letters == "C"
    assert cell(b, "yes", "g3").sig_letters == ""
    assert cell(b, "no", "g3").sig_letters == "AB"
    assert cell(b, "no", "g2").sig_letters == "A"
    assert cell(b, "yes", "Total").sig_letters == ""
    t = b.tests
    row = t[(t.category == "yes") & (t.col_a == "g1") & (t.col_b == "g3")].iloc[0]
    assert row.statistic == pytest.approx(6.0, rel=1e-12)
    assert row.p_raw == pytest.approx(two_sided(6.0), rel=1e-9)


def test_letters_not_given_when_not_significant():
    # 30/60 vs 36/60: pooled .55, SE = sqrt(.55*.45/30) = .0908, z = -.10/.0908 = -1.101
    b = sv.banner(table([30, 36], [60, 60], groups=("a", "b")), rows=["need"], by=["grp"],
                  correction="none")
    assert pooled_z(30, 60, 36, 60) == pytest.approx(-1.1010, abs=1e-4)
    assert set(b.to_frame().sig_letters) == {""}


def test_prop_test_reference_from_r():
    # prop.test(x = c(12, 24), n = c(25, 33), correct = FALSE): X-squared = 3.69410468319559,
    # p = 0.0546050807166888 (classics.json); the pooled z-test is its square root.
    b = sv.banner(table([12, 24], [25, 33], groups=("H", "M")), rows=["need"], by=["grp"],
                  correction="none", min_base=2, alpha=0.06)
    t = b.tests[b.tests.category == "yes"].iloc[0]
    assert t.statistic**2 == pytest.approx(3.69410468319559, rel=1e-9)
    assert t.p_raw == pytest.approx(0.0546050807166888, rel=1e-9)
    assert cell(b, "yes", "M").sig_letters == "A"  # 72.7% > 48.0% at alpha .06
    b05 = sv.banner(table([12, 24], [25, 33], groups=("H", "M")), rows=["need"], by=["grp"],
                    correction="none", min_base=2)
    assert cell(b05, "yes", "M").sig_letters == ""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    yes=st.lists(st.integers(0, 60), min_size=4, max_size=4),
    extra=st.lists(st.integers(2, 60), min_size=4, max_size=4),
)
def test_every_pair_matches_statsmodels(yes, extra):
    from statsmodels.stats.proportion import proportions_ztest

    n = [y + e for y, e in zip(yes, extra)]
    groups = ("a", "b", "c", "d")
    b = sv.banner(table(yes, n, groups), rows=["need"], by=["grp"], correction="none",
                  min_base=1)
    t = b.tests[b.tests.category == "yes"]
    assert len(t) == 6
    for (i, gi), (j, gj) in itertools.combinations(enumerate(groups), 2):
        row = t[(t.col_a == gi) & (t.col_b == gj)].iloc[0]
        if yes[i] + yes[j] in (0, n[i] + n[j]):  # pooled proportion 0 or 1: nothing to test
            assert np.isnan(row.p_raw)
            continue
        z, p = proportions_ztest([yes[i], yes[j]], [n[i], n[j]])
        assert row.statistic == pytest.approx(z, rel=1e-9, abs=1e-12)
        assert row.p_raw == pytest.approx(p, rel=1e-9, abs=1e-15)
        higher = "" if p >= 0.05 else (b.letters[1 + i] if yes[i] / n[i] > yes[j] / n[j]
                                       else b.letters[1 + j])
        assert row.higher == higher
        if higher:
            hi, lo = (i, j) if higher == b.letters[1 + i] else (j, i)
            assert b.letters[1 + lo] in cell(b, "yes", groups[hi]).sig_letters


# --- corrections --------------------------------------------------------------------------
P = [1e-04, 0.004, 0.012, 0.019, 0.03, 0.03, 0.041, 0.2, 0.45, 0.9]


@pytest.mark.parametrize("method,expected", [
    # p.adjust(c(1e-04, 0.004, 0.012, 0.019, 0.03, 0.03, 0.041, 0.2, 0.45, 0.9), method = "holm")
    ("holm", [0.001, 0.036, 0.096, 0.133, 0.18, 0.18, 0.18, 0.6, 0.9, 0.9]),
    # same, method = "BH"
    ("bh", [0.001, 0.02, 0.04, 0.0475, 0.05, 0.05, 0.0585714285714286, 0.25, 0.5, 0.9]),
    # same, method = "bonferroni"
    ("bonferroni", [0.001, 0.04, 0.12, 0.19, 0.3, 0.3, 0.41, 1, 1, 1]),
])
def test_adjust_matches_r(method, expected):
    assert eng.adjust(np.array(P), method) == pytest.approx(expected, rel=1e-9)
    shuffled = np.array(P)[::-1]
    assert eng.adjust(shuffled, method) == pytest.approx(expected[::-1], rel=1e-9)


@pytest.mark.parametrize("method,expected", [
    ("holm", [0.04, np.nan, 0.09, 0.09, 0.2]),  # p.adjust(c(0.01, NA, 0.04, 0.03, 0.2), "holm")
    ("bh", [0.04, np.nan, 0.0533333333333333, 0.0533333333333333, 0.2]),  # same, "BH"
])
def test_adjust_with_na_matches_r(method, expected):
    out = eng.adjust(np.array([0.01, np.nan, 0.04, 0.03, 0.2]), method)
    np.testing.assert_allclose(out, expected, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 60), groups=st.integers(1, 6))
def test_adjust_within_groups_equals_adjust_pvalues_per_family(seed, n, groups):
    from survey.analysis.padjust import adjust_pvalues

    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.3, n)
    p[rng.random(n) < 0.1] = np.nan
    p[rng.random(n) < 0.1] = 0.05  # ties
    g = rng.integers(0, groups, n)
    for method in ("holm", "bh", "bonferroni"):
        together = eng.adjust(p, method, g)
        for k in range(groups):
            np.testing.assert_allclose(together[g == k], adjust_pvalues(p[g == k], method),
                                       rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_adjust_segments_of_very_different_lengths_equal_per_family(seed):
    # a banner's families are k x pairs long (2 to hundreds): adjust_segments then sorts
    # them in several matrices of similar widths; each family must come out as alone
    from survey.analysis.padjust import adjust_pvalues

    rng = np.random.default_rng(seed)
    lengths = rng.choice([1, 2, 3, 7, 15, 21, 40, 105, 147, 300], size=rng.integers(2, 12))
    p = rng.uniform(0, 0.2, int(lengths.sum()))
    p[rng.random(p.size) < 0.1] = np.nan
    p[rng.random(p.size) < 0.1] = 0.01  # ties
    bounds = np.r_[0, np.cumsum(lengths)]
    for method in ("holm", "bh", "bonferroni"):
        got = eng.adjust_segments(p, lengths, method)
        for a, z in zip(bounds[:-1], bounds[1:]):
            np.testing.assert_allclose(got[a:z], adjust_pvalues(p[a:z], method), rtol=1e-12)


def test_holm_removes_a_letter_that_none_gives():
    # yes: 30/60 (50%), 42/60 (70%), 36/60 (60%): a vs b z = -2.236, p = .0253 (raw);
    # six tests in the block (2 rows x 3 pairs), smallest p .0253 * 6 = .152 -> no letter.
    df = table([30, 42, 36], [60, 60, 60])
    assert two_sided(pooled_z(30, 60, 42, 60)) == pytest.approx(0.02535, abs=1e-5)
    none = sv.banner(df, rows=["need"], by=["grp"], correction="none")
    holm = sv.banner(df, rows=["need"], by=["grp"], correction="holm")
    assert cell(none, "yes", "g2").sig_letters == "A"
    assert cell(holm, "yes", "g2").sig_letters == ""
    t = holm.tests
    pair = t[(t.category == "yes") & (t.col_a == "g1") & (t.col_b == "g2")].iloc[0]
    assert pair.p_adjusted == pytest.approx(min(1, 6 * pair.p_raw), rel=1e-12)


def test_spss_preset_bonferroni_within_row():
    # SPSS BPROP: Bonferroni over the 3 pairs of one row (not the 6 of the block)
    df = table([30, 42, 36], [60, 60, 60])
    b = sv.banner(df, rows=["need"], by=["grp"], preset="spss")
    t = b.tests
    pair = t[(t.category == "yes") & (t.col_a == "g1") & (t.col_b == "g2")].iloc[0]
    assert pair.p_adjusted == pytest.approx(3 * pair.p_raw, rel=1e-12)
    assert "Bonferroni" in b.footnotes[0] and "SPSS" in b.footnotes[0]


def test_two_level_letters_and_q_preset():
    # g1 80% vs g2 50% (z = 3.145, p = .0017 < .01): upper case; g2 50% vs g3 30%:
    # z = 2.041, p = .041 (between .01 and .05): lower case
    df = table([40, 25, 15], [50, 50, 50])
    assert 0.01 < two_sided(pooled_z(25, 50, 15, 50)) < 0.05
    b = sv.banner(df, rows=["need"], by=["grp"], correction="none", letters="two-level")
    assert cell(b, "yes", "g1").sig_letters == "BC"
    assert cell(b, "yes", "g2").sig_letters == "c"
    q = sv.banner(df, rows=["need"], by=["grp"], preset="q")
    assert q.correction == "bh" and q.alpha_strict == 0.001
    assert "Benjamini-Hochberg" in q.footnotes[0]


def test_letters_only_within_the_same_by_variable_and_across_banner():
    rng = np.random.default_rng(5)
    df = table([40, 25, 10], [50, 50, 50])
    df["sex"] = pd.Categorical(rng.choice(["f", "m"], len(df)))
    b = sv.banner(df, rows=["need"], by=["grp", "sex"], correction="none")
    assert b.letters == ("", "A", "B", "C", "D", "E")
    t = b.tests
    assert set(zip(t.letter_a, t.letter_b)) == {("A", "B"), ("A", "C"), ("B", "C"), ("D", "E")}
    for s in b.to_frame().sig_letters:
        assert set(s) <= {"A", "B", "C"} or set(s) <= {"D", "E"}


def test_min_base_columns_not_tested():
    df = table([40, 25, 2], [50, 50, 10])
    b = sv.banner(df, rows=["need"], by=["grp"], correction="none", min_base=30)
    t = b.tests
    assert t[(t.col_b == "g3") | (t.col_a == "g3")].p_raw.isna().all()
    assert "C" not in "".join(b.to_frame().sig_letters)
    assert b.small_base == (False, False, False, True)
    assert "class=small" in b.to_html()


# --- means (Welch) --------------------------------------------------------------------------
def test_numeric_rows_mean_sd_median_and_welch():
    from scipy import stats

    rng = np.random.default_rng(2)
    grp = np.repeat(["a", "b", "c"], [40, 45, 50])
    x = np.r_[rng.normal(10, 2, 40), rng.normal(11.5, 3, 45), rng.normal(10.2, 1, 50)]
    x[[3, 50]] = np.nan
    df = pd.DataFrame({"x": x, "grp": pd.Categorical(grp)})
    b = sv.banner(df, rows=["x"], by=["grp"], correction="none")
    for g in "abc":
        xs = df.x[df.grp == g].dropna()
        assert cell(b, "Mean", g, "mean").value == pytest.approx(xs.mean(), rel=1e-12)
        assert cell(b, "SD", g, "sd").value == pytest.approx(xs.std(), rel=1e-10)
        assert cell(b, "Median", g, "median").value == pytest.approx(xs.median(), rel=1e-12)
        assert cell(b, "Mean", g, "mean").n == len(xs)
    assert cell(b, "Median", "Total", "median").value == pytest.approx(df.x.median())
    t = b.tests
    for ga, gb in [("a", "b"), ("a", "c"), ("b", "c")]:
        ref = stats.ttest_ind(df.x[df.grp == ga].dropna(), df.x[df.grp == gb].dropna(),
                              equal_var=False)
        row = t[(t.col_a == ga) & (t.col_b == gb)].iloc[0]
        assert row.statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert row.p_raw == pytest.approx(ref.pvalue, rel=1e-8)
        assert row.df == pytest.approx(ref.df, rel=1e-9)


def test_likert_rows_distribution_nets_and_mean():
    cats = ["strongly disagree", "disagree", "neutral", "agree", "strongly agree"]
    vals = [1] * 5 + [2] * 10 + [3] * 15 + [4] * 40 + [5] * 30
    df = pd.DataFrame({
        "q8": pd.Categorical.from_codes(np.array(vals) - 1, cats, ordered=True),
        "grp": pd.Categorical(["a", "b"] * 50),
    })
    b = sv.banner(df, rows=["q8"], by=["grp"])
    f = b.to_frame()
    tot = f[(f.by == "Total")]
    assert list(tot.stat) == ["base"] + ["pct"] * 5 + ["net", "net", "mean"]
    assert cell(b, "Top-2-box", "Total", "net").pct == pytest.approx(70.0)
    assert cell(b, "Bottom-2-box", "Total", "net").pct == pytest.approx(15.0)
    assert cell(b, "Mean", "Total", "mean").value == pytest.approx(np.mean(vals))
    sub = np.array(vals)[::2]
    assert cell(b, "Mean", "a", "mean").value == pytest.approx(sub.mean())
    # not Likert when asked
    b2 = sv.banner(df, rows=["q8"], by=["grp"], likert=False)
    assert set(b2.to_frame().stat) == {"base", "pct"}


# --- multiple response ----------------------------------------------------------------------
def test_multi_response_rows_base_is_respondents():
    df = pd.DataFrame({
        "q5_a": pd.array([True, True, False, pd.NA, True, False], dtype="boolean"),
        "q5_b": pd.array([True, False, False, pd.NA, True, True], dtype="boolean"),
        "grp": pd.Categorical(["x", "x", "x", "y", "y", "y"]),
    })
    b = sv.banner(df, rows=["q5"], by=["grp"], min_base=1,
                  nets={"q5": {"a or b": ["a", "b"]}})
    f = b.to_frame()
    base = f[(f.stat == "base") & (f.by == "Total")].iloc[0]
    assert base.n == 5  # the row with <NA> did not answer
    assert cell(b, "a", "Total").pct == pytest.approx(60.0)
    assert cell(b, "b", "Total").pct == pytest.approx(60.0)
    assert cell(b, "a or b", "Total", "net").pct == pytest.approx(80.0)
    assert cell(b, "a", "y").n == 1 and cell(b, "a", "y").pct == pytest.approx(50.0)
    assert "more than 100%" in " ".join(b.footnotes)


# --- weights ----------------------------------------------------------------------------
def test_weighted_percent_and_effective_base():
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({
        "need": pd.Categorical(rng.choice(["yes", "no"], n, p=[0.6, 0.4])),
        "grp": pd.Categorical(rng.choice(["a", "b"], n)),
        "w": rng.uniform(0.5, 3, n),
    })
    b = sv.banner(df, rows=["need"], by=["grp"], weight="w", correction="none",
                  se="effective")
    for g in ["a", "b"]:
        sub = df[df.grp == g]
        neff = sub.w.sum() ** 2 / (sub.w**2).sum()
        base = cell(b, "", g, "base")
        assert base.n == len(sub)
        assert base.n_weighted == pytest.approx(sub.w.sum(), rel=1e-12)
        assert base.value == pytest.approx(neff, rel=1e-12)
        p = sub.w[sub.need == "yes"].sum() / sub.w.sum()
        c = cell(b, "yes", g)
        assert c.pct == pytest.approx(100 * p, rel=1e-12)
        assert c.n == (sub.need == "yes").sum()
        assert c.se == pytest.approx(100 * math.sqrt(p * (1 - p) / neff), rel=1e-10)
    sa, sb = df[df.grp == "a"], df[df.grp == "b"]
    na = sa.w.sum() ** 2 / (sa.w**2).sum()
    nb = sb.w.sum() ** 2 / (sb.w**2).sum()
    pa = sa.w[sa.need == "yes"].sum() / sa.w.sum()
    pb = sb.w[sb.need == "yes"].sum() / sb.w.sum()
    pool = (pa * na + pb * nb) / (na + nb)
    z = (pa - pb) / math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    t = b.tests[b.tests.category == "yes"].iloc[0]
    assert t.statistic == pytest.approx(z, rel=1e-10)
    assert any("effective base" in n for n in b.footnotes)


# --- invariants -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 120), k=st.integers(1, 6), kb=st.integers(1, 4), seed=st.integers(0, 10**6),
    weighted=st.booleans(),
)
def test_counts_sum_to_base_and_percents_to_100(n, k, kb, seed, weighted):
    rng = np.random.default_rng(seed)
    q = rng.integers(-1, k, n)
    g = rng.integers(-1, kb, n)
    df = pd.DataFrame({
        "q": pd.Categorical.from_codes(q, [f"c{i}" for i in range(k)]),
        "g": pd.Categorical.from_codes(g, [f"g{i}" for i in range(kb)]),
        "w": rng.uniform(0.2, 4, n),
    })
    b = sv.banner(df, rows=["q"], by=["g"], weight="w" if weighted else None, min_base=1)
    f = b.to_frame()
    base = f[f.stat == "base"].set_index("by_category")
    cells = f[f.stat == "pct"]
    sums = cells.groupby("by_category", sort=False)[["n", "n_weighted"]].sum()
    assert (sums.n == base.n.loc[sums.index]).all()
    np.testing.assert_allclose(sums.n_weighted, base.n_weighted.loc[sums.index], rtol=1e-9)
    assert base.n.loc["Total"] == (q >= 0).sum()
    pct = cells.groupby("by_category", sort=False).pct.sum()
    ok = base.n.loc[pct.index] > 0
    np.testing.assert_allclose(pct[ok.to_numpy()], 100.0, rtol=1e-9)
    # independent count: pandas groupby over the same rows
    ww = df.w if weighted else pd.Series(1.0, index=df.index)
    ref = ww.groupby([df.q, df.g], observed=False).sum()
    for (qc, gc), v in ref.items():
        c = cells[(cells.category == qc) & (cells.by_category == gc)].iloc[0]
        assert c.n_weighted == pytest.approx(v, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("path", ["small", "chunked", "per_by"])
def test_counting_paths_agree(monkeypatch, path):
    rng = np.random.default_rng(9)
    n = 3000
    df = pd.DataFrame({f"q{i}": pd.Categorical.from_codes(rng.integers(-1, 4, n), list("abcd"))
                       for i in range(5)})
    df["g"] = pd.Categorical.from_codes(rng.integers(-1, 3, n), list("xyz"))
    df["h"] = pd.Categorical.from_codes(rng.integers(0, 2, n), list("uv"))
    df["w"] = rng.uniform(0.5, 2, n)
    rows = [f"q{i}" for i in range(5)]
    with monkeypatch.context() as m:  # reference: whole-data bincounts, one chunk
        m.setattr(eng, "SMALL", 0)
        ref = sv.banner(df, rows=rows, by=["g", "h"], weight="w").to_frame()
    if path == "small":
        monkeypatch.setattr(eng, "SMALL", 10**9)
    elif path == "chunked":
        monkeypatch.setattr(eng, "SMALL", 0)
        monkeypatch.setattr(eng, "CHUNK", 256)
    else:
        monkeypatch.setattr(eng, "MAX_JOINT", 0)
    got = sv.banner(df, rows=rows, by=["g", "h"], weight="w").to_frame()
    pd.testing.assert_frame_equal(got, ref, rtol=1e-10)


# --- suppression ------------------------------------------------------------------------
def test_primary_and_secondary_suppression():
    # grp g1: yes 3, no 57; g2: yes 30, no 30. The 3 is hidden (<5); in its column the
    # only other cell (57) would give it back from the base, so it is hidden too (x);
    # in its row the g2 cell (30) would give it back from the Total, so it is hidden too.
    df = table([3, 30], [60, 60], groups=("g1", "g2"))
    b = sv.banner(df, rows=["need"], by=["grp"])
    sup = b.suppressed()
    flag = {(r.category, r.by_category): r.suppressed for r in sup.itertuples()
            if r.stat == "pct"}
    assert flag[("yes", "g1")] == "primary"
    assert flag[("no", "g1")] == "secondary"
    assert flag[("yes", "g2")] == "secondary"
    # then the Total column and the g2 column each have one hidden cell: more follow
    hidden_per_col = sup[sup.suppressed != ""].groupby("by_category").size()
    assert (hidden_per_col != 1).all()
    html = b.to_html()
    assert "&lt;5" in html and ">x<" in html
    assert ">3<" not in html
    # the tidy frame keeps the real numbers
    assert cell(b, "yes", "g1").n == 3
    # off when asked
    assert set(sv.banner(df, rows=["need"], by=["grp"], suppress_below=0)
               .suppressed().suppressed) == {""}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), k=st.integers(2, 5), kb=st.integers(2, 4))
def test_no_single_hidden_cell_in_any_row_or_column(seed, k, kb):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 80))
    df = pd.DataFrame({
        "q": pd.Categorical.from_codes(rng.integers(0, k, n), [f"c{i}" for i in range(k)]),
        "g": pd.Categorical.from_codes(rng.integers(0, kb, n), [f"g{i}" for i in range(kb)]),
    })
    b = sv.banner(df, rows=["q"], by=["g"], likert=False)
    sup = b.suppressed()
    sup = sup[sup.stat == "pct"]
    hidden = sup.suppressed != ""
    assert (hidden.groupby(sup.by_category).sum() != 1).all()
    assert (hidden.groupby(sup.category).sum() != 1).all()


def test_likert_mean_hidden_when_a_cell_is_hidden():
    cats = ["1", "2", "3", "4", "5"]
    codes = np.r_[[0] * 2, [1] * 10, [2] * 20, [3] * 30, [4] * 38]
    df = pd.DataFrame({"q": pd.Categorical.from_codes(codes, cats, ordered=True),
                       "g": pd.Categorical(["a"] * 100)})
    sup = sv.banner(df, rows=["q"], by=["g"]).suppressed()
    m = sup[(sup.stat == "mean") & (sup.by_category == "a")].iloc[0]
    assert m.suppressed == "secondary"


# --- outputs ----------------------------------------------------------------------------
def test_to_frame_columns_and_total():
    b = sv.banner(table([40, 25, 10], [50, 50, 50]), rows=["need"], by=["grp"])
    f = b.to_frame()
    assert list(f.columns) == ["var", "category", "by", "by_category", "stat", "n",
                               "n_weighted", "pct", "value", "se", "ci_low", "ci_high",
                               "p_value", "sig_letters"]
    assert set(f[f.by == "Total"].by_category) == {"Total"}
    assert f.sig_letters.map(type).eq(str).all()
    c = cell(b, "yes", "g1")
    assert c.ci_low < c.pct < c.ci_high


def test_html_is_deterministic_and_has_sticky_headers():
    df = table([40, 25, 10], [50, 50, 50])
    h1 = sv.banner(df, rows=["need"], by=["grp"])._repr_html_()
    h2 = sv.banner(df, rows=["need"], by=["grp"])._repr_html_()
    assert h1 == h2
    assert "position:sticky" in h1
    assert "<span class='sig'>BC</span>" in h1
    assert "id=" not in h1
    md = sv.banner(df, rows=["need"], by=["grp"]).to_markdown()
    assert "80.0 BC" in md


def test_labels_in_chosen_language():
    df = table([40, 25, 10], [50, 50, 50])
    b = sv.banner(df, rows=["need"], by=["grp"], language="zh-Hant")
    assert b.columns[0]["category"] == "合計"
    assert "樣本量 (n)" in b.to_html()


def test_excel_output(tmp_path):
    from openpyxl import load_workbook

    df = table([40, 25, 10], [50, 50, 50])
    df["w"] = 1.0 + (np.arange(len(df)) % 3) / 2
    b = sv.banner(df, rows=["need"], by=["grp"], weight="w", title="=cmd")
    path = tmp_path / "b.xlsx"
    b.to_excel(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Contents", "Banner"]
    ws = wb["Banner"]
    assert ws.freeze_panes == "C6"
    assert ws["A1"].value == "=cmd" and ws["A1"].data_type == "s"  # not a formula
    values = {(c.row, c.column): c for row in ws.iter_rows() for c in row if c.value is not None}
    # letters sit in their own cells next to the numbers
    yes_row = next(r for (r, col), c in values.items() if col == 2 and c.value == "yes")
    g1 = values[(yes_row, 5)]
    assert isinstance(g1.value, float) and g1.number_format == "0.0"
    assert values[(yes_row, 6)].value == "BC"
    assert ws.cell(5, 6).value == "A"
    notes = [c.value for (r, col), c in values.items() if col == 1 and isinstance(c.value, str)]
    assert any("design-based" in str(n) for n in notes)
    assert wb["Contents"]["A3"].hyperlink is not None


def test_excel_is_byte_identical(tmp_path):
    df = table([40, 25, 10], [50, 50, 50])
    b = sv.banner(df, rows=["need"], by=["grp"])
    import zipfile

    b.to_excel(tmp_path / "a.xlsx")
    b.to_excel(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    # no save time anywhere (openpyxl stamps it into core.xml and the zip entries)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z</dcterms:modified>" in core


def test_percent_row_and_total():
    df = table([40, 25, 10], [50, 50, 50])
    b = sv.banner(df, rows=["need"], by=["grp"], percent="row")
    assert cell(b, "yes", "g1").pct == pytest.approx(40 / 75 * 100)
    b = sv.banner(df, rows=["need"], by=["grp"], percent="total")
    assert cell(b, "yes", "g1").pct == pytest.approx(40 / 150 * 100)


def test_where_filter():
    df = table([40, 25, 10], [50, 50, 50])
    b = sv.banner(df, rows=["need"], by=["grp"], where=df.grp != "g3")
    assert cell(b, "", "Total", "base").n == 100
    assert "where= filter" in " ".join(b.footnotes)


# --- errors -----------------------------------------------------------------------------
def test_errors_are_clear():
    df = table([40, 25, 10], [50, 50, 50])
    with pytest.raises(AnalysisError, match="banner row variable 'ned' is not in the data.*need"):
        sv.banner(df, rows=["ned"], by=["grp"])
    with pytest.raises(AnalysisError, match="correction must be one of"):
        sv.banner(df, rows=["need"], by=["grp"], correction="tukey")
    with pytest.raises(AnalysisError, match="preset must be"):
        sv.banner(df, rows=["need"], by=["grp"], preset="wincross")
    df["x"] = np.arange(len(df), dtype=float)
    with pytest.raises(AnalysisError, match="must be single-choice.*recode"):
        sv.banner(df, rows=["need"], by=["x"])
    with pytest.raises(AnalysisError, match="where= takes a boolean mask"):
        sv.banner(df, rows=["need"], by=["grp"], where="grp == 'g1'")
    with pytest.raises(AnalysisError, match="not one of its categories"):
        sv.banner(df, rows=["need"], by=["grp"], nets={"need": {"x": ["maybe"]}})


# --- the flagship survey ----------------------------------------------------------------
@pytest.fixture(scope="module")
def flagship():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    q = sv.load_questionnaire(root / "questionnaires" / "grassroots_training.yaml")
    return sv.read_responses(root / "data" / "grassroots_training_responses.csv", q)


def test_flagship_banner_against_rank_age_education(flagship, tmp_path):
    from openpyxl import load_workbook

    rows = ["necessity", "gains", *[f"att_{i}" for i in range(1, 7)], "grassroots_years"]
    b = sv.banner(flagship, rows=rows, by=["rank_level", "age_band", "education"],
                  language="zh-Hant")
    f = b.to_frame()
    assert set(f["var"]) == set(rows)
    assert set(f.by) == {"Total", "rank_level", "age_band", "education"}
    # the template says the gains question is reported on all returned forms
    base = f[(f["var"] == "gains") & (f.stat == "base") & (f.by == "Total")].iloc[0]
    assert base.n == len(flagship.data)
    assert any("份回收問卷為基數" in n for n in b.footnotes)  # footnotes in zh-Hant too
    assert any("Kish" not in n and "未加權" in n for n in b.footnotes)
    info = flagship.var_info("necessity", language="zh-Hant")
    html = b.to_html()
    assert info.label in html and info.categories[0] in html
    assert flagship.var_info("rank_level", language="zh-Hant").label in html
    b.to_excel(tmp_path / "flagship.xlsx")
    ws = load_workbook(tmp_path / "flagship.xlsx")["Banner"]
    assert ws["A6"].value == info.label


def test_likert_mean_letters_are_welch_on_the_scores():
    from scipy import stats

    rng = np.random.default_rng(11)
    cats = ["1", "2", "3", "4", "5"]
    g = np.repeat(["a", "b"], [80, 90])
    codes = np.r_[rng.choice(5, 80, p=[.1, .2, .3, .2, .2]), rng.choice(5, 90, p=[.05, .1, .2, .3, .35])]
    df = pd.DataFrame({"q": pd.Categorical.from_codes(codes, cats, ordered=True),
                       "g": pd.Categorical(g)})
    b = sv.banner(df, rows=["q"], by=["g"], correction="none")
    t = b.tests[b.tests.stat == "mean"].iloc[0]
    ref = stats.ttest_ind(codes[:80] + 1, codes[80:] + 1, equal_var=False)
    assert t.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert t.p_raw == pytest.approx(ref.pvalue, rel=1e-8)
    assert (cell(b, "Mean", "b", "mean").sig_letters == "A") == (ref.pvalue < 0.05
                                                                 and ref.statistic < 0)


def test_multi_response_options_tested_on_the_respondent_base():
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(12)
    n = 200
    g = rng.choice(["x", "y"], n)
    a = rng.random(n) < np.where(g == "x", 0.3, 0.6)
    answered = rng.random(n) < 0.9
    df = pd.DataFrame({
        "q5_a": pd.array(np.where(answered, a, False), dtype="boolean"),
        "q5_b": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "g": pd.Categorical(g),
    })
    df.loc[~answered, ["q5_a", "q5_b"]] = pd.NA
    b = sv.banner(df, rows=["q5"], by=["g"], correction="none")
    t = b.tests[b.tests.category == "a"].iloc[0]
    sel = [int((a & answered & (g == k)).sum()) for k in ("x", "y")]
    base = [int((answered & (g == k)).sum()) for k in ("x", "y")]
    z, p = proportions_ztest(sel, base)
    assert t.statistic == pytest.approx(z, rel=1e-9)
    assert t.p_raw == pytest.approx(p, rel=1e-9)
    assert cell(b, "", "x", "base").n == base[0]
