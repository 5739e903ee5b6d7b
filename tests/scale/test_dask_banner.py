"""The banner on Dask equals the in-memory banner (issue 15): every number to 1e-10 and the
same letters, tests, footnotes and suppression - unweighted, effective-base and design-based
(Taylor: weights, strata, clusters, several stages with fpc, raking; replicate weights) -
on a dask.distributed LocalCluster with 2 workers started by the tests.

The rows are shuffled before they are split into partitions, so PSUs, strata and categories
span partitions (the sums across partitions are exercised). Each design is checked to give
letters at all, so an equality of empty results cannot pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import AnalysisError

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

RTOL = 1e-10
NUMBERS = ["n", "n_weighted", "pct", "value", "se", "ci_low", "ci_high", "p_value"]
ROWS = ["lik", "item", "gains"]
BY = ["g", "region"]


def make(n=900, seed=3):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 60, n)
    eff = rng.normal(0, 1, 60)[psu]
    lik = np.clip(np.round(2 + eff + rng.normal(0, 1, n)), 0, 4).astype(int)
    lik[rng.random(n) < 0.05] = -1
    g = np.where(eff > 0, rng.integers(0, 2, n), rng.integers(1, 3, n))
    df = pd.DataFrame({
        "h": psu % 5, "psu": psu, "ssu": psu * 10 + rng.integers(0, 3, n),
        "f1": 200.0, "f2": 40.0, "w": rng.lognormal(0, 0.4, n),
        "lik": pd.Categorical.from_codes(lik, ["1", "2", "3", "4", "5"], ordered=True),
        "item": pd.Categorical.from_codes(np.where(eff + rng.normal(0, 1, n) > 0.5, 0,
                                                   rng.integers(-1, 3, n)), ["a", "b", "c"]),
        "g": pd.Categorical.from_codes(g, ["x", "y", "z"]),
        "region": np.where(rng.random(n) < 0.5, "north", "south"),  # text: distinct values
        "score": rng.normal(size=n),
    })
    df.loc[(psu == 7) | (rng.random(n) < 0.02), "w"] = 0.0  # R degf counts non-zero weights
    for option in "abc":  # a multiple-response question, some answers missing
        chosen = pd.array(rng.random(n) < 0.3 + 0.3 * (eff > 0), dtype="boolean")
        chosen[rng.random(n) < 0.1] = pd.NA
        df[f"gains_{option}"] = chosen
    for r in range(10):  # JK1 replicate weights: PSU groups dropped in turn
        df[f"rw{r}"] = np.where(psu % 10 == r, 0.0, df["w"] * 10 / 9)
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


DESIGNS = {
    "unweighted": {},
    "weights": dict(weight="w"),
    "clusters": dict(weight="w", strata="h", psu="psu"),
    "strata_rows": dict(weight="w", strata="h"),
    "two_stage_fpc": dict(weight="w", strata="h", psu=["psu", "ssu"], fpc=["f1", "f2"]),
    "jk1": dict(weight="w", replicate_weights="rw[0-9]+", replicate_type="JK1"),
}
TARGETS = {"g": {"x": 0.3, "y": 0.3, "z": 0.4}, "region": {"north": 0.5, "south": 0.5}}


@pytest.fixture(scope="module")
def data():
    return make()


def pair(df, kw, rake=False):
    mem = sv.Survey.from_frame(df, **kw)
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=3), **kw)
    if rake:
        mem = sv.rake(mem, targets=TARGETS, tol=1e-10)
        dsk = sv.rake(dsk, targets=TARGETS, tol=1e-10)
    return mem, dsk


def same_banner(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    assert fa[["var", "category", "by", "by_category", "stat"]].equals(
        fb[["var", "category", "by", "by_category", "stat"]])
    for col in NUMBERS:
        np.testing.assert_allclose(fb[col].to_numpy(float), fa[col].to_numpy(float),
                                   rtol=RTOL, atol=1e-12, err_msg=col)
    assert (fa["sig_letters"] == fb["sig_letters"]).all()
    assert (fa["sig_letters"] != "").sum() >= 3  # the designs give letters to compare
    ta, tb = a.tests, b.tests
    assert len(ta) == len(tb) and (ta["higher"] == tb["higher"]).all()
    for col in ("statistic", "df", "p_raw", "p_adjusted"):
        np.testing.assert_allclose(tb[col].to_numpy(float), ta[col].to_numpy(float),
                                   rtol=RTOL, atol=1e-12, err_msg=col)
    assert a.notes == b.notes
    assert a.suppressed().equals(b.suppressed())
    assert a.letters == b.letters and a.small_base == b.small_base


@pytest.mark.parametrize("kind", list(DESIGNS))
def test_banner_equals_in_memory(dask_client, data, kind):
    mem, dsk = pair(data, DESIGNS[kind])
    same_banner(sv.banner(mem, rows=ROWS, by=BY), sv.banner(dsk, rows=ROWS, by=BY))


def test_effective_base_letters_equal_in_memory(dask_client, data):
    mem, dsk = pair(data, DESIGNS["clusters"])
    a = sv.banner(mem, rows=ROWS, by=BY, se="effective")
    same_banner(a, sv.banner(dsk, rows=ROWS, by=BY, se="effective"))
    assert "effective" in " ".join(a.notes)


def test_raked_design_letters_equal_in_memory(dask_client, data):
    mem, dsk = pair(data, DESIGNS["clusters"], rake=True)
    same_banner(sv.banner(mem, rows=ROWS, by=BY), sv.banner(dsk, rows=ROWS, by=BY))


@pytest.mark.parametrize("kind", ["lonely_unweighted", "jk1"])
def test_small_batches_and_a_lonely_psu_equal_in_memory(dask_client, data, kind, monkeypatch):
    """A pass of the letters takes at most BATCH_CELLS cells: 32 splits the blocks (2 to 15
    cells each, 75 in all) over four passes; a stratum with one PSU (unweighted
    clusters, lonely_psu='adjust') takes R's rule, as in memory."""
    from survey.analysis import _dask_banner

    monkeypatch.setattr(_dask_banner, "BATCH_CELLS", 32)
    if kind == "jk1":
        mem, dsk = pair(data, DESIGNS["jk1"])
    else:
        lonely = data.assign(psu=np.where(data["h"] == 4, 999, data["psu"]))
        mem, dsk = pair(lonely, dict(strata="h", psu="psu", lonely_psu="adjust"))
    same_banner(sv.banner(mem, rows=ROWS, by=BY), sv.banner(dsk, rows=ROWS, by=BY))


