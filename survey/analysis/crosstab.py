"""Cross-tabulation with tests and effect sizes (R's chisq.test, fisher.test, vcd::assocstats).

Counting goes through integer codes: one ``numpy.bincount`` over combined codes, missing
mapped to an extra bin that is dropped afterwards (no masks, no ``pandas.crosstab``).
Labelled frames are built only when a property is read.
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np
import pandas as pd

from ..core._rows import bincount as row_bincount
from ..core._rows import combine_codes
from ..core.distributed import is_dask
from ..core.result import _CSS, Result, format_column, frame_to_html, frame_to_markdown
from ..errors import AnalysisError
from ._common import fmt_n, missing_reasons, prepare, single, weighting_note, where_mask

__all__ = ["CrossTab", "crosstab"]

_TEST_COLUMNS = ["statistic", "df", "df_denom", "p_value"]
_EFFECT_COLUMNS = ["value", "ci_low", "ci_high"]
_FISHER_AUTO_MAX_N = 10_000


def count_table(a: np.ndarray, ka: int, b: np.ndarray, kb: int, w: np.ndarray | None = None):
    """Cross-count codes ``a`` (0..ka-1, -1 missing) by ``b``: one bincount, missing dropped."""
    combined = (a + 1) * (kb + 1) + (b + 1)
    size = (ka + 1) * (kb + 1)
    t = np.bincount(combined, weights=w, minlength=size).reshape(ka + 1, kb + 1)
    return t[1:, 1:]


def _chi2_parts(t: np.ndarray):
    n = t.sum()
    rs, cs = t.sum(axis=1), t.sum(axis=0)
    e = np.outer(rs, cs) / n
    return n, rs, cs, e


def _pearson(t, e):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.where(e > 0, (t - e) ** 2 / e, 0.0)))


def _lr(t, e):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(2 * np.sum(np.where(t > 0, t * np.log(t / e), 0.0)))


def _stdres(t, n, rs, cs, e):
    """R's chisq.test()$stdres: (O - E) / sqrt(E (1 - r/n)(1 - c/n))."""
    v = e * np.outer(1 - rs / n, 1 - cs / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (t - e) / np.sqrt(v)


def _ordinal_pairs(t: np.ndarray):
    """Per-cell concordant and discordant counts (C_ij, D_ij)."""
    # cumulative sums give, per cell, the totals strictly above-left, below-right, etc.
    cum = t.cumsum(0).cumsum(1)
    tot = t.sum()
    r, c = t.shape
    pad = np.zeros((r + 1, c + 1))
    pad[1:, 1:] = cum
    # strictly above & strictly left: pad[i, j]
    above_left = pad[:-1, :-1]  # rows < i, cols < j
    row_cum = pad[:-1, 1:]  # rows < i, cols <= j
    col_cum = pad[1:, :-1]  # rows <= i, cols < j
    rows_above = pad[:-1, -1][:, None]  # rows < i, all cols
    cols_left = pad[-1, :-1][None, :]  # all rows, cols < j
    full_le = pad[1:, 1:]  # rows <= i, cols <= j
    above_right = rows_above - row_cum  # rows < i, cols > j
    below_left = cols_left - col_cum  # rows > i, cols < j
    # rows > i and cols > j = tot - (rows <= i) - (cols <= j) + (rows <= i and cols <= j)
    rows_le = pad[1:, -1][:, None]
    cols_le = pad[-1, 1:][None, :]
    below_right = tot - rows_le - cols_le + full_le
    conc = above_left + below_right
    disc = above_right + below_left
    return conc, disc


def _gamma_taub(t: np.ndarray, z: float):
    """Goodman-Kruskal gamma and Kendall's tau-b with asymptotic (ASE1) normal CIs."""
    n = t.sum()
    conc, disc = _ordinal_pairs(t)
    P, Q = float((t * conc).sum()), float((t * disc).sum())  # = 2C, 2D
    out = {}
    if P + Q > 0:
        gamma = (P - Q) / (P + Q)
        phi = 4 * (Q * conc - P * disc) / (P + Q) ** 2
        # Agresti (2002, 3.4.3): sigma^2 = sum p_ij phi_ij^2 - (sum p_ij phi_ij)^2 with phi from
        # proportions and ASE = sigma / sqrt(n); with counts phi scales as 1/n, which gives:
        ase = math.sqrt(max(0.0, float((t * phi**2).sum() - (t * phi).sum() ** 2 / n)))
        out["gamma"] = (gamma, max(-1.0, gamma - z * ase), min(1.0, gamma + z * ase))
    rs, cs = t.sum(axis=1), t.sum(axis=0)
    wr, wc = n**2 - (rs**2).sum(), n**2 - (cs**2).sum()
    if wr > 0 and wc > 0:
        w = math.sqrt(wr * wc)
        d = conc - disc
        tau = (P - Q) / w
        v = rs[:, None] * wc + cs[None, :] * wr
        inner = float((t * (2 * w * d + tau * v) ** 2).sum()) - n**3 * tau**2 * (wr + wc) ** 2
        ase = math.sqrt(max(0.0, inner)) / w**2
        out["kendall_tau_b"] = (tau, max(-1.0, tau - z * ase), min(1.0, tau + z * ase))
    return out


def _cramers_v_ci(x2: float, df: int, n: float, k: int, confidence: float):
    """CI for Cramér's V by inverting the noncentral chi-square (DescTools' default ``ncchisq``).

    The bounds are the noncentrality parameters at which the observed X² is the upper and
    lower ``(1 - confidence)/2`` quantile (0 when even ncp = 0 puts X² below that quantile),
    mapped as V = sqrt(ncp / (n (k - 1))): an interval for the population V. The sample V is
    biased upwards (E[X²] = df + ncp), so with weak association it can lie above the interval.
    """
    from scipy.special import chdtr, chndtrinc

    def solve(q):
        if chdtr(df, x2) < q:
            return 0.0
        return max(0.0, float(chndtrinc(x2, df, q)))

    denom = n * (k - 1)
    hi_q, lo_q = (1 + confidence) / 2, (1 - confidence) / 2
    return (min(1.0, math.sqrt(solve(hi_q) / denom)), min(1.0, math.sqrt(solve(lo_q) / denom)))


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class CrossTab(Result):
    """A two-way table with its tests, effect sizes and notes.

    ``counts`` holds weighted counts (Σw per cell; plain counts when unweighted), ``n`` the
    unweighted counts. Table frames are indexed by the row categories with the ``by``
    categories as columns, in template order, labelled.
    """

    row: str
    by: str
    row_label: str
    by_label: str
    row_categories: tuple[str, ...]
    by_categories: tuple[str, ...]
    table: np.ndarray  # weighted counts (== unweighted when no weights)
    unweighted: np.ndarray
    test_rows: tuple = ()  # (name, statistic, df, df_denom, p_value)
    effect_rows: tuple = ()  # (name, value, ci_low, ci_high)
    design_tests: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    alpha: float = 0.05
    margins: bool = False
    weighted: bool = False
    multi: bool = False
    bases: np.ndarray | None = None  # multiple response: base per column (weighted)
    bases_unweighted: np.ndarray | None = None
    missing_table: np.ndarray | None = None  # with missing=True: counts incl. missing reasons
    missing_unweighted: np.ndarray | None = None
    row_missing: tuple[str, ...] = ()  # labels of the extra rows, e.g. "(no answer)"
    by_missing: tuple[str, ...] = ()
    confidence: float = 0.95
    design_context: tuple | None = None  # (survey, Y builder args) for cell SEs under a design
    fisher_method: str | None = None  # "exact" or "monte_carlo" when Fisher's test was run
    fisher_b: int | None = None  # simulated tables when fisher_method == "monte_carlo"

    # --- design-based cell proportions --------------------------------------------------
    def cell_estimates(self, kind: str = "column") -> dict[str, pd.DataFrame]:
        """Design-based cell proportions (0-1) with ``se``, ``ci_low``, ``ci_high``, ``df``.

        ``kind="column"`` = shares of the row categories within each column (R
        ``svyby(~row, ~by, design, svymean)``), ``"row"`` = ``svyby(~by, ~row, ...)``,
        ``"total"`` = ``svymean(~interaction(row, by))``. Domains keep the full design; the
        CI is the logit interval on t(design df of the domain), as R ``svyciprop(~I(row ==
        cat), subset(design, by == col), method = "logit")``. Only for a weighted or complex
        `Survey` (computed when asked). Returns frames keyed ``estimate, se, ci_low,
        ci_high, df``.
        """
        if self.design_context is None:
            raise AnalysisError(
                "cell_estimates(): design-based cell SEs need a weighted or complex-design "
                "Survey; this table is unweighted. Hint: use percent() and the tests"
            )
        if kind not in ("column", "row", "total"):
            raise AnalysisError(f"cell_estimates(): kind must be 'column', 'row' or 'total', "
                                f"found {kind!r}")
        if self.multi and kind != "column":
            raise AnalysisError("cell_estimates(): a multiple-response table has column "
                                f"proportions only; found kind={kind!r}")
        from ..core.design import Design
        from .estimates import _domain_degf, _linearize, _linearize_cells, _logit_ci, _t

        s, a, b, base = self.design_context[:4]
        kept = self.design_context[4] if len(self.design_context) > 4 else {}
        design = Design.from_survey(s)
        r, c = self.table.shape
        if self.multi:
            lin = _linearize(design, a, base, b, c, "mean")
            valid, dom, D, k = base, b, c, r
        else:
            ok = (a >= 0) & (b >= 0)
            if kind == "column":
                y, dom, D, k = a, b, c, r
            elif kind == "row":
                y, dom, D, k = b, a, r, c
            else:
                y, dom, D, k = np.where(ok, a * c + b, -1), None, 1, r * c
            valid = ok
            lin = _cells_from_kept(design, kept, kind, r, c, self.unweighted)
            if lin is None:
                lin = _linearize_cells(design, np.where(ok, y, -1), k, None if dom is None
                                       else np.where(ok, dom, -1), D)
        est = lin.est  # (D, k)
        se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None)).reshape(D, k)
        dfs = None if self.multi else _replicate_degf_from_kept(design, kept, kind, r, c)
        if dfs is None:
            dfs = _domain_degf(design, None if dom is None else np.where(valid, dom, -1), valid,
                               D, lin.present)
        lo, hi = np.empty((D, k)), np.empty((D, k))
        for d in range(D):
            t = _t(self.confidence, dfs[d])
            for j in range(k):
                lo[d, j], hi[d, j] = _logit_ci(float(est[d, j]), float(se[d, j]), t)
        dfm = np.repeat(dfs[:, None], k, axis=1)

        def shape(m):
            if kind == "column":
                return m.T
            if kind == "row":
                return m
            return m.reshape(r, c)

        return {name: self._frame(shape(m), margins=False)
                for name, m in (("estimate", est), ("se", se), ("ci_low", lo), ("ci_high", hi),
                                ("df", dfm))}

    def se(self, kind: str = "column") -> pd.DataFrame:
        """Design-based standard errors of the cell proportions (0-1 scale); see
        `cell_estimates`."""
        return self.cell_estimates(kind)["se"]

    # --- frames (built when read) ------------------------------------------------------
    @property
    def tests(self) -> pd.DataFrame:
        """One row per test (index ``test``): statistic, df, df_denom, p_value."""
        if self.design_tests is not None:
            out = self.design_tests.copy()
        else:
            out = pd.DataFrame([r[1:] for r in self.test_rows], index=[r[0] for r in self.test_rows],
                               columns=_TEST_COLUMNS, dtype=float)
        out.index.name = "test"
        return out

    @property
    def effect_sizes(self) -> pd.DataFrame:
        """One row per effect size (index ``effect_size``): value, ci_low, ci_high."""
        out = pd.DataFrame([r[1:] for r in self.effect_rows],
                           index=[r[0] for r in self.effect_rows], columns=_EFFECT_COLUMNS,
                           dtype=float)
        out.index.name = "effect_size"
        return out

    def _frame(self, values: np.ndarray, *, margins: bool | None = None, total=None) -> pd.DataFrame:
        idx = pd.Index(list(self.row_categories), name=self.row_label)
        cols = pd.Index(list(self.by_categories), name=self.by_label)
        df = pd.DataFrame(values, index=idx, columns=cols)
        if margins if margins is not None else self.margins:
            if total is None:
                df["Total"] = values.sum(axis=1)
                df.loc["Total"] = df.sum(axis=0)
            else:
                df["Total"], df.loc["Total"] = total
        return df

    def _with_missing(self, values: np.ndarray) -> pd.DataFrame:
        idx = pd.Index([*self.row_categories, *self.row_missing], name=self.row_label)
        cols = pd.Index([*self.by_categories, *self.by_missing], name=self.by_label)
        df = pd.DataFrame(values, index=idx, columns=cols)
        if self.margins:
            df["Total"] = values.sum(axis=1)
            df.loc["Total"] = df.sum(axis=0)
        return df

    @property
    def counts(self) -> pd.DataFrame:
        """Counts per cell (weighted: Σ weights); with ``missing=True`` plus rows/columns for
        the missing reasons (not used by percents, tests or residuals)."""
        if self.missing_table is not None:
            return self._with_missing(self.missing_table)
        return self._frame(self.table)

    @property
    def n(self) -> pd.DataFrame:
        """Unweighted counts per cell."""
        if self.missing_unweighted is not None:
            return self._with_missing(self.missing_unweighted)
        return self._frame(self.unweighted)

    @property
    def n_total(self) -> float:
        return float(self.unweighted.sum())

    def percent(self, kind: str = "column") -> pd.DataFrame:
        """Percentages (0-100) of the column total, row total or grand total."""
        t = self.table.astype(float)
        if kind not in ("column", "row", "total"):
            raise AnalysisError(f"percent(): kind must be 'column', 'row' or 'total', found {kind!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.multi:
                if kind != "column":
                    raise AnalysisError(
                        "percent(): a multiple-response table has column percents only "
                        "(% of respondents in each column); found kind=" + repr(kind)
                    )
                return self._frame(100 * t / self.bases[None, :], margins=False)
            if kind == "column":
                p = 100 * t / t.sum(axis=0, keepdims=True)
                if self.margins:
                    tot = 100 * t.sum(axis=1) / t.sum()
                    df = self._frame(p, margins=False)
                    df["Total"] = tot
                    df.loc["Total"] = 100.0
                    return df
            elif kind == "row":
                p = 100 * t / t.sum(axis=1, keepdims=True)
                if self.margins:
                    df = self._frame(p, margins=False)
                    df["Total"] = 100.0
                    df.loc["Total"] = [*(100 * t.sum(axis=0) / t.sum()), 100.0]
                    return df
            else:
                p = 100 * t / t.sum()
                if self.margins:
                    return self._frame(p)
        return self._frame(p, margins=False)

    @property
    def expected(self) -> pd.DataFrame:
        """Expected counts under independence (from the weighted counts)."""
        t = self.table.astype(float)
        return self._frame(np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum(), margins=False)

    @property
    def adjusted_residuals(self) -> pd.DataFrame:
        """Adjusted standardized residuals (R's ``chisq.test()$stdres``).

        With weights they are computed on the weighted table rescaled to the unweighted n.
        """
        return self._frame(self._stdres(), margins=False)

    def _stdres(self) -> np.ndarray:
        t = self.table.astype(float)
        if self.weighted and t.sum() > 0:
            t = t * (self.unweighted.sum() / t.sum())
        n, rs, cs, e = _chi2_parts(t)
        return _stdres(t, n, rs, cs, e)

    @property
    def residuals(self) -> pd.DataFrame:
        """Pearson residuals (O - E) / sqrt(E)."""
        t = self.table.astype(float)
        n, rs, cs, e = _chi2_parts(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._frame((t - e) / np.sqrt(e), margins=False)

    # --- display ------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return f"{self.row_label} × {self.by_label}"

    def _summary(self) -> str:
        r, c = self.table.shape
        s = f"{self.row} × {self.by}, {r}×{c}, n={fmt_n(self.n_total)}"
        tests = self.tests
        if len(tests):
            s += f", {tests.index[0]} p={tests['p_value'].iloc[0]:.3g}"
        return s

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame, one row per cell: var, category, by, by_category, n, n_weighted, pct;
        under a design also the column proportion ``estimate`` (0-1) with its design-based
        ``se``, ``ci_low``, ``ci_high`` and ``df`` (see `cell_estimates`)."""
        r, c = self.table.shape
        pct = self.percent("column").to_numpy()[:r, :c]
        out = pd.DataFrame(
            {
                "var": self.row,
                "category": np.repeat(list(self.row_categories), c),
                "by": self.by,
                "by_category": np.tile(list(self.by_categories), r),
                "n": self.unweighted.ravel().astype(float),
                "n_weighted": self.table.ravel().astype(float),
                "pct": pct.ravel(),
            }
        )
        if self.design_context is not None:
            for name, frame in self.cell_estimates("column").items():
                out[name] = frame.to_numpy().ravel()
        return out

    def _display_frame(self) -> pd.DataFrame:
        counts = self.counts.round(1) if self.weighted else self.counts
        pct = self.percent("column").round(1)
        cols = {}
        for c in pct.columns:
            cols[(c, "n")] = counts[c]
            cols[(c, "%")] = pct[c]
        return pd.DataFrame(cols)

    def _repr_html_(self) -> str:
        counts = self.counts
        pct = self.percent("column")
        z = _z(1 - self.alpha)
        res = None if self.multi else self._stdres()
        by_cols = list(counts.columns)
        head1 = "".join(f"<th colspan='2'>{html.escape(str(c))}</th>" for c in by_cols)
        head2 = "".join("<th>n</th><th>%</th>" for _ in by_cols)
        shape = counts.shape  # one format for the whole table (weighted counts: one decimal)
        n_text = np.array(format_column("n", counts.to_numpy().ravel().tolist()),
                          dtype=object).reshape(shape).T
        pct_text = np.array(format_column("%", pct.to_numpy().ravel().tolist()),
                            dtype=object).reshape(pct.shape).T
        rows = []
        for i, lab in enumerate(counts.index):
            cells = [f"<th>{html.escape(str(lab))}</th>"]
            for j in range(len(by_cols)):
                style = ""
                if res is not None and i < res.shape[0] and j < res.shape[1]:
                    rv = res[i, j]
                    if np.isfinite(rv) and abs(rv) > z:
                        colour = "#cde5f7" if rv > 0 else "#f9d6d5"
                        style = f" style='background:{colour}' title='adjusted residual {rv:.2f}'"
                cells.append(f"<td>{html.escape(n_text[j][i])}</td>")
                cells.append(f"<td{style}>{html.escape(pct_text[j][i])}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        table = (
            f"<table><thead><tr><th>{html.escape(self.row_label)}</th>{head1}</tr>"
            f"<tr><th></th>{head2}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        extra = ""
        tests, effects = self.tests, self.effect_sizes
        if len(tests):
            extra += "<div><i>Tests</i></div>" + frame_to_html(tests)
        if len(effects):
            extra += "<div><i>Effect sizes</i></div>" + frame_to_html(effects)
        notes = list(self.footnotes)
        if res is not None:
            notes.append(
                f"Shaded: adjusted residual beyond ±{z:.2f} (alpha = {self.alpha}); "
                "blue above, red below expectation."
            )
        notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        return (
            f"{_CSS}<div class='sv-result'><div><b>{html.escape(self.title)}</b></div>{table}"
            f"{extra}<ul class='sv-notes'>{notes_html}</ul></div>"
        )

    def _repr_markdown_(self) -> str:
        out = [super()._repr_markdown_()]
        tests, effects = self.tests, self.effect_sizes
        if len(tests):
            out += ["", "*Tests*", "", frame_to_markdown(tests)]
        if len(effects):
            out += ["", "*Effect sizes*", "", frame_to_markdown(effects)]
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "by": self.by,
            "row_categories": list(self.row_categories),
            "by_categories": list(self.by_categories),
            "counts": self.table.tolist(),
            "n": self.unweighted.tolist(),
            "tests": self.tests.reset_index(names="test").to_dict(orient="records"),
            "effect_sizes": self.effect_sizes.reset_index(names="name").to_dict(orient="records"),
            "notes": list(self.notes),
            "alpha": self.alpha,
            "weighted": self.weighted,
        }


def _z(conf: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf((1 + conf) / 2)


def crosstab(
    survey,
    row: str,
    by: str,
    *,
    weight: str | None = None,
    margins: bool = False,
    alpha: float = 0.05,
    fisher: str | bool = "auto",
    missing: bool = False,
    simulate_b: int = 2000,
    seed: int = 20240101,
    where=None,
    language: str | None = None,
    fisher_seconds: float | None = None,
    simulate: bool = False,
) -> CrossTab:
    """Cross-tabulate ``row`` by ``by`` with tests and effect sizes.

    Parameters
    ----------
    survey : Survey or DataFrame
    row, by : str
        Single-choice variables (``row`` may be a multiple-choice question: then each option
        is a row, percentages are of respondents in each column, and no chi-square is run).
    weight : str, optional
        Weight column (overrides the Survey's). Weighted counts are Σw per cell, and the
        tests become design-based (Rao-Scott), as R's ``svychisq``.
    margins : bool
        Add ``Total`` row and column to the table frames.
    alpha : float
        Significance level for shading residuals; effect-size CIs are at ``1 - alpha``.
    fisher : "auto", True or False
        ``"auto"`` runs Fisher's exact test when a cell has an expected count below 5, or for a
        2×2 table with n ≤ 10,000. Exact for any table whose enumeration stays within its
        work budget, counted in expanded states so every machine makes the same choice (2 M
        states for ``"auto"``, 10 M for ``True``, about 2 s and 10 s; a 3×3 with n ≈ 1,000
        needs about 1 M); beyond that a seeded Monte Carlo p-value with ``simulate_b`` tables (R's
        ``simulate.p.value``), stated in the notes.
    missing : bool
        Also show rows/columns for the missing answers by reason ("(skipped)", "(no answer)",
        "(invalid)", from ``Survey.missing``) in ``counts`` and ``n``; percents, expected
        counts, residuals and tests always use the valid answers only.
    where : boolean Series or array, optional
        Rows to include.
    language : str, optional
        Label language.
    fisher_seconds : float, optional
        Budget of the exact enumeration of Fisher's test, in seconds of work at a nominal
        1 million states per second (default 2 s for ``"auto"``, 10 s for ``True``): counted in
        work, not wall time, so the choice does not depend on the machine's load; beyond it the
        Monte Carlo p-value is used (0: no enumeration,
        Monte Carlo at once, except for 2×2 tables). ``fisher_method``
        (``"exact"`` / ``"monte_carlo"``) and ``fisher_b`` on the result say which.
    simulate : bool
        Add ``pearson_monte_carlo`` to the unweighted tests: the Monte Carlo p-value of
        Pearson's X² from ``simulate_b`` tables with the observed margins (R ``chisq.test(
        simulate.p.value = TRUE)``; seeded with ``seed``, not R's random numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": pd.Categorical(["x", "y", "x", "y", "x"] * 4),
    ...                    "b": pd.Categorical(["u", "u", "v", "v", "v"] * 4)})
    >>> ct = crosstab(df, "a", by="b")
    >>> ct.counts.to_numpy().tolist()
    [[4, 8], [4, 4]]
    >>> round(float(ct.tests.loc["pearson", "statistic"]), 4)
    0.5556
    """
    if is_dask(survey):
        from . import _dask

        return _dask.crosstab(survey, row, by, alpha=alpha, margins=margins, fisher=fisher,
                              simulate_b=simulate_b, seed=seed, fisher_seconds=fisher_seconds,
                              missing=missing, where=where, weight=weight, language=language)
    s = prepare(survey, weight)
    mask = where_mask(s, where, func="crosstab")
    bcodes, binfo = single(s, by, language=language, mask=mask, func="crosstab")
    if not (0 < alpha < 1):
        raise AnalysisError(f"crosstab: alpha must lie between 0 and 1, found {alpha!r}")
    if fisher not in ("auto", True, False):
        raise AnalysisError(f"crosstab: fisher must be 'auto', True or False, found {fisher!r}")
    if fisher_seconds is not None and not (fisher_seconds >= 0):
        raise AnalysisError(
            f"crosstab: fisher_seconds must be a number of seconds >= 0, found {fisher_seconds!r}"
        )
    rinfo = s.var_info(row, language=language)
    weighted = s.weight is not None
    w = s.weights if weighted else None
    kb = len(binfo.categories)
    if rinfo.kind == "multi":
        return _crosstab_multi(s, row, rinfo, bcodes, binfo, w, mask, alpha, margins)
    rcodes, rinfo = single(s, row, language=language, mask=mask, func="crosstab")
    kr = len(rinfo.categories)
    # (row + 1) * (kb + 1) + by + 1 in the smallest integer type; counted a block at a time
    combined = combine_codes([rcodes, bcodes], [kr + 1, kb + 1], shift=1)
    size = (kr + 1) * (kb + 1)
    unw_full = row_bincount(combined, minlength=size).reshape(kr + 1, kb + 1)
    tab_full = (row_bincount(combined, w, minlength=size).reshape(kr + 1, kb + 1)
                if weighted else unw_full)
    extra = {}
    if missing:
        scope = mask if mask is not None else None
        rreason, rnames = missing_reasons(s, row, rinfo, rcodes, scope)
        breason, bnames = missing_reasons(s, by, binfo, bcodes, scope)
        rx = np.where(rreason >= 0, kr + rreason, rcodes)
        bx = np.where(breason >= 0, kb + breason, bcodes)
        kx_r, kx_b = kr + len(rnames), kb + len(bnames)
        mu = count_table(rx, kx_r, bx, kx_b)
        extra = dict(
            missing_unweighted=mu,
            missing_table=count_table(rx, kx_r, bx, kx_b, w) if weighted else mu,
            row_missing=tuple(f"({x})" for x in rnames),
            by_missing=tuple(f"({x})" for x in bnames),
        )

    kept: dict = {}  # the tests' PSU x cell totals, for the cell SEs (one pass, not two)

    def design_tests():
        return _design_tests(s, rcodes, bcodes, kr, kb, combined=combined, full_table=unw_full,
                             full_weighted=tab_full if weighted else None, domain=mask,
                             keep=kept)

    return crosstab_from_tables(
        row, by, rinfo, binfo, tab_full, unw_full, weighted=weighted,
        design_tests=design_tests if s.has_design else None, alpha=alpha, margins=margins,
        fisher=fisher, simulate_b=simulate_b, seed=seed, fisher_seconds=fisher_seconds,
        filtered=mask is not None, wnote=weighting_note(s), extra=extra,
        design_context=(s, rcodes, bcodes, None, kept) if s.has_design else None,
        simulate=simulate)


def crosstab_from_tables(row, by, rinfo, binfo, tab_full, unw_full, *, weighted: bool,
                         design_tests, alpha: float, margins: bool, fisher, simulate_b: int,
                         seed: int, fisher_seconds, filtered: bool, wnote: str, extra: dict,
                         design_context, simulate: bool = False) -> CrossTab:
    """The `CrossTab` from its (kr + 1) x (kb + 1) tables (first row and column: missing),
    weighted and unweighted; ``design_tests()`` gives the Rao-Scott tests under a design
    (``None``: unweighted tests). Shared by the in-memory and the Dask paths."""
    kr, kb = len(rinfo.categories), len(binfo.categories)
    unw, tab = unw_full[1:, 1:], tab_full[1:, 1:]
    n_unw = float(unw.sum())
    if n_unw == 0:
        raise AnalysisError(
            f"crosstab: no respondent answered both '{row}' and '{by}'"
            + (" within the where= filter" if filtered else "")
        )
    notes: list[str] = []
    z = _z(1 - alpha)
    # drop empty rows/columns for the tests (R's chisq.test would give NaN)
    keep_r, keep_c = tab.sum(axis=1) > 0, tab.sum(axis=0) > 0
    t = tab[keep_r][:, keep_c].astype(float)
    r, c = t.shape
    tests: dict[str, list[float]] = {}
    effects: dict[str, tuple[float, float, float]] = {}
    fisher_how: list[str] = []
    if r < 2 or c < 2:
        notes.append("Table has fewer than two non-empty rows or columns: no test.")
    elif design_tests is not None:
        tests_df = design_tests()
        notes.append(
            "Tests: Rao-Scott design-based (rao_scott_f = second order, R's svychisq default); "
            "unweighted Pearson tests do not apply to weighted data."
        )
    if r >= 2 and c >= 2:
        n, rs, cs, e = _chi2_parts(t)
        x2 = _pearson(t, e)
        df = (r - 1) * (c - 1)
        from scipy.special import chdtrc

        def chi2_sf(x, d):
            return float(chdtrc(d, x))

        if design_tests is None:
            tests["pearson"] = [x2, df, np.nan, chi2_sf(x2, df)]
            if simulate:  # R chisq.test(simulate.p.value = TRUE, B = simulate_b)
                from ._fisher import chisq_monte_carlo

                tests["pearson_monte_carlo"] = [x2, np.nan, np.nan,
                                                chisq_monte_carlo(t, B=simulate_b, seed=seed)]
                notes.append(f"pearson_monte_carlo: Monte Carlo p-value of Pearson's X² from "
                             f"{simulate_b} tables with the observed margins (seed {seed}), as "
                             "R chisq.test(simulate.p.value = TRUE).")
            if r == 2 and c == 2:
                yates = np.minimum(0.5, np.abs(t - e))
                xy = float(np.sum((np.abs(t - e) - yates) ** 2 / e))
                tests["pearson_yates"] = [xy, 1, np.nan, chi2_sf(xy, 1)]
            g2 = _lr(t, e)
            tests["likelihood_ratio"] = [g2, df, np.nan, chi2_sf(g2, df)]
            small = int((e < 5).sum())
            run_fisher = fisher is True or (
                fisher == "auto" and (small > 0 or (r == 2 and c == 2 and n <= _FISHER_AUTO_MAX_N))
            )
            if small:
                notes.append(
                    f"{small} of {r * c} {'cell has' if small == 1 else 'cells have'} expected "
                    "count < 5 (minimum "
                    f"{e.min():.2f}); the chi-square approximation may be poor"
                    + ("; Fisher's exact test reported." if run_fisher else ".")
                )
            if run_fisher:
                budget = (10.0 if fisher is True else 2.0) if fisher_seconds is None \
                    else fisher_seconds
                tests["fisher"] = [np.nan, np.nan, np.nan,
                                   _fisher(t, simulate_b, seed, notes, budget, fisher_how)]
                if r == 2 and c == 2:
                    from scipy.stats.contingency import odds_ratio

                    orr = odds_ratio(t.astype(np.int64), kind="conditional")
                    ci = orr.confidence_interval(confidence_level=1 - alpha)
                    effects["odds_ratio"] = (float(orr.statistic), float(ci.low), float(ci.high))
            if rinfo.ordered and binfo.ordered:
                # linear-by-linear association with scores 1..k: M2 = (n - 1) r^2
                rsc = np.arange(1, kr + 1, dtype=float)[keep_r]
                csc = np.arange(1, kb + 1, dtype=float)[keep_c]
                mr, mc = (rs * rsc).sum() / n, (cs * csc).sum() / n
                sxy = (t * np.outer(rsc - mr, csc - mc)).sum()
                sxx, syy = (rs * (rsc - mr) ** 2).sum(), (cs * (csc - mc) ** 2).sum()
                rr = sxy / math.sqrt(sxx * syy)
                m2 = (n - 1) * rr**2
                tests["linear_by_linear"] = [m2, 1, np.nan, chi2_sf(m2, 1)]
        # effect sizes (on the weighted table rescaled to n when weighted)
        ts = t * (n_unw / t.sum()) if weighted else t
        n2, rs2, cs2, e2 = _chi2_parts(ts)
        x2s = _pearson(ts, e2)
        k = min(r, c)
        v = math.sqrt(x2s / (n2 * (k - 1)))
        lo, hi = _cramers_v_ci(x2s, df, n2, k, 1 - alpha)
        effects = {"cramers_v": (v, lo, hi), **effects}
        phi2 = max(0.0, x2s / n2 - (r - 1) * (c - 1) / (n2 - 1)) if n2 > 1 else np.nan
        rt = r - (r - 1) ** 2 / (n2 - 1)
        ct_ = c - (c - 1) ** 2 / (n2 - 1)
        denom = min(rt - 1, ct_ - 1)
        effects["cramers_v_corrected"] = (
            math.sqrt(phi2 / denom) if denom > 0 else np.nan, np.nan, np.nan
        )
        if r == 2 and c == 2:
            a_, b_, c_, d_ = ts.ravel()
            phi = (a_ * d_ - b_ * c_) / math.sqrt(rs2[0] * rs2[1] * cs2[0] * cs2[1])
            effects["phi"] = (phi, np.nan, np.nan)
        if rinfo.ordered and binfo.ordered:
            for name, val in _gamma_taub(ts, z).items():
                effects[name] = val
        order = ["cramers_v", "cramers_v_corrected", "phi", "gamma", "kendall_tau_b", "odds_ratio"]
        effects = {k_: effects[k_] for k_ in order if k_ in effects}
    dtests = tests_df if (design_tests is not None and r >= 2 and c >= 2) else None
    base = f"Base: {fmt_n(n_unw)} respondents with valid answers to both '{row}' and '{by}'"
    if filtered:
        base += ", within the where= filter"
    if weighted:  # counts and percentages are weighted estimates, not respondents
        base += (f"; weighted estimates (weighted base {fmt_n(float(tab.sum()))}; the "
                 "respondents' own counts are in .unweighted)")
    method = (
        "Method: Pearson chi-square (R chisq.test, no continuity correction; Yates row for 2×2), "
        "likelihood-ratio G², Cramér's V (CI for the population V by noncentral chi-square inversion, DescTools ncchisq), "
        "bias-corrected V (Bergsma 2013)"
        if design_tests is None
        else "Method: Σw per cell; effect sizes on the weighted table rescaled to n; "
        "design-based SEs and logit CIs of the cell proportions in to_frame() / "
        "cell_estimates() (R svyby(~row, ~by, svymean), svyciprop)"
    )
    notes = [base + "; missing answers excluded.", method + ".", *notes,
             f"Alpha = {alpha}; no multiple-comparison correction.", wnote]
    return CrossTab(
        row=row, by=by, row_label=rinfo.label or row, by_label=binfo.label or by,
        row_categories=tuple(rinfo.categories), by_categories=tuple(binfo.categories),
        table=tab, unweighted=unw, test_rows=tuple((k_, *v_) for k_, v_ in tests.items()),
        effect_rows=tuple((k_, *v_) for k_, v_ in effects.items()), design_tests=dtests,
        notes=tuple(notes), alpha=alpha, margins=margins, weighted=weighted, **extra,
        design_context=design_context,
        fisher_method=fisher_how[0] if fisher_how else None,
        fisher_b=simulate_b if fisher_how[:1] == ["monte_carlo"] else None,
    )


def _fisher(t: np.ndarray, simulate_b: int, seed: int, notes: list[str], budget: float,
            how: list[str] | None = None) -> float:
    how = [] if how is None else how
    ti = np.rint(t).astype(np.int64)
    if ti.shape == (2, 2):
        from scipy.stats import fisher_exact

        how.append("exact")
        notes.append("Fisher's exact test: exact (2×2, two-sided).")
        return float(fisher_exact(ti).pvalue)
    from ._fisher import TooLarge, fisher_exact_rxc, fisher_monte_carlo

    if budget <= 0:
        how.append("monte_carlo")
        notes.append(
            f"Fisher's exact test: Monte Carlo p-value from {simulate_b} simulated tables "
            f"(seed {seed}), as R's simulate.p.value = TRUE (no exact enumeration asked)."
        )
        return fisher_monte_carlo(ti, B=simulate_b, seed=seed)
    try:
        p = fisher_exact_rxc(ti, max_seconds=budget)
        how.append("exact")
        notes.append(f"Fisher's exact test: exact ({ti.shape[0]}×{ti.shape[1]} network enumeration).")
        return p
    except TooLarge:
        how.append("monte_carlo")
        notes.append(
            f"Fisher's exact test: table too large to enumerate within the budget ({budget:g} s "
            "of work); Monte Carlo "
            "p-value from "
            f"{simulate_b} simulated tables (seed {seed}), as R's simulate.p.value = TRUE."
        )
        return fisher_monte_carlo(ti, B=simulate_b, seed=seed)


def _cells_from_kept(design, kept: dict, kind: str, r: int, c: int, unweighted):
    """`_linearize_cells` of the cell shares from the PSU x cell weight totals the Rao-Scott
    tests already summed (``kept["unit_totals"]``, cells ``(row + 1) * (c + 1) + col + 1``
    with the missing levels first), instead of a second pass over the rows; ``None`` when
    they are not there or the shortcut does not hold (a weight <= 0: the row counts would
    differ from the non-zero-weight counts; lonely PSUs: per-domain strata)."""
    if design.replicate is not None:
        return _replicate_cells_from_kept(design, kept, kind, r, c, unweighted)
    T = kept.get("unit_totals")
    if (T is None or design.calibration
            or not design.weights_positive or design.has_lonely
            or T.shape[1] != (r + 1) * (c + 1)):
        return None
    from .estimates import _cells_lin

    T4 = T.reshape(len(T), r + 1, c + 1)[:, 1:, 1:]  # valid cells (units, r, c)
    n = np.asarray(unweighted, dtype=float)
    if kind == "column":
        return _cells_lin(design, T4.transpose(0, 2, 1), n.sum(0), None, True)
    if kind == "row":
        return _cells_lin(design, T4, n.sum(1), None, True)
    return _cells_lin(design, T4.reshape(len(T), 1, r * c), np.array([n.sum()]), None, False)


def _replicate_cells_from_kept(design, kept: dict, kind: str, r: int, c: int, unweighted):
    """`_cells_from_kept` on a replicate design: the cell shares from the full-sample and
    replicate cell totals the tests computed (``kept["replicate_totals"]``); ``None`` when
    they are not there or a weight is <= 0."""
    got = kept.get("replicate_totals")
    if got is None or not design.weights_positive or got[0].shape[0] != (r + 1) * (c + 1):
        return None
    from .estimates import replicate_shares

    T = got[0].reshape(r + 1, c + 1)[1:, 1:]  # valid cells (r, c)
    Tr = got[1].reshape(-1, r + 1, c + 1)[:, 1:, 1:]  # (R, r, c)
    n = np.asarray(unweighted, dtype=float)
    if kind == "column":
        return replicate_shares(design, T.T, Tr.transpose(2, 1, 0), n.sum(0))
    if kind == "row":
        return replicate_shares(design, T, Tr.transpose(1, 2, 0), n.sum(1))
    return replicate_shares(design, T.reshape(1, r * c), Tr.reshape(len(Tr), r * c).T[None],
                            np.array([n.sum()]))


def _replicate_degf_from_kept(design, kept: dict, kind: str, r: int, c: int):
    """The df of each domain of `cell_estimates` on a grouped replicate design from the
    group x cell sums of squared weights the tests computed (``kept["replicate_norms"]``,
    cells as in `_cells_from_kept`) instead of another pass over the rows; ``None`` when
    they are not there."""
    norms = kept.get("replicate_norms")
    if design.replicate is None or norms is None or norms.shape[1] != (r + 1) * (c + 1):
        return None
    N = norms.reshape(len(norms), r + 1, c + 1)[:, 1:, 1:]  # valid cells (groups, r, c)
    per = {"column": N.sum(1), "row": N.sum(2)}.get(kind)
    if per is None:  # "total": one domain, every valid cell
        per = N.sum((1, 2))[:, None]
    return np.array([float(design.replicate.degf_from_norms(per[:, d]))
                     for d in range(per.shape[1])])


def _design_tests(s, rcodes, bcodes, kr, kb, **kw) -> pd.DataFrame:
    try:
        from ._design_tests import rao_scott_tests
    except ImportError as exc:
        raise AnalysisError(
            "crosstab: design-based tests not available (survey.analysis._design_tests is "
            "missing). Hint: analyse without weights, or install the weighting module"
        ) from exc
    return rao_scott_tests(s, rcodes, bcodes, kr, kb, **kw)


def _crosstab_multi(s, row, rinfo, bcodes, binfo, w, mask, alpha, margins) -> CrossTab:
    data = s.data
    kb = len(binfo.categories)
    cols = list(rinfo.columns)
    missing_cols = [c for c in cols if c not in data.columns]
    if missing_cols:
        raise AnalysisError(f"crosstab: option columns {missing_cols} of '{row}' are not in the data")
    block = data[cols]
    answered = block.notna().any(axis=1).to_numpy()
    sel = np.column_stack([block[c].astype("boolean").fillna(False).to_numpy(dtype=bool) for c in cols])
    valid_b = bcodes >= 0
    base_mask = answered & valid_b
    ww = np.ones(len(data)) if w is None else w
    bases_unw = np.bincount(bcodes[base_mask], minlength=kb).astype(float)
    bases = np.bincount(bcodes[base_mask], weights=ww[base_mask], minlength=kb)
    unw = np.zeros((len(cols), kb))
    tab = np.zeros((len(cols), kb))
    for i in range(len(cols)):
        m = sel[:, i] & base_mask
        unw[i] = np.bincount(bcodes[m], minlength=kb)
        tab[i] = np.bincount(bcodes[m], weights=ww[m], minlength=kb)
    per_col = ", ".join(f"{lab} {fmt_n(b)}" for lab, b in zip(binfo.categories, bases_unw))
    notes = (
        f"Base: respondents who answered '{row}' in each column ({per_col}); "
        f"total {fmt_n(float(bases_unw.sum()))}.",
        "Percent of respondents in each column; options are not mutually exclusive, so columns "
        "can sum to more than 100%.",
        "No chi-square test: a multiple-response question is not one categorical variable.",
        *(["Design-based SEs and logit CIs of each option's share in each column (base as a "
           "domain, R svyciprop) in to_frame() / cell_estimates()."] if s.has_design else []),
        weighting_note(s),
    )
    return CrossTab(
        row=row, by=binfo.name, row_label=rinfo.label or row, by_label=binfo.label or binfo.name,
        row_categories=tuple(rinfo.categories), by_categories=tuple(binfo.categories),
        table=tab if w is not None else unw, unweighted=unw,
        notes=notes, alpha=alpha, margins=False, weighted=w is not None, multi=True,
        bases=bases, bases_unweighted=bases_unw,
        design_context=(s, sel.astype(float), bcodes, base_mask) if s.has_design else None,
    )
