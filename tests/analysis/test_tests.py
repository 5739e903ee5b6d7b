"""Group comparisons against R's stats package (classics.json) and hand formulas run in R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey.errors import AnalysisError

REL = 1e-6


def test_welch_ttest(apisrs, classics):
    # R: t.test(api00 ~ sch.wide, data = apisrs, var.equal = FALSE)
    v = classics["classic/t.test/apisrs/api00~sch.wide/var.equal=FALSE"]
    r = sv.ttest(apisrs, "api00", by="sch.wide")
    assert r.statistic == pytest.approx(v["statistic"]["t"], rel=REL)
    assert r.df == pytest.approx(v["parameter"]["df"], rel=REL)
    assert np.isnan(r.df_denom)
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["conf_int"]), rel=REL)
    means = v["estimate"]
    assert r.estimate == pytest.approx(means["mean in group No"] - means["mean in group Yes"], rel=REL)
    assert r.groups["mean"].tolist() == pytest.approx([574, 675.331288343558], rel=REL)
    frame = r.to_frame()
    for col in ["statistic", "df", "df_denom", "p_value", "effect_size"]:
        assert col in frame.columns


def test_pooled_ttest(apisrs, classics):
    # R: t.test(api00 ~ sch.wide, data = apisrs, var.equal = TRUE)
    v = classics["classic/t.test/apisrs/api00~sch.wide/var.equal=TRUE"]
    r = sv.ttest(apisrs, "api00", by="sch.wide", equal_var=True)
    assert r.statistic == pytest.approx(v["statistic"]["t"], rel=REL)
    assert r.df == v["parameter"]["df"]
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["conf_int"]), rel=REL)


def test_paired_ttest(apisrs, classics):
    # R: t.test(apisrs$api00, apisrs$api99, paired = TRUE)
    v = classics["classic/t.test/apisrs/api00_vs_api99/paired"]
    r = sv.ttest(apisrs, "api00", by="api99", paired=True)
    assert r.statistic == pytest.approx(v["statistic"]["t"], rel=REL)
    assert r.df == v["parameter"]["df"]
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["conf_int"]), rel=REL)


@pytest.mark.parametrize("correct", [True, False])
def test_mann_whitney(apisrs, classics, correct):
    # R: wilcox.test(api00 ~ sch.wide, data = apisrs, exact = FALSE, correct = correct)
    v = classics[f"classic/wilcox.test/apisrs/api00~sch.wide/correct={str(correct).upper()}"]
    r = sv.mann_whitney(apisrs, "api00", by="sch.wide", correct=correct)
    assert r.statistic == v["statistic"]["W"]
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert r.estimate == v["hodges_lehmann_median_of_differences"]


def test_kruskal(apisrs, classics):
    # R: kruskal.test(api00 ~ stype, data = apisrs)
    v = classics["classic/kruskal.test/apisrs/api00~stype"]
    r = sv.kruskal(apisrs, "api00", by="stype")
    assert r.statistic == pytest.approx(v["statistic"]["Kruskal-Wallis chi-squared"], rel=REL)
    assert r.df == v["parameter"]["df"]
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)


@pytest.mark.parametrize("welch", [True, False])
def test_anova(apisrs, classics, welch):
    # R: oneway.test(api00 ~ stype, data = apisrs, var.equal = !welch)
    v = classics[f"classic/oneway.test/apisrs/api00~stype/var.equal={str(not welch).upper()}"]
    r = sv.anova(apisrs, "api00", by="stype", welch=welch)
    assert r.statistic == pytest.approx(v["statistic"]["F"], rel=REL)
    assert r.df == v["parameter"]["num df"]
    assert r.df_denom == pytest.approx(v["parameter"]["denom df"], rel=REL)
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    # R: summary(aov(api00 ~ stype)): eta^2 = SS_stype / (SS_stype + SS_resid)
    aov = classics["classic/aov/apisrs/api00~stype"]
    assert r.effect_size == pytest.approx(aov["eta_squared"], rel=REL)
    assert r.effect_size_name == "eta_squared"


@pytest.mark.parametrize("correct", [True, False])
def test_prop_test(classics, correct):
    # R: prop.test(x = c(12, 24), n = c(25, 33), correct = correct)
    v = classics[f"classic/prop.test/apisrs/sch.wide_yes_H_vs_M/correct={str(correct).upper()}"]
    df = pd.DataFrame({
        "yes": pd.Categorical(["No"] * 13 + ["Yes"] * 12 + ["No"] * 9 + ["Yes"] * 24),
        "g": pd.Categorical(["H"] * 25 + ["M"] * 33),
    })
    r = sv.prop_test(df, "yes", by="g", correct=correct)
    assert r.statistic == pytest.approx(v["statistic"]["X-squared"], rel=REL)
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["conf_int"]), rel=REL)
    assert r.groups["proportion"].tolist() == pytest.approx(list(v["estimate"].values()), rel=REL)
    r2 = sv.prop_test(df, "yes", by="g", correct=correct, success="Yes")
    assert r2.statistic == r.statistic


def test_tukey(apisrs, extra):
    # R: TukeyHSD(aov(api00 ~ stype, data = apisrs))
    v = extra["tukey/apisrs/api00~stype"]
    t = sv.tukey_hsd(apisrs, "api00", by="stype").to_frame()
    assert [f"{b}-{a}" for a, b in zip(t["group1"], t["group2"])] == v["comparisons"]
    np.testing.assert_allclose(t["diff"], v["diff"], rtol=REL)
    np.testing.assert_allclose(t["ci_low"], v["lwr"], rtol=REL)
    np.testing.assert_allclose(t["ci_high"], v["upr"], rtol=REL)
    np.testing.assert_allclose(t["p_value"], v["p_adj"], rtol=1e-5)  # ptukey is numerical


def test_games_howell(apisrs, extra):
    # R (by definition): q = |d| / sqrt((va/na + vb/nb)/2); ptukey(q, k, welch df, lower = FALSE)
    v = extra["games_howell/apisrs/api00~stype"]
    t = sv.games_howell(apisrs, "api00", by="stype").to_frame()
    np.testing.assert_allclose(t["diff"], [x["diff"] for x in v], rtol=REL)
    np.testing.assert_allclose(t["df"], [x["df"] for x in v], rtol=REL)
    np.testing.assert_allclose(t["statistic"], [x["q"] for x in v], rtol=REL)
    np.testing.assert_allclose(t["p_value"], [x["p"] for x in v], rtol=1e-5)
    np.testing.assert_allclose(t["ci_low"], [x["ci_low"] for x in v], rtol=1e-5)


def test_dunn(apisrs, extra):
    # R (by definition): z with tie correction; p = 2 pnorm(-|z|); p.adjust(p, "holm")
    v = extra["dunn/apisrs/api00~stype"]
    t = sv.dunn(apisrs, "api00", by="stype").to_frame()
    np.testing.assert_allclose(t["statistic"], v["z"], rtol=REL)
    np.testing.assert_allclose(t["p_unadjusted"], v["p"], rtol=REL)
    np.testing.assert_allclose(t["p_value"], v["p_holm"], rtol=REL)


def test_errors(apisrs):
    with pytest.raises(AnalysisError, match="must have exactly 2 groups with data; found 3"):
        sv.ttest(apisrs, "api00", by="stype")
    with pytest.raises(AnalysisError, match="alternative must be one of"):
        sv.ttest(apisrs, "api00", by="sch.wide", alternative="bigger")
    with pytest.raises(AnalysisError, match="ttest: column 'name' must be numeric; found values like"):
        sv.ttest(apisrs, "name", by="sch.wide")


def test_one_line_repr(apisrs):
    r = sv.kruskal(apisrs, "api00", by="stype")
    assert repr(r).startswith("<GroupTest: kruskal api00 by stype: statistic=3.983")
    assert "Base: 200 respondents (E 142, H 25, M 33)." in r.notes


@pytest.mark.parametrize("correct", [True, False])
def test_signed_rank(apisrs, classics, correct):
    # R: wilcox.test(apisrs$api00, apisrs$api99, paired = TRUE, exact = FALSE, correct = correct)
    v = classics[f"classic/wilcox.test/apisrs/api00_vs_api99/paired/correct={str(correct).upper()}"]
    r = sv.mann_whitney(apisrs, "api00", by="api99", paired=True, correct=correct)
    assert r.statistic == v["statistic"]["V"]
    assert r.p_value == pytest.approx(v["p_value"], rel=REL)
    assert r.notes[0] == f"Base: 200 complete pairs; {v['n_zero_diffs']} zero differences dropped."


def test_permuting_respondents_changes_nothing(apisrs):
    perm = apisrs.sample(frac=1.0, random_state=11).reset_index(drop=True)
    for fn, by in [(sv.ttest, "sch.wide"), (sv.anova, "stype"), (sv.kruskal, "stype"),
                   (sv.mann_whitney, "sch.wide")]:
        a, b = fn(apisrs, "api00", by=by), fn(perm, "api00", by=by)
        assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-12)
    pd.testing.assert_frame_equal(sv.dunn(apisrs, "api00", by="stype").to_frame(),
                                  sv.dunn(perm, "api00", by="stype").to_frame())


def test_where_filter_equals_subsetting(apisrs):
    sub = apisrs[apisrs["stype"] != "E"].reset_index(drop=True)
    a = sv.ttest(apisrs, "api00", by="stype", where=apisrs["stype"] != "E")
    b = sv.ttest(sub, "api00", by="stype")
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
    assert a.groups["group"].tolist() == ["H", "M"]
