"""crosstab against R (chisq.test, fisher.test, vcd::assocstats, cor) and its invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_data import table_frame
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import AnalysisError

REL = 1e-6
TWO_BY_TWO = [
    ("classic/table/apisrs/comp.imp_x_sch.wide", "comp.imp", "sch.wide"),
]


def _mat(m):
    return np.array(m["values"], dtype=float)


@pytest.mark.parametrize(
    "ref_id",
    [
        "classic/table/apisrs/comp.imp_x_sch.wide",
        "classic/table/apistrat/sch.wide_x_yr.rnd",
        "classic/table/apisrs/stype_x_sch.wide",
    ],
)
def test_table_matches_r(classics, ref_id):
    # R: tab <- table(x, y); chisq.test(tab, correct = FALSE/TRUE); fisher.test(tab);
    #    vcd::assocstats(tab); chisq.test(tab)$stdres
    v = classics[ref_id]
    counts = _mat(v["counts"])
    df = table_frame(counts, rows=v["counts"]["rownames"], cols=v["counts"]["colnames"])
    ct = sv.crosstab(df, "r", by="c", fisher=True)
    np.testing.assert_array_equal(ct.counts.to_numpy(), counts)
    assert list(ct.counts.index) == v["counts"]["rownames"]
    assert list(ct.counts.columns) == v["counts"]["colnames"]
    np.testing.assert_allclose(ct.expected.to_numpy(), _mat(v["expected"]), rtol=REL)
    np.testing.assert_allclose(
        ct.adjusted_residuals.to_numpy(), _mat(v["adjusted_standardized_residuals"]), rtol=REL
    )
    np.testing.assert_allclose(ct.residuals.to_numpy(), _mat(v["pearson_residuals"]), rtol=REL)
    tests = ct.tests
    chisq = v["chisq_no_correction"]
    assert tests.loc["pearson", "statistic"] == pytest.approx(chisq["statistic"]["X-squared"], rel=REL)
    assert tests.loc["pearson", "df"] == chisq["parameter"]["df"]
    assert tests.loc["pearson", "p_value"] == pytest.approx(chisq["p_value"], rel=REL)
    assert np.isnan(tests.loc["pearson", "df_denom"])
    lr = v["likelihood_ratio_G2"]
    assert tests.loc["likelihood_ratio", "statistic"] == pytest.approx(lr["statistic"], rel=REL)
    # vcd prints the LR p-value rounded to 0 here; check it against its own chi-square instead
    from scipy.stats import chi2

    assert tests.loc["likelihood_ratio", "p_value"] == pytest.approx(
        chi2.sf(lr["statistic"], lr["df"]), rel=REL)
    # fisher.test(tab)$p.value
    assert tests.loc["fisher", "p_value"] == pytest.approx(v["fisher"]["p_value"], rel=REL)
    es = ct.effect_sizes
    # vcd::assocstats(tab)$cramer and the bias-corrected V (Bergsma) computed in the R script
    assert es.loc["cramers_v", "value"] == pytest.approx(v["cramers_v"], rel=REL)
    assert es.loc["cramers_v_corrected", "value"] == pytest.approx(v["cramers_v_bias_corrected"], rel=REL)
    if counts.shape == (2, 2):
        yates = v["chisq_yates"]
        # chisq.test(tab, correct = TRUE)
        assert tests.loc["pearson_yates", "statistic"] == pytest.approx(
            yates["statistic"]["X-squared"], rel=REL)
        assert tests.loc["pearson_yates", "p_value"] == pytest.approx(yates["p_value"], rel=REL)
        # phi (signed): (ad - bc) / sqrt(r1 r2 c1 c2)
        assert es.loc["phi", "value"] == pytest.approx(v["phi_signed"], rel=REL)
        if "fisher_precise" in v:
            fp = v["fisher_precise"]
            # conditional MLE of the odds ratio and its exact CI (solved precisely)
            assert es.loc["odds_ratio", "value"] == pytest.approx(fp["conditional_mle_odds_ratio"], rel=REL)
            assert es.loc["odds_ratio", "ci_low"] == pytest.approx(fp["conf_int"][0], rel=REL)
            assert es.loc["odds_ratio", "ci_high"] == pytest.approx(fp["conf_int"][1], rel=REL)
    else:
        assert "pearson_yates" not in tests.index
        assert "phi" not in es.index


def test_real_data_counts_and_labels(apisrs):
    # R: table(apisrs$stype, apisrs$sch.wide) -> E: 15 127 / H: 13 12 / M: 9 24
    ct = sv.crosstab(apisrs, "stype", by="sch.wide")
    assert ct.counts.to_numpy().tolist() == [[15, 127], [13, 12], [9, 24]]
    assert ct.counts.index.name == "stype" and ct.counts.columns.name == "sch.wide"


@pytest.mark.parametrize(
    "name", ["t33", "t33b", "t24", "t23", "t44", "t34", "t26", "t33c", "t34s"]
)
def test_fisher_rxc_exact(extra, name):
    # R: fisher.test(tab, workspace = 2e8); chisq.test(tab, correct = FALSE); G2 by formula
    v = extra[f"fisher/{name}"]
    counts = np.array(v["table"]["values"])
    ct = sv.crosstab(table_frame(counts), "r", by="c", fisher=True)
    assert ct.tests.loc["fisher", "p_value"] == pytest.approx(v["fisher_p"], rel=REL)
    assert ct.tests.loc["pearson", "statistic"] == pytest.approx(v["pearson"], rel=REL)
    assert ct.tests.loc["pearson", "p_value"] == pytest.approx(v["pearson_p"], rel=REL)
    assert ct.tests.loc["likelihood_ratio", "statistic"] == pytest.approx(v["g2"], rel=REL)
    assert ct.tests.loc["likelihood_ratio", "p_value"] == pytest.approx(v["g2_p"], rel=REL)
    np.testing.assert_allclose(ct.adjusted_residuals.to_numpy(), _mat(v["stdres"]), rtol=REL)
    assert any("exact" in n for n in ct.notes)


def test_fisher_auto_runs_on_small_expected_counts(extra):
    counts = np.array(extra["fisher/t24"]["table"]["values"])
    ct = sv.crosstab(table_frame(counts), "r", by="c")
    assert "fisher" in ct.tests.index
    note = next(n for n in ct.notes if "expected count < 5" in n)
    assert note.startswith("8 of 8 cells have expected count < 5")
    assert "Fisher's exact test reported" in note


def test_fisher_not_run_by_default_on_large_tables():
    counts = np.array([[300, 200, 100], [250, 260, 270]])
    ct = sv.crosstab(table_frame(counts), "r", by="c")
    assert "fisher" not in ct.tests.index


def test_fisher_monte_carlo_beyond_budget(monkeypatch):
    import survey.analysis._fisher as f

    def too_large(*a, **k):
        raise f.TooLarge

    monkeypatch.setattr(f, "fisher_exact_rxc", too_large)
    counts = np.array([[30, 20, 10], [25, 26, 27], [5, 9, 14]])
    ct = sv.crosstab(table_frame(counts), "r", by="c", fisher=True, simulate_b=500, seed=3)
    p = ct.tests.loc["fisher", "p_value"]
    assert 0 < p <= 1 and (p * 501) == pytest.approx(round(p * 501))
    assert any("Monte Carlo p-value from 500 simulated tables (seed 3)" in n for n in ct.notes)
    again = sv.crosstab(table_frame(counts), "r", by="c", fisher=True, simulate_b=500, seed=3)
    assert again.tests.loc["fisher", "p_value"] == p  # seeded


def test_ordinal_measures(extra):
    # R: cor(x, y, method = "kendall"); gamma = (C - D)/(C + D); M2 = (n - 1) cor(x, y)^2
    v = extra["ordinal/tord"]
    counts = np.array(v["table"]["values"])
    ct = sv.crosstab(table_frame(counts, ordered=True), "r", by="c")
    es = ct.effect_sizes
    assert es.loc["kendall_tau_b", "value"] == pytest.approx(v["tau_b"], rel=REL)
    assert es.loc["gamma", "value"] == pytest.approx(v["gamma"], rel=REL)
    assert es.loc["gamma", "ci_low"] < v["gamma"] < es.loc["gamma", "ci_high"]
    lbl = ct.tests.loc["linear_by_linear"]
    assert lbl["statistic"] == pytest.approx(v["lbl_statistic"], rel=REL)
    assert lbl["df"] == 1
    assert lbl["p_value"] == pytest.approx(v["lbl_p"], rel=REL)


def test_unordered_has_no_ordinal_rows():
    ct = sv.crosstab(table_frame([[10, 20], [30, 5]]), "r", by="c")
    assert "linear_by_linear" not in ct.tests.index
    assert "gamma" not in ct.effect_sizes.index
    assert list(ct.tests.columns) == ["statistic", "df", "df_denom", "p_value"]
    assert list(ct.effect_sizes.columns) == ["value", "ci_low", "ci_high"]


def test_percent_and_margins():
    ct = sv.crosstab(table_frame([[10, 20], [30, 5]]), "r", by="c", margins=True)
    assert ct.counts.loc["Total", "Total"] == 65
    col = ct.percent("column")
    assert col.loc["r1", "c1"] == pytest.approx(25.0)
    assert col.loc["Total", "c2"] == pytest.approx(100.0)
    row = ct.percent("row")
    assert row.loc["r2", "c1"] == pytest.approx(100 * 30 / 35)
    assert ct.percent("total").loc["Total", "Total"] == pytest.approx(100.0)
    with pytest.raises(AnalysisError, match="kind must be 'column', 'row' or 'total'"):
        ct.percent("cell")


def test_where_and_missing_excluded():
    df = table_frame([[10, 20], [30, 5]])
    df.loc[[0, 1], "r"] = np.nan
    ct = sv.crosstab(df, "r", by="c", where=df["c"] == "c1")
    assert ct.counts.to_numpy().tolist() == [[8, 0], [30, 0]]
    assert ct.notes[0] == ("Base: 38 respondents with valid answers to both 'r' and 'c', "
                           "within the where= filter; missing answers excluded.")
    w = sv.crosstab(df.assign(w=2.0), "r", by="c", weight="w")
    assert w.notes[0].startswith("Base: 63 respondents with valid answers to both 'r' and 'c'; "
                                 "weighted estimates (weighted base 126; the respondents' own "
                                 "counts are in .unweighted)")


def test_multi_response_row():
    df = pd.DataFrame({
        "g_a": pd.array([True, True, False, None, True], dtype="boolean"),
        "g_b": pd.array([False, True, True, None, True], dtype="boolean"),
        "sex": pd.Categorical(["m", "m", "f", "f", "f"]),
    })
    ct = sv.crosstab(df, "g", by="sex")
    # f: 2 answered (rows 2, 4): a 1 of 2, b 2 of 2; m: 2 answered: a 2, b 1
    assert ct.counts.to_numpy().tolist() == [[1, 2], [2, 1]]
    np.testing.assert_allclose(ct.percent("column").to_numpy(), [[50, 100], [100, 50]])
    assert ct.tests.empty
    assert any("No chi-square test" in n for n in ct.notes)
    assert any("f 2, m 2" in n for n in ct.notes)


def test_weighted_uses_design_tests(apisrs):
    ct = sv.crosstab(apisrs, "stype", by="sch.wide", weight="pw")
    assert list(ct.tests.index[:2]) == ["rao_scott_f", "rao_scott_chisq"]
    assert ct.counts.to_numpy().sum() == pytest.approx(apisrs["pw"].sum())
    assert any("Rao-Scott" in n for n in ct.notes)


def test_errors_name_the_problem(apisrs):
    with pytest.raises(AnalysisError, match="variable 'stypo' is not in the data"):
        sv.crosstab(apisrs, "stypo", by="sch.wide")
    with pytest.raises(AnalysisError, match="'api00' is a numeric variable with more than 50 "
                       "distinct values; expected a categorical"):
        sv.crosstab(apisrs, "api00", by="sch.wide")
    with pytest.raises(AnalysisError, match="where= has 3 values but the data has 200 rows"):
        sv.crosstab(apisrs, "stype", by="sch.wide", where=[True, False, True])


def test_display(apisrs):
    ct = sv.crosstab(apisrs, "stype", by="sch.wide")
    html = ct._repr_html_()
    assert "background:" in html and "adjusted residual" in html
    assert "Base: 200 respondents" in html
    assert repr(ct).startswith("<CrossTab: stype × sch.wide, 3×2, n=200, pearson p=")
    assert "| stype" in ct._repr_markdown_() or "stype" in ct._repr_markdown_()
    tidy = ct.to_frame()
    assert list(tidy.columns) == ["var", "category", "by", "by_category", "n", "n_weighted", "pct"]
    assert len(tidy) == 6
    assert ct.to_dict()["counts"] == [[15, 127], [13, 12], [9, 24]]


# --- properties ------------------------------------------------------------------------------

tables = st.integers(2, 4).flatmap(
    lambda r: st.integers(2, 4).flatmap(
        lambda c: st.lists(st.lists(st.integers(1, 30), min_size=c, max_size=c), min_size=r, max_size=r)
    )
)


@settings(max_examples=40, deadline=None)
@given(tables)
def test_properties(counts):
    counts = np.array(counts)
    df = table_frame(counts)
    ct = sv.crosstab(df, "r", by="c", fisher=False)
    assert ct.counts.to_numpy().sum() == len(df)
    np.testing.assert_allclose(ct.percent("column").sum(axis=0).to_numpy(), 100.0)
    np.testing.assert_allclose(ct.percent("row").sum(axis=1).to_numpy(), 100.0)
    tr = sv.crosstab(df, "c", by="r", fisher=False)
    for name in ["pearson", "likelihood_ratio"]:
        assert tr.tests.loc[name, "statistic"] == pytest.approx(ct.tests.loc[name, "statistic"], rel=1e-9)
    assert tr.effect_sizes.loc["cramers_v", "value"] == pytest.approx(
        ct.effect_sizes.loc["cramers_v", "value"], rel=1e-9)
    perm = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    pc = sv.crosstab(perm, "r", by="c", fisher=False)
    pd.testing.assert_frame_equal(pc.counts, ct.counts)
    pd.testing.assert_frame_equal(pc.tests, ct.tests)


@settings(max_examples=25, deadline=None)
@given(tables)
def test_cramers_v_ci_is_an_interval_for_the_population_v(counts):
    from scipy.stats import ncx2

    ct = sv.crosstab(table_frame(np.array(counts)), "r", by="c", fisher=False)
    v = ct.effect_sizes.loc["cramers_v"]
    assert 0 <= v["ci_low"] <= v["ci_high"] <= 1
    # the upper bound's noncentrality puts the observed X2 at the 2.5% quantile
    x2, df = ct.tests.loc["pearson", "statistic"], ct.tests.loc["pearson", "df"]
    n, k = ct.n_total, min(ct.table.shape)
    ncp_hi = v["ci_high"] ** 2 * n * (k - 1)
    if 0 < v["ci_high"] < 1:
        assert ncx2.cdf(x2, df, ncp_hi) == pytest.approx(0.025, abs=1e-6)


def test_ordinal_ci_width_matches_sampling_sd(extra):
    # the asymptotic SEs behind the gamma / tau-b CIs agree with the sampling SD of the
    # statistics over tables drawn from the observed proportions (seeded simulation)
    from survey.analysis.crosstab import _gamma_taub

    t = np.array(extra["ordinal/tord"]["table"]["values"], dtype=float)
    z = 1.959963984540054
    res = _gamma_taub(t, z)
    rng = np.random.default_rng(0)
    draws = [_gamma_taub(rng.multinomial(int(t.sum()), (t / t.sum()).ravel())
                         .reshape(t.shape).astype(float), z) for _ in range(1500)]
    for name in ["gamma", "kendall_tau_b"]:
        ase = (res[name][2] - res[name][1]) / (2 * z)
        sd = np.std([d[name][0] for d in draws])
        assert ase == pytest.approx(sd, rel=0.08)


def test_missing_shown_when_asked():
    data = pd.DataFrame({
        "q": pd.Categorical(["a", "b", None, "a", None, "b", "a"], categories=["a", "b"]),
        "g": pd.Categorical(["x", "y", "x", None, "y", "y", "x"], categories=["x", "y"]),
    })
    missing = pd.DataFrame({"q": pd.array([None, None, -99, None, -88, None, None], dtype="Int64"),
                            "g": pd.array([None, None, None, -99, None, None, None], dtype="Int64")})
    s = sv.Survey(data=data, missing=missing)
    plain = sv.crosstab(s, "q", by="g")
    assert plain.counts.shape == (2, 2)
    ct = sv.crosstab(s, "q", by="g", missing=True)
    c = ct.counts
    assert list(c.index) == ["a", "b", "(skipped)", "(no answer)"]
    assert list(c.columns) == ["x", "y", "(no answer)"]
    assert c.loc["(no answer)", "x"] == 1 and c.loc["(skipped)", "y"] == 1
    assert c.loc["a", "(no answer)"] == 1
    assert c.to_numpy().sum() == 7
    # percents and tests use the valid answers only
    pd.testing.assert_frame_equal(ct.percent("column"), plain.percent("column"))
    pd.testing.assert_frame_equal(ct.tests, plain.tests)


@pytest.mark.parametrize("memo", [True, False])
@pytest.mark.parametrize("name", ["t44", "t34s", "t23"])
def test_fisher_final_stage_paths_agree_with_r(extra, monkeypatch, memo, name):
    # both ways of finishing the last two columns (memoised per remaining-row vector, or the
    # per-state hypergeometric tails) against R: fisher.test(tab, workspace = 2e8)
    import survey.analysis._fisher as f

    monkeypatch.setattr(f, "_memo_is_cheaper", lambda *a: memo)
    v = extra[f"fisher/{name}"]
    p = f.fisher_exact_rxc(np.array(v["table"]["values"]))
    assert p == pytest.approx(v["fisher_p"], rel=REL)
