"""The Dask path equals the in-memory path (issue 15): same estimates, SEs, df, tests, raked
weights' consequences, to 1e-10 - on a dask.distributed LocalCluster started here.

The data are split into partitions with the rows shuffled, so that PSUs, strata and
categories span several partitions (sums across partitions are exercised).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import survey as sv

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

RTOL = 1e-10


@pytest.fixture
def client(dask_client):  # the shared LocalCluster (tests/scale/conftest.py)
    return dask_client


def make(n=1500, seed=5):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 90, n)
    eff = rng.normal(0, 1, 90)[psu]
    y = 10 + 3 * eff + rng.normal(0, 2, n)
    y[rng.random(n) < 0.03] = np.nan
    item = np.clip(np.round(2 + eff + rng.normal(0, 1, n)), 0, 4).astype(int)
    item[rng.random(n) < 0.04] = -1
    df = pd.DataFrame({
        "h": psu % 6, "psu": psu, "w": rng.lognormal(0, 0.4, n), "y": y,
        "item": pd.Categorical.from_codes(item, ["a", "b", "c", "d", "e"]),
        "g": pd.Categorical.from_codes(rng.integers(0, 3, n), ["x", "y", "z"]),
        "m1": pd.Categorical.from_codes(rng.integers(0, 2, n), ["f", "m"]),
        "m2": pd.Categorical.from_codes(rng.integers(0, 3, n), ["young", "mid", "old"]),
    })
    for option in ("a", "b", "c"):  # a multiple-choice question, some answers missing
        chosen = pd.array(rng.random(n) < 0.4, dtype="boolean")
        chosen[rng.random(n) < 0.1] = pd.NA
        df[f"gains_{option}"] = chosen
    df.loc[df.index[:40], ["gains_a", "gains_b", "gains_c"]] = pd.NA  # not answered
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


DESIGNS = {
    "clusters": dict(weight="w", strata="h", psu="psu"),
    "weights_strata": dict(weight="w", strata="h"),
    "weights": dict(weight="w"),
}


@pytest.fixture(scope="module")
def data():
    return make()


def pair(df, kind):
    kw = DESIGNS[kind]
    mem = sv.Survey.from_frame(df, **kw)
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), **kw)
    return mem, dsk


def same(a, b, cols=("estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_weighted")):
    fa, fb = a.to_frame(), b.to_frame()
    assert len(fa) == len(fb)
    for c in cols:
        np.testing.assert_allclose(fb[c].to_numpy(float), fa[c].to_numpy(float), rtol=RTOL,
                                   atol=1e-13, err_msg=c)


@pytest.mark.parametrize("kind", list(DESIGNS))
def test_mean_total_proportions_equal_in_memory(client, data, kind):
    mem, dsk = pair(data, kind)
    for fn in (sv.mean, sv.total):
        same(fn(mem, "y"), fn(dsk, "y"))
        same(fn(mem, "y", by="g"), fn(dsk, "y", by="g"))
    same(sv.proportions(mem, "item"), sv.proportions(dsk, "item"))
    same(sv.proportions(mem, "item", by="g"), sv.proportions(dsk, "item", by="g"))


@pytest.mark.parametrize("kind", list(DESIGNS))
def test_crosstab_rao_scott_equal_in_memory(client, data, kind):
    mem, dsk = pair(data, kind)
    a, b = sv.crosstab(mem, "item", by="g"), sv.crosstab(dsk, "item", by="g")
    np.testing.assert_allclose(b.counts.to_numpy(float), a.counts.to_numpy(float), rtol=RTOL)
    np.testing.assert_array_equal(b.n.to_numpy(), a.n.to_numpy())
    ta, tb = a.tests, b.tests
    assert list(ta.index) == list(tb.index)
    np.testing.assert_allclose(tb.to_numpy(float), ta.to_numpy(float), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(b.effect_sizes["value"].to_numpy(float),
                               a.effect_sizes["value"].to_numpy(float), rtol=RTOL)


@pytest.mark.parametrize("kind", ["clusters", "weights_strata"])
def test_rake_then_estimates_equal_in_memory(client, data, kind):
    mem, dsk = pair(data, kind)
    targets = {"m1": {"f": 0.45, "m": 0.55}, "m2": {"young": 0.3, "mid": 0.3, "old": 0.4}}
    rm = sv.rake(mem, targets=targets, tol=1e-10)
    rd = sv.rake(dsk, targets=targets, tol=1e-10)
    assert rd.weighting.converged
    np.testing.assert_allclose(rd.weighting.weights["sum"], rm.weighting.weights["sum"],
                               rtol=RTOL)
    np.testing.assert_allclose(rd.weighting.deff_kish, rm.weighting.deff_kish, rtol=1e-9)
    same(sv.mean(rm, "y"), sv.mean(rd, "y"))
    same(sv.mean(rm, "y", by="g"), sv.mean(rd, "y", by="g"))
    same(sv.proportions(rm, "item"), sv.proportions(rd, "item"))
    same_frequencies(sv.frequencies(rm, "item"), sv.frequencies(rd, "item"))
    same_multi(sv.multi_response(rm, "gains"), sv.multi_response(rd, "gains"))
    a, b = sv.crosstab(rm, "item", by="g"), sv.crosstab(rd, "item", by="g")
    np.testing.assert_allclose(b.tests.to_numpy(float), a.tests.to_numpy(float), rtol=RTOL)


FREQ_COLS = ("n", "n_weighted", "pct", "pct_all", "cum_pct", "estimate", "se", "ci_low",
             "ci_high", "df", "deff")


def same_table(a, b, cols):
    """The Dask table ``b`` equals the in-memory ``a``: categories and ``cols`` (frames)."""
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fb["category"]) == list(fa["category"])
    for c in cols:
        np.testing.assert_allclose(fb[c].to_numpy(float), fa[c].to_numpy(float), rtol=RTOL,
                                   atol=1e-13, err_msg=c)
    return fa, fb


def same_frequencies(a, b):
    fa, fb = same_table(a, b, FREQ_COLS)
    pd.testing.assert_frame_equal(fb.attrs["missing"], fa.attrs["missing"], check_dtype=False)
    assert (b.n_valid, b.n_total) == (a.n_valid, a.n_total)


@pytest.mark.parametrize("kind", ["unweighted", "clusters", "weights_strata"])
def test_frequencies_equal_in_memory(client, data, kind):
    df = data.assign(k=data["psu"] % 4 + 1, s=np.where(data["psu"] % 7 == 0, None,
                                                       np.where(data["psu"] % 2, "u", "t")))
    kw = DESIGNS.get(kind, {})
    mem = sv.Survey.from_frame(df, **kw)
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), **kw)
    for var in ("item", "k", "s"):  # categorical with missing, numeric scale, text
        a, b = sv.frequencies(mem, var), sv.frequencies(dsk, var)
        same_frequencies(a, b)
        assert b.notes == a.notes  # bases, missing counts and the CI method named alike
    method = "clopper-pearson" if kind == "unweighted" else "beta"
    same_frequencies(sv.frequencies(mem, "item", ci_method=method),
                     sv.frequencies(dsk, "item", ci_method=method))
    fb = sv.frequencies(dsk, "item").to_frame()
    assert fb.attrs["missing"]["n"].sum() == int((df["item"].isna()).sum()) > 0


MULTI_COLS = ("n", "n_weighted", "pct", "pct_responses", "estimate", "se", "ci_low",
              "ci_high", "df", "deff")


def same_multi(a, b):
    same_table(a, b, MULTI_COLS)
    assert (b.n_base, b.n_base_weighted) == pytest.approx((a.n_base, a.n_base_weighted),
                                                          rel=1e-12)


@pytest.mark.parametrize("kind", ["unweighted", "clusters", "weights_strata"])
def test_multi_response_equal_in_memory(client, data, kind):
    kw = DESIGNS.get(kind, {})
    mem = sv.Survey.from_frame(data, **kw)
    dsk = sv.Survey.from_dask(dd.from_pandas(data, npartitions=3), **kw)
    answered = int(data[["gains_a", "gains_b", "gains_c"]].notna().any(axis=1).sum())
    for base, n_base in (("respondents", answered), ("returned", len(data))):
        a = sv.multi_response(mem, "gains", base=base)
        b = sv.multi_response(dsk, "gains", base=base)
        same_multi(a, b)
        assert b.notes == a.notes  # base, responses, estimate method, weighting
        assert b.n_base == n_base


def replicate_pair(r, npartitions=3):
    """The in-memory replicate design ``r`` (from `as_replicate`) and the same columns on
    Dask, declared with the replicate options a user would give."""
    spec = r.design.replicates
    opts = dict(replicate_weights=list(spec.columns), replicate_type=spec.type, mse=spec.mse)
    if spec.type == "Fay":
        opts["rho"] = spec.rho
    elif spec.type not in ("BRR",):
        opts.update(scale=spec.scale, rscales=list(spec.rscales))
    mem = sv.Survey.from_frame(r.data, weight=r.weight, **opts)
    dsk = sv.Survey.from_dask(dd.from_pandas(r.data, npartitions=npartitions),
                              weight=r.weight, **opts)
    return mem, dsk


def rep_data(psus: int, strata: int, n=500, seed=9):
    """``psus`` PSUs in ``strata`` strata (BRR/Fay half-samples need two PSUs a stratum)."""
    df = make(n, seed)
    df["psu"] = df["psu"] % psus
    df["h"] = df["psu"] % strata
    return df


def _rep(rtype, psus=24, strata=6, **kw):
    return lambda: sv.as_replicate(
        sv.Survey.from_frame(rep_data(psus, strata), **DESIGNS["clusters"]), rtype, **kw)


REPLICATES = {
    "JK1": lambda: sv.as_replicate(sv.Survey.from_frame(rep_data(24, 1), weight="w",
                                                        psu="psu"), "JK1"),
    "JKn": _rep("JKn"),
    "bootstrap": _rep("bootstrap", replicates=20, seed=4),
    "BRR": _rep("BRR", psus=20, strata=10),
    "Fay": _rep("Fay", psus=20, strata=10, rho=0.3, mse=True),
}


@pytest.mark.parametrize("rtype", list(REPLICATES))
def test_replicate_designs_equal_in_memory(client, rtype, monkeypatch):
    import survey.core.distributed as dist

    monkeypatch.setattr(dist, "ROW_BLOCK", 64)  # partitions of ~170 rows: several blocks
    mem, dsk = replicate_pair(REPLICATES[rtype]())
    for fn in (sv.mean, sv.total):
        same(fn(mem, "y"), fn(dsk, "y"))
        same(fn(mem, "y", by="g"), fn(dsk, "y", by="g"))
    same(sv.proportions(mem, "item"), sv.proportions(dsk, "item"))
    same(sv.proportions(mem, "item", by="g"), sv.proportions(dsk, "item", by="g"))
    a, b = sv.crosstab(mem, "item", by="g"), sv.crosstab(dsk, "item", by="g")
    np.testing.assert_allclose(b.tests.to_numpy(float), a.tests.to_numpy(float), rtol=RTOL,
                               atol=1e-14)
    same_frequencies(sv.frequencies(mem, "item"), sv.frequencies(dsk, "item"))
    same_multi(sv.multi_response(mem, "gains"), sv.multi_response(dsk, "gains"))
    assert sv.mean(dsk, "y").df == sv.mean(mem, "y").df > 0  # R degf: rank - 1


def test_replicate_weights_are_checked_on_dask(client):
    r = REPLICATES["JK1"]()
    col = r.design.replicates.columns[2]
    bad = r.data.copy()
    bad.loc[bad.index[5], col] = -1.0
    opts = dict(weight=r.weight, replicate_weights=list(r.design.replicates.columns),
                replicate_type="JK1")
    dsk = sv.Survey.from_dask(dd.from_pandas(bad, npartitions=3), **opts)
    with pytest.raises(sv.SurveyError, match=f"replicate weight column '{col}' must hold "
                                             "non-negative numbers"):
        sv.mean(dsk, "y")
    with pytest.raises(sv.SurveyError, match="raking a replicate-weight design on Dask"):
        sv.rake(dsk, targets={"m1": {"f": 0.5, "m": 0.5}})
    with pytest.raises(sv.SurveyError, match="takes the weight and the replicate weights only"):
        sv.Survey.from_dask(dd.from_pandas(bad, npartitions=2), psu="psu", **opts)
    with pytest.raises(sv.SurveyError, match="matches no column"):
        sv.Survey.from_dask(dd.from_pandas(bad, npartitions=2), weight="w",
                            replicate_weights="nothing[0-9]+", replicate_type="JK1")


def fpc_data(data):
    df = data.assign(ssu=data.index.to_numpy() % 4, N1=40.0, N2=10.0, f1=0.3)
    return df.assign(Nh=(400.0 + 100 * df["h"]).astype(float))


FPC_DESIGNS = {  # 90 PSUs, 15 per stratum, 4 SSUs in each
    "fpc fractions": dict(weight="w", strata="h", psu="psu", fpc="f1"),
    "two stages with fpc": dict(weight="w", strata="h", psu=["psu", "ssu"], fpc=["N1", "N2"]),
    "two stages without fpc": dict(weight="w", strata="h", psu=["psu", "ssu"]),
    "rows as units with fpc": dict(weight="w", strata="h", fpc="Nh"),
}


@pytest.mark.parametrize("kind", list(FPC_DESIGNS))
def test_fpc_and_multistage_designs_equal_in_memory(client, data, kind):
    df = fpc_data(data)
    kw = FPC_DESIGNS[kind]
    mem = sv.Survey.from_frame(df, **kw)
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), **kw)
    same(sv.mean(mem, "y", by="g"), sv.mean(dsk, "y", by="g"))
    same(sv.proportions(mem, "item"), sv.proportions(dsk, "item"))
    a, b = sv.crosstab(mem, "item", by="g").tests, sv.crosstab(dsk, "item", by="g").tests
    exact = a.index != "rao_scott_saddlepoint"
    np.testing.assert_allclose(b[exact].to_numpy(float), a[exact].to_numpy(float),
                               rtol=RTOL, atol=1e-14)
    # the saddlepoint p-value is a root-finder's output: input differences of 1e-15
    # move it by up to ~1e-10, so it is held to 1e-9
    np.testing.assert_allclose(b[~exact].to_numpy(float), a[~exact].to_numpy(float),
                               rtol=1e-9)


def test_fpc_changes_the_variance_and_bad_fpc_is_refused(client, data):
    df = fpc_data(data)
    one = sv.mean(sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), weight="w",
                                      strata="h", psu="psu"), "y")
    fpc = sv.mean(sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), weight="w",
                                      strata="h", psu="psu", fpc="N1"), "y")
    # single stage: the fpc multiplies the variance by 1 - 15/40 in every stratum
    assert fpc.se == pytest.approx(one.se * np.sqrt(1 - 15 / 40), rel=1e-12)
    with pytest.raises(sv.SurveyError, match="fpc= needs weight= on Dask"):
        sv.Survey.from_dask(dd.from_pandas(df, npartitions=2), strata="h", psu="psu",
                            fpc="N1")
    with pytest.raises(sv.SurveyError, match="fpc names 1 column.*2 stage"):
        sv.Survey.from_dask(dd.from_pandas(df, npartitions=2), weight="w", strata="h",
                            psu=["psu", "ssu"], fpc="N1")
    varying = df.assign(Nh=df["Nh"] + (df.index.to_numpy() % 2))
    dsk = sv.Survey.from_dask(dd.from_pandas(varying, npartitions=3), weight="w",
                              strata="h", fpc="Nh")
    with pytest.raises(sv.SurveyError, match="fpc column 'Nh' varies within stratum"):
        sv.mean(dsk, "y")
    small = df.assign(Nh=10.0)
    dsk = sv.Survey.from_dask(dd.from_pandas(small, npartitions=3), weight="w", strata="h",
                              fpc="Nh")
    with pytest.raises(sv.SurveyError, match="implies more than 100% sampling in stratum"):
        sv.mean(dsk, "y")


def test_unsupported_analyses_refuse_clearly(client, data):
    _, dsk = pair(data, "clusters")
    with pytest.raises(sv.SurveyError, match="does not run on a Dask-backed Survey"):
        sv.ttest(dsk, "y", by="m1")
    with pytest.raises(sv.SurveyError, match="'gains' is a multiple-choice question"):
        sv.frequencies(dsk, "gains")
    with pytest.raises(sv.SurveyError, match="'item' is not a multiple-choice question"):
        sv.multi_response(dsk, "item")
    with pytest.raises(sv.SurveyError, match="base='shown' needs the missing reasons"):
        sv.multi_response(dsk, "gains", base="shown")
    bad = data.assign(gains_c=data["psu"] % 3)
    dbad = sv.Survey.from_dask(dd.from_pandas(bad, npartitions=2), weight="w")
    with pytest.raises(sv.SurveyError, match="option column 'gains_c' holds .*expected "
                                             "True/False or 1/0"):
        sv.multi_response(dbad, "gains")
    with pytest.raises(sv.SurveyError, match="where= is not supported on a Dask-backed"):
        sv.mean(dsk, "y", where=np.ones(3, bool))


def test_missing_design_value_is_refused_not_dropped(client, data):
    df = data.copy()
    df["h"] = df["h"].astype(float)
    df.loc[7, "h"] = np.nan
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), weight="w", strata="h",
                              psu="psu")
    with pytest.raises(sv.SurveyError, match="design column 'h' has a missing value"):
        sv.mean(dsk, "y")


def test_import_survey_does_not_import_dask():
    import subprocess
    import sys

    code = ("import sys, survey; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


TEMPLATE = """\
id: t
title: {en: T}
languages: {default: en, available: {en: {name: English}}}
choice_lists:
  yn: [{name: "1", label: {en: Yes}}, {name: "2", label: {en: No}}]