def test_nets_presets_and_two_level_letters_equal_in_memory(dask_client, data):
    mem, dsk = pair(data, DESIGNS["clusters"])
    opts = dict(rows=ROWS, by=BY, nets={"item": {"a or b": ["a", "b"]},
                                        "gains": {"a or c": ["a", "c"]}})
    for extra in (dict(letters="two-level", correction="bh", suppress_below=10,
                       language="zh-Hans"), dict(preset="spss", percent="row", min_base=100)):
        same_banner(sv.banner(mem, **opts, **extra), sv.banner(dsk, **opts, **extra))


def test_what_the_banner_refuses_on_dask(dask_client, data):
    _, dsk = pair(data, DESIGNS["clusters"])
    with pytest.raises(AnalysisError, match=r"row variable 'score' is numeric.*Dask.*sv\.mean"):
        sv.banner(dsk, rows=["score"], by=BY)
    with pytest.raises(AnalysisError, match=r"where= is not supported on a Dask-backed Survey"):
        sv.banner(dsk, rows=ROWS, by=BY, where=np.ones(len(data), dtype=bool))
    with pytest.raises(AnalysisError, match=r"weight='f1' is not supported on a Dask"):
        sv.banner(dsk, rows=ROWS, by=BY, weight="f1")
    with pytest.raises(AnalysisError, match=r"banner column variable 'score' must be single"):
        sv.banner(dsk, rows=ROWS, by=["score"])
    with pytest.raises(AnalysisError, match=r"banner row variable 'nope' is not in the data"):
        sv.banner(dsk, rows=["nope"], by=BY)
    holes = data.assign(psu=data["psu"].astype(float).where(data.index != 5))
    unweighted = sv.Survey.from_dask(dd.from_pandas(holes, npartitions=3), psu="psu")
    with pytest.raises(AnalysisError, match=r"design column 'psu' has a missing value"):
        sv.banner(unweighted, rows=ROWS, by=BY)  # refused, not dropped


def test_dask_rake_names_the_new_weight_as_in_memory(dask_client, data):
    mem, dsk = pair(data, DESIGNS["clusters"])
    rm, rd = sv.rake(mem, targets=TARGETS, tol=1e-10), sv.rake(dsk, targets=TARGETS, tol=1e-10)
    assert rd.weight == rm.weight == "weight"  # the default name of the new weight
    assert dsk.weight == "w" and "weight" not in dsk.ddf.columns  # the input is unchanged
    # raking again starts from the raked weights and takes the name given, as in memory
    again = {"g": {"x": 0.2, "y": 0.4, "z": 0.4}}
    r2m = sv.rake(rm, targets=again, tol=1e-10, weight_name="raked")
    r2d = sv.rake(rd, targets=again, tol=1e-10, weight_name="raked")
    assert r2d.weight == r2m.weight == r2d.weighting.weight_name == "raked"
    np.testing.assert_allclose(r2d.weights.compute().sort_index().to_numpy(),
                               pd.Series(r2m.weights, index=r2m.data.index).sort_index(),
                               rtol=1e-12)


