"""Design-based banner letters against R's survey (tests/reference_r/banner_design.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "reference" / "banner_design.json").read_text())


@pytest.fixture(scope="module")
def dclus1():
    df = pd.read_csv(DATA / "apiclus1.csv")
    for c in ["stype", "awards", "sch.wide"]:
        df[c] = pd.Categorical(df[c], sorted(df[c].unique()))
    # R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    return sv.Survey.from_frame(df, weight="pw", psu="dnum", fpc="fpc")


def test_mean_differences_match_svycontrast(dclus1):
    ref = REF["api00_by_stype"]
    b = sv.banner(dclus1, rows=["api00"], by=["stype"], correction="none", min_base=1)
    t = b.tests
    for pr in ref["pairs"]:
        g = t[(t.col_a == pr["ci"]) & (t.col_b == pr["cj"])].iloc[0]
        # R: svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), c(1, -1, 0) ...)
        assert g["statistic"] == pytest.approx(pr["diff"] / pr["se"], rel=1e-6)


@pytest.mark.parametrize("row,by", [("stype", "awards"), ("sch.wide", "stype")])
def test_column_proportion_differences_match_svycontrast(dclus1, row, by):
    ref = REF[f"{row}_by_{by}"]
    b = sv.banner(dclus1, rows=[row], by=[by], correction="none", min_base=1)
    t = b.tests
    for k, r in ref["rows"].items():
        for pr in r["pairs"]:
            got = t[(t.category == k) & (t.col_a == pr["ci"]) & (t.col_b == pr["cj"])]
            assert len(got) == 1
            g = got.iloc[0]
            # R: svycontrast(svyby(~I(row == k), ~by, dclus1, svymean, covmat=TRUE), c(1, -1))
            assert g["statistic"] == pytest.approx(pr["stat"], rel=1e-6)
            assert g["df"] == ref["degf"]
    assert any("design-based" in n for n in b.footnotes)


def _weights_only(seed=3, n=400):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "q": pd.Categorical.from_codes(rng.integers(-1, 3, n), list("abc")),
        "g": pd.Categorical.from_codes(rng.integers(-1, 3, n), list("xyz")),
        "w": rng.uniform(0.3, 3, n),
    })
    return df


def test_weights_only_closed_form_equals_general_path(monkeypatch):
    # the closed form from per-cell sums of squared weights against cell_totals_vcov
    from survey.core.design import Design

    df = _weights_only()
    fast = sv.banner(df, rows=["q"], by=["g"], weight="w", correction="none").tests
    monkeypatch.setattr(Design, "srs_scale", lambda self: None)
    slow = sv.banner(df, rows=["q"], by=["g"], weight="w", correction="none").tests
    np.testing.assert_allclose(fast.statistic, slow.statistic, rtol=1e-9)


def test_se_effective_keeps_kish_letters():
    df = _weights_only()
    eff = sv.banner(df, rows=["q"], by=["g"], weight="w", se="effective", correction="none")
    t = eff.tests
    sub = df.dropna()
    for _, r in t.iterrows():
        a, b_ = sub[sub.g == r.col_a], sub[sub.g == r.col_b]
        na, nb = (x.w.sum() ** 2 / (x.w**2).sum() for x in (a, b_))
        pa, pb = ((x.w * (x.q == r.category)).sum() / x.w.sum() for x in (a, b_))
        pool = (pa * na + pb * nb) / (na + nb)
        z = (pa - pb) / np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
        assert r.statistic == pytest.approx(z, rel=1e-9)
    assert any("effective base" in n for n in eff.footnotes)
    with pytest.raises(sv.AnalysisError, match="se must be 'design' or 'effective'"):
        sv.banner(df, rows=["q"], by=["g"], weight="w", se="kish")


def _contrast_stats(est):
    """(col_a, col_b, category) -> (est_a - est_b) / SE from an Estimate's table and vcov
    (domain-major: by category, then category; a mean's rows are the banner's 'Mean'):
    an independent svycontrast."""
    tab, V = est.to_frame(), np.asarray(est.vcov)
    cats = tab["category"] if "category" in tab else pd.Series("Mean", index=tab.index)
    out = {}
    for cat in cats.unique():
        idx = {tab.by_category[i]: i for i in tab.index if cats[i] == cat}
        for a in idx:
            for b in idx:
                if a < b:
                    i, j = idx[a], idx[b]
                    se = np.sqrt(V[i, i] + V[j, j] - 2 * V[i, j])
                    out[(a, b, cat)] = (tab.estimate[i] - tab.estimate[j]) / se
    return out


def _check_domain_letters(s, mask, row, by, degf):
    b = sv.banner(s, rows=[row, "api00"], by=[by], where=mask, correction="none", min_base=1)
    t = b.tests
    want = _contrast_stats(sv.proportions(s, row, by=by, where=mask))
    want.update(_contrast_stats(sv.mean(s, "api00", by=by, where=mask)))
    got = {(r.col_a, r.col_b, r.category): r.statistic for r in t.itertuples()}
    assert set(got) == set(want)
    for key, v in want.items():
        assert got[key] == pytest.approx(v, rel=1e-9), key
    assert (t.df == degf).all()
    return b


def test_banner_where_is_a_domain_of_the_full_design(dclus1):
    # R subset() semantics: every cluster stays in the variance, rows outside the domain
    # weigh 0, the df is the domain's (#clusters reached - 1). Checked against the same
    # contrasts from sv.proportions / sv.mean with where= (their vcov; an independent path
    # through Estimate, itself checked against R svyby elsewhere)
    df = dclus1.data
    mask = (df["api99"] > 650).to_numpy()
    reached = df.loc[mask, "dnum"].nunique()
    assert reached < df["dnum"].nunique()  # the filter removes whole clusters
    b = _check_domain_letters(dclus1, mask, "sch.wide", "stype", reached - 1)
    assert b.blocks[0].n.sum() > 0
    # a calibrated design: the domain's zero rows still enter the calibration residuals
    # R: svydesign(...) |> postStratify(~stype, data.frame(stype, Freq = c(4421, 755, 1018)))
    ps = sv.poststratify(dclus1, "stype", {"E": 4421, "H": 755, "M": 1018})
    _check_domain_letters(ps, mask, "sch.wide", "awards", reached - 1)
    # the filtered-rows design (what the banner used to build) gives other SEs
    sub = sv.Survey.from_frame(df[mask], weight="pw", psu="dnum", fpc="fpc")
    rebuilt = sv.banner(sub, rows=["api00"], by=["stype"], correction="none", min_base=1)
    dom = sv.banner(dclus1, rows=["api00"], by=["stype"], where=mask, correction="none",
                    min_base=1)
    assert not np.allclose(rebuilt.tests.statistic, dom.tests.statistic, rtol=1e-3)


def test_banner_where_domain_in_strata_and_replicates():
    df = pd.read_csv(DATA / "apistrat.csv")
    for c in ["stype", "sch.wide", "awards"]:
        df[c] = pd.Categorical(df[c], sorted(df[c].unique()))
    # R: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
    dstrat = sv.Survey.from_frame(df, weight="pw", strata="stype", fpc="fpc")
    mask = (df["stype"] != "H").to_numpy()  # a domain reaching two of the three strata
    _check_domain_letters(dstrat, mask, "sch.wide", "awards", int(mask.sum()) - 2)
    weights_only = sv.Survey.from_frame(df, weight="pw")
    _check_domain_letters(weights_only, (df.api99 > 600).to_numpy(), "sch.wide", "awards",
                          int((df.api99 > 600).sum()) - 1)
    # replicate designs: every column's estimate re-estimated per replicate (svrVar), with
    # and without a domain; df = rank of the domain's replicate weights - 1 as sv.proportions
    rep = sv.as_replicate(dstrat, type="JKn")
    W = rep.design_info().replicate.weights
    for m in (mask, np.ones(len(df), bool)):
        # R: degf(subset(rep, ...)) = qr(repweights)$rank - 1 on the domain's rows
        _check_domain_letters(rep, m, "sch.wide", "awards", np.linalg.matrix_rank(W[m]) - 1)


def test_banner_where_se_effective_and_refusals():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": pd.Categorical(rng.choice(["x", "y"], 60)),
                       "g": pd.Categorical(rng.choice(["p", "q"], 60)),
                       "h": np.repeat(np.arange(4), 15), "w": rng.uniform(1, 3, 60)})
    weighted = sv.Survey.from_frame(df, weight="w")
    eff = sv.banner(weighted, rows=["a"], by=["g"], where=df["a"] == "x", se="effective")
    assert any("effective base" in n for n in eff.footnotes)
    df.loc[df.index[-1], "h"] = 9  # a stratum with a single PSU
    lonely = sv.Survey.from_frame(df, weight="w", strata="h", lonely_psu="average")
    with pytest.raises(sv.AnalysisError, match="single PSU.*where="):
        sv.banner(lonely, rows=["a"], by=["g"], where=df["a"] == "x")