items:
  - {name: a, type: select_one, list: yn}
  - {name: score, type: decimal}
"""


def test_read_responses_of_partitioned_parquet_is_a_dask_survey(client, tmp_path):
    q_path = tmp_path / "t.yaml"
    q_path.write_text(TEMPLATE, encoding="utf-8")
    q = sv.load_questionnaire(q_path)
    rng = np.random.default_rng(2)
    n = 300
    df = pd.DataFrame({"a": rng.choice([1, 2], n), "score": rng.normal(5, 1, n),
                       "w": rng.uniform(0.5, 2, n), "psu": rng.integers(0, 30, n)})
    df.loc[3, "a"] = 7  # not a choice: missing, counted in a warning
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(3):
        df.iloc[i * 100:(i + 1) * 100].to_parquet(folder / f"part{i}.parquet")
    with pytest.warns(UserWarning, match="1 cells of single-choice questions"):
        s = sv.read_responses(folder, q, weight="w", psu="psu")
    assert type(s).__name__ == "DaskSurvey"
    mem = df.assign(a=pd.Categorical.from_codes(
        df["a"].map({1: 0, 2: 1}).fillna(-1).astype(int), ["Yes", "No"]))
    m = sv.Survey.from_frame(mem, weight="w", psu="psu")
    same(sv.proportions(m, "a"), sv.proportions(s, "a"))
    same(sv.mean(m, "score", by="a"), sv.mean(s, "score", by="a"))
    s2 = sv.read_responses(str(folder / "*.parquet"), None, weight="w")
    assert type(s2).__name__ == "DaskSurvey"