TEMPLATE = """\
id: t
title: {en: T, zh-Hans: 调查}
languages: {default: en, available: {en: {name: English}, zh-Hans: {name: 简体中文}}}
choice_lists:
  yn: [{name: "1", label: {en: Yes, zh-Hans: 是}}, {name: "2", label: {en: No, zh-Hans: 否}}]
  rank: [{name: "1", label: {en: Section, zh-Hans: 科级}}, {name: "2", label: {en: Division, zh-Hans: 处级}}, {name: "3", label: {en: Bureau, zh-Hans: 局级}}]
items:
  - {name: need, type: select_one, list: yn}
  - {name: rank, type: select_one, list: rank}
"""


def parquet_parts(folder, df, parts=3):
    """``df`` as ``parts`` Parquet files in ``folder``, and as one file beside it."""
    folder.mkdir()
    size = -(-len(df) // parts)
    for i in range(parts):
        df.iloc[i * size:(i + 1) * size].to_parquet(folder / f"part{i}.parquet")
    df.to_parquet(folder.parent / "all.parquet")
    return folder


def test_templated_partitioned_parquet_banner_equals_in_memory(dask_client, tmp_path):
    (tmp_path / "t.yaml").write_text(TEMPLATE, encoding="utf-8")
    q = sv.load_questionnaire(tmp_path / "t.yaml")
    rng = np.random.default_rng(4)
    rank = rng.choice([1, 2, 3], 600)
    folder = parquet_parts(tmp_path / "parts", pd.DataFrame({
        "need": np.where(rng.random(600) < 0.3 + 0.2 * (rank == 3), 1, 2), "rank": rank,
        "w": rng.uniform(0.5, 2, 600), "psu": rng.integers(0, 40, 600)}))
    dsk = sv.read_responses(folder, q, weight="w", psu="psu")
    mem = sv.read_responses(tmp_path / "all.parquet", q, weight="w", psu="psu")
    assert type(dsk).__name__ == "DaskSurvey" and len(mem.data) == 600
    # zh-Hans: the data hold the English labels (the template's default language)
    a = sv.banner(mem, rows=["need"], by=["rank"], language="zh-Hans")
    same_banner(a, sv.banner(dsk, rows=["need"], by=["rank"], language="zh-Hans"))
    assert a.to_frame()["by_category"].isin(["局级"]).any()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), parts=st.integers(1, 6),
       kind=st.sampled_from(["unweighted", "weights", "clusters", "jk1"]))
def test_any_partitioning_gives_the_in_memory_banner(seed, parts, kind):
    """However the rows fall into partitions (one, or more partitions than some categories
    have rows), the banner is the in-memory one; Dask's synchronous scheduler (no cluster)."""
    import dask

    df = make(n=240, seed=seed)
    mem = sv.Survey.from_frame(df, **DESIGNS[kind])
    dsk = sv.Survey.from_dask(dd.from_pandas(df, npartitions=parts), **DESIGNS[kind])
    with dask.config.set(scheduler="synchronous"):
        b = sv.banner(dsk, rows=ROWS, by=BY, min_base=10)
    a = sv.banner(mem, rows=ROWS, by=BY, min_base=10)
    fa, fb = a.to_frame(), b.to_frame()
    for col in NUMBERS:
        np.testing.assert_allclose(fb[col].to_numpy(float), fa[col].to_numpy(float),
                                   rtol=RTOL, atol=1e-12, err_msg=col)
    assert (fa["sig_letters"] == fb["sig_letters"]).all() and a.notes == b.notes


@pytest.mark.parametrize("kind", ["clusters", "strata_rows"])
def test_mean_by_domain_df_counts_only_rows_of_nonzero_weight(dask_client, data, kind):
    """R ``confint(svyby(...), df = degf(design))``: degf counts the PSUs (rows) of non-zero
    weight, as in memory; the data hold a PSU of zero weight (Dask counted it before)."""
    mem, dsk = pair(data, DESIGNS[kind])
    a, b = sv.mean(mem, "score", by="g").to_frame(), sv.mean(dsk, "score", by="g").to_frame()
    assert (data["w"] == 0).any() and a["df"].tolist() == b["df"].tolist()
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(b[col], a[col], rtol=RTOL, err_msg=col)
